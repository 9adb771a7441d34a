/* mpisnap halt: ask a running job to snapshot and stop (DIR/halt, read by
 * lib/src/core/triggers.c on rank 0 about once a second). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

int cmd_halt(int argc, char **argv)
{
    static const struct option opts[] = {
        {"now", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char path[4200], tmp[4300];
    const char *dir;
    struct stat st;
    int now = 0, c, fd;
    FILE *f;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return help_verb("halt"), EXIT_OK;
        if (c == 'n')
            now = 1;
        else
            return usage_err("halt");
    }
    if (argc - optind > 1)
        return usage_err("halt");
    dir = tool_root(optind < argc ? argv[optind] : NULL);
    if (stat(dir, &st) < 0)
        return tool_err("%s: %s (is it the job's MPISNAP_DIR?)", dir,
                        strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return tool_err("%s: not a directory", dir);
    snprintf(path, sizeof path, "%s/halt", dir);
    snprintf(tmp, sizeof tmp, "%s/.halt.tmp", dir);
    /* Written beside and renamed: rank 0 never reads half a file.  A new
     * file, never through a symlink planted in a shared directory. */
    if (unlink(tmp) < 0 && errno != ENOENT)
        return tool_err("%s: %s", tmp, strerror(errno));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;

        if (fd >= 0)
            close(fd);
        return tool_err("%s: %s", tmp, strerror(e));
    }
    fputs(now ? "now\n" : "halt\n", f);
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        int e = errno;

        unlink(tmp);
        return tool_err("%s: %s", path, strerror(e));
    }
    printf("wrote %s\n", path);
    if (now)
        printf("the job writing to %s takes a snapshot at its next safe "
               "point\n(rank 0 looks about once a second), then stops.\n",
               dir);
    else
        printf("the job writing to %s stops after its next scheduled "
               "snapshot\n(MPISNAP_INTERVAL or MPISNAP_EVERY); with no "
               "schedule it takes a\nsnapshot at once, then stops.  Rank 0 "
               "looks about once a second.\n",
               dir);
    printf("the job removes %s when it has seen it.\n", path);
    return EXIT_OK;
}
