/* Non-overtaking across tags for MPI_Mprobe (fuzz seed 3 over TCP): rank 1
 * posts an ANY_TAG receive from rank 0, then matches tag B with MPI_Mprobe
 * while rank 0 sends tag A (small) then tag B (larger).  The ANY_TAG
 * receive must get the tag-A message, MPI_Mprobe the tag-B one.  Under
 * library matching the race is in how the probe treats a message that
 * arrives while it looks; many tight iterations give it chances. */
#include "mpitest.h"

enum { A = 13, B = 11, ITER = 2000, NB_ = 16 };

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);

    for (int it = 0, bad = 0; it < ITER && !bad; it++) {
        int a = -1, x = it, b[NB_] = {0}, y[NB_], count = 0;
        MPI_Request r;
        MPI_Message m;
        MPI_Status st;

        for (int i = 0; i < NB_; i++)
            y[i] = it + i;
        if (mt_rank == 1)
            MT_OK(
                MPI_Irecv(&a, 1, MPI_INT, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &r));
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        if (mt_rank == 0) {
            MT_OK(MPI_Send(&x, 1, MPI_INT, 1, A, MPI_COMM_WORLD));
            MT_OK(MPI_Send(y, NB_, MPI_INT, 1, B, MPI_COMM_WORLD));
        } else if (mt_rank == 1) {
            MT_OK(MPI_Mprobe(0, B, MPI_COMM_WORLD, &m, &st));
            ASSERT_STATUS(st, 0, B);
            MPI_Get_count(&st, MPI_INT, &count);
            ASSERT_EQ_INT(count, NB_);
            if (count == NB_) {
                MT_OK(MPI_Mrecv(b, NB_, MPI_INT, &m, &st));
                ASSERT_EQ_INT(b[NB_ - 1], it + NB_ - 1);
            }
            MT_OK(MPI_Wait(&r, &st));
            ASSERT_STATUS(st, 0, A);
            ASSERT_EQ_INT(a, it);
        }
        bad = mt_failures;
        MT_OK(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX,
                            MPI_COMM_WORLD));
    }
    return mt_finish(MT_ALL);
}
