/* Smallest user of the installed mpisnap: header, library, MPI together. */
#include <stdio.h>

#include <mpi.h>
#include <mpisnap.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    printf("mpisnap %s: %s\n", MPISNAP_VERSION_STRING,
           mpisnap_strerror(MPISNAP_EINVAL));
    MPI_Finalize();
    return 0;
}
