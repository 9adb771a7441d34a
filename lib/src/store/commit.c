/* Commit (index.h5, rename, latest), retention, discard and scan.
 * A snapshot is committed exactly when its directory has lost the
 * .partial suffix; `latest` is only a hint for people and scripts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpisnap/version.h"
#include "store/h5_common.h"

/* ----------------------------------------------------------------- files */

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) < 0 && errno != ENOENT)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "remove %s", path);
    return 0;
}

/* rm -r; a missing path is no error. */
static int rm_tree(const char *path)
{
    struct stat st;
    int rc;

    if (lstat(path, &st) < 0 && errno == ENOENT)
        return 0;
    /* nftw returns -1 on its own failures, else what rm_entry returned. */
    rc = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (rc == -1)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "remove %s", path);
    return rc;
}

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Parse "snap-<digits>" with an optional ".partial"; -1 when not ours. */
static int parse_name(const char *s, uint64_t *id, int *partial)
{
    char *end;

    if (strncmp(s, "snap-", 5) != 0 || s[5] < '0' || s[5] > '9')
        return -1;
    errno = 0;
    *id = strtoull(s + 5, &end, 10);
    if (errno || *id > INT64_MAX)
        return -1;
    *partial = strcmp(end, ".partial") == 0;
    return (*partial || *end == '\0') ? 0 : -1;
}

/* -------------------------------------------------------------- index.h5 */

static int index_attrs(hid_t f, const struct ms__index *ix)
{
    int32_t fv = MPISNAP_FORMAT_VERSION;
    char app[sizeof ix->app];
    int ret;

    snprintf(app, sizeof app, "%.*s", (int)sizeof app - 1, ix->app);
    if ((ret =
             ms__h5_attr_put(f, "snap_id", H5T_NATIVE_UINT64, &ix->snap_id)) ||
        (ret = ms__h5_attr_put(f, "nranks", H5T_NATIVE_INT32, &ix->nranks)) ||
        (ret = ms__h5_attr_put(f, "point", H5T_NATIVE_UINT64, &ix->point)) ||
        (ret =
             ms__h5_attr_put(f, "t_start", H5T_NATIVE_DOUBLE, &ix->t_start)) ||
        (ret = ms__h5_attr_put(f, "t_end", H5T_NATIVE_DOUBLE, &ix->t_end)) ||
        (ret = ms__h5_attr_put(f, "bytes", H5T_NATIVE_UINT64, &ix->bytes)) ||
        (ret = ms__h5_attr_put(f, "nmsgs", H5T_NATIVE_UINT64, &ix->nmsgs)) ||
        (ret = ms__h5_attr_put(f, "format_version", H5T_NATIVE_INT32, &fv)) ||
        (ret = ms__h5_attr_str(f, "app", app)) ||
        (ret = ms__h5_attr_str(f, "kind",
                               ix->observation ? MS_KIND_OBSERVATION
                                               : MS_KIND_CHECKPOINT)))
        return ret;
    return ms__h5_attr_str(f, "library_version", MPISNAP_VERSION_STRING);
}

/* An observation's verdict, report, cycle and properties.  The report is
 * an attribute: cut to MS_REPORT_MAX bytes, ending in "...\n". */
