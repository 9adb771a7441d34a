/* Programs that hang on purpose, for observation tests:
 *
 *   hang recv-cycle      ranks 0 and 1 each MPI_Recv from the other (tag 5)
 *   hang ssend-ring      every rank MPI_Ssend to the next one (tag 9)
 *   hang barrier-recv    rank 1 MPI_Recv from rank 0 (tag 3) while every
 *                        other rank is in MPI_Barrier
 *   hang master-worker   rank 0 hands out tasks and collects the results,
 *                        then waits for one more result; the workers wait
 *                        for their next task: all work done, no exit
 *   hang finalize        rank 1 MPI_Recv from rank 0 (tag 4), which has
 *                        already called MPI_Finalize
 *   hang preposted-matched
 *                        rank 0 posts MPI_Irecv from rank 1 (tag 5), then
 *                        waits in MPI_Recv from rank 1 (tag 5) for a second
 *                        message; rank 1 sends one, then MPI_Recv from
 *                        rank 0 (tag 8): the message in flight is the
 *                        Irecv's, so 0 and 1 deadlock
 *   hang mprobed-matched the same with MPI_Mprobe instead of MPI_Irecv
 *                        (the message is received with MPI_Mrecv only
 *                        after the MPI_Recv)
 *   hang freed-inflight  rank 1 sends one message (tag 5) on a duplicate of
 *                        MPI_COMM_WORLD, frees the duplicate, then waits
 *                        in MPI_Recv from rank 0 (tag 8); rank 0 waits in
 *                        MPI_Recv from rank 1 (tag 8): a deadlock with a
 *                        message in flight on a communicator its sender
 *                        has freed
 *
 * and programs that end normally, where no verdict may be a hang:
 *
 *   hang preposted-large rank 0 posts a large MPI_Irecv from rank 1
 *                        (tag 6), then waits in MPI_Recv from rank 1 for a
 *                        small one (tag 7); rank 1 computes 3 s, then sends
 *                        the large message (MPI_Send, rendezvous) and the
 *                        small one.  Rank 1's send can complete: rank 0's
 *                        Irecv matches it
 *   hang slow-sender     rank 0 waits in MPI_Recv from rank 1 (tag 7)
 *                        while rank 1 computes 4.5 s, calling MPI_Iprobe
 *                        now and then: with MPISNAP_HANG_AFTER=1 rank 0
 *                        observes at 1, 2 and 4 s of its call, each time
 *                        progressing
 *
 *   hang create-after-record
 *                        (with MPISNAP_OBSERVE=1) rank 0 starts an
 *                        observation, then MPI_Comm_dup; rank 1 computes
 *                        (rank 0's marker arrives), then MPI_Comm_dup,
 *                        sends on the duplicate and waits in MPI_Mprobe
 *                        for any rank on it, while rank 0 computes: the
 *                        dup carried rank 0's messages from after its cut,
 *                        so rank 1 must record before the duplicate exists
 *
 * Each first runs a few rounds of real traffic, so counters are not zero.
 * Run with MPISNAP_HANG_AFTER and MPISNAP_ON_HANG=abort: the library must
 * end the job with the right verdict (the hanging ones; without them they
 * hang forever), or let it end (the others). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>
#include <mpisnap.h>

enum {
    TAG_TASK = 1,
    TAG_RESULT = 2,
    TAG_BARRIER = 3,
    TAG_GONE = 4,
    TAG_CYCLE = 5,
    TAG_LARGE = 6,
    TAG_SMALL = 7,
    TAG_NEVER = 8,
    TAG_RING = 9
};

#define NLARGE (1 << 18) /* ints: 1 MiB, far above any eager limit */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Compute for s seconds, without MPI calls or with an MPI_Iprobe every
 * 20 ms. */
static void compute(double s, int probe)
{
    double t0 = now();
    int flag;

    while (now() - t0 < s) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (probe)
            MPI_Iprobe(MPI_ANY_SOURCE, TAG_NEVER, MPI_COMM_WORLD, &flag,
                       MPI_STATUS_IGNORE);
    }
}

