/* MPI_Ssend / MPI_Issend complete only once the matching receive is posted:
 * rank 1 sleeps 200 ms before receiving. */
#include "mpitest.h"

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MPI_Status st;

    for (int big = 0; big < 2; big++) {
        int n = big ? 1 << 18 : 4;
        int *buf = malloc(n * sizeof(int));
        for (int i = 0; i < n; i++)
            buf[i] = mt_rank == 0 ? 3 * i + big : -1;
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        if (mt_rank == 0) {
            double t0 = MPI_Wtime();
            MT_OK(MPI_Ssend(buf, n, MPI_INT, 1, 4, MPI_COMM_WORLD));
            double dt = MPI_Wtime() - t0;
            ASSERT_CMP_DBL(dt, >=, 0.15);
        } else if (mt_rank == 1) {
            mt_sleep_ms(200);
            MT_OK(MPI_Recv(buf, n, MPI_INT, 0, 4, MPI_COMM_WORLD, &st));
            ASSERT_STATUS(st, 0, 4);
            ASSERT_COUNT(st, MPI_INT, n);
            ASSERT_SEQ(buf, n, i, 3 * i + big);
        }
        free(buf);
    }

    /* Issend: not complete while the receiver sleeps */
    int x = 77, y = -1;
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    if (mt_rank == 0) {
        MPI_Request r;
        int flag = -1;
        double t0 = MPI_Wtime();
        MT_OK(MPI_Issend(&x, 1, MPI_INT, 1, 5, MPI_COMM_WORLD, &r));
        MT_OK(MPI_Test(&r, &flag, &st));
        ASSERT_EQ_INT(flag, 0);
        mt_sleep_ms(50);
        MT_OK(MPI_Test(&r, &flag, &st));
        ASSERT_EQ_INT(flag, 0);
        MT_OK(MPI_Wait(&r, &st));
        ASSERT_CMP_DBL(MPI_Wtime() - t0, >=, 0.15);
    } else if (mt_rank == 1) {
        mt_sleep_ms(200);
        MT_OK(MPI_Recv(&y, 1, MPI_INT, 0, 5, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 5);
        ASSERT_EQ_INT(y, 77);
    }
    return mt_finish(MT_ALL);
}
