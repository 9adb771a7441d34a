/* cut_patterns: communication patterns around the snapshot cut, one per
 * mode, for the restart tests (tests/restart/CMakeLists.txt).
 *
 *   cut_patterns MODE [--steps N] [--request-at S]
 *
 * Restartable modes (state: the step and a running hash of everything each
 * rank received; rank 0 requests a snapshot at step S; run again after a
 * snapshot and they restore it, print "restored step N", and must end with
 * the uninterrupted run's "checksum X"):
 *
 *   reorder  (2 ranks) rank 0 sends tag A, tag B, tag A before the safe
 *            point (MPI_Ibsend, eager MPI_Isend, MPI_Ibsend, each completed
 *            before the point); rank 1 receives tag B, then ANY_TAG, then
 *            tag A after it: values, sources, tags and counts are checked.
 *   large    (2 ranks) each rank sends 4 MiB to the other with MPI_Ibsend
 *            before the point (buffer attached, MPI_Wait before the point)
 *            and receives after it; every element is checked.
 *   blocked  (4 ranks) while a snapshot is requested (rank 0 and rank 3
 *            request), rank 1 sleeps before it sends, so rank 2 waits in
 *            MPI_Recv, rank 3 in MPI_Wait and rank 0 in MPI_Allreduce.
 *            Two snapshots must commit.
 *
 * Modes that must abort a snapshot and then commit the next (2 ranks; the
 * test checks the library's diagnostic on stderr):
 *
 *   orphan      rank 0: point(); send(step)  rank 1: recv(step); point()
 *   collective  rank 0: point(); Barrier     rank 1: Barrier; point()
 *   preposted   rank 0 posts the next step's MPI_Irecv (from rank 1, tag
 *               42) before the point and waits for it after
 *
 * For --steps steps (default 60) the bad pattern runs and no snapshot may
 * commit; then the aligned pattern runs until one has committed (at most
 * 5000 steps) and 5 steps more.
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

enum { TAG_A = 11, TAG_B = 12, TAG_L = 13, TAG_X = 14, TAG_P = 42 };
enum { LARGE_N = 4 * 1024 * 1024 / 8 }; /* 4 MiB of uint64_t */

