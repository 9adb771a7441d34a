/* Rank files and the index: HDF5 reader.  Layout: docs/format.md.
 * Every check that can fail is made before a byte reaches the caller's
 * regions: a damaged or foreign snapshot leaves the application as it was. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpisnap/version.h"
#include "store/h5_common.h"

/* Size of the file being read.  Nothing in it can be larger, whatever its
 * headers declare: every size is checked against it before allocating.
 * (One file at a time: HDF5 1.10 here is not thread-safe anyway.) */
static uint64_t file_size;

/* Attributes we write stay below 64 KiB (an HDF5 attribute must). */
#define ATTR_MAX 65536

/* An index larger than this is not one of ours (a million ranks take
 * about 100 MB); it is read into memory whole. */
#define INDEX_MAX (256ULL << 20)

/* ------------------------------------------------------------ attributes */

static int attr_get(hid_t obj, const char *name, hid_t memtype, void *val)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), sp = H5I_INVALID_HID;
    int ret = 0;

    MS_SCHECK(a >= 0, MPISNAP_ECORRUPT, MS_SRC_H5, "attribute %s", name);
    sp = H5Aget_space(a);
    MS_SCHECK(sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1,
              MPISNAP_ECORRUPT, MS_SRC_NONE, "attribute %s: not a scalar",
              name);
    MS_SCHECK(H5Aread(a, memtype, val) >= 0, MPISNAP_ECORRUPT, MS_SRC_H5,
              "attribute %s", name);
out:
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
    return ret;
}

/* A fixed-length string attribute into a new string (*out, malloc'd). */
static int attr_str_alloc(hid_t obj, const char *name, char **out)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), ft = H5I_INVALID_HID;
    hid_t mt = H5I_INVALID_HID;
    char *tmp = NULL;
    size_t size;
    int ret = 0;

    MS_SCHECK(a >= 0, MPISNAP_ECORRUPT, MS_SRC_H5, "attribute %s", name);
    ft = H5Aget_type(a);
    MS_SCHECK(ft >= 0 && H5Tget_class(ft) == H5T_STRING &&
                  H5Tis_variable_str(ft) == 0,
              MPISNAP_ECORRUPT, MS_SRC_NONE,
              "attribute %s: not a fixed-length string", name);
    size = H5Tget_size(ft);
    MS_SCHECK(size > 0 && size <= ATTR_MAX && size <= file_size,
              MPISNAP_ECORRUPT, MS_SRC_NONE, "attribute %s: %zu bytes", name,
              size);
    tmp = calloc(1, size + 1);
    mt = H5Tcopy(H5T_C_S1);
    MS_SCHECK(tmp && mt >= 0, MPISNAP_ENOMEM, MS_SRC_NONE, "out of memory");
    MS_SCHECK(H5Tset_size(mt, size) >= 0 && H5Aread(a, mt, tmp) >= 0,
              MPISNAP_ECORRUPT, MS_SRC_H5, "attribute %s", name);
    *out = tmp;
    tmp = NULL;
out:
    free(tmp);
    if (mt >= 0)
        H5Tclose(mt);
    if (ft >= 0)
        H5Tclose(ft);
    if (a >= 0)
        H5Aclose(a);
    return ret;
}

/* A fixed-length string attribute into buf (truncated to n - 1). */
static int attr_str(hid_t obj, const char *name, char *buf, size_t n)
{
    char *s = NULL;
    int ret = attr_str_alloc(obj, name, &s);

    if (ret == 0)
        snprintf(buf, n, "%s", s);
    free(s);
    return ret;
}

/* The `kind` attribute: absent (files before observations) is a
 * checkpoint.  *observation 0 or 1. */
static int read_kind(hid_t f, int32_t *observation)
{
    htri_t has = H5Aexists(f, "kind");
    char kind[32];
    int ret;

    *observation = 0;
    if (has < 0)
        return ms__store_err(MPISNAP_ECORRUPT, MS_SRC_H5, "attribute kind");
    if (has == 0)
        return 0;
    if ((ret = attr_str(f, "kind", kind, sizeof kind)) < 0)
        return ret;
    if (strcmp(kind, MS_KIND_OBSERVATION) == 0)
        *observation = 1;
    else if (strcmp(kind, MS_KIND_CHECKPOINT) != 0)
        return ms__store_err(MPISNAP_ECORRUPT, MS_SRC_NONE, "unknown kind '%s'",
                             kind);
    return 0;
}

