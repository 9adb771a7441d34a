/* Unit test of the store: write, commit, read back, damage, retention.
 * No MPI: the store makes no MPI calls.
 * Usage: test_store WORKDIR.  WORKDIR/rt/snap-000007 is left in place for
 * the h5dump, h5ls and h5py tests that follow this one, and
 * WORKDIR/obs/observe/snap-00000{4,5}, two observation snapshots. */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "assert.h"
#include "mpisnap.h"
#include "store/store.h"

static char work[1024];

#define NU 1000
#define NN 17
#define NB 333
#define NBIG 300000 /* 2.4 MB of doubles: several 1 MiB chunks */

struct state {
    double u[NU];
    int n[NN];
    unsigned char blob[NB];
    double *big;
};

static void fill_state(struct state *s, int seed)
{
    for (int i = 0; i < NU; i++)
        s->u[i] = 0.5 * i + seed;
    for (int i = 0; i < NN; i++)
        s->n[i] = -i * 1000 + seed;
    for (int i = 0; i < NB; i++)
        s->blob[i] = (unsigned char)(i * 7 + seed);
    for (int i = 0; i < NBIG; i++)
        s->big[i] = 1.0 / (i + 1) + seed;
}

static void regions_of(struct state *s, struct ms__region r[5])
{
    memset(r, 0, 5 * sizeof *r);
    r[0] = (struct ms__region){"u", s->u, NU, MS_T_DOUBLE, sizeof s->u};
    r[1] = (struct ms__region){"n", s->n, NN, MS_T_INT, sizeof s->n};
    r[2] = (struct ms__region){"blob", s->blob, NB, MS_T_BYTES, NB};
    r[3] = (struct ms__region){"empty", NULL, 0, MS_T_DOUBLE, 0};
    r[4] = (struct ms__region){"big", s->big, NBIG, MS_T_DOUBLE,
                               NBIG * sizeof(double)};
}

static unsigned char pay0[] = "hello, in flight";
static unsigned char pay1[1000];
static int32_t world4[] = {0, 1, 2, 3}, world2[] = {3, 1};

static struct ms__msg msgs[] = {
    {7, 1, 42, 1, sizeof pay0, pay0},
    {7, 1, 42, 2, 0, NULL}, /* an empty message */
    {9, 0, -5, 12, sizeof pay1, pay1},
};
static struct ms__commrec comms[] = {
    {1, 0, 0, -1, 10, 4, world4, {0}},
    {9,
     1,
     3,
     2,
     0,
     2,
     world2,
     {0x1a2b, "MPI_Comm_split", "app", "0123abcd", "rows"}},
};
static struct ms__counter counters[] = {
    {1, 0, 42, 0, 5},
    {1, 3, 7, 1, 1ULL << 40},
    {9, 1, -1, 0, 0},
};

/* Rank 1 carries a trace (MPISNAP_TRACE=1), rank 0 none: no /trace. */
static struct ms__trace_ev trace1[] = {
    {1700000000.5, MS_EV_SEND, 0, 42, 0, 7, 1},
    {1700000000.75, MS_EV_CUT, -1, 0, 0, 0, 1234},
    {1700000001.0, MS_EV_MARKER_RECV, 0, -1, 0, 1, 0},
    {1700000001.25, MS_EV_RECV, 0, -5, 0, 9, 12},
};

static void rankdata(struct ms__rankdata *d, int rank, uint64_t id,
                     struct ms__region *r, size_t nr)
{
    memset(d, 0, sizeof *d);
    d->rank = rank;
    d->nranks = 2;
    d->snap_id = id;
    d->point = 1234;
    d->time = 1700000000.25;
    d->nregions = nr;
    d->regions = r;
    d->nmsgs = sizeof msgs / sizeof msgs[0];
    d->msgs = msgs;
    d->ncomms = sizeof comms / sizeof comms[0];
    d->comms = comms;
    d->ncounters = sizeof counters / sizeof counters[0];
    d->counters = counters;
    if (rank == 1) {
        d->ntrace = sizeof trace1 / sizeof trace1[0];
        d->trace = trace1;
    }
}

static void check_trace(const struct ms__rankdata *o, int rank)
{
    if (rank != 1) {
        ASSERT_EQ_U64(o->ntrace, 0);
        return;
    }
    ASSERT_EQ_U64(o->ntrace, sizeof trace1 / sizeof trace1[0]);
    for (size_t i = 0; i < o->ntrace; i++) {
        ASSERT_EQ_DBL(o->trace[i].t, trace1[i].t);
        ASSERT_EQ_INT(o->trace[i].kind, trace1[i].kind);
        ASSERT_EQ_INT(o->trace[i].peer, trace1[i].peer);
        ASSERT_EQ_INT(o->trace[i].tag, trace1[i].tag);
        ASSERT_EQ_U64(o->trace[i].comm_id, trace1[i].comm_id);
        ASSERT_EQ_U64(o->trace[i].pos, trace1[i].pos);
    }
}

static void rootdir(char *out, size_t n, const char *sub)
{
    char cmd[2048];

    snprintf(out, n, "%s/%s", work, sub);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    ASSERT_EQ_INT(system(cmd), 0);
}

/* Write the 2 rank files of a snapshot with regions from s0/s1 into its
 * partial directory; ix gets what the ranks would report. */
static void write_ranks(const char *root, uint64_t id, struct state *s0,
                        struct state *s1, struct ms__index *ix)
{
    struct ms__region r[5];
    struct ms__rankdata d;
    uint64_t sum, bytes;

    memset(ix, 0, sizeof *ix);
    ix->snap_id = id;
    ix->nranks = 2;
    ix->point = 1234;
    ix->t_start = 1.5;
    ix->t_end = 2.75;
    snprintf(ix->app, sizeof ix->app, "test_store");
    ix->checksums = calloc(2, sizeof *ix->checksums);
    ASSERT_EQ_INT(ms__store_begin(root, id), 0);
    for (int rank = 0; rank < 2; rank++) {
        regions_of(rank ? s1 : s0, r);
        rankdata(&d, rank, id, r, 5);
        ASSERT_EQ_INT(ms__store_write_rank(root, &d, &sum, &bytes), 0);
        ix->checksums[rank] = sum;
        ix->bytes += bytes;
        ix->nmsgs += d.nmsgs;
    }
}