struct opts {
    const char *mode;
    long long steps, request_at;
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

static void checked_point(void)
{
    int rc = mpisnap_point();
    ASSERT_CMP_INT(rc, >=, 0);
    ASSERT_NE_INT(rc, MPISNAP_STOP);
}

static int all_min(long long v)
{
    long long m;
    MT_OK(MPI_Allreduce(&v, &m, 1, MPI_LONG_LONG, MPI_MIN, MPI_COMM_WORLD));
    return (int)(m < 0 ? -1 : m);
}

/* ---- reorder ----------------------------------------------------------- */

/* Message k (0, 1, 2) of step s: {s, k, magic}. */
static void reorder_send(int64_t s)
{
    int64_t m[3][3];
    MPI_Request req[3];

    if (mt_rank != 0)
        return;
    for (int k = 0; k < 3; k++) { /* to rank 1 */
        m[k][0] = s;
        m[k][1] = k;
        m[k][2] = (int64_t)(mix64((uint64_t)(s * 3 + k)) >> 1);
    }
    MT_OK(MPI_Ibsend(m[0], 3, MPI_INT64_T, 1, TAG_A, MPI_COMM_WORLD, &req[0]));
    MT_OK(MPI_Isend(m[1], 3, MPI_INT64_T, 1, TAG_B, MPI_COMM_WORLD, &req[1]));
    MT_OK(MPI_Ibsend(m[2], 3, MPI_INT64_T, 1, TAG_A, MPI_COMM_WORLD, &req[2]));
    /* 24-byte messages: eager, so the Isend completes without its
     * receive, and nothing is pending at the next safe point. */
    MT_OK(MPI_Waitall(3, req, MPI_STATUSES_IGNORE));
}

static void reorder_check(const int64_t *m, const MPI_Status *st, int64_t s,
                          int k, int tag)
{
    ASSERT_STATUS(*st, 0, tag);
    ASSERT_COUNT(*st, MPI_INT64_T, 3);
    ASSERT_EQ_INT(m[0], s);
    ASSERT_EQ_INT(m[1], k);
    ASSERT_EQ_INT(m[2], (int64_t)(mix64((uint64_t)(s * 3 + k)) >> 1));
    absorb((uint64_t)m[2] + (uint64_t)k);
}

static void reorder_recv(int64_t s)
{
    int64_t m[3] = {-1, -1, -1};
    MPI_Status st;
    MT_OK(MPI_Recv(m, 3, MPI_INT64_T, 0, TAG_B, MPI_COMM_WORLD, &st));
    reorder_check(m, &st, s, 1, TAG_B);
    /* ANY_TAG: the oldest remaining message from rank 0, the first A */
    MT_OK(MPI_Recv(m, 3, MPI_INT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
    reorder_check(m, &st, s, 0, TAG_A);
    MT_OK(MPI_Recv(m, 3, MPI_INT64_T, MPI_ANY_SOURCE, TAG_A, MPI_COMM_WORLD,
                   &st));
    reorder_check(m, &st, s, 2, TAG_A);
}

static void reorder_step(int64_t s)
{
    if (mt_rank == 1)
        reorder_recv(s);
    /* Keep rank 0 (which only sends) within a step of rank 1, as a real
     * exchange would: otherwise it runs past every agreed safe point. */
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
}

/* ---- large ------------------------------------------------------------- */

static uint64_t *lbuf_out, *lbuf_in;

static uint64_t large_val(int64_t s, int sender, size_t i)
{
    return mix64(((uint64_t)s << 40) ^ ((uint64_t)sender << 32) ^ i);
}

static void large_send(int64_t s)
{
    MPI_Request req;

    if (mt_rank > 1)
        return;
    for (size_t i = 0; i < LARGE_N; i++)
        lbuf_out[i] = large_val(s, mt_rank, i);
    MT_OK(MPI_Ibsend(lbuf_out, LARGE_N, MPI_UINT64_T, 1 - mt_rank, TAG_L,
                     MPI_COMM_WORLD, &req));
    MT_OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
}

static void large_recv(int64_t s)
{
    MPI_Status st;
    int peer = 1 - mt_rank;

    if (mt_rank <= 1) {
        memset(lbuf_in, 0, LARGE_N * sizeof *lbuf_in);
        MT_OK(MPI_Recv(lbuf_in, LARGE_N, MPI_UINT64_T, peer, TAG_L,
                       MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, peer, TAG_L);
        ASSERT_COUNT(st, MPI_UINT64_T, LARGE_N);
        size_t bad = LARGE_N;
        uint64_t h = 0;
        for (size_t i = 0; i < LARGE_N; i++) {
            if (bad == LARGE_N && lbuf_in[i] != large_val(s, peer, i))
                bad = i;
            h += lbuf_in[i];
        }
        if (bad != LARGE_N)
            fprintf(stderr, "step %" PRId64 ": element %zu of %d:\n", s, bad,
                    LARGE_N);
        ASSERT_EQ_INT(bad, LARGE_N);
        absorb(h);
    }
    /* At most one message per direction in flight: the buffer holds it. */
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
}

/* ---- blocked ----------------------------------------------------------- */

static void blocked_step(int64_t s, long long request_at)
{
    int64_t v = -1, r = 0, mine = s * 10 + mt_rank;
    MPI_Request req;
    MPI_Status st;
    /* the request step and the three after it: the snapshot's agreement,
     * markers and window happen while the ranks below are blocked */
    int slow = request_at >= 0 && s >= request_at && s < request_at + 4;

    switch (mt_rank) {
    case 1:
        if (slow)
            mt_sleep_ms(50);
        MT_OK(MPI_Send(&mine, 1, MPI_INT64_T, 2, TAG_X, MPI_COMM_WORLD));
        MT_OK(MPI_Isend(&mine, 1, MPI_INT64_T, 3, TAG_X, MPI_COMM_WORLD, &req));
        MT_OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        break;
    case 2:
        MT_OK(MPI_Recv(&v, 1, MPI_INT64_T, 1, TAG_X, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 1, TAG_X);
        ASSERT_EQ_INT(v, s * 10 + 1);
        absorb((uint64_t)v);
        break;
    case 3:
        MT_OK(MPI_Irecv(&v, 1, MPI_INT64_T, 1, TAG_X, MPI_COMM_WORLD, &req));
        MT_OK(MPI_Wait(&req, &st));
        ASSERT_STATUS(st, 1, TAG_X);
        ASSERT_EQ_INT(v, s * 10 + 1);
        absorb((uint64_t)v);
        break;
    }
    MT_OK(MPI_Allreduce(&mine, &r, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD));
    ASSERT_EQ_INT(r, s * 10 * mt_size + (int64_t)mt_size * (mt_size - 1) / 2);
    absorb((uint64_t)r);
}

/* ---- the restartable modes -------------------------------------------- */

static int run_restartable(const struct opts *o)
{
    int large = !strcmp(o->mode, "large"),
        reorder = !strcmp(o->mode, "reorder");
    int64_t params[2] = {o->steps, 0};
    void *bbuf = NULL;
    int restored, rc;

    if (large) {
        lbuf_out = malloc(LARGE_N * sizeof *lbuf_out);
        lbuf_in = malloc(LARGE_N * sizeof *lbuf_in);
        ASSERT_TRUE(lbuf_out && lbuf_in);
        if (!lbuf_out || !lbuf_in)
            MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (large || reorder) {
        int sz;
        MPI_Pack_size(large ? LARGE_N : 9, large ? MPI_UINT64_T : MPI_INT64_T,
                      MPI_COMM_WORLD, &sz);
        size_t size = 2 * ((size_t)sz + MPI_BSEND_OVERHEAD);
        bbuf = malloc(size);
        MT_OK(MPI_Buffer_attach(bbuf, (int)size));
    }

    rc = mpisnap_protect("step", &step, 1, MPI_INT64_T);
    ASSERT_EQ_INT(rc, 0);
    rc = mpisnap_protect("acc", &acc, 1, MPI_UINT64_T);
    ASSERT_EQ_INT(rc, 0);
    rc = mpisnap_protect("params", params, 2, MPI_INT64_T);
    ASSERT_EQ_INT(rc, 0);
    restored = mpisnap_restore();
    if (restored < 0) {
        fprintf(stderr, "mpisnap_restore: %s\n", mpisnap_strerror(restored));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    ASSERT_EQ_INT(all_min(restored), restored);
    ASSERT_EQ_INT(params[0], o->steps);
    int64_t start = step;
    if (restored && mt_rank == 0)
        printf("restored step %" PRId64 "\n", step);

    /* The first step's messages; after a restore they are in flight, in
     * the snapshot's channel state. */
    if (!restored && step < o->steps) {
        if (reorder)
            reorder_send(step);
        if (large)
            large_send(step);
    }
    long long committed = mpisnap_last_committed();
    for (;;) {
        checked_point();
        long long last = mpisnap_last_committed();
        if (mt_rank == 0 && last != committed)
            printf("snapshot %lld committed\n", last);
        committed = last;
        if (step >= o->steps)
            break;
        int req_step = o->request_at >= 0 &&
                       (step == o->request_at || (!strcmp(o->mode, "blocked") &&
                                                  step == o->request_at + 10));
        if (req_step && !(restored && step == start) &&
            (mt_rank == 0 || (mt_rank == 3 && !strcmp(o->mode, "blocked"))))
            ASSERT_EQ_INT(mpisnap_request(), 0);
        if (reorder)
            reorder_step(step);
        else if (large)
            large_recv(step);
        else
            blocked_step(step, o->request_at);
        step++;
        if (step < o->steps) {
            if (reorder)
                reorder_send(step);
            if (large)
                large_send(step);
        }
    }
    if (!restored && o->request_at >= 0) {
        /* blocked: both requested snapshots; the others: the one */
        ASSERT_CMP_INT(all_min(mpisnap_last_committed()), >=,
                       !strcmp(o->mode, "blocked") ? 1 : 0);
    }

    uint64_t sum = 0;
    MT_OK(MPI_Reduce(&acc, &sum, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD));
    if (mt_rank == 0)
        printf("checksum %016" PRIx64 "\n", sum);
    if (bbuf) {
        void *addr;
        int size;
        MPI_Buffer_detach(&addr, &size);
        free(bbuf);
    }
    free(lbuf_out);
    free(lbuf_in);
    return mt_finish(MT_ALL);
}

/* ---- the modes that abort first ---------------------------------------- */

/* One step of the bad pattern of `mode`; `last` is its last step (the
 * pre-posted receive is not posted again). */
static void bad_step(const char *mode, int64_t s, int last, MPI_Request *pre,
                     int64_t *prebuf)
{
    int64_t v = -1;
    MPI_Status st;

    if (!strcmp(mode, "orphan")) {
        if (mt_rank == 0) {
            checked_point();
            MT_OK(MPI_Send(&s, 1, MPI_INT64_T, 1, TAG_X, MPI_COMM_WORLD));
        } else if (mt_rank == 1) {
            MT_OK(MPI_Recv(&v, 1, MPI_INT64_T, 0, TAG_X, MPI_COMM_WORLD, &st));
            ASSERT_EQ_INT(v, s);
            checked_point();
        } else {
            checked_point();
        }
    } else if (!strcmp(mode, "collective")) {
        if (mt_rank == 0) {
            checked_point();
            MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        } else {
            MT_OK(MPI_Barrier(MPI_COMM_WORLD));
            checked_point();
        }
    } else { /* preposted: rank 0 receives from rank 1 */
        checked_point();
        if (mt_rank == 1)
            MT_OK(MPI_Send(&s, 1, MPI_INT64_T, 0, TAG_P, MPI_COMM_WORLD));
        if (mt_rank == 0) {
            MT_OK(MPI_Wait(pre, &st));
            ASSERT_STATUS(st, 1, TAG_P);
            ASSERT_EQ_INT(*prebuf, s);
            v = *prebuf;
            if (!last)
                MT_OK(MPI_Irecv(prebuf, 1, MPI_INT64_T, 1, TAG_P,
                                MPI_COMM_WORLD, pre));
        }
    }
    absorb((uint64_t)v);
}

/* The aligned pattern: every rank's point first. */
static void good_step(int64_t s)
{
    int64_t v = -1;

    checked_point();
    if (mt_rank == 0)
        MT_OK(MPI_Send(&s, 1, MPI_INT64_T, 1, TAG_X, MPI_COMM_WORLD));
    if (mt_rank == 1) {
        MT_OK(MPI_Recv(&v, 1, MPI_INT64_T, 0, TAG_X, MPI_COMM_WORLD,
                       MPI_STATUS_IGNORE));
        ASSERT_EQ_INT(v, s);
    }
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
}

static int run_abort_then_commit(const struct opts *o)
{
    MPI_Request pre = MPI_REQUEST_NULL;
    int64_t prebuf = -1, s = 0;
    int rc;

    rc = mpisnap_protect("step", &step, 1, MPI_INT64_T);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_EQ_INT(mpisnap_restore(), 0);

    if (!strcmp(o->mode, "preposted") && mt_rank == 0)
        MT_OK(
            MPI_Irecv(&prebuf, 1, MPI_INT64_T, 1, TAG_P, MPI_COMM_WORLD, &pre));
    for (; s < o->steps; s++) {
        if (s == o->request_at && mt_rank == 0)
            ASSERT_EQ_INT(mpisnap_request(), 0);
        bad_step(o->mode, s, s == o->steps - 1, &pre, &prebuf);
        step = s;
        /* a little time for the attempts to run their course here */
        mt_sleep_ms(1);
    }
    ASSERT_TRUE(pre == MPI_REQUEST_NULL);
    /* No snapshot of the bad pattern can be consistent. */
    ASSERT_EQ_INT(mpisnap_last_committed(), -1);
    if (mt_rank == 0)
        printf("%s: no snapshot committed in %lld steps\n", o->mode, o->steps);

    /* The request still stands (rank 0 retries it); ask again anyway. */
    if (mt_rank == 0)
        ASSERT_EQ_INT(mpisnap_request(), 0);
    int64_t extra = -1, n = 0;
    for (; n < 5000 && (extra < 0 || n < extra); n++, s++) {
        good_step(s);
        if (extra < 0 && all_min(mpisnap_last_committed()) >= 0)
            extra = n + 5;
    }
    ASSERT_CMP_INT(extra, >=, 0);
    ASSERT_CMP_INT(all_min(mpisnap_last_committed()), >=, 0);
    if (mt_rank == 0)
        printf(
            "%s: snapshot %lld committed in the aligned pattern after %" PRId64
            " steps\n",
            o->mode, mpisnap_last_committed(), extra - 5);
    return mt_finish(MT_ALL);
}

int main(int argc, char **argv)
{
    struct opts o = {NULL, 60, -1};
    static const struct {
        const char *name;
        int np;
    } modes[] = {{"reorder", 2}, {"large", 2},      {"blocked", 4},
                 {"orphan", 2},  {"collective", 2}, {"preposted", 2}};
    int np = 0;

    if (argc >= 2)
        o.mode = argv[1];
    for (size_t i = 0; o.mode && i < sizeof modes / sizeof *modes; i++)
        if (!strcmp(o.mode, modes[i].name))
            np = modes[i].np;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps"))
            o.steps = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--request-at"))
            o.request_at = atoll(argv[i + 1]);
        else
            np = 0;
    }
    if (argc % 2 != 0)
        np = 0;
    mt_init(&argc, &argv, np ? np : 1);
    if (!np || o.steps < 1) {
        if (mt_rank == 0)
            fprintf(stderr, "usage: cut_patterns "
                            "reorder|large|blocked|orphan|collective|preposted"
                            " [--steps N] [--request-at S]\n");
        MPI_Finalize();
        return 2;
    }
    if (mt_rank == 0) /* a SIGKILLed job still shows what it had printed */
        setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(o.mode, "reorder") || !strcmp(o.mode, "large") ||
        !strcmp(o.mode, "blocked"))
        return run_restartable(&o);
    return run_abort_then_commit(&o);
}
