/* Logging: one line per event on stderr, prefixed with the rank. */
#include <stdarg.h>
#include <stdio.h>

#include "util/util.h"

int ms__log_level = MS_LOG_WARN;
int ms__log_rank = -1;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void ms__log(int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    if (level == MS_LOG_NOTE) {
        if (ms__log_level < MS_LOG_WARN)
            return;
        n = snprintf(line, sizeof line, "mpisnap[%d]: ", ms__log_rank);
    } else {
        if (level > ms__log_level)
            return;
        n = snprintf(line, sizeof line, "mpisnap[%d] %s: ", ms__log_rank,
                     level_names[level]);
    }
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One fprintf per line so lines from ranks sharing stderr stay whole. */
    fprintf(stderr, "%s\n", line);
}
