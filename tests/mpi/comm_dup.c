/* Messages do not cross communicators: the same (source, tag) on
 * MPI_COMM_WORLD, its dup and a dup of the dup; and the library's
 * communicator ids.  3 ranks: 0 and 2 send to 1. */
#include "mpitest.h"

static void check_id(MPI_Comm comm, unsigned long long other)
{
    unsigned long long id = mpisnap_test_comm_id(comm), lo, hi;
    ASSERT_NE_INT(id, 0);
    ASSERT_TRUE(id != other);
    MT_OK(MPI_Allreduce(&id, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, comm));
    MT_OK(MPI_Allreduce(&id, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, comm));
    ASSERT_EQ_U64(lo, id);
    ASSERT_EQ_U64(hi, id);
}

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 3);
    MPI_Comm dup, dup2;
    MT_OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
    MT_OK(MPI_Comm_dup(dup, &dup2));
    unsigned long long wid = mpisnap_test_comm_id(MPI_COMM_WORLD);
    ASSERT_NE_INT(wid, 0);
    check_id(dup, wid);
    check_id(dup2, wid);
    ASSERT_TRUE(mpisnap_test_comm_id(dup) != mpisnap_test_comm_id(dup2));

    MPI_Comm comms[3] = {MPI_COMM_WORLD, dup, dup2};
    MPI_Status st;
    if (mt_rank == 0 || mt_rank == 2) {
        /* the dup's messages first, world's last, same tag */
        for (int c = 2; c >= 0; c--)
            for (int m = 0; m < 3; m++) {
                int v = 1000 * mt_rank + 100 * c + m;
                MT_OK(MPI_Send(&v, 1, MPI_INT, 1, 5, comms[c]));
            }
    } else if (mt_rank == 1) {
        /* world first, with explicit and wildcard source */
        for (int c = 0; c < 3; c++) {
            for (int m = 0; m < 3; m++) {
                int v = -1;
                MT_OK(MPI_Recv(&v, 1, MPI_INT, 0, 5, comms[c], &st));
                ASSERT_STATUS(st, 0, 5);
                ASSERT_EQ_INT(v, 100 * c + m);
            }
            for (int m = 0; m < 3; m++) {
                int v = -1;
                MT_OK(MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG,
                               comms[c], &st));
                ASSERT_STATUS(st, 2, 5);
                ASSERT_EQ_INT(v, 2000 + 100 * c + m);
            }
        }
    }

    /* nonblocking receives on all three posted before any send */
    int v[3] = {-1, -1, -1};
    MPI_Request r[3];
    if (mt_rank == 1)
        for (int c = 0; c < 3; c++)
            MT_OK(MPI_Irecv(&v[c], 1, MPI_INT, 0, 9, comms[c], &r[c]));
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    if (mt_rank == 0)
        for (int c = 2; c >= 0; c--) {
            int x = 70 + c;
            MT_OK(MPI_Send(&x, 1, MPI_INT, 1, 9, comms[c]));
        }
    if (mt_rank == 1) {
        MPI_Status sts[3];
        MT_OK(MPI_Waitall(3, r, sts));
        for (int c = 0; c < 3; c++) {
            ASSERT_STATUS(sts[c], 0, 9);
            ASSERT_EQ_INT(v[c], 70 + c);
        }
    }

    return mt_finish(MT_ALL);
}
