/* heat2d: the 2-D heat equation, solved by Jacobi sweeps on a block
 * decomposition, as a checkpointable mpisnap example.
 *
 * The global grid of nx x ny unknowns is split over a non-periodic Cartesian
 * communicator.  Each rank keeps its block with a one-cell halo ring; on a
 * rank at the edge of the domain the halo holds the fixed boundary values
 * (top edge hot, the others cold), which no message ever overwrites.  Each
 * step exchanges halos with the four neighbours, does one Jacobi sweep and
 * every --residual-every steps agrees on the largest change with an
 * MPI_Allreduce.
 *
 * What a snapshot must hold to continue bit for bit: the block with its halo
 * ring (the ring is cheap and carries the boundary values), the step counter
 * and the last residual (it is printed at the end).  The sweep writes into a
 * scratch array and copies back, so the protected array never moves.
 *
 * The checksum is independent of the decomposition: every cell is updated
 * by the same expression whatever the block layout, and the checksum is a
 * sum (mod 2^64) of per-cell hashes of (global index, value bits), so 1, 2
 * and 4 ranks print the same checksum, and one flipped bit changes it. */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>
#include <mpisnap.h>

/* Direction of a neighbour; a message sent toward direction d carries tag
 * TAG_BASE + d, so the four halo streams between two ranks never mix. */
enum { NORTH, SOUTH, WEST, EAST, NDIR };
enum { TAG_BASE = 100 };

static const int opposite[NDIR] = {SOUTH, NORTH, EAST, WEST};

struct options {
    long long nx, ny, iters, residual_every;
    long long snapshot_at, snapshot_every, sleep_us;
    long long observe_every, observers;
    int inflight, quiet;
};

struct grid {
    int nx, ny;         /* global unknowns */
    int lx, ly;         /* this rank's block */
    int x0, y0;         /* global index of the block's first cell */
    int nbr[NDIR];      /* neighbour ranks, MPI_PROC_NULL at the edge */
    int len[NDIR];      /* halo length toward each neighbour */
    MPI_Comm comm;      /* the Cartesian communicator */
    double *u;          /* (ly + 2) x (lx + 2), row-major, protected */
    double *v;          /* scratch for the sweep */
    double *sbuf[NDIR]; /* packed edges, sent */
    double *rbuf[NDIR]; /* packed halos, received */
};

static int rank;

