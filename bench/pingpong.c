/* bench_pingpong: the cost of the mpisnap layer on point-to-point traffic.
 *
 * One run measures both sides: "plain" calls PMPI_* directly and bypasses
 * the layer, "layer" calls MPI_*, which this program's link order resolves
 * to mpisnap's wrappers.  Repetitions of the two alternate (AB BA AB ...),
 * so machine noise hits both alike; each side's median over the
 * repetitions is reported, with the interquartile range.
 *
 * Needs exactly 2 ranks.  Output from rank 0; a line per test starts with
 * RESULT for scripts.  The timing targets are printed, never asserted: the
 * exit status says only whether the run worked (data arrived intact and the
 * layer was really in effect).  MPI errors abort (MPI_ERRORS_ARE_FATAL). */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#define TAG_DATA 1
#define TAG_ACK 2
#define WINDOW 16          /* sends in flight in the bandwidth test */
#define MAX_SIZE (1 << 20) /* largest message */
#define MAX_ITERS 100000000L

enum { PLAIN, LAYER, NMODES };
static const char *const mode_name[NMODES] = {"plain", "layer"};

struct bench {
    int rank;
    unsigned char *sbuf; /* MAX_SIZE, a known pattern */
    unsigned char *rbuf; /* WINDOW * MAX_SIZE: one slot per receive */
    unsigned char ack;
};

/* Runs `iters` iterations with messages of n bytes; returns rank 0's
 * elapsed seconds (rank 1's on rank 1, unused). */
typedef double kernel_fn(struct bench *b, int n, long iters);

/* The kernels, once per mode: P is PMPI_ (plain) or MPI_ (layer).  Only the
 * PMPI_Barrier that lines the ranks up before the clock starts is outside
 * the comparison. */
