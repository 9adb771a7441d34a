/* A receive buffer too small, under MPI_ERRORS_RETURN: the error class is
 * MPI_ERR_TRUNCATE for Recv, Irecv + Wait, Irecv + Waitall
 * (MPI_ERR_IN_STATUS, status.MPI_ERROR) and Mprobe + Mrecv; the truncated
 * message is consumed and the stream goes on. */
#include "mpitest.h"

enum { N = 10, SMALL = 5 };

static int err_class(int rc)
{
    int cls = -1;
    MPI_Error_class(rc, &cls);
    return cls;
}

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MT_OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_Status st, sts[2];
    MPI_Request r[2];
    MPI_Message msg;
    int buf[N], rc;

    if (mt_rank == 0) {
        for (int i = 0; i < N; i++)
            buf[i] = 100 + i;
        for (int tag = 1; tag <= 5; tag++) {
            MT_OK(MPI_Send(buf, N, MPI_INT, 1, tag, MPI_COMM_WORLD));
            /* the next message of the same stream */
            MT_OK(MPI_Send(buf, 3, MPI_INT, 1, tag, MPI_COMM_WORLD));
        }
    } else if (mt_rank == 1) {
        int small[SMALL + 1];

        /* Recv */
        rc = MPI_Recv(small, SMALL, MPI_INT, 0, 1, MPI_COMM_WORLD, &st);
        ASSERT_EQ_INT(err_class(rc), MPI_ERR_TRUNCATE);
        ASSERT_STATUS(st, 0, 1);
        MT_OK(MPI_Recv(buf, N, MPI_INT, 0, 1, MPI_COMM_WORLD, &st));
        ASSERT_COUNT(st, MPI_INT, 3);
        ASSERT_SEQ(buf, 3, i, 100 + i);

        /* Irecv + Wait: Open MPI reports it as Wait's return code */
        MT_OK(MPI_Irecv(small, SMALL, MPI_INT, 0, 2, MPI_COMM_WORLD, &r[0]));
        st.MPI_ERROR = -12345;
        rc = MPI_Wait(&r[0], &st);
        ASSERT_EQ_INT(err_class(rc), MPI_ERR_TRUNCATE);
        ASSERT_TRUE(r[0] == MPI_REQUEST_NULL);
        ASSERT_STATUS(st, 0, 2);
        MT_OK(MPI_Recv(buf, N, MPI_INT, 0, 2, MPI_COMM_WORLD, &st));
        ASSERT_COUNT(st, MPI_INT, 3);

        /* Waitall: MPI_ERR_IN_STATUS, the error in the status */
        int big[N];
        MT_OK(MPI_Irecv(small, SMALL, MPI_INT, 0, 3, MPI_COMM_WORLD, &r[0]));
        MT_OK(MPI_Irecv(big, N, MPI_INT, 0, 3, MPI_COMM_WORLD, &r[1]));
        sts[0].MPI_ERROR = sts[1].MPI_ERROR = -12345;
        rc = MPI_Waitall(2, r, sts);
        ASSERT_EQ_INT(err_class(rc), MPI_ERR_IN_STATUS);
        ASSERT_EQ_INT(err_class(sts[0].MPI_ERROR), MPI_ERR_TRUNCATE);
        ASSERT_EQ_INT(sts[1].MPI_ERROR, MPI_SUCCESS);
        ASSERT_STATUS(sts[1], 0, 3);
        ASSERT_COUNT(sts[1], MPI_INT, 3);
        ASSERT_SEQ(big, 3, i, 100 + i);

        /* Mprobe + Mrecv */
        MT_OK(MPI_Mprobe(0, 4, MPI_COMM_WORLD, &msg, &st));
        ASSERT_COUNT(st, MPI_INT, N);
        rc = MPI_Mrecv(small, SMALL, MPI_INT, &msg, &st);
        ASSERT_EQ_INT(err_class(rc), MPI_ERR_TRUNCATE);
        MT_OK(MPI_Recv(buf, N, MPI_INT, 0, 4, MPI_COMM_WORLD, &st));
        ASSERT_COUNT(st, MPI_INT, 3);

        /* Irecv + Test loop */
        MT_OK(MPI_Irecv(small, SMALL, MPI_INT, 0, 5, MPI_COMM_WORLD, &r[0]));
        int flag = 0;
        rc = MPI_SUCCESS;
        while (!flag && rc == MPI_SUCCESS)
            rc = MPI_Test(&r[0], &flag, &st);
        ASSERT_EQ_INT(err_class(rc), MPI_ERR_TRUNCATE);
        MT_OK(MPI_Recv(buf, N, MPI_INT, 0, 5, MPI_COMM_WORLD, &st));
        ASSERT_COUNT(st, MPI_INT, 3);
    }
    return mt_finish(MT_ALL);
}
