/* Helpers shared by h5_writer.c, h5_reader.c and commit.c.
 * This file is private to the store.  The functions are defined in
 * h5_writer.c, so no extra source file is needed. */
#ifndef MPISNAP_H5_COMMON_H
#define MPISNAP_H5_COMMON_H

#include <stdint.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "mpisnap.h"
#include "store/store.h"

/* Names of the datasets, groups and attributes: docs/format.md. */
#define MS_H5_INDEX "index.h5"
#define MS_H5_LATEST "latest"
#define MS_H5_INDEX_SUM "index.h5.xxh64" /* beside index.h5 */
#define MS_LOCK "lock"                   /* held by the job using the root */
#define MS_KIND_CHECKPOINT "checkpoint"  /* the `kind` attribute on / */
#define MS_KIND_OBSERVATION "observation"

/* Row of /channels/envelopes. */
struct ms__h5_env {
    uint64_t comm_id;
    int32_t source, tag;
    uint64_t pos, offset, nbytes;
};

/* Row of /comms/table. */
struct ms__h5_comm {
    uint64_t id, parent, ordinal;
    int64_t color;
    uint64_t ncoll;
    int32_t size;
    uint64_t offset;
};

/* ---- errors: one line in a thread-local buffer, see ms__store_lasterr ---- */
enum { MS_SRC_NONE, MS_SRC_ERRNO, MS_SRC_H5 };
/* Format the message, append strerror(errno) or the innermost HDF5 message
 * as src says, and return code. */
int ms__store_err(int code, int src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set ret, record the message and jump to the function's `out` label. */
#define MS_SCHECK(cond, code, src, ...)                                        \
    do {                                                                       \
        if (!(cond)) {                                                         \
            ret = ms__store_err(code, src, __VA_ARGS__);                       \
            goto out;                                                          \
        }                                                                      \
    } while (0)

/* HDF5 never prints its error stack from the store. */
struct ms__h5_quiet {
    H5E_auto2_t func;
    void *data;
};
void ms__h5_quiet_begin(struct ms__h5_quiet *q);
void ms__h5_quiet_end(const struct ms__h5_quiet *q);

/* ---- paths ---- */
/* <root>/snap-NNNNNN[.partial][/file]; MPISNAP_EINVAL when too long. */
int ms__store_path(char *out, size_t n, const char *root, uint64_t id,
                   int partial, const char *file);
int ms__fsync_path(const char *path);
int ms__mkdirs(const char *path); /* mkdir -p */

/* ---- files we did not just write (files.c) ---- */
/* XXH64, seed 0, of a buffer: what ms__store_file_checksum computes. */
uint64_t ms__xxh64(const void *buf, size_t n);
/* Open path read-only if it is a regular file of at most max bytes (not a
 * symlink, FIFO or device: they would hang or never end).  The fd, its
 * stat in *st; or a negative code with the message set (without the
 * path): MPISNAP_ENOSNAP when it does not exist, MPISNAP_ECORRUPT when it
 * is not such a file. */
int ms__open_regular(const char *path, uint64_t max, struct stat *st);
/* "path: " before the last error's message; returns code. */
int ms__store_err_in(const char *path, int code);
/* Write <dir>/index.h5.xxh64 for <dir>/index.h5 (exclusively, fsync'd). */
int ms__store_write_index_sum(const char *dir);

/* ---- HDF5 types and attributes ---- */
hid_t ms__h5_etype(int etype); /* native type, not to be closed; <0 bad */
int ms__h5_etype_parse(const char *name); /* etype or -1 */
hid_t ms__h5_env_type(void);              /* memory types: close them */
hid_t ms__h5_comm_type(void);
hid_t ms__h5_commident_type(void); /* struct ms__commident */
hid_t ms__h5_counter_type(void);
hid_t ms__h5_trace_type(void); /* struct ms__trace_ev without its pad */
hid_t ms__h5_need_type(void);  /* struct ms__need without its pad */
hid_t ms__h5_prop_type(void);  /* struct ms__property, name a string[64] */

hid_t ms__h5_fapl(void); /* sec2, libver bounds: close it */
/* Create a new HDF5 file at path: O_EXCL | O_NOFOLLOW (never through a
 * symlink, never over an existing file), and a full disk is a clean
 * failure.  Close it with ms__h5_close_file. */
hid_t ms__h5_create(const char *path, hid_t fapl);
/* Close a file being written: flush and close when ret is 0, else (or when
 * that fails) close it without writing more, so that no failed write leaves
 * it open in HDF5.  Returns ret, or the close's error. */
int ms__h5_close_file(hid_t f, const char *path, int ret);
int ms__h5_attr_put(hid_t obj, const char *name, hid_t type, const void *val);
int ms__h5_attr_str(hid_t obj, const char *name, const char *s);

/* 1-D dataset of n elements, Fletcher-32 when n > 0; buf may be NULL when
 * n == 0.  One H5Dwrite from buf. */
int ms__h5_write_1d(hid_t loc, const char *name, hid_t memtype, uint64_t n,
                    const void *buf);

#endif
