/* Which snapshot a restart uses: one rule for the library's restore
 * (lib/src/core/restore.c) and the command-line tool, so that
 * `mpisnap verify ROOT` checks the snapshot a restart would read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/h5_common.h"

int ms__store_candidates(const char *root, int64_t want, uint64_t *ids,
                         size_t max, size_t *n)
{
    uint64_t *all = NULL;
    size_t nall = 0, i;
    int64_t highest;
    int ret;

    *n = 0;
    if ((ret = ms__store_scan(root, 0, &all, &nall, &highest)) < 0)
        return ret;
    ret = 0;
    if (want >= 0) {
        for (i = 0; i < nall && all[i] != (uint64_t)want; i++)
            ;
        if (i < nall && max > 0)
            ids[(*n)++] = all[i];
        else
            ret = ms__store_err(MPISNAP_ENOSNAP, MS_SRC_NONE,
                                "no committed snapshot with id %lld in %s",
                                (long long)want, root);
    } else {
        for (i = 0; i < nall && i < max; i++)
            ids[(*n)++] = all[i];
    }
    free(all);
    return ret;
}

/* 0 when the index of snapshot id reads and every rank file has the
 * checksum it gives; else the error, described in err. */
static int usable(const char *root, uint64_t id, char *err, size_t n)
{
    struct ms__index ix;
    char dir[4200], path[4300];
    uint64_t sum;
    int ret, r;

    memset(&ix, 0, sizeof ix);
    if ((ret = ms__store_read_index(root, id, &ix)) < 0) {
        snprintf(err, n, "index: %s", ms__store_lasterr());
        return ret;
    }
    ms__store_snapdir(dir, sizeof dir, root, id, 0);
    for (r = 0; r < ix.nranks && ret == 0; r++) {
        snprintf(path, sizeof path, "%s/rank-%06d.h5", dir, r);
        sum = 0;
        ret = ms__store_file_checksum(path, &sum, NULL);
        if (ret == MPISNAP_ENOSNAP)
            snprintf(err, n, "rank-%06d.h5: missing", r);
        else if (ret < 0)
            snprintf(err, n, "rank-%06d.h5: %s", r, ms__store_lasterr());
        else if (sum != ix.checksums[r])
            snprintf(err, n, "rank-%06d.h5: checksum mismatch (file damaged)",
                     r);
        if (ret == MPISNAP_ENOSNAP || (ret == 0 && sum != ix.checksums[r]))
            ret = MPISNAP_ECORRUPT;
    }
    ms__store_free_index(&ix);
    return ret;
}

int ms__store_choose(const char *root, uint64_t *id, char *skipped, size_t n)
{
    uint64_t ids[MS_RESTART_CANDIDATES];
    char err[1024];
    size_t nids, i, len = 0;
    int ret;

    if (skipped && n)
        skipped[0] = '\0';
    if ((ret = ms__store_candidates(root, -1, ids, MS_RESTART_CANDIDATES,
                                    &nids)) < 0)
        return ret;
    if (nids == 0)
        return ms__store_err(MPISNAP_ENOSNAP, MS_SRC_NONE,
                             "no committed snapshot in %s", root);
    for (i = 0; i < nids; i++) {
        ret = usable(root, ids[i], err, sizeof err);
        /* As the restore: only damage makes it try the previous one. */
        if (ret != MPISNAP_ECORRUPT && ret != MPISNAP_EIO) {
            *id = ids[i];
            return 0;
        }
        if (skipped && len < n)
            len += (size_t)snprintf(
                skipped + len, n - len, "%ssnapshot %llu is damaged (%s)",
                len ? "; " : "", (unsigned long long)ids[i], err);
    }
    *id = ids[0]; /* none readable: the restore fails on the newest */
    if (skipped && n)
        skipped[0] = '\0';
    return 0;
}
