/* File fuzzer of the store's read side (issue 11).
 *
 *   filefuzz SRCROOT WORK MPISNAP [--cases N] [--seed S] [--full]
 *            [--stride K] [--timeout S] [--mem MIB] [--only index|rank]
 *            [--rehash] [--legacy] [--offsets A,B,...] [--verbose]
 *
 * SRCROOT holds at least two committed snapshots of a real job.  It is
 * copied to WORK/root; then, one case at a time, the index and one rank
 * file of the newest snapshot are damaged (a byte flipped, the file
 * truncated or extended, or replaced by a FIFO, a symlink to /dev/zero or
 * a directory), and on each
 *   - the restore path (the store calls restore.c makes, in the same order,
 *     falling back on the same error codes) runs in a child process, and
 *   - `mpisnap list`, `verify` and `show` run on the damaged snapshot,
 * each under alarm(timeout) and RLIMIT_AS (mem).  A case passes when
 * nothing crashed, hung or ran out of its memory bound, and the restore
 * path either read the newest snapshot with exactly its original data or
 * refused it and read the previous one exactly; `verify` must not pass
 * a snapshot the restore path refuses.
 *
 * Default: a seeded sample of N cases (byte flips at random offsets with
 * random masks, plus every truncation, extension and special file).
 * --full: every byte of both files XOR 0xff instead of the sample (with
 * --stride K: every K-th byte).
 * --rehash: a hostile rank file rather than a damaged one: after each
 * change the index's checksum of the rank file (and index.h5.xxh64) are
 * made to match it.  Then only crashes, hangs, the memory bound and a
 * restore that stops instead of falling back fail: a file with a valid
 * checksum may say anything.
 * --legacy: the snapshots lose index.h5.xxh64 first, as if written before
 * it existed: then HDF5 parses damaged indexes, and the reader's own
 * checks (sizes, versions, error codes) are what is tested.
 * --offsets: also flip (XOR 0xff) these bytes of each file swept: cases
 * that once failed, kept as regression tests. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpisnap.h"
#include "store/h5_common.h"
#include "store/store.h"

/* Exit codes of the restore child. */
enum {
    R_NEWEST = 0,  /* newest read, data exact */
    R_PREV = 1,    /* newest refused, previous read exactly */
    R_WRONG = 2,   /* read, but the data differ */
    R_NONE = 3,    /* nothing readable (the previous one is intact) */
    R_STOPPED = 4, /* an error restore.c does not fall back on */
};

static const char *root_src, *work, *tool;
static char root[4096];
static unsigned timeout_s = 10, mem_mib = 1024;
static int verbose, rehash;
static size_t stride = 1; /* --full: every stride-th byte */
static const char *offsets = "";
static char index_path[4300];
static unsigned char *index_orig;
static size_t index_n;

/* ------------------------------------------------------------ pristine */

struct snapdata {
    uint64_t id;
    int nranks;
    struct ms__rankdata *rk; /* regions with buffers of their own */
};
static struct snapdata snaps[2]; /* newest, previous */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "filefuzz: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(2);
}

/* Read snapshot id entirely: regions (into new buffers), messages,
 * communicators, counters.  want: the program's regions (NULL: list them
 * from the file first, as a program would declare them). */
static int read_snapshot(uint64_t id, const struct ms__rankdata *like,
                         struct ms__rankdata *rk, int nranks_expected,
                         int *nranks)
{
    struct ms__index ix;
    int rc, worst = 0;

    rc = ms__store_read_index(root, id, &ix);
    if (rc < 0)
        return rc;
    *nranks = ix.nranks;
    if (nranks_expected > 0 && ix.nranks != nranks_expected) {
        ms__store_free_index(&ix);
        return MPISNAP_EMISMATCH; /* restore.c: a mismatch, no fallback */
    }
    for (int r = 0; r < ix.nranks && r < 64; r++) {
        struct ms__region want[64];
        const struct ms__rankdata *l = like ? &like[r] : NULL;
        size_t nw = 0;
        char err[512];

        if (!l) { /* listing pass: what the file holds */
            rc = ms__store_read_rank(root, id, r, ix.checksums[r], NULL, 0,
                                     &rk[r], err, sizeof err);
            if (rc < 0) {
                worst = rc < worst ? rc : worst;
                continue;
            }
            l = &rk[r];
        }
        for (size_t i = 0; i < l->nregions && nw < 64; i++) {
            want[nw] = l->regions[i];
            want[nw].base = calloc(1, want[nw].bytes ? want[nw].bytes : 1);
            nw++;
        }
        if (!like)
            ms__store_free_rankdata(&rk[r]);
        rc = ms__store_read_rank(root, id, r, ix.checksums[r], want, nw, &rk[r],
                                 err, sizeof err);
        if (rc < 0) {
            for (size_t i = 0; i < nw; i++)
                free(want[i].base);
            worst = rc < worst ? rc : worst;
            if (verbose)
                fprintf(stderr, "  snapshot %llu rank %d: %s\n",
                        (unsigned long long)id, r, err);
        }
    }
    ms__store_free_index(&ix);
    return worst;
}