/* Write a 2-rank snapshot with regions from s0/s1 and commit it. */
static void snapshot(const char *root, uint64_t id, struct state *s0,
                     struct state *s1, int keep, struct ms__index *ix)
{
    write_ranks(root, id, s0, s1, ix);
    ASSERT_EQ_INT(ms__store_commit(root, ix, keep), 0);
}

static void rankpath(char *out, size_t n, const char *root, uint64_t id,
                     int rank)
{
    char dir[1024];

    ms__store_snapdir(dir, sizeof dir, root, id, 0);
    snprintf(out, n, "%s/rank-%06d.h5", dir, rank);
}

static void test_checksum(void)
{
    static const struct {
        size_t len;
        int mul, add;
        uint64_t want;
    } v[] = {
        {0, 0, 0, 0xef46db3751d8e999ULL},
        {103, 7, 0, 0xc59307ab9d035cf4ULL},
        {(1 << 20) + 45, 13, 5, 0x3cdb1be81f1c39d5ULL},
    };
    char path[1100];
    uint64_t sum, bytes;

    snprintf(path, sizeof path, "%s/xxh.bin", work);
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        unsigned char *buf = malloc(v[k].len + 1);
        FILE *f = fopen(path, "wb");

        for (size_t i = 0; i < v[k].len; i++)
            buf[i] = (unsigned char)(i * v[k].mul + v[k].add);
        ASSERT_TRUE(f);
        ASSERT_EQ_U64(fwrite(buf, 1, v[k].len, f), v[k].len);
        fclose(f);
        ASSERT_EQ_INT(ms__store_file_checksum(path, &sum, &bytes), 0);
        ASSERT_EQ_U64(sum, v[k].want);
        ASSERT_EQ_U64(bytes, v[k].len);
        free(buf);
    }
    /* "abc": the xxHash specification's own example. */
    FILE *f = fopen(path, "wb");
    fputs("abc", f);
    fclose(f);
    ASSERT_EQ_INT(ms__store_file_checksum(path, &sum, &bytes), 0);
    ASSERT_EQ_U64(sum, 0x44bc2cf5ad770999ULL);
    unlink(path);
    ASSERT_EQ_INT(ms__store_file_checksum(path, &sum, &bytes), MPISNAP_ENOSNAP);
}

static void check_extras(const struct ms__rankdata *o)
{
    ASSERT_EQ_U64(o->nmsgs, 3);
    for (size_t i = 0; i < 3; i++) {
        ASSERT_EQ_U64(o->msgs[i].comm_id, msgs[i].comm_id);
        ASSERT_EQ_INT(o->msgs[i].source, msgs[i].source);
        ASSERT_EQ_INT(o->msgs[i].tag, msgs[i].tag);
        ASSERT_EQ_U64(o->msgs[i].pos, msgs[i].pos);
        ASSERT_EQ_U64(o->msgs[i].nbytes, msgs[i].nbytes);
        ASSERT_TRUE(o->msgs[i].data);
        ASSERT_MEMEQ(o->msgs[i].data, msgs[i].data ? msgs[i].data : pay0,
                     msgs[i].nbytes);
    }
    ASSERT_EQ_U64(o->ncomms, 2);
    for (size_t i = 0; i < 2; i++) {
        ASSERT_EQ_U64(o->comms[i].id, comms[i].id);
        ASSERT_EQ_U64(o->comms[i].parent, comms[i].parent);
        ASSERT_EQ_U64(o->comms[i].ordinal, comms[i].ordinal);
        ASSERT_EQ_INT(o->comms[i].color, comms[i].color);
        ASSERT_EQ_U64(o->comms[i].ncoll, comms[i].ncoll);
        ASSERT_EQ_INT(o->comms[i].size, comms[i].size);
        ASSERT_MEMEQ(o->comms[i].world, comms[i].world,
                     comms[i].size * sizeof(int32_t));
        ASSERT_MEMEQ(&o->comms[i].ident, &comms[i].ident,
                     sizeof comms[i].ident);
    }
    ASSERT_EQ_U64(o->ncounters, 3);
    for (size_t i = 0; i < 3; i++) {
        ASSERT_EQ_U64(o->counters[i].comm_id, counters[i].comm_id);
        ASSERT_EQ_INT(o->counters[i].peer, counters[i].peer);
        ASSERT_EQ_INT(o->counters[i].tag, counters[i].tag);
        ASSERT_EQ_INT(o->counters[i].dir, counters[i].dir);
        ASSERT_EQ_U64(o->counters[i].count, counters[i].count);
    }
}

static const struct ms__region *by_name(const struct ms__rankdata *o,
                                        const char *name)
{
    for (size_t i = 0; i < o->nregions; i++)
        if (strcmp(o->regions[i].name, name) == 0)
            return &o->regions[i];
    ASSERT_FAIL_("region %s not listed", name);
}

/* The `kind` attribute on / of an HDF5 file, read with HDF5 alone. */
static void expect_kind(const char *path, const char *want)
{
    char buf[32] = "";
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), a, t;

    ASSERT_TRUE(f >= 0);
    a = H5Aopen(f, "kind", H5P_DEFAULT);
    ASSERT_TRUE(a >= 0);
    t = H5Aget_type(a);
    ASSERT_TRUE(H5Tget_size(t) < sizeof buf);
    ASSERT_TRUE(H5Aread(a, t, buf) >= 0);
    H5Tclose(t);
    H5Aclose(a);
    H5Fclose(f);
    ASSERT_STREQ(buf, want);
}

/* Write, commit, read back every value. */
static void test_roundtrip(struct state *s0, struct state *s1,
                           struct state *got)
{
    char root[1100], path[2048], buf[64], err[256];
    struct ms__index ix, rix;
    struct ms__region want[5];
    struct ms__rankdata o;
    uint64_t *ids, sum, bytes;
    size_t n;
    int64_t hi;
    FILE *f;

    rootdir(root, sizeof root, "rt");
    ASSERT_EQ_INT(ms__store_scan(root, 1, &ids, &n, &hi), 0);
    ASSERT_EQ_U64(n, 0);
    ASSERT_EQ_INT(hi, -1);

    snapshot(root, 7, s0, s1, 3, &ix);
    ms__store_snapdir(path, sizeof path, root, 7, 1);
    ASSERT_TRUE(access(path, F_OK) != 0); /* the partial dir is gone */

