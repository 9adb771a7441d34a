/* The regular MPI wrappers, one line per function, expanded into a few
 * skeletons.  Compiled against mpi.h, so a wrong prototype is a compile
 * error.  Irregular calls are in wrappers_special.c. */
#include "pmpi/pmpi.h"

/* ---- sends: counted when they start ---- */

static inline struct ms__comm *count_send(MPI_Comm comm, int dest, int tag)
{
    struct ms__comm *c = ms__comm_get(comm);

    ms__count_send(c, dest, tag);
    return c;
}

#define SEND_BLOCKING(X)                                                       \
    X(Send, Isend)                                                             \
    X(Bsend, Ibsend)                                                           \
    X(Ssend, Issend)                                                           \
    X(Rsend, Irsend)

/* Only the common case is inline: the cached communicator, the cached tag,
 * not the slow path.  It needs no stack frame and ends in a tail call to
 * PMPI; everything else is a separate function. */
#define X(NAME, INAME)                                                         \
    static __attribute__((noinline)) int other_##NAME(                         \
        const void *buf, int count, MPI_Datatype dt, int dest, int tag,        \
        MPI_Comm comm)                                                         \
    {                                                                          \
        MPI_Request r;                                                         \
        int rc;                                                                \
        if (MS_UNLIKELY(ms.observe)) {                                         \
            int in = ms__call_enter("MPI_" #NAME, MS_NEED_SEND,                \
                                    ms__comm_get(comm), dest, tag);            \
            rc = MPI_##INAME(buf, count, dt, dest, tag, comm, &r);             \
            if (rc == MPI_SUCCESS)                                             \
                rc = ms__obs_wait(&r, MPI_STATUS_IGNORE);                      \
            ms__call_leave(in);                                                \
            return rc;                                                         \
        }                                                                      \
        count_send(comm, dest, tag);                                           \
        if (!ms.slow)                                                          \
            return PMPI_##NAME(buf, count, dt, dest, tag, comm);               \
        rc = PMPI_##INAME(buf, count, dt, dest, tag, comm, &r);                \
        return rc == MPI_SUCCESS ? ms__wait_own(&r) : rc;                      \
    }                                                                          \
    int MPI_##NAME(const void *buf, int count, MPI_Datatype dt, int dest,      \
                   int tag, MPI_Comm comm)                                     \
    {                                                                          \
        struct ms__stream *s;                                                  \
        if (MS_LIKELY(comm == ms.last_comm && !ms.hot_off &&                   \
                      (unsigned)dest < (unsigned)ms.last_c->size)) {           \
            s = &ms.last_c->sent[dest];                                        \
            if (MS_LIKELY(s->c.tag == tag)) {                                  \
                s->c.n++;                                                      \
                return PMPI_##NAME(buf, count, dt, dest, tag, comm);           \
            }                                                                  \
        }                                                                      \
        return other_##NAME(buf, count, dt, dest, tag, comm);                  \
    }
SEND_BLOCKING(X)
#undef X

#define SEND_NONBLOCKING(X) X(Isend) X(Ibsend) X(Issend) X(Irsend)

#define X(NAME)                                                                \
    int MPI_##NAME(const void *buf, int count, MPI_Datatype dt, int dest,      \
                   int tag, MPI_Comm comm, MPI_Request *req)                   \
    {                                                                          \
        struct ms__comm *c = count_send(comm, dest, tag);                      \
        struct ms__req *r;                                                     \
        int rc;                                                                \
        rc = PMPI_##NAME(buf, count, dt, dest, tag, comm, req);                \
        if (MS_LIKELY(rc == MPI_SUCCESS)) {                                    \
            r = ms__req_new(*req, MS_REQ_SEND, c);                             \
            r->peer = dest;                                                    \
            r->tag = tag;                                                      \
        }                                                                      \
        return rc;                                                             \
    }
SEND_NONBLOCKING(X)
#undef X

#define SEND_PERSISTENT(X)                                                     \
    X(Send_init) X(Bsend_init) X(Ssend_init) X(Rsend_init)

