/* The message queue.  Rank 1 injects a message as sent by rank 0 with tag
 * T (mpisnap_test_enqueue); afterwards rank 0 really sends one with the
 * same envelope.  Rank 1 must receive the queued one first, then the
 * network one, through the receive form named by argv[1]:
 *   recv      MPI_Recv
 *   waitany   MPI_Irecv x2 + MPI_Waitany
 *   probe     MPI_Probe (status and count of the queued message) + Recv
 *   iprobe    MPI_Iprobe loop + Recv
 *   mprobe    MPI_Mprobe + MPI_Mrecv, MPI_Improbe + MPI_Imrecv
 *   truncate  queued 10 ints into 5 under MPI_ERRORS_RETURN: truncation,
 *             by Recv and by Irecv + Wait
 *   wildcard  ANY_SOURCE/ANY_TAG receive of a message queued as from
 *             rank 2 with another tag, in a derived datatype
 *   precv     MPI_Recv_init + MPI_Start, completed by MPI_Waitany, then
 *             by MPI_Testsome: the library matched the first start with
 *             the queued message, then the queue emptied (finding A)
 * Injecting counts as a receive without a send, so no balance check: the
 * queue must be empty and nothing pending at the end. */
#include "mpitest.h"

enum { T = 5, NQ = 10, NN = 7, CAP = 16 };

static int qval(int i)
{
    return 1000 + i;
}
static int q2val(int i)
{
    return 3000 + i;
}
static int nval(int i)
{
    return 2000 + i;
}

static void inject(int n, int (*val)(int))
{
    int b[CAP];
    for (int i = 0; i < n; i++)
        b[i] = val(i);
    ASSERT_EQ_INT(mpisnap_test_enqueue(b, n, MPI_INT, 0, T, MPI_COMM_WORLD), 0);
}

static void clear(int *b)
{
    for (int i = 0; i < CAP; i++)
        b[i] = -1;
}

/* a received message: status, count, values */
#define ASSERT_MSG(st, b, n, val)                                              \
    do {                                                                       \
        ASSERT_STATUS(st, 0, T);                                               \
        ASSERT_COUNT(st, MPI_INT, n);                                          \
        ASSERT_SEQ(b, n, i, val(i));                                           \
        ASSERT_EQ_INT((b)[n], -1);                                             \
    } while (0)

static void form_recv(void)
{
    int b[CAP];
    MPI_Status st;
    clear(b);
    MT_OK(MPI_Recv(b, CAP, MPI_INT, 0, T, MPI_COMM_WORLD, &st));
    ASSERT_MSG(st, b, NQ, qval);
    clear(b);
    MT_OK(MPI_Recv(b, CAP, MPI_INT, 0, T, MPI_COMM_WORLD, &st));
    ASSERT_MSG(st, b, NN, nval);
}

static void form_waitany(void)
{
    int b[2][CAP], idx, done[2] = {0, 0};
    MPI_Request r[2];
    MPI_Status st;
    clear(b[0]);
    clear(b[1]);
    MT_OK(MPI_Irecv(b[0], CAP, MPI_INT, 0, T, MPI_COMM_WORLD, &r[0]));
    MT_OK(MPI_Irecv(b[1], CAP, MPI_INT, 0, T, MPI_COMM_WORLD, &r[1]));
    for (int k = 0; k < 2; k++) {
        idx = -1;
        MT_OK(MPI_Waitany(2, r, &idx, &st));
        ASSERT_TRUE(idx == 0 || idx == 1);
        if (idx == 0) {
            ASSERT_MSG(st, b[0], NQ, qval);
            done[0]++;
        } else if (idx == 1) {
            ASSERT_MSG(st, b[1], NN, nval);
            done[1]++;
        }
    }
    ASSERT_EQ_INT(done[0], 1);
    ASSERT_EQ_INT(done[1], 1);
    MT_OK(MPI_Waitany(2, r, &idx, &st));
    ASSERT_EQ_INT(idx, MPI_UNDEFINED);
}