static int index_observation(hid_t f, const struct ms__index *ix)
{
    const char *rep = ix->report ? ix->report : "";
    size_t len = strlen(rep);
    char verdict[sizeof ix->verdict], *cut = NULL;
    struct ms__property *props = NULL;
    hid_t pt = H5I_INVALID_HID;
    int ret = 0;

    MS_SCHECK((ix->ncycle == 0 || ix->cycle) && (ix->nprops == 0 || ix->props),
              MPISNAP_EINVAL, MS_SRC_NONE,
              "commit: %zu cycle ranks, %zu properties but no buffer",
              ix->ncycle, ix->nprops);
    if (len > MS_REPORT_MAX) {
        cut = malloc(MS_REPORT_MAX + 1);
        MS_SCHECK(cut, MPISNAP_ENOMEM, MS_SRC_NONE, "report: out of memory");
        memcpy(cut, rep, MS_REPORT_MAX - 4);
        memcpy(cut + MS_REPORT_MAX - 4, "...\n", 5);
        rep = cut;
    }
    /* Names NUL-terminated within their 64 bytes, whatever the caller. */
    props = calloc(ix->nprops ? ix->nprops : 1, sizeof *props);
    pt = ms__h5_prop_type();
    MS_SCHECK(props && pt >= 0, MPISNAP_ENOMEM, MS_SRC_NONE,
              "properties: out of memory");
    for (size_t i = 0; i < ix->nprops; i++) {
        props[i] = ix->props[i];
        props[i].name[sizeof props[i].name - 1] = '\0';
    }
    snprintf(verdict, sizeof verdict, "%.*s", (int)sizeof verdict - 1,
             ix->verdict);
    if ((ret = ms__h5_attr_str(f, "verdict", verdict)) ||
        (ret = ms__h5_attr_str(f, "report", rep)) ||
        (ret = ms__h5_write_1d(f, "cycle", H5T_NATIVE_INT32, ix->ncycle,
                               ix->cycle)))
        goto out;
    ret = ms__h5_write_1d(f, "properties", pt, ix->nprops, props);
out:
    if (pt >= 0)
        H5Tclose(pt);
    free(props);
    free(cut);
    return ret;
}

/* /ranks/<r> -> rank-NNNNNN.h5:/ so that h5ls -r index.h5 shows it all.
 * The target is relative: HDF5 finds it beside index.h5. */
static int index_links(hid_t f, int32_t nranks)
{
    hid_t g = H5Gcreate2(f, "ranks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    char target[32], link[16];
    int ret = 0;

    MS_SCHECK(g >= 0, MPISNAP_EIO, MS_SRC_H5, "create /ranks");
    for (int32_t r = 0; r < nranks; r++) {
        snprintf(target, sizeof target, "rank-%06d.h5", (int)r);
        snprintf(link, sizeof link, "%d", (int)r);
        MS_SCHECK(H5Lcreate_external(target, "/", g, link, H5P_DEFAULT,
                                     H5P_DEFAULT) >= 0,
                  MPISNAP_EIO, MS_SRC_H5, "link /ranks/%s", link);
    }
out:
    if (g >= 0)
        H5Gclose(g);
    return ret;
}

static int write_index(const char *path, const struct ms__index *ix)
{
    struct ms__h5_quiet q;
    hid_t fapl, f = H5I_INVALID_HID;
    int ret = 0;

    ms__h5_quiet_begin(&q);
    fapl = ms__h5_fapl();
    MS_SCHECK(fapl >= 0, MPISNAP_EIO, MS_SRC_H5, "file access list");
    f = ms__h5_create(path, fapl);
    if (f < 0) {
        ret = MPISNAP_EIO; /* ms__h5_create said why */
        goto out;
    }
    if ((ret = index_attrs(f, ix)) ||
        (ret = ms__h5_write_1d(f, "checksums", H5T_NATIVE_UINT64,
                               (uint64_t)ix->nranks, ix->checksums)) ||
        (ret = index_links(f, ix->nranks)))
        goto out;
    if (ix->observation)
        ret = index_observation(f, ix);
out:
    ret = ms__h5_close_file(f, path, ret);
    if (fapl >= 0)
        H5Pclose(fapl);
    ms__h5_quiet_end(&q);
    return ret;
}

/* ---------------------------------------------------------------- latest */

/* Write a temporary file, fsync, rename over `latest`, fsync the root:
 * a reader sees the old name or the new one, never a torn file. */
static int write_latest(const char *root, uint64_t id)
{
    char tmp[4096], path[4096], line[40];
    int fd = -1, ret = 0, len;

    len = snprintf(line, sizeof line, "snap-%06llu\n", (unsigned long long)id);
    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp", root, MS_H5_LATEST) >=
            (int)sizeof tmp ||
        snprintf(path, sizeof path, "%s/%s", root, MS_H5_LATEST) >=
            (int)sizeof path)
        return ms__store_err(MPISNAP_EINVAL, MS_SRC_NONE, "%s: path too long",
                             root);
    /* A new file, never through a planted symlink: a leftover one (a
     * crash, or planted) is removed first (unlink removes a symlink, not
     * what it points to). */
    if (unlink(tmp) < 0 && errno != ENOENT)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "remove %s", tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    MS_SCHECK(fd >= 0, MPISNAP_EIO, MS_SRC_ERRNO, "create %s", tmp);
    MS_SCHECK(write(fd, line, (size_t)len) == len && fsync(fd) == 0,
              MPISNAP_EIO, MS_SRC_ERRNO, "write %s", tmp);
    MS_SCHECK(close(fd) == 0, MPISNAP_EIO, MS_SRC_ERRNO, "close %s", tmp);
    fd = -1;
    MS_SCHECK(rename(tmp, path) == 0, MPISNAP_EIO, MS_SRC_ERRNO, "rename %s",
              tmp);
    ret = ms__fsync_path(root);
out:
    if (fd >= 0)
        close(fd);
    if (ret < 0)
        unlink(tmp);
    return ret;
}

