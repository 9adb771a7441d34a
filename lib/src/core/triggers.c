/* What asks for a snapshot or a stop besides mpisnap_request(): a signal
 * (MPISNAP_SIGNAL, MPISNAP_ON_SIGNAL), a halt file written by
 * `mpisnap halt`, and the end of the allocation (MPISNAP_STOP_BEFORE).
 * The signal handler only sets a flag; everything else happens at safe
 * points. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"

static volatile sig_atomic_t got_signal;
static int on_signal = MS_WANT_SNAPSHOT | MS_WANT_STOP;
static double stop_before = -1; /* seconds; <0 off */
static double end_time;         /* rank 0: the allocation ends (epoch s) */
static int end_fired;
static double next_halt_check;

static void handler(int sig)
{
    (void)sig;
    got_signal = 1;
}

static void catch_signal(int sig)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* A job script may signal a job whose ranks are still starting: catch the
 * snapshot signal from the moment the library is loaded, not only from
 * MPI_Init, and serve it at the first safe points.  A bad MPISNAP_SIGNAL
 * is left alone here: MPI_Init reports it. */
__attribute__((constructor)) static void catch_early(void)
{
    const char *v = getenv("MPISNAP_SIGNAL");
    int sig = v ? ms__config_signal(v) : SIGUSR1;

    if (sig > 0)
        catch_signal(sig);
}

/* The job's end time from Slurm: squeue's end-time field (ISO 8601,
 * local time).  0 when unknown. */
static double slurm_end_time(void)
{
    const char *job = getenv("SLURM_JOB_ID");
    char cmd[128], line[64] = "";
    struct tm tm = {0};
    FILE *p;

    if (!job || strspn(job, "0123456789_") != strlen(job))
        return 0;
    snprintf(cmd, sizeof cmd, "squeue -h -j %s -o %%e 2>/dev/null", job);
    if (!(p = popen(cmd, "r")))
        return 0;
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    pclose(p);
    tm.tm_isdst = -1;
    if (!strptime(line, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return (double)mktime(&tm);
}

int ms__triggers_init(char *errbuf, size_t errlen)
{
    (void)errbuf; /* config.c checked every value */
    (void)errlen;
    on_signal = MS_WANT_SNAPSHOT | (ms__cfg.on_signal_stop ? MS_WANT_STOP : 0);
    stop_before = ms__cfg.stop_before;
    if (ms__cfg.signal)
        catch_signal(ms__cfg.signal);
    if (ms.world_rank == 0 && stop_before >= 0) {
        end_time = ms__cfg.end_time > 0 ? ms__cfg.end_time : slurm_end_time();
        if (end_time > 0)
            MS_INFO("the job ends at %.0f: stopping %.0f s before", end_time,
                    stop_before);
        else
            MS_WARN("MPISNAP_STOP_BEFORE is set but the job's end time is "
                    "unknown (not under Slurm, and MPISNAP_END_TIME unset)");
    }
    return 0;
}

/* Rank 0: a halt file in the snapshot directory (`mpisnap halt`).  It is
 * consumed, so the requeued job does not stop again at once. */
static int halt_file(void)
{
    static int warned;
    char path[PATH_MAX + 8], buf[16] = "";
    struct stat st;
    ssize_t n;
    int what = MS_WANT_STOP, fd;

    snprintf(path, sizeof path, "%s/halt", ms__cfg.dir);
    /* Only a regular file: a FIFO would block rank 0 here for good, and a
     * link (to /dev/zero, say) is not what `mpisnap halt` writes. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno != ELOOP)
        return 0;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (!warned++)
            MS_WARN("%s: not a regular file: ignored", path);
        if (fd >= 0)
            close(fd);
        return 0;
    }
    n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    /* "now": snapshot at once; otherwise stop after the next scheduled
     * snapshot, or at once when there is no schedule. */
    if (!strncmp(buf, "now", 3) || (!ms__cfg.every && !ms__cfg.interval))
        what |= MS_WANT_SNAPSHOT;
    MS_NOTE("halt requested (%s): stopping after the %s snapshot", path,
            what & MS_WANT_SNAPSHOT ? "next" : "next scheduled");
    return what;
}

int ms__triggers_poll(void)
{
    int what = 0;
    double now;

    if (MS_UNLIKELY(got_signal)) {
        got_signal = 0;
        what |= on_signal;
        MS_INFO("signal received: %s",
                on_signal & MS_WANT_STOP ? "snapshot, then stop" : "snapshot");
    }
    if (ms.world_rank != 0)
        return what;
    now = ms__now();
    if (now >= next_halt_check) {
        next_halt_check = now + 1.0;
        what |= halt_file();
        if (end_time > 0 && !end_fired &&
            (double)time(NULL) >= end_time - stop_before) {
            end_fired = 1;
            what |= MS_WANT_SNAPSHOT | MS_WANT_STOP;
            MS_NOTE("%.0f s before the end of the allocation: snapshot, "
                    "then stop",
                    stop_before);
        }
    }
    return what;
}
