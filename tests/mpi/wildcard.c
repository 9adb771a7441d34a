/* MPI_ANY_SOURCE / MPI_ANY_TAG: status source and tag, and MPI_Get_count /
 * MPI_Get_elements of a derived datatype.  Every rank k > 0 sends 4 triples
 * of doubles to rank 0 with tag 10 * k; rank 0 receives with count 10.
 * After a barrier each sends 6 doubles with tag 1, received as a vector
 * type: Get_count MPI_UNDEFINED, Get_elements 6. */
#include "mpitest.h"

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MPI_Datatype triple, strided;
    MT_OK(MPI_Type_contiguous(3, MPI_DOUBLE, &triple));
    MT_OK(MPI_Type_commit(&triple));
    /* 2 blocks of 2 doubles, stride 3: 4 elements, extent 5 doubles */
    MT_OK(MPI_Type_vector(2, 2, 3, MPI_DOUBLE, &strided));
    MT_OK(MPI_Type_commit(&strided));
    MPI_Status st;

    if (mt_rank > 0) {
        double d[12];
        for (int i = 0; i < 12; i++)
            d[i] = mt_rank * 100.0 + i + 0.5;
        MT_OK(MPI_Send(d, 4, triple, 0, 10 * mt_rank, MPI_COMM_WORLD));
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        /* then 6 doubles: one and a half of `strided` */
        MT_OK(MPI_Send(d, 6, MPI_DOUBLE, 0, 1, MPI_COMM_WORLD));
    } else {
        int seen[64] = {0};
        for (int m = 1; m < mt_size; m++) {
            double d[30];
            for (int i = 0; i < 30; i++)
                d[i] = -1;
            MT_OK(MPI_Recv(d, 10, triple, MPI_ANY_SOURCE, MPI_ANY_TAG,
                           MPI_COMM_WORLD, &st));
            int src = st.MPI_SOURCE;
            ASSERT_CMP_INT(src, >=, 1);
            ASSERT_CMP_INT(src, <, mt_size);
            if (src < 1 || src >= mt_size)
                continue;
            seen[src]++;
            ASSERT_EQ_INT(st.MPI_TAG, 10 * src);
            ASSERT_COUNT(st, triple, 4);
            int n = -2;
            MT_OK(MPI_Get_elements(&st, triple, &n));
            ASSERT_EQ_INT(n, 12);
            ASSERT_COUNT(st, MPI_DOUBLE, 12);
            ASSERT_SEQ(d, 12, i, src * 100.0 + i + 0.5);
            ASSERT_SEQ(d + 12, 18, i, -1.0);
        }
        for (int k = 1; k < mt_size; k++)
            ASSERT_EQ_INT(seen[k], 1);
        MT_OK(MPI_Barrier(MPI_COMM_WORLD)); /* release the second sends */

        /* known tag, any source; then partial derived datatype */
        for (int m = 1; m < mt_size; m++) {
            double d[15];
            for (int i = 0; i < 15; i++)
                d[i] = -1;
            MT_OK(MPI_Recv(d, 3, strided, MPI_ANY_SOURCE, 1, MPI_COMM_WORLD,
                           &st));
            int src = st.MPI_SOURCE;
            ASSERT_EQ_INT(st.MPI_TAG, 1);
            ASSERT_COUNT(st, strided, MPI_UNDEFINED);
            int n = -2;
            MT_OK(MPI_Get_elements(&st, strided, &n));
            ASSERT_EQ_INT(n, 6);
            /* layout: d[0..1], d[3..4] (first), d[5..6], d[8..9] (second) */
            ASSERT_EQ_DBL(d[0], src * 100.0 + 0.5);
            ASSERT_EQ_DBL(d[1], src * 100.0 + 1.5);
            ASSERT_EQ_DBL(d[2], -1.0);
            ASSERT_EQ_DBL(d[3], src * 100.0 + 2.5);
            ASSERT_EQ_DBL(d[4], src * 100.0 + 3.5);
            ASSERT_EQ_DBL(d[5], src * 100.0 + 4.5);
            ASSERT_EQ_DBL(d[6], src * 100.0 + 5.5);
            ASSERT_EQ_DBL(d[7], -1.0);
        }
    }

    /* ANY_TAG from a fixed source, nonblocking */
    if (mt_rank == 1) {
        int x = 42;
        MT_OK(MPI_Send(&x, 1, MPI_INT, 0, 333, MPI_COMM_WORLD));
    } else if (mt_rank == 0) {
        int x = -1;
        MPI_Request r;
        MT_OK(MPI_Irecv(&x, 1, MPI_INT, 1, MPI_ANY_TAG, MPI_COMM_WORLD, &r));
        MT_OK(MPI_Wait(&r, &st));
        ASSERT_STATUS(st, 1, 333);
        ASSERT_COUNT(st, MPI_INT, 1);
        ASSERT_EQ_INT(x, 42);
    }

    MT_OK(MPI_Type_free(&triple));
    MT_OK(MPI_Type_free(&strided));
    return mt_finish(MT_ALL);
}
