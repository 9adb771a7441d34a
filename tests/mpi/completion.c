/* Multiple completions over arrays holding MPI_REQUEST_NULL, an inactive
 * persistent request and real receives: Waitany, Waitsome, Testsome,
 * Testany, Testall, Waitall.  Index, outcount, flags, MPI_UNDEFINED when
 * every request is null or inactive, the empty status for those, statuses
 * of the completed ones; MPI_STATUS(ES)_IGNORE variants.
 * Rank 0 sends, rank 1 completes; a barrier releases each step's sends. */
#include "mpitest.h"

enum { NR = 4 };

static void send_int(int v, int tag)
{
    MT_OK(MPI_Send(&v, 1, MPI_INT, 1, tag, MPI_COMM_WORLD));
}

static void barrier(void)
{
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
}

static void irecv(int *v, int tag, MPI_Request *r)
{
    *v = -1;
    MT_OK(MPI_Irecv(v, 1, MPI_INT, 0, tag, MPI_COMM_WORLD, r));
}

static void sender(void)
{
    send_int(11, 1); /* A: Waitany */
    barrier();
    send_int(22, 2);
    for (int t = 3; t <= 6; t++) /* B: Waitsome */
        send_int(11 * t, t);
    barrier(); /* C: Testsome */
    send_int(77, 7);
    barrier(); /* D: Testany */
    send_int(88, 8);
    barrier(); /* E: Testall */
    send_int(99, 9);
    send_int(110, 10);
    send_int(1100, 11); /* F: Waitall */
    send_int(7700, 77); /* G: the persistent request */
}

