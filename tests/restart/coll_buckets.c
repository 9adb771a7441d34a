/* Two communicators whose collective counts differ, each consistent across
 * its members, with ids in the same hash bucket of the collective-cut check
 * (snapshot.c): the world (id 1) and a duplicate found by its id.  Rank 0
 * asks for a snapshot after collectives on the world only; it must commit
 * (before the exact check, every attempt aborted as "a collective was
 * cut").  Fresh start only: MPISNAP_RESTART=never. */
#define _POSIX_C_SOURCE 200809L

#include <mpisnap.h>

#include "mpisnap_testing.h"
#include "mpitest.h"

enum { NB = 256, MAX_DUPS = 4000, STEPS = 60 };

int main(int argc, char **argv)
{
    MPI_Comm dup = MPI_COMM_NULL;
    unsigned long long world = 0;
    int step, ndups = 0;

    mt_init(&argc, &argv, 2);
    world = mpisnap_test_comm_id(MPI_COMM_WORLD);
    while (dup == MPI_COMM_NULL && ndups++ < MAX_DUPS) {
        MPI_Comm c;
        MT_OK(MPI_Comm_dup(MPI_COMM_WORLD, &c));
        if (mpisnap_test_comm_id(c) % NB == world % NB)
            dup = c;
        else
            MT_OK(MPI_Comm_free(&c));
    }
    ASSERT_CMP_INT(dup != MPI_COMM_NULL, ==, 1);
    for (step = 0; step < 3; step++) /* the world's count moves on */
        MT_OK(MPI_Barrier(MPI_COMM_WORLD));
    for (step = 0; step < STEPS && mpisnap_last_committed() < 0; step++) {
        ASSERT_CMP_INT(mpisnap_point(), >=, 0);
        if (step == 1 && mt_rank == 0)
            ASSERT_EQ_INT(mpisnap_request(), 0);
        mt_sleep_ms(10);
    }
    ASSERT_CMP_INT(mpisnap_last_committed(), >=, 0);
    MT_OK(MPI_Comm_free(&dup));
    return mt_finish(MT_ALL);
}