#define KERNELS(P, MODE)                                                       \
    /* Blocking ping-pong: Send + Recv on rank 0, Recv + Send on rank 1. */    \
    static double pingpong_##MODE(struct bench *b, int n, long iters)          \
    {                                                                          \
        int peer = 1 - b->rank;                                                \
        double t0;                                                             \
        long i;                                                                \
                                                                               \
        PMPI_Barrier(MPI_COMM_WORLD);                                          \
        t0 = MPI_Wtime();                                                      \
        for (i = 0; i < iters; i++) {                                          \
            if (b->rank == 0) {                                                \
                P##Send(b->sbuf, n, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD); \
                P##Recv(b->rbuf, n, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD,  \
                        MPI_STATUS_IGNORE);                                    \
            } else {                                                           \
                P##Recv(b->rbuf, n, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD,  \
                        MPI_STATUS_IGNORE);                                    \
                P##Send(b->sbuf, n, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD); \
            }                                                                  \
        }                                                                      \
        return MPI_Wtime() - t0;                                               \
    }                                                                          \
                                                                               \
    /* Nonblocking ping-pong: rank 0 posts Irecv + Isend and Waitalls both;    \
     * rank 1 Irecv + Waitall, then Isend + Waitall. */                        \
    static double pingpong_nb_##MODE(struct bench *b, int n, long iters)       \
    {                                                                          \
        MPI_Request req[2];                                                    \
        int peer = 1 - b->rank;                                                \
        double t0;                                                             \
        long i;                                                                \
                                                                               \
        PMPI_Barrier(MPI_COMM_WORLD);                                          \
        t0 = MPI_Wtime();                                                      \
        for (i = 0; i < iters; i++) {                                          \
            if (b->rank == 0) {                                                \
                P##Irecv(b->rbuf, n, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD, \
                         &req[0]);                                             \
                P##Isend(b->sbuf, n, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD, \
                         &req[1]);                                             \
                P##Waitall(2, req, MPI_STATUSES_IGNORE);                       \
            } else {                                                           \
                P##Irecv(b->rbuf, n, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD, \
                         &req[0]);                                             \
                P##Waitall(1, req, MPI_STATUSES_IGNORE);                       \
                P##Isend(b->sbuf, n, MPI_BYTE, peer, TAG_DATA, MPI_COMM_WORLD, \
                         &req[0]);                                             \
                P##Waitall(1, req, MPI_STATUSES_IGNORE);                       \
            }                                                                  \
        }                                                                      \
        return MPI_Wtime() - t0;                                               \
    }                                                                          \
                                                                               \
    /* Streaming: rank 0 Isends a window, rank 1 Irecvs it into separate       \
     * slots; both Waitall, then rank 1 sends a 1-byte ack. */                 \
    static double stream_##MODE(struct bench *b, int n, long iters)            \
    {                                                                          \
        MPI_Request req[WINDOW];                                               \
        int peer = 1 - b->rank, w;                                             \
        double t0;                                                             \
        long i;                                                                \
                                                                               \
        PMPI_Barrier(MPI_COMM_WORLD);                                          \
        t0 = MPI_Wtime();                                                      \
        for (i = 0; i < iters; i++) {                                          \
            if (b->rank == 0) {                                                \
                for (w = 0; w < WINDOW; w++)                                   \
                    P##Isend(b->sbuf, n, MPI_BYTE, peer, TAG_DATA,             \
                             MPI_COMM_WORLD, &req[w]);                         \
                P##Waitall(WINDOW, req, MPI_STATUSES_IGNORE);                  \
                P##Recv(&b->ack, 1, MPI_BYTE, peer, TAG_ACK, MPI_COMM_WORLD,   \
                        MPI_STATUS_IGNORE);                                    \
            } else {                                                           \
                for (w = 0; w < WINDOW; w++)                                   \
                    P##Irecv(b->rbuf + (size_t)w * MAX_SIZE, n, MPI_BYTE,      \
                             peer, TAG_DATA, MPI_COMM_WORLD, &req[w]);         \
                P##Waitall(WINDOW, req, MPI_STATUSES_IGNORE);                  \
                P##Send(&b->ack, 1, MPI_BYTE, peer, TAG_ACK, MPI_COMM_WORLD);  \
            }                                                                  \
        }                                                                      \
        return MPI_Wtime() - t0;                                               \
    }                                                                          \
                                                                               \
    /* A small collective: 8-byte MPI_Allreduce, back to back. */              \
    static double allreduce_##MODE(struct bench *b, int n, long iters)         \
    {                                                                          \
        double x = b->rank, y;                                                 \
        double t0;                                                             \
        long i;                                                                \
                                                                               \
        (void)n;                                                               \
        PMPI_Barrier(MPI_COMM_WORLD);                                          \
        t0 = MPI_Wtime();                                                      \
        for (i = 0; i < iters; i++)                                            \
            P##Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);      \
        return MPI_Wtime() - t0;                                               \
    }

KERNELS(PMPI_, plain)
KERNELS(MPI_, layer)
#undef KERNELS

enum kind { LATENCY, LATENCY_NB, BANDWIDTH, COLLECTIVE };

struct test {
    enum kind kind;
    const char *name;
    int size;
    kernel_fn *run[NMODES];
};

static const struct test tests[] = {
    {LATENCY, "latency", 8, {pingpong_plain, pingpong_layer}},
    {LATENCY, "latency", 1 << 10, {pingpong_plain, pingpong_layer}},
    {LATENCY, "latency", 1 << 16, {pingpong_plain, pingpong_layer}},
    {LATENCY, "latency", 1 << 20, {pingpong_plain, pingpong_layer}},
    {LATENCY_NB, "latency-nb", 8, {pingpong_nb_plain, pingpong_nb_layer}},
    {BANDWIDTH, "bandwidth", 1 << 20, {stream_plain, stream_layer}},
    {COLLECTIVE, "allreduce", 8, {allreduce_plain, allreduce_layer}},
};
#define NTESTS (int)(sizeof tests / sizeof *tests)

/* Targets for the layer/plain ratio of the medians (printed, not
 * asserted). */
static const struct target {
    enum kind kind;
    int size;
    int at_most; /* ratio <= limit, else ratio >= limit */
    double limit;
} targets[] = {
    {LATENCY, 8, 1, 1.02},
    {BANDWIDTH, 1 << 20, 0, 0.995},
};
#define NTARGETS (int)(sizeof targets / sizeof *targets)

