/* Observation mode (MPISNAP_OBSERVE=1): a rank blocked in MPI must still
 * take part in an observation, so every blocking call is its nonblocking
 * form plus a loop that polls for markers (the wrappers call in here), and
 * ms.call says what the rank waits for.  Off, none of this runs. */
#include <sched.h>
#include <time.h>

#include "pmpi/pmpi.h"

static double wallclock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int ms__call_enter(const char *name, int kind, struct ms__comm *c, int peer,
                   int tag)
{
    if (ms.call.name) /* MPI_Sendrecv waits with MPI_Waitall: keep the outer */
        return 0;
    ms.call = (struct ms__call){.name = name,
                                .t_enter = wallclock(),
                                .kind = kind,
                                .c = c,
                                .peer = peer,
                                .tag = tag,
                                .nposts = ms.nposts};
    return 1;
}

int ms__call_enter_reqs(const char *name, const MPI_Request *reqs, int n,
                        int mode)
{
    int in = ms__call_enter(name, 0, NULL, 0, 0);

    if (in) {
        ms.call.reqs = reqs;
        ms.call.nreqs = n;
        ms.call.mode = mode;
    }
    return in;
}

void ms__call_leave(int entered)
{
    if (entered)
        ms.call.name = NULL;
}

void ms__call_idle(void)
{
    double after = ms__cfg.hang_after;

    /* Spin a while first: most waits end within microseconds, and
     * clock_gettime and sched_yield each cost as much as a small
     * message. */
    if (++ms.call.spins < 64)
        return;
    /* MPISNAP_HANG_AFTER=S fires S, 2 S, 4 S, ... into the call: a verdict
     * of "progressing" (a peer was computing, say) is checked again
     * later, and a long wait costs few observations. */
    for (int i = 0; i < ms.call.hang_fired; i++)
        after *= 2;
    if (after > 0 && ms.call.name && wallclock() - ms.call.t_enter > after) {
        ms.call.hang_fired++;
        MS_INFO("blocked in %s for more than %g s: observing the job",
                ms.call.name, after);
        ms__obs_want("MPISNAP_HANG_AFTER");
    }
    sched_yield(); /* let an oversubscribed peer run */
}

int ms__obs_wait(MPI_Request *req, MPI_Status *st)
{
    int rc, flag = 0;

    if (ms.call.name && !ms.call.reqs) { /* what the call waits for */
        ms.call.reqs = req;
        ms.call.nreqs = 1;
    }
    while ((rc = MPI_Test(req, &flag, st)) == MPI_SUCCESS && !flag)
        ms__call_idle();
    return rc;
}
