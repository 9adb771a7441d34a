/* Rank files: HDF5 writer, checksums and the helpers the store shares
 * (h5_common.h).  Layout: docs/format.md. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h> /* memfd_create */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mpisnap/version.h"
#include "store/h5_common.h"

/* ---------------------------------------------------------------- errors */

static _Thread_local char lasterr[512];

const char *ms__store_lasterr(void)
{
    return lasterr;
}

/* H5Ewalk2 upward starts at the innermost error: keep the first one. */
static herr_t h5_innermost(unsigned n, const H5E_error2_t *e, void *arg)
{
    char *buf = arg;

    if (n == 0 && e->desc) {
        /* The POSIX driver appends ": time = ...\n, filename = ..." with an
         * errno taken after other calls: keep what is before it. */
        const char *t = strstr(e->desc, ": time = ");
        int len = t ? (int)(t - e->desc) : (int)strcspn(e->desc, "\n");

        snprintf(buf, 256, "%.*s (%s)", len, e->desc, e->func_name);
    }
    return 0;
}

int ms__store_err(int code, int src, const char *fmt, ...)
{
    char extra[256] = "";
    int saved = errno;
    va_list ap;
    size_t len;

    if (src == MS_SRC_ERRNO)
        snprintf(extra, sizeof extra, "%s", strerror(saved));
    else if (src == MS_SRC_H5)
        H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_innermost, extra);
    va_start(ap, fmt);
    vsnprintf(lasterr, sizeof lasterr, fmt, ap);
    va_end(ap);
    len = strlen(lasterr);
    if (extra[0] && len < sizeof lasterr)
        snprintf(lasterr + len, sizeof lasterr - len, ": %s", extra);
    errno = saved;
    return code;
}

void ms__h5_quiet_begin(struct ms__h5_quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void ms__h5_quiet_end(const struct ms__h5_quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

/* ----------------------------------------------------------------- paths */

int ms__store_path(char *out, size_t n, const char *root, uint64_t id,
                   int partial, const char *file)
{
    int len =
        snprintf(out, n, "%s/snap-%06llu%s%s%s", root, (unsigned long long)id,
                 partial ? ".partial" : "", file ? "/" : "", file ? file : "");

    if (len < 0 || (size_t)len >= n)
        return ms__store_err(MPISNAP_EINVAL, MS_SRC_NONE, "%s: path too long",
                             root);
    return 0;
}

void ms__store_snapdir(char *out, size_t n, const char *root, uint64_t id,
                       int partial)
{
    if (ms__store_path(out, n, root, id, partial, NULL) < 0 && n > 0)
        out[0] = '\0';
}

int ms__fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "open %s", path);
    rc = fsync(fd);
    /* Directories on some file systems refuse fsync; that is no error. */
    if (rc < 0 && errno != EINVAL && errno != EROFS) {
        ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "fsync %s", path);
        close(fd);
        return MPISNAP_EIO;
    }
    close(fd);
    return 0;
}

/* mkdir -p: every rank may race to create the same directories. */
int ms__mkdirs(const char *path)
{
    char tmp[4096];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof tmp)
        return ms__store_err(MPISNAP_EINVAL, MS_SRC_NONE,
                             "bad directory name '%s'", path);
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) < 0 && errno != EEXIST)
            return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "mkdir %s", tmp);
        *p = '/';
    }
    if (mkdir(tmp, 0777) < 0 && errno != EEXIST)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "mkdir %s", tmp);
    return 0;
}

