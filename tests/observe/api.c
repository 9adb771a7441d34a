/* The observation API: mpisnap_observe, mpisnap_property,
 * mpisnap_observed and mpisnap_view_region, on 3 or more ranks.
 *
 * Run with MPISNAP_OBSERVE=1 (argument "on", or "on-mprobe": rank 1
 * receives with MPI_Mprobe + MPI_Mrecv, or "on-imrecv": rank 1 matches
 * 42 with MPI_Mprobe and posts MPI_Imrecv before the observation, and
 * completes it only after) and without ("off").
 *
 * on: every rank registers three properties over a protected int `x`
 *     (rank + 1) and the messages in flight to it: "sum" adds x and the
 *     ints in flight, "min" and "max" take x.  Rank 0 sends 42 to rank 1
 *     and then observes; rank 1 receives it only after the observation has
 *     begun, so 42 is in flight at the cut and must come back through the
 *     view.  Expected: sum = n(n+1)/2 + 42, min 1, max n, all complete. */
#include <string.h>

#include <mpisnap.h>

#include "mpitest.h"

static int x;

static double sum_fn(const struct mpisnap_view *v, void *arg)
{
    size_t count = 0;
    const int *p = mpisnap_view_region(v, "x", &count);
    double s;
    int val;

    ASSERT_TRUE(p != NULL);
    ASSERT_EQ_INT((int)count, 1);
    ASSERT_TRUE(mpisnap_view_region(v, "no such region", NULL) == NULL);
    ASSERT_TRUE(arg == &x);
    s = p ? *p : 0;
    for (size_t i = 0; i < v->nmsgs; i++) {
        /* The empty warm-up message (tag 8) may be in flight too. */
        ASSERT_EQ_INT((int)v->msgs[i].nbytes,
                      v->msgs[i].tag == 8 ? 0 : (int)sizeof val);
        ASSERT_EQ_INT(v->msgs[i].source, 0);
        ASSERT_TRUE(v->msgs[i].comm == MPI_COMM_WORLD);
        if (v->msgs[i].tag == 9) {
            memcpy(&val, v->msgs[i].data, sizeof val);
            s += val;
        }
    }
    return s;
}

static double x_fn(const struct mpisnap_view *v, void *arg)
{
    const int *p = mpisnap_view_region(v, "x", NULL);

    (void)arg;
    return p ? *p : -1;
}

int main(int argc, char **argv)
{
    int on = argc > 1 && !strncmp(argv[1], "on", 2), val = 0, flag;
    int mprobe = argc > 1 && !strcmp(argv[1], "on-mprobe");
    int imrecv = argc > 1 && !strcmp(argv[1], "on-imrecv");
    MPI_Request req = MPI_REQUEST_NULL;
    double v = -1;
    long long id = -7;

    mt_init(&argc, &argv, 3);
    x = mt_rank + 1;
    MT_OK(mpisnap_protect("x", &x, 1, MPI_INT));

    /* Bad arguments. */
    ASSERT_EQ_INT(mpisnap_property(NULL, x_fn, MPISNAP_MIN, NULL),
                  MPISNAP_EINVAL);
    ASSERT_EQ_INT(mpisnap_property("p", NULL, MPISNAP_MIN, NULL),
                  MPISNAP_EINVAL);
    ASSERT_EQ_INT(mpisnap_property("p", x_fn, (enum mpisnap_op)7, NULL),
                  MPISNAP_EINVAL);
    ASSERT_EQ_INT(mpisnap_observed("not registered", &v, &id), MPISNAP_EINVAL);

    MT_OK(mpisnap_property("sum", sum_fn, MPISNAP_SUM, &x));
    MT_OK(mpisnap_property("min", x_fn, MPISNAP_MIN, NULL));
    MT_OK(mpisnap_property("max", x_fn, MPISNAP_MAX, NULL));
    ASSERT_EQ_INT(mpisnap_property("max", x_fn, MPISNAP_MAX, NULL),
                  MPISNAP_EEXIST);
    ASSERT_EQ_INT(mpisnap_observed("sum", &v, &id), 0); /* none yet */

    if (!on) {
        ASSERT_EQ_INT(mpisnap_observe(), MPISNAP_ESTATE);
        return mt_finish(MT_ALL);
    }

    if (mt_rank == 0) {
        MT_OK(MPI_Send(&val, 0, MPI_INT, 1, 8, MPI_COMM_WORLD)); /* warm */
        val = 42;
        MT_OK(MPI_Send(&val, 1, MPI_INT, 1, 9, MPI_COMM_WORLD));
        if (imrecv) /* rank 1 has matched 42 */
            MT_OK(MPI_Recv(NULL, 0, MPI_INT, 1, 7, MPI_COMM_WORLD,
                           MPI_STATUS_IGNORE));
        MT_OK(mpisnap_observe());
        if (imrecv) /* sent after the cut: rank 1 records first */
            MT_OK(MPI_Send(NULL, 0, MPI_INT, 1, 6, MPI_COMM_WORLD));
    } else if (mt_rank == 1) {
        MT_OK(MPI_Recv(&val, 0, MPI_INT, 0, 8, MPI_COMM_WORLD,
                       MPI_STATUS_IGNORE));
        if (imrecv) {
            /* Received for MPI, not for the program until the Wait: in
             * flight at the cut, so 42 must come back through the view. */
            MPI_Message msg;
            MT_OK(MPI_Mprobe(0, 9, MPI_COMM_WORLD, &msg, MPI_STATUS_IGNORE));
            MT_OK(MPI_Imrecv(&val, 1, MPI_INT, &msg, &req));
            MT_OK(MPI_Send(NULL, 0, MPI_INT, 0, 7, MPI_COMM_WORLD));
            MT_OK(MPI_Recv(NULL, 0, MPI_INT, 0, 6, MPI_COMM_WORLD,
                           MPI_STATUS_IGNORE));
        }
    }
    /* Rank 0 records before the barrier; rank 1 at the latest when its
     * receive below completes (a marker is always looked for first). */
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    if (mt_rank == 1 && imrecv) {
        MT_OK(MPI_Wait(&req, MPI_STATUS_IGNORE));
        ASSERT_EQ_INT(val, 42);
    } else if (mt_rank == 1 && !mprobe) {
        MT_OK(MPI_Recv(&val, 1, MPI_INT, 0, 9, MPI_COMM_WORLD,
                       MPI_STATUS_IGNORE));
        ASSERT_EQ_INT(val, 42);
    } else if (mt_rank == 1) {
        MPI_Message msg;
        MT_OK(MPI_Mprobe(0, 9, MPI_COMM_WORLD, &msg, MPI_STATUS_IGNORE));
        MT_OK(MPI_Mrecv(&val, 1, MPI_INT, &msg, MPI_STATUS_IGNORE));
        ASSERT_EQ_INT(val, 42);
    }
    while (mpisnap_observed("sum", &v, &id) != 1)
        MT_OK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag,
                         MPI_STATUS_IGNORE));
    ASSERT_EQ_DBL(v, mt_size * (mt_size + 1) / 2.0 + 42);
    ASSERT_CMP_INT((int)id, >=, 0);
    ASSERT_EQ_INT(mpisnap_observed("min", &v, NULL), 1);
    ASSERT_EQ_DBL(v, 1);
    ASSERT_EQ_INT(mpisnap_observed("max", &v, NULL), 1);
    ASSERT_EQ_DBL(v, mt_size);
    return mt_finish(MT_ALL);
}