static int same_rank(const struct ms__rankdata *a, const struct ms__rankdata *b)
{
    if (a->rank != b->rank || a->nranks != b->nranks ||
        a->snap_id != b->snap_id || a->point != b->point ||
        a->nregions != b->nregions || a->nmsgs != b->nmsgs ||
        a->ncomms != b->ncomms || a->ncounters != b->ncounters)
        return 0;
    for (size_t i = 0; i < a->nregions; i++) {
        const struct ms__region *x = &a->regions[i], *y = &b->regions[i];

        if (strcmp(x->name, y->name) || x->etype != y->etype ||
            x->count != y->count || x->bytes != y->bytes ||
            memcmp(x->base, y->base, x->bytes))
            return 0;
    }
    for (size_t i = 0; i < a->nmsgs; i++) {
        const struct ms__msg *x = &a->msgs[i], *y = &b->msgs[i];

        if (x->comm_id != y->comm_id || x->source != y->source ||
            x->tag != y->tag || x->pos != y->pos || x->nbytes != y->nbytes ||
            memcmp(x->data, y->data, x->nbytes))
            return 0;
    }
    for (size_t i = 0; i < a->ncomms; i++) {
        const struct ms__commrec *x = &a->comms[i], *y = &b->comms[i];

        if (x->id != y->id || x->parent != y->parent ||
            x->ordinal != y->ordinal || x->color != y->color ||
            x->ncoll != y->ncoll || x->size != y->size ||
            memcmp(x->world, y->world, (size_t)x->size * sizeof *x->world) ||
            memcmp(&x->ident, &y->ident, sizeof x->ident))
            return 0;
    }
    return memcmp(a->counters, b->counters,
                  a->ncounters * sizeof *a->counters) == 0;
}

/* ------------------------------------------------------- restore child */

/* What restore.c does: newest first; fall back only on ECORRUPT or EIO
 * (the worst code over all ranks). */
static int restore_path(void)
{
    uint64_t *ids = NULL;
    size_t n = 0;
    int64_t hi;

    if (ms__store_scan(root, 0, &ids, &n, &hi) < 0)
        return R_STOPPED;
    for (size_t i = 0; i < n; i++) {
        struct ms__rankdata rk[64];
        int nr = 0, rc;

        memset(rk, 0, sizeof rk);
        rc = read_snapshot(ids[i], snaps[0].rk, rk, snaps[0].nranks, &nr);
        if (rc == 0) {
            for (int k = 0; k < 2; k++)
                if (snaps[k].id == ids[i]) {
                    for (int r = 0; r < nr; r++)
                        if (!same_rank(&rk[r], &snaps[k].rk[r]))
                            return R_WRONG;
                    return k == 0 ? R_NEWEST : R_PREV;
                }
            return R_WRONG; /* some other snapshot */
        }
        if (verbose)
            fprintf(stderr, "  snapshot %llu: %s (%d)\n",
                    (unsigned long long)ids[i], ms__store_lasterr(), rc);
        if (rc != MPISNAP_ECORRUPT && rc != MPISNAP_EIO)
            return R_STOPPED;
    }
    return R_NONE;
}

static void limits(void)
{
    struct rlimit rl = {(rlim_t)mem_mib << 20, (rlim_t)mem_mib << 20};

#ifndef __SANITIZE_ADDRESS__ /* ASan reserves terabytes of address space */
    if (mem_mib)
        setrlimit(RLIMIT_AS, &rl);
#else
    (void)rl;
#endif
    alarm(timeout_s);
}

/* Run the restore path (argv NULL) or the tool in a child: the raw wait
 * status. */