    snprintf(path, sizeof path, "%s/latest", root);
    f = fopen(path, "r");
    ASSERT_TRUE(f && fgets(buf, sizeof buf, f));
    fclose(f);
    ASSERT_STREQ(buf, "snap-000007\n");

    ASSERT_EQ_INT(ms__store_read_index(root, 7, &rix), 0);
    ASSERT_EQ_U64(rix.snap_id, 7);
    ASSERT_EQ_INT(rix.nranks, 2);
    ASSERT_EQ_U64(rix.point, 1234);
    ASSERT_EQ_DBL(rix.t_start, 1.5);
    ASSERT_EQ_DBL(rix.t_end, 2.75);
    ASSERT_STREQ(rix.app, "test_store");
    ASSERT_EQ_U64(rix.bytes, ix.bytes);
    ASSERT_EQ_U64(rix.nmsgs, 6);
    ASSERT_EQ_INT(rix.observation, 0);
    ASSERT_TRUE(!rix.report && !rix.cycle && !rix.props);
    ASSERT_EQ_U64(rix.ncycle + rix.nprops, 0);
    snprintf(path, sizeof path, "%s/snap-000007/index.h5", root);
    expect_kind(path, "checkpoint");
    rankpath(path, sizeof path, root, 7, 0);
    expect_kind(path, "checkpoint");
    for (int r = 0; r < 2; r++) {
        ASSERT_EQ_U64(rix.checksums[r], ix.checksums[r]);
        rankpath(path, sizeof path, root, 7, r);
        ASSERT_EQ_INT(ms__store_file_checksum(path, &sum, &bytes), 0);
        ASSERT_EQ_U64(sum, ix.checksums[r]);
    }
    ms__store_free_index(&rix);
    ASSERT_EQ_INT(ms__store_read_index(root, 99, &rix), MPISNAP_ENOSNAP);
    ASSERT_TRUE(rix.checksums == NULL);

    for (int r = 0; r < 2; r++) {
        struct state *s = r ? s1 : s0;

        memset(got->u, 0, sizeof got->u);
        memset(got->n, 0, sizeof got->n);
        memset(got->blob, 0, sizeof got->blob);
        memset(got->big, 0, NBIG * sizeof(double));
        regions_of(got, want);
        ASSERT_EQ_INT(ms__store_read_rank(root, 7, r, ix.checksums[r], want, 5,
                                          &o, err, sizeof err),
                      0);
        ASSERT_MEMEQ(got->u, s->u, sizeof s->u);
        ASSERT_MEMEQ(got->n, s->n, sizeof s->n);
        ASSERT_MEMEQ(got->blob, s->blob, sizeof s->blob);
        ASSERT_MEMEQ(got->big, s->big, NBIG * sizeof(double));
        ASSERT_EQ_INT(o.rank, r);
        ASSERT_EQ_INT(o.nranks, 2);
        ASSERT_EQ_U64(o.snap_id, 7);
        ASSERT_EQ_U64(o.point, 1234);
        ASSERT_EQ_DBL(o.time, 1700000000.25);
        ASSERT_EQ_INT(o.observation, 0);
        ASSERT_EQ_U64(o.obs.nneeds + o.obs.ninflight, 0);
        ASSERT_EQ_U64(o.nregions, 5);
        ASSERT_TRUE(by_name(&o, "u")->base == got->u);
        check_extras(&o);
        check_trace(&o, r);
        ms__store_free_rankdata(&o);
        ASSERT_TRUE(o.trace == NULL && o.ntrace == 0);
    }

    /* want == NULL: regions listed, not read. */
    ASSERT_EQ_INT(ms__store_read_rank(root, 7, 1, ix.checksums[1], NULL, 0, &o,
                                      err, sizeof err),
                  0);
    ASSERT_EQ_U64(o.nregions, 5);
    ASSERT_EQ_INT(by_name(&o, "u")->etype, MS_T_DOUBLE);
    ASSERT_EQ_U64(by_name(&o, "u")->count, NU);
    ASSERT_EQ_U64(by_name(&o, "u")->bytes, NU * sizeof(double));
    ASSERT_EQ_INT(by_name(&o, "n")->etype, MS_T_INT);
    ASSERT_EQ_INT(by_name(&o, "blob")->etype, MS_T_BYTES);
    ASSERT_EQ_U64(by_name(&o, "blob")->bytes, NB);
    ASSERT_EQ_U64(by_name(&o, "empty")->count, 0);
    ASSERT_EQ_U64(by_name(&o, "big")->count, NBIG);
    for (size_t i = 0; i < o.nregions; i++)
        ASSERT_TRUE(o.regions[i].base == NULL);
    check_extras(&o);
    check_trace(&o, 1);
    ms__store_free_rankdata(&o);

    /* By path, without the index (the command-line tool's diagnostics). */
    rankpath(path, sizeof path, root, 7, 1);
    memset(got->u, 0, sizeof got->u);
    regions_of(got, want);
    ASSERT_EQ_INT(ms__store_read_rank_file(path, want, 5, &o, err, sizeof err),
                  0);
    ASSERT_MEMEQ(got->u, s1->u, sizeof s1->u);
    ASSERT_EQ_INT(o.rank, 1);
    ASSERT_EQ_U64(o.snap_id, 7);
    check_extras(&o);
    check_trace(&o, 1);
    ms__store_free_rankdata(&o);
    strcat(path, ".nope");
    ASSERT_EQ_INT(ms__store_read_rank_file(path, NULL, 0, &o, err, sizeof err),
                  MPISNAP_ENOSNAP);
    ASSERT_STRSTR(err, ".nope");
    free(ix.checksums);
    ASSERT_STREQ(ms__etype_name(MS_T_DOUBLE), "double");
    ASSERT_STREQ(ms__etype_name(MS_T_BYTES), "bytes");
    ASSERT_STREQ(ms__etype_name(-1), "unknown");
}

