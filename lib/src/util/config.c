/* Configuration from MPISNAP_* environment variables, read at MPI_Init.
 * Every variable goes through one strict parser of its kind (count,
 * seconds, boolean, signal, time, or one of a few words): a bad value,
 * an empty one included, is an error naming the variable and the form it
 * accepts, never a silent default or a truncated number. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
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

#define MAX_SECONDS 1e9          /* about 31 years */
#define MAX_EPOCH 253402300799LL /* 9999-12-31T23:59:59Z */

static int bad(char *errbuf, size_t errlen, const char *var, const char *val,
               const char *want)
{
    snprintf(errbuf, errlen, "%s=\"%s\" is not valid: expected %s", var, val,
             want);
    return MPISNAP_EINVAL;
}

/* Decimal digits only, no sign, no space, in [min, max]. */
static int count_of(const char *v, long long min, long long max, long long *out)
{
    char *end;
    long long x;

    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || *end || x < min || x > max)
        return -1;
    *out = x;
    return 0;
}

/* Digits with an optional fraction ("30", "0.5"): no sign, exponent, hex,
 * inf or nan. */
static int seconds_of(const char *v, double *out)
{
    size_t digits = strspn(v, "0123456789"), frac = 0;

    if (v[digits] == '.')
        frac = strspn(v + digits + 1, "0123456789");
    if (digits + frac == 0 ||
        v[digits + (v[digits] == '.' ? 1 + frac : 0)] != '\0')
        return -1;
    *out = strtod(v, NULL);
    return *out <= MAX_SECONDS ? 0 : -1;
}

/* The variable's value; NULL when unset.  Set but empty is an error. */
static const char *env(const char *var, const char *want, int *ret,
                       char *errbuf, size_t errlen)
{
    const char *v = getenv(var);

    if (v && !*v) {
        snprintf(errbuf, errlen, "%s is set but empty: expected %s", var, want);
        *ret = MPISNAP_EINVAL;
        return NULL;
    }
    return v;
}

/* The parsers of each kind: leave *out alone when the variable is unset. */
static int get_count(const char *var, long long min, long long max,
                     long long *out, char *errbuf, size_t errlen)
{
    char want[96];
    const char *v;
    int ret = 0;

    snprintf(want, sizeof want, "a whole number from %lld to %lld", min, max);
    if ((v = env(var, want, &ret, errbuf, errlen)) &&
        count_of(v, min, max, out))
        return bad(errbuf, errlen, var, v, want);
    return ret;
}

static int get_int(const char *var, int min, int *out, char *errbuf,
                   size_t errlen)
{
    long long x = *out;
    int ret = get_count(var, min, INT_MAX, &x, errbuf, errlen);

    *out = (int)x;
    return ret;
}

/* Seconds in [0, MAX_SECONDS]; positive: 0 is refused too. */
static int get_seconds(const char *var, int positive, double *out, char *errbuf,
                       size_t errlen)
{
    char want[96];
    const char *v;
    int ret = 0;

    snprintf(want, sizeof want,
             "a number of seconds %s 0 and at most %.0f, such as 30 or 0.5",
             positive ? ">" : ">=", MAX_SECONDS);
    if ((v = env(var, want, &ret, errbuf, errlen)) &&
        (seconds_of(v, out) || (positive && *out == 0)))
        return bad(errbuf, errlen, var, v, want);
    return ret;
}

static int get_bool(const char *var, int *out, char *errbuf, size_t errlen)
{
    static const char *const no[] = {"0", "no", "off", "false"};
    static const char *const yes[] = {"1", "yes", "on", "true"};
    static const char want[] = "1, yes, on or true; 0, no, off or false";
    const char *v;
    int ret = 0, i;

    if (!(v = env(var, want, &ret, errbuf, errlen)))
        return ret;
    for (i = 0; i < 4; i++) {
        if (!strcasecmp(v, no[i]) || !strcasecmp(v, yes[i])) {
            *out = !strcasecmp(v, yes[i]);
            return 0;
        }
    }
    return bad(errbuf, errlen, var, v, want);
}

