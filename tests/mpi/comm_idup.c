/* MPI_Comm_idup while point-to-point requests pend (defect 20, as MPICH's
 * comm/comm_idup_isend): rank 0 starts an Isend to every other rank, then
 * an idup; the others start the idup, then the matching Irecv.  Several
 * rounds, all completed by one Waitall; then each new communicator works.
 * On MPI_COMM_WORLD, then on a split of it with the ranks reversed (which
 * hung under library matching). */
#include <stdlib.h>

#include "mpitest.h"

enum { ITER = 4 };

static void idups(MPI_Comm comm)
{
    MPI_Request *r = malloc(sizeof *r * (size_t)(mt_size + 1) * ITER);
    MPI_Comm nc[ITER];
    int in[ITER], out[ITER], n = 0, rank;

    ASSERT_TRUE(r != NULL);
    MT_OK(MPI_Comm_rank(comm, &rank));
    for (int j = 0; j < ITER; j++) {
        in[j] = -1;
        out[j] = 815 + j;
        if (rank == 0) {
            for (int i = 1; i < mt_size; i++)
                MT_OK(MPI_Isend(&out[j], 1, MPI_INT, i, 0, comm, &r[n++]));
            MT_OK(MPI_Comm_idup(comm, &nc[j], &r[n++]));
        } else {
            MT_OK(MPI_Comm_idup(comm, &nc[j], &r[n++]));
            MT_OK(MPI_Irecv(&in[j], 1, MPI_INT, 0, 0, comm, &r[n++]));
        }
    }
    MT_OK(MPI_Waitall(n, r, MPI_STATUSES_IGNORE));
    for (int j = 0; j < ITER; j++) {
        int size = 0, sum = 0;
        if (rank != 0)
            ASSERT_EQ_INT(in[j], 815 + j);
        MT_OK(MPI_Comm_size(nc[j], &size));
        ASSERT_EQ_INT(size, mt_size);
        MT_OK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, nc[j]));
        ASSERT_EQ_INT(sum, mt_size * (mt_size - 1) / 2);
        MT_OK(MPI_Comm_free(&nc[j]));
    }
    free(r);
}

int main(int argc, char **argv)
{
    MPI_Comm rev;

    mt_init(&argc, &argv, 2);
    idups(MPI_COMM_WORLD);
    MT_OK(MPI_Comm_split(MPI_COMM_WORLD, 0, -mt_rank, &rev));
    idups(rev);
    MT_OK(MPI_Comm_free(&rev));
    return mt_finish(MT_ALL);
}