/* ------------------------------------------------------------- retention */

/* Remove a committed snapshot: first rename it back to .partial, so that a
 * crash halfway leaves a directory that scan removes, never a committed
 * snapshot with files missing. */
static int remove_snapshot(const char *root, uint64_t id)
{
    char dir[4096], part[4096];
    int ret;

    if ((ret = ms__store_path(dir, sizeof dir, root, id, 0, NULL)) ||
        (ret = ms__store_path(part, sizeof part, root, id, 1, NULL)) ||
        (ret = rm_tree(part)))
        return ret;
    if (rename(dir, part) < 0)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "rename %s", dir);
    return rm_tree(part);
}

/* Keep the newest `keep`, counting the one just committed. */
static int retain(const char *root, uint64_t id, int keep)
{
    uint64_t *ids = NULL;
    size_t n = 0;
    int64_t hi;
    int kept = 1, ret = 0;

    if (ms__store_scan(root, 0, &ids, &n, &hi) < 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == id)
            continue;
        if (kept < keep)
            kept++;
        else if (remove_snapshot(root, ids[i]) < 0)
            ret = 1;
    }
    free(ids);
    return ret;
}

/* Every rank file is in the partial directory and is the one its rank
 * reported: a directory removed and re-created while the ranks wrote (by
 * another job or a person) must never be committed with a file missing or
 * foreign.  The checksum is read back from the disk, not trusted. */
static int check_rank_files(const char *root, const struct ms__index *ix)
{
    char name[32], path[4096];
    uint64_t sum, bytes;
    int ret;

    for (int32_t r = 0; r < ix->nranks; r++) {
        snprintf(name, sizeof name, "rank-%06d.h5", (int)r);
        if ((ret =
                 ms__store_path(path, sizeof path, root, ix->snap_id, 1, name)))
            return ret;
        ret = ms__store_file_checksum(path, &sum, &bytes);
        if (ret == MPISNAP_ENOSNAP)
            return ms__store_err(MPISNAP_EIO, MS_SRC_NONE,
                                 "%s is missing (was the directory removed "
                                 "while the ranks wrote?)",
                                 path);
        if (ret < 0)
            return ret;
        if (sum != ix->checksums[r])
            return ms__store_err(MPISNAP_EIO, MS_SRC_NONE,
                                 "%s is not the file rank %d wrote (its "
                                 "checksum differs)",
                                 path, (int)r);
    }
    return 0;
}

