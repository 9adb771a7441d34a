/* The interposition layer: communicators, stream counters, request tracking,
 * the message queue and library matching.  This file is private to mpisnap.
 *
 * Outside a snapshot window every wrapper takes the fast path: count, call
 * PMPI, count.  `ms.slow` switches every receive, probe and wait to the slow
 * path (match.c), where the library matches receives itself in posting
 * order; it is on while a snapshot is active, while messages are queued or
 * receives are held, and always with MPISNAP_TEST_LIBMATCH=1. */
#ifndef MPISNAP_PMPI_H
#define MPISNAP_PMPI_H

#include <stdint.h>
#include <string.h>

#include <mpi.h>

#include "store/store.h"
#include "util/util.h"

#define MS_NO_TAG INT32_MIN

/* ---- stream counters ---- */

/* Count of one (communicator, peer, tag, direction) stream.  base: the
 * sender's count at the last committed cut (for received streams: what the
 * sender's marker said, or the previous base when it sent none). */
struct ms__tagcount {
    int32_t tag;
    uint64_t n;
    uint64_t base;
};

/* Dense slot per (communicator, peer, direction): the most recently used
 * tag inline (the one-tag cache), other tags in `more`. */
struct ms__stream {
    struct ms__tagcount c;
    uint32_t nmore, capmore;
    struct ms__tagcount *more;
};

struct ms__tagcount *ms__stream_find(struct ms__stream *s, int tag);

static inline void ms__stream_add(struct ms__stream *s, int tag, int64_t d)
{
    if (MS_LIKELY(s->c.tag == tag))
        s->c.n += (uint64_t)d;
    else
        ms__stream_find(s, tag)->n += (uint64_t)d;
}

/* ---- communicators ---- */

struct ms__qmsg;

struct ms__comm {
    MPI_Comm handle;
    uint64_t id, parent, ordinal;
    int64_t color;
    int size, rank;
    int inter;                      /* intercommunicator: not supported */
    int *world;                     /* [size]: world rank of each member */
    uint64_t ncreate;               /* communicator-creation calls made on it */
    uint64_t ncoll;                 /* collectives started on it */
    const char *call;               /* creating call, NULL: not wrapped */
    const void *site;               /* its call site (return address) */
    struct ms__stream *sent, *recv; /* [size] */
    struct ms__qmsg *qhead, *qtail; /* queued messages, in arrival order */
    struct ms__comm *next;          /* ms.comm_list or ms.freed_list */
    /* Lifetime: one reference for the application's handle (until it
     * frees the communicator), one per tracked request and per matched
     * message on it (they complete after a free, legally).  nheld: held
     * receives on it, which MPI knows nothing of, so the PMPI free of a
     * communicator the application freed waits for them (free_pending). */
    int refs, nheld, free_pending;
    int app_freed; /* the handle is freed: no PMPI call may take it */
};

struct ms__comm *ms__comm_lookup_slow(MPI_Comm comm);

/* Communicator handle -> state.  The last one used is cached. */
static inline struct ms__comm *ms__comm_get(MPI_Comm comm);

/* Register a communicator the application created on `parent` with the
 * call's ordinal and colour, the call's name and its call site (the
 * wrapper's return address).  newcomm may be MPI_COMM_NULL (nothing to
 * do).  At a restart, a communicator whose id the snapshot has but whose
 * creation differs aborts the job (core/restore.c). */
void ms__comm_created(struct ms__comm *parent, uint64_t ordinal, int64_t color,
                      MPI_Comm newcomm, const char *call, const void *site);
/* What identifies c's creation across runs (call, call site's module,
 * offset and build id, name): a snapshot stores it (callsite.c). */
void ms__comm_ident(const struct ms__comm *c, struct ms__commident *out);
/* The application frees comm.  Returns 1 when PMPI_Comm_free must wait
 * (can_defer: the caller would free it now): the library still holds
 * receives on it; it is freed when the last one leaves (ms__comm_held). */
int ms__comm_freed(MPI_Comm comm, int can_defer);
void ms__comm_unref(struct ms__comm *c); /* c may be NULL */
/* A held receive on c was added (+1) or removed (-1). */
void ms__comm_held(struct ms__comm *c, int d);
/* The communicators whose counts belong in a cut: the live ones, then those
 * the application freed that requests or matched messages still use (their
 * counts can still change; the ledger of cut.c takes them when the last user
 * is gone).  for (c = ms__comm_first(); c; c = ms__comm_next(c)) */
struct ms__comm *ms__comm_first(void);
struct ms__comm *ms__comm_next(const struct ms__comm *c);
/* One of those by id; NULL when gone (or only in the ledger). */
struct ms__comm *ms__comm_by_id(uint64_t id);
int ms__comm_init(void);
void ms__comm_fini(void);

