/* A non-periodic halo exchange (issue 10, defect 6): each rank exchanges
 * with its left and right neighbours on a line, the end ranks with
 * MPI_PROC_NULL.  Open MPI hands out one shared static request for every
 * Irecv/Isend to MPI_PROC_NULL (and for sends that complete at once), so
 * several live application handles are equal; they complete through
 * Waitall, Waitany and Testsome.  After each step no request may be left
 * pending, and a checkpoint snapshot requested by rank 0 must commit. */
#include <string.h>

#include "mpitest.h"

enum { STEPS_MAX = 2000, NREQ = 8 };

static int left, right;

/* One exchange: 4 real-or-null requests plus 4 always-null ones, in an
 * order that mixes them; completed with completion form `form`. */
static void exchange(int step, int form)
{
    MPI_Request r[NREQ];
    MPI_Status sts[NREQ];
    int from_left = -1, from_right = -1, sl = step * 10 + mt_rank,
        sr = step * 10 + mt_rank, junk[4] = {-1, -1, -1, -1}, v = 7;
    int idx, n, ind[NREQ], done = 0, i;

    MT_OK(MPI_Irecv(&from_left, 1, MPI_INT, left, 1, MPI_COMM_WORLD, &r[0]));
    MT_OK(MPI_Isend(&v, 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD, &r[1]));
    MT_OK(MPI_Irecv(&from_right, 1, MPI_INT, right, 2, MPI_COMM_WORLD, &r[2]));
    MT_OK(MPI_Irecv(&junk[0], 1, MPI_INT, MPI_PROC_NULL, 1, MPI_COMM_WORLD,
                    &r[3]));
    MT_OK(MPI_Isend(&sl, 1, MPI_INT, left, 2, MPI_COMM_WORLD, &r[4]));
    MT_OK(MPI_Irecv(&junk[1], 1, MPI_INT, MPI_PROC_NULL, 2, MPI_COMM_WORLD,
                    &r[5]));
    MT_OK(MPI_Isend(&sr, 1, MPI_INT, right, 1, MPI_COMM_WORLD, &r[6]));
    MT_OK(MPI_Isend(&v, 1, MPI_INT, MPI_PROC_NULL, 2, MPI_COMM_WORLD, &r[7]));

    switch (form) {
    case 0:
        MT_OK(MPI_Waitall(NREQ, r, sts));
        break;
    case 1:
        for (i = 0; i < NREQ; i++) {
            MT_OK(MPI_Waitany(NREQ, r, &idx, &sts[0]));
            ASSERT_CMP_INT(idx, >=, 0);
        }
        MT_OK(MPI_Waitany(NREQ, r, &idx, &sts[0]));
        ASSERT_EQ_INT(idx, MPI_UNDEFINED);
        break;
    default:
        while (done < NREQ) {
            MT_OK(MPI_Testsome(NREQ, r, &n, ind, sts));
            ASSERT_NE_INT(n, MPI_UNDEFINED);
            if (n == MPI_UNDEFINED)
                break;
            done += n;
        }
        MT_OK(MPI_Testsome(NREQ, r, &n, ind, sts));
        ASSERT_EQ_INT(n, MPI_UNDEFINED);
        break;
    }
    for (i = 0; i < NREQ; i++)
        ASSERT_TRUE(r[i] == MPI_REQUEST_NULL);
    ASSERT_EQ_INT(from_left, left == MPI_PROC_NULL ? -1 : step * 10 + left);
    ASSERT_EQ_INT(from_right, right == MPI_PROC_NULL ? -1 : step * 10 + right);
    ASSERT_SEQ(junk, 4, k, -1);
    ASSERT_EQ_INT(mpisnap_test_pending(), 0);
}

int main(int argc, char **argv)
{
    /* Own snapshot directory (observation mode brings its own); never
     * restore from an earlier run's snapshot. */
    setenv("MPISNAP_DIR", "proc_null_halo-snapshots", 0);
    setenv("MPISNAP_RESTART", "never", 1);
    mt_init(&argc, &argv, 2);
    int step, state = 0;

    left = mt_rank == 0 ? MPI_PROC_NULL : mt_rank - 1;
    right = mt_rank == mt_size - 1 ? MPI_PROC_NULL : mt_rank + 1;
    MT_OK(mpisnap_protect("state", &state, 1, MPI_INT));

    for (step = 0; step < 3; step++)
        exchange(step, step);
    if (mt_rank == 0)
        MT_OK(mpisnap_request());
    for (; step < STEPS_MAX; step++) {
        int rc = mpisnap_point();
        ASSERT_CMP_INT(rc, >=, 0);
        exchange(step, step % 3);
        state = step;
        /* Stop when every rank has committed, or at the first failure. */
        int stop[2] = {mpisnap_last_committed() < 0, mt_failures > 0};
        MT_OK(MPI_Allreduce(MPI_IN_PLACE, stop, 2, MPI_INT, MPI_MAX,
                            MPI_COMM_WORLD));
        if (!stop[0] || stop[1])
            break;
    }
    ASSERT_CMP_INT(mpisnap_last_committed(), >=, 0);
    return mt_finish(MT_ALL);
}