#define X(NAME)                                                                \
    int MPI_##NAME(const void *buf, int count, MPI_Datatype dt, int dest,      \
                   int tag, MPI_Comm comm, MPI_Request *req)                   \
    {                                                                          \
        struct ms__comm *c = ms__comm_get(comm);                               \
        struct ms__req *r;                                                     \
        int rc = PMPI_##NAME(buf, count, dt, dest, tag, comm, req);            \
        if (rc == MPI_SUCCESS) {                                               \
            r = ms__req_new(*req, MS_REQ_PSEND, c);                            \
            r->active = 0;                                                     \
            ms.npending--;                                                     \
            r->peer = dest;                                                    \
            r->tag = tag;                                                      \
        }                                                                      \
        return rc;                                                             \
    }
SEND_PERSISTENT(X)
#undef X

/* ---- collectives: counted per communicator when they start ----
 * X(name, (prototype), (arguments), comm) */
#define COLL_BLOCKING(X)                                                       \
    X(Barrier, Ibarrier, (MPI_Comm comm), (comm))                              \
    X(Bcast, Ibcast,                                                           \
      (void *b, int n, MPI_Datatype t, int root, MPI_Comm comm),               \
      (b, n, t, root, comm))                                                   \
    X(Gather, Igather,                                                         \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, int root, MPI_Comm comm),                              \
      (sb, sn, st, rb, rn, rt, root, comm))                                    \
    X(Gatherv, Igatherv,                                                       \
      (const void *sb, int sn, MPI_Datatype st, void *rb, const int *rn,       \
       const int *d, MPI_Datatype rt, int root, MPI_Comm comm),                \
      (sb, sn, st, rb, rn, d, rt, root, comm))                                 \
    X(Scatter, Iscatter,                                                       \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, int root, MPI_Comm comm),                              \
      (sb, sn, st, rb, rn, rt, root, comm))                                    \
    X(Scatterv, Iscatterv,                                                     \
      (const void *sb, const int *sn, const int *d, MPI_Datatype st, void *rb, \
       int rn, MPI_Datatype rt, int root, MPI_Comm comm),                      \
      (sb, sn, d, st, rb, rn, rt, root, comm))                                 \
    X(Allgather, Iallgather,                                                   \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, MPI_Comm comm),                                        \
      (sb, sn, st, rb, rn, rt, comm))                                          \
    X(Allgatherv, Iallgatherv,                                                 \
      (const void *sb, int sn, MPI_Datatype st, void *rb, const int *rn,       \
       const int *d, MPI_Datatype rt, MPI_Comm comm),                          \
      (sb, sn, st, rb, rn, d, rt, comm))                                       \
    X(Alltoall, Ialltoall,                                                     \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, MPI_Comm comm),                                        \
      (sb, sn, st, rb, rn, rt, comm))                                          \
    X(Alltoallv, Ialltoallv,                                                   \
      (const void *sb, const int *sn, const int *sd, MPI_Datatype st,          \
       void *rb, const int *rn, const int *rd, MPI_Datatype rt,                \
       MPI_Comm comm),                                                         \
      (sb, sn, sd, st, rb, rn, rd, rt, comm))                                  \
    X(Alltoallw, Ialltoallw,                                                   \
      (const void *sb, const int *sn, const int *sd, const MPI_Datatype *st,   \
       void *rb, const int *rn, const int *rd, const MPI_Datatype *rt,         \
       MPI_Comm comm),                                                         \
      (sb, sn, sd, st, rb, rn, rd, rt, comm))                                  \
    X(Reduce, Ireduce,                                                         \
      (const void *sb, void *rb, int n, MPI_Datatype t, MPI_Op op, int root,   \
       MPI_Comm comm),                                                         \
      (sb, rb, n, t, op, root, comm))                                          \
    X(Allreduce, Iallreduce,                                                   \
      (const void *sb, void *rb, int n, MPI_Datatype t, MPI_Op op,             \
       MPI_Comm comm),                                                         \
      (sb, rb, n, t, op, comm))                                                \
    X(Reduce_scatter, Ireduce_scatter,                                         \
      (const void *sb, void *rb, const int *rn, MPI_Datatype t, MPI_Op op,     \
       MPI_Comm comm),                                                         \
      (sb, rb, rn, t, op, comm))                                               \
    X(Reduce_scatter_block, Ireduce_scatter_block,                             \
      (const void *sb, void *rb, int n, MPI_Datatype t, MPI_Op op,             \
       MPI_Comm comm),                                                         \
      (sb, rb, n, t, op, comm))                                                \
    X(Scan, Iscan,                                                             \
      (const void *sb, void *rb, int n, MPI_Datatype t, MPI_Op op,             \
       MPI_Comm comm),                                                         \
      (sb, rb, n, t, op, comm))                                                \
    X(Exscan, Iexscan,                                                         \
      (const void *sb, void *rb, int n, MPI_Datatype t, MPI_Op op,             \
       MPI_Comm comm),                                                         \
      (sb, rb, n, t, op, comm))                                                \
    X(Neighbor_allgather, Ineighbor_allgather,                                 \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, MPI_Comm comm),                                        \
      (sb, sn, st, rb, rn, rt, comm))                                          \
    X(Neighbor_allgatherv, Ineighbor_allgatherv,                               \
      (const void *sb, int sn, MPI_Datatype st, void *rb, const int *rn,       \
       const int *d, MPI_Datatype rt, MPI_Comm comm),                          \
      (sb, sn, st, rb, rn, d, rt, comm))                                       \
    X(Neighbor_alltoall, Ineighbor_alltoall,                                   \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, MPI_Comm comm),                                        \
      (sb, sn, st, rb, rn, rt, comm))                                          \
    X(Neighbor_alltoallv, Ineighbor_alltoallv,                                 \
      (const void *sb, const int *sn, const int *sd, MPI_Datatype st,          \
       void *rb, const int *rn, const int *rd, MPI_Datatype rt,                \
       MPI_Comm comm),                                                         \
      (sb, sn, sd, st, rb, rn, rd, rt, comm))                                  \
    X(Neighbor_alltoallw, Ineighbor_alltoallw,                                 \
      (const void *sb, const int *sn, const MPI_Aint *sd,                      \
       const MPI_Datatype *st, void *rb, const int *rn, const MPI_Aint *rd,    \
       const MPI_Datatype *rt, MPI_Comm comm),                                 \
      (sb, sn, sd, st, rb, rn, rd, rt, comm))