/* ---- queued messages: received by the library for the application ----
 * Each also sits in MPI, self-sent on the private ms.qcomm with a unique
 * tag, so that serving it to any receive form (status, MPI_Get_count,
 * truncation, matched probes) is a real MPI receive. */
struct ms__qmsg {
    struct ms__qmsg *next;
    int source, tag; /* the original envelope */
    int selftag;     /* its tag on ms.qcomm */
    int counted;     /* already counted as received (drained) */
    uint64_t nbytes;
    void *data;
    MPI_Request sreq; /* the self-send */
};

int ms__queue_push(struct ms__comm *c, int source, int tag, const void *data,
                   uint64_t nbytes, int counted);
/* First queued message on c matching (source, tag), or NULL. */
struct ms__qmsg *ms__queue_find(struct ms__comm *c, int source, int tag,
                                struct ms__qmsg **prev);
void ms__queue_unlink(struct ms__comm *c, struct ms__qmsg *m,
                      struct ms__qmsg *prev);
void ms__queue_release(struct ms__qmsg *m); /* after its receive completed */

/* ---- tracked requests ---- */

enum ms__req_kind {
    MS_REQ_SEND = 1, /* nonblocking send: counted when started */
    MS_REQ_RECV,     /* nonblocking receive posted to MPI */
    MS_REQ_PSEND,    /* persistent send */
    MS_REQ_PRECV,    /* persistent receive */
    MS_REQ_HELD,     /* receive the library matches itself (slow path) */
    MS_REQ_IMRECV,   /* receive of a matched message: counted at Mprobe */
    MS_REQ_OTHER     /* collective, MPI-IO, ...: only pending-tracked */
};

/* A receive the library matches itself: a generalized request handed to
 * the application (Irecv), or a started persistent receive. */
struct ms__held {
    struct ms__held *next; /* posting order */
    struct ms__req *req;
    void *buf;
    int count;
    MPI_Datatype dt;
    int source, tag;
    struct ms__comm *c;
    int done, cancelled;
    MPI_Status status;
};

struct ms__req {
    MPI_Request handle; /* the application's handle */
    int kind;
    int active; /* persistent: started and not yet completed */
    struct ms__comm *c;
    int peer, tag; /* persistent: destination or source pattern */
    void *buf;     /* persistent receive: for the slow path */
    int count;
    MPI_Datatype dt;
    struct ms__held *held; /* MS_REQ_HELD, or a held persistent start */
    struct ms__mmsg *mmsg; /* MPI_Imrecv: the matched message */
    MPI_Comm *newcomm;     /* MPI_Comm_idup: register when complete */
    struct ms__comm *parent;
    uint64_t ordinal;
    const void *site;     /* MPI_Comm_idup: its call site */
    const char *what;     /* MS_REQ_OTHER: the call, for diagnostics, or NULL */
    uint64_t posted;      /* when it was started (ms.nposts): an
                             observation lists receives in posting order */
    struct ms__req *next; /* free list / zombie list */
    int refs;             /* application handles sharing this entry */
    int cancel;           /* MPI_Cancel was called on it */
    int owns_dt;          /* dt is the library's own MPI_Type_dup */
    uint64_t ncoll;       /* collective: its number on c (observations) */
};

struct ms__req *ms__req_new(MPI_Request handle, int kind, struct ms__comm *c);
static inline struct ms__req *ms__req_get(MPI_Request handle);
void ms__req_forget(struct ms__req *r);
/* The application frees datatype dt: receives the library still performs
 * or logs with it get their own duplicate (MPI keeps the type alive only
 * for the operations MPI itself holds). */
void ms__type_freed(MPI_Datatype dt);
/* A request completed with status st: count a receive, update pending. */
void ms__req_completed(struct ms__req *r, MPI_Status *st);
/* The application's request completed: ms__req_completed, then forget it
 * unless it is persistent or its handle is shared. */
void ms__req_finish(struct ms__req *r, MPI_Status *st);

/* ---- matched messages (MPI_Message from Mprobe/Improbe) ---- */
struct ms__mmsg {
    MPI_Message handle;
    struct ms__comm *c;
    int source, tag;    /* envelope to report */
    struct ms__qmsg *q; /* served from the queue, or NULL */
    uint64_t pos;       /* position in its stream */
    int at_cut;         /* counted, not received at a record: in flight;
                           logged (position 0) when received */
};

/* ---- observation mode (MPISNAP_OBSERVE=1) ----
 * Every blocking call becomes its nonblocking form plus a loop that polls
 * for observation markers (wrappers_observe.c), and says what it waits
 * for in ms.call, which an observation records. */