static int run(char *const argv[])
{
    pid_t pid;
    int st;

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        limits();
        if (!argv)
            _exit(restore_path());
        if (!verbose) {
            int fd = open("/dev/null", O_WRONLY);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    return st;
}

/* ---------------------------------------------------------------- cases */

static unsigned char *slurp(const char *path, size_t *n);
static void spit(const char *path, const unsigned char *b, size_t n);

/* --rehash: the index says rank `rank`'s file is what it now is. */
static void index_accepts(const char *victim, int rank)
{
    uint64_t sums[64], sum;
    char dir[4300];
    hid_t f, ds;

    if (ms__store_file_checksum(victim, &sum, NULL) < 0)
        return; /* not a regular file: nothing to match */
    f = H5Fopen(index_path, H5F_ACC_RDWR, H5P_DEFAULT);
    ds = H5Dopen2(f, "checksums", H5P_DEFAULT);
    if (f < 0 || ds < 0 ||
        H5Dread(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, sums) < 0)
        die("cannot update %s", index_path);
    sums[rank] = sum;
    H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, sums);
    H5Dclose(ds);
    H5Fclose(f);
    snprintf(dir, sizeof dir, "%s", index_path);
    *strrchr(dir, '/') = '\0';
    strcat(dir, "/" MS_H5_INDEX_SUM);
    unlink(dir);
    *strrchr(dir, '/') = '\0';
    if (ms__store_write_index_sum(dir) < 0)
        die("cannot write the checksum of %s", index_path);
}

static void index_restore(void)
{
    char sumpath[4400];

    snprintf(sumpath, sizeof sumpath, "%s.xxh64", index_path);
    spit(index_path, index_orig, index_n);
    unlink(sumpath);
    *strrchr(sumpath, '/') = '\0';
    ms__store_write_index_sum(sumpath);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    struct stat st;

    if (!f || fstat(fileno(f), &st) < 0)
        die("cannot read %s", path);
    b = malloc((size_t)st.st_size + 1);
    *n = fread(b, 1, (size_t)st.st_size, f);
    fclose(f);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0)
        die("cannot write %s", path);
}

/* Remove whatever path is now (file, FIFO, symlink, directory). */
static void clear(const char *path)
{
    if (unlink(path) < 0)
        rmdir(path);
}

enum kind { FLIP, TRUNC, EXTEND, FIFO_, DEVZERO, DIR_ };
static const char *kind_name[] = {"flip", "truncate", "extend",
                                  "fifo", "devzero",  "directory"};

struct stats {
    unsigned cases, newest, prev, hostile, bad;
    unsigned crash, hang, wrong, none, stopped, cli_crash, cli_hang,
        cli_disagree, cli_stricter;
};