#define MS_UNPAREN(...) __VA_ARGS__

/* In observation mode a blocking collective is its nonblocking form plus a
 * loop that polls, so a rank blocked in it still records.  So it is with
 * MPISNAP_TEST_LIBMATCH, where the library holds receives all the time:
 * MPI knows nothing of them, so only the library's progress matches them,
 * and a peer may wait for that (an Ssend) before it joins the collective.
 * Both are settings of the whole job: blocking and nonblocking collectives
 * do not match each other (MPI 4.0, 6.12), so every rank must take the same
 * form, which a per-rank condition (receives held now) would not give. */
#define X(NAME, INAME, PROTO, ARGS)                                            \
    int MPI_##NAME PROTO                                                       \
    {                                                                          \
        struct ms__comm *c = ms__comm_get(comm);                               \
        MPI_Request r;                                                         \
        int rc, in;                                                            \
        if (MS_LIKELY(!ms.observe)) {                                          \
            c->ncoll++;                                                        \
            if (MS_LIKELY(!ms__cfg.libmatch))                                  \
                return PMPI_##NAME ARGS;                                       \
            rc = PMPI_##INAME(MS_UNPAREN ARGS, &r);                            \
            return rc == MPI_SUCCESS ? ms__wait_own(&r) : rc;                  \
        }                                                                      \
        if ((in = ms__call_enter("MPI_" #NAME, MS_NEED_COLL, c, 0, 0)))        \
            ms.call.ncoll = c->ncoll + 1; /* the one it starts now */          \
        rc = MPI_##INAME(MS_UNPAREN ARGS, &r);                                 \
        if (rc == MPI_SUCCESS)                                                 \
            rc = ms__obs_wait(&r, MPI_STATUS_IGNORE);                          \
        ms__call_leave(in);                                                    \
        return rc;                                                             \
    }
COLL_BLOCKING(X)
#undef X

/* Nonblocking collectives: the same prototypes plus a request. */
#define COLL_NONBLOCKING(X)                                                    \
    X(Ibarrier, (MPI_Comm comm, MPI_Request * req), (comm, req))               \
    X(Ibcast,                                                                  \
      (void *b, int n, MPI_Datatype t, int root, MPI_Comm comm,                \
       MPI_Request *req),                                                      \
      (b, n, t, root, comm, req))                                              \
    X(Igather,                                                                 \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, int root, MPI_Comm comm, MPI_Request *req),            \
      (sb, sn, st, rb, rn, rt, root, comm, req))                               \
    X(Igatherv,                                                                \
      (const void *sb, int sn, MPI_Datatype st, void *rb, const int *rn,       \
       const int *d, MPI_Datatype rt, int root, MPI_Comm comm,                 \
       MPI_Request *req),                                                      \
      (sb, sn, st, rb, rn, d, rt, root, comm, req))                            \
    X(Iscatter,                                                                \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, int root, MPI_Comm comm, MPI_Request *req),            \
      (sb, sn, st, rb, rn, rt, root, comm, req))                               \
    X(Iscatterv,                                                               \
      (const void *sb, const int *sn, const int *d, MPI_Datatype st, void *rb, \
       int rn, MPI_Datatype rt, int root, MPI_Comm comm, MPI_Request *req),    \
      (sb, sn, d, st, rb, rn, rt, root, comm, req))                            \
    X(Iallgather,                                                              \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, MPI_Comm comm, MPI_Request *req),                      \
      (sb, sn, st, rb, rn, rt, comm, req))                                     \
    X(Iallgatherv,                                                             \
      (const void *sb, int sn, MPI_Datatype st, void *rb, const int *rn,       \
       const int *d, MPI_Datatype rt, MPI_Comm comm, MPI_Request *req),        \
      (sb, sn, st, rb, rn, d, rt, comm, req))                                  \
    X(Ialltoall,                                                               \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, MPI_Comm comm, MPI_Request *req),                      \
      (sb, sn, st, rb, rn, rt, comm, req))                                     \
    X(Ialltoallv,                                                              \
      (const void *sb, const int *sn, const int *sd, MPI_Datatype st,          \
       void *rb, const int *rn, const int *rd, MPI_Datatype rt, MPI_Comm comm, \
       MPI_Request *req),                                                      \
      (sb, sn, sd, st, rb, rn, rd, rt, comm, req))                             \
    X(Ialltoallw,                                                              \
      (const void *sb, const int *sn, const int *sd, const MPI_Datatype *st,   \
       void *rb, const int *rn, const int *rd, const MPI_Datatype *rt,         \
       MPI_Comm comm, MPI_Request *req),                                       \
      (sb, sn, sd, st, rb, rn, rd, rt, comm, req))                             \
    X(Ireduce,                                                                 \
      (const void *sb, void *rb, int n, MPI_Datatype t, MPI_Op op, int root,   \
       MPI_Comm comm, MPI_Request *req),                                       \
      (sb, rb, n, t, op, root, comm, req))                                     \
    X(Iallreduce,                                                              \
      (const void *sb, void *rb, int n, MPI_Datatype t, MPI_Op op,             \
       MPI_Comm comm, MPI_Request *req),                                       \
      (sb, rb, n, t, op, comm, req))                                           \
    X(Ireduce_scatter,                                                         \
      (const void *sb, void *rb, const int *rn, MPI_Datatype t, MPI_Op op,     \
       MPI_Comm comm, MPI_Request *req),                                       \
      (sb, rb, rn, t, op, comm, req))                                          \
    X(Ireduce_scatter_block,                                                   \
      (const void *sb, void *rb, int n, MPI_Datatype t, MPI_Op op,             \
       MPI_Comm comm, MPI_Request *req),                                       \
      (sb, rb, n, t, op, comm, req))                                           \
    X(Iscan,                                                                   \
      (const void *sb, void *rb, int n, MPI_Datatype t, MPI_Op op,             \
       MPI_Comm comm, MPI_Request *req),                                       \
      (sb, rb, n, t, op, comm, req))                                           \
    X(Iexscan,                                                                 \
      (const void *sb, void *rb, int n, MPI_Datatype t, MPI_Op op,             \
       MPI_Comm comm, MPI_Request *req),                                       \
      (sb, rb, n, t, op, comm, req))                                           \
    X(Ineighbor_allgather,                                                     \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, MPI_Comm comm, MPI_Request *req),                      \
      (sb, sn, st, rb, rn, rt, comm, req))                                     \
    X(Ineighbor_allgatherv,                                                    \
      (const void *sb, int sn, MPI_Datatype st, void *rb, const int *rn,       \
       const int *d, MPI_Datatype rt, MPI_Comm comm, MPI_Request *req),        \
      (sb, sn, st, rb, rn, d, rt, comm, req))                                  \
    X(Ineighbor_alltoall,                                                      \
      (const void *sb, int sn, MPI_Datatype st, void *rb, int rn,              \
       MPI_Datatype rt, MPI_Comm comm, MPI_Request *req),                      \
      (sb, sn, st, rb, rn, rt, comm, req))                                     \
    X(Ineighbor_alltoallv,                                                     \
      (const void *sb, const int *sn, const int *sd, MPI_Datatype st,          \
       void *rb, const int *rn, const int *rd, MPI_Datatype rt, MPI_Comm comm, \
       MPI_Request *req),                                                      \
      (sb, sn, sd, st, rb, rn, rd, rt, comm, req))                             \
    X(Ineighbor_alltoallw,                                                     \
      (const void *sb, const int *sn, const MPI_Aint *sd,                      \
       const MPI_Datatype *st, void *rb, const int *rn, const MPI_Aint *rd,    \
       const MPI_Datatype *rt, MPI_Comm comm, MPI_Request *req),               \
      (sb, sn, sd, st, rb, rn, rd, rt, comm, req))

