/* Communicator creation and free.  Each creation call takes the next
 * ordinal of its parent, so (parent id, ordinal, colour, group) names the
 * new communicator identically on every member and in a restarted run.
 * The call's name and call site (its return address) are kept so that a
 * restart can tell when another creation took a communicator's id. */
#include <stdlib.h>

#include "pmpi/pmpi.h"

/* X(name, (prototype), (arguments), colour, new communicator) */
#define COMM_CREATE(X)                                                         \
    X(Comm_dup, (MPI_Comm comm, MPI_Comm * nc), (comm, nc), 0, nc)             \
    X(Comm_dup_with_info, (MPI_Comm comm, MPI_Info info, MPI_Comm * nc),       \
      (comm, info, nc), 0, nc)                                                 \
    X(Comm_split, (MPI_Comm comm, int color, int key, MPI_Comm *nc),           \
      (comm, color, key, nc), color, nc)                                       \
    X(Comm_split_type,                                                         \
      (MPI_Comm comm, int type, int key, MPI_Info info, MPI_Comm *nc),         \
      (comm, type, key, info, nc), type, nc)                                   \
    X(Comm_create, (MPI_Comm comm, MPI_Group g, MPI_Comm * nc), (comm, g, nc), \
      0, nc)                                                                   \
    X(Cart_create,                                                             \
      (MPI_Comm comm, int nd, const int dims[], const int periods[],           \
       int reorder, MPI_Comm *nc),                                             \
      (comm, nd, dims, periods, reorder, nc), 0, nc)                           \
    X(Cart_sub, (MPI_Comm comm, const int remain[], MPI_Comm *nc),             \
      (comm, remain, nc), 0, nc)                                               \
    X(Graph_create,                                                            \
      (MPI_Comm comm, int nn, const int index[], const int edges[],            \
       int reorder, MPI_Comm *nc),                                             \
      (comm, nn, index, edges, reorder, nc), 0, nc)                            \
    X(Dist_graph_create,                                                       \
      (MPI_Comm comm, int n, const int src[], const int deg[],                 \
       const int dst[], const int w[], MPI_Info info, int reorder,             \
       MPI_Comm *nc),                                                          \
      (comm, n, src, deg, dst, w, info, reorder, nc), 0, nc)                   \
    X(Dist_graph_create_adjacent,                                              \
      (MPI_Comm comm, int indeg, const int src[], const int sw[], int outdeg,  \
       const int dst[], const int dw[], MPI_Info info, int reorder,            \
       MPI_Comm *nc),                                                          \
      (comm, indeg, src, sw, outdeg, dst, dw, info, reorder, nc), 0, nc)       \
    X(Intercomm_merge, (MPI_Comm comm, int high, MPI_Comm *nc),                \
      (comm, high, nc), 0, nc)

#define X(NAME, PROTO, ARGS, COLOR, NEWCOMM)                                   \
    int MPI_##NAME PROTO                                                       \
    {                                                                          \
        struct ms__comm *p = ms__comm_get(comm);                               \
        uint64_t ord = p->ncreate++;                                           \
        int rc;                                                                \
        p->ncoll++;                                                            \
        rc = PMPI_##NAME ARGS;                                                 \
        if (rc == MPI_SUCCESS)                                                 \
            ms__comm_created(p, ord, (int64_t)(COLOR), *(NEWCOMM),             \
                             "MPI_" #NAME, __builtin_return_address(0));       \
        return rc;                                                             \
    }
COMM_CREATE(X)
#undef X

/* Only the members of the group call MPI_Comm_create_group, so it must not
 * take an ordinal of the parent (the other ranks would disagree on every
 * later one): its id comes from the tag and the group instead. */
int MPI_Comm_create_group(MPI_Comm comm, MPI_Group g, int tag, MPI_Comm *nc)
{
    struct ms__comm *p = ms__comm_get(comm);
    uint64_t h = 0x63726561746567ULL;
    MPI_Group wg;
    int rc, n, i, *in, *out;

    rc = PMPI_Comm_create_group(comm, g, tag, nc);
    if (rc != MPI_SUCCESS || *nc == MPI_COMM_NULL)
        return rc;
    PMPI_Group_size(g, &n);
    in = malloc(2 * (size_t)n * sizeof *in);
    if (!in)
        return PMPI_Abort(MPI_COMM_WORLD, 1);
    out = in + n;
    for (i = 0; i < n; i++)
        in[i] = i;
    PMPI_Comm_group(MPI_COMM_WORLD, &wg);
    PMPI_Group_translate_ranks(g, n, in, wg, out);
    PMPI_Group_free(&wg);
    for (i = 0; i < n; i++)
        h = ms__mix64(h ^ (uint64_t)out[i]);
    free(in);
    ms__comm_created(p, h | (1ULL << 63), tag, *nc, "MPI_Comm_create_group",
                     __builtin_return_address(0));
    return rc;
}

int MPI_Intercomm_create(MPI_Comm local, int lleader, MPI_Comm peer,
                         int rleader, int tag, MPI_Comm *nc)
{
    struct ms__comm *p = ms__comm_get(local);
    uint64_t ord = p->ncreate++;
    int rc;

    p->ncoll++;
    ms__unsupported(MS_UNSUP_INTERCOMM, "MPI_Intercomm_create");
    rc = PMPI_Intercomm_create(local, lleader, peer, rleader, tag, nc);
    if (rc == MPI_SUCCESS)
        ms__comm_created(p, ord, tag, *nc, "MPI_Intercomm_create",
                         __builtin_return_address(0));
    return rc;
}

/* An MPI_Comm_idup on p that MPI has not completed yet, or NULL. */
static struct ms__req *idup_running(const struct ms__comm *p)
{
    size_t i;
    int done;

    for (i = 0; i < ms.reqs.cap; i++) {
        struct ms__req *r = ms.reqs.vals[i];
        if (!ms.reqs.keys[i] || !r->newcomm || r->parent != p || !r->active)
            continue;
        PMPI_Request_get_status(r->handle, &done, MPI_STATUS_IGNORE);
        if (!done)
            return r;
    }
    return NULL;
}

int MPI_Comm_idup(MPI_Comm comm, MPI_Comm *nc, MPI_Request *req)
{
    struct ms__comm *p = ms__comm_get(comm);
    struct ms__req *r;
    uint64_t ord = p->ncreate++;
    int rc;

    p->ncoll++;
    /* Open MPI 4.1 runs the context-id agreements of several idups of one
     * communicator at once, and under library matching the members could
     * interleave them differently and hang (MPICH comm/comm_idup_isend):
     * on the slow path, let the earlier ones complete first.  Every member
     * starts them in the same order, so this waits only for progress. */
    while (ms.slow && idup_running(p))
        ms__progress();
    rc = PMPI_Comm_idup(comm, nc, req);
    if (rc == MPI_SUCCESS) {
        /* The new handle is usable once the request completes: register
         * it then (ms__req_completed). */
        r = ms__req_new(*req, MS_REQ_OTHER, p);
        r->newcomm = nc;
        r->parent = p;
        r->ordinal = ord;
        r->site = __builtin_return_address(0);
    }
    return rc;
}

int MPI_Comm_free(MPI_Comm *comm)
{
    if (ms__comm_freed(*comm, 1)) { /* freed when its held receives end */
        *comm = MPI_COMM_NULL;
        return MPI_SUCCESS;
    }
    return PMPI_Comm_free(comm);
}

int MPI_Comm_disconnect(MPI_Comm *comm)
{
    ms__comm_freed(*comm, 0);
    return PMPI_Comm_disconnect(comm);
}