static const char *status_text(int st, char *buf, size_t n)
{
    if (WIFSIGNALED(st))
        snprintf(buf, n, "signal %d%s", WTERMSIG(st),
                 WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
    else
        snprintf(buf, n, "exit %d", WEXITSTATUS(st));
    return buf;
}

static void one_case(struct stats *s, const char *victim, enum kind k,
                     size_t off, unsigned mask, size_t len,
                     const unsigned char *orig, size_t n)
{
    char newest[4200], buf[64], what[200];
    char *list[] = {(char *)tool, "list", root, NULL};
    char *verify[] = {(char *)tool, "verify", newest, NULL};
    char *show[] = {(char *)tool, "show", newest, NULL};
    char *const *cli[] = {list, verify, show};
    unsigned char *d = NULL;
    int st, res, bad = 0;

    snprintf(newest, sizeof newest, "%s:%llu", root,
             (unsigned long long)snaps[0].id);
    clear(victim);
    switch (k) {
    case FLIP:
        d = malloc(n);
        memcpy(d, orig, n);
        d[off] ^= (unsigned char)mask;
        spit(victim, d, n);
        snprintf(what, sizeof what, "flip byte %zu ^ 0x%02x", off, mask);
        break;
    case TRUNC:
        spit(victim, orig, len);
        snprintf(what, sizeof what, "truncate to %zu of %zu bytes", len, n);
        break;
    case EXTEND:
        d = calloc(1, n + len);
        memcpy(d, orig, n);
        for (size_t i = n; i < n + len; i++)
            d[i] = (unsigned char)(i * 2654435761u >> 24);
        spit(victim, d, n + len);
        snprintf(what, sizeof what, "extend by %zu bytes", len);
        break;
    case FIFO_:
        if (mkfifo(victim, 0600) < 0)
            die("mkfifo %s: %s", victim, strerror(errno));
        snprintf(what, sizeof what, "a FIFO");
        break;
    case DEVZERO:
        if (symlink("/dev/zero", victim) < 0)
            die("symlink %s: %s", victim, strerror(errno));
        snprintf(what, sizeof what, "a symlink to /dev/zero");
        break;
    case DIR_:
        if (mkdir(victim, 0700) < 0)
            die("mkdir %s: %s", victim, strerror(errno));
        snprintf(what, sizeof what, "a directory");
        break;
    }
    free(d);
    if (rehash)
        index_accepts(victim, snaps[0].nranks > 1);

    s->cases++;
    st = run(NULL);
    res = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (res == R_NEWEST)
        s->newest++;
    else if (res == R_PREV)
        s->prev++;
    else if (rehash && res == R_WRONG)
        s->hostile++; /* valid checksum: believed, as it must be */
    else {
        bad = 1;
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
            s->hang++;
        else if (WIFSIGNALED(st))
            s->crash++;
        else if (res == R_WRONG)
            s->wrong++;
        else if (res == R_NONE)
            s->none++;
        else
            s->stopped++;
        printf("FAIL  %s: %s: restore path: %s%s\n", victim, what,
               status_text(st, buf, sizeof buf),
               res == R_WRONG     ? " (data differ)"
               : res == R_NONE    ? " (no snapshot readable)"
               : res == R_STOPPED ? " (stopped: no fallback)"
                                  : "");
    }
    for (int c = 0; c < 3; c++) {
        int cs = run(cli[c]), code = WIFEXITED(cs) ? WEXITSTATUS(cs) : -1;

        if (WIFSIGNALED(cs) || code > 2) {
            bad = 1;
            if (WIFSIGNALED(cs) && WTERMSIG(cs) == SIGALRM)
                s->cli_hang++;
            else
                s->cli_crash++;
            printf("FAIL  %s: %s: mpisnap %s: %s\n", victim, what, cli[c][1],
                   status_text(cs, buf, sizeof buf));
        } else if (!rehash && c == 1 && res == R_PREV && code == 0) {
            /* verify guards restarts in job scripts: it must never pass a
             * snapshot the restart refuses. */
            bad = 1;
            s->cli_disagree++;
            printf("FAIL  %s: %s: mpisnap verify says OK, the restore path "
                   "refuses the snapshot\n",
                   victim, what);
        } else if (!rehash && c == 1 && res == R_NEWEST && code != 0) {
            /* Stricter than the restart (an index value the restart does
             * not use, in a snapshot without index.h5.xxh64): noted. */
            s->cli_stricter++;
            if (verbose)
                printf("note  %s: %s: mpisnap verify exits %d, the restore "
                       "path reads the snapshot exactly\n",
                       victim, what, code);
        }
    }
    s->bad += bad;
    if (verbose && !bad)
        printf("ok    %s: %s: %s\n", victim, what,
               res == R_NEWEST ? "read exactly" : "refused, fell back");
    clear(victim);
    spit(victim, orig, n);
    if (rehash)
        index_restore();
}

static void sweep(struct stats *s, const char *victim, int full,
                  unsigned ncases, unsigned *seed)
{
    size_t n, trunc[6];
    unsigned char *orig = slurp(victim, &n);

    printf("victim %s: %zu bytes\n", victim, n);
    for (const char *p = offsets; *p;) {
        char *end;
        size_t off = strtoul(p, &end, 10);

        if (end == p)
            die("--offsets: not a list of numbers: %s", offsets);
        if (off < n)
            one_case(s, victim, FLIP, off, 0xff, 0, orig, n);
        p = *end == ',' ? end + 1 : end;
    }
    if (full)
        for (size_t off = 0; off < n; off += stride)
            one_case(s, victim, FLIP, off, 0xff, 0, orig, n);
    else
        for (unsigned i = 0; i < ncases; i++)
            one_case(s, victim, FLIP, (size_t)rand_r(seed) % n,
                     1 + (unsigned)rand_r(seed) % 255, 0, orig, n);
    trunc[0] = 0, trunc[1] = 1, trunc[2] = 8, trunc[3] = n / 2;
    trunc[4] = n - 8, trunc[5] = n - 1;
    for (int i = 0; i < 6; i++)
        one_case(s, victim, TRUNC, 0, 0, trunc[i], orig, n);
    one_case(s, victim, EXTEND, 0, 0, 1, orig, n);
    one_case(s, victim, EXTEND, 0, 0, 4096, orig, n);
    one_case(s, victim, EXTEND, 0, 0, 1 << 20, orig, n);
    one_case(s, victim, FIFO_, 0, 0, 0, orig, n);
    one_case(s, victim, DEVZERO, 0, 0, 0, orig, n);
    one_case(s, victim, DIR_, 0, 0, 0, orig, n);
    free(orig);
    (void)kind_name;
}

int main(int argc, char **argv)
{
    unsigned ncases = 300, seed = 1;
    uint64_t *ids = NULL;
    size_t nids = 0;
    int64_t hi;
    int full = 0, legacy = 0;
    const char *only = "";
    char cmd[9000], victim[4300];
    struct stats s = {0};

    if (argc < 4)
        die("%s", "usage: filefuzz SRCROOT WORK MPISNAP [--cases N] "
                  "[--seed S] [--full] [--stride K] [--timeout S] [--mem MIB] "
                  "[--only index|rank] [--rehash] [--legacy] [--offsets LIST] "
                  "[--verbose]");
    root_src = argv[1], work = argv[2], tool = argv[3];
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--full") == 0)
            full = 1;
        else if (i + 1 < argc && strcmp(argv[i], "--stride") == 0)
            stride = (size_t)atoi(argv[++i]) > 0 ? (size_t)atoi(argv[i]) : 1;
        else if (i + 1 < argc && strcmp(argv[i], "--offsets") == 0)
            offsets = argv[++i];
        else if (strcmp(argv[i], "--legacy") == 0)
            legacy = 1;
        else if (strcmp(argv[i], "--rehash") == 0)
            rehash = 1;
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else if (i + 1 < argc && strcmp(argv[i], "--cases") == 0)
            ncases = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--seed") == 0)
            seed = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (i + 1 < argc && strcmp(argv[i], "--timeout") == 0)
            timeout_s = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--only") == 0)
            only = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--mem") == 0)
            mem_mib = (unsigned)atoi(argv[++i]);
        else
            die("unknown argument %s", argv[i]);
    }
    snprintf(root, sizeof root, "%s/root", work);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp -a '%s' '%s'",
             root, work, root_src, root);
    if (system(cmd) != 0)
        die("cannot copy %s", root_src);
    snprintf(cmd, sizeof cmd, "rm -f '%s'/snap-*/" MS_H5_INDEX_SUM, root);
    if (legacy && system(cmd) != 0)
        die("cannot remove the index checksums in %s", root);
    if (ms__store_scan(root, 0, &ids, &nids, &hi) < 0 || nids < 2)
        die("%s: needs two committed snapshots", root_src);
    for (int k = 0; k < 2; k++) {
        snaps[k].id = ids[k];
        snaps[k].rk = calloc(64, sizeof *snaps[k].rk);
        if (read_snapshot(ids[k], NULL, snaps[k].rk, 0, &snaps[k].nranks) < 0)
            die("the original snapshot cannot be read: %s",
                ms__store_lasterr());
    }
    free(ids);
    printf("filefuzz: %s, snapshots %llu (damaged) and %llu, seed %u, %s\n",
           root, (unsigned long long)snaps[0].id,
           (unsigned long long)snaps[1].id, seed,
           full ? "every byte" : "sample");
    ms__store_snapdir(victim, sizeof victim, root, snaps[0].id, 0);
    strcat(victim, "/index.h5");
    snprintf(index_path, sizeof index_path, "%s", victim);
    index_orig = slurp(index_path, &index_n);
    if (strcmp(only, "rank") != 0 && !rehash)
        sweep(&s, victim, full, ncases / 2, &seed);
    ms__store_snapdir(victim, sizeof victim, root, snaps[0].id, 0);
    strcat(victim, snaps[0].nranks > 1 ? "/rank-000001.h5" : "/rank-000000.h5");
    if (strcmp(only, "index") != 0)
        sweep(&s, victim, full, ncases - ncases / 2, &seed);
    if (rehash)
        printf("filefuzz: %u hostile files read as they say (valid "
               "checksum)\n",
               s.hostile);
    printf("filefuzz: %u cases: %u read exactly, %u refused with fallback; "
           "%u failed: restore path %u crash, %u hang, %u wrong data, "
           "%u nothing readable, %u stopped; CLI %u crash, %u hang, "
           "%u verify passes what the restore refuses (%u times verify "
           "refused what the restore read exactly)\n",
           s.cases, s.newest, s.prev, s.bad, s.crash, s.hang, s.wrong, s.none,
           s.stopped, s.cli_crash, s.cli_hang, s.cli_disagree, s.cli_stricter);
    return s.bad ? 1 : 0;
}
