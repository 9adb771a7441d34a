/* comm_identity: communicators whose ids must differ, or must be refused
 * when a restarted run re-creates them differently (restart tests,
 * tests/restart/CMakeLists.txt).
 *
 *   comm_identity MODE [--steps N] [--request-at S] [--late 1]
 *
 * State: the step and a running hash of everything each rank received;
 * rank 0 requests a snapshot at step S.  Every step, each rank sends one
 * message to its partner on every communicator of the mode before its
 * safe point and receives the partner's after it, so messages are in
 * flight at the cut; values, sources and tags are checked.  Run again after
 * a snapshot and it restores it, prints "restored step N" and must end with
 * the uninterrupted run's "checksum X".
 *
 *   groups  (4 ranks) communicators with distinct groups but the same
 *           parent, creation call and colour: MPI_Comm_create with the
 *           disjoint groups {0,1} and {2,3}, and the rows and columns of a
 *           2x2 MPI_Cart_create (MPI_Cart_sub).  Members of one group run
 *           one Allreduce a step on it, members of the other two, so their
 *           collective counts differ at any cut.
 *   order   (2 ranks) two duplicates of MPI_COMM_WORLD, named "A" and "B"
 *           (MPI_Comm_set_name), created A first; with COMM_IDENTITY_SWAP=1
 *           in the environment B is created first (each from its own call
 *           site).  A restart that swapped them must be refused.  With
 *           --late 1 they are created after mpisnap_restore() (the
 *           restored messages and counts wait for them).
 *
 *
 * Every rank agrees on the result (tests/common/mpitest.h): "PASS" or
 * "FAIL" on rank 0, exit 0 or 1. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>
#include <mpisnap.h>

#include "mpitest.h"

enum { TAG = 7, MAXC = 3 };

static int64_t step;
static uint64_t acc;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void absorb(uint64_t v)
{
    acc = mix64(acc + v);
}

/* The communicators of the mode, and this rank's partner in each. */
static MPI_Comm comms[MAXC];
static int partner[MAXC], ncomms;
static int64_t sendbuf[MAXC][2];

/* What world rank `from` sends at step s on communicator k. */
static int64_t value(int64_t s, int k, int from)
{
    return (int64_t)(mix64((uint64_t)(s * 16 + k * 4 + from)) >> 1);
}

static void send_step(int64_t s)
{
    MPI_Request req[MAXC];

    for (int k = 0; k < ncomms; k++) {
        sendbuf[k][0] = s;
        sendbuf[k][1] = value(s, k, mt_rank);
        /* 16 bytes: eager, complete before the safe point */
        MT_OK(MPI_Isend(sendbuf[k], 2, MPI_INT64_T, partner[k], TAG, comms[k],
                        &req[k]));
    }
    MT_OK(MPI_Waitall(ncomms, req, MPI_STATUSES_IGNORE));
}

static void recv_step(int64_t s, int groups)
{
    for (int k = 0; k < ncomms; k++) {
        int64_t m[2] = {-1, -1}, r = 0, mine = s + mt_rank;
        int wpartner = -1;
        MPI_Status st;
        MPI_Group g, wg;

        MT_OK(MPI_Recv(m, 2, MPI_INT64_T, MPI_ANY_SOURCE, TAG, comms[k], &st));
        ASSERT_STATUS(st, partner[k], TAG);
        MPI_Comm_group(comms[k], &g);
        MPI_Comm_group(MPI_COMM_WORLD, &wg);
        MPI_Group_translate_ranks(g, 1, &partner[k], wg, &wpartner);
        MPI_Group_free(&g);
        MPI_Group_free(&wg);
        ASSERT_EQ_INT(m[0], s);
        ASSERT_EQ_INT(m[1], value(s, k, wpartner));
        absorb((uint64_t)m[1] + (uint64_t)k);
        if (!groups)
            continue;
        /* the group holding world rank 0 runs one collective a step, the
         * other two */
        int in0 = mt_rank == 0 || wpartner == 0;
        for (int n = 0; n < (in0 ? 1 : 2); n++) {
            MT_OK(MPI_Allreduce(&mine, &r, 1, MPI_INT64_T, MPI_SUM, comms[k]));
            ASSERT_EQ_INT(r, 2 * s + mt_rank + wpartner);
            absorb((uint64_t)r);
        }
    }
}

