/* Cancelling a receive that never matches: MPI_Cancel, MPI_Wait,
 * MPI_Test_cancelled true; afterwards a message on the same stream still
 * arrives, at the next receive.  Also the cancelled persistent receive and
 * the wildcard receive. */
#include "mpitest.h"

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MPI_Status st;
    MPI_Request r;
    int x = -1, flag = -1;

    if (mt_rank == 1) {
        /* a specific and a wildcard receive, both cancelled */
        MT_OK(MPI_Irecv(&x, 1, MPI_INT, 0, 9, MPI_COMM_WORLD, &r));
        MT_OK(MPI_Cancel(&r));
        MT_OK(MPI_Wait(&r, &st));
        ASSERT_TRUE(r == MPI_REQUEST_NULL);
        MT_OK(MPI_Test_cancelled(&st, &flag));
        ASSERT_EQ_INT(flag, 1);

        MT_OK(MPI_Irecv(&x, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG,
                        MPI_COMM_WORLD, &r));
        MT_OK(MPI_Cancel(&r));
        flag = 0;
        while (!flag)
            MT_OK(MPI_Test(&r, &flag, &st));
        MT_OK(MPI_Test_cancelled(&st, &flag));
        ASSERT_EQ_INT(flag, 1);

        /* persistent: cancel, complete, start again later */
        MPI_Request p;
        MT_OK(MPI_Recv_init(&x, 1, MPI_INT, 0, 9, MPI_COMM_WORLD, &p));
        MT_OK(MPI_Start(&p));
        MT_OK(MPI_Cancel(&p));
        MT_OK(MPI_Wait(&p, &st));
        ASSERT_TRUE(p != MPI_REQUEST_NULL);
        MT_OK(MPI_Test_cancelled(&st, &flag));
        ASSERT_EQ_INT(flag, 1);
        ASSERT_EQ_INT(x, -1);

        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        /* the sends: the first goes to a fresh Recv, the second to the
         * restarted persistent receive */
        MT_OK(MPI_Recv(&x, 1, MPI_INT, 0, 9, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, 0, 9);
        MT_OK(MPI_Test_cancelled(&st, &flag));
        ASSERT_EQ_INT(flag, 0);
        ASSERT_EQ_INT(x, 901);
        MT_OK(MPI_Start(&p));
        MT_OK(MPI_Wait(&p, &st));
        ASSERT_STATUS(st, 0, 9);
        MT_OK(MPI_Test_cancelled(&st, &flag));
        ASSERT_EQ_INT(flag, 0);
        ASSERT_EQ_INT(x, 902);
        MT_OK(MPI_Request_free(&p));
    } else {
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        if (mt_rank == 0) {
            int v = 901;
            MT_OK(MPI_Send(&v, 1, MPI_INT, 1, 9, MPI_COMM_WORLD));
            v = 902;
            MT_OK(MPI_Send(&v, 1, MPI_INT, 1, 9, MPI_COMM_WORLD));
        }
    }

    /* a cancelled receive posted after the message was sent may either
     * match (not cancelled) or be cancelled; either way exactly one
     * receive gets it */
    if (mt_rank == 0) {
        int v = 903;
        MT_OK(MPI_Send(&v, 1, MPI_INT, 1, 10, MPI_COMM_WORLD));
    } else if (mt_rank == 1) {
        x = -1;
        MT_OK(MPI_Probe(0, 10, MPI_COMM_WORLD, &st));
        MT_OK(MPI_Irecv(&x, 1, MPI_INT, 0, 10, MPI_COMM_WORLD, &r));
        MT_OK(MPI_Cancel(&r));
        MT_OK(MPI_Wait(&r, &st));
        MT_OK(MPI_Test_cancelled(&st, &flag));
        if (flag) {
            ASSERT_EQ_INT(x, -1);
            MT_OK(MPI_Recv(&x, 1, MPI_INT, 0, 10, MPI_COMM_WORLD, &st));
        }
        ASSERT_STATUS(st, 0, 10);
        ASSERT_EQ_INT(x, 903);
    }
    return mt_finish(MT_ALL);
}