struct options {
    int reps;
    long iters;      /* fixed iterations per repetition; 0: calibrate */
    double target_s; /* calibrated duration of one repetition */
    int quick;
    const char *only; /* NAME or NAME/SIZE: run only that test */
};

static int selected(const struct test *t, const struct options *o)
{
    size_t len;

    if (!o->only)
        return 1;
    len = strcspn(o->only, "/");
    return strlen(t->name) == len && !strncmp(t->name, o->only, len) &&
           (!o->only[len] || atoi(o->only + len + 1) == t->size);
}

/* One side's repetitions: median, quartiles, extremes. */
struct summary {
    double med, q1, q3, min, max;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Quantile p of sorted[0..n), interpolating linearly between ranks. */
static double quantile(const double *sorted, int n, double p)
{
    double pos = p * (n - 1);
    int i = (int)pos;

    if (i >= n - 1)
        return sorted[n - 1];
    return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
}

static struct summary summarize(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return (struct summary){.med = quantile(x, n, 0.5),
                            .q1 = quantile(x, n, 0.25),
                            .q3 = quantile(x, n, 0.75),
                            .min = x[0],
                            .max = x[n - 1]};
}

static const char *size_text(int n, char *buf, size_t len)
{
    if (n >= 1 << 20 && n % (1 << 20) == 0)
        snprintf(buf, len, "%d MiB", n >> 20);
    else if (n >= 1 << 10 && n % (1 << 10) == 0)
        snprintf(buf, len, "%d KiB", n >> 10);
    else
        snprintf(buf, len, "%d B", n);
    return buf;
}

/* Seconds for `iters` iterations -> the reported unit: one-way latency in
 * microseconds (round trip / 2), or bandwidth in MB/s (10^6 bytes). */
static double to_unit(const struct test *t, long iters, double s)
{
    if (t->kind == BANDWIDTH)
        return (double)iters * WINDOW * t->size / s / 1e6;
    if (t->kind == COLLECTIVE)
        return s / (double)iters * 1e6;
    return s / (2.0 * (double)iters) * 1e6;
}

/* Rank 0's elapsed time, agreed by both ranks. */
static double timed(struct bench *b, kernel_fn *fn, int n, long iters)
{
    double t = fn(b, n, iters);

    PMPI_Bcast(&t, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    return t;
}

/* Iterations for one repetition of about o->target_s, measured on the plain
 * kernel: double until a run takes a quarter of the target, then scale. */
static long calibrate(struct bench *b, const struct test *t,
                      const struct options *o)
{
    long iters = 1;
    double s;

    if (o->iters > 0)
        return o->iters;
    for (;;) {
        s = timed(b, t->run[PLAIN], t->size, iters);
        if (s >= o->target_s / 4 || iters >= MAX_ITERS / 2)
            break;
        iters *= 2;
    }
    iters = s > 0 ? (long)ceil((double)iters * o->target_s / s) : iters;
    if (iters > MAX_ITERS)
        iters = MAX_ITERS;
    return iters < 1 ? 1 : iters;
}

/* Both ranks received what the other sent: bytes [0, n) of every receive
 * slot used hold the pattern.  Returns the number of bad slots. */
static int check_data(const struct bench *b, const struct test *t)
{
    int slots = t->kind == BANDWIDTH    ? (b->rank == 1 ? WINDOW : 0)
                : t->kind == COLLECTIVE ? 0
                                        : 1;
    int w, bad = 0;

    for (w = 0; w < slots; w++)
        if (memcmp(b->rbuf + (size_t)w * MAX_SIZE, b->sbuf, (size_t)t->size) !=
            0)
            bad++;
    return bad;
}

struct result {
    long iters;
    struct summary s[NMODES];
    double ratio, paired;
};

static int run_test(struct bench *b, const struct test *t,
                    const struct options *o, struct result *res)
{
    double *v[NMODES], *pr;
    long iters;
    int rep, k, m, bad = 0;

    v[PLAIN] = malloc((size_t)o->reps * sizeof(double));
    v[LAYER] = malloc((size_t)o->reps * sizeof(double));
    pr = malloc((size_t)o->reps * sizeof(double));
    if (!v[PLAIN] || !v[LAYER] || !pr) {
        fprintf(stderr, "bench_pingpong: out of memory\n");
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(b->rbuf, 0, (size_t)WINDOW * MAX_SIZE);

    /* Warm-up, then one untimed repetition of each mode. */
    iters = calibrate(b, t, o);
    timed(b, t->run[LAYER], t->size, iters);
    timed(b, t->run[PLAIN], t->size, iters);

    for (rep = 0; rep < o->reps; rep++)
        for (k = 0; k < NMODES; k++) {
            m = rep % 2 ? NMODES - 1 - k : k; /* AB BA AB ... */
            v[m][rep] = to_unit(t, iters, timed(b, t->run[m], t->size, iters));
        }
    for (rep = 0; rep < o->reps; rep++)
        pr[rep] = v[LAYER][rep] / v[PLAIN][rep];

    bad = check_data(b, t);
    res->iters = iters;
    for (m = 0; m < NMODES; m++)
        res->s[m] = summarize(v[m], o->reps);
    res->ratio = res->s[LAYER].med / res->s[PLAIN].med;
    res->paired = summarize(pr, o->reps).med;
    free(v[PLAIN]);
    free(v[LAYER]);
    free(pr);
    return bad;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpiexec -n 2 bench_pingpong [--reps N] [--iters N] "
            "[--quick]\n"
            "                                   [--only NAME[/SIZE]] "
            "[--help]\n"
            "\n"
            "Overhead of the mpisnap layer on point-to-point MPI: the same "
            "kernels\nrun through PMPI_* (plain, bypassing the layer) and "
            "MPI_* (through\nmpisnap's wrappers), in alternating "
            "repetitions within one run.\n"
            "\n"
            "  latency     blocking Send/Recv ping-pong, round trip / 2, at "
            "8 B, 1 KiB,\n"
            "              64 KiB, 1 MiB\n"
            "  latency-nb  Isend/Irecv/Waitall ping-pong at 8 B\n"
            "  bandwidth   %d Isends of 1 MiB in flight, Irecvs, Waitall, "
            "1-byte ack\n"
            "  allreduce   8-byte MPI_Allreduce, microseconds per call\n"
            "\n"
            "  --reps N    repetitions per mode and test (default 21)\n"
            "  --iters N   iterations per repetition (default: calibrated "
            "so that\n"
            "              one repetition takes about 30 ms)\n"
            "  --quick     smoke run: 3 repetitions of about 2 ms\n"
            "  --only T    run one test: latency/8, latency-nb, bandwidth, "
            "...\n"
            "  --help      this text\n"
            "\n"
            "Reported: median per mode over the repetitions with the "
            "interquartile\nrange, layer/plain ratio of the medians and the "
            "median of the per-repetition\nratios (paired).  Targets: "
            "latency ratio <= %.3f at 8 B, bandwidth ratio\n>= %.3f at 1 "
            "MiB; printed, not asserted.  Run with --bind-to core.\n",
            WINDOW, targets[0].limit, targets[1].limit);
}

/* A decimal in [min, max], or -1. */
static long parse_long(const char *s, long min, long max)
{
    char *end;
    long v = strtol(s, &end, 10);

    return *s && !*end && v >= min && v <= max ? v : -1;
}

/* 0: run, 1: --help given, -1: bad arguments (message printed). */
static int parse_args(int argc, char **argv, struct options *o, int verbose)
{
    int i, reps = 0;

    *o = (struct options){.reps = 21, .target_s = 0.030};
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            return 1;
        } else if (!strcmp(argv[i], "--quick")) {
            o->quick = 1;
        } else if (!strcmp(argv[i], "--reps")) {
            if (i + 1 >= argc ||
                (reps = (int)parse_long(argv[++i], 1, 100000)) < 1)
                goto bad;
        } else if (!strcmp(argv[i], "--only")) {
            if (i + 1 >= argc)
                goto bad;
            o->only = argv[++i];
        } else if (!strcmp(argv[i], "--iters")) {
            if (i + 1 >= argc ||
                (o->iters = parse_long(argv[++i], 1, MAX_ITERS)) < 1)
                goto bad;
        } else {
            goto bad;
        }
    }
    if (o->quick) {
        o->reps = 3;
        o->target_s = 0.002;
    }
    if (reps)
        o->reps = reps;
    for (i = 0; i < NTESTS && !selected(&tests[i], o); i++)
        ;
    if (i == NTESTS) {
        if (verbose)
            fprintf(stderr, "bench_pingpong: no test '%s'\n", o->only);
        return -1;
    }
    return 0;
bad:
    if (verbose) {
        fprintf(stderr, "bench_pingpong: bad argument '%s'\n", argv[i]);
        usage(stderr);
    }
    return -1;
}

