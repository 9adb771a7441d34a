/* bench_snapshot_cost: what one snapshot costs the ranks, per state size.
 *
 * For each state size (default 1, 16, 64, 256 MiB per rank) the program
 * takes several snapshots and measures, on every rank:
 *
 *   (a) record: the time spent in the mpisnap_point() call that records
 *       (the one that returns 1: markers sent, protected regions copied to
 *       a staging buffer), against a plain memcpy of the same bytes into a
 *       warm buffer, and into a freshly malloc'd one (what the library's
 *       staging buffer is), measured in the same run;
 *   (b) write: the time of the later mpisnap_point() call that writes the
 *       rank file (HDF5, fsync, read-back checksum), as MB/s of state,
 *       against `dd if=/dev/zero of=DIR/ddtest-R bs=1M count=SIZE
 *       conv=fdatasync` run by every rank at the same time (both ranks
 *       write their snapshot files at the same time too), and by rank 0
 *       alone.
 *
 * Snapshots are scheduled with MPISNAP_EVERY (set by the program before
 * MPI_Init): every rank records at the same safe point and no agreement
 * round is involved.  The ranks call mpisnap_point() in lock-step (an
 * MPI_Allreduce outside the timed region after each point) until the
 * snapshot is committed everywhere, then up to the next recording point.
 *
 * mpisnap_protect() cannot be undone, so sizes grow by protecting one more
 * region: sizes 1,16,64 make regions of 1, 15 and 48 MiB, and the snapshot
 * at "64" holds all three.  `--sizes 256` alone gives a single region.
 *
 * Where the write point's time goes: the program defines H5Fcreate, fsync,
 * posix_fadvise, rename and remove, which the dynamic linker binds in
 * preference to the HDF5/libc ones for libmpisnap.so as well; each wrapper
 * timestamps the call (only inside a timed point) and forwards it
 * (dlsym RTLD_NEXT).  The rank file's H5Fcreate starts the write, its fsync
 * follows the HDF5 write, posix_fadvise starts the read-back checksum;
 * index.h5's H5Fcreate starts rank 0's commit.
 *
 * All times are MPI_Wtime.  Medians are over ranks x repetitions.  The
 * timing targets are printed, never asserted: the exit status says only
 * whether every snapshot recorded and committed.  Lines starting with
 * RESULT are for scripts. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mpi.h>
#include <mpisnap.h>

#define MIB (1024.0 * 1024.0)
#define MAX_SIZES 16
#define MAX_POINTS 10000 /* per repetition, before giving up */

/* ------------------------------------------------------------ options */

struct opts {
    int sizes[MAX_SIZES]; /* MiB, ascending */
    int nsizes;
    int reps, warmup, every, keep, quick, dd, keep_files, trace;
    const char *dir;
};

