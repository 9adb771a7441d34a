/* bench_self_loop: N iterations of Isend + Recv + Wait to itself on one
 * rank, through the layer (MPI_*) or around it (PMPI_*), for
 * bench/instructions.sh, which counts the instructions with callgrind: a
 * count that machine noise does not change, unlike a time.
 *
 *   bench_self_loop plain|layer N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

int main(int argc, char **argv)
{
    int layer = argc > 1 && !strcmp(argv[1], "layer");
    long n = argc > 2 ? atol(argv[2]) : 1000, i;
    int x = 7, y = 0;
    MPI_Request r;

    MPI_Init(&argc, &argv);
    for (i = 0; i < n; i++) {
        if (layer) {
            MPI_Isend(&x, 1, MPI_INT, 0, 1, MPI_COMM_SELF, &r);
            MPI_Recv(&y, 1, MPI_INT, 0, 1, MPI_COMM_SELF, MPI_STATUS_IGNORE);
            MPI_Wait(&r, MPI_STATUS_IGNORE);
        } else {
            PMPI_Isend(&x, 1, MPI_INT, 0, 1, MPI_COMM_SELF, &r);
            PMPI_Recv(&y, 1, MPI_INT, 0, 1, MPI_COMM_SELF, MPI_STATUS_IGNORE);
            PMPI_Wait(&r, MPI_STATUS_IGNORE);
        }
    }
    MPI_Finalize();
    if (y != x) {
        fprintf(stderr, "bench_self_loop: received %d, sent %d\n", y, x);
        return 1;
    }
    return 0;
}