/* Is MPI_Send really mpisnap's?  Open MPI's own MPI_Send is an alias of
 * PMPI_Send, so equal addresses mean the layer is not interposed. */
static int layer_in_effect(char *where, size_t len)
{
    int (*send)(const void *, int, MPI_Datatype, int, int, MPI_Comm) = MPI_Send;
    Dl_info info;

    if (dladdr((void *)(size_t)send, &info) && info.dli_fname)
        snprintf(where, len, "%s", info.dli_fname);
    else
        snprintf(where, len, "?");
    return send != PMPI_Send;
}

static void print_results(const struct options *o, const struct result *res,
                          const char *where)
{
    char sz[32];
    const struct result *r;
    const struct test *t;
    const struct target *g;
    int i, j, m, met;

    printf("mpisnap layer overhead: PMPI_* (plain) vs MPI_* (layer, from "
           "%s)\n",
           where);
    if (o->iters)
        printf("2 ranks, %d repetitions per mode in AB BA order, %ld "
               "iterations each\n",
               o->reps, o->iters);
    else
        printf("2 ranks, %d repetitions per mode in AB BA order, each about "
               "%.0f ms\n",
               o->reps, o->target_s * 1e3);
    printf("medians over the repetitions [interquartile range]; ratio: of "
           "the medians;\npaired: median of the per-repetition ratios\n");
    printf("latency: one-way microseconds (round trip / 2); bandwidth: MB/s "
           "(10^6 B/s), window %d;\nallreduce: microseconds per call\n\n",
           WINDOW);
    printf("%-10s %7s %9s  %-28s %-28s %7s %7s\n", "test", "size", "iters",
           "plain", "layer", "ratio", "paired");
    for (i = 0; i < NTESTS; i++) {
        int prec = tests[i].kind == BANDWIDTH ? 1 : 3;

        t = &tests[i];
        r = &res[i];
        if (!r->iters)
            continue;
        printf("%-10s %7s %9ld  ", t->name, size_text(t->size, sz, sizeof sz),
               r->iters);
        for (m = 0; m < NMODES; m++)
            printf("%8.*f [%8.*f,%8.*f] ", prec, r->s[m].med, prec, r->s[m].q1,
                   prec, r->s[m].q3);
        printf("%7.4f %7.4f\n", r->ratio, r->paired);
    }

    printf("\ntargets (ratio of the medians; printed, not asserted):\n");
    for (j = 0; j < NTARGETS; j++) {
        g = &targets[j];
        for (i = 0; i < NTESTS; i++)
            if (tests[i].kind == g->kind && tests[i].size == g->size)
                break;
        printf("  %-10s %7s  layer/plain %s %.3f: ", tests[i].name,
               size_text(g->size, sz, sizeof sz),
               g->at_most ? "<=" : ">=", g->limit);
        if (!res[i].iters) {
            printf("not run\n");
            continue;
        }
        met = g->at_most ? res[i].ratio <= g->limit : res[i].ratio >= g->limit;
        printf("%.4f  %s\n", res[i].ratio, met ? "met" : "NOT met");
    }
    printf("\n");

    for (i = 0; i < NTESTS; i++) {
        const char *unit = tests[i].kind == BANDWIDTH ? "MBps" : "us";

        t = &tests[i];
        r = &res[i];
        if (!r->iters)
            continue;
        printf("RESULT %s %d iters=%ld reps=%d", t->name, t->size, r->iters,
               o->reps);
        for (m = 0; m < NMODES; m++)
            printf(" %s_%s=%.4f %s_q1=%.4f %s_q3=%.4f %s_min=%.4f "
                   "%s_max=%.4f",
                   mode_name[m], unit, r->s[m].med, mode_name[m], r->s[m].q1,
                   mode_name[m], r->s[m].q3, mode_name[m], r->s[m].min,
                   mode_name[m], r->s[m].max);
        printf(" ratio=%.4f paired_ratio=%.4f\n", r->ratio, r->paired);
    }
    for (j = 0; j < NTARGETS; j++) {
        g = &targets[j];
        for (i = 0; i < NTESTS; i++)
            if (tests[i].kind == g->kind && tests[i].size == g->size)
                break;
        if (!res[i].iters)
            continue;
        met = g->at_most ? res[i].ratio <= g->limit : res[i].ratio >= g->limit;
        printf("RESULT target %s %d ratio=%.4f limit=%.3f met=%s\n",
               tests[i].name, g->size, res[i].ratio, g->limit,
               met ? "yes" : "no");
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    struct options o;
    struct result res[NTESTS] = {0};
    char where[512];
    const char *lm;
    int size, i, rc = 0, bad = 0, allbad = 0;

    MPI_Init(&argc, &argv);
    PMPI_Comm_rank(MPI_COMM_WORLD, &b.rank);
    PMPI_Comm_size(MPI_COMM_WORLD, &size);

    /* Every rank sees the same arguments and size, so all take the same
     * exit. */
    rc = parse_args(argc, argv, &o, b.rank == 0);
    if (rc != 0) {
        if (rc > 0 && b.rank == 0)
            usage(stdout);
        rc = rc > 0 ? 0 : 2;
        goto out;
    }
    if (size != 2) {
        if (b.rank == 0)
            fprintf(stderr, "bench_pingpong: needs exactly 2 ranks, got %d\n",
                    size);
        rc = 1;
        goto out;
    }
    if (!layer_in_effect(where, sizeof where)) {
        if (b.rank == 0)
            fprintf(stderr,
                    "bench_pingpong: MPI_Send is PMPI_Send (%s): the mpisnap "
                    "layer is not interposed, nothing to compare\n",
                    where);
        rc = 1;
        goto out;
    }
    lm = getenv("MPISNAP_TEST_LIBMATCH");
    if (b.rank == 0 && lm && strcmp(lm, "0") != 0)
        fprintf(stderr, "bench_pingpong: MPISNAP_TEST_LIBMATCH is set: the "
                        "layer runs its slow path\n");

    b.sbuf = malloc(MAX_SIZE);
    b.rbuf = malloc((size_t)WINDOW * MAX_SIZE);
    if (!b.sbuf || !b.rbuf) {
        fprintf(stderr, "bench_pingpong: out of memory\n");
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    /* Both ranks send the same pattern, so each can check what it got. */
    for (i = 0; i < MAX_SIZE; i++)
        b.sbuf[i] = (unsigned char)(i * 31 + 7);

    for (i = 0; i < NTESTS; i++)
        if (selected(&tests[i], &o))
            bad += run_test(&b, &tests[i], &o, &res[i]);

    PMPI_Allreduce(&bad, &allbad, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (b.rank == 0) {
        print_results(&o, res, where);
        if (allbad)
            fprintf(stderr,
                    "bench_pingpong: %d receive buffers held wrong "
                    "data\n",
                    allbad);
    }
    rc = allbad ? 1 : 0;
    free(b.sbuf);
    free(b.rbuf);
out:
    MPI_Finalize();
    return rc;
}