/* Read with want[] and expect code; the buffers must stay untouched. */
static void expect_fail(const char *root, uint64_t id, uint64_t sum,
                        struct ms__region *want, size_t nwant, int code,
                        const char *msg1, const char *msg2, struct state *got)
{
    struct ms__rankdata o;
    char err[256] = "";

    memset(got->u, 0xAB, sizeof got->u);
    memset(got->n, 0xAB, sizeof got->n);
    memset(got->blob, 0xAB, sizeof got->blob);
    memset(got->big, 0xAB, NBIG * sizeof(double));
    ASSERT_EQ_INT(
        ms__store_read_rank(root, id, 0, sum, want, nwant, &o, err, sizeof err),
        code);
    ASSERT_STRSTR(err, msg1);
    if (msg2)
        ASSERT_STRSTR(err, msg2);
    ASSERT_EQ_U64(o.nregions + o.nmsgs + o.ncomms + o.ncounters, 0);
    ASSERT_TRUE(!o.regions && !o.msgs && !o.comms && !o.counters);
    if (code != MPISNAP_ECORRUPT || !strstr(err, "region")) {
        for (size_t i = 0; i < NB; i++)
            ASSERT_EQ_INT(got->blob[i], 0xAB);
        for (size_t i = 0; i < NN; i++)
            ASSERT_EQ_INT((unsigned)got->n[i], 0xABABABABu);
        unsigned char *p = (unsigned char *)got->big;
        for (size_t i = 0; i < NBIG * sizeof(double); i++)
            ASSERT_EQ_INT(p[i], 0xAB);
        p = (unsigned char *)got->u;
        for (size_t i = 0; i < sizeof got->u; i++)
            ASSERT_EQ_INT(p[i], 0xAB);
    }
}

/* ---- observation snapshots ---- */

static struct ms__need needs0[] = {
    {MS_NEED_RECV, 1, 5, 0, 1, 0},
    {MS_NEED_RECV, -1, -1, 0, 9, 0}, /* MPI_ANY_SOURCE, MPI_ANY_TAG */
    {MS_NEED_COLL, -1, 0, 0, 1, 11},
};
static struct ms__need needs1[] = {
    {MS_NEED_SEND, 0, 7, 0, 1, 0},
};
static struct ms__counter inflight0[] = {
    {1, 1, 9, 1, 3},
    {9, 3, -5, 1, 1ULL << 33},
};
static int32_t cycle[] = {0, 1};
static struct ms__property props[] = {
    {"balance", MPISNAP_SUM, 1, 1000.0},
    {"lowest", MPISNAP_MIN, 0, -2.5},
    {"a-name-of-exactly-sixty-three-characters-0123456789abcdefghijkl",
     MPISNAP_MAX, 1, 1e300},
};
static const char report[] =
    "deadlock: ranks 0 and 1 wait for each other\n"
    "  rank 0 in MPI_Recv (10.5 s): from rank 1, tag 5\n"
    "  rank 1 in MPI_Ssend (9.25 s): to rank 0, tag 7\n";

static void obsrec(struct ms__rankdata *d, int rank)
{
    struct ms__obsrec *o = &d->obs;

    d->observation = 1;
    d->point = 0;
    snprintf(o->call, sizeof o->call, "%s", rank ? "MPI_Ssend" : "MPI_Recv");
    o->mode = rank;
    o->t_enter = 1700000000.125 + rank;
    o->waited = rank ? 9.25 : 10.5;
    o->nneeds = rank ? 1 : 3;
    o->needs = rank ? needs1 : needs0;
    o->ninflight = rank ? 0 : 2;
    o->inflight = rank ? NULL : inflight0;
}

static void check_obsrec(const struct ms__rankdata *o, int rank)
{
    struct ms__rankdata d;

    memset(&d, 0, sizeof d);
    obsrec(&d, rank);
    ASSERT_EQ_INT(o->observation, 1);
    ASSERT_EQ_U64(o->point, 0);
    ASSERT_STREQ(o->obs.call, d.obs.call);
    ASSERT_EQ_INT(o->obs.mode, d.obs.mode);
    ASSERT_EQ_DBL(o->obs.t_enter, d.obs.t_enter);
    ASSERT_EQ_DBL(o->obs.waited, d.obs.waited);
    ASSERT_EQ_U64(o->obs.nneeds, d.obs.nneeds);
    ASSERT_TRUE(o->obs.needs);
    for (size_t i = 0; i < d.obs.nneeds; i++) {
        ASSERT_EQ_INT(o->obs.needs[i].kind, d.obs.needs[i].kind);
        ASSERT_EQ_INT(o->obs.needs[i].peer, d.obs.needs[i].peer);
        ASSERT_EQ_INT(o->obs.needs[i].tag, d.obs.needs[i].tag);
        ASSERT_EQ_INT(o->obs.needs[i].pad, 0);
        ASSERT_EQ_U64(o->obs.needs[i].comm_id, d.obs.needs[i].comm_id);
        ASSERT_EQ_U64(o->obs.needs[i].ncoll, d.obs.needs[i].ncoll);
    }
    ASSERT_EQ_U64(o->obs.ninflight, d.obs.ninflight);
    ASSERT_TRUE(o->obs.inflight); /* empty: still an allocation */
    for (size_t i = 0; i < d.obs.ninflight; i++) {
        ASSERT_EQ_U64(o->obs.inflight[i].comm_id, d.obs.inflight[i].comm_id);
        ASSERT_EQ_INT(o->obs.inflight[i].peer, d.obs.inflight[i].peer);
        ASSERT_EQ_INT(o->obs.inflight[i].tag, d.obs.inflight[i].tag);
        ASSERT_EQ_INT(o->obs.inflight[i].dir, d.obs.inflight[i].dir);
        ASSERT_EQ_U64(o->obs.inflight[i].count, d.obs.inflight[i].count);
    }
}

/* Write a 2-rank observation into root (a $MPISNAP_DIR/observe). */
static void observation(const char *root, uint64_t id, struct state *s0,
                        const char *rep, struct ms__index *ix)
{
    struct ms__region r[5];
    struct ms__rankdata d;
    uint64_t sum, bytes;

    memset(ix, 0, sizeof *ix);
    ix->snap_id = id;
    ix->nranks = 2;
    ix->t_start = 1700000011.5;
    ix->t_end = 1700000011.75;
    snprintf(ix->app, sizeof ix->app, "test_store");
    ix->checksums = calloc(2, sizeof *ix->checksums);
    ix->observation = 1;
    snprintf(ix->verdict, sizeof ix->verdict, "deadlock");
    ix->report = (char *)rep;
    ix->ncycle = 2;
    ix->cycle = cycle;
    ix->nprops = sizeof props / sizeof props[0];
    ix->props = props;
    ASSERT_EQ_INT(ms__store_begin(root, id), 0);
    for (int rank = 0; rank < 2; rank++) {
        regions_of(s0, r);
        rankdata(&d, rank, id, r, 5);
        obsrec(&d, rank);
        ASSERT_EQ_INT(ms__store_write_rank(root, &d, &sum, &bytes), 0);
        ix->checksums[rank] = sum;
        ix->bytes += bytes;
        ix->nmsgs += d.nmsgs;
    }
    ASSERT_EQ_INT(ms__store_commit(root, ix, 2), 0);
}

