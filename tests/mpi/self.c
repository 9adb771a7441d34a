/* Messages a rank sends to itself: Isend + Recv, Send after Irecv,
 * Sendrecv and Sendrecv_replace with self, and on MPI_COMM_SELF. */
#include "mpitest.h"

enum { N = 32 };

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 1);
    int out[N], in[N];
    MPI_Status st;
    MPI_Request r;

    for (int i = 0; i < N; i++) {
        out[i] = mt_rank * 100 + i;
        in[i] = -1;
    }
    MT_OK(MPI_Isend(out, N, MPI_INT, mt_rank, 1, MPI_COMM_WORLD, &r));
    MT_OK(MPI_Recv(in, N, MPI_INT, mt_rank, 1, MPI_COMM_WORLD, &st));
    ASSERT_STATUS(st, mt_rank, 1);
    ASSERT_COUNT(st, MPI_INT, N);
    ASSERT_SEQ(in, N, i, mt_rank * 100 + i);
    MT_OK(MPI_Wait(&r, MPI_STATUS_IGNORE));

    /* two to self, received in the other tag order, wildcard source */
    int a = 5, b = 6, x = -1, y = -1;
    MPI_Request rs[2];
    MT_OK(MPI_Isend(&a, 1, MPI_INT, mt_rank, 2, MPI_COMM_WORLD, &rs[0]));
    MT_OK(MPI_Isend(&b, 1, MPI_INT, mt_rank, 3, MPI_COMM_WORLD, &rs[1]));
    MT_OK(MPI_Recv(&y, 1, MPI_INT, MPI_ANY_SOURCE, 3, MPI_COMM_WORLD, &st));
    ASSERT_STATUS(st, mt_rank, 3);
    ASSERT_EQ_INT(y, 6);
    MT_OK(MPI_Recv(&x, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
                   &st));
    ASSERT_STATUS(st, mt_rank, 2);
    ASSERT_EQ_INT(x, 5);
    MT_OK(MPI_Waitall(2, rs, MPI_STATUSES_IGNORE));

    /* receive posted first, then a blocking (eager-sized) send */
    x = -1;
    MT_OK(MPI_Irecv(&x, 1, MPI_INT, mt_rank, 4, MPI_COMM_WORLD, &r));
    a = 44;
    MT_OK(MPI_Send(&a, 1, MPI_INT, mt_rank, 4, MPI_COMM_WORLD));
    MT_OK(MPI_Wait(&r, &st));
    ASSERT_STATUS(st, mt_rank, 4);
    ASSERT_EQ_INT(x, 44);

    for (int i = 0; i < N; i++)
        in[i] = -1;
    MT_OK(MPI_Sendrecv(out, N, MPI_INT, mt_rank, 5, in, N, MPI_INT, mt_rank, 5,
                       MPI_COMM_WORLD, &st));
    ASSERT_STATUS(st, mt_rank, 5);
    ASSERT_COUNT(st, MPI_INT, N);
    ASSERT_SEQ(in, N, i, mt_rank * 100 + i);

    int buf[N];
    for (int i = 0; i < N; i++)
        buf[i] = 7 * i;
    MT_OK(MPI_Sendrecv_replace(buf, N, MPI_INT, mt_rank, 6, MPI_ANY_SOURCE, 6,
                               MPI_COMM_WORLD, &st));
    ASSERT_STATUS(st, mt_rank, 6);
    ASSERT_SEQ(buf, N, i, 7 * i);

    /* MPI_COMM_SELF */
    x = -1;
    a = 99;
    MT_OK(MPI_Isend(&a, 1, MPI_INT, 0, 7, MPI_COMM_SELF, &r));
    MT_OK(MPI_Recv(&x, 1, MPI_INT, 0, 7, MPI_COMM_SELF, &st));
    ASSERT_STATUS(st, 0, 7);
    ASSERT_EQ_INT(x, 99);
    MT_OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
    return mt_finish(MT_ALL);
}