static void usage(FILE *f)
{
    fputs(
        "NAME\n"
        "    bench_snapshot_cost - cost of one mpisnap snapshot per state "
        "size\n"
        "\n"
        "SYNOPSIS\n"
        "    mpiexec -n 2 bench_snapshot_cost [OPTION]...\n"
        "\n"
        "DESCRIPTION\n"
        "    For each state size, takes REPS snapshots (after WARMUP ones\n"
        "    that are not counted) and prints, as medians over ranks x\n"
        "    repetitions:\n"
        "      A. the time a rank is blocked in the mpisnap_point() call that\n"
        "         records (returns 1), against memcpy of the same bytes into\n"
        "         a warm buffer and into a fresh malloc'd one;\n"
        "      B. the time of the later point that writes the rank file, as\n"
        "         MB/s of state, against dd conv=fdatasync of the same size\n"
        "         in the same directory, by all ranks at once and by rank 0\n"
        "         alone (ratio target >= 0.9 of dd);\n"
        "      C. where the write point's time goes (HDF5 write, fsync,\n"
        "         read-back checksum) and rank 0's commit.\n"
        "    Sizes grow by protecting one more region per size (protect\n"
        "    cannot be undone); a single size gives a single region.\n"
        "    Timing targets are printed, never asserted.\n"
        "\n"
        "OPTIONS\n"
        "    --sizes LIST   state sizes in MiB per rank, comma separated\n"
        "                   (default 1,16,64,256)\n"
        "    --reps N       measured snapshots per size (default 3)\n"
        "    --warmup N     uncounted snapshots per size first (default 1)\n"
        "    --every N      MPISNAP_EVERY: safe points per snapshot cycle\n"
        "                   (default 16; raised automatically if a snapshot\n"
        "                   needs more points)\n"
        "    --dir DIR      MPISNAP_DIR, also where dd writes (default\n"
        "                   ./bench-snapshot-cost.d, removed at the end)\n"
        "    --keep N       MPISNAP_KEEP (default 2)\n"
        "    --no-dd        skip the dd comparison\n"
        "    --keep-files   leave DIR in place\n"
        "    --trace        print every timed point's events (rank 0)\n"
        "    --quick        smoke run: --sizes 1 --reps 2 --warmup 0\n"
        "    -h, --help     show this help\n"
        "\n"
        "ENVIRONMENT\n"
        "    The program sets MPISNAP_EVERY, MPISNAP_DIR, MPISNAP_KEEP and\n"
        "    MPISNAP_RESTART=never itself, before MPI_Init.\n"
        "\n"
        "OUTPUT\n"
        "    Three tables on rank 0, then RESULT lines (one per size) for\n"
        "    scripts.  Exit status 0 when every snapshot recorded and\n"
        "    committed, 1 otherwise, 2 on bad arguments.\n",
        f);
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int parse_sizes(const char *s, struct opts *o)
{
    char *end;

    o->nsizes = 0;
    while (*s) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 65536 || o->nsizes == MAX_SIZES ||
            (*end && *end != ','))
            return -1;
        o->sizes[o->nsizes++] = (int)v;
        s = *end ? end + 1 : end;
    }
    if (!o->nsizes)
        return -1;
    qsort(o->sizes, (size_t)o->nsizes, sizeof *o->sizes, cmp_int);
    for (int i = 1; i < o->nsizes; i++)
        if (o->sizes[i] == o->sizes[i - 1])
            return -1;
    return 0;
}

static int parse_int(const char *s, int min, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (end == s || *end || v < min || v > 1000000)
        return -1;
    *out = (int)v;
    return 0;
}

/* 0 run, 1 help shown, 2 bad arguments. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    o->reps = 3;
    o->warmup = 1;
    o->every = 16;
    o->keep = 2;
    o->dd = 1;
    o->dir = "bench-snapshot-cost.d";
    parse_sizes("1,16,64,256", o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;

        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return 1;
        else if (!strcmp(a, "--quick")) {
            o->quick = 1;
            parse_sizes("1", o);
            o->reps = 2;
            o->warmup = 0;
        } else if (!strcmp(a, "--no-dd"))
            o->dd = 0;
        else if (!strcmp(a, "--keep-files"))
            o->keep_files = 1;
        else if (!strcmp(a, "--trace"))
            o->trace = 1;
        else if (v && !strcmp(a, "--sizes"))
            bad = parse_sizes(v, o), i++;
        else if (v && !strcmp(a, "--reps"))
            bad = parse_int(v, 1, &o->reps), i++;
        else if (v && !strcmp(a, "--warmup"))
            bad = parse_int(v, 0, &o->warmup), i++;
        else if (v && !strcmp(a, "--every"))
            bad = parse_int(v, 4, &o->every), i++;
        else if (v && !strcmp(a, "--keep"))
            bad = parse_int(v, 1, &o->keep), i++;
        else if (v && !strcmp(a, "--dir"))
            o->dir = v, i++;
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "bench_snapshot_cost: bad argument '%s%s%s'\n", a,
                    v ? " " : "", v ? v : "");
            return 2;
        }
    }
    return 0;
}

/* ------------------------------------------- interposed calls (timeline) */

enum ev_kind {
    EV_CREATE_RANK,  /* H5Fcreate of rank-NNNNNN.h5: the write starts */
    EV_CREATE_INDEX, /* H5Fcreate of index.h5: rank 0's commit starts */
    EV_CREATE_OTHER,
    EV_FSYNC_RANK,  /* fsync of the rank file */
    EV_FSYNC_OTHER, /* index.h5, directories, latest */
    EV_FADVISE,     /* the read-back checksum starts */
    EV_RENAME,
    EV_REMOVE, /* retention: old snapshots */
    EV_NKINDS
};
static const char *const ev_name[EV_NKINDS] = {
    "H5Fcreate(rank)", "H5Fcreate(index)", "H5Fcreate(other)", "fsync(rank)",
    "fsync(other)",    "posix_fadvise",    "rename",           "remove"};

