/* Frame of the MPI semantics tests (tests/mpi).
 *
 * A failed assertion prints file:line, both values and the rank, and is
 * recorded; the test goes on.  mt_finish() checks that the per-stream
 * counters balance and/or no request is left pending, agrees on the result
 * with an allreduce, finalizes, and returns the exit code every rank uses:
 * 0 pass, 1 fail.
 *
 * With MPISNAP_TEST_LIBMATCH=1 in the environment, mt_init() checks that the
 * library matches receives itself, so that the second run of each test
 * really exercises library matching. */
#ifndef MPISNAP_MPITEST_H
#define MPISNAP_MPITEST_H

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int mt_failures;
static int mt_rank = -1, mt_size;

static inline void mt_failed(void)
{
    fprintf(stderr, "    (on rank %d of %d)\n", mt_rank, mt_size);
    fflush(stderr);
    mt_failures++;
}

#define ASSERT_ON_FAILURE() mt_failed()
#include "assert.h"

#include "mpisnap_testing.h"

/* An MPI call that must succeed. */
#define MT_OK(call) ASSERT_EQ_INT((call), MPI_SUCCESS)

/* The first `n` elements of `arr` equal `expr`, an expression in the index
 * `i` (a name the caller picks): reports the first mismatch only. */
#define ASSERT_SEQ(arr, n, i, expr)                                            \
    do {                                                                       \
        for (int i = 0; i < (int)(n); i++)                                     \
            if ((arr)[i] != (expr)) {                                          \
                fprintf(stderr, "%s:%d: element %d of %s:\n", __FILE__,        \
                        __LINE__, i, #arr);                                    \
                ASSERT_EQ_DBL((double)(arr)[i], (double)(expr));               \
                break;                                                         \
            }                                                                  \
    } while (0)

/* status fields of a received message. */
#define ASSERT_STATUS(st, src, tg)                                             \
    do {                                                                       \
        ASSERT_EQ_INT((st).MPI_SOURCE, (src));                                 \
        ASSERT_EQ_INT((st).MPI_TAG, (tg));                                     \
    } while (0)

#define ASSERT_COUNT(st, dt, n)                                                \
    do {                                                                       \
        int count_ = -2, want_ = (n);                                          \
        MT_OK(MPI_Get_count(&(st), (dt), &count_));                            \
        if (count_ != want_)                                                   \
            ASSERT_FAIL_("MPI_Get_count(%s, %s) == %s (%d != %d)", #st, #dt,   \
                         #n, count_, want_);                                   \
    } while (0)

/* The empty status of MPI 3.1 section 3.7.3: what a completion on a null or
 * inactive request reports. */
#define ASSERT_EMPTY_STATUS(st)                                                \
    do {                                                                       \
        ASSERT_EQ_INT((st).MPI_SOURCE, MPI_ANY_SOURCE);                        \
        ASSERT_EQ_INT((st).MPI_TAG, MPI_ANY_TAG);                              \
        ASSERT_COUNT((st), MPI_BYTE, 0);                                       \
    } while (0)

static inline void mt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Call first in main, before MPI_Init: runs the program again (exec, same
 * process) with glibc filling freed memory with 0xa5 and its per-thread
 * cache off, so that a use of freed memory (say, of a freed communicator's
 * or datatype's state) fails at once instead of reading stale values. */
static inline void mt_poison_freed_memory(char **argv)
{
    if (getenv("MT_POISONED"))
        return;
    setenv("MT_POISONED", "1", 1);
    setenv("GLIBC_TUNABLES",
           "glibc.malloc.tcache_count=0:glibc.malloc.perturb=165", 1);
    execv("/proc/self/exe", argv);
    perror("execv /proc/self/exe"); /* run on unpoisoned */
}

/* MPI_Init; the test needs at least `min_size` ranks. */
static inline void mt_init(int *argc, char ***argv, int min_size)
{
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &mt_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mt_size);
    if (mt_size < min_size) {
        if (mt_rank == 0)
            fprintf(stderr, "needs at least %d ranks\n", min_size);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const char *lm = getenv("MPISNAP_TEST_LIBMATCH");
    int want = lm && atoi(lm) != 0;
    ASSERT_EQ_INT(mpisnap_test_libmatch(), want);
}

/* What mt_finish() checks besides the assertions. */
enum {
    MT_BALANCE = 1, /* mpisnap_test_balance() == 0: collective over world */
    MT_PENDING = 2, /* no request or matched message pending, queue empty */
    MT_ALL = MT_BALANCE | MT_PENDING,
};

/* Agree on the result and finalize; returns the exit code.  Tests that
 * inject queued messages leave out MT_BALANCE: an injected message counts
 * as received without a send. */
static inline int mt_finish(int checks)
{
    if (checks & MT_PENDING) {
        ASSERT_EQ_INT(mpisnap_test_pending(), 0);
        ASSERT_EQ_INT(mpisnap_test_queued(), 0);
    }
    if (checks & MT_BALANCE)
        ASSERT_EQ_INT(mpisnap_test_balance(), 0);
    int mine = mt_failures > 0, any = 1;
    if (MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
        any = 1;
    if (mt_rank == 0)
        printf("%s\n", any ? "FAIL" : "PASS");
    MPI_Finalize();
    return any ? 1 : 0;
}

#endif
