/* MPI_Init and MPI_Finalize under the MPISNAP_* settings of the
 * environment: rank 0 prints "initialized" and whether tracing is on.  A
 * bad setting must stop the job in MPI_Init, before that line. */
#include <stdio.h>

#include <mpi.h>

#include "mpisnap_testing.h"

int main(int argc, char **argv)
{
    int rank;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0)
        printf("initialized, trace %s\n", mpisnap_test_trace() ? "on" : "off");
    MPI_Finalize();
    return 0;
}