struct event {
    enum ev_kind kind;
    double t0, t1;
};

#define MAX_EVENTS 256
static struct event events[MAX_EVENTS];
static int nevents, tracing, interposed;

static void ev_add(enum ev_kind k, double t0, double t1)
{
    if (nevents < MAX_EVENTS)
        events[nevents++] = (struct event){k, t0, t1};
}

static void *next_sym(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);

    if (!p) {
        fprintf(stderr, "bench_snapshot_cost: dlsym(%s): %s\n", name,
                dlerror());
        abort();
    }
    return p;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && !strcmp(s + n - m, suffix);
}

/* The project compiles with -fvisibility=hidden: these must be exported
 * (default visibility, plus ENABLE_EXPORTS at link) to interpose. */
#define EXPORT __attribute__((visibility("default")))

/* hid_t is int64_t since HDF5 1.10; the program does not include hdf5.h
 * (it links HDF5 only through libmpisnap). */
typedef int64_t bench_hid_t;
EXPORT bench_hid_t H5Fcreate(const char *name, unsigned flags, bench_hid_t fcpl,
                             bench_hid_t fapl);
EXPORT bench_hid_t H5Fcreate(const char *name, unsigned flags, bench_hid_t fcpl,
                             bench_hid_t fapl)
{
    static bench_hid_t (*real)(const char *, unsigned, bench_hid_t,
                               bench_hid_t);
    double t0 = tracing ? MPI_Wtime() : 0;
    bench_hid_t r;

    if (!real)
        *(void **)&real = next_sym("H5Fcreate");
    r = real(name, flags, fcpl, fapl);
    interposed = 1;
    if (tracing)
        ev_add(strstr(name, "/rank-")        ? EV_CREATE_RANK
               : ends_with(name, "index.h5") ? EV_CREATE_INDEX
                                             : EV_CREATE_OTHER,
               t0, MPI_Wtime());
    return r;
}

EXPORT int fsync(int fd)
{
    static int (*real)(int);
    double t0 = tracing ? MPI_Wtime() : 0;
    char link[64], path[4096] = "";
    ssize_t n;
    int r;

    if (!real)
        *(void **)&real = next_sym("fsync");
    r = real(fd);
    if (tracing) {
        double t1 = MPI_Wtime();
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        n = readlink(link, path, sizeof path - 1);
        path[n > 0 ? n : 0] = '\0';
        ev_add(strstr(path, "/rank-") ? EV_FSYNC_RANK : EV_FSYNC_OTHER, t0, t1);
    }
    return r;
}

EXPORT int posix_fadvise(int fd, off_t off, off_t len, int advice)
{
    static int (*real)(int, off_t, off_t, int);
    int r;

    if (!real)
        *(void **)&real = next_sym("posix_fadvise");
    r = real(fd, off, len, advice);
    if (tracing) {
        double t = MPI_Wtime();
        ev_add(EV_FADVISE, t, t);
    }
    return r;
}

EXPORT int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    double t0 = tracing ? MPI_Wtime() : 0;
    int r;

    if (!real)
        *(void **)&real = next_sym("rename");
    r = real(from, to);
    if (tracing)
        ev_add(EV_RENAME, t0, MPI_Wtime());
    return r;
}

EXPORT int remove(const char *path)
{
    static int (*real)(const char *);
    double t0 = tracing ? MPI_Wtime() : 0;
    int r;

    if (!real)
        *(void **)&real = next_sym("remove");
    r = real(path);
    if (tracing)
        ev_add(EV_REMOVE, t0, MPI_Wtime());
    return r;
}

/* ------------------------------------------------------------ helpers */