int ms__store_begin(const char *root, uint64_t id)
{
    char dir[4096];
    int ret = ms__store_path(dir, sizeof dir, root, id, 1, NULL);

    struct stat st, rst;

    if (ret == 0)
        ret = ms__mkdirs(root);
    if (ret < 0)
        return ret;
    /* Every rank may race to make it.  One that is there already must be
     * a directory (not a symlink) that nobody else can write into, owned
     * by this user (or by the owner of root, who can do anything there:
     * root_squash makes our own files someone else's): else someone else
     * made it, to have the ranks write where they choose. */
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "mkdir %s", dir);
    if (lstat(dir, &st) < 0 || stat(root, &rst) < 0)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "stat %s", dir);
    if (!S_ISDIR(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) ||
        (st.st_uid != geteuid() && st.st_uid != rst.st_uid))
        return ms__store_err(
            MPISNAP_EIO, MS_SRC_NONE,
            "%s was not made by this job (%s, owner uid "
            "%u, mode %03o): not writing there",
            dir, S_ISDIR(st.st_mode) ? "a directory" : "not a directory",
            (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
    return 0;
}

/* ----------------------------------------------------------------- types */

static const char *const etype_names[MS_T_COUNT_] = {
    [MS_T_BYTES] = "bytes",     [MS_T_CHAR] = "char",
    [MS_T_SCHAR] = "schar",     [MS_T_UCHAR] = "uchar",
    [MS_T_SHORT] = "short",     [MS_T_USHORT] = "ushort",
    [MS_T_INT] = "int",         [MS_T_UINT] = "uint",
    [MS_T_LONG] = "long",       [MS_T_ULONG] = "ulong",
    [MS_T_LLONG] = "llong",     [MS_T_ULLONG] = "ullong",
    [MS_T_FLOAT] = "float",     [MS_T_DOUBLE] = "double",
    [MS_T_LDOUBLE] = "ldouble", [MS_T_INT8] = "int8",
    [MS_T_INT16] = "int16",     [MS_T_INT32] = "int32",
    [MS_T_INT64] = "int64",     [MS_T_UINT8] = "uint8",
    [MS_T_UINT16] = "uint16",   [MS_T_UINT32] = "uint32",
    [MS_T_UINT64] = "uint64",
};

const char *ms__etype_name(int etype)
{
    if (etype < 0 || etype >= MS_T_COUNT_)
        return "unknown";
    return etype_names[etype];
}

const char *ms__property_op_name(int op)
{
    /* clang-format off */
    switch (op) {
    case MPISNAP_SUM: return "sum";
    case MPISNAP_MIN: return "min";
    case MPISNAP_MAX: return "max";
    default: return "?";
    }
    /* clang-format on */
}

int ms__h5_etype_parse(const char *name)
{
    for (int i = 0; i < MS_T_COUNT_; i++)
        if (strcmp(name, etype_names[i]) == 0)
            return i;
    return -1;
}

/* Bytes are stored as uint8 rather than opaque: h5py and h5dump show them
 * as numbers, and the "etype" attribute keeps them apart from uint8. */
hid_t ms__h5_etype(int etype)
{
    /* clang-format off */
    switch (etype) {
    case MS_T_BYTES: return H5T_NATIVE_UINT8;
    case MS_T_CHAR: return H5T_NATIVE_CHAR;
    case MS_T_SCHAR: return H5T_NATIVE_SCHAR;
    case MS_T_UCHAR: return H5T_NATIVE_UCHAR;
    case MS_T_SHORT: return H5T_NATIVE_SHORT;
    case MS_T_USHORT: return H5T_NATIVE_USHORT;
    case MS_T_INT: return H5T_NATIVE_INT;
    case MS_T_UINT: return H5T_NATIVE_UINT;
    case MS_T_LONG: return H5T_NATIVE_LONG;
    case MS_T_ULONG: return H5T_NATIVE_ULONG;
    case MS_T_LLONG: return H5T_NATIVE_LLONG;
    case MS_T_ULLONG: return H5T_NATIVE_ULLONG;
    case MS_T_FLOAT: return H5T_NATIVE_FLOAT;
    case MS_T_DOUBLE: return H5T_NATIVE_DOUBLE;
    case MS_T_LDOUBLE: return H5T_NATIVE_LDOUBLE;
    case MS_T_INT8: return H5T_NATIVE_INT8;
    case MS_T_INT16: return H5T_NATIVE_INT16;
    case MS_T_INT32: return H5T_NATIVE_INT32;
    case MS_T_INT64: return H5T_NATIVE_INT64;
    case MS_T_UINT8: return H5T_NATIVE_UINT8;
    case MS_T_UINT16: return H5T_NATIVE_UINT16;
    case MS_T_UINT32: return H5T_NATIVE_UINT32;
    case MS_T_UINT64: return H5T_NATIVE_UINT64;
    default: return H5I_INVALID_HID;
    }
    /* clang-format on */
}

#define INSERT(t, s, f, h) H5Tinsert(t, #f, offsetof(s, f), h)

hid_t ms__h5_env_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct ms__h5_env));

    if (t < 0)
        return t;
    if (INSERT(t, struct ms__h5_env, comm_id, H5T_NATIVE_UINT64) < 0 ||
        INSERT(t, struct ms__h5_env, source, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__h5_env, tag, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__h5_env, pos, H5T_NATIVE_UINT64) < 0 ||
        INSERT(t, struct ms__h5_env, offset, H5T_NATIVE_UINT64) < 0 ||
        INSERT(t, struct ms__h5_env, nbytes, H5T_NATIVE_UINT64) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

hid_t ms__h5_comm_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct ms__h5_comm));

    if (t < 0)
        return t;
    if (INSERT(t, struct ms__h5_comm, id, H5T_NATIVE_UINT64) < 0 ||
        INSERT(t, struct ms__h5_comm, parent, H5T_NATIVE_UINT64) < 0 ||
        INSERT(t, struct ms__h5_comm, ordinal, H5T_NATIVE_UINT64) < 0 ||
        INSERT(t, struct ms__h5_comm, color, H5T_NATIVE_INT64) < 0 ||
        INSERT(t, struct ms__h5_comm, ncoll, H5T_NATIVE_UINT64) < 0 ||
        INSERT(t, struct ms__h5_comm, size, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__h5_comm, offset, H5T_NATIVE_UINT64) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* Fixed-size string member of a compound (the type is closed). */
static int insert_str(hid_t t, const char *name, size_t off, size_t size)
{
    hid_t s = H5Tcopy(H5T_C_S1);
    int bad = s < 0 || H5Tset_size(s, size) < 0 ||
              H5Tset_strpad(s, H5T_STR_NULLTERM) < 0 ||
              H5Tinsert(t, name, off, s) < 0;

    if (s >= 0)
        H5Tclose(s);
    return bad ? -1 : 0;
}

hid_t ms__h5_commident_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct ms__commident));
#define STR(f)                                                                 \
    insert_str(t, #f, offsetof(struct ms__commident, f),                       \
               sizeof((struct ms__commident *)0)->f)

    if (t < 0)
        return t;
    if (INSERT(t, struct ms__commident, offset, H5T_NATIVE_UINT64) < 0 ||
        STR(call) < 0 || STR(module) < 0 || STR(build) < 0 || STR(name) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
#undef STR
    return t;
}