static void make_groups(void)
{
    MPI_Group wg, half;
    MPI_Comm cart;
    int mine[2] = {mt_rank & ~1, (mt_rank & ~1) + 1};
    int dims[2] = {2, 2}, periods[2] = {0, 0}, rows[2] = {0, 1},
        cols[2] = {1, 0}, size;

    MPI_Comm_group(MPI_COMM_WORLD, &wg);
    MPI_Group_incl(wg, 2, mine, &half);
    MT_OK(MPI_Comm_create(MPI_COMM_WORLD, half, &comms[0]));
    MPI_Group_free(&half);
    MPI_Group_free(&wg);
    MT_OK(MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart));
    MT_OK(MPI_Cart_sub(cart, cols, &comms[1])); /* {0,2} {1,3} */
    MT_OK(MPI_Cart_sub(cart, rows, &comms[2])); /* {0,1} {2,3} */
    MT_OK(MPI_Comm_free(&cart));
    ncomms = 3;
    for (int k = 0; k < ncomms; k++) {
        int r;
        MPI_Comm_size(comms[k], &size);
        ASSERT_EQ_INT(size, 2);
        MPI_Comm_rank(comms[k], &r);
        partner[k] = 1 - r;
    }
}

/* One call site each, whatever the order: a restart must tell which
 * creation made which. */
__attribute__((noinline)) static void dup_a(void)
{
    MT_OK(MPI_Comm_dup(MPI_COMM_WORLD, &comms[0]));
}

__attribute__((noinline)) static void dup_b(void)
{
    MT_OK(MPI_Comm_dup(MPI_COMM_WORLD, &comms[1]));
}

static void make_order(void)
{
    const char *swap = getenv("COMM_IDENTITY_SWAP");

    if (swap && !strcmp(swap, "1")) {
        dup_b();
        dup_a();
    } else {
        dup_a();
        dup_b();
    }
    MT_OK(MPI_Comm_set_name(comms[0], "A"));
    MT_OK(MPI_Comm_set_name(comms[1], "B"));
    ncomms = 2;
    partner[0] = partner[1] = 1 - mt_rank;
}

int main(int argc, char **argv)
{
    const char *mode = argc >= 2 ? argv[1] : "";
    long long steps = 40, request_at = -1, late = 0;
    int groups = !strcmp(mode, "groups"), np = groups ? 4 : 2, restored, rc;

    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps"))
            steps = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--request-at"))
            request_at = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--late"))
            late = atoll(argv[i + 1]);
        else
            mode = "";
    }
    mt_init(&argc, &argv, np);
    if ((!groups && strcmp(mode, "order")) || mt_size != np) {
        if (mt_rank == 0)
            fprintf(stderr, "usage: comm_identity groups|order [--steps N] "
                            "[--request-at S] [--late 1] (4 or 2 ranks)\n");
        MPI_Finalize();
        return 2;
    }
    if (mt_rank == 0) /* a SIGKILLed job still shows what it had printed */
        setvbuf(stdout, NULL, _IOLBF, 0);
    if (groups)
        make_groups();
    else if (!late)
        make_order();

    rc = mpisnap_protect("step", &step, 1, MPI_INT64_T);
    ASSERT_EQ_INT(rc, 0);
    rc = mpisnap_protect("acc", &acc, 1, MPI_UINT64_T);
    ASSERT_EQ_INT(rc, 0);
    restored = mpisnap_restore();
    if (restored < 0) {
        fprintf(stderr, "mpisnap_restore: %s\n", mpisnap_strerror(restored));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    int64_t start = step;
    if (restored && mt_rank == 0)
        printf("restored step %" PRId64 "\n", step);
    if (late)
        make_order();
    /* After a restore the first step's messages are in the snapshot. */
    if (!restored)
        send_step(step);
    long long committed = mpisnap_last_committed();
    for (;;) {
        rc = mpisnap_point();
        ASSERT_CMP_INT(rc, >=, 0);
        long long last = mpisnap_last_committed();
        if (mt_rank == 0 && last != committed)
            printf("snapshot %lld committed\n", last);
        committed = last;
        if (step >= steps)
            break;
        if (step == request_at && !(restored && step == start) && mt_rank == 0)
            ASSERT_EQ_INT(mpisnap_request(), 0);
        recv_step(step, groups);
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        step++;
        if (step < steps)
            send_step(step);
    }
    if (!restored && request_at >= 0) {
        long long last = mpisnap_last_committed(), m;
        MPI_Allreduce(&last, &m, 1, MPI_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
        ASSERT_CMP_INT(m, >=, 0);
    }
    uint64_t sum = 0;
    MT_OK(MPI_Reduce(&acc, &sum, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD));
    if (mt_rank == 0)
        printf("checksum %016" PRIx64 "\n", sum);
    for (int k = 0; k < ncomms; k++)
        MT_OK(MPI_Comm_free(&comms[k]));
    return mt_finish(MT_ALL);
}