int ms__store_commit(const char *root, const struct ms__index *ix, int keep)
{
    char part[4096], dir[4096], index[4096], first[512] = "";
    int ret, warn = 0;

    if (!ix || ix->nranks < 1 || !ix->checksums)
        return ms__store_err(MPISNAP_EINVAL, MS_SRC_NONE,
                             "commit: empty index");
    if ((ret = ms__store_path(part, sizeof part, root, ix->snap_id, 1, NULL)) ||
        (ret = ms__store_path(dir, sizeof dir, root, ix->snap_id, 0, NULL)) ||
        (ret = ms__store_path(index, sizeof index, root, ix->snap_id, 1,
                              MS_H5_INDEX)))
        return ret;
    if (!exists(part))
        return ms__store_err(MPISNAP_ENOSNAP, MS_SRC_ERRNO, "%s", part);
    if (exists(dir))
        return ms__store_err(MPISNAP_EIO, MS_SRC_NONE, "%s already exists",
                             dir);
    if ((ret = check_rank_files(root, ix)) || (ret = write_index(index, ix)) ||
        (ret = ms__fsync_path(index)) ||
        (ret = ms__store_write_index_sum(part)) || (ret = ms__fsync_path(part)))
        return ret;
    /* The commit point.  From here on the snapshot is committed whatever
     * fails: a failure is reported (1), never called an abort. */
    if (rename(part, dir) < 0)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "rename %s", part);
    if (ms__fsync_path(root) < 0) {
        warn = 1;
        snprintf(first, sizeof first, "%s", ms__store_lasterr());
    }
    if (write_latest(root, ix->snap_id) < 0) {
        char path[4096];

        if (!warn)
            snprintf(first, sizeof first, "latest not updated: %s",
                     ms__store_lasterr());
        warn = 1;
        /* A stale hint would name an older snapshot, which retention may
         * remove next: better no hint (readers scan the directory). */
        if (snprintf(path, sizeof path, "%s/%s", root, MS_H5_LATEST) <
            (int)sizeof path)
            unlink(path);
    }
    if (retain(root, ix->snap_id, keep < 1 ? 1 : keep) && !warn) {
        warn = 1;
        snprintf(first, sizeof first, "%s", ms__store_lasterr());
    }
    if (warn)
        ms__store_err(1, MS_SRC_NONE, "%s", first);
    return warn;
}

int ms__store_discard(const char *root, uint64_t id)
{
    char part[4096];
    int ret = ms__store_path(part, sizeof part, root, id, 1, NULL);

    return ret ? ret : rm_tree(part);
}

/* ------------------------------------------------------------------ lock */

static int lock_fd = -1;
static char lock_path[4096];

/* The holder's line, without its newline ("" when the file is empty). */
static void read_holder(int fd, char *buf, size_t n)
{
    ssize_t got = pread(fd, buf, n - 1, 0);

    buf[got > 0 ? got : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

/* Another user's lock file, which this user cannot open for writing: 1
 * when a job holds it (other names it). */
static int held_by_other_user(const char *path, char *other, size_t n)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int held = 0, saved = errno;
    struct stat st;

    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
        read_holder(fd, other, n);
        if (!other[0])
            snprintf(other, n, "pid %d", (int)fl.l_pid);
        held = 1;
    }
    if (fd >= 0)
        close(fd);
    errno = saved;
    return held;
}

/* Open and lock path: 0 locked (*fdp), 1 held by another process, 2 try
 * again. */
static int lock_file(const char *path, int *fdp, char *other, size_t n)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    struct stat st, now;
    int fd, ret = 0;

    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
              0644);
    if (fd < 0 && errno == EACCES && held_by_other_user(path, other, n))
        return 1;
    MS_SCHECK(fd >= 0, MPISNAP_EIO, MS_SRC_ERRNO, "open %s", path);
    MS_SCHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), MPISNAP_EIO,
              MS_SRC_NONE, "%s is not a regular file", path);
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        MS_SCHECK(errno == EACCES || errno == EAGAIN, MPISNAP_EIO, MS_SRC_ERRNO,
                  "lock %s", path);
        read_holder(fd, other, n);
        if (!other[0] && fcntl(fd, F_GETLK, &fl) == 0)
            snprintf(other, n, "a job starting, pid %d", (int)fl.l_pid);
        ret = 1;
        goto out;
    }
    /* A job that ends removes the file, then unlocks: we may have locked
     * a removed file.  Then try again. */
    if (stat(path, &now) < 0 || now.st_ino != st.st_ino ||
        now.st_dev != st.st_dev) {
        ret = 2;
        goto out;
    }
    *fdp = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd); /* drops the lock if we took it */
    return ret;
}