static void receiver(void)
{
    MPI_Request r[NR], inactive;
    MPI_Status st, sts[NR];
    int v[NR], z = -1, idx = -2, n = -2, flag = -2, ind[NR];

    MT_OK(MPI_Recv_init(&z, 1, MPI_INT, 0, 77, MPI_COMM_WORLD, &inactive));
    r[0] = MPI_REQUEST_NULL;
    r[1] = inactive;

    /* A: Waitany */
    irecv(&v[2], 1, &r[2]);
    irecv(&v[3], 2, &r[3]);
    MT_OK(MPI_Waitany(NR, r, &idx, &st));
    ASSERT_EQ_INT(idx, 2);
    ASSERT_STATUS(st, 0, 1);
    ASSERT_COUNT(st, MPI_INT, 1);
    ASSERT_EQ_INT(v[2], 11);
    ASSERT_TRUE(r[2] == MPI_REQUEST_NULL);
    ASSERT_TRUE(r[1] == inactive);
    barrier();
    MT_OK(MPI_Waitany(NR, r, &idx, MPI_STATUS_IGNORE));
    ASSERT_EQ_INT(idx, 3);
    ASSERT_EQ_INT(v[3], 22);
    ASSERT_TRUE(r[3] == MPI_REQUEST_NULL);
    st.MPI_SOURCE = st.MPI_TAG = 12345;
    MT_OK(MPI_Waitany(NR, r, &idx, &st));
    ASSERT_EQ_INT(idx, MPI_UNDEFINED);
    ASSERT_EMPTY_STATUS(st);
    MT_OK(MPI_Waitany(NR, r, &idx, MPI_STATUS_IGNORE));
    ASSERT_EQ_INT(idx, MPI_UNDEFINED);
    MT_OK(MPI_Waitany(0, NULL, &idx, MPI_STATUS_IGNORE));
    ASSERT_EQ_INT(idx, MPI_UNDEFINED);
    /* single completions of null and inactive requests */
    MPI_Request null = MPI_REQUEST_NULL;
    st.MPI_SOURCE = st.MPI_TAG = 12345;
    MT_OK(MPI_Wait(&null, &st));
    ASSERT_EMPTY_STATUS(st);
    st.MPI_SOURCE = st.MPI_TAG = 12345;
    flag = 0;
    MT_OK(MPI_Test(&null, &flag, &st));
    ASSERT_EQ_INT(flag, 1);
    ASSERT_EMPTY_STATUS(st);
    st.MPI_SOURCE = st.MPI_TAG = 12345;
    flag = 0;
    MT_OK(MPI_Test(&r[1], &flag, &st));
    ASSERT_EQ_INT(flag, 1);
    ASSERT_EMPTY_STATUS(st);
    ASSERT_TRUE(r[1] == inactive);
    st.MPI_SOURCE = st.MPI_TAG = 12345;
    MT_OK(MPI_Wait(&r[1], &st));
    ASSERT_EMPTY_STATUS(st);
    ASSERT_TRUE(r[1] == inactive);

    /* B: Waitsome, with statuses then ignoring them */
    for (int pass = 0; pass < 2; pass++) {
        int t0 = 3 + 2 * pass;
        irecv(&v[2], t0, &r[2]);
        irecv(&v[3], t0 + 1, &r[3]);
        int got = 0, calls = 0;
        while (got < 2 && calls++ < 10) {
            for (int i = 0; i < NR; i++)
                ind[i] = -2;
            MT_OK(
                MPI_Waitsome(NR, r, &n, ind, pass ? MPI_STATUSES_IGNORE : sts));
            ASSERT_CMP_INT(n, >=, 1);
            ASSERT_CMP_INT(n, <=, 2 - got);
            for (int k = 0; k < n && k < 2; k++) {
                int i = ind[k];
                ASSERT_TRUE(i == 2 || i == 3);
                if (i != 2 && i != 3)
                    continue;
                int tag = t0 + i - 2;
                if (!pass) {
                    ASSERT_STATUS(sts[k], 0, tag);
                    ASSERT_COUNT(sts[k], MPI_INT, 1);
                }
                ASSERT_EQ_INT(v[i], 11 * tag);
                ASSERT_TRUE(r[i] == MPI_REQUEST_NULL);
                got++;
            }
            if (n < 1)
                break;
        }
        ASSERT_EQ_INT(got, 2);
    }
    ASSERT_TRUE(r[1] == inactive);
    MT_OK(MPI_Waitsome(NR, r, &n, ind, sts));
    ASSERT_EQ_INT(n, MPI_UNDEFINED);
    MT_OK(MPI_Waitsome(NR, r, &n, ind, MPI_STATUSES_IGNORE));
    ASSERT_EQ_INT(n, MPI_UNDEFINED);

    /* C: Testsome: nothing yet, then the one message */
    irecv(&v[2], 7, &r[2]);
    MT_OK(MPI_Testsome(NR, r, &n, ind, sts));
    ASSERT_EQ_INT(n, 0);
    ASSERT_TRUE(r[2] != MPI_REQUEST_NULL);
    barrier();
    n = 0;
    while (n == 0)
        MT_OK(MPI_Testsome(NR, r, &n, ind, sts));
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(ind[0], 2);
    ASSERT_STATUS(sts[0], 0, 7);
    ASSERT_EQ_INT(v[2], 77);
    ASSERT_TRUE(r[2] == MPI_REQUEST_NULL);
    MT_OK(MPI_Testsome(NR, r, &n, ind, sts));
    ASSERT_EQ_INT(n, MPI_UNDEFINED);
    MT_OK(MPI_Testsome(NR, r, &n, ind, MPI_STATUSES_IGNORE));
    ASSERT_EQ_INT(n, MPI_UNDEFINED);

    /* D: Testany */
    irecv(&v[3], 8, &r[3]);
    MT_OK(MPI_Testany(NR, r, &idx, &flag, &st));
    ASSERT_EQ_INT(flag, 0);
    ASSERT_EQ_INT(idx, MPI_UNDEFINED);
    barrier();
    flag = 0;
    while (!flag)
        MT_OK(MPI_Testany(NR, r, &idx, &flag, &st));
    ASSERT_EQ_INT(idx, 3);
    ASSERT_STATUS(st, 0, 8);
    ASSERT_EQ_INT(v[3], 88);
    ASSERT_TRUE(r[3] == MPI_REQUEST_NULL);
    flag = 0;
    st.MPI_SOURCE = st.MPI_TAG = 12345;
    MT_OK(MPI_Testany(NR, r, &idx, &flag, &st));
    ASSERT_EQ_INT(flag, 1);
    ASSERT_EQ_INT(idx, MPI_UNDEFINED);
    ASSERT_EMPTY_STATUS(st);
    flag = 0;
    MT_OK(MPI_Testany(NR, r, &idx, &flag, MPI_STATUS_IGNORE));
    ASSERT_EQ_INT(flag, 1);
    ASSERT_EQ_INT(idx, MPI_UNDEFINED);

    /* E: Testall: false and requests untouched, then all */
    irecv(&v[2], 9, &r[2]);
    irecv(&v[3], 10, &r[3]);
    MT_OK(MPI_Testall(NR, r, &flag, sts));
    ASSERT_EQ_INT(flag, 0);
    ASSERT_TRUE(r[2] != MPI_REQUEST_NULL && r[3] != MPI_REQUEST_NULL);
    barrier();
    flag = 0;
    for (int i = 0; i < NR; i++)
        sts[i].MPI_SOURCE = sts[i].MPI_TAG = 12345;
    while (!flag)
        MT_OK(MPI_Testall(NR, r, &flag, sts));
    ASSERT_EMPTY_STATUS(sts[0]);
    ASSERT_EMPTY_STATUS(sts[1]);
    ASSERT_STATUS(sts[2], 0, 9);
    ASSERT_STATUS(sts[3], 0, 10);
    ASSERT_EQ_INT(v[2], 99);
    ASSERT_EQ_INT(v[3], 110);
    ASSERT_TRUE(r[2] == MPI_REQUEST_NULL && r[3] == MPI_REQUEST_NULL);
    ASSERT_TRUE(r[1] == inactive);
    flag = 0;
    MT_OK(MPI_Testall(NR, r, &flag, MPI_STATUSES_IGNORE));
    ASSERT_EQ_INT(flag, 1);

    /* F: Waitall with null and inactive entries */
    irecv(&v[2], 11, &r[2]);
    for (int i = 0; i < NR; i++)
        sts[i].MPI_SOURCE = sts[i].MPI_TAG = 12345;
    MT_OK(MPI_Waitall(NR, r, sts));
    ASSERT_EMPTY_STATUS(sts[0]);
    ASSERT_EMPTY_STATUS(sts[1]);
    ASSERT_STATUS(sts[2], 0, 11);
    ASSERT_EMPTY_STATUS(sts[3]);
    ASSERT_EQ_INT(v[2], 1100);

    /* G: the inactive request still works once started */
    MT_OK(MPI_Start(&r[1]));
    MT_OK(MPI_Waitany(NR, r, &idx, &st));
    ASSERT_EQ_INT(idx, 1);
    ASSERT_STATUS(st, 0, 77);
    ASSERT_EQ_INT(z, 7700);
    ASSERT_TRUE(r[1] == inactive);
    MT_OK(MPI_Waitany(NR, r, &idx, &st));
    ASSERT_EQ_INT(idx, MPI_UNDEFINED);
    MT_OK(MPI_Request_free(&r[1]));
}

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    if (mt_size != 2)
        MPI_Abort(MPI_COMM_WORLD, 1); /* exactly 2 ranks */
    if (mt_rank == 0)
        sender();
    else
        receiver();
    return mt_finish(MT_ALL);
}
