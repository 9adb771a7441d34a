/* MPI_Isend + MPI_Request_free while the send is active: the receiver
 * still gets the message, and the counters balance.  Small (eager) and
 * 4 MiB (rendezvous) messages; the receiver posts late. */
#include "mpitest.h"

enum { BIG = 1 << 20 };

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MPI_Status st;
    int *big = malloc(BIG * sizeof(int));
    int small[4] = {1, 2, 3, 4};

    if (mt_rank == 0) {
        MPI_Request r;
        for (int i = 0; i < BIG; i++)
            big[i] = i ^ 0x5a5a;
        MT_OK(MPI_Isend(small, 4, MPI_INT, 1, 1, MPI_COMM_WORLD, &r));
        MT_OK(MPI_Request_free(&r));
        ASSERT_TRUE(r == MPI_REQUEST_NULL);
        MT_OK(MPI_Isend(big, BIG, MPI_INT, 1, 2, MPI_COMM_WORLD, &r));
        MT_OK(MPI_Request_free(&r));
        ASSERT_TRUE(r == MPI_REQUEST_NULL);
        /* the receiver tells when the buffers are free again */
        int done = 0;
        MT_OK(MPI_Recv(&done, 1, MPI_INT, 1, 3, MPI_COMM_WORLD, &st));
        ASSERT_EQ_INT(done, 1);
    } else if (mt_rank == 1) {
        int s[4] = {0};
        mt_sleep_ms(200);
        MT_OK(MPI_Recv(big, BIG, MPI_INT, 0, 2, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 2);
        ASSERT_COUNT(st, MPI_INT, BIG);
        ASSERT_SEQ(big, BIG, i, i ^ 0x5a5a);
        MT_OK(MPI_Recv(s, 4, MPI_INT, 0, 1, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 1);
        ASSERT_SEQ(s, 4, i, i + 1);
        int done = 1;
        MT_OK(MPI_Send(&done, 1, MPI_INT, 0, 3, MPI_COMM_WORLD));
    }
    /* let the freed sends finish inside MPI before counting */
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    free(big);
    /* No MT_PENDING: the library forgets a freed request at its next
     * progress point (a snapshot point or a slow-path wait), which plain
     * mode never reaches. */
    return mt_finish(MT_BALANCE);
}