hid_t ms__h5_counter_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct ms__counter));

    if (t < 0)
        return t;
    if (INSERT(t, struct ms__counter, comm_id, H5T_NATIVE_UINT64) < 0 ||
        INSERT(t, struct ms__counter, peer, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__counter, tag, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__counter, dir, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__counter, count, H5T_NATIVE_UINT64) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

hid_t ms__h5_trace_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct ms__trace_ev));

    if (t < 0)
        return t;
    if (INSERT(t, struct ms__trace_ev, t, H5T_NATIVE_DOUBLE) < 0 ||
        INSERT(t, struct ms__trace_ev, kind, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__trace_ev, peer, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__trace_ev, tag, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__trace_ev, comm_id, H5T_NATIVE_UINT64) < 0 ||
        INSERT(t, struct ms__trace_ev, pos, H5T_NATIVE_UINT64) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

hid_t ms__h5_need_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct ms__need));

    if (t < 0)
        return t;
    if (INSERT(t, struct ms__need, kind, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__need, peer, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__need, tag, H5T_NATIVE_INT32) < 0 ||
        INSERT(t, struct ms__need, comm_id, H5T_NATIVE_UINT64) < 0 ||
        INSERT(t, struct ms__need, ncoll, H5T_NATIVE_UINT64) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

hid_t ms__h5_prop_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct ms__property));
    hid_t name = H5Tcopy(H5T_C_S1);
    int bad = t < 0 || name < 0;

    bad = bad ||
          H5Tset_size(name, sizeof((struct ms__property *)0)->name) < 0 ||
          H5Tset_strpad(name, H5T_STR_NULLTERM) < 0 ||
          INSERT(t, struct ms__property, name, name) < 0 ||
          INSERT(t, struct ms__property, op, H5T_NATIVE_INT32) < 0 ||
          INSERT(t, struct ms__property, complete, H5T_NATIVE_INT32) < 0 ||
          INSERT(t, struct ms__property, value, H5T_NATIVE_DOUBLE) < 0;
    if (name >= 0)
        H5Tclose(name);
    if (bad && t >= 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

#undef INSERT

/* ------------------------------------------------------------ attributes */

hid_t ms__h5_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);

    /* Each rank writes its own file: the POSIX driver, no MPI-IO.  The
     * oldest format that can hold the file, so HDF5 1.8 tools read it. */
    if (fapl < 0)
        return fapl;
    if (H5Pset_fapl_sec2(fapl) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18) < 0) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

int ms__h5_attr_put(hid_t obj, const char *name, hid_t type, const void *val)
{
    hid_t sp = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    int ret = 0;

    MS_SCHECK(sp >= 0, MPISNAP_EIO, MS_SRC_H5, "attribute %s", name);
    a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    MS_SCHECK(a >= 0, MPISNAP_EIO, MS_SRC_H5, "create attribute %s", name);
    MS_SCHECK(H5Awrite(a, type, val) >= 0, MPISNAP_EIO, MS_SRC_H5,
              "write attribute %s", name);
out:
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    return ret;
}

/* Fixed-length, NUL-terminated ASCII: the simplest for C and h5py alike. */
int ms__h5_attr_str(hid_t obj, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    int ret;

    if (t < 0 || H5Tset_size(t, strlen(s) + 1) < 0 ||
        H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
        ret = ms__store_err(MPISNAP_EIO, MS_SRC_H5, "attribute %s", name);
    } else {
        ret = ms__h5_attr_put(obj, name, t, s);
    }
    if (t >= 0)
        H5Tclose(t);
    return ret;
}

/* ------------------------------------------------------------- datasets */

/* Chunks of at most 1 MiB (Fletcher-32 checks each on its own), all of
 * about the same size: HDF5 stores the last chunk whole, so equal chunks
 * waste less than one element each. */
static hsize_t chunk_elems(uint64_t n, size_t elsize)
{
    uint64_t per = (1u << 20) / (elsize ? elsize : 1), nchunks;

    if (per == 0)
        per = 1;
    nchunks = (n + per - 1) / per;
    return (hsize_t)((n + nchunks - 1) / nchunks);
}

/* HDF5's Fletcher-32 (H5_checksum_fletcher32): 16-bit big-endian words,
 * sums reduced every 360 words, all in uint32_t arithmetic.  Per block,
 * s2 grows by t * s1 + sum((t - i) * w[i]) and s1 by sum(w[i]): the same
 * values modulo 2^32, in a loop the compiler can vectorise. */