static void test_observation(struct state *s0, struct state *got)
{
    char root[1100], path[2048], err[256] = "";
    struct ms__index ix, rix;
    struct ms__region want[5];
    struct ms__rankdata o;
    char *big;

    rootdir(root, sizeof root, "obs/observe");
    observation(root, 4, s0, report, &ix);
    ASSERT_EQ_INT(ms__store_read_index(root, 4, &rix), 0);
    ASSERT_EQ_INT(rix.observation, 1);
    ASSERT_EQ_U64(rix.snap_id, 4);
    ASSERT_EQ_U64(rix.point, 0);
    ASSERT_EQ_U64(rix.nmsgs, 6);
    ASSERT_STREQ(rix.verdict, "deadlock");
    ASSERT_STREQ(rix.report, report);
    ASSERT_EQ_U64(rix.ncycle, 2);
    ASSERT_EQ_INT(rix.cycle[0], 0);
    ASSERT_EQ_INT(rix.cycle[1], 1);
    ASSERT_EQ_U64(rix.nprops, 3);
    for (size_t i = 0; i < 3; i++) {
        ASSERT_STREQ(rix.props[i].name, props[i].name);
        ASSERT_EQ_INT(rix.props[i].op, props[i].op);
        ASSERT_EQ_INT(rix.props[i].complete, props[i].complete);
        ASSERT_EQ_DBL(rix.props[i].value, props[i].value);
    }
    ASSERT_STREQ(ms__property_op_name(rix.props[1].op), "min");
    ms__store_free_index(&rix);
    ASSERT_TRUE(!rix.checksums && !rix.report && !rix.cycle && !rix.props);
    snprintf(path, sizeof path, "%s/snap-000004/index.h5", root);
    expect_kind(path, "observation");
    rankpath(path, sizeof path, root, 4, 1);
    expect_kind(path, "observation");

    /* A restart must refuse it, before touching any region. */
    regions_of(got, want);
    expect_fail(root, 4, ix.checksums[0], want, 5, MPISNAP_EMISMATCH,
                "snapshot 4 is an observation snapshot: it cannot be restored",
                NULL, got);
    ASSERT_EQ_INT(ms__store_read_rank(root, 4, 1, ix.checksums[1], NULL, 0, &o,
                                      err, sizeof err),
                  MPISNAP_EMISMATCH);
    ASSERT_STREQ(
        err, "snapshot 4 is an observation snapshot: it cannot be restored");

    /* The tool reads it by path: everything, /observe included. */
    for (int r = 0; r < 2; r++) {
        rankpath(path, sizeof path, root, 4, r);
        ASSERT_EQ_INT(
            ms__store_read_rank_file(path, NULL, 0, &o, err, sizeof err), 0);
        ASSERT_EQ_INT(o.rank, r);
        ASSERT_EQ_U64(o.nregions, 5);
        check_extras(&o);
        check_trace(&o, r);
        check_obsrec(&o, r);
        ms__store_free_rankdata(&o);
        ASSERT_TRUE(!o.obs.needs && !o.obs.inflight && !o.observation);
    }
    free(ix.checksums);

    /* A report too long for an attribute is cut, not refused; an empty
     * cycle and no properties are empty datasets. */
    big = malloc(100000);
    memset(big, 'x', 99999);
    big[99999] = '\0';
    observation(root, 5, s0, big, &ix);
    free(ix.checksums);
    ASSERT_EQ_INT(ms__store_read_index(root, 5, &rix), 0);
    ASSERT_EQ_U64(strlen(rix.report), MS_REPORT_MAX);
    ASSERT_STREQ(rix.report + MS_REPORT_MAX - 4, "...\n");
    ms__store_free_index(&rix);
    free(big);
}

static void test_mismatch(struct state *s0, struct state *got)
{
    char root[1100];
    struct ms__index ix;
    struct ms__region want[5];

    rootdir(root, sizeof root, "mm");
    snapshot(root, 3, s0, s0, 1, &ix);

    regions_of(got, want);
    want[0].count = NU - 1;
    expect_fail(root, 3, ix.checksums[0], want, 5, MPISNAP_EMISMATCH,
                "region 'u'",
                "expected double[999], snapshot has "
                "double[1000]",
                got);
    regions_of(got, want);
    want[1].etype = MS_T_FLOAT;
    expect_fail(root, 3, ix.checksums[0], want, 5, MPISNAP_EMISMATCH,
                "region 'n'", "expected float[17], snapshot has int[17]", got);
    regions_of(got, want);
    snprintf(want[2].name, sizeof want[2].name, "blub");
    expect_fail(root, 3, ix.checksums[0], want, 5, MPISNAP_EMISMATCH,
                "region 'blub' is not in the snapshot", NULL, got);
    regions_of(got, want);
    expect_fail(root, 3, ix.checksums[0], want, 4, MPISNAP_EMISMATCH,
                "region 'big' is in the snapshot but not protected", NULL, got);
    regions_of(got, want);
    expect_fail(root, 4, ix.checksums[0], want, 5, MPISNAP_ENOSNAP, "not found",
                NULL, got);
    free(ix.checksums);
}

/* Flip one byte of a file at the first occurrence of pat (or at off). */
static long flip(const char *path, const void *pat, size_t patlen, long off)
{
    struct stat st;
    unsigned char *buf, *hit;
    FILE *f;

    ASSERT_EQ_INT(stat(path, &st), 0);
    buf = malloc(st.st_size);
    f = fopen(path, "r+b");
    ASSERT_TRUE(f);
    ASSERT_EQ_U64(fread(buf, 1, st.st_size, f), (uint64_t)st.st_size);
    if (pat) {
        hit = memmem(buf, st.st_size, pat, patlen);
        ASSERT_TRUE(hit);
        off = (long)(hit - buf) + 3;
    }
    buf[off] ^= 0x10;
    fseek(f, off, SEEK_SET);
    fputc(buf[off], f);
    fclose(f);
    free(buf);
    return off;
}

