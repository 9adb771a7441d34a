/* Unit test of the store's read side against damaged and hostile files
 * (issue 11, items 5-7): the index is verified before HDF5 parses it,
 * dataset sizes are checked against the file before anything is
 * allocated, and only regular files are opened.  No MPI.
 * Usage: test_store_read WORKDIR [TEST]. */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "assert.h"
#include "mpisnap.h"
#include "store/store.h"

#define NU 100
#define APP "read-test-app"

static char work[1024];
static double u[NU];
static unsigned char pay[64] = "in flight";

/* A committed 2-rank snapshot `id` in root; ix->checksums stays allocated. */
static void snapshot(const char *root, uint64_t id, struct ms__index *ix)
{
    struct ms__region r = {"u", u, NU, MS_T_DOUBLE, sizeof u};
    struct ms__msg m = {1, 1, 7, 1, sizeof pay, pay};
    int32_t world[2] = {0, 1};
    struct ms__commrec c = {1, 0, 0, -1, 3, 2, world, {0}};
    uint64_t sum, bytes;

    memset(ix, 0, sizeof *ix);
    ix->snap_id = id;
    ix->nranks = 2;
    ix->point = 77;
    snprintf(ix->app, sizeof ix->app, APP);
    ix->checksums = calloc(2, sizeof *ix->checksums);
    ASSERT_EQ_INT(ms__store_begin(root, id), 0);
    for (int rank = 0; rank < 2; rank++) {
        struct ms__rankdata d = {.rank = rank,
                                 .nranks = 2,
                                 .snap_id = id,
                                 .point = 77,
                                 .nregions = 1,
                                 .regions = &r,
                                 .nmsgs = 1,
                                 .msgs = &m,
                                 .ncomms = 1,
                                 .comms = &c};

        ASSERT_EQ_INT(ms__store_write_rank(root, &d, &sum, &bytes), 0);
        ix->checksums[rank] = sum;
        ix->bytes += bytes;
        ix->nmsgs++;
    }
    ASSERT_EQ_INT(ms__store_commit(root, ix, 10), 0);
}

static void newroot(char *out, size_t n, const char *sub)
{
    char cmd[2100];

    snprintf(out, n, "%s/%s", work, sub);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    ASSERT_EQ_INT(system(cmd), 0);
}

static void snapfile(char *out, size_t n, const char *root, uint64_t id,
                     const char *name)
{
    char dir[1200];

    ms__store_snapdir(dir, sizeof dir, root, id, 0);
    snprintf(out, n, "%s/%s", dir, name);
}

/* Run f in a child under alarm(5) (a hang fails) and, when mem_mib > 0,
 * RLIMIT_AS: the child's exit status must be 0. */
static void in_child(void (*f)(const char *), const char *arg, unsigned mem_mib)
{
    pid_t pid;
    int st;

    fflush(NULL);
    pid = fork();
    ASSERT_CMP_INT(pid, >=, 0);
    if (pid == 0) {
#ifndef __SANITIZE_ADDRESS__ /* ASan reserves terabytes of address space */
        struct rlimit rl = {(rlim_t)mem_mib << 20, (rlim_t)mem_mib << 20};

        if (mem_mib)
            setrlimit(RLIMIT_AS, &rl);
#else
        (void)mem_mib;
#endif
        alarm(5);
        f(arg);
        exit(0);
    }
    ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st))
        fprintf(stderr, "child killed by signal %d%s\n", WTERMSIG(st),
                WTERMSIG(st) == SIGALRM ? " (it hung)" : "");
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ_INT(WEXITSTATUS(st), 0);
}

/* ------------------------------------------------------------ the index */

/* Commit writes index.h5.xxh64: the XXH64 of index.h5 as xxh64sum prints
 * it. */
static void test_index_sum_written(void)
{
    char root[1100], path[1300], line[128], want[128];
    struct ms__index ix;
    uint64_t sum;
    FILE *f;

    newroot(root, sizeof root, "sum");
    snapshot(root, 3, &ix);
    snapfile(path, sizeof path, root, 3, "index.h5");
    ASSERT_EQ_INT(ms__store_file_checksum(path, &sum, NULL), 0);
    snprintf(want, sizeof want, "%016llx  index.h5\n", (unsigned long long)sum);
    snapfile(path, sizeof path, root, 3, "index.h5.xxh64");
    f = fopen(path, "r");
    ASSERT_TRUE(f);
    ASSERT_TRUE(fgets(line, sizeof line, f));
    fclose(f);
    ASSERT_STREQ(line, want);
    free(ix.checksums);
}