static int check_version(hid_t f)
{
    int32_t fv;
    int ret = attr_get(f, "format_version", H5T_NATIVE_INT32, &fv);

    if (ret < 0)
        return ret;
    if (fv > MPISNAP_FORMAT_VERSION || fv < 1)
        return ms__store_err(MPISNAP_EVERSION, MS_SRC_NONE,
                             "format version %d, this library reads %d",
                             (int)fv, MPISNAP_FORMAT_VERSION);
    return 0;
}

/* ------------------------------------------------------------- datasets */

/* Number of elements of a 1-D dataset, which must fit in the file: its
 * data are stored uncompressed (Fletcher-32 only), so a header declaring
 * more is damaged or hostile, and nothing of that size is allocated. */
static int extent(hid_t ds, const char *name, uint64_t *n)
{
    hid_t sp = H5Dget_space(ds), ft = H5Dget_type(ds);
    size_t elsize = ft >= 0 ? H5Tget_size(ft) : 0;
    hsize_t dim = 0;
    int ret = 0;

    MS_SCHECK(sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 &&
                  H5Sget_simple_extent_dims(sp, &dim, NULL) == 1,
              MPISNAP_ECORRUPT, MS_SRC_H5, "%s: not a 1-D dataset", name);
    MS_SCHECK(
        elsize > 0 && dim <= file_size / elsize, MPISNAP_ECORRUPT, MS_SRC_NONE,
        "%s: %llu elements of %zu bytes, more than the file's %llu "
        "bytes hold",
        name, (unsigned long long)dim, elsize, (unsigned long long)file_size);
    *n = dim;
out:
    if (ft >= 0)
        H5Tclose(ft);
    if (sp >= 0)
        H5Sclose(sp);
    return ret;
}

/* Read a whole 1-D dataset into a new array (at least 1 byte, so that a
 * successful read never yields NULL).  Fletcher-32 is checked here. */
static int read_alloc(hid_t loc, const char *name, hid_t memtype, void **buf,
                      uint64_t *n)
{
    hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
    size_t elsize = H5Tget_size(memtype);
    void *p = NULL;
    int ret = 0;

    *buf = NULL;
    MS_SCHECK(ds >= 0, MPISNAP_ECORRUPT, MS_SRC_H5, "open %s", name);
    if ((ret = extent(ds, name, n)) < 0)
        goto out;
    MS_SCHECK(*n <= SIZE_MAX / elsize, MPISNAP_ECORRUPT, MS_SRC_NONE,
              "%s: %llu elements", name, (unsigned long long)*n);
    p = malloc(*n ? *n * elsize : 1);
    MS_SCHECK(p, MPISNAP_ENOMEM, MS_SRC_NONE, "%s: out of memory", name);
    if (*n)
        MS_SCHECK(H5Dread(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, p) >= 0,
                  MPISNAP_ECORRUPT, MS_SRC_H5, "read %s", name);
    *buf = p;
    p = NULL;
out:
    free(p);
    if (ds >= 0)
        H5Dclose(ds);
    return ret;
}

/* --------------------------------------------------------------- regions */

static int region_info(hid_t g, struct ms__region *r)
{
    hid_t ds = H5Dopen2(g, r->name, H5P_DEFAULT);
    char ename[32];
    int ret = 0;

    MS_SCHECK(ds >= 0, MPISNAP_ECORRUPT, MS_SRC_H5, "open /state/%s", r->name);
    if ((ret = extent(ds, r->name, &r->count)) < 0 ||
        (ret = attr_str(ds, "etype", ename, sizeof ename)) < 0)
        goto out;
    r->etype = ms__h5_etype_parse(ename);
    MS_SCHECK(r->etype >= 0, MPISNAP_ECORRUPT, MS_SRC_NONE,
              "region '%s': unknown etype '%s'", r->name, ename);
    r->bytes = r->count * H5Tget_size(ms__h5_etype(r->etype));
out:
    if (ds >= 0)
        H5Dclose(ds);
    return ret;
}

