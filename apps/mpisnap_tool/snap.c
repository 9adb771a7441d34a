/* Finding and reading a snapshot: the SNAP argument, the index, the rank
 * files, and helpers for communicators and region values. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpisnap.h"
#include "tool.h"

/* ------------------------------------------------------------ resolving */

/* "snap-<digits>" with an optional ".partial"; 0 when it is one. */
static int parse_snapname(const char *s, uint64_t *id, int *partial)
{
    char *end;

    if (strncmp(s, "snap-", 5) != 0 || !isdigit((unsigned char)s[5]))
        return -1;
    errno = 0;
    *id = strtoull(s + 5, &end, 10);
    if (errno)
        return -1;
    *partial = strcmp(end, ".partial") == 0;
    return (*partial || *end == '\0') ? 0 : -1;
}

/* digits -> 0 and *id; "latest" -> 1; else -1. */
static int parse_id(const char *s, uint64_t *id)
{
    char *end;

    if (strcmp(s, "latest") == 0)
        return 1;
    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    *id = strtoull(s, &end, 10);
    return (errno || *end) ? -1 : 0;
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int snap_scan(const char *root, uint64_t **ids, int **partial, size_t *n)
{
    DIR *d = opendir(root);
    struct dirent *e;
    size_t cap = 0;

    *ids = NULL;
    *partial = NULL;
    *n = 0;
    if (!d)
        return tool_err("%s: %s", root, strerror(errno));
    while ((e = readdir(d))) {
        uint64_t id;
        int p;

        if (parse_snapname(e->d_name, &id, &p) < 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *ids = realloc(*ids, cap * sizeof **ids);
            *partial = realloc(*partial, cap * sizeof **partial);
            if (!*ids || !*partial) {
                closedir(d);
                return tool_err("out of memory");
            }
        }
        (*ids)[*n] = id;
        (*partial)[(*n)++] = p;
    }
    closedir(d);
    /* Newest first; a committed one before a partial one of the same id. */
    for (size_t i = 1; i < *n; i++)
        for (size_t j = i; j > 0; j--) {
            uint64_t a = (*ids)[j - 1], b = (*ids)[j];
            int pa = (*partial)[j - 1], pb = (*partial)[j];

            if (a > b || (a == b && pa <= pb))
                break;
            (*ids)[j - 1] = b;
            (*ids)[j] = a;
            (*partial)[j - 1] = pb;
            (*partial)[j] = pa;
        }
    return 0;
}

/* root/observe holds a committed observation snapshot. */
static int has_observations(const char *root)
{
    char obs[4200];
    uint64_t *ids = NULL;
    size_t n = 0;
    int64_t hi;

    snprintf(obs, sizeof obs, "%s/observe", root);
    ms__store_scan(obs, 0, &ids, &n, &hi);
    free(ids);
    return n > 0;
}

/* The snapshot a restart from root would use, by the library's own rule
 * (store.h, ms__store_choose): the newest committed one (a directory
 * holding an index, not the `latest` file) that is not damaged. */
static int newest(const char *root, uint64_t *id)
{
    char skipped[2048];
    int ret = ms__store_choose(root, id, skipped, sizeof skipped);

    if (ret == 0 && skipped[0])
        fprintf(stderr,
                "mpisnap %s: %s: %s; using snapshot %llu, as a restart "
                "would\n",
                tool_verb, root, skipped, (unsigned long long)*id);
    if (ret == 0)
        return 0;
    if (ret != MPISNAP_ENOSNAP)
        return tool_err("%s: %s", root, ms__store_lasterr());
    if (has_observations(root))
        return tool_err("%s: no committed snapshot here (observation "
                        "snapshots: %s/observe)",
                        root, root);
    return tool_err("%s: no committed snapshot here", root);
}

static int set_root(struct snap *s, const char *root, size_t len)
{
    if (len >= sizeof s->root)
        return tool_err("%.40s...: path too long", root);
    memcpy(s->root, root, len);
    s->root[len] = '\0';
    return 0;
}

/* ROOT:ID or ROOT:latest. */
static int resolve_colon(struct snap *s, const char *arg, const char *colon)
{
    int k = parse_id(colon + 1, &s->id);

    if (k < 0)
        return tool_err("'%s': after ':' expected an id or 'latest'", arg);
    if (set_root(s, arg, (size_t)(colon - arg)))
        return EXIT_ERROR;
    return k == 1 ? newest(s->root, &s->id) : 0;
}

static int resolve_dir(struct snap *s, const char *arg)
{
    char path[4096];
    size_t len = strlen(arg);
    const char *base;

    if (len >= sizeof path)
        return tool_err("%.40s...: path too long", arg);
    memcpy(path, arg, len + 1);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
    base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (parse_snapname(base, &s->id, &s->partial) == 0) {
        if (base == path)
            return set_root(s, ".", 1);
        return set_root(s, path,
                        base - path > 1 ? (size_t)(base - path - 1) : 1);
    }
    /* A root: its newest committed snapshot. */
    if (set_root(s, path, len))
        return EXIT_ERROR;
    return newest(s->root, &s->id);
}

static int resolve(struct snap *s, const char *arg, const char *dir)
{
    const char *colon = strrchr(arg, ':');
    uint64_t id;
    int k;

    if (colon && parse_id(colon + 1, &id) >= 0 && !is_dir(arg))
        return resolve_colon(s, arg, colon);
    if (is_dir(arg))
        return resolve_dir(s, arg);
    k = parse_id(arg, &s->id);
    if (k < 0) {
        if (access(arg, F_OK) == 0)
            return tool_err("%s: not a snapshot directory", arg);
        return tool_err("%s: no such snapshot or directory", arg);
    }
    dir = tool_root(dir);
    if (set_root(s, dir, strlen(dir)))
        return EXIT_ERROR;
    return k == 1 ? newest(s->root, &s->id) : 0;
}

/* ------------------------------------------------------------- opening */

void snap_rank_path(const struct snap *s, int r, char *out, size_t n)
{
    snprintf(out, n, "%s/rank-%06d.h5", s->dir, r);
}

/* A partial snapshot has no index: as many ranks as the highest rank
 * file found says. */
static int count_rank_files(struct snap *s)
{
    DIR *d = opendir(s->dir);
    struct dirent *e;
    int hi = -1;

    if (!d)
        return tool_err("%s: %s", s->dir, strerror(errno));
    while ((e = readdir(d))) {
        int r;
        char c;

        if (sscanf(e->d_name, "rank-%d.h%c", &r, &c) == 2 && r > hi)
            hi = r;
    }
    closedir(d);
    if (hi < 0)
        return tool_err("%s: no rank files", s->dir);
    s->nranks = hi + 1;
    return 0;
}

static int read_index(struct snap *s)
{
    char path[4300];
    int ret = ms__store_read_index(s->root, s->id, &s->ix);

    snprintf(path, sizeof path, "%s/index.h5", s->dir);
    if (ret == MPISNAP_ENOSNAP)
        return tool_err("%s: missing: %s is not a committed snapshot", path,
                        s->dir);
    if (ret < 0)
        return tool_err("%s: %s", path, tool_strip(ms__store_lasterr(), path));
    s->have_index = 1;
    s->nranks = s->ix.nranks;
    return 0;
}

int snap_open(struct snap *s, const char *arg, const char *dir)
{
    struct stat st;
    int ret;

    memset(s, 0, sizeof *s);
    if ((ret = resolve(s, arg, dir)))
        return ret;
    ms__store_snapdir(s->dir, sizeof s->dir, s->root, s->id, s->partial);
    if (stat(s->dir, &st) < 0) {
        if (errno == ENOENT)
            return tool_err("%s: no such snapshot (looked in %s)", s->dir,
                            s->root);
        return tool_err("%s: %s", s->dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return tool_err("%s: not a directory", s->dir);
    ret = s->partial ? count_rank_files(s) : read_index(s);
    if (ret)
        return ret;
    s->rk = calloc((size_t)s->nranks, sizeof *s->rk);
    s->loaded = calloc((size_t)s->nranks, sizeof *s->loaded);
    if (!s->rk || !s->loaded)
        return tool_err("out of memory");
    return 0;
}

static void free_values(struct ms__rankdata *d)
{
    for (size_t i = 0; i < d->nregions; i++) {
        free(d->regions[i].base);
        d->regions[i].base = NULL;
    }
}

static void unload(struct snap *s, int r)
{
    if (s->loaded[r] == 2)
        free_values(&s->rk[r]);
    if (s->loaded[r])
        ms__store_free_rankdata(&s->rk[r]);
    s->loaded[r] = 0;
}

/* ms__store_read_rank is the restart's path and refuses observations: read
 * those by path, after the same checksum and header checks. */
static int read_obs_rank(struct snap *s, int r, const struct ms__region *want,
                         size_t nwant, char *e, size_t n)
{
    char path[4300];
    struct ms__rankdata *d = &s->rk[r];
    uint64_t sum = 0;
    struct stat st;
    int ret;

    snap_rank_path(s, r, path, sizeof path);
    if (stat(path, &st) == 0 &&
        ms__store_rank_size_ok(NULL, (uint64_t)st.st_size, &s->ix) < 0) {
        snprintf(e, n, "%s", ms__store_lasterr());
        return MPISNAP_ECORRUPT;
    }
    ret = ms__store_file_checksum(path, &sum, NULL);
    if (ret < 0 || sum != s->ix.checksums[r]) {
        snprintf(e, n, "%s",
                 ret == MPISNAP_ENOSNAP ? "missing"
                 : ret < 0              ? tool_strip(ms__store_lasterr(), path)
                                        : "checksum mismatch (file damaged)");
        return ret == MPISNAP_EIO ? ret : MPISNAP_ECORRUPT;
    }
    ret = ms__store_read_rank_file(path, want, nwant, d, e, n);
    if (ret == 0 && (d->rank != r || d->snap_id != s->id)) {
        snprintf(e, n,
                 "holds rank %d of snapshot %llu, expected rank %d of "
                 "snapshot %llu",
                 (int)d->rank, (unsigned long long)d->snap_id, r,
                 (unsigned long long)s->id);
        ret = MPISNAP_ECORRUPT;
    }
    return ret;
}

static int read_rank(struct snap *s, int r, const struct ms__region *want,
                     size_t nwant, char *e, size_t n)
{
    char path[4300];

    if (s->have_index && s->ix.observation)
        return read_obs_rank(s, r, want, nwant, e, n);
    if (s->have_index)
        return ms__store_read_rank(s->root, s->id, r, s->ix.checksums[r], want,
                                   nwant, &s->rk[r], e, n);
    snap_rank_path(s, r, path, sizeof path);
    return ms__store_read_rank_file(path, want, nwant, &s->rk[r], e, n);
}

int snap_is_observation(const struct snap *s)
{
    if (s->have_index)
        return s->ix.observation;
    for (int r = 0; s->loaded && r < s->nranks; r++)
        if (s->loaded[r])
            return s->rk[r].observation;
    return 0;
}

/* Every region into a buffer of its own: list first, then read. */
static int read_values(struct snap *s, int r, char *e, size_t n)
{
    struct ms__rankdata *d = &s->rk[r];
    size_t nw = d->nregions;
    struct ms__region *want = calloc(nw ? nw : 1, sizeof *want);
    int ret = 0;

    if (!want)
        return MPISNAP_ENOMEM;
    for (size_t i = 0; i < nw; i++) {
        want[i] = d->regions[i];
        want[i].base = malloc(want[i].bytes ? want[i].bytes : 1);
        if (!want[i].base)
            ret = MPISNAP_ENOMEM;
    }
    if (ret == 0) {
        ms__store_free_rankdata(d);
        ret = read_rank(s, r, want, nw, e, n);
    }
    if (ret < 0)
        for (size_t i = 0; i < nw; i++)
            free(want[i].base);
    free(want);
    return ret;
}

int snap_load_rank(struct snap *s, int r, int values, char *err, size_t n)
{
    char path[4300], name[32], e[512] = "";
    int ret;

    if (s->loaded[r] && (s->loaded[r] == 2 || !values))
        return 0;
    unload(s, r);
    snap_rank_path(s, r, path, sizeof path);
    ret = read_rank(s, r, NULL, 0, e, sizeof e);
    if (ret == 0 && values) {
        ret = read_values(s, r, e, sizeof e);
        if (ret == MPISNAP_ENOMEM)
            snprintf(e, sizeof e, "out of memory reading its regions");
    }
    if (ret < 0) {
        /* The store's line starts with the file's name; name the path. */
        snprintf(name, sizeof name, "rank-%06d.h5", r);
        snprintf(err, n, "%s: %s", path, tool_strip(tool_strip(e, name), path));
        ms__store_free_rankdata(&s->rk[r]);
        return ret;
    }
    s->loaded[r] = values ? 2 : 1;
    return 0;
}

void snap_close(struct snap *s)
{
    for (int r = 0; s->loaded && r < s->nranks; r++)
        unload(s, r);
    free(s->rk);
    free(s->loaded);
    ms__store_free_index(&s->ix);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------- communicators */

const struct ms__commrec *snap_comm(const struct ms__rankdata *d, uint64_t id)
{
    for (size_t i = 0; i < d->ncomms; i++)
        if (d->comms[i].id == id)
            return &d->comms[i];
    return NULL;
}

int snap_world(const struct ms__commrec *c, int r)
{
    if (!c || r < 0 || r >= c->size)
        return -1;
    return c->world[r];
}

const char *snap_comm_name(char *buf, size_t n, const struct ms__commrec *c,
                           uint64_t id, int nranks)
{
    (void)nranks;
    /* lib/src/pmpi/comms.c: MPI_COMM_WORLD is id 1, MPI_COMM_SELF id 2. */
    if (id == 1 && (!c || c->parent == 0))
        snprintf(buf, n, "world");
    else if (id == 2 && (!c || c->parent == 0))
        snprintf(buf, n, "self");
    else
        snprintf(buf, n, "%llu", (unsigned long long)id);
    return buf;
}

/* -------------------------------------------------------------- values */

size_t etype_size(int etype)
{
    /* clang-format off */
    switch (etype) {
    case MS_T_BYTES: case MS_T_CHAR: case MS_T_SCHAR: case MS_T_UCHAR:
    case MS_T_INT8: case MS_T_UINT8: return 1;
    case MS_T_SHORT: case MS_T_USHORT: return sizeof(short);
    case MS_T_INT: case MS_T_UINT: return sizeof(int);
    case MS_T_LONG: case MS_T_ULONG: return sizeof(long);
    case MS_T_LLONG: case MS_T_ULLONG: return sizeof(long long);
    case MS_T_FLOAT: return sizeof(float);
    case MS_T_DOUBLE: return sizeof(double);
    case MS_T_LDOUBLE: return sizeof(long double);
    case MS_T_INT16: case MS_T_UINT16: return 2;
    case MS_T_INT32: case MS_T_UINT32: return 4;
    case MS_T_INT64: case MS_T_UINT64: return 8;
    default: return 1;
    }
    /* clang-format on */
}

int region_is_float(int etype)
{
    return etype == MS_T_FLOAT || etype == MS_T_DOUBLE || etype == MS_T_LDOUBLE;
}

/* Signed integers as long long, unsigned ones as unsigned long long. */
static int is_signed(int etype, long long *v, const void *p)
{
    /* clang-format off */
    switch (etype) {
    case MS_T_CHAR: *v = *(const char *)p; return 1;
    case MS_T_SCHAR: *v = *(const signed char *)p; return 1;
    case MS_T_SHORT: *v = *(const short *)p; return 1;
    case MS_T_INT: *v = *(const int *)p; return 1;
    case MS_T_LONG: *v = *(const long *)p; return 1;
    case MS_T_LLONG: *v = *(const long long *)p; return 1;
    case MS_T_INT8: *v = *(const int8_t *)p; return 1;
    case MS_T_INT16: *v = *(const int16_t *)p; return 1;
    case MS_T_INT32: *v = *(const int32_t *)p; return 1;
    case MS_T_INT64: *v = *(const int64_t *)p; return 1;
    default: return 0;
    }
    /* clang-format on */
}

static unsigned long long uval(int etype, const void *p)
{
    /* clang-format off */
    switch (etype) {
    case MS_T_USHORT: return *(const unsigned short *)p;
    case MS_T_UINT: return *(const unsigned *)p;
    case MS_T_ULONG: return *(const unsigned long *)p;
    case MS_T_ULLONG: return *(const unsigned long long *)p;
    case MS_T_UINT16: return *(const uint16_t *)p;
    case MS_T_UINT32: return *(const uint32_t *)p;
    case MS_T_UINT64: return *(const uint64_t *)p;
    default: return *(const unsigned char *)p; /* bytes, uchar, uint8 */
    }
    /* clang-format on */
}

static const void *elem(const struct ms__region *r, uint64_t i)
{
    return (const char *)r->base + i * etype_size(r->etype);
}

double region_value(const struct ms__region *r, uint64_t i)
{
    const void *p = elem(r, i);
    long long v;

    if (r->etype == MS_T_FLOAT)
        return *(const float *)p;
    if (r->etype == MS_T_DOUBLE)
        return *(const double *)p;
    if (r->etype == MS_T_LDOUBLE)
        return (double)*(const long double *)p;
    if (is_signed(r->etype, &v, p))
        return (double)v;
    return (double)uval(r->etype, p);
}

const char *region_format(char *buf, size_t n, const struct ms__region *r,
                          uint64_t i)
{
    const void *p = elem(r, i);
    long long v;

    if (r->etype == MS_T_FLOAT)
        snprintf(buf, n, "%.9g", (double)*(const float *)p);
    else if (r->etype == MS_T_DOUBLE)
        snprintf(buf, n, "%.17g", *(const double *)p);
    else if (r->etype == MS_T_LDOUBLE)
        snprintf(buf, n, "%.21Lg", *(const long double *)p);
    else if (r->etype == MS_T_BYTES)
        snprintf(buf, n, "0x%02x", *(const unsigned char *)p);
    else if (is_signed(r->etype, &v, p))
        snprintf(buf, n, "%lld", v);
    else
        snprintf(buf, n, "%llu", uval(r->etype, p));
    return buf;
}