static void usage(FILE *f)
{
    fputs(
        "NAME\n"
        "    heat2d - 2-D heat equation, an mpisnap example program\n"
        "\n"
        "SYNOPSIS\n"
        "    mpiexec -n NP heat2d [OPTION]...\n"
        "\n"
        "DESCRIPTION\n"
        "    Solves the steady heat equation on an NX x NY grid by Jacobi\n"
        "    sweeps.  The grid is split into blocks over NP ranks (a 2-D\n"
        "    Cartesian communicator); the top edge is held at 1, the other\n"
        "    edges at 0.  Each step exchanges halos with the four neighbours,\n"
        "    then updates every cell to the mean of its neighbours.\n"
        "\n"
        "    The grid, the step counter and the last residual are registered\n"
        "    with mpisnap, and the program calls mpisnap_point() at the top\n"
        "    of every step, so a snapshot can be taken there.  Started again\n"
        "    with the same options after a snapshot, heat2d restores it and\n"
        "    finishes with exactly the checksum of an uninterrupted run.\n"
        "\n"
        "OPTIONS\n"
        "    --nx N, --ny N\n"
        "        Global grid size (default 512 x 512).\n"
        "    --iters N\n"
        "        Number of Jacobi steps (default 4000).\n"
        "    --residual-every R\n"
        "        Agree on the largest change of a cell (max norm, with\n"
        "        MPI_Allreduce) every R steps (default 10).\n"
        "    --snapshot-at K\n"
        "        Rank 0 calls mpisnap_request() at step K; the library takes\n"
        "        the snapshot at a safe point a few steps later.\n"
        "    --snapshot-every K\n"
        "        Rank 0 calls mpisnap_request() every K steps.\n"
        "    --observe-every K\n"
        "        Ranks 0 to N-1 (--observers N, default 1) call\n"
        "        mpisnap_observe() every K steps: an observation snapshot of\n"
        "        the running job (needs MPISNAP_OBSERVE=1).  Several ranks\n"
        "        asking at once merge into one observation.\n"
        "    --sleep-us U\n"
        "        Sleep U microseconds per step, to make a run last long\n"
        "        enough to be killed after a snapshot (default 1000).\n"
        "    --inflight\n"
        "        Send the next step's halos at the end of each step, before\n"
        "        the safe point (MPI_Ibsend), and receive them after it, so\n"
        "        messages are in flight across every snapshot.  The result\n"
        "        is bitwise identical to the normal mode.\n"
        "    --quiet\n"
        "        Print only 'restored', 'stopped' and the checksum line.\n"
        "    -h, --help\n"
        "        Show this help.\n"
        "\n"
        "ENVIRONMENT\n"
        "    MPISNAP_DIR       where snapshots go (default "
        "./mpisnap-snapshots)\n"
        "    MPISNAP_RESTART   auto (restore the newest snapshot, the "
        "default),\n"
        "                      never (start fresh), or a snapshot id\n"
        "    MPISNAP_EVERY     take a snapshot every this many steps\n"
        "    MPISNAP_INTERVAL  take a snapshot every this many seconds\n"
        "\n"
        "OUTPUT\n"
        "    Rank 0 prints 'restored step N' after a restore, 'snapshot\n"
        "    recorded at step N' and 'snapshot ID committed' as they happen,\n"
        "    a summary, and last 'checksum X' (16 hex digits): a hash of\n"
        "    the final grid that does not depend on the number of ranks.\n"
        "    When the library asks the job to stop after a snapshot, rank 0\n"
        "    prints 'stopped at step N after snapshot' and heat2d exits 0.\n"
        "\n"
        "EXAMPLE\n"
        "    MPISNAP_DIR=snaps mpiexec -n 4 heat2d --snapshot-at 1000\n"
        "    # kill it once snaps/latest exists, then run the same command\n"
        "    # again: it prints 'restored step ...' and the same checksum.\n",
        f);
}

/* A failed mpisnap call leaves the job without a usable snapshot protocol:
 * stop every rank rather than carry on with half of them. */
static void die(const char *what, int rc)
{
    fprintf(stderr, "heat2d: %s: %s\n", what, mpisnap_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static void fail(const char *what)
{
    fprintf(stderr, "heat2d: %s\n", what);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static int parse_num(const char *opt, const char *s, long long min,
                     long long max, long long *out)
{
    char *end;
    long long x;

    x = strtoll(s, &end, 10);
    if (end == s || *end || x < min || x > max) {
        if (rank == 0)
            fprintf(stderr,
                    "heat2d: --%s: expected a number in %lld..%lld, "
                    "got '%s'\n",
                    opt, min, max, s);
        return -1;
    }
    *out = x;
    return 0;
}

/* 0 to run, 1 to exit 0 (--help), -1 to exit 2 (bad usage). */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"nx", required_argument, NULL, 'x'},
        {"ny", required_argument, NULL, 'y'},
        {"iters", required_argument, NULL, 'i'},
        {"residual-every", required_argument, NULL, 'r'},
        {"snapshot-at", required_argument, NULL, 'a'},
        {"snapshot-every", required_argument, NULL, 'e'},
        {"sleep-us", required_argument, NULL, 's'},
        {"observe-every", required_argument, NULL, 'o'},
        {"observers", required_argument, NULL, 'O'},
        {"inflight", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, bad = 0;

    *o = (struct options){.nx = 512,
                          .ny = 512,
                          .iters = 4000,
                          .residual_every = 10,
                          .snapshot_at = -1,
                          .snapshot_every = 0,
                          .observers = 1,
                          .sleep_us = 1000};
    opterr = rank == 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'x':
            bad |= parse_num("nx", optarg, 1, 1 << 20, &o->nx);
            break;
        case 'y':
            bad |= parse_num("ny", optarg, 1, 1 << 20, &o->ny);
            break;
        case 'i':
            bad |= parse_num("iters", optarg, 0, LLONG_MAX, &o->iters);
            break;
        case 'r':
            bad |= parse_num("residual-every", optarg, 1, LLONG_MAX,
                             &o->residual_every);
            break;
        case 'a':
            bad |=
                parse_num("snapshot-at", optarg, 0, LLONG_MAX, &o->snapshot_at);
            break;
        case 'e':
            bad |= parse_num("snapshot-every", optarg, 1, LLONG_MAX,
                             &o->snapshot_every);
            break;
        case 's':
            bad |= parse_num("sleep-us", optarg, 0, 60000000, &o->sleep_us);
            break;
        case 'o':
            bad |= parse_num("observe-every", optarg, 1, LLONG_MAX,
                             &o->observe_every);
            break;
        case 'O':
            bad |= parse_num("observers", optarg, 1, INT_MAX, &o->observers);
            break;
        case 'f':
            o->inflight = 1;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'h':
            if (rank == 0)
                usage(stdout);
            return 1;
        default:
            bad = -1;
        }
    }
    if (optind < argc) {
        if (rank == 0)
            fprintf(stderr, "heat2d: unexpected argument '%s'\n", argv[optind]);
        bad = -1;
    }
    if (bad && rank == 0)
        fprintf(stderr, "Try 'heat2d --help'.\n");
    return bad ? -1 : 0;
}

