/* Operations pending on a communicator the application has freed (legal:
 * the operation keeps it alive until it completes).
 *
 *   mpi_comm_free_pending cmfree   (issue 10, defect 16; MPICH comm/cmfree)
 *     rank 1 posts receives on duplicates of MPI_COMM_WORLD (one Irecv,
 *     one persistent receive started, one message matched with Mprobe) and
 *     frees them at once; rank 0 starts an Isend on its duplicate and frees
 *     it; hundreds of communicators are created (and some freed) meanwhile;
 *     then the messages arrive and the requests are waited for.
 *   mpi_comm_free_pending ssend    (defect 19; MPICH comm/cmfree2)
 *     rank 1 posts a receive on a duplicate and frees it before the
 *     matching MPI_Ssend arrives (rank 0 sends it late).
 *
 * Values, statuses and counts are checked; nothing stays pending. */
#include <string.h>

#include "mpitest.h"

enum { NCOMMS = 1020 };

static MPI_Comm churn[NCOMMS];

/* Create many communicators (splits in reversed rank order, a few dups
 * freed at once): what the freed ones' memory is reused for. */
static void churn_comms(void)
{
    for (int i = 0; i < NCOMMS; i++) {
        if (i % 8 == 7) {
            MT_OK(MPI_Comm_dup(MPI_COMM_WORLD, &churn[i]));
            MT_OK(MPI_Comm_free(&churn[i]));
        } else {
            MT_OK(MPI_Comm_split(MPI_COMM_WORLD, 0, mt_size - mt_rank,
                                 &churn[i]));
        }
    }
}

static void free_churn(void)
{
    for (int i = 0; i < NCOMMS; i++)
        if (churn[i] != MPI_COMM_NULL)
            MT_OK(MPI_Comm_free(&churn[i]));
}

static void cmfree(void)
{
    MPI_Comm d[4];
    MPI_Request r[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    MPI_Message msg = MPI_MESSAGE_NULL;
    MPI_Status st;
    int x = -1, y = -1, z = -1, w = -1, v[4] = {11, 22, 33, 44};

    for (int i = 0; i < 4; i++)
        MT_OK(MPI_Comm_dup(MPI_COMM_WORLD, &d[i]));
    if (mt_rank == 0) {
        /* d[3] carries the message rank 1 Mprobes before freeing. */
        MT_OK(MPI_Send(&v[3], 1, MPI_INT, 1, 4, d[3]));
        MT_OK(MPI_Isend(&v[0], 1, MPI_INT, 1, 1, d[0], &r[0]));
        for (int i = 0; i < 4; i++)
            MT_OK(MPI_Comm_free(&d[i]));
        ASSERT_TRUE(d[0] == MPI_COMM_NULL);
        MT_OK(MPI_Barrier(MPI_COMM_WORLD)); /* rank 1 has posted, freed */
        churn_comms();
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        MT_OK(MPI_Wait(&r[0], &st));
        /* churn[0] has world ranks in reversed order */
        MT_OK(MPI_Send(&v[1], 1, MPI_INT, mt_size - 2, 2, churn[0]));
        MT_OK(MPI_Send(&v[2], 1, MPI_INT, mt_size - 2, 3, churn[0]));
    } else if (mt_rank == 1) {
        MT_OK(MPI_Mprobe(0, 4, d[3], &msg, &st));
        ASSERT_STATUS(st, 0, 4);
        MT_OK(MPI_Irecv(&x, 1, MPI_INT, 0, 1, d[0], &r[0]));
        MT_OK(MPI_Recv_init(&y, 1, MPI_INT, 0, 7, d[1], &r[1]));
        MT_OK(MPI_Start(&r[1]));
        for (int i = 0; i < 4; i++)
            MT_OK(MPI_Comm_free(&d[i]));
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        churn_comms();
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        MT_OK(MPI_Mrecv(&w, 1, MPI_INT, &msg, &st));
        ASSERT_STATUS(st, 0, 4);
        ASSERT_EQ_INT(w, 44);
        MT_OK(MPI_Wait(&r[0], &st));
        ASSERT_STATUS(st, 0, 1);
        ASSERT_COUNT(st, MPI_INT, 1);
        ASSERT_EQ_INT(x, 11);
        /* The started persistent receive: nobody sends on d[1]; cancel. */
        MT_OK(MPI_Cancel(&r[1]));
        MT_OK(MPI_Wait(&r[1], &st));
        int cancelled = 0;
        MT_OK(MPI_Test_cancelled(&st, &cancelled));
        ASSERT_EQ_INT(cancelled, 1);
        ASSERT_EQ_INT(y, -1);
        MT_OK(MPI_Request_free(&r[1]));
        /* A new communicator may reuse the freed ones' resources. */
        MT_OK(MPI_Recv(&z, 1, MPI_INT, mt_size - 1, 2, churn[0], &st));
        ASSERT_STATUS(st, mt_size - 1, 2);
        ASSERT_EQ_INT(z, 22);
        MT_OK(MPI_Recv(&z, 1, MPI_INT, mt_size - 1, 3, churn[0], &st));
        ASSERT_EQ_INT(z, 33);
    } else {
        for (int i = 0; i < 4; i++)
            MT_OK(MPI_Comm_free(&d[i]));
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        churn_comms();
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    }
    free_churn();
}

static void ssend(void)
{
    MPI_Comm d;
    MPI_Request r;
    MPI_Status st;
    int x = -1, v = 77;

    MT_OK(MPI_Comm_dup(MPI_COMM_WORLD, &d));
    if (mt_rank == 1) {
        MT_OK(MPI_Irecv(&x, 1, MPI_INT, 0, 9, d, &r));
        MT_OK(MPI_Comm_free(&d));
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        MT_OK(MPI_Wait(&r, &st));
        ASSERT_STATUS(st, 0, 9);
        ASSERT_EQ_INT(x, 77);
    } else if (mt_rank == 0) {
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        mt_sleep_ms(100); /* the receiver waits already */
        MT_OK(MPI_Ssend(&v, 1, MPI_INT, 1, 9, d));
        MT_OK(MPI_Comm_free(&d));
    } else {
        MT_OK(MPI_Comm_free(&d));
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    }
}

int main(int argc, char **argv)
{
    mt_poison_freed_memory(argv);
    mt_init(&argc, &argv, 2);
    const char *form = argc > 1 ? argv[1] : "";

    if (!strcmp(form, "cmfree"))
        cmfree();
    else if (!strcmp(form, "ssend"))
        ssend();
    else
        ASSERT_FAIL_("unknown form \"%s\"", form);
    /* Streams of freed communicators are not checked: only live ones. */
    return mt_finish(MT_ALL);
}