#define X(NAME, PROTO, ARGS)                                                   \
    int MPI_##NAME PROTO                                                       \
    {                                                                          \
        struct ms__comm *c = ms__comm_get(comm);                               \
        int rc;                                                                \
        c->ncoll++;                                                            \
        rc = PMPI_##NAME ARGS;                                                 \
        if (rc == MPI_SUCCESS)                                                 \
            ms__req_new(*req, MS_REQ_OTHER, c)->ncoll = c->ncoll;              \
        return rc;                                                             \
    }
COLL_NONBLOCKING(X)
#undef X

/* ---- calls mpisnap does not support yet: they work, and a snapshot
 * request is refused naming them ---- */
#define UNSUPPORTED(X)                                                         \
    X(Win_create,                                                              \
      (void *b, MPI_Aint size, int du, MPI_Info info, MPI_Comm comm,           \
       MPI_Win *win),                                                          \
      (b, size, du, info, comm, win), MS_UNSUP_RMA)                            \
    X(Win_allocate,                                                            \
      (MPI_Aint size, int du, MPI_Info info, MPI_Comm comm, void *b,           \
       MPI_Win *win),                                                          \
      (size, du, info, comm, b, win), MS_UNSUP_RMA)                            \
    X(Win_allocate_shared,                                                     \
      (MPI_Aint size, int du, MPI_Info info, MPI_Comm comm, void *b,           \
       MPI_Win *win),                                                          \
      (size, du, info, comm, b, win), MS_UNSUP_RMA)                            \
    X(Win_create_dynamic, (MPI_Info info, MPI_Comm comm, MPI_Win * win),       \
      (info, comm, win), MS_UNSUP_RMA)                                         \
    X(Comm_spawn,                                                              \
      (const char *cmd, char *argv[], int maxp, MPI_Info info, int root,       \
       MPI_Comm comm, MPI_Comm *ic, int errs[]),                               \
      (cmd, argv, maxp, info, root, comm, ic, errs), MS_UNSUP_DYNAMIC)         \
    X(Comm_spawn_multiple,                                                     \
      (int n, char *cmds[], char **argvs[], const int maxp[],                  \
       const MPI_Info infos[], int root, MPI_Comm comm, MPI_Comm *ic,          \
       int errs[]),                                                            \
      (n, cmds, argvs, maxp, infos, root, comm, ic, errs), MS_UNSUP_DYNAMIC)   \
    X(Comm_connect,                                                            \
      (const char *port, MPI_Info info, int root, MPI_Comm comm,               \
       MPI_Comm *ic),                                                          \
      (port, info, root, comm, ic), MS_UNSUP_DYNAMIC)                          \
    X(Comm_accept,                                                             \
      (const char *port, MPI_Info info, int root, MPI_Comm comm,               \
       MPI_Comm *ic),                                                          \
      (port, info, root, comm, ic), MS_UNSUP_DYNAMIC)

#define X(NAME, PROTO, ARGS, BIT)                                              \
    int MPI_##NAME PROTO                                                       \
    {                                                                          \
        ms__comm_get(comm)->ncoll++;                                           \
        ms__unsupported(BIT, "MPI_" #NAME);                                    \
        return PMPI_##NAME ARGS;                                               \
    }
UNSUPPORTED(X)
#undef X

int MPI_Comm_join(int fd, MPI_Comm *ic)
{
    ms__unsupported(MS_UNSUP_DYNAMIC, "MPI_Comm_join");
    return PMPI_Comm_join(fd, ic);
}