int ms__store_lock(const char *root, const char *me, char *other, size_t n)
{
    int fd = -1, ret, tries = 0;

    other[0] = '\0';
    if (snprintf(lock_path, sizeof lock_path, "%s/%s", root, MS_LOCK) >=
        (int)sizeof lock_path)
        return ms__store_err(MPISNAP_EINVAL, MS_SRC_NONE, "%s: path too long",
                             root);
    if ((ret = ms__mkdirs(root)))
        return ret;
    while ((ret = lock_file(lock_path, &fd, other, n)) == 2 && ++tries < 100)
        ;
    if (ret == 2)
        return ms__store_err(MPISNAP_EIO, MS_SRC_NONE,
                             "lock %s: removed each time it was locked",
                             lock_path);
    if (ret != 0)
        return ret;
    read_holder(fd, other, n); /* a job that died holding it */
    if (ftruncate(fd, 0) < 0 || pwrite(fd, me, strlen(me), 0) < 0 ||
        pwrite(fd, "\n", 1, (off_t)strlen(me)) != 1) {
        ret = ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "write %s", lock_path);
        close(fd);
        return ret;
    }
    lock_fd = fd;
    return 0;
}

void ms__store_unlock(void)
{
    if (lock_fd < 0)
        return;
    /* Removed before it is unlocked: a file that is there and names a job
     * without being locked is a stale lock. */
    unlink(lock_path);
    close(lock_fd);
    lock_fd = -1;
}

/* ------------------------------------------------------------------ scan */

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x < y) - (x > y);
}

static int push(uint64_t **v, size_t *n, size_t *cap, uint64_t id)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        uint64_t *p = realloc(*v, c * sizeof *p);

        if (!p)
            return ms__store_err(MPISNAP_ENOMEM, MS_SRC_NONE,
                                 "scan: out of memory");
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = id;
    return 0;
}

/* A committed snapshot: a snap-NNNNNN directory holding index.h5. */
static int committed(const char *root, uint64_t id)
{
    char path[4096];

    return ms__store_path(path, sizeof path, root, id, 0, MS_H5_INDEX) == 0 &&
           exists(path);
}

int ms__store_scan(const char *root, int remove_partial, uint64_t **ids,
                   size_t *nids, int64_t *highest)
{
    uint64_t *v = NULL, *stale = NULL, id;
    size_t n = 0, cap = 0, nstale = 0, capstale = 0;
    struct dirent *e;
    int partial, ret = 0;
    DIR *d;

    *ids = NULL;
    *nids = 0;
    *highest = -1;
    d = opendir(root);
    if (!d && errno == ENOENT)
        return 0;
    MS_SCHECK(d, MPISNAP_EIO, MS_SRC_ERRNO, "open %s", root);
    while ((e = readdir(d))) {
        if (parse_name(e->d_name, &id, &partial) < 0)
            continue;
        if ((int64_t)id > *highest)
            *highest = (int64_t)id;
        if (partial && remove_partial)
            ret = push(&stale, &nstale, &capstale, id);
        else if (!partial && committed(root, id))
            ret = push(&v, &n, &cap, id);
        if (ret < 0)
            goto out;
    }
    /* Removed after the listing: readdir and unlink do not mix well. */
    for (size_t i = 0; i < nstale; i++)
        if (ms__store_discard(root, stale[i]) < 0)
            ret = 1;
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_desc);
    *ids = v;
    *nids = n;
    v = NULL;
out:
    if (d)
        closedir(d);
    free(v);
    free(stale);
    return ret;
}