struct ms__call {
    const char *name; /* "MPI_Recv", ...; NULL: computing */
    double t_enter;   /* seconds since the epoch */
    int mode;         /* 0: waits for all, 1: for any (Waitany/Waitsome) */
    int kind;         /* MS_NEED_* of a direct call; 0: see reqs */
    struct ms__comm *c;
    int peer, tag; /* rank in c (or MPI_ANY_SOURCE), tag */
    uint64_t ncoll;
    const MPI_Request *reqs; /* Wait family: the application's requests */
    int nreqs;
    uint64_t nposts; /* ms.nposts when the call began */
    int hang_fired;  /* times MPISNAP_HANG_AFTER fired in this call */
    unsigned spins;  /* turns of the loop with nothing done */
};

/* Enter/leave a blocking call; nested calls keep the outer one. */
int ms__call_enter(const char *name, int kind, struct ms__comm *c, int peer,
                   int tag);
/* ... waiting for requests: all of them (mode 0) or any one (mode 1). */
int ms__call_enter_reqs(const char *name, const MPI_Request *reqs, int n,
                        int mode);
void ms__call_leave(int entered);
/* One turn of a blocking loop with nothing done: hang check, yield. */
void ms__call_idle(void);
/* Wait for one request of the application's kind, polling. */
int ms__obs_wait(MPI_Request *req, MPI_Status *st);

/* Observation side of core (core/observe.c). */
void ms__obs_poll(void);         /* markers, reports, outcome, triggers */
void ms__obs_before_count(void); /* a message is about to count: apply a
                                    marker that came before it */
/* A message at position pos of its stream was matched (count elements of
 * dt in buf; the library's own queue uses MPI_PACKED bytes). */
void ms__obs_matched(struct ms__comm *c, int source, int tag, uint64_t pos,
                     const void *buf, int count, MPI_Datatype dt);
void ms__obs_want(const char *why); /* start an observation */

/* A communicator is freed: keep the counts a cut still needs (core/cut.c). */
void ms__cut_comm_freed(struct ms__comm *c);

/* ---- global state ---- */

struct ms__state {
    int slow; /* take the slow path in every receive/wait */
    int initialized, finalized;
    int world_rank, world_size;
    MPI_Comm last_comm; /* one-entry cache for ms__comm_get */
    struct ms__comm *last_c;
    struct ms__hmap comms; /* handle -> ms__comm */
    struct ms__comm *comm_list;
    struct ms__comm *freed_list; /* freed by the application, still used */
    struct ms__comm *world, *self;
    struct ms__hmap reqs;     /* handle -> ms__req */
    struct ms__req *req_free; /* free list */
    struct ms__req *zombies;  /* freed by the application while active */
    long npending;            /* active application requests */
    uint64_t nposts;          /* requests started so far */
    struct ms__hmap msgs;     /* MPI_Message -> ms__mmsg */
    long nmsgs;
    struct ms__held *held_head, *held_tail;
    long nheld;
    long nqueued;
    int next_selftag, tag_ub;
    MPI_Comm qcomm;      /* private dup of MPI_COMM_SELF */
    MPI_Comm ctl;        /* private dup of MPI_COMM_WORLD */
    MPI_Status *scratch; /* statuses when the application ignores them */
    int nscratch;
    unsigned unsupported; /* MS_UNSUP_* bits seen */
    int active;           /* a snapshot is in progress (core) */
    int window;           /* this rank records channel state (core) */
    int trace;            /* MPISNAP_TRACE: record events */
    int hot_off;          /* slow || trace || observe: skip the inline
                             fast paths */
    int observe;          /* MPISNAP_OBSERVE: observation mode */
    int obs_window;       /* an observation records channel state */
    int obs_batch;        /* completing several receives at once */
    struct ms__call call; /* observe: the blocking call this rank is in */
    MPI_Comm octl;        /* observe: private dup of MPI_COMM_WORLD */
};
extern struct ms__state ms;

enum {
    MS_UNSUP_RMA = 1u << 0,
    MS_UNSUP_INTERCOMM = 1u << 1,
    MS_UNSUP_DYNAMIC = 1u << 2,
    MS_UNSUP_THREADS = 1u << 3,
    MS_UNSUP_FILE_IREQ = 1u << 4,
};
/* Remember that the application used an unsupported feature (once). */
void ms__unsupported(unsigned bit, const char *call);
/* "RMA windows (MPI_Win_create), ..." for a diagnostic. */
void ms__unsupported_text(char *buf, size_t n);

static inline uint64_t ms__key(const void *handle, size_t size)
{
    uint64_t k = 0;
    memcpy(&k, handle, size < sizeof k ? size : sizeof k);
    return k + 1; /* handles are never all-ones; 0 is the empty key */
}
#define MS_KEY(h) ms__key(&(h), sizeof(h))