static void test_damage(struct state *s0, struct state *got)
{
    char root[1100], path[2048];
    struct ms__index ix;
    struct ms__region want[5];
    struct stat st;
    uint64_t sum, bytes;
    long off;

    rootdir(root, sizeof root, "dmg");
    snapshot(root, 5, s0, s0, 1, &ix);
    rankpath(path, sizeof path, root, 5, 0);
    regions_of(got, want);

    /* One flipped byte: the whole-file checksum catches it. */
    off = flip(path, NULL, 0, 4000);
    expect_fail(root, 5, ix.checksums[0], want, 5, MPISNAP_ECORRUPT,
                "rank-000000.h5: checksum mismatch (file damaged)", NULL, got);
    flip(path, NULL, 0, off); /* undo */
    ASSERT_EQ_INT(ms__store_file_checksum(path, &sum, &bytes), 0);
    ASSERT_EQ_U64(sum, ix.checksums[0]);

    /* Damage inside a region with the index updated to match: then the
     * Fletcher-32 filter must catch it. */
    flip(path, s0->big + 1000, 64, 0);
    ASSERT_EQ_INT(ms__store_file_checksum(path, &sum, &bytes), 0);
    expect_fail(root, 5, sum, want, 5, MPISNAP_ECORRUPT, "region 'big'",
                "rank-000000.h5", got);

    /* Truncated file. */
    rankpath(path, sizeof path, root, 5, 1);
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(truncate(path, st.st_size / 2), 0);
    ASSERT_EQ_INT(ms__store_file_checksum(path, &sum, &bytes), 0);
    ASSERT_EQ_U64(bytes, (uint64_t)st.st_size / 2);
    {
        struct ms__rankdata o;
        char err[256] = "";

        ASSERT_EQ_INT(ms__store_read_rank(root, 5, 1, ix.checksums[1], want, 5,
                                          &o, err, sizeof err),
                      MPISNAP_ECORRUPT);
        ASSERT_STRSTR(err, "rank-000001.h5: checksum mismatch");
        /* Even with a matching checksum, HDF5 must refuse it cleanly. */
        ASSERT_EQ_INT(
            ms__store_read_rank(root, 5, 1, sum, NULL, 0, &o, err, sizeof err),
            MPISNAP_ECORRUPT);
        ASSERT_STRSTR(err, "rank-000001.h5: ");
        ASSERT_TRUE(o.regions == NULL);
    }
    free(ix.checksums);
}