__attribute__((optimize("tree-vectorize"))) static uint32_t
fletcher32(const unsigned char *p, size_t nbytes)
{
    size_t len = nbytes / 2;
    uint32_t s1 = 0, s2 = 0;

    while (len) {
        uint32_t t = len > 360 ? 360 : (uint32_t)len, a = 0, b = 0, i;

        for (i = 0; i < t; i++) {
            uint32_t w = (uint32_t)p[2 * i] << 8 | p[2 * i + 1];
            a += w;
            b += (t - i) * w;
        }
        s2 += t * s1 + b;
        s1 += a;
        s1 = (s1 & 0xffff) + (s1 >> 16);
        s2 = (s2 & 0xffff) + (s2 >> 16);
        p += 2 * (size_t)t;
        len -= t;
    }
    if (nbytes % 2) {
        s1 += (uint32_t)*p << 8;
        s2 += s1;
        s1 = (s1 & 0xffff) + (s1 >> 16);
        s2 = (s2 & 0xffff) + (s2 >> 16);
    }
    s1 = (s1 & 0xffff) + (s1 >> 16);
    s2 = (s2 & 0xffff) + (s2 >> 16);
    return s2 << 16 | s1;
}

/* Write a chunked, Fletcher-32 dataset of a native type chunk by chunk with
 * H5Dwrite_chunk, checksumming here: HDF5 neither copies the data through
 * its filter pipeline nor checksums it byte by byte.  The file is the same
 * as H5Dwrite would make (the last chunk is stored whole, padded). */
static int write_chunks(hid_t ds, uint64_t n, size_t elsize, hsize_t chunk,
                        const void *buf, const char *name)
{
    size_t cbytes = (size_t)chunk * elsize;
    unsigned char *c = malloc(cbytes + 4);
    const unsigned char *src = buf;
    int ret = 0;

    MS_SCHECK(c, MPISNAP_ENOMEM, MS_SRC_NONE, "dataset %s: no memory", name);
    for (hsize_t off = 0; off < n; off += chunk) {
        size_t m = (size_t)(n - off < chunk ? n - off : chunk) * elsize;
        uint32_t f;

        memcpy(c, src + (size_t)off * elsize, m);
        memset(c + m, 0, cbytes - m);
        f = fletcher32(c, cbytes);
        c[cbytes] = (unsigned char)f; /* stored little-endian */
        c[cbytes + 1] = (unsigned char)(f >> 8);
        c[cbytes + 2] = (unsigned char)(f >> 16);
        c[cbytes + 3] = (unsigned char)(f >> 24);
        MS_SCHECK(H5Dwrite_chunk(ds, H5P_DEFAULT, 0, &off, cbytes + 4, c) >= 0,
                  MPISNAP_EIO, MS_SRC_H5, "write dataset %s", name);
    }
out:
    free(c);
    return ret;
}

