/* Configuration from MPISNAP_* environment variables, read at MPI_Init.
 * A bad value is an error naming the variable, never a silent default. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/util.h"

struct ms__config ms__cfg;

double ms__now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bad(char *errbuf, size_t errlen, const char *var, const char *val,
               const char *want)
{
    snprintf(errbuf, errlen, "%s=\"%s\" is not valid: expected %s", var, val,
             want);
    return MPISNAP_EINVAL;
}

static int get_ll(const char *var, long long min, long long *out, char *errbuf,
                  size_t errlen)
{
    const char *v = getenv(var);
    char *end;
    long long x;

    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || *end || x < min) {
        char want[64];
        snprintf(want, sizeof want, "an integer >= %lld", min);
        return bad(errbuf, errlen, var, v, want);
    }
    *out = x;
    return 0;
}

static int get_seconds(const char *var, double *out, char *errbuf,
                       size_t errlen)
{
    const char *v = getenv(var);
    char *end;
    double x;

    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtod(v, &end);
    if (errno || *end || x < 0)
        return bad(errbuf, errlen, var, v, "a number of seconds >= 0");
    *out = x;
    return 0;
}

int ms__config_load(char *errbuf, size_t errlen)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    struct ms__config c = {
        .restart = MS_RESTART_AUTO, .keep = 2, .timeout = 60};
    const char *v;
    long long x;
    int ret, i;

    v = getenv("MPISNAP_DIR");
    if (v && *v) {
        if (strlen(v) >= sizeof c.dir - 32)
            return bad(errbuf, errlen, "MPISNAP_DIR", v, "a shorter path");
        strcpy(c.dir, v);
    } else {
        strcpy(c.dir, "mpisnap-snapshots");
    }

    v = getenv("MPISNAP_RESTART");
    if (v && *v && strcasecmp(v, "auto") != 0) {
        if (strcasecmp(v, "never") == 0) {
            c.restart = MS_RESTART_NEVER;
        } else {
            x = -1;
            if (get_ll("MPISNAP_RESTART", 0, &x, errbuf, errlen) < 0)
                return bad(errbuf, errlen, "MPISNAP_RESTART", v,
                           "auto, never or a snapshot id");
            c.restart = x;
        }
    }

    x = c.keep;
    if ((ret = get_ll("MPISNAP_KEEP", 1, &x, errbuf, errlen)) < 0)
        return ret;
    c.keep = (int)x;
    if ((ret = get_ll("MPISNAP_EVERY", 0, &c.every, errbuf, errlen)) < 0)
        return ret;
    if ((ret = get_seconds("MPISNAP_INTERVAL", &c.interval, errbuf, errlen)) <
        0)
        return ret;
    if ((ret = get_seconds("MPISNAP_TIMEOUT", &c.timeout, errbuf, errlen)) < 0)
        return ret;
    if (c.timeout == 0)
        return bad(errbuf, errlen, "MPISNAP_TIMEOUT", getenv("MPISNAP_TIMEOUT"),
                   "a number of seconds > 0");
    x = 0;
    if ((ret = get_ll("MPISNAP_TEST_LIBMATCH", 0, &x, errbuf, errlen)) < 0)
        return ret;
    c.libmatch = x != 0;

    x = 0;
    if ((ret = get_ll("MPISNAP_OBSERVE", 0, &x, errbuf, errlen)) < 0)
        return ret;
    c.observe = x != 0;
    if ((ret = get_seconds("MPISNAP_HANG_AFTER", &c.hang_after, errbuf,
                           errlen)) < 0)
        return ret;
    if (c.hang_after > 0)
        c.observe = 1; /* hang detection needs observation mode */
    x = 10;
    if ((ret = get_ll("MPISNAP_OBSERVE_KEEP", 1, &x, errbuf, errlen)) < 0)
        return ret;
    c.observe_keep = (int)x;
    v = getenv("MPISNAP_ON_HANG");
    if (v && *v) {
        if (strcasecmp(v, "abort") == 0)
            c.on_hang_abort = 1;
        else if (strcasecmp(v, "report") != 0)
            return bad(errbuf, errlen, "MPISNAP_ON_HANG", v, "report or abort");
    }

    if ((ret = get_ll("MPISNAP_TEST_INCONSISTENT", 0, &c.fake_inconsistent,
                      errbuf, errlen)) < 0)
        return ret;
    c.kill_rank = -1;
    v = getenv("MPISNAP_TEST_KILL_IN_WRITE");
    if (v && *v && sscanf(v, "%d:%lld", &c.kill_rank, &c.kill_id) != 2)
        return bad(errbuf, errlen, "MPISNAP_TEST_KILL_IN_WRITE", v,
                   "RANK:SNAPSHOT_ID");

    v = getenv("MPISNAP_LOG");
    if (v && *v) {
        for (i = 0; i < 4 && strcasecmp(v, levels[i]) != 0; i++)
            ;
        if (i == 4)
            return bad(errbuf, errlen, "MPISNAP_LOG", v,
                       "error, warn, info or debug");
        ms__log_level = i;
    }
    ms__cfg = c;
    return 0;
}
