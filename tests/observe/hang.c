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
 *
 * Each first runs a few rounds of real traffic, so counters are not zero.
 * Run with MPISNAP_HANG_AFTER and MPISNAP_ON_HANG=abort: the library must
 * end the job with the right verdict.  Without them it hangs forever. */
#include <stdio.h>
#include <string.h>

#include <mpi.h>

enum {
    TAG_TASK = 1,
    TAG_RESULT = 2,
    TAG_BARRIER = 3,
    TAG_GONE = 4,
    TAG_CYCLE = 5,
    TAG_RING = 9
};

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
    } else {
        if (rank == 0)
            fprintf(stderr, "usage: hang recv-cycle|ssend-ring|barrier-recv|"
                            "master-worker|finalize\n");
        MPI_Finalize();
        return 2;
    }
    MPI_Finalize();
    return 0;
}