/* out->regions: every dataset of /state, in name order, base NULL. */
static int list_regions(hid_t f, struct ms__rankdata *out)
{
    hid_t g = H5Gopen2(f, "state", H5P_DEFAULT);
    H5G_info_t info;
    int ret = 0;

    MS_SCHECK(g >= 0 && H5Gget_info(g, &info) >= 0, MPISNAP_ECORRUPT, MS_SRC_H5,
              "open /state");
    /* Each region's dataset has an object header of more than 64 bytes. */
    MS_SCHECK(info.nlinks <= file_size / 64, MPISNAP_ECORRUPT, MS_SRC_NONE,
              "/state: %llu regions in a file of %llu bytes",
              (unsigned long long)info.nlinks, (unsigned long long)file_size);
    out->regions = calloc(info.nlinks ? info.nlinks : 1, sizeof *out->regions);
    MS_SCHECK(out->regions, MPISNAP_ENOMEM, MS_SRC_NONE, "out of memory");
    for (hsize_t i = 0; i < info.nlinks; i++) {
        struct ms__region *r = &out->regions[i];
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i,
                                         r->name, sizeof r->name, H5P_DEFAULT);

        MS_SCHECK(len > 0 && (size_t)len < sizeof r->name, MPISNAP_ECORRUPT,
                  MS_SRC_H5, "/state: bad region name");
        out->nregions++;
        if ((ret = region_info(g, r)) < 0)
            goto out;
    }
out:
    if (g >= 0)
        H5Gclose(g);
    return ret;
}

static struct ms__region *find_region(struct ms__rankdata *d, const char *name)
{
    for (size_t i = 0; i < d->nregions; i++)
        if (strcmp(d->regions[i].name, name) == 0)
            return &d->regions[i];
    return NULL;
}

/* Same names, types and counts on both sides; the first difference is
 * the error. */
static int match_regions(struct ms__rankdata *d, const struct ms__region *want,
                         size_t nwant)
{
    for (size_t i = 0; i < nwant; i++) {
        const struct ms__region *w = &want[i];
        struct ms__region *r = find_region(d, w->name);

        if (!r)
            return ms__store_err(MPISNAP_EMISMATCH, MS_SRC_NONE,
                                 "region '%s' is not in the snapshot", w->name);
        if (r->base)
            return ms__store_err(MPISNAP_EMISMATCH, MS_SRC_NONE,
                                 "region '%s' is protected twice", w->name);
        if (r->etype != w->etype || r->count != w->count)
            return ms__store_err(
                MPISNAP_EMISMATCH, MS_SRC_NONE,
                "region '%s': expected %s[%llu], snapshot has %s[%llu]",
                w->name, ms__etype_name(w->etype), (unsigned long long)w->count,
                ms__etype_name(r->etype), (unsigned long long)r->count);
        /* Marks the match; a zero-length region has no memory to read. */
        r->base = w->base ? w->base : (void *)w;
    }
    for (size_t i = 0; i < d->nregions; i++)
        if (!d->regions[i].base)
            return ms__store_err(MPISNAP_EMISMATCH, MS_SRC_NONE,
                                 "region '%s' is in the snapshot but not "
                                 "protected by this run",
                                 d->regions[i].name);
    return 0;
}

