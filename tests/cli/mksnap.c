/* A small consistent snapshot with a trace, written through the store, for
 * `mpisnap draw` and `verify` until the library records traces itself.
 * Usage: mksnap ROOT, or mksnap --observe ROOT (below).
 * mksnap ROOT: 3 ranks on MPI_COMM_WORLD (id 1):
 *   0 -> 1 tag 5: position 1 received before both cuts; position 2 sent
 *                 before 0's cut, received after 1's: in flight at rank 1
 *   1 -> 2 tag 7: position 1 received before both cuts
 *   2 -> 0 tag 9: position 1 sent after 2's cut: not in the snapshot
 * Markers from every rank to every other after its cut.
 * mksnap --observe ROOT: observation snapshot 1 in ROOT/observe, a 2-rank
 * deadlock on MPI_COMM_WORLD: rank 0 in MPI_Recv from 1 tag 5, rank 1 in
 * MPI_Recv from 0 tag 5; 0 -> 1 tag 7: 3 sent, 3 received; 1 -> 0 tag 9:
 * 3 sent, 1 received, 2 in flight of which 1 payload recorded.  Cycle
 * [0, 1], two properties (one incomplete). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpisnap.h"
#include "store/store.h"

#define T0 1700000000.0
#define NR 3
#define POINT 42

static const double cut[NR] = {T0 + 2.5, T0 + 2.2, T0 + 2.4};

static int add(struct ms__trace_ev *v, int n, double t, int kind, int peer,
               int tag, uint64_t pos)
{
    v[n] = (struct ms__trace_ev){t, kind, peer, tag, 0, 1, pos};
    return n + 1;
}

static int trace_of(int r, struct ms__trace_ev *v)
{
    int n = 0;

    if (r == 0) {
        n = add(v, n, T0 + 1.0, MS_EV_SEND, 1, 5, 1);
        n = add(v, n, T0 + 2.0, MS_EV_SEND, 1, 5, 2);
    } else if (r == 1) {
        n = add(v, n, T0 + 1.2, MS_EV_SEND, 2, 7, 1);
        n = add(v, n, T0 + 1.5, MS_EV_RECV, 0, 5, 1);
    } else {
        n = add(v, n, T0 + 1.8, MS_EV_RECV, 1, 7, 1);
    }
    n = add(v, n, cut[r], MS_EV_CUT, -1, 0, POINT);
    for (int p = 0; p < NR; p++)
        if (p != r)
            n = add(v, n, cut[r] + 0.05, MS_EV_MARKER_SEND, p, 0, 0);
    for (int p = 0; p < NR; p++)
        if (p != r)
            n = add(v, n, cut[p] + 0.3, MS_EV_MARKER_RECV, p, 0, 0);
    if (r == 1)
        n = add(v, n, T0 + 3.0, MS_EV_RECV, 0, 5, 2);
    if (r == 2)
        n = add(v, n, T0 + 2.6, MS_EV_SEND, 0, 9, 1);
    if (r == 0)
        n = add(v, n, T0 + 3.2, MS_EV_RECV, 2, 9, 1);
    return n;
}

static const char report[] =
    "deadlock: ranks 0 and 1 wait for each other forever\n"
    "  rank 0 in MPI_Recv for 10.5 s: from rank 1, tag 5\n"
    "  rank 1 in MPI_Recv for 9.25 s: from rank 0, tag 5\n";

static int observation(const char *top)
{
    static int32_t world[2] = {0, 1};
    static unsigned char pay[] = "tag 9, position 2";
    struct ms__counter cnt[2][2] = {
        {{1, 1, 7, 0, 3}, {1, 1, 9, 1, 1}},
        {{1, 0, 7, 1, 3}, {1, 0, 9, 0, 3}},
    };
    struct ms__counter inflight = {1, 1, 9, 1, 2}; /* peer: world rank */
    struct ms__need need[2] = {{MS_NEED_RECV, 1, 5, 0, 1, 0},
                               {MS_NEED_RECV, 0, 5, 0, 1, 0}};
    struct ms__msg msg = {1, 1, 9, 2, sizeof pay, pay};
    struct ms__property props[2] = {{"balance", MPISNAP_SUM, 1, 1000.0},
                                    {"pending", MPISNAP_MAX, 0, 2.0}};
    int32_t cycle[2] = {0, 1};
    struct ms__index ix = {0};
    uint64_t sums[2];
    char root[4096];

    snprintf(root, sizeof root, "%s/observe", top);
    if (ms__store_begin(root, 1) < 0)
        return -1;
    for (int r = 0; r < 2; r++) {
        int64_t balance = 500;
        struct ms__region reg = {"balance", &balance, 1, MS_T_INT64, 8};
        struct ms__commrec comm = {1, 0, 0, -1, 2, 2, world, {0}};
        struct ms__rankdata d = {0};
        uint64_t bytes;

        d.rank = r;
        d.nranks = 2;
        d.snap_id = 1;
        d.time = T0 + 11.0 + 0.01 * r;
        d.nregions = 1;
        d.regions = &reg;
        d.nmsgs = r == 0;
        d.msgs = &msg;
        d.ncomms = 1;
        d.comms = &comm;
        d.ncounters = 2;
        d.counters = cnt[r];
        d.observation = 1;
        snprintf(d.obs.call, sizeof d.obs.call, "MPI_Recv");
        d.obs.t_enter = r ? T0 + 1.75 : T0 + 0.5;
        d.obs.waited = r ? 9.25 : 10.5;
        d.obs.nneeds = 1;
        d.obs.needs = &need[r];
        d.obs.ninflight = r == 0;
        d.obs.inflight = &inflight;
        if (ms__store_write_rank(root, &d, &sums[r], &bytes) < 0)
            return -1;
        ix.bytes += bytes;
    }
    ix.snap_id = 1;
    ix.nranks = 2;
    ix.t_start = T0 + 11.0;
    ix.t_end = T0 + 11.25;
    snprintf(ix.app, sizeof ix.app, "mksnap");
    ix.checksums = sums;
    ix.nmsgs = 1;
    ix.observation = 1;
    snprintf(ix.verdict, sizeof ix.verdict, "deadlock");
    ix.report = (char *)report;
    ix.ncycle = 2;
    ix.cycle = cycle;
    ix.nprops = 2;
    ix.props = props;
    if (ms__store_commit(root, &ix, 1) < 0)
        return -1;
    printf("mksnap: wrote %s/snap-000001\n", root);
    return 0;
}