/* Cells [start, start + len) of n split into p nearly equal blocks. */
static void block(int n, int p, int c, int *start, int *len)
{
    int q = n / p, r = n % p;

    *len = q + (c < r);
    *start = c * q + (c < r ? c : r);
}

static double *U(const struct grid *g, double *a, int i, int j)
{
    return a + (size_t)i * (size_t)(g->lx + 2) + (size_t)j;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);

    if (!p)
        fail("out of memory");
    return p;
}

/* A deterministic, uneven starting field with values in [0, 1], exact in
 * binary floating point. */
static double initial(int gx, int gy)
{
    return (double)((7 * gx + 13 * gy) % 101) / 100.0;
}

static void grid_init(struct grid *g, const struct options *o)
{
    int nranks, dims[2] = {0, 0}, periods[2] = {0, 0}, coords[2];

    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    MPI_Dims_create(nranks, 2, dims);
    if (o->ny < dims[0] || o->nx < dims[1]) {
        if (rank == 0)
            fprintf(stderr,
                    "heat2d: a %lldx%lld grid cannot be split into %dx%d "
                    "blocks\n",
                    o->nx, o->ny, dims[1], dims[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    /* reorder = 0: rank r of the job is rank r of the grid, so restarts see
     * the same layout whatever MPI would prefer. */
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &g->comm);
    MPI_Cart_coords(g->comm, rank, 2, coords);
    /* dimension 0 runs down the rows (north to south), 1 along a row */
    MPI_Cart_shift(g->comm, 0, 1, &g->nbr[NORTH], &g->nbr[SOUTH]);
    MPI_Cart_shift(g->comm, 1, 1, &g->nbr[WEST], &g->nbr[EAST]);

    g->nx = (int)o->nx;
    g->ny = (int)o->ny;
    block(g->ny, dims[0], coords[0], &g->y0, &g->ly);
    block(g->nx, dims[1], coords[1], &g->x0, &g->lx);
    g->len[NORTH] = g->len[SOUTH] = g->lx;
    g->len[WEST] = g->len[EAST] = g->ly;

    size_t cells = (size_t)(g->lx + 2) * (size_t)(g->ly + 2);
    g->u = xcalloc(cells, sizeof(double));
    g->v = xcalloc(cells, sizeof(double));
    for (int d = 0; d < NDIR; d++) {
        g->sbuf[d] = xcalloc((size_t)g->len[d], sizeof(double));
        g->rbuf[d] = xcalloc((size_t)g->len[d], sizeof(double));
    }

    for (int i = 1; i <= g->ly; i++)
        for (int j = 1; j <= g->lx; j++)
            *U(g, g->u, i, j) = initial(g->x0 + j - 1, g->y0 + i - 1);
    /* Boundary values live in the halo ring of the edge blocks; the other
     * edges stay at the 0 that calloc gave them. */
    if (g->nbr[NORTH] == MPI_PROC_NULL)
        for (int j = 1; j <= g->lx; j++)
            *U(g, g->u, 0, j) = 1.0;
}

static void grid_free(struct grid *g)
{
    for (int d = 0; d < NDIR; d++) {
        free(g->sbuf[d]);
        free(g->rbuf[d]);
    }
    free(g->u);
    free(g->v);
    MPI_Comm_free(&g->comm);
}

/* The edge cells of the block that neighbour d needs, into sbuf[d]. */
static void pack(struct grid *g, int d)
{
    double *s = g->sbuf[d];

    switch (d) {
    case NORTH:
        memcpy(s, U(g, g->u, 1, 1), (size_t)g->lx * sizeof *s);
        break;
    case SOUTH:
        memcpy(s, U(g, g->u, g->ly, 1), (size_t)g->lx * sizeof *s);
        break;
    case WEST:
        for (int i = 0; i < g->ly; i++)
            s[i] = *U(g, g->u, i + 1, 1);
        break;
    case EAST:
        for (int i = 0; i < g->ly; i++)
            s[i] = *U(g, g->u, i + 1, g->lx);
        break;
    }
}

/* rbuf[d], received from neighbour d, into the halo on side d. */
static void unpack(struct grid *g, int d)
{
    const double *r = g->rbuf[d];

    switch (d) {
    case NORTH:
        memcpy(U(g, g->u, 0, 1), r, (size_t)g->lx * sizeof *r);
        break;
    case SOUTH:
        memcpy(U(g, g->u, g->ly + 1, 1), r, (size_t)g->lx * sizeof *r);
        break;
    case WEST:
        for (int i = 0; i < g->ly; i++)
            *U(g, g->u, i + 1, 0) = r[i];
        break;
    case EAST:
        for (int i = 0; i < g->ly; i++)
            *U(g, g->u, i + 1, g->lx + 1) = r[i];
        break;
    }
}

/* Post the receives of the four halos; returns how many requests. */
static int post_recvs(struct grid *g, MPI_Request *req)
{
    int n = 0;

    for (int d = 0; d < NDIR; d++)
        if (g->nbr[d] != MPI_PROC_NULL)
            MPI_Irecv(g->rbuf[d], g->len[d], MPI_DOUBLE, g->nbr[d],
                      TAG_BASE + opposite[d], g->comm, &req[n++]);
    return n;
}

/* Unpack only the sides that have a neighbour: the others hold boundary
 * values that must never change. */
static void unpack_all(struct grid *g)
{
    for (int d = 0; d < NDIR; d++)
        if (g->nbr[d] != MPI_PROC_NULL)
            unpack(g, d);
}

/* Normal mode: the whole exchange happens inside one step. */
static void exchange(struct grid *g)
{
    MPI_Request req[2 * NDIR];
    int n = post_recvs(g, req);

    for (int d = 0; d < NDIR; d++) {
        if (g->nbr[d] == MPI_PROC_NULL)
            continue;
        pack(g, d);
        MPI_Isend(g->sbuf[d], g->len[d], MPI_DOUBLE, g->nbr[d], TAG_BASE + d,
                  g->comm, &req[n++]);
    }
    MPI_Waitall(n, req, MPI_STATUSES_IGNORE);
    unpack_all(g);
}

/* --inflight, first half: send the halos the neighbours need for the next
 * step.  MPI_Ibsend completes locally, so the Wait returns at once and no
 * request is pending at the safe point that follows, while the messages
 * themselves stay unreceived until after it. */
static void send_halos(struct grid *g)
{
    MPI_Request req[NDIR];
    int n = 0;

    for (int d = 0; d < NDIR; d++) {
        if (g->nbr[d] == MPI_PROC_NULL)
            continue;
        pack(g, d);
        MPI_Ibsend(g->sbuf[d], g->len[d], MPI_DOUBLE, g->nbr[d], TAG_BASE + d,
                   g->comm, &req[n++]);
    }
    MPI_Waitall(n, req, MPI_STATUSES_IGNORE);
}

/* --inflight, second half: receive them, after the safe point. */
static void recv_halos(struct grid *g)
{
    MPI_Request req[NDIR];
    int n = post_recvs(g, req);

    MPI_Waitall(n, req, MPI_STATUSES_IGNORE);
    unpack_all(g);
}

/* Room for two steps of halos: a rank can send step s + 1's halos before
 * its slower neighbour has matched step s's (it cannot get further ahead,
 * since it needs that neighbour's step s + 1 halo first), and a message
 * above the eager limit keeps its buffer space until it is matched. */
static size_t bsend_size(const struct grid *g)
{
    size_t total = 0;

    for (int d = 0; d < NDIR; d++) {
        int sz;

        MPI_Pack_size(g->len[d], MPI_DOUBLE, g->comm, &sz);
        total += (size_t)sz + MPI_BSEND_OVERHEAD;
    }
    return 2 * total;
}

/* One Jacobi sweep from u into v, copied back into u so the protected
 * array stays where it was registered.  Returns the largest change of a
 * cell (the max norm is exact, so it too is independent of the
 * decomposition). */
static double sweep(struct grid *g)
{
    double change = 0.0;
    size_t w = (size_t)g->lx + 2;

    for (int i = 1; i <= g->ly; i++) {
        const double *up = U(g, g->u, i - 1, 0), *row = up + w, *down = row + w;
        double *out = U(g, g->v, i, 0);

        for (int j = 1; j <= g->lx; j++) {
            out[j] = 0.25 * ((up[j] + down[j]) + (row[j - 1] + row[j + 1]));
            double c = fabs(out[j] - row[j]);
            if (c > change)
                change = c;
        }
    }
    for (int i = 1; i <= g->ly; i++)
        memcpy(U(g, g->u, i, 1), U(g, g->v, i, 1),
               (size_t)g->lx * sizeof(double));
    return change;
}

/* splitmix64's finaliser: a bijective 64-bit mix. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Sum over the cells of mix(mix(index) + bits): addition commutes, so the
 * blocks can be summed in any order and any layout. */
static uint64_t checksum(const struct grid *g)
{
    uint64_t local = 0, global = 0;

    for (int i = 1; i <= g->ly; i++) {
        for (int j = 1; j <= g->lx; j++) {
            uint64_t idx = (uint64_t)(g->y0 + i - 1) * (uint64_t)g->nx +
                           (uint64_t)(g->x0 + j - 1);
            uint64_t bits;
            memcpy(&bits, U(g, g->u, i, j), sizeof bits);
            local += mix64(mix64(idx) + bits);
        }
    }
    MPI_Reduce(&local, &global, 1, MPI_UINT64_T, MPI_SUM, 0, g->comm);
    return global;
}

static void sleep_us(long long us)
{
    struct timespec ts = {.tv_sec = us / 1000000,
                          .tv_nsec = (us % 1000000) * 1000};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

int main(int argc, char **argv)
{
    struct options o;
    struct grid g;
    int rc, nranks, restored;
    /* protected: the step about to run, and the last agreed residual */
    long long it = 0;
    double residual = 0.0;
    /* protected, checked after a restore: what the snapshot was taken
     * with, so a restart with other options fails instead of diverging */
    long long params[3];
    void *bbuf = NULL;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (rank == 0) /* a SIGKILLed job still shows what it had printed */
        setvbuf(stdout, NULL, _IOLBF, 0);

    rc = parse_options(argc, argv, &o);
    if (rc != 0) {
        MPI_Finalize();
        return rc > 0 ? 0 : 2;
    }

    grid_init(&g, &o);
    params[0] = o.nx;
    params[1] = o.ny;
    params[2] = o.inflight;

    /* Register the state, then restore it: the fresh initial field set up
     * above is overwritten when there is a snapshot. */
    size_t cells = (size_t)(g.lx + 2) * (size_t)(g.ly + 2);
    if ((rc = mpisnap_protect("u", g.u, cells, MPI_DOUBLE)) < 0)
        die("mpisnap_protect(u)", rc);
    if ((rc = mpisnap_protect("step", &it, 1, MPI_LONG_LONG)) < 0)
        die("mpisnap_protect(step)", rc);
    if ((rc = mpisnap_protect("residual", &residual, 1, MPI_DOUBLE)) < 0)
        die("mpisnap_protect(residual)", rc);
    if ((rc = mpisnap_protect("params", params, 3, MPI_LONG_LONG)) < 0)
        die("mpisnap_protect(params)", rc);
    if ((restored = mpisnap_restore()) < 0)
        die("mpisnap_restore", restored);

    /* Every rank must have done the same; anything else is a library bug
     * that would otherwise show up only as a wrong checksum. */
    int agree[2] = {restored, -restored};
    MPI_Allreduce(MPI_IN_PLACE, agree, 2, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (agree[0] != -agree[1])
        fail("ranks disagree on whether a snapshot was restored");
    if (restored &&
        (params[0] != o.nx || params[1] != o.ny || params[2] != o.inflight)) {
        if (rank == 0)
            fprintf(stderr,
                    "heat2d: the snapshot was taken with --nx %lld --ny %lld"
                    "%s; restart with the same options\n",
                    params[0], params[1], params[2] ? " --inflight" : "");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    long long start = it;
    if (rank == 0) {
        if (restored)
            printf("restored step %lld\n", it);
        if (!o.quiet)
            printf("heat2d: %lldx%lld grid on %d ranks, %lld steps%s\n", o.nx,
                   o.ny, nranks, o.iters,
                   o.inflight ? ", halos in flight" : "");
    }

    if (o.inflight) {
        size_t size = bsend_size(&g);
        bbuf = xcalloc(size, 1);
        MPI_Buffer_attach(bbuf, (int)size);
        /* The halos for the first step.  After a restore they are already
         * on their way: the snapshot holds them as channel state. */
        if (!restored && it < o.iters)
            send_halos(&g);
    }

    long long committed = mpisnap_last_committed();
    double t0 = MPI_Wtime();
    int stopped = 0;
    for (;;) {
        /* Every rank, once per step, before any communication of the step:
         * the library's safe-point indices stay aligned across ranks. */
        rc = mpisnap_point();
        if (rc < 0)
            die("mpisnap_point", rc);
        if (rc == MPISNAP_STOP) {
            stopped = 1;
            break;
        }
        if (rank == 0 && !o.quiet) {
            long long last = mpisnap_last_committed();
            if (rc == 1)
                printf("snapshot recorded at step %lld\n", it);
            if (last != committed)
                printf("snapshot %lld committed\n", last);
            committed = last;
        }
        if (it >= o.iters)
            break;
        /* Not again at the step just restored: that snapshot exists. */
        if (rank == 0 && !(restored && it == start) &&
            (it == o.snapshot_at ||
             (o.snapshot_every > 0 && it > 0 && it % o.snapshot_every == 0))) {
            if ((rc = mpisnap_request()) < 0)
                die("mpisnap_request", rc);
        }
        if (o.observe_every > 0 && rank < o.observers && it > 0 &&
            it % o.observe_every == 0 && (rc = mpisnap_observe()) < 0)
            die("mpisnap_observe", rc);

        if (o.inflight)
            recv_halos(&g);
        else
            exchange(&g);
        double change = sweep(&g);
        it++;
        if (it % o.residual_every == 0 || it == o.iters) {
            MPI_Allreduce(&change, &residual, 1, MPI_DOUBLE, MPI_MAX, g.comm);
        }
        if (o.inflight && it < o.iters)
            send_halos(&g);
        if (o.sleep_us > 0)
            sleep_us(o.sleep_us);
    }
    double elapsed = MPI_Wtime() - t0;

    if (stopped) {
        /* The snapshot holds the halos sent before this point as channel
         * state; receive them here all the same, so that no message is
         * left unmatched at MPI_Finalize. */
        if (o.inflight && it < o.iters)
            recv_halos(&g);
        if (rank == 0)
            printf("stopped at step %lld after snapshot\n", it);
    } else {
        uint64_t sum = checksum(&g);
        if (rank == 0) {
            if (!o.quiet)
                printf("heat2d: %lld steps (%lld in this run) in %.2f s, "
                       "max change %.6e\n",
                       it, it - start, elapsed, residual);
            printf("checksum %016" PRIx64 "\n", sum);
        }
    }

    if (bbuf) {
        void *addr;
        int size;
        MPI_Buffer_detach(&addr, &size);
        free(bbuf);
    }
    grid_free(&g);
    MPI_Finalize();
    return 0;
}
