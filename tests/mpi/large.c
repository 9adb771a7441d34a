/* 4 MiB messages (rendezvous protocol) in both directions while the
 * receiver computes before posting its receive; payload verified. */
#include "mpitest.h"

enum { N = 1 << 20 }; /* ints: 4 MiB */

static int val(int from, int round, int i)
{
    return (from + 1) * 1000003 + round * 7919 + i;
}

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);
    int *out = malloc(N * sizeof(int)), *in = malloc(N * sizeof(int));
    ASSERT_TRUE(out && in);
    if (!out || !in)
        MPI_Abort(MPI_COMM_WORLD, 1);
    int peer = mt_rank == 0 ? 1 : mt_rank == 1 ? 0 : -1;
    MPI_Status st;

    for (int round = 0; round < 3 && peer >= 0; round++) {
        for (int i = 0; i < N; i++) {
            out[i] = val(mt_rank, round, i);
            in[i] = -1;
        }
        MPI_Request r;
        MT_OK(MPI_Isend(out, N, MPI_INT, peer, round, MPI_COMM_WORLD, &r));
        /* the receiver of this round is busy first */
        if (round % 2 == mt_rank) {
            volatile double x = 0;
            double t0 = MPI_Wtime();
            while (MPI_Wtime() - t0 < 0.3)
                x += 1.0;
        }
        if (round == 2)
            mt_sleep_ms(200);
        MT_OK(MPI_Recv(in, N, MPI_INT, peer, round, MPI_COMM_WORLD, &st));
        ASSERT_STATUS(st, peer, round);
        ASSERT_COUNT(st, MPI_INT, N);
        ASSERT_SEQ(in, N, i, val(peer, round, i));
        MT_OK(MPI_Wait(&r, MPI_STATUS_IGNORE));
    }

    /* blocking send against a late nonblocking receive */
    if (peer >= 0) {
        for (int i = 0; i < N; i++) {
            out[i] = val(mt_rank, 9, i);
            in[i] = -1;
        }
        if (mt_rank == 0) {
            MT_OK(MPI_Send(out, N, MPI_INT, 1, 9, MPI_COMM_WORLD));
        } else {
            mt_sleep_ms(200);
            MPI_Request r;
            MT_OK(MPI_Irecv(in, N, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG,
                            MPI_COMM_WORLD, &r));
            MT_OK(MPI_Wait(&r, &st));
            ASSERT_STATUS(st, 0, 9);
            ASSERT_COUNT(st, MPI_INT, N);
            ASSERT_SEQ(in, N, i, val(0, 9, i));
        }
    }
    free(out);
    free(in);
    return mt_finish(MT_ALL);
}
