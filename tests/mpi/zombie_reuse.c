/* A receive freed while active (a "zombie": MPI completes it out of the
 * program's sight), then requests whose handles Open MPI recycles.  Rank 0
 * frees an active Irecv, rank 1 sends it a message; once the library has
 * seen the zombie complete, rank 0 starts an Isend (another pool of
 * requests: another handle) and an Irecv (likely the zombie's old handle).
 * The table of requests must not still map the zombie's handle: else the
 * Irecv is taken for the active Isend's shared entry and its message is
 * never counted as received (unbalanced streams, a snapshot that waits for
 * a message already received). */
#include "mpitest.h"

enum { T_ZOMBIE = 1, T_SEND = 2, T_RECV = 3, ITER = 6 };

int main(int argc, char **argv)
{
    mt_init(&argc, &argv, 2);

    for (int it = 0; it < ITER; it++) {
        int z = -1, x = 10 + it, y = -1, d = -1, flag = 0;
        MPI_Request rz, rs, rd;
        if (mt_rank == 0) {
            if (it % 2) { /* a persistent one, started, then freed */
                MT_OK(MPI_Recv_init(&z, 1, MPI_INT, 1, T_ZOMBIE, MPI_COMM_WORLD,
                                    &rz));
                MT_OK(MPI_Start(&rz));
            } else {
                MT_OK(MPI_Irecv(&z, 1, MPI_INT, 1, T_ZOMBIE, MPI_COMM_WORLD,
                                &rz));
            }
            MT_OK(MPI_Request_free(&rz));
            ASSERT_EQ_INT(rz == MPI_REQUEST_NULL, 1);
        }
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
        if (mt_rank == 1) {
            MT_OK(MPI_Send(&x, 1, MPI_INT, 0, T_ZOMBIE, MPI_COMM_WORLD));
            MT_OK(MPI_Recv(&y, 1, MPI_INT, 0, T_SEND, MPI_COMM_WORLD,
                           MPI_STATUS_IGNORE));
            ASSERT_EQ_INT(y, 20 + it);
            MT_OK(MPI_Send(&x, 1, MPI_INT, 0, T_RECV, MPI_COMM_WORLD));
        } else {
            /* Progress (a probe) until the zombie's message has arrived. */
            for (int i = 0; i < 2000 && z != 10 + it; i++) {
                MT_OK(MPI_Iprobe(1, T_RECV, MPI_COMM_WORLD, &flag,
                                 MPI_STATUS_IGNORE));
                mt_sleep_ms(1);
            }
            ASSERT_EQ_INT(z, 10 + it);
            y = 20 + it;
            MT_OK(MPI_Isend(&y, 1, MPI_INT, 1, T_SEND, MPI_COMM_WORLD, &rs));
            MT_OK(MPI_Irecv(&d, 1, MPI_INT, 1, T_RECV, MPI_COMM_WORLD, &rd));
            MT_OK(MPI_Wait(&rd, MPI_STATUS_IGNORE));
            MT_OK(MPI_Wait(&rs, MPI_STATUS_IGNORE));
            ASSERT_EQ_INT(d, 10 + it);
        }
    }
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    return mt_finish(MT_ALL);
}
