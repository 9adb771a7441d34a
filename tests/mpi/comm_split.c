/* MPI_Comm_split with MPI_UNDEFINED colour for some ranks (they get
 * MPI_COMM_NULL), ranks ordered by key, communication on the
 * sub-communicators alongside the same tags on MPI_COMM_WORLD, ids, and
 * MPI_Comm_free.  The last rank and, with 5 or more ranks, rank 2 stay out;
 * the rest split by parity of their world rank, keys reversing the
 * order. */
#include "mpitest.h"

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 3);
    int out = mt_rank == mt_size - 1 || (mt_size >= 5 && mt_rank == 2);
    int color = out ? MPI_UNDEFINED : mt_rank % 2;
    MPI_Comm sub;
    MT_OK(MPI_Comm_split(MPI_COMM_WORLD, color, -mt_rank, &sub));
    MPI_Status st;

    /* world ring with the tag the sub-communicators use */
    int right = (mt_rank + 1) % mt_size,
        left = (mt_rank + mt_size - 1) % mt_size;
    int w = -1, wv = 1000 + mt_rank;
    MPI_Request wr[2];
    MT_OK(MPI_Irecv(&w, 1, MPI_INT, left, 3, MPI_COMM_WORLD, &wr[0]));

    if (out) {
        ASSERT_TRUE(sub == MPI_COMM_NULL);
    } else {
        ASSERT_TRUE(sub != MPI_COMM_NULL);
        /* expected membership: same parity, not out, descending rank */
        int members[64], n = 0;
        for (int k = mt_size - 1; k >= 0; k--) {
            int kout = k == mt_size - 1 || (mt_size >= 5 && k == 2);
            if (!kout && k % 2 == color)
                members[n++] = k;
        }
        int srank = -1, ssize = -1;
        MT_OK(MPI_Comm_rank(sub, &srank));
        MT_OK(MPI_Comm_size(sub, &ssize));
        ASSERT_EQ_INT(ssize, n);
        if (srank >= 0 && srank < n)
            ASSERT_EQ_INT(members[srank], mt_rank);

        unsigned long long id = mpisnap_test_comm_id(sub), lo, hi;
        ASSERT_NE_INT(id, 0);
        ASSERT_TRUE(id != mpisnap_test_comm_id(MPI_COMM_WORLD));
        MT_OK(MPI_Allreduce(&id, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, sub));
        MT_OK(MPI_Allreduce(&id, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, sub));
        ASSERT_EQ_U64(lo, id);
        ASSERT_EQ_U64(hi, id);

        /* ring on the sub-communicator, tag 3 */
        int sr = (srank + 1) % ssize, sl = (srank + ssize - 1) % ssize;
        int v = -1, mine = 100 * color + srank;
        MT_OK(MPI_Sendrecv(&mine, 1, MPI_INT, sr, 3, &v, 1, MPI_INT,
                           MPI_ANY_SOURCE, 3, sub, &st));
        ASSERT_STATUS(st, sl, 3);
        ASSERT_EQ_INT(v, 100 * color + sl);

        /* a sum over the sub-communicator */
        int sum = -1;
        MT_OK(MPI_Allreduce(&mt_rank, &sum, 1, MPI_INT, MPI_SUM, sub));
        int expect = 0;
        for (int k = 0; k < n; k++)
            expect += members[k];
        ASSERT_EQ_INT(sum, expect);
    }
    MT_OK(MPI_Isend(&wv, 1, MPI_INT, right, 3, MPI_COMM_WORLD, &wr[1]));
    MT_OK(MPI_Waitall(2, wr, MPI_STATUSES_IGNORE));
    ASSERT_EQ_INT(w, 1000 + left);

    if (sub != MPI_COMM_NULL) {
        MT_OK(MPI_Comm_free(&sub));
        ASSERT_TRUE(sub == MPI_COMM_NULL);
    }
    /* a second split after the free, every rank in */
    MT_OK(MPI_Comm_split(MPI_COMM_WORLD, 0, mt_rank, &sub));
    int v = -1, srank;
    MT_OK(MPI_Comm_rank(sub, &srank));
    ASSERT_EQ_INT(srank, mt_rank);
    MT_OK(MPI_Sendrecv(&mt_rank, 1, MPI_INT, right, 3, &v, 1, MPI_INT, left, 3,
                       sub, &st));
    ASSERT_EQ_INT(v, left);
    MT_OK(MPI_Comm_free(&sub));
    return mt_finish(MT_ALL);
}
