/* A snapshot signal (MPISNAP_SIGNAL, default SIGUSR1) that arrives before
 * MPI_Init must not kill the rank (issue 11, item 12): it is a request like
 * any other, served at the first safe points: snapshot, then stop. */
#include <signal.h>

#include "mpisnap.h"
#include "mpitest.h"

int main(int argc, char **argv)
{
    int step = 0, rc = 0;

    raise(SIGUSR1); /* every rank, before MPI_Init */
    mt_init(&argc, &argv, 2);
    ASSERT_EQ_INT(mpisnap_protect("step", &step, 1, MPI_INT), 0);
    ASSERT_EQ_INT(mpisnap_restore(), 0);
    for (step = 0; step < 20000 && rc != MPISNAP_STOP; step++) {
        rc = mpisnap_point();
        ASSERT_CMP_INT(rc, >=, 0);
        mt_sleep_ms(1);
    }
    ASSERT_EQ_INT(rc, MPISNAP_STOP);
    ASSERT_CMP_INT(mpisnap_last_committed(), >=, 0);
    return mt_finish(0);
}