static void form_probe(void)
{
    int b[CAP];
    MPI_Status st;
    MT_OK(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
    ASSERT_STATUS(st, 0, T);
    ASSERT_COUNT(st, MPI_INT, NQ);
    MT_OK(MPI_Probe(0, T, MPI_COMM_WORLD, &st));
    ASSERT_STATUS(st, 0, T);
    ASSERT_COUNT(st, MPI_INT, NQ);
    clear(b);
    MT_OK(MPI_Recv(b, CAP, MPI_INT, 0, T, MPI_COMM_WORLD, &st));
    ASSERT_MSG(st, b, NQ, qval);
    MT_OK(MPI_Probe(0, T, MPI_COMM_WORLD, &st));
    ASSERT_STATUS(st, 0, T);
    ASSERT_COUNT(st, MPI_INT, NN);
    clear(b);
    MT_OK(MPI_Recv(b, CAP, MPI_INT, 0, T, MPI_COMM_WORLD, &st));
    ASSERT_MSG(st, b, NN, nval);
}

static void form_iprobe(void)
{
    int b[CAP], flag = 0;
    MPI_Status st;
    /* the queued message is here already */
    MT_OK(MPI_Iprobe(0, T, MPI_COMM_WORLD, &flag, &st));
    ASSERT_EQ_INT(flag, 1);
    ASSERT_STATUS(st, 0, T);
    ASSERT_COUNT(st, MPI_INT, NQ);
    clear(b);
    MT_OK(MPI_Recv(b, CAP, MPI_INT, 0, T, MPI_COMM_WORLD, &st));
    ASSERT_MSG(st, b, NQ, qval);
    flag = 0;
    while (!flag)
        MT_OK(MPI_Iprobe(MPI_ANY_SOURCE, T, MPI_COMM_WORLD, &flag, &st));
    ASSERT_STATUS(st, 0, T);
    ASSERT_COUNT(st, MPI_INT, NN);
    clear(b);
    MT_OK(MPI_Recv(b, CAP, MPI_INT, 0, T, MPI_COMM_WORLD, &st));
    ASSERT_MSG(st, b, NN, nval);
}

static void form_mprobe(void)
{
    int b[CAP], flag = 0;
    MPI_Status st;
    MPI_Message m;
    MPI_Request r;
    MT_OK(MPI_Mprobe(0, T, MPI_COMM_WORLD, &m, &st));
    ASSERT_STATUS(st, 0, T);
    ASSERT_COUNT(st, MPI_INT, NQ);
    clear(b);
    MT_OK(MPI_Mrecv(b, CAP, MPI_INT, &m, &st));
    ASSERT_TRUE(m == MPI_MESSAGE_NULL);
    ASSERT_MSG(st, b, NQ, qval);
    while (!flag)
        MT_OK(MPI_Improbe(0, T, MPI_COMM_WORLD, &flag, &m, &st));
    ASSERT_STATUS(st, 0, T);
    ASSERT_COUNT(st, MPI_INT, NN);
    clear(b);
    MT_OK(MPI_Imrecv(b, CAP, MPI_INT, &m, &r));
    MT_OK(MPI_Wait(&r, &st));
    ASSERT_MSG(st, b, NN, nval);
}

static int err_class(int rc)
{
    int cls = -1;
    MPI_Error_class(rc, &cls);
    return cls;
}

static void form_truncate(void)
{
    int b[CAP], rc;
    MPI_Status st;
    MPI_Request r;
    MT_OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    rc = MPI_Recv(b, NQ / 2, MPI_INT, 0, T, MPI_COMM_WORLD, &st);
    ASSERT_EQ_INT(err_class(rc), MPI_ERR_TRUNCATE);
    ASSERT_STATUS(st, 0, T);
    /* the second queued one, through Irecv + Wait */
    MT_OK(MPI_Irecv(b, NQ / 2, MPI_INT, 0, T, MPI_COMM_WORLD, &r));
    rc = MPI_Wait(&r, &st);
    ASSERT_EQ_INT(err_class(rc), MPI_ERR_TRUNCATE);
    ASSERT_STATUS(st, 0, T);
    clear(b);
    MT_OK(MPI_Recv(b, CAP, MPI_INT, 0, T, MPI_COMM_WORLD, &st));
    ASSERT_MSG(st, b, NN, nval);
}

static void form_wildcard(void)
{
    MPI_Datatype triple;
    MPI_Status st;
    double d[30];
    int b[CAP], n = -2;
    MT_OK(MPI_Type_contiguous(3, MPI_DOUBLE, &triple));
    MT_OK(MPI_Type_commit(&triple));
    MT_OK(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
    ASSERT_STATUS(st, 2, 77);
    ASSERT_COUNT(st, triple, 4);
    for (int i = 0; i < 30; i++)
        d[i] = -1;
    MT_OK(MPI_Recv(d, 10, triple, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
                   &st));
    ASSERT_STATUS(st, 2, 77);
    ASSERT_COUNT(st, triple, 4);
    MT_OK(MPI_Get_elements(&st, triple, &n));
    ASSERT_EQ_INT(n, 12);
    ASSERT_SEQ(d, 12, i, 0.25 * i);
    ASSERT_EQ_DBL(d[12], -1.0);
    clear(b);
    MT_OK(MPI_Recv(b, CAP, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD,
                   &st));
    ASSERT_MSG(st, b, NN, nval);
    MT_OK(MPI_Type_free(&triple));
}

static void form_precv(void)
{
    int b[CAP], idx = -1, out = 0;
    MPI_Request r;
    MPI_Status st;
    clear(b);
    MT_OK(MPI_Recv_init(b, CAP, MPI_INT, 0, T, MPI_COMM_WORLD, &r));
    MT_OK(MPI_Start(&r));
    MT_OK(MPI_Waitany(1, &r, &idx, &st));
    ASSERT_EQ_INT(idx, 0);
    ASSERT_MSG(st, b, NQ, qval);
    clear(b);
    MT_OK(MPI_Start(&r));
    while (out == 0)
        MT_OK(MPI_Testsome(1, &r, &out, &idx, &st));
    ASSERT_EQ_INT(out, 1);
    ASSERT_MSG(st, b, NN, nval);
    MT_OK(MPI_Request_free(&r));
}

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 3);
    const char *form = argc > 1 ? argv[1] : "recv";
    static const struct {
        const char *name;
        void (*run)(void);
    } forms[] = {{"recv", form_recv},         {"waitany", form_waitany},
                 {"probe", form_probe},       {"iprobe", form_iprobe},
                 {"mprobe", form_mprobe},     {"truncate", form_truncate},
                 {"wildcard", form_wildcard}, {"precv", form_precv}};
    void (*run)(void) = NULL;
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++)
        if (strcmp(form, forms[k].name) == 0)
            run = forms[k].run;
    if (!run) {
        fprintf(stderr, "unknown form %s\n", form);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    if (mt_rank == 1) {
        if (run == form_wildcard) {
            double d[12];
            for (int i = 0; i < 12; i++)
                d[i] = 0.25 * i;
            ASSERT_EQ_INT(
                mpisnap_test_enqueue(d, 12, MPI_DOUBLE, 2, 77, MPI_COMM_WORLD),
                0);
        } else {
            inject(NQ, qval);
            if (run == form_truncate)
                inject(NQ, q2val);
        }
        ASSERT_EQ_INT(mpisnap_test_queued(), run == form_truncate ? 2 : 1);
        ASSERT_EQ_INT(mpisnap_test_libmatch(), 1);
    }
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    if (mt_rank == 0) {
        int b[NN];
        for (int i = 0; i < NN; i++)
            b[i] = nval(i);
        MT_OK(MPI_Send(b, NN, MPI_INT, 1, T, MPI_COMM_WORLD));
    } else if (mt_rank == 1) {
        run();
        ASSERT_EQ_INT(mpisnap_test_queued(), 0);
    }
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    return mt_finish(MT_PENDING);
}
