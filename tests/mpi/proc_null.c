/* MPI_PROC_NULL as source (status source MPI_PROC_NULL, tag MPI_ANY_TAG,
 * count 0, through Recv, Irecv, Probe, Iprobe, a persistent receive and
 * Sendrecv) and MPI_Request_get_status, which completes nothing. */
#include "mpitest.h"

#define ASSERT_PROC_NULL_STATUS(st)                                            \
    do {                                                                       \
        ASSERT_STATUS(st, MPI_PROC_NULL, MPI_ANY_TAG);                         \
        ASSERT_COUNT(st, MPI_INT, 0);                                          \
    } while (0)

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    int x = -1, v = 5, flag = 0;
    MPI_Status st;
    MPI_Request r;

    MT_OK(MPI_Recv(&x, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD, &st));
    ASSERT_PROC_NULL_STATUS(st);
    MT_OK(MPI_Irecv(&x, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD, &r));
    MT_OK(MPI_Wait(&r, &st));
    ASSERT_PROC_NULL_STATUS(st);
    MT_OK(MPI_Probe(MPI_PROC_NULL, 1, MPI_COMM_WORLD, &st));
    ASSERT_PROC_NULL_STATUS(st);
    MT_OK(MPI_Iprobe(MPI_PROC_NULL, 1, MPI_COMM_WORLD, &flag, &st));
    ASSERT_EQ_INT(flag, 1);
    ASSERT_PROC_NULL_STATUS(st);
    MT_OK(MPI_Recv_init(&x, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD, &r));
    MT_OK(MPI_Start(&r));
    MT_OK(MPI_Wait(&r, &st));
    ASSERT_PROC_NULL_STATUS(st);
    MT_OK(MPI_Request_free(&r));
    MT_OK(MPI_Send(&v, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD));
    ASSERT_EQ_INT(x, -1);

    if (mt_rank == 0) {
        MT_OK(MPI_Send(&v, 1, MPI_INT, 1, 3, MPI_COMM_WORLD));
        MT_OK(MPI_Send(&v, 1, MPI_INT, 1, 4, MPI_COMM_WORLD));
    } else if (mt_rank == 1) {
        /* Request_get_status: the status, and the request stays */
        MT_OK(MPI_Irecv(&x, 1, MPI_INT, 0, 3, MPI_COMM_WORLD, &r));
        flag = 0;
        while (!flag)
            MT_OK(MPI_Request_get_status(r, &flag, &st));
        ASSERT_TRUE(r != MPI_REQUEST_NULL);
        ASSERT_STATUS(st, 0, 3);
        ASSERT_COUNT(st, MPI_INT, 1);
        ASSERT_EQ_INT(x, 5);
        MT_OK(MPI_Wait(&r, &st));
        ASSERT_STATUS(st, 0, 3);
        ASSERT_TRUE(r == MPI_REQUEST_NULL);
        /* Sendrecv sending to MPI_PROC_NULL */
        int y = -1;
        MT_OK(MPI_Sendrecv(&v, 1, MPI_INT, MPI_PROC_NULL, 1, &y, 1, MPI_INT, 0,
                           4, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 4);
        ASSERT_EQ_INT(y, 5);
    }
    return mt_finish(MT_ALL);
}