int ms__h5_write_1d(hid_t loc, const char *name, hid_t memtype, uint64_t n,
                    const void *buf)
{
    hsize_t dim = n, chunk;
    hid_t ftype = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hid_t dcpl = H5I_INVALID_HID, ds = H5I_INVALID_HID;
    int ret = 0;

    /* Compounds are stored packed; native types as they are. */
    ftype = H5Tcopy(memtype);
    MS_SCHECK(ftype >= 0, MPISNAP_EIO, MS_SRC_H5, "dataset %s", name);
    if (H5Tget_class(memtype) == H5T_COMPOUND)
        MS_SCHECK(H5Tpack(ftype) >= 0, MPISNAP_EIO, MS_SRC_H5, "dataset %s",
                  name);
    sp = H5Screate_simple(1, &dim, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    MS_SCHECK(sp >= 0 && dcpl >= 0, MPISNAP_EIO, MS_SRC_H5, "dataset %s", name);
    /* Chunks cannot be empty, so an empty dataset stays contiguous and
     * unfiltered. */
    if (n > 0) {
        chunk = chunk_elems(n, H5Tget_size(ftype));
        MS_SCHECK(H5Pset_chunk(dcpl, 1, &chunk) >= 0 &&
                      H5Pset_fletcher32(dcpl) >= 0 &&
                      H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) >= 0,
                  MPISNAP_EIO, MS_SRC_H5, "dataset %s", name);
    }
    ds = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    MS_SCHECK(ds >= 0, MPISNAP_EIO, MS_SRC_H5, "create dataset %s", name);
    if (n > 0 && H5Tget_class(memtype) != H5T_COMPOUND) {
        /* Native types: the file holds the memory's bytes. */
        ret = write_chunks(ds, n, H5Tget_size(ftype), chunk, buf, name);
        if (ret < 0)
            goto out;
    } else if (n > 0) {
        MS_SCHECK(H5Dwrite(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >=
                      0,
                  MPISNAP_EIO, MS_SRC_H5, "write dataset %s", name);
    }
out:
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    if (ftype >= 0)
        H5Tclose(ftype);
    return ret;
}

/* ------------------------------------------------------------ rank file */

static int valid_name(const char *s)
{
    size_t n = strnlen(s, 64);

    return n > 0 && n < 64 && !strchr(s, '/') && strcmp(s, ".") != 0;
}

static int write_state(hid_t file, const struct ms__rankdata *d)
{
    hid_t g = H5Gcreate2(file, "state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ds = H5I_INVALID_HID;
    int ret = 0;

    MS_SCHECK(g >= 0, MPISNAP_EIO, MS_SRC_H5, "create /state");
    for (size_t i = 0; i < d->nregions; i++) {
        const struct ms__region *r = &d->regions[i];
        hid_t t = ms__h5_etype(r->etype);

        MS_SCHECK(valid_name(r->name), MPISNAP_EINVAL, MS_SRC_NONE,
                  "region name '%.63s' is not a valid dataset name", r->name);
        MS_SCHECK(t >= 0, MPISNAP_EINVAL, MS_SRC_NONE,
                  "region '%s': bad element type %d", r->name, r->etype);
        MS_SCHECK(r->count == 0 || r->base, MPISNAP_EINVAL, MS_SRC_NONE,
                  "region '%s': NULL base", r->name);
        /* The region's own memory goes straight to H5Dwrite: no copy. */
        ret = ms__h5_write_1d(g, r->name, t, r->count, r->base);
        if (ret < 0)
            goto out;
        ds = H5Dopen2(g, r->name, H5P_DEFAULT);
        MS_SCHECK(ds >= 0, MPISNAP_EIO, MS_SRC_H5, "open %s", r->name);
        ret = ms__h5_attr_str(ds, "etype", ms__etype_name(r->etype));
        if (ret < 0)
            goto out;
        H5Dclose(ds);
        ds = H5I_INVALID_HID;
    }
out:
    if (ds >= 0)
        H5Dclose(ds);
    if (g >= 0)
        H5Gclose(g);
    return ret;
}

/* Envelopes plus one payload array; the payloads are gathered into one
 * buffer because messages are small and many. */
static int write_channels(hid_t file, const struct ms__rankdata *d)
{
    hid_t g =
        H5Gcreate2(file, "channels", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = ms__h5_env_type();
    struct ms__h5_env *env = NULL;
    unsigned char *pay = NULL;
    uint64_t total = 0;
    int ret = 0;

    MS_SCHECK(g >= 0 && t >= 0, MPISNAP_EIO, MS_SRC_H5, "create /channels");
    for (size_t i = 0; i < d->nmsgs; i++)
        total += d->msgs[i].nbytes;
    env = calloc(d->nmsgs ? d->nmsgs : 1, sizeof *env);
    pay = malloc(total ? total : 1);
    MS_SCHECK(env && pay, MPISNAP_ENOMEM, MS_SRC_NONE,
              "channels: out of memory (%llu bytes)",
              (unsigned long long)total);
    total = 0;
    for (size_t i = 0; i < d->nmsgs; i++) {
        const struct ms__msg *m = &d->msgs[i];

        env[i] = (struct ms__h5_env){m->comm_id, m->source, m->tag,
                                     m->pos,     total,     m->nbytes};
        if (m->nbytes)
            memcpy(pay + total, m->data, m->nbytes);
        total += m->nbytes;
    }
    ret = ms__h5_write_1d(g, "envelopes", t, d->nmsgs, env);
    if (ret == 0)
        ret = ms__h5_write_1d(g, "payload", H5T_NATIVE_UINT8, total, pay);
out:
    free(env);
    free(pay);
    if (t >= 0)
        H5Tclose(t);
    if (g >= 0)
        H5Gclose(g);
    return ret;
}

static int write_comms(hid_t file, const struct ms__rankdata *d)
{
    hid_t g = H5Gcreate2(file, "comms", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = ms__h5_comm_type(), ti = ms__h5_commident_type();
    struct ms__h5_comm *tab = NULL;
    struct ms__commident *ident = NULL;
    int32_t *world = NULL;
    uint64_t total = 0;
    int ret = 0;

    MS_SCHECK(g >= 0 && t >= 0 && ti >= 0, MPISNAP_EIO, MS_SRC_H5,
              "create /comms");
    for (size_t i = 0; i < d->ncomms; i++) {
        MS_SCHECK(d->comms[i].size >= 0, MPISNAP_EINVAL, MS_SRC_NONE,
                  "communicator %llu: size %d",
                  (unsigned long long)d->comms[i].id, d->comms[i].size);
        total += (uint64_t)d->comms[i].size;
    }
    tab = calloc(d->ncomms ? d->ncomms : 1, sizeof *tab);
    ident = calloc(d->ncomms ? d->ncomms : 1, sizeof *ident);
    world = malloc(total ? total * sizeof *world : 1);
    MS_SCHECK(tab && ident && world, MPISNAP_ENOMEM, MS_SRC_NONE,
              "comms: out of memory");
    total = 0;
    for (size_t i = 0; i < d->ncomms; i++) {
        const struct ms__commrec *c = &d->comms[i];

        tab[i] = (struct ms__h5_comm){c->id,    c->parent, c->ordinal, c->color,
                                      c->ncoll, c->size,   total};
        ident[i] = c->ident;
        if (c->size)
            memcpy(world + total, c->world, (size_t)c->size * sizeof *world);
        total += (uint64_t)c->size;
    }
    ret = ms__h5_write_1d(g, "table", t, d->ncomms, tab);
    if (ret == 0)
        ret = ms__h5_write_1d(g, "world", H5T_NATIVE_INT32, total, world);
    if (ret == 0)
        ret = ms__h5_write_1d(g, "identity", ti, d->ncomms, ident);
out:
    free(tab);
    free(ident);
    free(world);
    if (t >= 0)
        H5Tclose(t);
    if (ti >= 0)
        H5Tclose(ti);
    if (g >= 0)
        H5Gclose(g);
    return ret;
}

/* /trace only when there are events (MPISNAP_TRACE=1). */
static int write_trace(hid_t file, const struct ms__rankdata *d)
{
    hid_t t;
    int ret;

    if (d->ntrace == 0)
        return 0;
    if (!d->trace)
        return ms__store_err(MPISNAP_EINVAL, MS_SRC_NONE,
                             "trace: %zu events but no buffer", d->ntrace);
    t = ms__h5_trace_type();
    if (t < 0)
        return ms__store_err(MPISNAP_EIO, MS_SRC_H5, "trace type");
    ret = ms__h5_write_1d(file, "trace", t, d->ntrace, d->trace);
    H5Tclose(t);
    return ret;
}

/* /observe: the call this rank was in and what it waited for. */
static int write_observe(hid_t file, const struct ms__obsrec *o)
{
    hid_t g =
        H5Gcreate2(file, "observe", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t nt = ms__h5_need_type(), ct = ms__h5_counter_type();
    char call[sizeof o->call];
    int ret = 0;

    MS_SCHECK(g >= 0 && nt >= 0 && ct >= 0, MPISNAP_EIO, MS_SRC_H5,
              "create /observe");
    MS_SCHECK((o->nneeds == 0 || o->needs) &&
                  (o->ninflight == 0 || o->inflight),
              MPISNAP_EINVAL, MS_SRC_NONE,
              "observe: %zu needs, %zu in-flight counts but no buffer",
              o->nneeds, o->ninflight);
    snprintf(call, sizeof call, "%.*s", (int)sizeof call - 1, o->call);
    if ((ret = ms__h5_attr_str(g, "call", call)) ||
        (ret = ms__h5_attr_put(g, "mode", H5T_NATIVE_INT32, &o->mode)) ||
        (ret = ms__h5_attr_put(g, "t_enter", H5T_NATIVE_DOUBLE, &o->t_enter)) ||
        (ret = ms__h5_attr_put(g, "waited", H5T_NATIVE_DOUBLE, &o->waited)) ||
        (ret = ms__h5_write_1d(g, "needs", nt, o->nneeds, o->needs)))
        goto out;
    ret = ms__h5_write_1d(g, "inflight", ct, o->ninflight, o->inflight);
out:
    if (ct >= 0)
        H5Tclose(ct);
    if (nt >= 0)
        H5Tclose(nt);
    if (g >= 0)
        H5Gclose(g);
    return ret;
}

static int write_rank_attrs(hid_t file, const struct ms__rankdata *d)
{
    int32_t fv = MPISNAP_FORMAT_VERSION;
    int ret;

    if ((ret = ms__h5_attr_put(file, "rank", H5T_NATIVE_INT32, &d->rank)) ||
        (ret = ms__h5_attr_put(file, "nranks", H5T_NATIVE_INT32, &d->nranks)) ||
        (ret = ms__h5_attr_put(file, "snap_id", H5T_NATIVE_UINT64,
                               &d->snap_id)) ||
        (ret = ms__h5_attr_put(file, "point", H5T_NATIVE_UINT64, &d->point)) ||
        (ret = ms__h5_attr_put(file, "time", H5T_NATIVE_DOUBLE, &d->time)) ||
        (ret =
             ms__h5_attr_put(file, "format_version", H5T_NATIVE_INT32, &fv)) ||
        (ret = ms__h5_attr_str(file, "kind",
                               d->observation ? MS_KIND_OBSERVATION
                                              : MS_KIND_CHECKPOINT)))
        return ret;
    return ms__h5_attr_str(file, "library_version", MPISNAP_VERSION_STRING);
}

/* Point the file's descriptor at an empty memory file, close every
 * object still open in it, then the file.  After a failed write (ENOSPC)
 * HDF5 keeps dirty metadata that no close can flush: the file stays open,
 * and HDF5 loops and crashes closing it at exit (in MPI_Finalize).  Writes
 * to the memory file succeed, so everything closes; the caller removes the
 * file on disk. */
static void abandon(hid_t f)
{
    unsigned types = H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE |
                     H5F_OBJ_ATTR | H5F_OBJ_LOCAL;
    int mfd = memfd_create("mpisnap-abandoned", MFD_CLOEXEC);
    void *handle = NULL;
    ssize_t n;

    if (mfd >= 0 && H5Fget_vfd_handle(f, H5P_DEFAULT, &handle) >= 0 && handle)
        dup2(mfd, *(int *)handle);
    if (mfd >= 0)
        close(mfd);
    n = H5Fget_obj_count(f, types);
    if (n > 0) {
        hid_t *ids = malloc((size_t)n * sizeof *ids);

        n = ids ? H5Fget_obj_ids(f, types, (size_t)n, ids) : 0;
        for (ssize_t i = 0; i < n; i++)
            if (H5Iget_type(ids[i]) == H5I_ATTR)
                H5Aclose(ids[i]);
            else if (H5Iget_type(ids[i]) == H5I_DATATYPE)
                H5Tclose(ids[i]);
            else
                H5Oclose(ids[i]);
        free(ids);
    }
    H5Fclose(f);
}

/* Give every byte of the file's address space its disk block before the
 * metadata is flushed: after a failed flush HDF5 1.10 can never flush the
 * file again ("slist already enabled?"), so it cannot be closed, while a
 * write into allocated blocks cannot run out of space.  A file system
 * without fallocate (EOPNOTSUPP) keeps that risk. */
static int reserve(hid_t f, const char *path)
{
    void *handle = NULL;
    haddr_t eoa;

    if (H5Fget_eoa(f, &eoa) < 0 ||
        H5Fget_vfd_handle(f, H5P_DEFAULT, &handle) < 0 || !handle)
        return ms__store_err(MPISNAP_EIO, MS_SRC_H5, "size of %s", path);
    if (fallocate(*(int *)handle, 0, 0, (off_t)eoa) < 0 &&
        errno != EOPNOTSUPP && errno != ENOSYS)
        return ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO,
                             "reserve %llu bytes for %s",
                             (unsigned long long)eoa, path);
    return 0;
}

int ms__h5_close_file(hid_t f, const char *path, int ret)
{
    unsigned objs = H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE |
                    H5F_OBJ_ATTR | H5F_OBJ_LOCAL;

    if (f < 0)
        return ret;
    /* An object left open (its close failed) would keep the file open. */
    if (ret == 0 && H5Fget_obj_count(f, objs) != 0)
        ret = ms__store_err(MPISNAP_EIO, MS_SRC_NONE,
                            "%s: objects left open (a write failed)", path);
    if (ret == 0)
        ret = reserve(f, path);
    if (ret == 0 && H5Fflush(f, H5F_SCOPE_LOCAL) < 0)
        ret = ms__store_err(MPISNAP_EIO, MS_SRC_H5, "flush %s", path);
    if (ret == 0 && H5Fclose(f) >= 0)
        return 0;
    if (ret == 0)
        ret = ms__store_err(MPISNAP_EIO, MS_SRC_H5, "close %s", path);
    if (H5Iis_valid(f) > 0)
        abandon(f);
    return ret;
}

/* Copy the n first bytes of src to dst. */
static int copy_head(int dst, int src, off_t n)
{
    char buf[8192];

    for (off_t off = 0; off < n;) {
        ssize_t got = pread(src, buf, sizeof buf, off);

        if (got <= 0 || pwrite(dst, buf, (size_t)got, off) != got)
            return -1;
        off += got;
    }
    return 0;
}

/* A scratch file in memory (tmpfs) for ms__h5_create; -1 when none. */
static int scratch(char *name, size_t n)
{
    static const char *const dirs[] = {"/dev/shm", "/tmp"};

    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        int fd;

        snprintf(name, n, "%s/mpisnap-create-XXXXXX", dirs[i]);
        if ((fd = mkostemp(name, O_CLOEXEC)) >= 0)
            return fd;
    }
    return -1;
}

hid_t ms__h5_create(const char *path, hid_t fapl)
{
    char tmp[64];
    int fd, tfd;
    struct stat st;
    void *handle = NULL;
    hid_t f = H5I_INVALID_HID;

    /* Exclusively: never through a symlink, never over a file that is
     * there already (planted, or another job's). */
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "create %s", path);
        return H5I_INVALID_HID;
    }
    /* HDF5 1.10 writes the superblock inside H5Fcreate; when that write
     * fails (a full disk) it leaks the file and crashes at exit.  So HDF5
     * creates it in a scratch file, whose bytes are then copied to ours,
     * and its descriptor is switched to ours: a failure is a clean one. */
    tfd = scratch(tmp, sizeof tmp);
    if (tfd < 0) {
        f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        if (f < 0) {
            ms__store_err(MPISNAP_EIO, MS_SRC_H5, "create %s", path);
            unlink(path);
        }
        close(fd);
        return f;
    }
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    unlink(tmp);
    if (f < 0) {
        ms__store_err(MPISNAP_EIO, MS_SRC_H5, "create %s", path);
    } else if (H5Fget_vfd_handle(f, H5P_DEFAULT, &handle) < 0 || !handle ||
               fstat(tfd, &st) < 0 || copy_head(fd, tfd, st.st_size) < 0 ||
               dup2(fd, *(int *)handle) < 0) {
        ms__store_err(MPISNAP_EIO, MS_SRC_ERRNO, "create %s", path);
        abandon(f);
        f = H5I_INVALID_HID;
    }
    if (f < 0)
        unlink(path);
    close(tfd);
    close(fd);
    return f;
}

/* *made: the file was created (and must be removed on failure). */
static int write_file(const char *path, const struct ms__rankdata *d, int *made)
{
    hid_t fapl = ms__h5_fapl(), f = H5I_INVALID_HID;
    hid_t ct = H5I_INVALID_HID;
    int ret = 0;

    MS_SCHECK(fapl >= 0, MPISNAP_EIO, MS_SRC_H5, "%s", path);
    f = ms__h5_create(path, fapl);
    if (f < 0) {
        ret = MPISNAP_EIO; /* ms__h5_create said why */
        goto out;
    }
    *made = 1;
    if ((ret = write_rank_attrs(f, d)) || (ret = write_state(f, d)) ||
        (ret = write_channels(f, d)) || (ret = write_comms(f, d)))
        goto out;
    ct = ms__h5_counter_type();
    MS_SCHECK(ct >= 0, MPISNAP_EIO, MS_SRC_H5, "counters");
    ret = ms__h5_write_1d(f, "counters", ct, d->ncounters, d->counters);
    if (ret < 0 || (ret = write_trace(f, d)) < 0)
        goto out;
    if (d->observation)
        ret = write_observe(f, &d->obs);
out:
    if (ct >= 0)
        H5Tclose(ct);
    ret = ms__h5_close_file(f, path, ret);
    if (fapl >= 0)
        H5Pclose(fapl);
    return ret;
}

int ms__store_write_rank(const char *root, const struct ms__rankdata *d,
                         uint64_t *checksum, uint64_t *bytes)
{
    char name[32], path[4096];
    struct ms__h5_quiet q;
    int ret, made = 0;

    snprintf(name, sizeof name, "rank-%06d.h5", (int)d->rank);
    ret = ms__store_path(path, sizeof path, root, d->snap_id, 1, name);
    if (ret < 0)
        return ret;
    ms__h5_quiet_begin(&q);
    ret = write_file(path, d, &made);
    ms__h5_quiet_end(&q);
    if (ret < 0) {
        struct statvfs fs;
        size_t len = strlen(lasterr);

        if (made)
            unlink(path); /* never leave a half-written file behind */
        /* HDF5 does not say why a write failed: a full disk is likely. */
        if (ret == MPISNAP_EIO && len < sizeof lasterr &&
            statvfs(root, &fs) == 0)
            snprintf(
                lasterr + len, sizeof lasterr - len, " (%llu KiB free in %s)",
                (unsigned long long)fs.f_bavail * fs.f_frsize / 1024, root);
        return ret;
    }
    ret = ms__fsync_path(path);
    if (ret == 0)
        ret = ms__store_file_checksum(path, checksum, bytes);
    return ret;
}

/* -------------------------------------------------------------- checksum */

/* XXH64 with seed 0 (xxHash specification), over the whole file, read in
 * blocks that are a multiple of its 32-byte stripe. */
#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint32_t rd32(const unsigned char *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t xround(uint64_t acc, uint64_t in)
{
    return rotl(acc + in * P2, 31) * P1;
}

static inline uint64_t xmerge(uint64_t h, uint64_t v)
{
    return (h ^ xround(0, v)) * P1 + P4;
}

static void xxh_stripes(uint64_t v[4], const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++, p += 32) {
        v[0] = xround(v[0], rd64(p));
        v[1] = xround(v[1], rd64(p + 8));
        v[2] = xround(v[2], rd64(p + 16));
        v[3] = xround(v[3], rd64(p + 24));
    }
}