static inline struct ms__comm *ms__comm_get(MPI_Comm comm)
{
    if (MS_LIKELY(comm == ms.last_comm))
        return ms.last_c;
    return ms__comm_lookup_slow(comm);
}

static inline struct ms__req *ms__req_get(MPI_Request handle)
{
    return (struct ms__req *)ms__hmap_get(&ms.reqs, MS_KEY(handle));
}

void ms__update_slow(void);

/* Statuses the application may have ignored: return a usable array. */
MPI_Status *ms__statuses(MPI_Status *app, int n);

/* ---- library matching (match.c) ---- */

/* Run everything pending: held receives in posting order, the protocol's
 * control traffic and drains, zombie requests. */
void ms__progress(void);

/* One receive, matched by the library: from the queue first, else from the
 * network with Improbe + Mrecv.  *matched 0 when nothing matches now. */
int ms__try_recv(void *buf, int count, MPI_Datatype dt, int source, int tag,
                 struct ms__comm *c, MPI_Status *st, int *matched);
/* Blocking receive on the slow path. */
int ms__slow_recv(void *buf, int count, MPI_Datatype dt, int source, int tag,
                  struct ms__comm *c, MPI_Status *st);
int ms__slow_irecv(void *buf, int count, MPI_Datatype dt, int source, int tag,
                   struct ms__comm *c, MPI_Request *req);
int ms__slow_start_precv(struct ms__req *r);
void ms__held_cancel(struct ms__held *h);
void ms__empty_status(MPI_Status *st);
void ms__imrecv_done(struct ms__req *r, MPI_Status *st);
int ms__slow_probe(int source, int tag, struct ms__comm *c, int blocking,
                   int *flag, MPI_Status *st);
int ms__slow_mprobe(int source, int tag, struct ms__comm *c, int blocking,
                    int *flag, MPI_Message *msg, MPI_Status *st);
/* Wait on one of the library's own requests (a blocking send on the slow
 * path), polling ms__progress so this rank keeps matching, draining and
 * answering control traffic meanwhile. */
int ms__wait_own(MPI_Request *r);
/* Wait on a request in the slow path (polls ms__progress). */
int ms__slow_wait(MPI_Request *req, MPI_Status *st);
/* Test one request; handles held persistent receives. */
int ms__test_one(MPI_Request *req, int *flag, MPI_Status *st);
/* Test the requests the application freed while active (ms.zombies): MPI
 * completes them out of its sight, so the library tests them wherever its
 * counts must be exact (progress, a record, the test hooks); a completed
 * receive is counted then. */
void ms__zombies_test(void);

/* Called for every receive the library or the application matched while
 * ms.window is set (core: positions and channel logging). */
void ms__core_matched(struct ms__comm *c, int source, int tag, uint64_t pos,
                      const void *buf, int count, MPI_Datatype dt);

/* MPISNAP_TRACE=1: a ring of recent events for `mpisnap draw`. */
void ms__trace(int kind, struct ms__comm *c, int peer, int tag, uint64_t pos);
int ms__trace_init(void);
/* The ring, oldest first (malloc'd copy); *n events. */
struct ms__trace_ev *ms__trace_copy(size_t *n);

/* Count a matched receive; returns its position in the stream. */
static inline uint64_t ms__count_recv(struct ms__comm *c, int source, int tag)
{
    struct ms__stream *s = &c->recv[source];
    struct ms__tagcount *t =
        MS_LIKELY(s->c.tag == tag) ? &s->c : ms__stream_find(s, tag);
    if (MS_UNLIKELY(ms.trace))
        ms__trace(2 /* MS_EV_RECV */, c, source, tag, t->n + 1);
    return ++t->n;
}

/* Count a send as it starts (dest may be MPI_PROC_NULL: no stream). */
static inline void ms__count_send(struct ms__comm *c, int dest, int tag)
{
    struct ms__stream *s;
    struct ms__tagcount *t;

    if (MS_UNLIKELY((unsigned)dest >= (unsigned)c->size))
        return;
    s = &c->sent[dest];
    t = MS_LIKELY(s->c.tag == tag) ? &s->c : ms__stream_find(s, tag);
    t->n++;
    if (MS_UNLIKELY(ms.trace))
        ms__trace(1 /* MS_EV_SEND */, c, dest, tag, t->n);
}

/* Count a message the application or library matched with status st. */
void ms__matched(struct ms__comm *c, MPI_Status *st, const void *buf, int count,
                 MPI_Datatype dt);

/* Core hooks the layer calls (core/). */
int ms__core_init(void);
void ms__core_finalize(void);
void ms__obs_finalize(void);
void ms__core_poll(void);
void ms__restore_comm_created(struct ms__comm *c);

#endif
