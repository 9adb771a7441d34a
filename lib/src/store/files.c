/* Files the store did not just write: opened only when they are regular
 * files of a bounded size, and the checksum of index.h5 kept beside it in
 * index.h5.xxh64 (docs/format.md).  HDF5 1.10 metadata has no checksums,
 * and every rank parses the index: a damaged one must be refused before
 * HDF5 reads a byte of it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/h5_common.h"

#define SUM_LINE 64 /* "<16 hex>  index.h5\n" is 27 bytes */

int ms__store_err_in(const char *path, int code)
{
    char why[512];

    snprintf(why, sizeof why, "%s", ms__store_lasterr());
    return ms__store_err(code, MS_SRC_NONE, "%s: %s", path, why);
}

int ms__open_regular(const char *path, uint64_t max, struct stat *st)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

    if (fd < 0 && errno == ENOENT)
        return ms__store_err(MPISNAP_ENOSNAP, MS_SRC_NONE, "missing");
    if (fd < 0 && errno == ELOOP)
        return ms__store_err(MPISNAP_ECORRUPT, MS_SRC_NONE,
                             "not a regular file (a symbolic link)");
    if (fd < 0)
        return ms__store_err(errno == EISDIR ? MPISNAP_ECORRUPT : MPISNAP_EIO,
                             MS_SRC_ERRNO, "open");
    if (fstat(fd, st) < 0) {
        ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "stat");
        close(fd);
        return MPISNAP_EIO;
    }
    if (!S_ISREG(st->st_mode))
        ms__store_err(MPISNAP_ECORRUPT, MS_SRC_NONE, "not a regular file");
    else if ((uint64_t)st->st_size > max)
        ms__store_err(MPISNAP_ECORRUPT, MS_SRC_NONE,
                      "%lld bytes, more than it can hold",
                      (long long)st->st_size);
    else
        return fd;
    close(fd);
    return MPISNAP_ECORRUPT;
}

int ms__store_write_index_sum(const char *dir)
{
    char index[4096], path[4096], line[SUM_LINE];
    uint64_t sum;
    int fd = -1, ret = 0, len;

    if (snprintf(index, sizeof index, "%s/%s", dir, MS_H5_INDEX) >=
            (int)sizeof index ||
        snprintf(path, sizeof path, "%s/%s", dir, MS_H5_INDEX_SUM) >=
            (int)sizeof path)
        return ms__store_err(MPISNAP_EINVAL, MS_SRC_NONE, "%s: path too long",
                             dir);
    if ((ret = ms__store_file_checksum(index, &sum, NULL)) < 0)
        return ret;
    /* The format of xxh64sum: `xxh64sum -c index.h5.xxh64` checks it. */
    len = snprintf(line, sizeof line, "%016llx  %s\n", (unsigned long long)sum,
                   MS_H5_INDEX);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    MS_SCHECK(fd >= 0, MPISNAP_EIO, MS_SRC_ERRNO, "create %s", path);
    MS_SCHECK(write(fd, line, (size_t)len) == len && fsync(fd) == 0,
              MPISNAP_EIO, MS_SRC_ERRNO, "write %s", path);
    MS_SCHECK(close(fd) == 0, MPISNAP_EIO, MS_SRC_ERRNO, "close %s", path);
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    if (ret < 0)
        unlink(path);
    return ret;
}

int ms__store_read_index_sum(const char *dir, int *have, uint64_t *sum)
{
    char path[4096], line[SUM_LINE + 1], want[SUM_LINE];
    struct stat st;
    ssize_t got;
    int fd;

    *have = 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, MS_H5_INDEX_SUM) >=
        (int)sizeof path)
        return ms__store_err(MPISNAP_EINVAL, MS_SRC_NONE, "%s: path too long",
                             dir);
    fd = ms__open_regular(path, SUM_LINE, &st);
    if (fd == MPISNAP_ENOSNAP)
        return 0;
    if (fd < 0)
        return ms__store_err_in(path, fd);
    got = read(fd, line, SUM_LINE);
    close(fd);
    if (got < 0)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "read %s", path);
    line[got] = '\0';
    snprintf(want, sizeof want, "  %s\n", MS_H5_INDEX);
    if (strspn(line, "0123456789abcdef") != 16 || strcmp(line + 16, want))
        return ms__store_err(MPISNAP_ECORRUPT, MS_SRC_NONE,
                             "%s: not a checksum line (file damaged)", path);
    *have = 1;
    *sum = strtoull(line, NULL, 16);
    return 0;
}