static int read_regions(hid_t f, struct ms__rankdata *d,
                        const struct ms__region *want, size_t nwant)
{
    hid_t g = H5Gopen2(f, "state", H5P_DEFAULT), ds = H5I_INVALID_HID;
    int ret = 0;

    MS_SCHECK(g >= 0, MPISNAP_ECORRUPT, MS_SRC_H5, "open /state");
    for (size_t i = 0; i < nwant; i++) {
        const struct ms__region *w = &want[i];

        find_region(d, w->name)->base = w->base;
        if (w->count == 0)
            continue;
        ds = H5Dopen2(g, w->name, H5P_DEFAULT);
        MS_SCHECK(ds >= 0, MPISNAP_ECORRUPT, MS_SRC_H5, "open /state/%s",
                  w->name);
        /* One read straight into the application's memory. */
        MS_SCHECK(H5Dread(ds, ms__h5_etype(w->etype), H5S_ALL, H5S_ALL,
                          H5P_DEFAULT, w->base) >= 0,
                  MPISNAP_ECORRUPT, MS_SRC_H5, "region '%s'", w->name);
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

/* ------------------------------------------------- channels, comms, ... */

static int read_channels(hid_t f, struct ms__rankdata *d)
{
    hid_t t = ms__h5_env_type();
    struct ms__h5_env *env = NULL;
    unsigned char *pay = NULL;
    uint64_t n = 0, total = 0;
    int ret = 0;

    MS_SCHECK(t >= 0, MPISNAP_EIO, MS_SRC_H5, "envelope type");
    if ((ret = read_alloc(f, "channels/envelopes", t, (void **)&env, &n)) ||
        (ret = read_alloc(f, "channels/payload", H5T_NATIVE_UINT8,
                          (void **)&pay, &total)))
        goto out;
    d->msgs = calloc(n ? n : 1, sizeof *d->msgs);
    MS_SCHECK(d->msgs, MPISNAP_ENOMEM, MS_SRC_NONE, "out of memory");
    for (uint64_t i = 0; i < n; i++) {
        struct ms__msg *m = &d->msgs[i];

        MS_SCHECK(env[i].offset <= total &&
                      env[i].nbytes <= total - env[i].offset,
                  MPISNAP_ECORRUPT, MS_SRC_NONE,
                  "message %llu lies outside /channels/payload",
                  (unsigned long long)i);
        *m = (struct ms__msg){env[i].comm_id, env[i].source, env[i].tag,
                              env[i].pos,     env[i].nbytes, NULL};
        m->data = malloc(m->nbytes ? m->nbytes : 1);
        MS_SCHECK(m->data, MPISNAP_ENOMEM, MS_SRC_NONE, "out of memory");
        d->nmsgs++;
        memcpy(m->data, pay + env[i].offset, m->nbytes);
    }
out:
    free(env);
    free(pay);
    if (t >= 0)
        H5Tclose(t);
    return ret;
}

/* /comms/identity, one row per row of /comms/table, is optional: files
 * written before it existed leave every ident empty (not known). */
static int read_comm_identity(hid_t f, struct ms__rankdata *d)
{
    htri_t has = H5Lexists(f, "comms/identity", H5P_DEFAULT);
    hid_t t = H5I_INVALID_HID;
    struct ms__commident *ident = NULL;
    uint64_t n = 0;
    int ret = 0;

    MS_SCHECK(has >= 0, MPISNAP_ECORRUPT, MS_SRC_H5, "/comms/identity");
    if (has == 0)
        return 0;
    t = ms__h5_commident_type();
    MS_SCHECK(t >= 0, MPISNAP_EIO, MS_SRC_H5, "comm identity type");
    if ((ret = read_alloc(f, "comms/identity", t, (void **)&ident, &n)))
        goto out;
    MS_SCHECK(n == d->ncomms, MPISNAP_ECORRUPT, MS_SRC_NONE,
              "/comms/identity has %llu rows, /comms/table %zu",
              (unsigned long long)n, d->ncomms);
    for (size_t i = 0; i < d->ncomms; i++) {
        d->comms[i].ident = ident[i];
        /* strings as stored are NUL-terminated; make sure of it */
        d->comms[i].ident.call[sizeof ident->call - 1] = '\0';
        d->comms[i].ident.module[sizeof ident->module - 1] = '\0';
        d->comms[i].ident.build[sizeof ident->build - 1] = '\0';
        d->comms[i].ident.name[sizeof ident->name - 1] = '\0';
    }
out:
    free(ident);
    if (t >= 0)
        H5Tclose(t);
    return ret;
}

static int read_comms(hid_t f, struct ms__rankdata *d)
{
    hid_t t = ms__h5_comm_type();
    struct ms__h5_comm *tab = NULL;
    int32_t *world = NULL;
    uint64_t n = 0, total = 0;
    int ret = 0;

    MS_SCHECK(t >= 0, MPISNAP_EIO, MS_SRC_H5, "comm type");
    if ((ret = read_alloc(f, "comms/table", t, (void **)&tab, &n)) ||
        (ret = read_alloc(f, "comms/world", H5T_NATIVE_INT32, (void **)&world,
                          &total)))
        goto out;
    d->comms = calloc(n ? n : 1, sizeof *d->comms);
    MS_SCHECK(d->comms, MPISNAP_ENOMEM, MS_SRC_NONE, "out of memory");
    for (uint64_t i = 0; i < n; i++) {
        struct ms__commrec *c = &d->comms[i];
        uint64_t size = (uint64_t)tab[i].size;

        MS_SCHECK(tab[i].size >= 0 && tab[i].offset <= total &&
                      size <= total - tab[i].offset,
                  MPISNAP_ECORRUPT, MS_SRC_NONE,
                  "communicator %llu lies outside /comms/world",
                  (unsigned long long)i);
        *c = (struct ms__commrec){
            tab[i].id,    tab[i].parent, tab[i].ordinal, tab[i].color,
            tab[i].ncoll, tab[i].size,   NULL,           {0}};
        c->world = malloc(size ? size * sizeof *c->world : 1);
        MS_SCHECK(c->world, MPISNAP_ENOMEM, MS_SRC_NONE, "out of memory");
        d->ncomms++;
        memcpy(c->world, world + tab[i].offset, size * sizeof *c->world);
    }
    ret = read_comm_identity(f, d);
out:
    free(tab);
    free(world);
    if (t >= 0)
        H5Tclose(t);
    return ret;
}

static int read_counters(hid_t f, struct ms__rankdata *d)
{
    hid_t t = ms__h5_counter_type();
    uint64_t n = 0;
    int ret;

    if (t < 0)
        return ms__store_err(MPISNAP_EIO, MS_SRC_H5, "counter type");
    ret = read_alloc(f, "counters", t, (void **)&d->counters, &n);
    if (ret == 0)
        d->ncounters = n;
    H5Tclose(t);
    return ret;
}

/* /trace is optional: absent means no events. */
static int read_trace(hid_t f, struct ms__rankdata *d)
{
    hid_t t;
    htri_t has = H5Lexists(f, "trace", H5P_DEFAULT);
    uint64_t n = 0;
    int ret;

    if (has < 0)
        return ms__store_err(MPISNAP_ECORRUPT, MS_SRC_H5, "/trace");
    if (has == 0)
        return 0;
    t = ms__h5_trace_type();
    if (t < 0)
        return ms__store_err(MPISNAP_EIO, MS_SRC_H5, "trace type");
    ret = read_alloc(f, "trace", t, (void **)&d->trace, &n);
    H5Tclose(t);
    if (ret < 0)
        return ret;
    d->ntrace = n;
    for (uint64_t i = 0; i < n; i++)
        d->trace[i].pad = 0;
    return 0;
}

/* /observe of an observation's rank file. */
static int read_observe(hid_t f, struct ms__obsrec *o)
{
    hid_t g = H5Gopen2(f, "observe", H5P_DEFAULT);
    hid_t nt = ms__h5_need_type(), ct = ms__h5_counter_type();
    uint64_t n = 0;
    int ret = 0;

    MS_SCHECK(g >= 0, MPISNAP_ECORRUPT, MS_SRC_H5, "open /observe");
    MS_SCHECK(nt >= 0 && ct >= 0, MPISNAP_EIO, MS_SRC_H5, "observe types");
    if ((ret = attr_str(g, "call", o->call, sizeof o->call)) ||
        (ret = attr_get(g, "mode", H5T_NATIVE_INT32, &o->mode)) ||
        (ret = attr_get(g, "t_enter", H5T_NATIVE_DOUBLE, &o->t_enter)) ||
        (ret = attr_get(g, "waited", H5T_NATIVE_DOUBLE, &o->waited)) ||
        (ret = read_alloc(g, "needs", nt, (void **)&o->needs, &n)))
        goto out;
    o->nneeds = n;
    for (uint64_t i = 0; i < n; i++)
        o->needs[i].pad = 0;
    if ((ret = read_alloc(g, "inflight", ct, (void **)&o->inflight, &n)))
        goto out;
    o->ninflight = n;
out:
    if (ct >= 0)
        H5Tclose(ct);
    if (nt >= 0)
        H5Tclose(nt);
    if (g >= 0)
        H5Gclose(g);
    return ret;
}

/* ------------------------------------------------------------- rank file */

static int read_header(hid_t f, uint64_t id, int rank, struct ms__rankdata *d)
{
    int ret;

    if ((ret = check_version(f)) ||
        (ret = attr_get(f, "rank", H5T_NATIVE_INT32, &d->rank)) ||
        (ret = attr_get(f, "nranks", H5T_NATIVE_INT32, &d->nranks)) ||
        (ret = attr_get(f, "snap_id", H5T_NATIVE_UINT64, &d->snap_id)) ||
        (ret = attr_get(f, "point", H5T_NATIVE_UINT64, &d->point)) ||
        (ret = attr_get(f, "time", H5T_NATIVE_DOUBLE, &d->time)) ||
        (ret = read_kind(f, &d->observation)))
        return ret;
    if (rank >= 0 && (d->rank != rank || d->snap_id != id))
        return ms__store_err(MPISNAP_ECORRUPT, MS_SRC_NONE,
                             "holds rank %d of snapshot %llu, expected "
                             "rank %d of snapshot %llu",
                             (int)d->rank, (unsigned long long)d->snap_id, rank,
                             (unsigned long long)id);
    return 0;
}

/* HDF5 opened the file we checked, not one put in its place since. */
static int same_file(hid_t f, hid_t fapl, const struct stat *st)
{
    struct stat now;
    void *h = NULL;

    return H5Fget_vfd_handle(f, fapl, &h) >= 0 && h &&
           fstat(*(int *)h, &now) == 0 && now.st_dev == st->st_dev &&
           now.st_ino == st->st_ino;
}

/* restart: refuse an observation before anything else is read. */
static int read_file(const char *path, uint64_t id, int rank,
                     const struct ms__region *want, size_t nwant,
                     struct ms__rankdata *out, int restart)
{
    hid_t fapl = ms__h5_fapl(), f = H5I_INVALID_HID;
    struct stat st;
    int ret = 0, fd;

    MS_SCHECK(fapl >= 0, MPISNAP_EIO, MS_SRC_H5, "file access list");
    /* Only a regular file: HDF5 would wait forever on a FIFO. */
    if ((fd = ms__open_regular(path, UINT64_MAX, &st)) < 0) {
        ret = fd;
        goto out;
    }
    close(fd);
    file_size = (uint64_t)st.st_size;
    f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    MS_SCHECK(f >= 0, MPISNAP_ECORRUPT, MS_SRC_H5, "not an HDF5 file");
    MS_SCHECK(same_file(f, fapl, &st), MPISNAP_ECORRUPT, MS_SRC_NONE,
              "replaced while it was read");
    if ((ret = read_header(f, id, rank, out)))
        goto out;
    MS_SCHECK(!(restart && out->observation), MPISNAP_EMISMATCH, MS_SRC_NONE,
              "snapshot %llu is an observation snapshot: it cannot be "
              "restored",
              (unsigned long long)out->snap_id);
    if ((ret = list_regions(f, out)))
        goto out;
    if (want && nwant) {
        /* All checks first, then the reads: nothing half-restored. */
        for (size_t i = 0; i < out->nregions; i++)
            out->regions[i].base = NULL;
        if ((ret = match_regions(out, want, nwant)) ||
            (ret = read_regions(f, out, want, nwant)))
            goto out;
    }
    if ((ret = read_channels(f, out)) || (ret = read_comms(f, out)) ||
        (ret = read_counters(f, out)) || (ret = read_trace(f, out)))
        goto out;
    if (out->observation)
        ret = read_observe(f, &out->obs);
out:
    if (f >= 0)
        H5Fclose(f);
    if (fapl >= 0)
        H5Pclose(fapl);
    return ret;
}

/* A file that cannot be read is damaged, whatever the reason (a restart
 * then falls back to the previous snapshot); an allocation that fails
 * after every size was checked against the file is no exception. */
static int as_damage(int ret)
{
    return ret == MPISNAP_ENOMEM ? MPISNAP_ECORRUPT : ret;
}

static int dir_exists(const char *root, uint64_t id)
{
    char dir[4096];
    struct stat st;

    if (ms__store_path(dir, sizeof dir, root, id, 0, NULL) < 0)
        return 0;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* No rank file is larger than all of them together (the index's `bytes`).
 * Checked before the checksum, which would read a huge (sparse) file for
 * minutes; below RANK_SMALL it is not worth reading the index again. */
#define RANK_SMALL (64ULL << 20)

int ms__store_rank_size_ok(const char *path, uint64_t size,
                           const struct ms__index *ix)
{
    if (size <= ix->bytes)
        return 0;
    return ms__store_err(MPISNAP_ECORRUPT, MS_SRC_NONE,
                         "%s%s%llu bytes, more than all rank files together "
                         "(%llu, the index says)",
                         path ? path : "", path ? ": " : "",
                         (unsigned long long)size,
                         (unsigned long long)ix->bytes);
}

static int rank_size(const char *root, uint64_t id, const char *path)
{
    struct ms__index ix;
    struct stat st;
    int ret;

    if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size <= RANK_SMALL)
        return 0; /* the checksum tells what is wrong with it */
    if ((ret = ms__store_read_index(root, id, &ix)) < 0)
        return ret;
    ret = ms__store_rank_size_ok(NULL, (uint64_t)st.st_size, &ix);
    ms__store_free_index(&ix);
    return ret;
}

int ms__store_read_rank(const char *root, uint64_t id, int rank,
                        uint64_t expect_checksum, const struct ms__region *want,
                        size_t nwant, struct ms__rankdata *out, char *errbuf,
                        size_t errlen)
{
    char name[32], path[4096], msg[512];
    struct ms__h5_quiet q;
    uint64_t sum = 0, size = 0;
    int ret, refused = 0;

    memset(out, 0, sizeof *out);
    snprintf(name, sizeof name, "rank-%06d.h5", rank);
    if ((ret = ms__store_path(path, sizeof path, root, id, 0, name)) < 0)
        goto out;
    if (!dir_exists(root, id)) {
        ret = ms__store_err(MPISNAP_ENOSNAP, MS_SRC_NONE,
                            "snapshot %llu not found in %s",
                            (unsigned long long)id, root);
        goto out;
    }
    if ((ret = rank_size(root, id, path)) < 0)
        goto out;
    ret = ms__store_file_checksum(path, &sum, &size);
    if (ret == MPISNAP_ENOSNAP)
        ret = ms__store_err(MPISNAP_ECORRUPT, MS_SRC_NONE, "missing");
    if (ret == 0 && sum != expect_checksum)
        ret = ms__store_err(MPISNAP_ECORRUPT, MS_SRC_NONE,
                            "checksum mismatch (file damaged)");
    if (ret < 0)
        goto out;
    ms__h5_quiet_begin(&q);
    ret = as_damage(read_file(path, id, rank, want, nwant, out, 1));
    ms__h5_quiet_end(&q);
    refused = ret == MPISNAP_EMISMATCH && out->observation;
out:
    if (ret < 0) {
        ms__store_free_rankdata(out);
        snprintf(msg, sizeof msg, "%s", ms__store_lasterr());
        if (!refused) /* that one is about the snapshot, not the file */
            ms__store_err(ret, MS_SRC_NONE, "%s: %s", name, msg);
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s", ms__store_lasterr());
    }
    return ret;
}

int ms__store_read_rank_file(const char *path, const struct ms__region *want,
                             size_t nwant, struct ms__rankdata *out,
                             char *errbuf, size_t errlen)
{
    struct ms__h5_quiet q;
    int ret;

    memset(out, 0, sizeof *out);
    ms__h5_quiet_begin(&q);
    ret = as_damage(read_file(path, 0, -1, want, nwant, out, 0));
    ms__h5_quiet_end(&q);
    if (ret == MPISNAP_ENOSNAP)
        ret = ms__store_err(ret, MS_SRC_NONE, "%s: missing", path);
    if (ret < 0) {
        ms__store_free_rankdata(out);
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s", ms__store_lasterr());
    }
    return ret;
}

void ms__store_free_rankdata(struct ms__rankdata *d)
{
    for (size_t i = 0; i < d->nmsgs; i++)
        free(d->msgs[i].data);
    for (size_t i = 0; i < d->ncomms; i++)
        free(d->comms[i].world);
    free(d->regions);
    free(d->msgs);
    free(d->comms);
    free(d->counters);
    free(d->trace);
    free(d->obs.needs);
    free(d->obs.inflight);
    memset(d, 0, sizeof *d);
}

/* ----------------------------------------------------------------- index */

static int read_index_observation(hid_t f, struct ms__index *ix)
{
    hid_t pt = ms__h5_prop_type();
    uint64_t n = 0;
    int ret;

    if (pt < 0)
        return ms__store_err(MPISNAP_EIO, MS_SRC_H5, "property type");
    if ((ret = attr_str(f, "verdict", ix->verdict, sizeof ix->verdict)) ||
        (ret = attr_str_alloc(f, "report", &ix->report)) ||
        (ret =
             read_alloc(f, "cycle", H5T_NATIVE_INT32, (void **)&ix->cycle, &n)))
        goto out;
    ix->ncycle = n;
    if ((ret = read_alloc(f, "properties", pt, (void **)&ix->props, &n)))
        goto out;
    ix->nprops = n;
    for (size_t i = 0; i < ix->nprops; i++)
        ix->props[i].name[sizeof ix->props[i].name - 1] = '\0';
out:
    H5Tclose(pt);
    return ret;
}

static int read_index_file(hid_t f, struct ms__index *ix)
{
    uint64_t n = 0;
    int ret;

    if ((ret = check_version(f)) ||
        (ret = attr_get(f, "snap_id", H5T_NATIVE_UINT64, &ix->snap_id)) ||
        (ret = attr_get(f, "nranks", H5T_NATIVE_INT32, &ix->nranks)) ||
        (ret = attr_get(f, "point", H5T_NATIVE_UINT64, &ix->point)) ||
        (ret = attr_get(f, "t_start", H5T_NATIVE_DOUBLE, &ix->t_start)) ||
        (ret = attr_get(f, "t_end", H5T_NATIVE_DOUBLE, &ix->t_end)) ||
        (ret = attr_get(f, "bytes", H5T_NATIVE_UINT64, &ix->bytes)) ||
        (ret = attr_get(f, "nmsgs", H5T_NATIVE_UINT64, &ix->nmsgs)) ||
        (ret = attr_str(f, "app", ix->app, sizeof ix->app)) ||
        (ret = read_alloc(f, "checksums", H5T_NATIVE_UINT64,
                          (void **)&ix->checksums, &n)))
        return ret;
    if (ix->nranks < 1 || n != (uint64_t)ix->nranks)
        return ms__store_err(MPISNAP_ECORRUPT, MS_SRC_NONE,
                             "%d ranks but %llu checksums", (int)ix->nranks,
                             (unsigned long long)n);
    if ((ret = read_kind(f, &ix->observation)) || !ix->observation)
        return ret;
    return read_index_observation(f, ix);
}

/* The whole of a regular file of at most max bytes into a new buffer. */
static int slurp(const char *path, uint64_t max, unsigned char **buf, size_t *n)
{
    struct stat st;
    size_t got = 0;
    int fd = ms__open_regular(path, max, &st), ret = 0;

    *buf = NULL;
    if (fd < 0)
        return fd;
    *n = (size_t)st.st_size;
    *buf = malloc(*n ? *n : 1);
    MS_SCHECK(*buf, MPISNAP_ECORRUPT, MS_SRC_NONE, "%zu bytes: out of memory",
              *n);
    while (got < *n) {
        ssize_t r = read(fd, *buf + got, *n - got);

        MS_SCHECK(r > 0 || (r < 0 && errno == EINTR), MPISNAP_EIO,
                  r < 0 ? MS_SRC_ERRNO : MS_SRC_NONE, "read");
        got += r > 0 ? (size_t)r : 0;
    }
out:
    close(fd);
    return ret;
}

/* HDF5 parses the checked bytes in memory (core driver, file image), never
 * the file, which might have changed since.  The name must not exist (the
 * core driver refuses an image whose name does: "file already exists")
 * and must differ between open images; under /dev/null it cannot exist. */
static hid_t open_image(const unsigned char *img, size_t n)
{
    static unsigned nimage;
    char name[64];
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f = H5I_INVALID_HID;

    snprintf(name, sizeof name, "/dev/null/mpisnap-index-%u", nimage++);
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 &&
        H5Pset_file_image(fapl, (void *)img, n) >= 0)
        f = H5Fopen(name, H5F_ACC_RDONLY, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    return f;
}

int ms__store_read_index(const char *root, uint64_t id, struct ms__index *ix)
{
    char dir[4096], path[4096];
    struct ms__h5_quiet q;
    unsigned char *img = NULL;
    size_t n = 0;
    uint64_t want = 0, sum;
    hid_t f = H5I_INVALID_HID;
    int ret, have = 0;

    memset(ix, 0, sizeof *ix);
    if ((ret = ms__store_path(dir, sizeof dir, root, id, 0, NULL)) < 0 ||
        (ret = ms__store_path(path, sizeof path, root, id, 0, MS_H5_INDEX)) < 0)
        return ret;
    ms__h5_quiet_begin(&q);
    if ((ret = slurp(path, INDEX_MAX, &img, &n)) < 0) {
        ret = ms__store_err_in(path, ret);
        goto out;
    }
    /* Verified before HDF5 sees a byte; a snapshot written before
     * index.h5.xxh64 existed has none and is parsed unverified. */
    if ((ret = ms__store_read_index_sum(dir, &have, &want)) < 0)
        goto out;
    sum = ms__xxh64(img, n);
    MS_SCHECK(!have || sum == want, MPISNAP_ECORRUPT, MS_SRC_NONE,
              "%s: checksum mismatch (file damaged): %s says %016llx, the "
              "file has %016llx",
              path, MS_H5_INDEX_SUM, (unsigned long long)want,
              (unsigned long long)sum);
    file_size = n;
    f = open_image(img, n);
    MS_SCHECK(f >= 0, MPISNAP_ECORRUPT, MS_SRC_H5, "%s: not an HDF5 file",
              path);
    ret = read_index_file(f, ix);
    /* A newer format is only believed of a verified index. */
    if (ret == MPISNAP_EVERSION && !have)
        ret = MPISNAP_ECORRUPT;
    ret = as_damage(ret);
out:
    if (f >= 0)
        H5Fclose(f);
    ms__h5_quiet_end(&q);
    free(img);
    if (ret < 0)
        ms__store_free_index(ix);
    return ret;
}

void ms__store_free_index(struct ms__index *ix)
{
    free(ix->checksums);
    free(ix->report);
    free(ix->cycle);
    free(ix->props);
    memset(ix, 0, sizeof *ix);
}