int ms__config_signal(const char *v)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM},
                 {"INT", SIGINT},   {"HUP", SIGHUP},   {"XCPU", SIGXCPU}};
    struct sigaction old;
    long long n;
    size_t i;

    if (!strcasecmp(v, "none"))
        return 0;
    if (!strncasecmp(v, "SIG", 3))
        v += 3;
    for (i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcasecmp(v, names[i].name))
            return names[i].sig;
    if (count_of(v, 1, NSIG - 1, &n))
        return -1;
    /* KILL and STOP cannot be caught; the faults are the program's own. */
    if (n == SIGKILL || n == SIGSTOP || n == SIGSEGV || n == SIGBUS ||
        n == SIGFPE || n == SIGILL)
        return -1;
    /* The C library keeps some for itself (glibc: 32 and 33). */
    if (sigaction((int)n, NULL, &old) < 0)
        return -1;
    return (int)n;
}

static int get_signal(const char *var, int *out, char *errbuf, size_t errlen)
{
    char want[256];
    const char *v;
    int ret = 0, sig;

    snprintf(want, sizeof want,
             "none, a signal name (USR1, USR2, TERM, INT, HUP, XCPU) or a "
             "number from 1 to %d other than KILL (%d), STOP (%d), SEGV, "
             "BUS, FPE, ILL and those the C library reserves",
             NSIG - 1, SIGKILL, SIGSTOP);
    if (!(v = env(var, want, &ret, errbuf, errlen)))
        return ret;
    if ((sig = ms__config_signal(v)) < 0)
        return bad(errbuf, errlen, var, v, want);
    *out = sig;
    return 0;
}

/* A time in whole seconds since the epoch. */
static int get_time(const char *var, double *out, char *errbuf, size_t errlen)
{
    static const char want[] = "a time in whole seconds since the epoch "
                               "(as `date +%s` prints it)";
    const char *v;
    long long t;
    int ret = 0;

    if (!(v = env(var, want, &ret, errbuf, errlen)))
        return ret;
    if (count_of(v, 1, MAX_EPOCH, &t))
        return bad(errbuf, errlen, var, v, want);
    *out = (double)t;
    return 0;
}

/* One of words[] (case-insensitive): its index into *out. */
static int get_word(const char *var, const char *const *words, int nwords,
                    const char *want, int *out, char *errbuf, size_t errlen)
{
    const char *v;
    int ret = 0, i;

    if (!(v = env(var, want, &ret, errbuf, errlen)))
        return ret;
    for (i = 0; i < nwords; i++)
        if (!strcasecmp(v, words[i])) {
            *out = i;
            return 0;
        }
    return bad(errbuf, errlen, var, v, want);
}

static int get_restart(long long *out, char *errbuf, size_t errlen)
{
    static const char want[] = "auto, never or a snapshot id";
    const char *v;
    int ret = 0;

    if (!(v = env("MPISNAP_RESTART", want, &ret, errbuf, errlen)))
        return ret;
    if (!strcasecmp(v, "auto"))
        *out = MS_RESTART_AUTO;
    else if (!strcasecmp(v, "never"))
        *out = MS_RESTART_NEVER;
    else if (count_of(v, 0, INT64_MAX, out))
        return bad(errbuf, errlen, "MPISNAP_RESTART", v, want);
    return 0;
}

static int get_kill_in_write(struct ms__config *c, char *errbuf, size_t errlen)
{
    static const char want[] = "RANK:SNAPSHOT_ID";
    const char *v, *colon;
    char rank[24];
    long long r;
    int ret = 0;

    if (!(v = env("MPISNAP_TEST_KILL_IN_WRITE", want, &ret, errbuf, errlen)))
        return ret;
    colon = strchr(v, ':');
    if (!colon || (size_t)(colon - v) >= sizeof rank)
        return bad(errbuf, errlen, "MPISNAP_TEST_KILL_IN_WRITE", v, want);
    memcpy(rank, v, (size_t)(colon - v));
    rank[colon - v] = '\0';
    if (count_of(rank, 0, INT_MAX, &r) ||
        count_of(colon + 1, 0, INT64_MAX, &c->kill_id))
        return bad(errbuf, errlen, "MPISNAP_TEST_KILL_IN_WRITE", v, want);
    c->kill_rank = (int)r;
    return 0;
}

