/* Matched probes: MPI_Mprobe + MPI_Mrecv, an MPI_Improbe loop + MPI_Imrecv
 * + MPI_Wait; status values; a matched message is removed from matching
 * (a later probe sees the next one); MPI_PROC_NULL. */
#include "mpitest.h"

enum { N = 10 };

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MPI_Status st;
    MPI_Message msg;
    int buf[N];

    if (mt_rank == 0) {
        for (int m = 0; m < 4; m++) {
            for (int i = 0; i < N; i++)
                buf[i] = m * 100 + i;
            /* counts N, N-1, N-2, N-3; tags 1, 1, 2, 2 */
            MT_OK(MPI_Send(buf, N - m, MPI_INT, 1, 1 + m / 2, MPI_COMM_WORLD));
        }
    } else if (mt_rank == 1) {
        /* Mprobe tag 2 first: the third message */
        MT_OK(MPI_Mprobe(0, 2, MPI_COMM_WORLD, &msg, &st));
        ASSERT_TRUE(msg != MPI_MESSAGE_NULL);
        ASSERT_STATUS(st, 0, 2);
        ASSERT_COUNT(st, MPI_INT, N - 2);
        /* the matched message is out of matching: the next probe of
         * tag 2 sees the fourth */
        MPI_Status st2;
        MT_OK(MPI_Probe(0, 2, MPI_COMM_WORLD, &st2));
        ASSERT_COUNT(st2, MPI_INT, N - 3);
        for (int i = 0; i < N; i++)
            buf[i] = -1;
        MT_OK(MPI_Mrecv(buf, N, MPI_INT, &msg, &st));
        ASSERT_TRUE(msg == MPI_MESSAGE_NULL);
        ASSERT_STATUS(st, 0, 2);
        ASSERT_COUNT(st, MPI_INT, N - 2);
        ASSERT_SEQ(buf, N - 2, i, 200 + i);
        ASSERT_EQ_INT(buf[N - 2], -1);

        /* Improbe loop with wildcards: first message of tag 1 */
        int flag = 0;
        while (!flag) {
            MT_OK(MPI_Improbe(MPI_ANY_SOURCE, 1, MPI_COMM_WORLD, &flag, &msg,
                              &st));
        }
        ASSERT_STATUS(st, 0, 1);
        ASSERT_COUNT(st, MPI_INT, N);
        MPI_Request r;
        for (int i = 0; i < N; i++)
            buf[i] = -1;
        MT_OK(MPI_Imrecv(buf, N, MPI_INT, &msg, &r));
        ASSERT_TRUE(msg == MPI_MESSAGE_NULL);
        MT_OK(MPI_Wait(&r, &st));
        ASSERT_STATUS(st, 0, 1);
        ASSERT_COUNT(st, MPI_INT, N);
        ASSERT_SEQ(buf, N, i, i);

        /* Mprobe ANY_TAG: the second message (tag 1), received with
         * MPI_STATUS_IGNORE */
        MT_OK(MPI_Mprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &msg, &st));
        ASSERT_STATUS(st, 0, 1);
        ASSERT_COUNT(st, MPI_INT, N - 1);
        MT_OK(MPI_Mrecv(buf, N, MPI_INT, &msg, MPI_STATUS_IGNORE));
        ASSERT_SEQ(buf, N - 1, i, 100 + i);

        /* the fourth with Improbe + Mrecv */
        flag = 0;
        while (!flag)
            MT_OK(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
                              &flag, &msg, &st));
        ASSERT_STATUS(st, 0, 2);
        MT_OK(MPI_Mrecv(buf, N, MPI_INT, &msg, &st));
        ASSERT_COUNT(st, MPI_INT, N - 3);
        ASSERT_SEQ(buf, N - 3, i, 300 + i);

        /* nothing left */
        MT_OK(MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag,
                          &msg, &st));
        ASSERT_EQ_INT(flag, 0);
    }

    /* MPI_PROC_NULL: MPI_MESSAGE_NO_PROC, status source MPI_PROC_NULL, tag
     * MPI_ANY_TAG, count 0 */
    MT_OK(MPI_Mprobe(MPI_PROC_NULL, 5, MPI_COMM_WORLD, &msg, &st));
    ASSERT_TRUE(msg == MPI_MESSAGE_NO_PROC);
    ASSERT_STATUS(st, MPI_PROC_NULL, MPI_ANY_TAG);
    MT_OK(MPI_Mrecv(buf, N, MPI_INT, &msg, &st));
    ASSERT_TRUE(msg == MPI_MESSAGE_NULL);
    ASSERT_STATUS(st, MPI_PROC_NULL, MPI_ANY_TAG);
    ASSERT_COUNT(st, MPI_INT, 0);
    MT_OK(MPI_Recv(buf, N, MPI_INT, MPI_PROC_NULL, 5, MPI_COMM_WORLD, &st));
    ASSERT_STATUS(st, MPI_PROC_NULL, MPI_ANY_TAG);
    ASSERT_COUNT(st, MPI_INT, 0);
    return mt_finish(MT_ALL);
}
