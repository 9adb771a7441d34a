/* Tag reorder and non-overtaking.  Rank 0 sends tag 1 then tag 2; rank 1
 * receives tag 2 first, then tag 1.  Then three messages of one envelope
 * arrive in the order they were sent, blocking and nonblocking. */
#include "mpitest.h"

enum { N = 16 };

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    int a[N], b[N];
    MPI_Status st;

    /* 1. receive in the other order of tags */
    if (mt_rank == 0) {
        for (int i = 0; i < N; i++) {
            a[i] = 100 + i;
            b[i] = 200 + i;
        }
        MT_OK(MPI_Send(a, N, MPI_INT, 1, 1, MPI_COMM_WORLD));
        MT_OK(MPI_Send(b, N, MPI_INT, 1, 2, MPI_COMM_WORLD));
    } else if (mt_rank == 1) {
        MT_OK(MPI_Recv(b, N, MPI_INT, 0, 2, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 2);
        ASSERT_COUNT(st, MPI_INT, N);
        ASSERT_SEQ(b, N, i, 200 + i);
        MT_OK(MPI_Recv(a, N, MPI_INT, 0, 1, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 1);
        ASSERT_COUNT(st, MPI_INT, N);
        ASSERT_SEQ(a, N, i, 100 + i);
    }

    /* 1b. the same with nonblocking receives posted in the other order,
     * waited for in reverse posting order */
    if (mt_rank == 0) {
        int x = 11, y = 22;
        MT_OK(MPI_Send(&x, 1, MPI_INT, 1, 1, MPI_COMM_WORLD));
        MT_OK(MPI_Send(&y, 1, MPI_INT, 1, 2, MPI_COMM_WORLD));
    } else if (mt_rank == 1) {
        int x = -1, y = -1;
        MPI_Request r[2];
        MT_OK(MPI_Irecv(&y, 1, MPI_INT, 0, 2, MPI_COMM_WORLD, &r[0]));
        MT_OK(MPI_Irecv(&x, 1, MPI_INT, 0, 1, MPI_COMM_WORLD, &r[1]));
        MT_OK(MPI_Wait(&r[1], &st));
        ASSERT_STATUS(st, 0, 1);
        ASSERT_EQ_INT(x, 11);
        ASSERT_TRUE(r[1] == MPI_REQUEST_NULL);
        MT_OK(MPI_Wait(&r[0], &st));
        ASSERT_STATUS(st, 0, 2);
        ASSERT_EQ_INT(y, 22);
    }

    /* 2. non-overtaking: three messages of one envelope, different
     * lengths so a swap shows in the count as well as the values */
    if (mt_rank == 0) {
        for (int m = 0; m < 3; m++) {
            for (int i = 0; i < N; i++)
                a[i] = 1000 * (m + 1) + i;
            MT_OK(MPI_Send(a, N - m, MPI_INT, 1, 7, MPI_COMM_WORLD));
        }
        for (int m = 0; m < 3; m++) {
            for (int i = 0; i < N; i++)
                a[i] = 5000 * (m + 1) + i;
            MT_OK(MPI_Send(a, N - m, MPI_INT, 1, 8, MPI_COMM_WORLD));
        }
    } else if (mt_rank == 1) {
        for (int m = 0; m < 3; m++) {
            MT_OK(MPI_Recv(a, N, MPI_INT, 0, 7, MPI_COMM_WORLD, &st));
            ASSERT_STATUS(st, 0, 7);
            ASSERT_COUNT(st, MPI_INT, N - m);
            ASSERT_SEQ(a, N - m, i, 1000 * (m + 1) + i);
        }
        /* nonblocking: posting order decides, not completion order */
        int r3[3][N];
        MPI_Request r[3];
        for (int m = 0; m < 3; m++)
            MT_OK(MPI_Irecv(r3[m], N, MPI_INT, 0, 8, MPI_COMM_WORLD, &r[m]));
        for (int m = 2; m >= 0; m--) {
            MT_OK(MPI_Wait(&r[m], &st));
            ASSERT_STATUS(st, 0, 8);
            ASSERT_COUNT(st, MPI_INT, N - m);
            ASSERT_SEQ(r3[m], N - m, i, 5000 * (m + 1) + i);
        }
    }
    return mt_finish(MT_ALL);
}
