/* Non-overtaking across tags (fuzz seed 504, finding E).  Rank 1 posts an
 * ANY_TAG receive, then a receive of tag B, both from rank 0; rank 0 then
 * sends tag A, then tag B.  The ANY_TAG receive must get the tag-A message
 * (sent first), the tag-B receive the tag-B one.  Rank 1 sleeps while both
 * messages arrive, so that one progress pass finds them together. */
#include "mpitest.h"

enum { A = 13, B = 11, ITER = 10 };

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MPI_Request r[2];
    MPI_Status st[2];

    for (int it = 0, bad = 0; it < ITER && !bad; it++) {
        int any = -1, b = -1, x = 100 + it, y = 200 + it;
        if (mt_rank == 1) {
            MT_OK(MPI_Irecv(&any, 1, MPI_INT, 0, MPI_ANY_TAG, MPI_COMM_WORLD,
                            &r[0]));
            MT_OK(MPI_Irecv(&b, 1, MPI_INT, 0, B, MPI_COMM_WORLD, &r[1]));
        }
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        if (mt_rank == 0) {
            mt_sleep_ms(10); /* rank 1 is asleep too, out of MPI */
            MT_OK(MPI_Send(&x, 1, MPI_INT, 1, A, MPI_COMM_WORLD));
            MT_OK(MPI_Send(&y, 1, MPI_INT, 1, B, MPI_COMM_WORLD));
        } else if (mt_rank == 1) {
            mt_sleep_ms(50);
            MT_OK(MPI_Wait(&r[0], &st[0]));
            ASSERT_STATUS(st[0], 0, A);
            ASSERT_EQ_INT(any, 100 + it);
            if (st[0].MPI_TAG != A) { /* the tag-B receive would hang */
                MT_OK(MPI_Cancel(&r[1]));
                MT_OK(MPI_Wait(&r[1], &st[1]));
            } else {
                MT_OK(MPI_Wait(&r[1], &st[1]));
                ASSERT_STATUS(st[1], 0, B);
                ASSERT_EQ_INT(b, 200 + it);
            }
        }
        bad = mt_failures;
        MT_OK(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX,
                            MPI_COMM_WORLD));
    }
    return mt_finish(MT_ALL);
}