/* tail: the last total % 32 bytes. */
static uint64_t xxh_final(const uint64_t v[4], uint64_t total,
                          const unsigned char *tail)
{
    size_t n = total % 32;
    uint64_t h;

    if (total >= 32) {
        h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
        for (int i = 0; i < 4; i++)
            h = xmerge(h, v[i]);
    } else {
        h = P5;
    }
    h += total;
    for (; n >= 8; n -= 8, tail += 8)
        h = rotl(h ^ xround(0, rd64(tail)), 27) * P1 + P4;
    if (n >= 4) {
        h = rotl(h ^ (uint64_t)rd32(tail) * P1, 23) * P2 + P3;
        n -= 4;
        tail += 4;
    }
    for (; n > 0; n--, tail++)
        h = rotl(h ^ *tail * P5, 11) * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

/* Read until buf is full or the file ends. */
static ssize_t read_full(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int ms__store_file_checksum(const char *path, uint64_t *checksum,
                            uint64_t *bytes)
{
    enum { BUF = 1 << 20 };
    uint64_t v[4] = {P1 + P2, P2, 0, -P1}, total = 0;
    unsigned char *buf = malloc(BUF);
    int fd = -1, ret = 0;
    struct stat st;
    ssize_t got;

    MS_SCHECK(buf, MPISNAP_ENOMEM, MS_SRC_NONE, "checksum: out of memory");
    /* Only a regular file: a FIFO would block, /dev/zero never end, and a
     * symlink is not what any rank wrote. */
    if ((fd = ms__open_regular(path, UINT64_MAX, &st)) < 0) {
        ret = ms__store_err_in(path, fd);
        goto out;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    for (;;) {
        got = read_full(fd, buf, BUF);
        MS_SCHECK(got >= 0, MPISNAP_EIO, MS_SRC_ERRNO, "read %s", path);
        total += (uint64_t)got;
        xxh_stripes(v, buf, (size_t)got / 32);
        if (got < BUF)
            break;
    }
    *checksum = xxh_final(v, total, buf + (size_t)got / 32 * 32);
    if (bytes)
        *bytes = total;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return ret;
}

uint64_t ms__xxh64(const void *buf, size_t n)
{
    uint64_t v[4] = {P1 + P2, P2, 0, -P1};

    xxh_stripes(v, buf, n / 32);
    return xxh_final(v, n, (const unsigned char *)buf + n / 32 * 32);
}