int main(int argc, char **argv)
{
    static int32_t world[NR] = {0, 1, 2};
    static unsigned char pay[64] = "in flight from 0 to 1";
    struct ms__counter cnt[NR][2] = {
        {{1, 1, 5, 0, 2}, {1, 2, 9, 1, 0}},
        {{1, 0, 5, 1, 1}, {1, 2, 7, 0, 1}},
        {{1, 1, 7, 1, 1}, {1, 0, 9, 0, 0}},
    };
    struct ms__msg msg = {1, 0, 5, 2, sizeof pay, pay};
    struct ms__index ix = {0};
    uint64_t sums[NR];
    const char *root = argc > 1 ? argv[1] : "snaps";

    if (argc > 2 && strcmp(argv[1], "--observe") == 0) {
        if (observation(argv[2]) == 0)
            return 0;
        goto fail;
    }
    if (ms__store_begin(root, 1) < 0)
        goto fail;
    for (int r = 0; r < NR; r++) {
        double u[8];
        int64_t step = 100 + r;
        struct ms__region reg[2] = {
            {"u", u, 8, MS_T_DOUBLE, sizeof u},
            {"step", &step, 1, MS_T_INT64, sizeof step},
        };
        struct ms__commrec comm = {1, 0, 0, -1, 3, NR, world, {0}};
        struct ms__trace_ev ev[32];
        struct ms__rankdata d = {0};
        uint64_t bytes;

        for (int i = 0; i < 8; i++)
            u[i] = r + 0.125 * i;
        d.rank = r;
        d.nranks = NR;
        d.snap_id = 1;
        d.point = POINT;
        d.time = cut[r];
        d.nregions = 2;
        d.regions = reg;
        d.nmsgs = r == 1;
        d.msgs = &msg;
        d.ncomms = 1;
        d.comms = &comm;
        d.ncounters = 2;
        d.counters = cnt[r];
        d.ntrace = (size_t)trace_of(r, ev);
        d.trace = ev;
        if (ms__store_write_rank(root, &d, &sums[r], &bytes) < 0)
            goto fail;
        ix.bytes += bytes;
    }
    ix.snap_id = 1;
    ix.nranks = NR;
    ix.point = POINT;
    ix.t_start = T0 + 2.0;
    ix.t_end = T0 + 3.5;
    snprintf(ix.app, sizeof ix.app, "mksnap");
    ix.checksums = sums;
    ix.nmsgs = 1;
    if (ms__store_commit(root, &ix, 1) < 0)
        goto fail;
    printf("mksnap: wrote %s/snap-000001\n", root);
    return 0;
fail:
    fprintf(stderr, "mksnap: %s\n", ms__store_lasterr());
    return 1;
}