#define TRY(call)                                                              \
    do {                                                                       \
        if ((ret = (call)) < 0)                                                \
            return ret;                                                        \
    } while (0)

int ms__config_load(char *errbuf, size_t errlen)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    static const char *const on_signal[] = {"snapshot", "stop"};
    static const char *const on_hang[] = {"report", "abort"};
    struct ms__config c = {.restart = MS_RESTART_AUTO,
                           .keep = 2,
                           .timeout = 60,
                           .signal = SIGUSR1,
                           .on_signal_stop = 1,
                           .stop_before = -1,
                           .observe_signal = SIGUSR2,
                           .trace_size = 4096,
                           .observe_keep = 10,
                           .kill_rank = -1,
                           .ignore_markers = -1};
    const char *v;
    long long x;
    int ret = 0, level = ms__log_level;

    v = env("MPISNAP_DIR", "a directory", &ret, errbuf, errlen);
    if (ret < 0)
        return ret;
    if (v && strlen(v) >= sizeof c.dir - 32)
        return bad(errbuf, errlen, "MPISNAP_DIR", v, "a shorter path");
    strcpy(c.dir, v ? v : "mpisnap-snapshots");

    TRY(get_restart(&c.restart, errbuf, errlen));
    TRY(get_int("MPISNAP_KEEP", 1, &c.keep, errbuf, errlen));
    TRY(get_count("MPISNAP_EVERY", 0, INT64_MAX, &c.every, errbuf, errlen));
    TRY(get_seconds("MPISNAP_INTERVAL", 0, &c.interval, errbuf, errlen));
    TRY(get_seconds("MPISNAP_TIMEOUT", 1, &c.timeout, errbuf, errlen));
    TRY(get_signal("MPISNAP_SIGNAL", &c.signal, errbuf, errlen));
    TRY(get_word("MPISNAP_ON_SIGNAL", on_signal, 2, "snapshot or stop",
                 &c.on_signal_stop, errbuf, errlen));
    TRY(get_seconds("MPISNAP_STOP_BEFORE", 0, &c.stop_before, errbuf, errlen));
    TRY(get_time("MPISNAP_END_TIME", &c.end_time, errbuf, errlen));
    TRY(get_word("MPISNAP_LOG", levels, 4, "error, warn, info or debug", &level,
                 errbuf, errlen));

    TRY(get_bool("MPISNAP_TRACE", &c.trace, errbuf, errlen));
    x = c.trace_size;
    TRY(get_count("MPISNAP_TRACE_SIZE", 16, 1 << 24, &x, errbuf, errlen));
    c.trace_size = (size_t)x;

    TRY(get_bool("MPISNAP_OBSERVE", &c.observe, errbuf, errlen));
    TRY(get_signal("MPISNAP_OBSERVE_SIGNAL", &c.observe_signal, errbuf,
                   errlen));
    TRY(get_seconds("MPISNAP_HANG_AFTER", 0, &c.hang_after, errbuf, errlen));
    if (c.hang_after > 0)
        c.observe = 1; /* hang detection needs observation mode */
    TRY(get_word("MPISNAP_ON_HANG", on_hang, 2, "report or abort",
                 &c.on_hang_abort, errbuf, errlen));
    TRY(get_int("MPISNAP_OBSERVE_KEEP", 1, &c.observe_keep, errbuf, errlen));
    if (c.observe && c.observe_signal && c.observe_signal == c.signal) {
        snprintf(errbuf, errlen,
                 "MPISNAP_OBSERVE_SIGNAL and MPISNAP_SIGNAL name the same "
                 "signal (%d): one signal cannot both observe and snapshot",
                 c.signal);
        return MPISNAP_EINVAL;
    }

    TRY(get_bool("MPISNAP_TEST_LIBMATCH", &c.libmatch, errbuf, errlen));
    TRY(get_count("MPISNAP_TEST_INCONSISTENT", 0, INT_MAX, &c.fake_inconsistent,
                  errbuf, errlen));
    TRY(get_int("MPISNAP_TEST_IGNORE_MARKERS", 0, &c.ignore_markers, errbuf,
                errlen));
    TRY(get_kill_in_write(&c, errbuf, errlen));

    ms__log_level = level;
    ms__cfg = c;
    return 0;
}