/* A flipped byte that HDF5 cannot notice (inside the `app` attribute's
 * value) is refused: the index is verified before it is parsed. */
static void test_index_flip(void)
{
    char root[1100], path[1300];
    struct ms__index ix, rix;
    unsigned char *buf, *hit;
    struct stat st;
    FILE *f;

    newroot(root, sizeof root, "flip");
    snapshot(root, 4, &ix);
    snapfile(path, sizeof path, root, 4, "index.h5");
    ASSERT_EQ_INT(stat(path, &st), 0);
    buf = malloc((size_t)st.st_size);
    f = fopen(path, "r+b");
    ASSERT_TRUE(f);
    ASSERT_EQ_U64(fread(buf, 1, (size_t)st.st_size, f), (uint64_t)st.st_size);
    hit = memmem(buf, (size_t)st.st_size, APP, strlen(APP));
    ASSERT_TRUE(hit);
    fseek(f, (long)(hit - buf), SEEK_SET);
    fputc('R', f); /* "read-..." -> "Read-..." */
    fclose(f);
    free(buf);
    ASSERT_EQ_INT(ms__store_read_index(root, 4, &rix), MPISNAP_ECORRUPT);
    ASSERT_STRSTR(ms__store_lasterr(), "index.h5: checksum mismatch");
    free(ix.checksums);
}

/* A damaged index.h5.xxh64 refuses the snapshot too; a missing one (a
 * snapshot written before it existed) leaves the index readable. */
static void test_index_sum_file(void)
{
    char root[1100], path[1300];
    struct ms__index ix, rix;
    FILE *f;

    newroot(root, sizeof root, "sumfile");
    snapshot(root, 5, &ix);
    snapfile(path, sizeof path, root, 5, "index.h5.xxh64");
    f = fopen(path, "w");
    ASSERT_TRUE(f);
    fputs("not a checksum\n", f);
    fclose(f);
    ASSERT_EQ_INT(ms__store_read_index(root, 5, &rix), MPISNAP_ECORRUPT);
    ASSERT_STRSTR(ms__store_lasterr(), "index.h5.xxh64");
    ASSERT_EQ_INT(unlink(path), 0);
    ASSERT_EQ_INT(ms__store_read_index(root, 5, &rix), 0);
    ASSERT_STREQ(rix.app, APP);
    ASSERT_EQ_U64(rix.checksums[1], ix.checksums[1]);
    ms__store_free_index(&rix);
    free(ix.checksums);
}

static void read_index_refused(const char *root)
{
    struct ms__index rix;

    ASSERT_EQ_INT(ms__store_read_index(root, 6, &rix), MPISNAP_ECORRUPT);
    ASSERT_STRSTR(ms__store_lasterr(), "not a regular file");
}

/* index.h5 a FIFO, a symlink to /dev/zero: refused at once. */
static void test_index_special(void)
{
    char root[1100], path[1300];
    struct ms__index ix;

    newroot(root, sizeof root, "special");
    snapshot(root, 6, &ix);
    snapfile(path, sizeof path, root, 6, "index.h5");
    ASSERT_EQ_INT(unlink(path), 0);
    ASSERT_EQ_INT(mkfifo(path, 0600), 0);
    in_child(read_index_refused, root, 0);
    ASSERT_EQ_INT(unlink(path), 0);
    ASSERT_EQ_INT(symlink("/dev/zero", path), 0);
    in_child(read_index_refused, root, 0);
    free(ix.checksums);
}

/* ------------------------------------------------------------ rank files */

static void read_rank_file_refused(const char *path)
{
    struct ms__rankdata d;
    char err[512];

    ASSERT_EQ_INT(ms__store_read_rank_file(path, NULL, 0, &d, err, sizeof err),
                  MPISNAP_ECORRUPT);
    ASSERT_STRSTR(err, "not a regular file");
}

/* The tool reads rank files of partial snapshots without a checksum: a
 * FIFO or a symlink to /dev/zero there is refused, not waited for. */
static void test_rank_special(void)
{
    char root[1100], path[1300];

    newroot(root, sizeof root, "rankspecial");
    ASSERT_EQ_INT(ms__store_begin(root, 1), 0);
    ms__store_snapdir(path, sizeof path, root, 1, 1);
    strcat(path, "/rank-000000.h5");
    ASSERT_EQ_INT(mkfifo(path, 0600), 0);
    in_child(read_rank_file_refused, path, 0);
    ASSERT_EQ_INT(unlink(path), 0);
    ASSERT_EQ_INT(symlink("/dev/zero", path), 0);
    in_child(read_rank_file_refused, path, 0);
}

