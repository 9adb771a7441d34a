/* fuzz: a randomized snapshot tester for mpisnap (see README.md).
 *
 * schedule.c generates, from a seed, a communication schedule that is a pure
 * function of (seed, step): every rank computes the same plan for every step
 * without communicating.  fuzz.c runs it, checks every message received
 * against the plan, and asks for snapshots or observations. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>

enum {
    MAXR = 8,     /* ranks */
    NSLOT = 6,    /* communicator slots: world, base, 4 dynamic */
    MAXGEN = 512, /* communicators per dynamic slot over a run */
    MAXMSG = 400, /* messages per step */
    MAXDELAY = 3, /* steps a message may cross */
    MARGIN = 12,  /* no snapshot requests in the last MARGIN steps */
};

/* Tags: data messages carry TAG0 + class (4 classes); messages received
 * with MPI_ANY_SOURCE carry WTAG0 + (send step mod 8192), so that such a
 * receive can only match messages of its own step. */
enum { TAG_HS = 5, TAG0 = 10, TAG_CANCEL = 999, WTAG0 = 1000 };

/* X(id, name, on by default, what it exercises) */
#define FEATURES(X)                                                            \
    X(SEND, "send", 1, "MPI_Send (at most 1 KiB: eager)")                      \
    X(ISEND, "isend", 1, "MPI_Isend")                                          \
    X(SSEND, "ssend", 1, "MPI_Ssend, to a pre-posted receive")                 \
    X(ISSEND, "issend", 1, "MPI_Issend, received in the same step")            \
    X(BSEND, "bsend", 1, "MPI_Bsend, MPI_Ibsend")                              \
    X(RSEND, "rsend", 1, "MPI_Rsend, MPI_Irsend after a handshake")            \
    X(PSEND, "psend", 1, "MPI_Send_init/Bsend_init/Ssend_init/Rsend_init")     \
    X(LARGE, "large", 1, "messages of 1-32 KiB (rendezvous, buffered)")        \
    X(SELF, "self", 1, "sends to self")                                        \
    X(IRECV, "irecv", 1, "receives pre-posted with MPI_Irecv")                 \
    X(PRECV, "precv", 1, "pre-posted persistent receives")                     \
    X(PROBE, "probe", 1, "MPI_Probe, MPI_Iprobe + MPI_Recv")                   \
    X(MPROBE, "mprobe", 1, "MPI_Mprobe/Improbe + MPI_Mrecv/Imrecv")            \
    X(ITEST, "itest", 1, "MPI_Irecv + MPI_Wait or MPI_Test loop")              \
    X(ANYTAG, "anytag", 1, "MPI_ANY_TAG receives")                             \
    X(ANYSRC, "anysrc", 1, "MPI_ANY_SOURCE receives")                          \
    X(FULLWILD, "fullwild", 1, "ANY_SOURCE + ANY_TAG on one-step comms")       \
    X(WAITSOME, "waitsome", 1, "Waitany/Waitsome/Testsome/Testall/Testany")    \
    X(CANCEL, "cancel", 1, "MPI_Cancel of a receive")                          \
    X(PROCNULL, "procnull", 1, "MPI_PROC_NULL peers")                          \
    X(DUP, "dup", 1, "MPI_Comm_dup between steps")                             \
    X(SPLIT, "split", 1, "MPI_Comm_split, some ranks MPI_UNDEFINED")           \
    X(CREATE, "create", 1, "MPI_Comm_create, one group")                       \
    X(CGROUP, "cgroup", 1, "MPI_Comm_create_group")                            \
    X(DISJOINT, "disjoint", 1, "MPI_Comm_create, disjoint groups")             \
    X(IDUP, "idup", 1, "MPI_Comm_idup while sends pend")                       \
    X(COLL, "coll", 1, "blocking collectives")                                 \
    X(NBC, "nbc", 1, "nonblocking collectives, completed with the step")       \
    X(DTFREE, "dtfree", 0, "datatypes freed while pending (off: see README)")  \
    X(AFTERCUT, "aftercut", 1, "requests right after a cut")                   \
    X(MIDREQ, "midreq", 1, "snapshot requests in the middle of a step")

#define FEATURE_ENUM(id, name, def, what) F_##id,
enum { FEATURES(FEATURE_ENUM) NFEAT };
#undef FEATURE_ENUM

