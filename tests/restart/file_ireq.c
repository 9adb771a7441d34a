/* file_ireq: a nonblocking MPI-IO read into a protected region, pending at
 * safe points (restart tests, tests/restart/CMakeLists.txt).
 *
 *   file_ireq --file PATH --call CALL [--steps N] [--request-at S]
 *             [--pending-until P]
 *
 * Every run first writes PATH (the same content each time, collectively on
 * MPI_COMM_WORLD, 2 ranks).  Each step reads 64 int64 of it into the
 * protected region `buf` with CALL (iread_at, iread after MPI_File_seek,
 * or iread_at_all) and absorbs them into a running hash.  Before step P
 * (--pending-until, default 40) the read is posted before the safe point
 * and waited for after it, so it is pending at every point: a snapshot
 * requested at step S (by rank 0) must abort, naming the call, and the one
 * retried after step P must commit.  From step P on the read completes
 * before the point.  Run again after a snapshot: it restores it, prints
 * "restored step N", and must end with the uninterrupted run's
 * "checksum X".  "PASS" or "FAIL" on rank 0, exit 0 or 1. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>
#include <mpisnap.h>

#include "mpitest.h"

enum { N = 64, BLOCKS = 100 };

static int64_t step;
static uint64_t acc;
static int64_t buf[N];

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t file_value(int64_t i)
{
    return (int64_t)(mix64((uint64_t)i + 77) >> 1);
}

/* The block this rank reads at step s. */
static int64_t block(int64_t s)
{
    return (s * 2 + mt_rank) % BLOCKS;
}

static void write_file(MPI_File fh)
{
    if (mt_rank == 0) {
        int64_t *all = malloc(sizeof(int64_t) * N * BLOCKS);
        ASSERT_TRUE(all != NULL);
        if (!all)
            MPI_Abort(MPI_COMM_WORLD, 1);
        for (int64_t i = 0; i < N * BLOCKS; i++)
            all[i] = file_value(i);
        MT_OK(MPI_File_write_at(fh, 0, all, N * BLOCKS, MPI_INT64_T,
                                MPI_STATUS_IGNORE));
        free(all);
    }
    /* sync-barrier-sync: the other rank sees the data */
    MT_OK(MPI_File_sync(fh));
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    MT_OK(MPI_File_sync(fh));
}

static void post_read(MPI_File fh, const char *call, int64_t s,
                      MPI_Request *req)
{
    MPI_Offset off = (MPI_Offset)(block(s) * N * (int64_t)sizeof(int64_t));

    memset(buf, 0xff, sizeof buf);
    if (!strcmp(call, "iread_at")) {
        MT_OK(MPI_File_iread_at(fh, off, buf, N, MPI_INT64_T, req));
    } else if (!strcmp(call, "iread")) {
        MT_OK(MPI_File_seek(fh, off, MPI_SEEK_SET));
        MT_OK(MPI_File_iread(fh, buf, N, MPI_INT64_T, req));
    } else {
        MT_OK(MPI_File_iread_at_all(fh, off, buf, N, MPI_INT64_T, req));
    }
}

static void finish_read(int64_t s, MPI_Request *req)
{
    MPI_Status st;
    int n = -1;

    MT_OK(MPI_Wait(req, &st));
    MPI_Get_count(&st, MPI_INT64_T, &n);
    ASSERT_EQ_INT(n, N);
    for (int i = 0; i < N; i++) {
        ASSERT_EQ_INT(buf[i], file_value(block(s) * N + i));
        acc = mix64(acc + (uint64_t)buf[i]);
    }
}

int main(int argc, char **argv)
{
    const char *path = NULL, *call = "";
    long long steps = 80, request_at = -1, pending_until = 40;
    MPI_Request req = MPI_REQUEST_NULL;
    MPI_File fh;
    int restored, rc, bad = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--file"))
            path = argv[i + 1];
        else if (!strcmp(argv[i], "--call"))
            call = argv[i + 1];
        else if (!strcmp(argv[i], "--steps"))
            steps = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--request-at"))
            request_at = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--pending-until"))
            pending_until = atoll(argv[i + 1]);
        else
            bad = 1;
    }
    if (strcmp(call, "iread_at") && strcmp(call, "iread") &&
        strcmp(call, "iread_at_all"))
        bad = 1;
    mt_init(&argc, &argv, 2);
    if (bad || !path || argc % 2 != 1 || mt_size != 2) {
        if (mt_rank == 0)
            fprintf(stderr, "usage: file_ireq --file PATH --call "
                            "iread_at|iread|iread_at_all [--steps N] "
                            "[--request-at S] [--pending-until P] "
                            "(2 ranks)\n");
        MPI_Finalize();
        return 2;
    }
    if (mt_rank == 0)
        setvbuf(stdout, NULL, _IOLBF, 0);
    MT_OK(MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR,
                        MPI_INFO_NULL, &fh));
    write_file(fh);

    rc = mpisnap_protect("step", &step, 1, MPI_INT64_T);
    ASSERT_EQ_INT(rc, 0);
    rc = mpisnap_protect("acc", &acc, 1, MPI_UINT64_T);
    ASSERT_EQ_INT(rc, 0);
    rc = mpisnap_protect("buf", buf, N, MPI_INT64_T);
    ASSERT_EQ_INT(rc, 0);
    restored = mpisnap_restore();
    if (restored < 0) {
        fprintf(stderr, "mpisnap_restore: %s\n", mpisnap_strerror(restored));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (restored && mt_rank == 0)
        printf("restored step %" PRId64 "\n", step);
    int64_t start = step;
    /* A restore happens only at a point where nothing was pending. */
    if (!restored && step < pending_until)
        post_read(fh, call, step, &req);
    long long committed = mpisnap_last_committed();
    for (;;) {
        rc = mpisnap_point();
        ASSERT_CMP_INT(rc, >=, 0);
        long long last = mpisnap_last_committed();
        if (mt_rank == 0 && last != committed)
            printf("snapshot %lld committed at step %" PRId64 "\n", last, step);
        if (last != committed && step < pending_until) {
            ASSERT_TRUE(!"a snapshot committed with a read pending");
        }
        committed = last;
        if (step >= steps)
            break;
        if (step == request_at && !(restored && step == start) && mt_rank == 0)
            ASSERT_EQ_INT(mpisnap_request(), 0);
        if (step >= pending_until) /* read and wait before the next point */
            post_read(fh, call, step, &req);
        finish_read(step, &req);
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        mt_sleep_ms(1);
        step++;
        if (step < pending_until && step < steps)
            post_read(fh, call, step, &req);
    }
    if (!restored && request_at >= 0) {
        long long m;
        MPI_Allreduce(&committed, &m, 1, MPI_LONG_LONG, MPI_MIN,
                      MPI_COMM_WORLD);
        ASSERT_CMP_INT(m, >=, 0);
    }
    MT_OK(MPI_File_close(&fh));
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    if (mt_rank == 0)
        unlink(path);
    uint64_t sum = 0;
    MT_OK(MPI_Reduce(&acc, &sum, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD));
    if (mt_rank == 0)
        printf("checksum %016" PRIx64 "\n", sum);
    return mt_finish(MT_ALL);
}