/* Returns 0 when rank 0 received what rank 1 sent. */
static int preposted_large(int rank)
{
    int *big = malloc(NLARGE * sizeof *big), x = 0, i, bad = 0;
    MPI_Request rq;

    if (!big)
        return 1;
    if (rank == 0) {
        MPI_Irecv(big, NLARGE, MPI_INT, 1, TAG_LARGE, MPI_COMM_WORLD, &rq);
        MPI_Recv(&x, 1, MPI_INT, 1, TAG_SMALL, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        MPI_Wait(&rq, MPI_STATUS_IGNORE);
        for (i = 0; i < NLARGE; i++)
            bad += big[i] != 3 * i + 1;
        bad += x != 42;
        printf("preposted-large: %s\n", bad ? "WRONG DATA" : "received");
    } else if (rank == 1) {
        for (i = 0; i < NLARGE; i++)
            big[i] = 3 * i + 1;
        x = 42;
        compute(3.0, 0);
        MPI_Send(big, NLARGE, MPI_INT, 0, TAG_LARGE, MPI_COMM_WORLD);
        MPI_Send(&x, 1, MPI_INT, 0, TAG_SMALL, MPI_COMM_WORLD);
    }
    free(big);
    return bad;
}

static void warm_up(int rank, int size)
{
    int i, x = rank, y;

    for (i = 0; i < 10; i++) {
        MPI_Sendrecv(&x, 1, MPI_INT, (rank + 1) % size, 11, &y, 1, MPI_INT,
                     (rank + size - 1) % size, 11, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        MPI_Allreduce(&y, &x, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    }
}

static void master_worker(int rank, int size)
{
    int task, result, t, w, ntasks = 4 * (size - 1);
    MPI_Status st;

    if (rank == 0) {
        for (t = 0, w = 1; w < size; w++, t++)
            MPI_Send(&t, 1, MPI_INT, w, TAG_TASK, MPI_COMM_WORLD);
        for (;;) { /* never learns that all results are in */
            MPI_Recv(&result, 1, MPI_INT, MPI_ANY_SOURCE, TAG_RESULT,
                     MPI_COMM_WORLD, &st);
            if (t < ntasks) {
                MPI_Send(&t, 1, MPI_INT, st.MPI_SOURCE, TAG_TASK,
                         MPI_COMM_WORLD);
                t++;
            }
        }
    }
    for (;;) {
        MPI_Recv(&task, 1, MPI_INT, 0, TAG_TASK, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        result = task * task;
        MPI_Send(&result, 1, MPI_INT, 0, TAG_RESULT, MPI_COMM_WORLD);
    }
}

int main(int argc, char **argv)
{
    const char *p = argc > 1 ? argv[1] : "";
    int rank, size, x = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    warm_up(rank, size);
    if (!strcmp(p, "recv-cycle")) {
        if (rank < 2)
            MPI_Recv(&x, 1, MPI_INT, 1 - rank, TAG_CYCLE, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        MPI_Barrier(MPI_COMM_WORLD);
    } else if (!strcmp(p, "ssend-ring")) {
        MPI_Ssend(&x, 1, MPI_INT, (rank + 1) % size, TAG_RING, MPI_COMM_WORLD);
        MPI_Recv(&x, 1, MPI_INT, (rank + size - 1) % size, TAG_RING,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (!strcmp(p, "barrier-recv")) {
        if (rank == 1)
            MPI_Recv(&x, 1, MPI_INT, 0, TAG_BARRIER, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0)
            MPI_Send(&x, 1, MPI_INT, 1, TAG_BARRIER, MPI_COMM_WORLD);
    } else if (!strcmp(p, "master-worker")) {
        master_worker(rank, size);
    } else if (!strcmp(p, "finalize")) {
        if (rank == 1)
            MPI_Recv(&x, 1, MPI_INT, 0, TAG_GONE, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
    } else if (!strcmp(p, "preposted-matched")) {
        MPI_Request rq;
        int y = 0;
        if (rank == 0) {
            MPI_Irecv(&y, 1, MPI_INT, 1, TAG_CYCLE, MPI_COMM_WORLD, &rq);
            MPI_Recv(&x, 1, MPI_INT, 1, TAG_CYCLE, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Send(&x, 1, MPI_INT, 0, TAG_CYCLE, MPI_COMM_WORLD);
            MPI_Recv(&y, 1, MPI_INT, 0, TAG_NEVER, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        }
    } else if (!strcmp(p, "mprobed-matched")) {
        MPI_Message m;
        int y = 0;
        if (rank == 0) {
            MPI_Mprobe(1, TAG_CYCLE, MPI_COMM_WORLD, &m, MPI_STATUS_IGNORE);
            MPI_Recv(&x, 1, MPI_INT, 1, TAG_CYCLE, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            MPI_Mrecv(&y, 1, MPI_INT, &m, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Send(&x, 1, MPI_INT, 0, TAG_CYCLE, MPI_COMM_WORLD);
            MPI_Recv(&y, 1, MPI_INT, 0, TAG_NEVER, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        }
    } else if (!strcmp(p, "freed-inflight")) {
        MPI_Comm d;
        MPI_Comm_dup(MPI_COMM_WORLD, &d);
        if (rank == 1) {
            MPI_Send(&x, 1, MPI_INT, 0, TAG_CYCLE, d);
            MPI_Comm_free(&d);
        }
        if (rank < 2)
            MPI_Recv(&x, 1, MPI_INT, 1 - rank, TAG_NEVER, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
    } else if (!strcmp(p, "create-after-record")) {
        MPI_Comm d;
        MPI_Message m;
        if (rank == 0)
            mpisnap_observe();
        else
            compute(0.5, 0);
        MPI_Comm_dup(MPI_COMM_WORLD, &d);
        if (rank == 0) {
            MPI_Recv(&x, 1, MPI_INT, 1, TAG_CYCLE, d, MPI_STATUS_IGNORE);
            compute(0.5, 0);
            MPI_Send(&x, 1, MPI_INT, 1, TAG_SMALL, d);
        } else if (rank == 1) {
            MPI_Send(&x, 1, MPI_INT, 0, TAG_CYCLE, d);
            MPI_Mprobe(MPI_ANY_SOURCE, TAG_SMALL, d, &m, MPI_STATUS_IGNORE);
            MPI_Mrecv(&x, 1, MPI_INT, &m, MPI_STATUS_IGNORE);
        }
        MPI_Comm_free(&d);
        MPI_Barrier(MPI_COMM_WORLD);
    } else if (!strcmp(p, "preposted-large")) {
        x = preposted_large(rank);
    } else if (!strcmp(p, "slow-sender")) {
        if (rank == 0)
            MPI_Recv(&x, 1, MPI_INT, 1, TAG_SMALL, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        else if (rank == 1) {
            compute(4.5, 1);
            MPI_Send(&x, 1, MPI_INT, 0, TAG_SMALL, MPI_COMM_WORLD);
        }
        if (rank == 0)
            printf("slow-sender: received\n");
    } else {
        if (rank == 0)
            fprintf(stderr,
                    "usage: hang recv-cycle|ssend-ring|barrier-recv|"
                    "master-worker|finalize|preposted-matched|"
                    "mprobed-matched|freed-inflight|create-after-record|"
                    "preposted-large|slow-sender\n");
        MPI_Finalize();
        return 2;
    }
    MPI_Finalize();
    return !strcmp(p, "preposted-large") && x != 0;
}
