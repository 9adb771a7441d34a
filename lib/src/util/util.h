/* Logging, configuration, error checks and a small hash map.
 * This file is private to mpisnap. */
#ifndef MPISNAP_UTIL_H
#define MPISNAP_UTIL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "mpisnap.h"

#define MS_LIKELY(x) __builtin_expect(!!(x), 1)
#define MS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- logging: "mpisnap[rank 3] warn: ..." on stderr ---- */
enum { MS_LOG_ERROR = 0, MS_LOG_WARN, MS_LOG_INFO, MS_LOG_DEBUG };
/* A note: an event every user wants to see (a committed snapshot),
 * printed unless MPISNAP_LOG=error. */
#define MS_LOG_NOTE (-1)
extern int ms__log_level;
extern int ms__log_rank;
void ms__log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define MS_ERROR(...) ms__log(MS_LOG_ERROR, __VA_ARGS__)
#define MS_WARN(...) ms__log(MS_LOG_WARN, __VA_ARGS__)
#define MS_NOTE(...) ms__log(MS_LOG_NOTE, __VA_ARGS__)
#define MS_INFO(...)                                                           \
    do {                                                                       \
        if (ms__log_level >= MS_LOG_INFO)                                      \
            ms__log(MS_LOG_INFO, __VA_ARGS__);                                 \
    } while (0)
#define MS_DEBUG(...)                                                          \
    do {                                                                       \
        if (MS_UNLIKELY(ms__log_level >= MS_LOG_DEBUG))                        \
            ms__log(MS_LOG_DEBUG, __VA_ARGS__);                                \
    } while (0)

/* One cleanup label per function: MS_CHECK(cond, ret = CODE, "msg", ...)
 * logs and jumps to `error` when cond is false. */
#define MS_CHECK(cond, assign, ...)                                            \
    do {                                                                       \
        if (MS_UNLIKELY(!(cond))) {                                            \
            MS_ERROR(__VA_ARGS__);                                             \
            assign;                                                            \
            goto error;                                                        \
        }                                                                      \
    } while (0)

/* ---- configuration from the environment, read at MPI_Init ---- */
enum { MS_RESTART_AUTO = -1, MS_RESTART_NEVER = -2 };
struct ms__config {
    char dir[PATH_MAX]; /* MPISNAP_DIR */
    long long restart;  /* MPISNAP_RESTART: id, or MS_RESTART_* */
    int keep;           /* MPISNAP_KEEP */
    double interval;    /* MPISNAP_INTERVAL seconds, 0 off */
    long long every;    /* MPISNAP_EVERY safe points, 0 off */
    double timeout;     /* MPISNAP_TIMEOUT seconds */
    int signal;         /* MPISNAP_SIGNAL, 0 none */
    int on_signal_stop; /* MPISNAP_ON_SIGNAL=stop */
    double stop_before; /* MPISNAP_STOP_BEFORE seconds, <0 off */
    double end_time;    /* MPISNAP_END_TIME (epoch seconds), 0 unset */
    int trace;          /* MPISNAP_TRACE */
    size_t trace_size;  /* MPISNAP_TRACE_SIZE events */
    int libmatch;       /* MPISNAP_TEST_LIBMATCH: library matching always */
    int kill_rank;      /* MPISNAP_TEST_KILL_IN_WRITE=rank:id (fault */
    long long kill_id;  /* tests): SIGKILL there while writing */
    int ignore_markers; /* MPISNAP_TEST_IGNORE_MARKERS=rank (tests), -1 */
    int observe;        /* MPISNAP_OBSERVE: observation mode */
    int observe_signal; /* MPISNAP_OBSERVE_SIGNAL, 0 none */
    double hang_after;  /* MPISNAP_HANG_AFTER seconds, 0 off */
    int on_hang_abort;  /* MPISNAP_ON_HANG=abort */
    int observe_keep;   /* MPISNAP_OBSERVE_KEEP */
    long long fake_inconsistent; /* MPISNAP_TEST_INCONSISTENT=N (tests):
                                    rank 1 reports the first N observations
                                    inconsistent */
};
extern struct ms__config ms__cfg;
/* Parse the environment; on a bad value fill errbuf and return <0. */
int ms__config_load(char *errbuf, size_t errlen);
/* The signal a MPISNAP_SIGNAL-like value names: "USR1", "SIGUSR1", a
 * number; 0 for "none"; -1 when it is not one that can be caught. */
int ms__config_signal(const char *v);

double ms__now(void); /* monotonic seconds */

/* ---- open-addressing hash map, uint64 key -> void *, key 0 reserved ---- */
struct ms__hmap {
    uint64_t *keys;
    void **vals;
    size_t cap, len;
};
int ms__hmap_put(struct ms__hmap *m, uint64_t key, void *val);
void *ms__hmap_get(const struct ms__hmap *m, uint64_t key);
void *ms__hmap_del(struct ms__hmap *m, uint64_t key);
void ms__hmap_free(struct ms__hmap *m);

static inline uint64_t ms__mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb3f97f4a7c15ULL;
    x ^= x >> 33;
    return x;
}

#endif
