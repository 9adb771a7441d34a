/* A derived datatype freed while operations that use it are pending
 * (issue 10, defect 18; MPICH pt2pt/dtype_send, datatype/tfree): legal,
 * MPI keeps the type alive for them.  Rank 1 posts Irecvs, a started
 * persistent receive and a matched message (Mprobe, then Imrecv) with
 * derived types and frees the types; rank 0 sends with Isend/Issend and
 * frees its type before they complete; many other types are created and
 * freed meanwhile.  Every element and gap is checked. */
#include <string.h>

#include "mpitest.h"

enum { N = 16, NMSG = 8 };

/* Every other int of 2N: elements at even positions. */
static MPI_Datatype strided(void)
{
    MPI_Datatype t;
    MT_OK(MPI_Type_vector(N, 1, 2, MPI_INT, &t));
    MT_OK(MPI_Type_commit(&t));
    return t;
}

/* Create and free unrelated types: what the freed ones' memory is reused
 * for. */
static void churn_types(void)
{
    MPI_Datatype t[64];
    int bl[3] = {1, 2, 3}, disp[3] = {0, 5, 11};
    for (int i = 0; i < 64; i++) {
        MT_OK(MPI_Type_indexed(3, bl, disp, MPI_DOUBLE, &t[i]));
        MT_OK(MPI_Type_commit(&t[i]));
    }
    for (int i = 0; i < 64; i++)
        MT_OK(MPI_Type_free(&t[i]));
}

static void check_strided(const int *buf, int tag)
{
    for (int i = 0; i < 2 * N; i++) {
        int want = i % 2 ? -1 : tag * 1000 + i / 2;
        if (buf[i] != want) {
            ASSERT_EQ_INT(buf[i], want);
            break;
        }
    }
}

int main(int argc, char **argv)
{
    mt_poison_freed_memory(argv);
    mt_init(&argc, &argv, 2);
    MPI_Request r[NMSG + 2];
    MPI_Status st;
    MPI_Message msg;
    int src[NMSG + 2][N], dst[NMSG + 2][2 * N];

    if (mt_rank == 0) {
        MPI_Datatype t = strided();
        int sbuf[NMSG + 2][2 * N];
        for (int k = 0; k < NMSG + 2; k++)
            for (int i = 0; i < 2 * N; i++)
                sbuf[k][i] = i % 2 ? -7 : k * 1000 + i / 2;
        MT_OK(MPI_Barrier(MPI_COMM_WORLD)); /* rank 1 has posted, freed */
        for (int k = 0; k < NMSG + 2; k++) {
            if (k % 2)
                MT_OK(MPI_Issend(sbuf[k], 1, t, 1, k, MPI_COMM_WORLD, &r[k]));
            else
                MT_OK(MPI_Isend(sbuf[k], 1, t, 1, k, MPI_COMM_WORLD, &r[k]));
        }
        MT_OK(MPI_Type_free(&t));
        churn_types();
        MT_OK(MPI_Waitall(NMSG + 2, r, MPI_STATUSES_IGNORE));
    } else if (mt_rank == 1) {
        MPI_Request pr;
        MPI_Datatype t[NMSG + 1];
        memset(dst, 0xff, sizeof dst); /* -1 everywhere */
        for (int k = 0; k < NMSG; k++) {
            t[k] = strided();
            MT_OK(MPI_Irecv(dst[k], 1, t[k], 0, k, MPI_COMM_WORLD, &r[k]));
        }
        t[NMSG] = strided();
        MT_OK(
            MPI_Recv_init(dst[NMSG], 1, t[NMSG], 0, NMSG, MPI_COMM_WORLD, &pr));
        MT_OK(MPI_Start(&pr));
        for (int k = 0; k <= NMSG; k++)
            MT_OK(MPI_Type_free(&t[k]));
        churn_types();
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        /* The last message: matched now, received into a freed type. */
        MPI_Datatype mt = strided();
        MT_OK(MPI_Mprobe(0, NMSG + 1, MPI_COMM_WORLD, &msg, &st));
        MT_OK(MPI_Imrecv(dst[NMSG + 1], 1, mt, &msg, &r[NMSG + 1]));
        MT_OK(MPI_Type_free(&mt));
        churn_types();
        r[NMSG] = pr;
        MT_OK(MPI_Waitall(NMSG + 2, r, MPI_STATUSES_IGNORE));
        for (int k = 0; k < NMSG + 2; k++)
            check_strided(dst[k], k);
        MT_OK(MPI_Request_free(&pr));
    } else {
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    }
    (void)src;
    return mt_finish(MT_ALL);
}