static double median(double *v, int n)
{
    /* insertion sort: n is small */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    if (n == 0)
        return 0.0 / 0.0;
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        fprintf(stderr, "bench_snapshot_cost: out of memory (%zu bytes)\n", n);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return p;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_tree(const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs `dd if=/dev/zero of=PATH bs=1M count=MIB conv=fdatasync`; returns
 * MB/s (10^6 B/s) from dd's own elapsed time, or -1. */
static double run_dd(const char *path, int mib)
{
    char cmd[8192], line[512];
    double secs = -1;
    FILE *p;

    snprintf(cmd, sizeof cmd,
             "LC_ALL=C dd if=/dev/zero of='%s' bs=1M count=%d "
             "conv=fdatasync 2>&1",
             path, mib);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    while (fgets(line, sizeof line, p)) {
        char *c = strstr(line, "copied, ");
        if (c)
            secs = strtod(c + 8, NULL);
    }
    pclose(p);
    return secs > 0 ? (double)mib * MIB / secs / 1e6 : -1;
}

/* ------------------------------------------------------------ one cycle */

/* What one snapshot cost this rank (seconds or MB/s; -1 = did not
 * happen here). */
struct sample {
    double record;       /* recording point, up to the write if it follows */
    double record_point; /* the whole recording point */
    double write;        /* rank file: H5Fcreate .. end of the checksum */
    double write_point;  /* the whole point that wrote */
    double h5, fsync, checksum; /* parts of `write` */
    double commit;              /* rank 0: index.h5 .. end of the point */
    double other_max;           /* slowest point doing neither */
    double memcpy_warm, memcpy_fresh;
    double dd_all, dd_rot, dd_alone; /* MB/s */
    double write_in_record; /* 1: the write came in the recording point */
    double points;          /* points from recording to commit */
};

/* Splits one point [t0, t1] into the sample's parts, from its events. */
static void analyse_point(double t0, double t1, int recorded, struct sample *s,
                          int *wrote, int *committed)
{
    double c_rank = -1, c_index = -1, fs0 = -1, fs1 = -1;

    for (int i = 0; i < nevents; i++) {
        struct event *e = &events[i];
        if (e->kind == EV_CREATE_RANK)
            c_rank = e->t0;
        else if (e->kind == EV_CREATE_INDEX)
            c_index = e->t0;
        else if (e->kind == EV_FSYNC_RANK)
            fs0 = e->t0, fs1 = e->t1;
    }
    *wrote = c_rank >= 0 && fs0 >= 0;
    *committed = c_index >= 0;
    if (*wrote) {
        double end = c_index > fs1 ? c_index : t1;
        s->write_point = t1 - t0;
        s->write = end - c_rank;
        s->h5 = fs0 - c_rank;
        s->fsync = fs1 - fs0;
        /* From the fsync's end: the read-back checksum (posix_fadvise
         * starts it) and the few steps after it. */
        s->checksum = end - fs1;
    }
    if (*committed)
        s->commit = t1 - c_index;
    if (recorded) {
        s->record_point = t1 - t0;
        s->record = *wrote ? c_rank - t0 : t1 - t0;
        s->write_in_record = *wrote;
    }
}

static void print_trace(int rank, int j, double t0, double t1, int r)
{
    printf("  [rank %d] point +%d: %.3f ms%s\n", rank, j, 1e3 * (t1 - t0),
           r == 1 ? " (recorded)" : "");
    for (int i = 0; i < nevents; i++)
        printf("      %-17s at +%8.3f ms, %8.3f ms\n", ev_name[events[i].kind],
               1e3 * (events[i].t0 - t0), 1e3 * (events[i].t1 - events[i].t0));
}

/* Calls safe points in lock-step until this snapshot is committed on
 * every rank, then on to the point before the next recording one.
 * Returns 0, or -1 when the snapshot did not record or commit. */
static int cycle(const struct opts *o, int rank, long long *point,
                 struct sample *s, int trace)
{
    long long before = mpisnap_last_committed(), flag[2], all[2];
    int recorded = 0, wrote = 0, j;
    double biggest = 0;

    for (j = 0; j < MAX_POINTS; j++) {
        double t0, t1;
        int r, w = 0, c = 0;

        nevents = 0;
        tracing = 1;
        t0 = MPI_Wtime();
        r = mpisnap_point();
        t1 = MPI_Wtime();
        tracing = 0;
        (*point)++;
        if (r < 0) {
            fprintf(stderr, "rank %d: mpisnap_point: %s\n", rank,
                    mpisnap_strerror(r));
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (trace && (r == 1 || nevents))
            print_trace(rank, j, t0, t1, r);
        analyse_point(t0, t1, r == 1, s, &w, &c);
        recorded |= r == 1;
        if (w)
            wrote = 1;
        if (r != 1 && !w && !c && t1 - t0 > biggest)
            biggest = t1 - t0;
        /* Lock-step, outside the timed region: done when every rank has
         * seen this snapshot committed. */
        flag[0] = mpisnap_last_committed() > before;
        flag[1] = -flag[0];
        MPI_Allreduce(flag, all, 2, MPI_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
        if (all[0] == 1)
            break;
        if (j >= 4 * o->every && -all[1] == 0) {
            fprintf(stderr,
                    "rank %d: snapshot not committed after %d "
                    "points\n",
                    rank, j);
            return -1;
        }
    }
    s->points = j + 1;
    s->other_max = biggest;
    if (!recorded)
        return -1;
    if (!wrote && !interposed) {
        /* Not interposed (static link?): the largest point after the
         * recording one is the write, as near as we can tell. */
        s->write = s->write_point = biggest;
    }
    /* Up to the point before the next recording one: point numbers start
     * at 1 and MPISNAP_EVERY records when point % every == 0. */
    while ((*point + 1) % o->every != 0) {
        int r = mpisnap_point();
        (*point)++;
        if (r != 0) {
            fprintf(stderr, "rank %d: unexpected mpisnap_point() = %d\n", rank,
                    r);
            return -1;
        }
        MPI_Barrier(MPI_COMM_WORLD);
    }
    return 0;
}

/* Median of one field over the first n samples, skipping the -1s of
 * what did not happen (rank 0's samples come first). */
static double sample_median(const struct sample *g, int nsamp, size_t off,
                            int n, double *scratch)
{
    int m = 0;

    for (int k = 0; k < n && k < nsamp; k++) {
        double x;
        memcpy(&x, (const char *)&g[k] + off, sizeof x);
        if (x >= 0)
            scratch[m++] = x;
    }
    return median(scratch, m);
}

static double memcpy_time(void *dst, const void *src, size_t n)
{
    double t0 = MPI_Wtime();

    memcpy(dst, src, n);
    return MPI_Wtime() - t0;
}

/* malloc + memcpy of n bytes into a buffer malloc'd just before (page
 * faults included), as the library's staging buffer is. */
static double memcpy_fresh_time(const void *src, size_t n, volatile char *sink)
{
    double t0 = MPI_Wtime(), t;
    char *dst = xmalloc(n);

    memcpy(dst, src, n);
    t = MPI_Wtime() - t0;
    *sink = dst[n / 2];
    free(dst);
    return t;
}

/* The dd baselines after one snapshot, in the snapshot directory:
 *   all:   every rank at once, DIR/ddtest-R removed before and after;
 *   rot:   every rank at once into a new file each time, keeping the
 *          newest `keep` per rank as MPISNAP_KEEP keeps snapshots, so the
 *          page cache grows as it does for the snapshots;
 *   alone: rank 0 only, as `all`. */
static void dd_baselines(const struct opts *o, int rank, int mib, int seq,
                         struct sample *s)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/ddtest-%d", o->dir, rank);
    unlink(path);
    MPI_Barrier(MPI_COMM_WORLD);
    s->dd_all = run_dd(path, mib);
    unlink(path);
    MPI_Barrier(MPI_COMM_WORLD);
    snprintf(path, sizeof path, "%s/ddrot-%d-%06d", o->dir, rank, seq);
    s->dd_rot = run_dd(path, mib);
    if (seq >= o->keep) {
        snprintf(path, sizeof path, "%s/ddrot-%d-%06d", o->dir, rank,
                 seq - o->keep);
        unlink(path);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        snprintf(path, sizeof path, "%s/ddtest-%d", o->dir, rank);
        s->dd_alone = run_dd(path, mib);
        unlink(path);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static void fmt(char *buf, size_t n, double v, double scale, int prec)
{
    if (v >= 0 && v == v)
        snprintf(buf, n, "%.*f", prec, v * scale);
    else
        snprintf(buf, n, "-");
}

/* ---------------------------------------------------------------- main */

struct result {
    int mib;
    struct sample med; /* medians */
    int write_in_record, nsamp;
};

static void print_tables(const struct opts *o, int nranks,
                         const struct result *res, int nres)
{
    char a[9][32];

    printf("\nA. Blocked at the recording point vs memcpy of the same bytes "
           "(medians of %d ranks x %d reps; ms)\n",
           nranks, o->reps);
    printf("%8s %9s %9s %7s %10s %8s %11s %13s\n", "MiB/rank", "record",
           "memcpy", "ratio", "fresh-buf", "ratio", "us/MiB rec",
           "us/MiB memcpy");
    for (int i = 0; i < nres; i++) {
        const struct sample *m = &res[i].med;
        printf("%8d %9.3f %9.3f %7.2f %10.3f %8.2f %11.0f %13.0f\n", res[i].mib,
               1e3 * m->record, 1e3 * m->memcpy_warm,
               m->record / m->memcpy_warm, 1e3 * m->memcpy_fresh,
               m->record / m->memcpy_fresh, 1e6 * m->record / res[i].mib,
               1e6 * m->memcpy_warm / res[i].mib);
    }
    printf("record: the recording mpisnap_point() call up to the start of the "
           "write when the write\nfollows in the same call; fresh-buf: malloc "
           "+ memcpy into the new buffer, like the library's staging.\n");

    printf("\nB. Writing the rank file vs dd conv=fdatasync in the same "
           "directory (MB/s = 10^6 B/s of state\n   per rank; both ranks "
           "write at once; target ratio >= 0.90)\n");
    printf("%8s %9s %7s %9s %7s %9s %7s %9s %9s\n", "MiB/rank", "write ms",
           "MB/s", "dd MB/s", "ratio", "dd-rot", "ratio", "dd-alone",
           "pt MB/s");
    for (int i = 0; i < nres; i++) {
        const struct sample *m = &res[i].med;
        double bw = res[i].mib * MIB / m->write / 1e6;
        fmt(a[0], 32, m->dd_all, 1, 0);
        fmt(a[1], 32, bw / m->dd_all, 1, 2);
        fmt(a[2], 32, m->dd_rot, 1, 0);
        fmt(a[3], 32, bw / m->dd_rot, 1, 2);
        fmt(a[4], 32, m->dd_alone, 1, 0);
        printf("%8d %9.1f %7.0f %9s %7s %9s %7s %9s %9.0f\n", res[i].mib,
               1e3 * m->write, bw, a[0], a[1], a[2], a[3], a[4],
               res[i].mib * MIB / m->write_point / 1e6);
    }
    printf("write: H5Fcreate of the rank file to the end of its read-back "
           "checksum.  dd: DIR/ddtest-R\nremoved before each run; dd-rot: a "
           "new file each time, the newest %d kept (as MPISNAP_KEEP=%d);\n"
           "dd-alone: rank 0 only.  pt MB/s: over the whole point that "
           "wrote (rank 0's may include the commit).\n",
           o->keep, o->keep);

    printf("\nC. Where the time goes (medians, ms)\n");
    printf("%8s %9s %9s %9s %9s %9s %9s %9s %7s\n", "MiB/rank", "record pt",
           "write pt", "HDF5", "fsync", "checksum", "commit", "other max",
           "w-in-rec");
    for (int i = 0; i < nres; i++) {
        const struct sample *m = &res[i].med;
        fmt(a[0], 32, m->h5, 1e3, 1);
        fmt(a[1], 32, m->fsync, 1e3, 1);
        fmt(a[2], 32, m->checksum, 1e3, 1);
        fmt(a[3], 32, m->commit, 1e3, 1);
        printf("%8d %9.1f %9.1f %9s %9s %9s %9s %9.3f %3d/%-3d\n", res[i].mib,
               1e3 * m->record_point, 1e3 * m->write_point, a[0], a[1], a[2],
               a[3], 1e3 * m->other_max, res[i].write_in_record, res[i].nsamp);
    }
    printf("HDF5: H5Fcreate to fsync (create, write with Fletcher-32, "
           "close); checksum: fsync's end to the end\nof the write "
           "(XXH64 read-back); commit: rank 0, index.h5 to the end of its "
           "point (fsyncs, renames,\nretention); other max: the slowest "
           "point that did none of these; w-in-rec: samples whose write\n"
           "ran inside the recording point.\n");
    if (!interposed)
        printf("(H5Fcreate was not interposed: no breakdown; 'write' is the "
               "largest point after the recording one)\n");
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    int rank, nranks, rc, failed = 0, prev_mib = 0, seq = 0;
    long long point = 0;
    char env[64], libver[MPI_MAX_LIBRARY_VERSION_STRING];
    const char *r0 = getenv("OMPI_COMM_WORLD_RANK");
    volatile char sink = 0;
    struct result res[MAX_SIZES];

    rc = parse_opts(argc, argv, &o);
    if (rc) {
        /* Before MPI_Init: only "rank 0" (or a singleton) prints. */
        if (rc == 1 && (!r0 || !strcmp(r0, "0")))
            usage(stdout);
        if (rc == 2)
            fprintf(stderr, "Try 'bench_snapshot_cost --help'.\n");
        return rc == 1 ? 0 : 2;
    }

    /* The library reads its configuration at MPI_Init. */
    snprintf(env, sizeof env, "%d", o.every);
    setenv("MPISNAP_EVERY", env, 1);
    snprintf(env, sizeof env, "%d", o.keep);
    setenv("MPISNAP_KEEP", env, 1);
    setenv("MPISNAP_DIR", o.dir, 1);
    setenv("MPISNAP_RESTART", "never", 1);
    unsetenv("MPISNAP_INTERVAL");

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (rank == 0)
        setvbuf(stdout, NULL, _IOLBF, 0);

    size_t max_bytes = (size_t)o.sizes[o.nsizes - 1] << 20;
    char *state = xmalloc(max_bytes), *warm = xmalloc(max_bytes);
    double *dstate = (double *)state;
    for (size_t i = 0; i < max_bytes / sizeof(double); i++)
        dstate[i] = (double)(i % 1000003) * 0.5 + rank;
    memset(warm, 1, max_bytes); /* fault the warm buffer in */
    mkdir(o.dir, 0777);         /* for dd before the first snapshot */

    if (rank == 0) {
        int len;
        unsigned maj = 0, min = 0, rel = 0;
        int ts = -1;
        void *f_ver = dlsym(RTLD_DEFAULT, "H5get_libversion");
        void *f_ts = dlsym(RTLD_DEFAULT, "H5is_library_threadsafe");

        MPI_Get_library_version(libver, &len);
        libver[strcspn(libver, ",\n")] = '\0';
        if (f_ver)
            ((int (*)(unsigned *, unsigned *, unsigned *))f_ver)(&maj, &min,
                                                                 &rel);
        if (f_ts) {
            _Bool b = 0; /* hbool_t is C99 bool in HDF5 1.10 */
            ((int (*)(_Bool *))f_ts)(&b);
            ts = b;
        }
        printf("bench_snapshot_cost: %d ranks, MPISNAP_EVERY=%d, "
               "MPISNAP_KEEP=%d, %d repetition(s) per size after %d "
               "warm-up, dir %s\n",
               nranks, o.every, o.keep, o.reps, o.warmup, o.dir);
        printf("MPI: %s; HDF5 %u.%u.%u, thread-safe: %s; mpisnap %s\n", libver,
               maj, min, rel,
               ts < 0 ? "unknown"
               : ts   ? "yes"
                      : "no",
               MPISNAP_VERSION_STRING);
        if (o.quick)
            printf("--quick: a smoke run, the numbers mean nothing\n");
    }

    /* The safe points up to the first recording one. */
    while ((point + 1) % o.every != 0) {
        mpisnap_point();
        point++;
        MPI_Barrier(MPI_COMM_WORLD);
    }

    int nsamp = o.reps * nranks;
    double *scratch = xmalloc((size_t)nsamp * sizeof *scratch);
    struct sample *mine = xmalloc((size_t)o.reps * sizeof *mine);
    struct sample *gathered =
        rank == 0 ? xmalloc((size_t)nsamp * sizeof *gathered) : NULL;

    for (int si = 0; si < o.nsizes; si++) {
        int mib = o.sizes[si];
        size_t bytes = (size_t)mib << 20, from = (size_t)prev_mib << 20;
        char name[32];

        /* One more region: the protected total becomes `mib` MiB. */
        snprintf(name, sizeof name, "state_upto_%dMiB", mib);
        rc = mpisnap_protect(name, state + from,
                             (bytes - from) / sizeof(double), MPI_DOUBLE);
        if (rc < 0) {
            fprintf(stderr, "rank %d: mpisnap_protect: %s\n", rank,
                    mpisnap_strerror(rc));
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        prev_mib = mib;

        for (int rep = -o.warmup; rep < o.reps; rep++) {
            struct sample s;

            for (size_t k = 0; k < sizeof s / sizeof(double); k++)
                ((double *)&s)[k] = -1;
            MPI_Barrier(MPI_COMM_WORLD);
            s.memcpy_warm = memcpy_time(warm, state, bytes);
            s.memcpy_fresh = memcpy_fresh_time(state, bytes, &sink);
            s.write_in_record = 0;
            MPI_Barrier(MPI_COMM_WORLD);
            if (cycle(&o, rank, &point, &s, o.trace && rep == 0) < 0) {
                fprintf(stderr,
                        "rank %d: snapshot of %d MiB did not record or "
                        "commit\n",
                        rank, mib);
                failed = 1;
            }
            if (o.dd)
                dd_baselines(&o, rank, mib, seq++, &s);
            if (rep >= 0)
                mine[rep] = s;
        }
        MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX,
                      MPI_COMM_WORLD);

        /* Every rank's samples to rank 0 (all doubles, same machine). */
        MPI_Gather(mine, o.reps * (int)(sizeof *mine / sizeof(double)),
                   MPI_DOUBLE, gathered,
                   o.reps * (int)(sizeof *mine / sizeof(double)), MPI_DOUBLE, 0,
                   MPI_COMM_WORLD);
        if (rank == 0) {
            struct result *x = &res[si];
            x->mib = mib;
            x->nsamp = nsamp;
            x->write_in_record = 0;
            for (size_t f = 0; f < sizeof x->med / sizeof(double); f++) {
                size_t off = f * sizeof(double);
                /* commit and dd-alone happen on rank 0 only */
                int only0 = off == offsetof(struct sample, commit) ||
                            off == offsetof(struct sample, dd_alone);
                ((double *)&x->med)[f] = sample_median(
                    gathered, nsamp, off, only0 ? o.reps : nsamp, scratch);
            }
            for (int k = 0; k < nsamp; k++)
                x->write_in_record += gathered[k].write_in_record > 0;
            if (o.trace || o.quick)
                for (int k = 0; k < nsamp; k++) {
                    struct sample *g = &gathered[k];
                    printf("  sample %d MiB rank %d rep %d: record %.3f "
                           "(point %.3f) ms, write %.3f (point %.3f) ms: "
                           "h5 %.3f fsync %.3f checksum %.3f; commit %.3f "
                           "ms; %.0f points; memcpy %.3f/%.3f ms; dd "
                           "%.0f/%.0f MB/s\n",
                           mib, k / o.reps, k % o.reps, 1e3 * g->record,
                           1e3 * g->record_point, 1e3 * g->write,
                           1e3 * g->write_point, 1e3 * g->h5, 1e3 * g->fsync,
                           1e3 * g->checksum, 1e3 * g->commit, g->points,
                           1e3 * g->memcpy_warm, 1e3 * g->memcpy_fresh,
                           g->dd_all, g->dd_rot);
                }
        }
    }

    if (rank == 0) {
        print_tables(&o, nranks, res, o.nsizes);
        printf("\n");
        for (int si = 0; si < o.nsizes; si++) {
            const struct sample *m = &res[si].med;
            double bw = res[si].mib * MIB / m->write / 1e6;
            printf("RESULT size_mib=%d record_ms=%.3f memcpy_ms=%.3f "
                   "record_ratio=%.3f memcpy_fresh_ms=%.3f "
                   "record_point_ms=%.3f write_ms=%.2f write_point_ms=%.2f "
                   "write_mbs=%.0f dd_mbs=%.0f write_ratio=%.3f "
                   "dd_rot_mbs=%.0f write_ratio_rot=%.3f dd_alone_mbs=%.0f "
                   "h5_ms=%.2f fsync_ms=%.2f checksum_ms=%.2f "
                   "commit_ms=%.2f write_in_record=%d/%d\n",
                   res[si].mib, 1e3 * m->record, 1e3 * m->memcpy_warm,
                   m->record / m->memcpy_warm, 1e3 * m->memcpy_fresh,
                   1e3 * m->record_point, 1e3 * m->write, 1e3 * m->write_point,
                   bw, m->dd_all, bw / m->dd_all, m->dd_rot, bw / m->dd_rot,
                   m->dd_alone, 1e3 * m->h5, 1e3 * m->fsync, 1e3 * m->checksum,
                   1e3 * m->commit, res[si].write_in_record, res[si].nsamp);
        }
        if (failed)
            printf("FAILED: a snapshot did not record or commit\n");
    }
    free(gathered);
    free(mine);
    free(scratch);
    free(state);
    free(warm);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    if (rank == 0 && !o.keep_files)
        rm_tree(o.dir);
    return failed ? 1 : 0;
}
