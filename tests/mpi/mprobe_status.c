/* Matched probes and receives leave the status's MPI_ERROR field as it
 * was (issue 10, defect 21; MPICH pt2pt/mprobe): single-completion calls
 * do not set it.  Mprobe/Improbe then Mrecv/Imrecv (+ Wait or Test), from
 * rank 0 and from MPI_PROC_NULL, with a contiguous and a strided type;
 * sources, tags, counts and every element are checked. */
#include <string.h>

#include "mpitest.h"

enum { N = 4 };

/* A status with garbage everywhere and a given MPI_ERROR. */
static void garbage(MPI_Status *st, int err)
{
    memset(st, 0xab, sizeof *st);
    st->MPI_ERROR = err;
}

/* form: bit 0 Improbe (else Mprobe), bit 1 Imrecv (else Mrecv), bit 2
 * MPI_Test (else MPI_Wait) after Imrecv. */
static void receive(int form, int source, MPI_Datatype t, int nelem)
{
    MPI_Status s1, s2;
    MPI_Message msg = MPI_MESSAGE_NULL;
    MPI_Request r = MPI_REQUEST_NULL;
    int buf[2 * N], found = 0, count = -1, flag = 0;
    const int tag = source == MPI_PROC_NULL ? MPI_ANY_TAG : 5;

    for (int i = 0; i < 2 * N; i++)
        buf[i] = -1;
    garbage(&s1, MPI_ERR_DIMS);
    garbage(&s2, MPI_ERR_TOPOLOGY);
    if (form & 1) {
        do
            MT_OK(MPI_Improbe(source, 5, MPI_COMM_WORLD, &found, &msg, &s1));
        while (!found);
    } else {
        MT_OK(MPI_Mprobe(source, 5, MPI_COMM_WORLD, &msg, &s1));
    }
    ASSERT_STATUS(s1, source, tag);
    ASSERT_EQ_INT(s1.MPI_ERROR, MPI_ERR_DIMS);
    ASSERT_TRUE(source == MPI_PROC_NULL ? msg == MPI_MESSAGE_NO_PROC
                                        : msg != MPI_MESSAGE_NULL);
    MT_OK(MPI_Get_count(&s1, t, &count));
    ASSERT_EQ_INT(count, nelem);
    if (form & 2) {
        MT_OK(MPI_Imrecv(buf, count, t, &msg, &r));
        ASSERT_TRUE(r != MPI_REQUEST_NULL);
        if (form & 4)
            while (!flag)
                MT_OK(MPI_Test(&r, &flag, &s2));
        else
            MT_OK(MPI_Wait(&r, &s2));
    } else {
        MT_OK(MPI_Mrecv(buf, count, t, &msg, &s2));
    }
    ASSERT_TRUE(msg == MPI_MESSAGE_NULL);
    ASSERT_STATUS(s2, source, tag);
    ASSERT_EQ_INT(s2.MPI_ERROR, MPI_ERR_TOPOLOGY);
    MT_OK(MPI_Get_count(&s2, t, &count));
    ASSERT_EQ_INT(count, nelem);
    for (int i = 0; i < 2 * N; i++) {
        int want = -1;
        if (source != MPI_PROC_NULL)
            want = t == MPI_INT ? (i < N ? 100 * form + i : -1)
                                : (i % 2 ? -1 : 100 * form + i / 2);
        if (buf[i] != want) {
            ASSERT_EQ_INT(buf[i], want);
            break;
        }
    }
}

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    MPI_Datatype vec;

    MT_OK(MPI_Type_vector(N, 1, 2, MPI_INT, &vec));
    MT_OK(MPI_Type_commit(&vec));
    for (int form = 0; form < 8; form++) {
        MPI_Datatype t = form % 3 == 1 ? vec : MPI_INT;
        if (mt_rank == 0) {
            int v[N];
            for (int i = 0; i < N; i++)
                v[i] = 100 * form + i;
            if (form % 2)
                MT_OK(MPI_Ssend(v, N, MPI_INT, 1, 5, MPI_COMM_WORLD));
            else
                MT_OK(MPI_Send(v, N, MPI_INT, 1, 5, MPI_COMM_WORLD));
        } else if (mt_rank == 1) {
            receive(form, 0, t, t == MPI_INT ? N : 1);
        }
        receive(form, MPI_PROC_NULL, t, 0);
    }
    MT_OK(MPI_Type_free(&vec));
    return mt_finish(MT_ALL);
}