/* Communicator slots and kinds */
enum { SLOT_WORLD = 0, SLOT_BASE = 1, SLOT_DYN = 2 };
enum { K_WORLD, K_BASE, K_DUP, K_SPLIT, K_CREATE, K_CGROUP, K_DISJOINT };

/* One communicator of a slot: alive from the start of step `born` to the
 * end of step `dies`.  col[r] is world rank r's colour (-1: not a member);
 * members of one colour are ordered by (key, world rank). */
struct gen {
    int slot, born, dies, kind, parent, delay, local, cgtag;
    int col[MAXR], key[MAXR];
};

/* How a message is sent */
enum {
    S_SEND,
    S_ISEND,
    S_SSEND,
    S_ISSEND,
    S_BSEND,
    S_IBSEND,
    S_RSEND,
    S_IRSEND,
    S_PSEND,
    S_PBSEND,
    S_PSSEND,
    S_PRSEND,
    S_DTSEND,
    NSMODE
};
/* How its receive matches: named (source, tag); named source, ANY_TAG;
 * ANY_SOURCE with the step's wild tag; ANY_SOURCE + ANY_TAG.  The last two
 * are anonymous: the receive may get any message of its group. */
enum { P_NAMED, P_ANYTAG, P_ANYSRC, P_FULLWILD };
/* The receive call: pre-posted ones first, then blocking forms */
enum {
    R_PRE_IRECV,
    R_PRE_PRECV,
    R_RECV,
    R_PROBE,
    R_IPROBE,
    R_MPROBE,
    R_IMPROBE,
    R_IRECV_WAIT,
    R_IRECV_TEST,
    NRFORM
};
/* Completion of a step's requests */
enum {
    C_WAITEACH,
    C_WAITALL,
    C_WAITANY,
    C_WAITSOME,
    C_TESTSOME,
    C_TESTALL,
    C_TESTANY,
    NCOMPL
};
/* Operations on MPI_PROC_NULL */
enum { N_NONE, N_SEND, N_ISEND, N_RECV, N_IRECV, N_SENDRECV, N_PROBE };
/* Collectives */
enum {
    CO_NONE,
    CO_BARRIER,
    CO_ALLREDUCE,
    CO_BCAST,
    CO_ALLGATHER,
    CO_REDUCE,
    CO_IBARRIER,
    CO_IALLREDUCE,
    CO_IBCAST
};

struct msg {
    int step, idx, due;
    int slot, gen, color;
    int src, dst;   /* world ranks */
    int csrc, cdst; /* ranks in the communicator */
    int tag, tclass, size, bufsize;
    int smode, rpat, rform, prepost, dtrecv;
    uint32_t rpos; /* receive order key: sorted ascending on the receiver */
    int64_t value;
};

struct plan {
    int step, nm;
    struct msg m[MAXMSG];
    int nullop[MAXR];
    int cancel[MAXR], cancel_slot[MAXR]; /* cancel: 1 named peer, 2 any */
    int compl [MAXR];
    int coll, coll_slot, nbc, nbc_slot;
    int idup;
    int req_rank, req_mid;     /* a snapshot request (or observation) */
    int aftercut_rank;         /* requests again right after a cut */
    unsigned char got[MAXMSG]; /* receiver's bookkeeping (not pure) */
};

struct cfg {
    uint64_t seed;
    int nranks, nsteps, nrequests;
    int feat[NFEAT];
    int ngen[NSLOT];
    struct gen gens[NSLOT][MAXGEN];
    int req_steps[64]; /* steps with a request */
};

uint64_t mix64(uint64_t z);
uint64_t hash3(uint64_t a, uint64_t b, uint64_t c);

/* The communicators of every slot over the run, and the request steps. */
void plan_comms(struct cfg *c);
/* The communicator of `slot` at `step`, or NULL when the slot is empty. */
const struct gen *gen_at(const struct cfg *c, int slot, int step);
/* World ranks of the members of colour `color`, in communicator rank
 * order; returns their number. */
int members(const struct gen *g, int nranks, int color, int *wr);
/* Everything that happens in `step`, on every rank. */
void plan_step(const struct cfg *c, int step, struct plan *p);
/* The payload byte i of message m (bytes 0..15 are its header). */
unsigned char payload_byte(const struct cfg *c, const struct msg *m, int i);

extern const char *const feature_names[NFEAT];
extern const int feature_default[NFEAT];
extern const char *const feature_what[NFEAT];

#endif
