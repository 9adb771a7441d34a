/* mpisnap_restore() misuse and all-or-nothing restores (issue 11, items 9
 * and 10).
 *
 *   restore_api snapshot   protect, restore (fresh start), commit one
 *                          snapshot
 *   restore_api fresh      a fresh start (MPISNAP_RESTART=never): restore
 *                          again and protect afterwards must fail with
 *                          MPISNAP_ESTATE
 *   restore_api twice      restart from it: the first restore returns 1, a
 *                          second one and a later protect MPISNAP_ESTATE,
 *                          and the state stays the restored one
 *   restore_api damaged    rank 0 damages rank 1's file of every
 *                          snapshot, then every rank restores: the restore
 *                          fails on every rank and no rank's regions were
 *                          written (a fresh start gets untouched state)
 *
 * MPISNAP_DIR names the snapshot directory.  Prints PASS or FAIL. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpisnap.h"
#include "mpitest.h"

#define N 8
static int step;
static double u[N];

/* The values of a run that reached step s. */
static double value(int i, int s)
{
    return 1000.0 * mt_rank + 10.0 * s + i;
}

static void set_state(int s)
{
    step = s;
    for (int i = 0; i < N; i++)
        u[i] = value(i, s);
}

static void assert_state(int s)
{
    ASSERT_EQ_INT(step, s);
    ASSERT_SEQ(u, N, i, value(i, s));
}

static void protect_all(void)
{
    ASSERT_EQ_INT(mpisnap_protect("step", &step, 1, MPI_INT), 0);
    ASSERT_EQ_INT(mpisnap_protect("u", u, N, MPI_DOUBLE), 0);
}

/* Misuse after the first mpisnap_restore(): errors, nothing changes. */
static void assert_misuse_refused(int s)
{
    int extra = 5;

    ASSERT_EQ_INT(mpisnap_restore(), MPISNAP_ESTATE);
    ASSERT_EQ_INT(mpisnap_protect("extra", &extra, 1, MPI_INT), MPISNAP_ESTATE);
    assert_state(s);
}

static void take_snapshot(void)
{
    int done = 0;

    for (int s = 49; s < 200 && !done; s++) {
        set_state(s);
        if (s == 50 && mt_rank == 0)
            ASSERT_EQ_INT(mpisnap_request(), 0);
        ASSERT_CMP_INT(mpisnap_point(), >=, 0);
        int mine = mpisnap_last_committed() >= 0;
        MT_OK(MPI_Allreduce(&mine, &done, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    }
    ASSERT_TRUE(done);
}

/* Cut the file at path to half its size (again and again, should the
 * test be repeated: still damaged). */
static void cut(const char *path)
{
    struct stat st;

    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(truncate(path, st.st_size / 2), 0);
}

/* Rank 0 damages rank 1's file of every committed snapshot. */
static void damage_rank1(void)
{
    const char *root = getenv("MPISNAP_DIR");
    char path[4096];
    struct dirent *e;
    DIR *d;
    int n = 0;

    if (mt_rank == 0 && (d = opendir(root))) {
        while ((e = readdir(d)))
            if (!strncmp(e->d_name, "snap-", 5) && !strchr(e->d_name, '.')) {
                snprintf(path, sizeof path, "%s/%s/rank-000001.h5", root,
                         e->d_name);
                cut(path);
                n++;
            }
        closedir(d);
        ASSERT_CMP_INT(n, >, 0);
    }
    MT_OK(MPI_Barrier(MPI_COMM_WORLD));
}

int main(int argc, char **argv)
{
    const char *mode = argc >= 2 ? argv[1] : "";

    mt_init(&argc, &argv, 2);
    set_state(-7);
    protect_all();
    if (!strcmp(mode, "snapshot")) {
        ASSERT_EQ_INT(mpisnap_restore(), 0);
        take_snapshot();
    } else if (!strcmp(mode, "fresh")) {
        ASSERT_EQ_INT(mpisnap_restore(), 0);
        assert_misuse_refused(-7);
    } else if (!strcmp(mode, "twice")) {
        ASSERT_EQ_INT(mpisnap_restore(), 1);
        ASSERT_CMP_INT(step, >=, 50);
        assert_state(step);
        assert_misuse_refused(step);
    } else if (!strcmp(mode, "damaged")) {
        damage_rank1();
        ASSERT_CMP_INT(mpisnap_restore(), <, 0);
        assert_state(-7);
        /* The program starts fresh and can still take a snapshot. */
        ASSERT_EQ_INT(mpisnap_point(), 0);
    } else {
        fprintf(stderr, "usage: restore_api snapshot|fresh|twice|damaged\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return mt_finish(0);
}
