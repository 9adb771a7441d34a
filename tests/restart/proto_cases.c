/* proto_cases: the checkpoint protocol's state machine, one case per mode,
 * for the restart tests (tests/restart/CMakeLists.txt).
 *
 *   proto_cases MODE [--steps N] [--at S] [--rank R] [--bad B]
 *
 *   late_request  (2+ ranks) rank R asks for a snapshot at step S, and again
 *                 right after its mpisnap_point() returned 1 (after its cut
 *                 of that snapshot): a second snapshot must commit, since
 *                 the second request comes after the first one's cut.  Runs
 *                 until every rank has seen snapshot 1 commit (a fresh
 *                 directory: ids 0 and 1), at most N steps.
 *   stop_late     (2 ranks) for B steps rank 0 passes the safe point before
 *                 it sends, rank 1 receives before its safe point (so a stop
 *                 snapshot cannot stop both there); then both exchange
 *                 before the point, until step N.  Rank 1 raises SIGUSR1 (a
 *                 stop) at step S.  The stop must happen at a later snapshot
 *                 that commits: every rank prints "stopped at step X" with
 *                 the same X, and no checksum.  Run again after the stop and
 *                 it restores ("restored step X") and ends with the
 *                 uninterrupted run's "checksum C".
 *   margin        (2 ranks) for B steps rank 0 runs ahead of rank 1 (they
 *                 meet every 50 steps), so the safe points rank 0 asks for
 *                 at step 1 are missed until the margin has grown; then
 *                 both step alike and rank 0 asks for a snapshot every 20
 *                 steps until step N.  The log shows the margin going up
 *                 and, after commits, back down.
 *
 * Every rank agrees on the result (tests/common/mpitest.h): "PASS" or
 * "FAIL" on rank 0, exit 0 or 1. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>
#include <mpisnap.h>

#include "mpitest.h"

enum { TAG_S = 21 };

struct opts {
    const char *mode;
    long long steps, at, rank, bad;
};

/* Protected: the step about to run and the hash of what was received. */
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

static long long all_min(long long v)
{
    long long m;
    MT_OK(MPI_Allreduce(&v, &m, 1, MPI_LONG_LONG, MPI_MIN, MPI_COMM_WORLD));
    return m;
}

static long long all_max(long long v)
{
    long long m;
    MT_OK(MPI_Allreduce(&v, &m, 1, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD));
    return m;
}

/* ---- late_request ------------------------------------------------------ */

static void late_request(const struct opts *o)
{
    int again = 0;

    for (step = 0; step < o->steps; step++) {
        /* An aligned step: a collective, then the safe point. */
        long long sum = all_max(step * 1000 + mt_rank);
        absorb((uint64_t)sum);
        if (all_min(mpisnap_last_committed()) >= 1)
            break;
        if (mt_rank == o->rank && step == o->at)
            MT_OK(mpisnap_request());
        int rc = mpisnap_point();
        ASSERT_CMP_INT(rc, >=, 0);
        ASSERT_NE_INT(rc, MPISNAP_STOP);
        if (rc == 1 && mt_rank == o->rank && !again) {
            /* After this rank's cut: the snapshot just recorded cannot
             * answer it. */
            again = 1;
            MT_OK(mpisnap_request());
            printf("rank %d: asked again after recording at step %" PRId64 "\n",
                   mt_rank, step);
        }
        mt_sleep_ms(1);
    }
    if (mt_rank == 0)
        printf("late_request: last committed %lld after %" PRId64 " steps\n",
               mpisnap_last_committed(), step);
    ASSERT_CMP_INT(mpisnap_last_committed(), >=, 1);
}

/* ---- stop_late --------------------------------------------------------- */

/* Returns 1 when the job stops. */
static int stop_point(void)
{
    int rc = mpisnap_point();
    ASSERT_CMP_INT(rc, >=, 0);
    if (rc != MPISNAP_STOP)
        return 0;
    long long lo = all_min(step), hi = all_max(step);
    ASSERT_EQ_INT(lo, hi);
    printf("stopped at step %" PRId64 "\n", step);
    return 1;
}

