/* Persistent requests: Send_init/Recv_init with Start, Startall and Wait
 * over several iterations with changing buffer contents; Ssend_init;
 * Request_free of the inactive requests at the end. */
#include "mpitest.h"

enum { N = 8, ITER = 5 };

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    if (mt_size != 2)
        MPI_Abort(MPI_COMM_WORLD, 1); /* exactly 2 ranks */
    int peer = 1 - mt_rank;
    int buf[2][N];
    MPI_Request r[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    MPI_Status st, sts[2];

    /* rank 0 sends tags 1 and 2, rank 1 receives */
    if (mt_rank == 0) {
        MT_OK(
            MPI_Send_init(buf[0], N, MPI_INT, peer, 1, MPI_COMM_WORLD, &r[0]));
        MT_OK(
            MPI_Send_init(buf[1], N, MPI_INT, peer, 2, MPI_COMM_WORLD, &r[1]));
    } else {
        MT_OK(
            MPI_Recv_init(buf[0], N, MPI_INT, peer, 1, MPI_COMM_WORLD, &r[0]));
        MT_OK(MPI_Recv_init(buf[1], N, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG,
                            MPI_COMM_WORLD, &r[1]));
    }

    /* Start + Wait on one */
    for (int it = 0; it < ITER; it++) {
        for (int i = 0; i < N; i++)
            buf[0][i] = mt_rank == 0 ? it * 100 + i : -1;
        MT_OK(MPI_Start(&r[0]));
        MT_OK(MPI_Wait(&r[0], &st));
        ASSERT_TRUE(r[0] != MPI_REQUEST_NULL);
        if (mt_rank == 1) {
            ASSERT_STATUS(st, 0, 1);
            ASSERT_COUNT(st, MPI_INT, N);
            ASSERT_SEQ(buf[0], N, i, it * 100 + i);
        }
    }

    /* Startall + Waitall on both; the receive side starts late on odd
     * iterations */
    for (int it = 0; it < ITER; it++) {
        for (int i = 0; i < N; i++) {
            buf[0][i] = mt_rank == 0 ? 1000 + it * 10 + i : -1;
            buf[1][i] = mt_rank == 0 ? 2000 + it * 10 + i : -1;
        }
        if (mt_rank == 1 && it % 2)
            mt_sleep_ms(20);
        MT_OK(MPI_Startall(2, r));
        MT_OK(MPI_Waitall(2, r, sts));
        ASSERT_TRUE(r[0] != MPI_REQUEST_NULL && r[1] != MPI_REQUEST_NULL);
        if (mt_rank == 1) {
            ASSERT_STATUS(sts[0], 0, 1);
            ASSERT_STATUS(sts[1], 0, 2);
            ASSERT_SEQ(buf[0], N, i, 1000 + it * 10 + i);
            ASSERT_SEQ(buf[1], N, i, 2000 + it * 10 + i);
        }
    }
    MT_OK(MPI_Request_free(&r[0]));
    MT_OK(MPI_Request_free(&r[1]));
    ASSERT_TRUE(r[0] == MPI_REQUEST_NULL && r[1] == MPI_REQUEST_NULL);

    /* Ssend_init: completes only once the receive is posted */
    int x = -1;
    MPI_Request sr;
    if (mt_rank == 0)
        MT_OK(MPI_Ssend_init(&x, 1, MPI_INT, 1, 3, MPI_COMM_WORLD, &sr));
    else
        MT_OK(MPI_Recv_init(&x, 1, MPI_INT, 0, 3, MPI_COMM_WORLD, &sr));
    for (int it = 0; it < 3; it++) {
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        if (mt_rank == 0) {
            x = 300 + it;
            double t0 = MPI_Wtime();
            MT_OK(MPI_Start(&sr));
            MT_OK(MPI_Wait(&sr, &st));
            ASSERT_CMP_DBL(MPI_Wtime() - t0, >=, 0.05);
        } else {
            x = -1;
            mt_sleep_ms(80);
            MT_OK(MPI_Start(&sr));
            MT_OK(MPI_Wait(&sr, &st));
            ASSERT_STATUS(st, 0, 3);
            ASSERT_EQ_INT(x, 300 + it);
        }
    }
    MT_OK(MPI_Request_free(&sr));

    /* a persistent receive started and then matched by a later send,
     * freed after completion; and a persistent request never started */
    MPI_Request never;
    MT_OK(MPI_Recv_init(&x, 1, MPI_INT, peer, 99, MPI_COMM_WORLD, &never));
    MT_OK(MPI_Request_free(&never));
    return mt_finish(MT_ALL);
}
