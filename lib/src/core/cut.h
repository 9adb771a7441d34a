/* The cut: what a record needs, shared by checkpoint snapshots (snapshot.c)
 * and observation snapshots (observe.c), so that a case handled once is
 * handled for both (docs/protocol.md, "Where the code is").
 *
 * - the stream counts at the cut: of live communicators and of the ledger
 *   of freed ones (a message sent on a communicator its sender freed is
 *   still in flight, and its receiver needs the sender's count);
 * - the messages the library holds: counted as received but not yet
 *   delivered to the program (drained into the queue, matched with
 *   MPI_Mprobe, held receives not yet collected).  For the program they are
 *   in flight: at a record they are taken out of R and logged.
 * This file is private to mpisnap. */
#ifndef MPISNAP_CUT_H
#define MPISNAP_CUT_H

#include "core/core.h"

/* One stream count of this rank at a cut. */
struct ms__cut_count {
    struct ms__comm *c; /* NULL: a freed communicator's (the ledger) */
    uint64_t comm_id;
    int32_t me;    /* this rank's rank in the communicator */
    int32_t peer;  /* the other end's rank in it */
    int32_t world; /* the other end's world rank */
    int32_t dir;   /* 0: sent to peer, 1: received from peer */
    int32_t tag;
    uint64_t n;    /* cumulative count */
    uint64_t base; /* sent: the count the peer knows from the last
                      committed checkpoint (markers are sparse) */
};

typedef void ms__cut_count_fn(void *arg, const struct ms__cut_count *k);

/* Call fn for every stream count (tag in use): the intracommunicators that
 * are live or still in use (ms__comm_first), then the ledger of freed ones. */
void ms__cut_counts(ms__cut_count_fn *fn, void *arg);

/* The ledger of freed communicators: every nonzero count of a freed
 * communicator, and its record, for the rest of the run.  Its sent counts
 * go into markers while their receivers may not know them (sparse
 * checkpoint markers: n != base; observation markers carry all), its
 * received counts keep the orphan check, and both go into rank files so
 * that `mpisnap verify` sees both ends of each channel. */
size_t ms__cut_ledger_len(void);
/* The records of the freed communicators in the ledger. */
size_t ms__cut_freed_comms(const struct ms__commrec **recs);
/* Records of every communicator a cut has counts of: live or in use
 * (ms__comm_first), then the ledger's freed ones; member lists copied (the
 * program may free a communicator before the rank file is written). */
struct ms__commrec *ms__cut_comm_records(size_t *n);
void ms__cut_comm_records_free(struct ms__commrec *v, size_t n);
/* The world rank of `rank` of communicator comm_id, live, in use or in the
 * ledger; -1 if unknown. */
int ms__cut_world(uint64_t comm_id, int rank);
/* A checkpoint that recorded with the first `n` ledger entries committed:
 * their sent counts are now the bases of sparse markers. */
void ms__cut_ledger_committed(size_t n);
/* ... and the sender's count it used for a freed received stream. */
void ms__cut_ledger_recv_base(uint64_t comm_id, int peer, int tag,
                              uint64_t base);
void ms__cut_ledger_free(void);

/* Messages the library holds: counted, not delivered to the program. */
struct ms__cut_ops {
    /* This rank's R of the stream at the cut (to lower). */
    uint64_t *(*R)(void *arg, uint64_t comm_id, int source, int tag);
    /* Log one as in flight at position pos (0: unknown), payload count
     * elements of dt in buf (MPI_PACKED: bytes). */
    void (*log)(void *arg, struct ms__comm *c, int source, int tag,
                uint64_t pos, const void *buf, int count, MPI_Datatype dt);
};

/* At a record, after the counts: take every message the library holds out
 * of its stream's R and log it.  Queued messages (drained, counted) hold
 * the last positions of their stream, in queue order, and are logged with
 * their payloads at once; a message matched with MPI_Mprobe from the
 * network is marked (mmsg->at_cut) and logged when the program receives
 * it; a held receive done but not collected is logged from its buffer. */
void ms__cut_undelivered(const struct ms__cut_ops *ops, void *arg);

/* ---- a window: incoming streams, logged messages, counters, markers ----
 * Between its record and the last marker a rank keeps, per incoming stream,
 * what it had received at its cut (R) and what the sender had sent at its
 * own (C, from its marker), and logs the messages it receives in between:
 * those with R < position <= C were in flight at the cut. */

/* One incoming stream (communicator, source, tag). */
struct ms__cut_stream {
    struct ms__cut_stream *next; /* the table's list */
    uint64_t comm_id;
    int32_t source, tag; /* source: its rank in the communicator */
    uint64_t R;          /* matched by this rank before its cut */
    uint64_t C;          /* sent by the source before its cut */
    uint64_t base;       /* freed communicator: the source's count known */
    int have_R, have_C;
};

struct ms__cut_table {
    struct ms__hmap map; /* stream key -> stream, probing on collisions */
    struct ms__cut_stream *list;
    size_t n;
};

/* The stream, created (zeroed) if new; out of memory aborts the job. */
struct ms__cut_stream *ms__cut_stream(struct ms__cut_table *t, uint64_t comm_id,
                                      int source, int tag);
/* n marker entries (communicator id, source, tag, count): each count is
 * the C of its stream. */
void ms__cut_apply_marker(struct ms__cut_table *t, const uint64_t *q, size_t n);
void ms__cut_table_free(struct ms__cut_table *t);

/* A message logged in a window, its payload packed. */
struct ms__cut_msg {
    struct ms__cut_msg *next;
    struct ms__cut_stream *s;
    uint64_t pos; /* in its stream; 0: in flight whatever its place */
    uint64_t nbytes;
    unsigned char *data; /* packed payload */
    int full;            /* data holds the payload (buf was not NULL) */
};

struct ms__cut_log {
    struct ms__cut_msg *head, *tail;
};

/* Log message pos of stream s: count elements of dt in buf (MPI_PACKED:
 * bytes; buf NULL: a receive without payload).  NULL: out of memory. */
struct ms__cut_msg *ms__cut_log_add(struct ms__cut_log *l,
                                    struct ms__cut_stream *s, uint64_t pos,
                                    const void *buf, int count,
                                    MPI_Datatype dt);
/* Drop the messages keep() refuses (NULL: all) and free them. */
void ms__cut_log_prune(struct ms__cut_log *l,
                       int (*keep)(const struct ms__cut_msg *m));

/* The counters a rank file holds (struct ms__counter). */
struct ms__cut_counters {
    struct ms__counter *v;
    size_t n, cap;
};

/* Out of memory aborts the job. */
void ms__cut_counter_add(struct ms__cut_counters *k, uint64_t comm_id, int peer,
                         int tag, int dir, uint64_t n);
/* The received counts of a rank file: R of every stream counted at the
 * record (have_R), after ms__cut_undelivered took out the messages the
 * program has not seen, so that none is both received and in flight. */
void ms__cut_counters_received(struct ms__cut_counters *k,
                               const struct ms__cut_table *t);

/* A marker under construction: its header words, then one entry
 * (communicator id, sender's rank, tag, count) per stream. */
struct ms__cut_marker {
    uint64_t *b;
    size_t len, cap;
};

/* Append n words; out of memory aborts the job. */
void ms__cut_marker_put(struct ms__cut_marker *m, const uint64_t *w, size_t n);
void ms__cut_marker_add(struct ms__cut_marker *m, uint64_t comm_id, int src,
                        int tag, uint64_t count);

#endif