static void stop_late(const struct opts *o)
{
    while (step < o->steps) {
        int64_t v = -1, mine = step * 10 + mt_rank;
        int peer = 1 - mt_rank;
        if (mt_rank == 1 && step == o->at)
            raise(SIGUSR1); /* MPISNAP_ON_SIGNAL=stop (the default) */
        if (step < o->bad) {
            /* rank 0: point, then send; rank 1: receive, then point.  The
             * point comes first in rank 0's step, last in rank 1's. */
            if (mt_rank == 0) {
                if (stop_point())
                    return;
                MT_OK(
                    MPI_Send(&mine, 1, MPI_INT64_T, 1, TAG_S, MPI_COMM_WORLD));
                step++;
            } else {
                MT_OK(MPI_Recv(&v, 1, MPI_INT64_T, 0, TAG_S, MPI_COMM_WORLD,
                               MPI_STATUS_IGNORE));
                ASSERT_EQ_INT(v, step * 10);
                absorb((uint64_t)v);
                step++;
                if (stop_point())
                    return;
            }
            mt_sleep_ms(10);
            continue;
        }
        /* Aligned: exchange, then the point (the state after the step). */
        MT_OK(MPI_Sendrecv(&mine, 1, MPI_INT64_T, peer, TAG_S, &v, 1,
                           MPI_INT64_T, peer, TAG_S, MPI_COMM_WORLD,
                           MPI_STATUS_IGNORE));
        ASSERT_EQ_INT(v, step * 10 + peer);
        absorb((uint64_t)v);
        step++;
        if (stop_point())
            return;
        mt_sleep_ms(2);
    }
    uint64_t sums[2] = {0, 0};
    MT_OK(MPI_Gather(&acc, 1, MPI_UINT64_T, sums, 1, MPI_UINT64_T, 0,
                     MPI_COMM_WORLD));
    if (mt_rank == 0)
        printf("checksum %016" PRIx64 "\n", mix64(sums[0] ^ mix64(sums[1])));
}

/* ---- margin ------------------------------------------------------------ */

static void margin(const struct opts *o)
{
    for (step = 0; step < o->steps; step++) {
        if (step < o->bad) {
            /* Rank 0 runs up to 50 steps ahead. */
            if (step % 50 == 0)
                MT_OK(MPI_Barrier(MPI_COMM_WORLD));
            if (mt_rank == 0 && step == 1)
                MT_OK(mpisnap_request());
            if (mt_rank == 1)
                mt_sleep_ms(2);
        } else {
            absorb((uint64_t)all_max(step + mt_rank));
            if (mt_rank == 0 && step % 20 == 0)
                MT_OK(mpisnap_request());
            mt_sleep_ms(1);
        }
        int rc = mpisnap_point();
        ASSERT_CMP_INT(rc, >=, 0);
        ASSERT_NE_INT(rc, MPISNAP_STOP);
    }
    if (mt_rank == 0)
        printf("margin: last committed %lld\n", mpisnap_last_committed());
}

int main(int argc, char **argv)
{
    struct opts o = {NULL, 3000, -1, 1, 0}; /* --at: none */
    int restored = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &mt_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mt_size);
    if (argc < 2) {
        if (mt_rank == 0)
            fprintf(stderr, "usage: proto_cases MODE [--steps N] [--at S] "
                            "[--rank R] [--bad B]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    o.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        long long v = atoll(argv[i + 1]);
        if (!strcmp(argv[i], "--steps"))
            o.steps = v;
        else if (!strcmp(argv[i], "--at"))
            o.at = v;
        else if (!strcmp(argv[i], "--rank"))
            o.rank = v;
        else if (!strcmp(argv[i], "--bad"))
            o.bad = v;
        else if (strcmp(argv[i], "--snapshot-args") != 0) {
            if (mt_rank == 0)
                fprintf(stderr, "proto_cases: unknown option %s\n", argv[i]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        if (!strcmp(argv[i], "--snapshot-args"))
            i--; /* kill-restart.sh's separator: no value */
    }
    MT_OK(mpisnap_protect("step", &step, 1, MPI_INT64_T));
    MT_OK(mpisnap_protect("acc", &acc, 1, MPI_UINT64_T));
    int rc = mpisnap_restore();
    ASSERT_CMP_INT(rc, >=, 0);
    restored = rc == 1;
    if (restored && mt_rank == 0)
        printf("restored step %" PRId64 "\n", step);

    if (!strcmp(o.mode, "late_request"))
        late_request(&o);
    else if (!strcmp(o.mode, "stop_late"))
        stop_late(&o);
    else if (!strcmp(o.mode, "margin"))
        margin(&o);
    else {
        if (mt_rank == 0)
            fprintf(stderr, "proto_cases: unknown mode %s\n", o.mode);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return mt_finish(0);
}
