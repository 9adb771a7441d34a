/* MPI_Request_get_status (issue 10, defect 17; MPICH pt2pt/rqstatus): on
 * MPI_REQUEST_NULL, flag true and the empty status (also with
 * MPI_STATUS_IGNORE); on a receive that has matched (the sender's Ssend
 * returned before the barrier) flag true and the message's status while
 * the request stays; MPI_Wait then completes it with the same status.
 * Library matching must match the held receive while the receiver blocks
 * in the barrier. */
#include "mpitest.h"

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MPI_Status st, st2;
    MPI_Request r = MPI_REQUEST_NULL;
    int flag = 0, buf[2] = {-1, -1};
    const int src = 0, dst = mt_size - 1;

    st.MPI_SOURCE = st.MPI_TAG = 1234;
    st.MPI_ERROR = MPI_ERR_OTHER;
    MT_OK(MPI_Request_get_status(MPI_REQUEST_NULL, &flag, &st));
    ASSERT_EQ_INT(flag, 1);
    ASSERT_EMPTY_STATUS(st);
    ASSERT_EQ_INT(st.MPI_ERROR, MPI_SUCCESS);
    flag = 0;
    MT_OK(MPI_Request_get_status(MPI_REQUEST_NULL, &flag, MPI_STATUS_IGNORE));
    ASSERT_EQ_INT(flag, 1);

    if (mt_rank == src) {
        int v[2] = {mt_size, 3};
        MT_OK(MPI_Ssend(v, 2, MPI_INT, dst, 10, MPI_COMM_WORLD));
    } else if (mt_rank == dst) {
        MT_OK(MPI_Irecv(buf, 2, MPI_INT, src, 10, MPI_COMM_WORLD, &r));
    }
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    if (mt_rank == dst) {
        st.MPI_SOURCE = st.MPI_TAG = -1;
        flag = 0;
        MT_OK(MPI_Request_get_status(r, &flag, &st));
        ASSERT_EQ_INT(flag, 1);
        ASSERT_TRUE(r != MPI_REQUEST_NULL);
        ASSERT_STATUS(st, src, 10);
        ASSERT_COUNT(st, MPI_INT, 2);
        MT_OK(MPI_Wait(&r, &st2));
        ASSERT_TRUE(r == MPI_REQUEST_NULL);
        ASSERT_STATUS(st2, src, 10);
        ASSERT_COUNT(st2, MPI_INT, 2);
        ASSERT_EQ_INT(buf[0], mt_size);
        ASSERT_EQ_INT(buf[1], 3);
    }
    return mt_finish(MT_ALL);
}