/* Replace /channels/payload of a rank file by a dataset that declares
 * 8 GiB (chunked, nothing written: the file stays small). */
static void inflate_payload(const char *path)
{
    hsize_t dim = 1ULL << 33, max = H5S_UNLIMITED, chunk = 1 << 20;
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), sp, dcpl, ds;

    ASSERT_CMP_INT(f, >=, 0);
    ASSERT_CMP_INT(H5Ldelete(f, "channels/payload", H5P_DEFAULT), >=, 0);
    sp = H5Screate_simple(1, &dim, &max);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    ASSERT_CMP_INT(H5Pset_chunk(dcpl, 1, &chunk), >=, 0);
    ASSERT_CMP_INT(H5Pset_fletcher32(dcpl), >=, 0);
    ds = H5Dcreate2(f, "channels/payload", H5T_NATIVE_UINT8, sp, H5P_DEFAULT,
                    dcpl, H5P_DEFAULT);
    ASSERT_CMP_INT(ds, >=, 0);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    ASSERT_CMP_INT(H5Fclose(f), >=, 0);
}

static const char *huge_root;

static void read_huge(const char *path)
{
    struct ms__rankdata d;
    uint64_t sum;
    char err[512];

    ASSERT_EQ_INT(ms__store_read_rank_file(path, NULL, 0, &d, err, sizeof err),
                  MPISNAP_ECORRUPT);
    ASSERT_STRSTR(err, "channels/payload");
    /* The restart's read, with a checksum that matches the file. */
    ASSERT_EQ_INT(ms__store_file_checksum(path, &sum, NULL), 0);
    ASSERT_EQ_INT(
        ms__store_read_rank(huge_root, 8, 1, sum, NULL, 0, &d, err, sizeof err),
        MPISNAP_ECORRUPT);
    ASSERT_STRSTR(err, "channels/payload");
}

/* A small file whose dataset declares 8 GiB is refused before anything is
 * allocated (under a 1 GiB address-space limit). */
static void test_huge_dataset(void)
{
    char root[1100], path[1300];
    struct ms__index ix;
    struct stat st;

    newroot(root, sizeof root, "huge");
    snapshot(root, 8, &ix);
    snapfile(path, sizeof path, root, 8, "rank-000001.h5");
    inflate_payload(path);
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_CMP_INT(st.st_size, <, 1 << 20);
    huge_root = root;
    in_child(read_huge, path, 1024);
    free(ix.checksums);
}

static void read_sparse(const char *root)
{
    struct ms__index ix;
    struct ms__rankdata d;
    char err[512];

    ASSERT_EQ_INT(ms__store_read_index(root, 9, &ix), 0);
    ASSERT_EQ_INT(ms__store_read_rank(root, 9, 1, ix.checksums[1], NULL, 0, &d,
                                      err, sizeof err),
                  MPISNAP_ECORRUPT);
    ASSERT_STRSTR(err, "more than all rank files");
    ms__store_free_index(&ix);
}

/* A rank file extended (sparsely) to 1 TiB is refused at once, not
 * checksummed for minutes: no rank file is larger than the index's total. */
static void test_sparse_rank(void)
{
    char root[1100], path[1300];
    struct ms__index ix;

    newroot(root, sizeof root, "sparse");
    snapshot(root, 9, &ix);
    snapfile(path, sizeof path, root, 9, "rank-000001.h5");
    ASSERT_EQ_INT(truncate(path, 1LL << 40), 0);
    in_child(read_sparse, root, 0);
    ASSERT_EQ_INT(unlink(path), 0); /* do not leave 1 TiB (sparse) behind */
    free(ix.checksums);
}

static const struct {
    const char *name;
    void (*f)(void);
} tests[] = {
    {"index_sum_written", test_index_sum_written},
    {"index_flip", test_index_flip},
    {"index_sum_file", test_index_sum_file},
    {"index_special", test_index_special},
    {"rank_special", test_rank_special},
    {"huge_dataset", test_huge_dataset},
    {"sparse_rank", test_sparse_rank},
};

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: test_store_read WORKDIR [TEST]\n");
        return 2;
    }
    snprintf(work, sizeof work, "%s", argv[1]);
    mkdir(work, 0755);
    for (int i = 0; i < NU; i++)
        u[i] = i * 0.25;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (argc == 2 || strcmp(argv[2], tests[i].name) == 0) {
            printf("%s\n", tests[i].name);
            tests[i].f();
        }
    printf("test_store_read: all passed\n");
    return 0;
}
