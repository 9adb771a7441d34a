/* Nonblocking collectives mixed with point-to-point in one Waitall:
 * Iallreduce, Ibarrier, Ibcast and a ring of Isend/Irecv; values and the
 * statuses of the receives. */
#include "mpitest.h"

enum { NREQ = 5 };

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    int right = (mt_rank + 1) % mt_size,
        left = (mt_rank + mt_size - 1) % mt_size;

    for (int round = 0; round < 3; round++) {
        MPI_Request r[NREQ];
        MPI_Status sts[NREQ];
        int in = -1, out = mt_rank * 10 + round, sum = -1,
            mine = mt_rank + round;
        int bc[3] = {-1, -1, -1};
        if (mt_rank == round % mt_size)
            for (int i = 0; i < 3; i++)
                bc[i] = 500 + round + i;
        /* receive first on even rounds, collectives first on odd */
        if (round % 2 == 0)
            MT_OK(MPI_Irecv(&in, 1, MPI_INT, MPI_ANY_SOURCE, 7, MPI_COMM_WORLD,
                            &r[0]));
        MT_OK(MPI_Iallreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD,
                             &r[1]));
        MT_OK(MPI_Ibarrier(MPI_COMM_WORLD, &r[2]));
        MT_OK(
            MPI_Ibcast(bc, 3, MPI_INT, round % mt_size, MPI_COMM_WORLD, &r[3]));
        if (round % 2)
            MT_OK(MPI_Irecv(&in, 1, MPI_INT, left, MPI_ANY_TAG, MPI_COMM_WORLD,
                            &r[0]));
        MT_OK(MPI_Isend(&out, 1, MPI_INT, right, 7, MPI_COMM_WORLD, &r[4]));
        MT_OK(MPI_Waitall(NREQ, r, sts));
        for (int i = 0; i < NREQ; i++)
            ASSERT_TRUE(r[i] == MPI_REQUEST_NULL);
        ASSERT_STATUS(sts[0], left, 7);
        ASSERT_COUNT(sts[0], MPI_INT, 1);
        ASSERT_EQ_INT(in, left * 10 + round);
        ASSERT_EQ_INT(sum, mt_size * (mt_size - 1) / 2 + mt_size * round);
        ASSERT_SEQ(bc, 3, i, 500 + round + i);
    }

    /* Waitany / Testall over a mix */
    MPI_Request r[3];
    int in = -1, out = mt_rank, sum = -1;
    MT_OK(MPI_Ibarrier(MPI_COMM_WORLD, &r[0]));
    MT_OK(MPI_Irecv(&in, 1, MPI_INT, left, 8, MPI_COMM_WORLD, &r[1]));
    MT_OK(
        MPI_Iallreduce(&out, &sum, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &r[2]));
    MT_OK(MPI_Send(&out, 1, MPI_INT, right, 8, MPI_COMM_WORLD));
    int got[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        int idx = -1;
        MPI_Status st;
        MT_OK(MPI_Waitany(3, r, &idx, &st));
        ASSERT_CMP_INT(idx, >=, 0);
        ASSERT_CMP_INT(idx, <, 3);
        if (idx < 0 || idx >= 3)
            break;
        got[idx]++;
        if (idx == 1)
            ASSERT_STATUS(st, left, 8);
    }
    ASSERT_SEQ(got, 3, i, 1);
    ASSERT_EQ_INT(in, left);
    ASSERT_EQ_INT(sum, mt_size - 1);
    return mt_finish(MT_ALL);
}
