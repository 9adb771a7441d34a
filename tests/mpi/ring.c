/* MPI_Sendrecv and MPI_Sendrecv_replace around a ring of all ranks, with
 * explicit and wildcard sources. */
#include "mpitest.h"

enum { N = 64 };

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    int right = (mt_rank + 1) % mt_size;
    int left = (mt_rank + mt_size - 1) % mt_size;
    int out[N], in[N];
    MPI_Status st;

    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            out[i] = mt_rank * 10000 + round * 100 + i;
            in[i] = -1;
        }
        int src = round % 2 ? MPI_ANY_SOURCE : left;
        int tag = round == 3 ? MPI_ANY_TAG : 20 + round;
        MT_OK(MPI_Sendrecv(out, N, MPI_INT, right, 20 + round, in, N, MPI_INT,
                           src, tag, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, left, 20 + round);
        ASSERT_COUNT(st, MPI_INT, N);
        ASSERT_SEQ(in, N, i, left * 10000 + round * 100 + i);
    }

    /* shorter message than the receive count */
    for (int i = 0; i < N; i++)
        out[i] = mt_rank + i;
    MT_OK(MPI_Sendrecv(out, N / 2, MPI_INT, right, 30, in, N, MPI_INT, left, 30,
                       MPI_COMM_WORLD, &st));
    ASSERT_COUNT(st, MPI_INT, N / 2);
    ASSERT_SEQ(in, N / 2, i, left + i);

    for (int round = 0; round < 3; round++) {
        int buf[N];
        for (int i = 0; i < N; i++)
            buf[i] = mt_rank * 1000 + round * 10 + i;
        int src = round == 1 ? MPI_ANY_SOURCE : left;
        MT_OK(MPI_Sendrecv_replace(buf, N, MPI_INT, right, 40, src, 40,
                                   MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, left, 40);
        ASSERT_COUNT(st, MPI_INT, N);
        ASSERT_SEQ(buf, N, i, left * 1000 + round * 10 + i);
    }

    /* pass a token all the way round with Sendrecv_replace */
    int tok[2] = {mt_rank, 0};
    for (int step = 0; step < mt_size; step++) {
        tok[1] += 1;
        MT_OK(MPI_Sendrecv_replace(tok, 2, MPI_INT, right, 50, left, 50,
                                   MPI_COMM_WORLD, &st));
    }
    ASSERT_EQ_INT(tok[0], mt_rank);
    ASSERT_EQ_INT(tok[1], mt_size);
    return mt_finish(MT_ALL);
}
