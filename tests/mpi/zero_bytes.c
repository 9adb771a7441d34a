/* Zero-byte messages: status source and tag, MPI_Get_count and
 * MPI_Get_elements 0, through Recv, Irecv, Probe and a NULL buffer; they
 * keep their place in the order of their stream. */
#include "mpitest.h"

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MPI_Status st;
    int buf[10];

    if (mt_rank == 0) {
        int one = 5;
        MT_OK(MPI_Send(NULL, 0, MPI_INT, 1, 1, MPI_COMM_WORLD));
        MT_OK(MPI_Send(buf, 0, MPI_DOUBLE, 1, 2, MPI_COMM_WORLD));
        MT_OK(MPI_Send(NULL, 0, MPI_BYTE, 1, 3, MPI_COMM_WORLD));
        MT_OK(MPI_Send(&one, 1, MPI_INT, 1, 3, MPI_COMM_WORLD));
        MPI_Request r;
        MT_OK(MPI_Isend(NULL, 0, MPI_INT, 1, 4, MPI_COMM_WORLD, &r));
        MT_OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
        MT_OK(MPI_Ssend(NULL, 0, MPI_INT, 1, 5, MPI_COMM_WORLD));
    } else if (mt_rank == 1) {
        for (int i = 0; i < 10; i++)
            buf[i] = -1;
        MT_OK(MPI_Recv(NULL, 0, MPI_INT, 0, 1, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 1);
        ASSERT_COUNT(st, MPI_INT, 0);

        /* with room for 10 */
        MT_OK(MPI_Recv(buf, 10, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG,
                       MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 2);
        ASSERT_COUNT(st, MPI_INT, 0);
        int n = -2;
        MT_OK(MPI_Get_elements(&st, MPI_INT, &n));
        ASSERT_EQ_INT(n, 0);
        ASSERT_SEQ(buf, 10, i, -1);

        /* probe: count 0, then the empty one before the one-int one */
        MT_OK(MPI_Probe(0, 3, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 3);
        ASSERT_COUNT(st, MPI_BYTE, 0);
        MT_OK(MPI_Recv(buf, 10, MPI_INT, 0, 3, MPI_COMM_WORLD, &st));
        ASSERT_COUNT(st, MPI_INT, 0);
        MT_OK(MPI_Recv(buf, 10, MPI_INT, 0, 3, MPI_COMM_WORLD, &st));
        ASSERT_COUNT(st, MPI_INT, 1);
        ASSERT_EQ_INT(buf[0], 5);

        MPI_Request r;
        MT_OK(MPI_Irecv(NULL, 0, MPI_INT, 0, 4, MPI_COMM_WORLD, &r));
        MT_OK(MPI_Wait(&r, &st));
        ASSERT_STATUS(st, 0, 4);
        ASSERT_COUNT(st, MPI_INT, 0);

        mt_sleep_ms(20);
        MT_OK(MPI_Recv(buf, 1, MPI_INT, 0, 5, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 5);
        ASSERT_COUNT(st, MPI_INT, 0);
    }

    /* to self */
    MPI_Request r;
    MT_OK(MPI_Isend(NULL, 0, MPI_INT, mt_rank, 6, MPI_COMM_WORLD, &r));
    MT_OK(MPI_Recv(buf, 10, MPI_INT, mt_rank, 6, MPI_COMM_WORLD, &st));
    ASSERT_STATUS(st, mt_rank, 6);
    ASSERT_COUNT(st, MPI_INT, 0);
    MT_OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
    return mt_finish(MT_ALL);
}
