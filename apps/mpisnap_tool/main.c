/* mpisnap: read, check and draw mpisnap snapshots without MPI.
 * Usage: mpisnap VERB [options] (help.c; docs/cli.md). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hdf5.h>

#include "mpisnap/version.h"
#include "tool.h"

const char *tool_verb = NULL;

int tool_err(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "mpisnap%s%s: ", tool_verb ? " " : "",
            tool_verb ? tool_verb : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_ERROR;
}

const char *tool_strip(const char *msg, const char *path)
{
    size_t n = strlen(path);

    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    return msg;
}

const char *tool_root(const char *dir)
{
    const char *env = getenv("MPISNAP_DIR");

    if (dir && *dir)
        return dir;
    if (env && *env)
        return env;
    return "mpisnap-snapshots";
}

const char *tool_size(char *buf, size_t n, uint64_t bytes)
{
    static const char *unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    int u = -1;

    if (bytes < 1024) {
        snprintf(buf, n, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, n, "%.1f %s", v, unit[u]);
    return buf;
}

const char *tool_time(char *buf, size_t n, double t)
{
    time_t s = (time_t)t;
    struct tm tm;
    char day[32];

    if (t < 1e9 || !localtime_r(&s, &tm)) {
        /* Not seconds since the epoch (before 2001): a clock reading. */
        snprintf(buf, n, "clock %.3f s", t);
        return buf;
    }
    strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03d", day, (int)((t - (double)s) * 1000));
    return buf;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} verbs[] = {
    {"list", cmd_list}, {"show", cmd_show}, {"verify", cmd_verify},
    {"diff", cmd_diff}, {"draw", cmd_draw}, {"halt", cmd_halt},
};

int main(int argc, char **argv)
{
    const char *v = argc > 1 ? argv[1] : NULL;

    /* Failures are reported by the store as one line each. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!v) {
        help_main(stderr);
        return EXIT_ERROR;
    }
    if (!strcmp(v, "--help") || !strcmp(v, "-h") || !strcmp(v, "help")) {
        if (argc > 2 && strcmp(v, "help") == 0)
            return help_verb(argv[2]) < 0 ? usage_err(argv[2]) : EXIT_OK;
        help_main(stdout);
        return EXIT_OK;
    }
    if (!strcmp(v, "--version") || !strcmp(v, "-V")) {
        printf("mpisnap %s (snapshot format %d, HDF5 %d.%d.%d)\n",
               MPISNAP_VERSION_STRING, MPISNAP_FORMAT_VERSION, H5_VERS_MAJOR,
               H5_VERS_MINOR, H5_VERS_RELEASE);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (!strcmp(v, verbs[i].name)) {
            tool_verb = verbs[i].name;
            return verbs[i].fn(argc - 1, argv + 1);
        }
    tool_err("unknown command '%s' (try 'mpisnap --help')", v);
    return EXIT_ERROR;
}
