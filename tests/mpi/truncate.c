/* A receive buffer too small, under MPI_ERRORS_RETURN: the error class is
 * MPI_ERR_TRUNCATE for Recv, Irecv + Wait, Mprobe + Mrecv, Irecv + Test,
 * Irecv + Waitany; MPI_ERR_IN_STATUS with the error in status.MPI_ERROR
 * for Waitall, Waitsome and Testall.  Single-completion calls leave
 * status.MPI_ERROR alone (MPI 3.1 section 3.2.5; Open MPI does).  The
 * truncated message is consumed and the stream goes on. */
#include "mpitest.h"

enum { N = 10, SMALL = 5, SENTINEL = -12345 };

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
        for (int tag = 1; tag <= 8; tag++) {
            MT_OK(MPI_Send(buf, N, MPI_INT, 1, tag, MPI_COMM_WORLD));
            /* the next message of the same stream */
            MT_OK(MPI_Send(buf, 3, MPI_INT, 1, tag, MPI_COMM_WORLD));
        }
    } else if (mt_rank == 1) {
        int small[SMALL + 1];

        /* Recv */
        st.MPI_ERROR = SENTINEL;
        rc = MPI_Recv(small, SMALL, MPI_INT, 0, 1, MPI_COMM_WORLD, &st);
        ASSERT_EQ_INT(err_class(rc), MPI_ERR_TRUNCATE);
        ASSERT_STATUS(st, 0, 1);
        ASSERT_EQ_INT(st.MPI_ERROR, SENTINEL);
        st.MPI_ERROR = SENTINEL;
        MT_OK(MPI_Recv(buf, N, MPI_INT, 0, 1, MPI_COMM_WORLD, &st));
        ASSERT_COUNT(st, MPI_INT, 3);
        ASSERT_SEQ(buf, 3, i, 100 + i);
        ASSERT_EQ_INT(st.MPI_ERROR, SENTINEL);

        /* Irecv + Wait: Wait returns the error */
        MT_OK(MPI_Irecv(small, SMALL, MPI_INT, 0, 2, MPI_COMM_WORLD, &r[0]));
        st.MPI_ERROR = SENTINEL;
        rc = MPI_Wait(&r[0], &st);
        ASSERT_EQ_INT(err_class(rc), MPI_ERR_TRUNCATE);
        ASSERT_TRUE(r[0] == MPI_REQUEST_NULL);
        ASSERT_STATUS(st, 0, 2);
        ASSERT_EQ_INT(st.MPI_ERROR, SENTINEL);
        MT_OK(MPI_Recv(buf, N, MPI_INT, 0, 2, MPI_COMM_WORLD, &st));
        ASSERT_COUNT(st, MPI_INT, 3);

        /* Waitall: MPI_ERR_IN_STATUS, the error in the status */
        int big[N];
        MT_OK(MPI_Irecv(small, SMALL, MPI_INT, 0, 3, MPI_COMM_WORLD, &r[0]));
        MT_OK(MPI_Irecv(big, N, MPI_INT, 0, 3, MPI_COMM_WORLD, &r[1]));
        sts[0].MPI_ERROR = sts[1].MPI_ERROR = SENTINEL;
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
        ASSERT_TRUE(r[0] == MPI_REQUEST_NULL);
        MT_OK(MPI_Recv(buf, N, MPI_INT, 0, 5, MPI_COMM_WORLD, &st));
        ASSERT_COUNT(st, MPI_INT, 3);

        /* Waitany: the error returned, the index set */
        int idx = -1;
        r[1] = MPI_REQUEST_NULL;
        MT_OK(MPI_Irecv(small, SMALL, MPI_INT, 0, 6, MPI_COMM_WORLD, &r[0]));
        rc = MPI_Waitany(2, r, &idx, &st);
        ASSERT_EQ_INT(err_class(rc), MPI_ERR_TRUNCATE);
        ASSERT_EQ_INT(idx, 0);
        MT_OK(MPI_Recv(buf, N, MPI_INT, 0, 6, MPI_COMM_WORLD, &st));
        ASSERT_COUNT(st, MPI_INT, 3);

        /* Waitsome: MPI_ERR_IN_STATUS whenever the truncated one is among
         * those completed, and then every completed status has its error */
        int ind[2], out = 0, got = 0, calls = 0, truncated_seen = 0;
        MT_OK(MPI_Irecv(small, SMALL, MPI_INT, 0, 7, MPI_COMM_WORLD, &r[0]));
        MT_OK(MPI_Irecv(big, N, MPI_INT, 0, 7, MPI_COMM_WORLD, &r[1]));
        while (got < 2 && calls++ < 10) {
            sts[0].MPI_ERROR = sts[1].MPI_ERROR = SENTINEL;
            rc = MPI_Waitsome(2, r, &out, ind, sts);
            ASSERT_CMP_INT(out, >=, 1);
            if (out < 1 || out > 2)
                break;
            int has0 = ind[0] == 0 || (out == 2 && ind[1] == 0);
            ASSERT_EQ_INT(err_class(rc),
                          has0 ? MPI_ERR_IN_STATUS : MPI_SUCCESS);
            for (int k = 0; k < out && has0; k++) {
                if (ind[k] == 0) {
                    ASSERT_EQ_INT(err_class(sts[k].MPI_ERROR),
                                  MPI_ERR_TRUNCATE);
                    truncated_seen = 1;
                } else {
                    ASSERT_EQ_INT(sts[k].MPI_ERROR, MPI_SUCCESS);
                    ASSERT_COUNT(sts[k], MPI_INT, 3);
                }
            }
            got += out;
        }
        ASSERT_EQ_INT(got, 2);
        ASSERT_EQ_INT(truncated_seen, 1);
        ASSERT_SEQ(big, 3, i, 100 + i);

        /* Testall: as Waitall */
        MT_OK(MPI_Irecv(small, SMALL, MPI_INT, 0, 8, MPI_COMM_WORLD, &r[0]));
        MT_OK(MPI_Irecv(big, N, MPI_INT, 0, 8, MPI_COMM_WORLD, &r[1]));
        flag = 0;
        rc = MPI_SUCCESS;
        while (!flag && rc == MPI_SUCCESS) {
            sts[0].MPI_ERROR = sts[1].MPI_ERROR = SENTINEL;
            rc = MPI_Testall(2, r, &flag, sts);
        }
        ASSERT_EQ_INT(flag, 1);
        ASSERT_EQ_INT(err_class(rc), MPI_ERR_IN_STATUS);
        ASSERT_EQ_INT(err_class(sts[0].MPI_ERROR), MPI_ERR_TRUNCATE);
        ASSERT_EQ_INT(sts[1].MPI_ERROR, MPI_SUCCESS);
        ASSERT_COUNT(sts[1], MPI_INT, 3);
    }
    return mt_finish(MT_ALL);
}