/* A file from a newer format version is refused with EVERSION. */
static void test_version(struct state *s0, struct state *got)
{
    char root[1100], path[2048];
    struct ms__index ix;
    struct ms__region want[5];
    uint64_t sum, bytes;
    int32_t v = MPISNAP_FORMAT_VERSION + 1;
    hid_t f, a;

    rootdir(root, sizeof root, "ver");
    snapshot(root, 2, s0, s0, 1, &ix);
    rankpath(path, sizeof path, root, 2, 0);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_TRUE(f >= 0);
    a = H5Aopen(f, "format_version", H5P_DEFAULT);
    ASSERT_TRUE(a >= 0);
    ASSERT_TRUE(H5Awrite(a, H5T_NATIVE_INT32, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
    ASSERT_EQ_INT(ms__store_file_checksum(path, &sum, &bytes), 0);
    regions_of(got, want);
    expect_fail(root, 2, sum, want, 5, MPISNAP_EVERSION, "format version 2",
                NULL, got);
    free(ix.checksums);
}

static void expect_ids(const char *root, const uint64_t *want, size_t n,
                       int64_t highest)
{
    uint64_t *ids;
    size_t nids;
    int64_t hi;

    ASSERT_EQ_INT(ms__store_scan(root, 0, &ids, &nids, &hi), 0);
    ASSERT_EQ_U64(nids, n);
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ_U64(ids[i], want[i]);
    ASSERT_EQ_INT(hi, highest);
    free(ids);
}

static void test_retention(struct state *s0)
{
    char root[1100], path[2048];
    struct ms__index ix;
    struct ms__region r[5];
    struct ms__rankdata d;
    uint64_t sum, bytes, *ids;
    size_t nids;
    int64_t hi;

    rootdir(root, sizeof root, "keep");
    for (uint64_t id = 1; id <= 5; id++) {
        snapshot(root, id, s0, s0, 2, &ix);
        free(ix.checksums);
    }
    expect_ids(root, (uint64_t[]){5, 4}, 2, 5);
    for (uint64_t id = 1; id <= 3; id++) {
        ms__store_snapdir(path, sizeof path, root, id, 0);
        ASSERT_TRUE(access(path, F_OK) != 0);
        ms__store_snapdir(path, sizeof path, root, id, 1);
        ASSERT_TRUE(access(path, F_OK) != 0);
    }

    /* keep 0 means 1: never the one just committed. */
    snapshot(root, 6, s0, s0, 0, &ix);
    free(ix.checksums);
    expect_ids(root, (uint64_t[]){6}, 1, 6);

    /* Stale partials count for the highest id and go when asked. */
    ASSERT_EQ_INT(ms__store_begin(root, 9), 0);
    regions_of(s0, r);
    rankdata(&d, 0, 9, r, 5);
    ASSERT_EQ_INT(ms__store_write_rank(root, &d, &sum, &bytes), 0);
    ASSERT_EQ_INT(ms__store_begin(root, 8), 0);
    expect_ids(root, (uint64_t[]){6}, 1, 9);
    ASSERT_EQ_INT(ms__store_scan(root, 1, &ids, &nids, &hi), 0);
    ASSERT_EQ_U64(nids, 1);
    ASSERT_EQ_U64(ids[0], 6);
    ASSERT_EQ_INT(hi, 9);
    free(ids);
    ms__store_snapdir(path, sizeof path, root, 9, 1);
    ASSERT_TRUE(access(path, F_OK) != 0);
    expect_ids(root, (uint64_t[]){6}, 1, 6);

    /* Discard removes a partial; a second discard is no error. */
    ASSERT_EQ_INT(ms__store_begin(root, 10), 0);
    ASSERT_EQ_INT(ms__store_discard(root, 10), 0);
    ms__store_snapdir(path, sizeof path, root, 10, 1);
    ASSERT_TRUE(access(path, F_OK) != 0);
    ASSERT_EQ_INT(ms__store_discard(root, 10), 0);

    /* Committing without a partial directory fails and changes nothing. */
    ix.snap_id = 11;
    ix.nranks = 1;
    ix.checksums = &sum;
    ASSERT_EQ_INT(ms__store_commit(root, &ix, 1), MPISNAP_ENOSNAP);
    expect_ids(root, (uint64_t[]){6}, 1, 6);
}

static void test_bad_write(struct state *s0)
{
    char root[1100], path[2048];
    struct ms__region r[5];
    struct ms__rankdata d;
    uint64_t sum, bytes;

    rootdir(root, sizeof root, "bad");
    ASSERT_EQ_INT(ms__store_begin(root, 1), 0);
    regions_of(s0, r);
    snprintf(r[1].name, sizeof r[1].name, "a/b");
    rankdata(&d, 0, 1, r, 5);
    ASSERT_EQ_INT(ms__store_write_rank(root, &d, &sum, &bytes), MPISNAP_EINVAL);
    ASSERT_STRSTR(ms__store_lasterr(), "'a/b'");
    ms__store_snapdir(path, sizeof path, root, 1, 1);
    strcat(path, "/rank-000000.h5");
    ASSERT_TRUE(access(path, F_OK) != 0);
    /* No partial directory: HDF5's message reaches lasterr. */
    regions_of(s0, r);
    rankdata(&d, 0, 2, r, 5);
    ASSERT_EQ_INT(ms__store_write_rank(root, &d, &sum, &bytes), MPISNAP_EIO);
    ASSERT_STRSTR(ms__store_lasterr(), "create ");
}

/* Commit checks every rank file against what its rank reported: a file
 * missing (its directory removed and re-created while the ranks wrote),
 * foreign (another snapshot's) or not a regular file is never committed. */
static void test_commit_checks(struct state *s0, struct state *s1)
{
    char root[1100], part[2048], path[2100], other[2100];
    struct ms__index ix, ox;

    rootdir(root, sizeof root, "cc");
    snapshot(root, 1, s0, s1, 5, &ox); /* a good one stays */
    free(ox.checksums);

    write_ranks(root, 2, s0, s1, &ix);
    ms__store_snapdir(part, sizeof part, root, 2, 1);
    snprintf(path, sizeof path, "%s/rank-000001.h5", part);
    ASSERT_EQ_INT(unlink(path), 0);
    ASSERT_EQ_INT(ms__store_commit(root, &ix, 1), MPISNAP_EIO);
    ASSERT_STRSTR(ms__store_lasterr(), "rank-000001.h5 is missing");
    expect_ids(root, (uint64_t[]){1}, 1, 2);
    ASSERT_EQ_INT(access(part, F_OK), 0); /* left for the caller's discard */

    /* Rank 1's file of snapshot 1 in its place: same rank, other bytes. */
    rankpath(other, sizeof other, root, 1, 1);
    {
        char cmd[4400];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", other, path);
        ASSERT_EQ_INT(system(cmd), 0);
    }
    ASSERT_EQ_INT(ms__store_commit(root, &ix, 1), MPISNAP_EIO);
    ASSERT_STRSTR(ms__store_lasterr(),
                  "rank-000001.h5 is not the file rank 1 wrote");
    expect_ids(root, (uint64_t[]){1}, 1, 2);

    /* A symlink to the right file is not the file either. */
    ASSERT_EQ_INT(unlink(path), 0);
    ASSERT_EQ_INT(symlink(other, path), 0);
    ASSERT_TRUE(ms__store_commit(root, &ix, 1) < 0);
    expect_ids(root, (uint64_t[]){1}, 1, 2);
    free(ix.checksums);
}

/* Once renamed, a snapshot is committed whatever fails after: `latest`
 * that cannot be replaced (here a directory) is reported with 1, never as
 * a failure, and retention still runs. */
static void test_latest_fails(struct state *s0, struct state *s1)
{
    char root[1100], path[2048];
    struct ms__index ix, rix;

    rootdir(root, sizeof root, "lat");
    snapshot(root, 1, s0, s1, 1, &ix);
    free(ix.checksums);
    snprintf(path, sizeof path, "%s/latest", root);
    ASSERT_EQ_INT(unlink(path), 0);
    ASSERT_EQ_INT(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/latest/x", root);
    ASSERT_EQ_INT(mkdir(path, 0777), 0);
    write_ranks(root, 2, s0, s1, &ix);
    ASSERT_EQ_INT(ms__store_commit(root, &ix, 1), 1);
    ASSERT_STRSTR(ms__store_lasterr(), "latest not updated");
    expect_ids(root, (uint64_t[]){2}, 1, 2); /* committed, 1 retired */
    ASSERT_EQ_INT(ms__store_read_index(root, 2, &rix), 0);
    ASSERT_EQ_U64(rix.checksums[1], ix.checksums[1]);
    ms__store_free_index(&rix);
    free(ix.checksums);
}

/* Write `text` to path (a victim file). */
static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ASSERT_TRUE(f != NULL);
    fputs(text, f);
    ASSERT_EQ_INT(fclose(f), 0);
}

static void expect_content(const char *path, const char *text)
{
    char buf[64] = "";
    FILE *f = fopen(path, "r");

    ASSERT_TRUE(f != NULL);
    ASSERT_TRUE(fgets(buf, sizeof buf, f) != NULL);
    fclose(f);
    ASSERT_STREQ(buf, text);
}

/* Writing never follows a symlink planted in the directory, nor writes into
 * a partial directory someone else made (issue 11 #8). */
static void test_no_follow(struct state *s0, struct state *s1)
{
    char root[1100], victim[1200], path[2100], part[2048], elsewhere[1200];
    struct ms__region r[5];
    struct ms__rankdata d;
    struct ms__index ix;
    uint64_t sum, bytes;

    rootdir(root, sizeof root, "nofollow");
    ASSERT_EQ_INT(mkdir(root, 0755), 0);
    snprintf(victim, sizeof victim, "%s/victim", root);
    put(victim, "victim\n");

    /* .latest.tmp planted as a symlink: replaced, the victim untouched. */
    snprintf(path, sizeof path, "%s/.latest.tmp", root);
    ASSERT_EQ_INT(symlink(victim, path), 0);
    snapshot(root, 1, s0, s1, 5, &ix);
    free(ix.checksums);
    expect_content(victim, "victim\n");
    snprintf(path, sizeof path, "%s/latest", root);
    expect_content(path, "snap-000001\n");

    /* A symlink planted as a future rank file: the write fails, the victim
     * and the symlink stay as they were. */
    ASSERT_EQ_INT(ms__store_begin(root, 2), 0);
    ms__store_snapdir(part, sizeof part, root, 2, 1);
    snprintf(path, sizeof path, "%s/rank-000001.h5", part);
    ASSERT_EQ_INT(symlink(victim, path), 0);
    regions_of(s1, r);
    rankdata(&d, 1, 2, r, 5);
    ASSERT_EQ_INT(ms__store_write_rank(root, &d, &sum, &bytes), MPISNAP_EIO);
    ASSERT_STRSTR(ms__store_lasterr(), "rank-000001.h5: File exists");
    expect_content(victim, "victim\n");
    ASSERT_EQ_INT(access(path, F_OK), 0);

    /* A partial directory planted as a symlink to another directory, or
     * writable by others: nothing is written there. */
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", root);
    ASSERT_EQ_INT(mkdir(elsewhere, 0755), 0);
    ms__store_snapdir(part, sizeof part, root, 3, 1);
    ASSERT_EQ_INT(symlink(elsewhere, part), 0);
    ASSERT_EQ_INT(ms__store_begin(root, 3), MPISNAP_EIO);
    ASSERT_STRSTR(ms__store_lasterr(), "was not made by this job");
    ms__store_snapdir(part, sizeof part, root, 4, 1);
    ASSERT_EQ_INT(mkdir(part, 0755), 0);
    ASSERT_EQ_INT(chmod(part, 0777), 0);
    ASSERT_EQ_INT(ms__store_begin(root, 4), MPISNAP_EIO);
    ASSERT_STRSTR(ms__store_lasterr(), "mode 777");
    if (geteuid() == 0) { /* another user's directory */
        ASSERT_EQ_INT(chmod(part, 0755), 0);
        ASSERT_EQ_INT(chown(part, 65534, 65534), 0);
        ASSERT_EQ_INT(ms__store_begin(root, 4), MPISNAP_EIO);
        ASSERT_STRSTR(ms__store_lasterr(), "owner uid 65534");
    }
    ASSERT_EQ_INT(ms__store_begin(root, 5), 0); /* a fresh one is fine */
}

/* The lock on a root (issue 11 #2): held by another process, refused with
 * its line; left by a process that died, taken over; removed on unlock;
 * another user's held lock (which this user cannot open for writing)
 * refused too. */
static void test_lock(void)
{
    char root[1100], path[1200], other[256];
    int go[2], hold[2], status;
    pid_t child;

    rootdir(root, sizeof root, "lock");
    snprintf(path, sizeof path, "%s/lock", root);
    ASSERT_EQ_INT(pipe(go), 0);
    ASSERT_EQ_INT(pipe(hold), 0);
    child = fork();
    ASSERT_TRUE(child >= 0);
    if (child == 0) {
        /* The first job: locks, then waits until killed (or until this
         * test ends: the read returns when the parent's end closes). */
        char c = ms__store_lock(root, "job A", other, sizeof other) == 0;

        close(hold[1]);
        if (write(go[1], &c, 1) != 1 || read(hold[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    {
        char c = 0;
        ASSERT_EQ_INT((int)read(go[0], &c, 1), 1);
        ASSERT_EQ_INT(c, 1);
    }
    ASSERT_EQ_INT(ms__store_lock(root, "job B", other, sizeof other), 1);
    ASSERT_STREQ(other, "job A");
    if (geteuid() == 0) { /* another user cannot open it for writing */
        pid_t u = fork();
        ASSERT_TRUE(u >= 0);
        if (u == 0) {
            char o[256] = "";
            int rc;
            if (setgid(65534) < 0 || setuid(65534) < 0)
                _exit(3);
            rc = ms__store_lock(root, "job C", o, sizeof o);
            _exit(rc == 1 && strcmp(o, "job A") == 0 ? 0 : 4);
        }
        ASSERT_EQ_INT(waitpid(u, &status, 0), u);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ_INT(WEXITSTATUS(status), 0);
    }
    /* Job A dies holding it: the file stays, naming it; B takes it over. */
    ASSERT_EQ_INT(kill(child, SIGKILL), 0);
    ASSERT_EQ_INT(waitpid(child, &status, 0), child);
    ASSERT_EQ_INT(access(path, F_OK), 0);
    ASSERT_EQ_INT(ms__store_lock(root, "job B", other, sizeof other), 0);
    ASSERT_STREQ(other, "job A");
    ms__store_unlock();
    ASSERT_TRUE(access(path, F_OK) != 0); /* ended normally: removed */
    ASSERT_EQ_INT(ms__store_lock(root, "job B", other, sizeof other), 0);
    ASSERT_STREQ(other, "");
    ms__store_unlock();
    close(go[0]);
    close(go[1]);
    close(hold[0]);
    close(hold[1]);
}

int main(int argc, char **argv)
{
    struct state *s0 = calloc(1, sizeof *s0), *s1 = calloc(1, sizeof *s1);
    struct state *got = calloc(1, sizeof *got);

    snprintf(work, sizeof work, "%s", argc > 1 ? argv[1] : "store-test");
    mkdir(work, 0777);
    s0->big = malloc(NBIG * sizeof(double));
    s1->big = malloc(NBIG * sizeof(double));
    got->big = malloc(NBIG * sizeof(double));
    fill_state(s0, 0);
    fill_state(s1, 100);
    for (size_t i = 0; i < sizeof pay1; i++)
        pay1[i] = (unsigned char)(i ^ 0x5A);

    test_checksum();
    test_roundtrip(s0, s1, got);
    test_mismatch(s0, got);
    test_damage(s0, got);
    test_version(s0, got);
    test_observation(s0, got);
    test_retention(s0);
    test_bad_write(s0);
    test_commit_checks(s0, s1);
    test_latest_fails(s0, s1);
    test_no_follow(s0, s1);
    test_lock();

    free(s0->big);
    free(s1->big);
    free(got->big);
    free(s0);
    free(s1);
    free(got);
    printf("test_store: all passed\n");
    return 0;
}
