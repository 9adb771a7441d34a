/* cut_held: messages the library holds, or the program has half received,
 * across checkpoint cuts (issue 10, defects 1-3 and truncation), for the
 * restart test cut_held.sh.  2 ranks, MPISNAP_EVERY=K takes the snapshots.
 *
 *   cut_held MODE [--steps N]     (N: 50; 80 for freed and freedreq)
 *
 * Point k (1-based) comes before step k-1; a step takes 20 ms.  Rank 1 sends
 * one message X (8 int64, tag 21) before the cut; rank 0 takes it after the
 * cut:
 *
 *   queued    X sent at step 2, received at step 40: a snapshot at point 5
 *             drains X into the library's queue; every later one (10, 15,
 *             ...) must still log it as in flight.
 *   mprobe    X sent at step 7; rank 1 sleeps at step 8 so that its marker
 *             for point 10 comes late; rank 0 matches X with MPI_Mprobe at
 *             step 9, in that snapshot's window (open for about 100 ms),
 *             and receives it with MPI_Mrecv at step 25, after the window.
 *   improbe   the same with MPI_Improbe and MPI_Imrecv + MPI_Wait.
 *   freed     X sent at step 2 on a duplicate of MPI_COMM_WORLD that rank 1
 *             frees at once (rank 0 keeps its side), received at step 40.
 *   freedreq  as freed, but X is sent with a persistent request that rank 1
 *             keeps (inactive) until the end: the freed duplicate stays in
 *             use, and its counts must still reach the cut.
 *   freedlate X sent at step 7 on a duplicate that rank 1 frees at once; in
 *             flight at the cut of point 10; rank 0 receives it at step 9
 *             and frees its side at once, while rank 1 sleeps after its cut
 *             so that the snapshot commits only later: every later snapshot
 *             must still commit (the freed stream's counts stay balanced).
 *   truncate  X sent at step 7, rank 1 sleeps at step 8; rank 0 receives
 *             it at step 9, in the window, into 4 elements: MPI_ERR_TRUNCATE
 *             (errors return), and the restart must truncate again.
 *
 * State: the step and a hash of what rank 0 received (values, error
 * class); "restored step S" after a restore; "checksum X" at the end. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>
#include <mpisnap.h>

#include "mpitest.h"

enum { TAG_X = 21, NX = 8 };

static int64_t step;
static uint64_t acc;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void absorb(uint64_t v)
{
    acc = mix64(acc + v);
}

static int64_t xs[NX];

/* X to rank 0; *keep: a persistent request, left inactive, else none. */
static void send_x(MPI_Comm comm, MPI_Request *keep)
{
    for (int i = 0; i < NX; i++)
        xs[i] = 1000 + i;
    if (!keep) {
        MT_OK(MPI_Send(xs, NX, MPI_INT64_T, 0, TAG_X, comm));
        return;
    }
    MT_OK(MPI_Send_init(xs, NX, MPI_INT64_T, 0, TAG_X, comm, keep));
    MT_OK(MPI_Start(keep));
    MT_OK(MPI_Wait(keep, MPI_STATUS_IGNORE));
}

static void check_x(const int64_t *x, int n, MPI_Status *st)
{
    ASSERT_STATUS(*st, 1, TAG_X);
    for (int i = 0; i < n; i++) {
        ASSERT_EQ_INT(x[i], 1000 + i);
        absorb((uint64_t)x[i]);
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc >= 2 ? argv[1] : "";
    long long steps = 50;
    int64_t x[NX];
    MPI_Comm dup = MPI_COMM_NULL;
    MPI_Request preq = MPI_REQUEST_NULL;
    MPI_Message msg;
    MPI_Status st;
    int restored, rc, send_at, sleep_at, recv_at, probe_at = -1;

    /* freed*: room for snapshots after the receive at step 40 */
    if (!strncmp(mode, "freed", 5) && strcmp(mode, "freedlate") != 0)
        steps = 80;
    if (argc == 4 && !strcmp(argv[2], "--steps"))
        steps = atoll(argv[3]);
    mt_init(&argc, &argv, 2);
    if (mt_rank == 0)
        setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(mode, "queued") || !strcmp(mode, "freed") ||
        !strcmp(mode, "freedreq")) {
        send_at = 2, sleep_at = -1, recv_at = 40;
    } else if (!strcmp(mode, "mprobe") || !strcmp(mode, "improbe")) {
        send_at = 7, sleep_at = 8, probe_at = 9, recv_at = 25;
    } else if (!strcmp(mode, "freedlate")) {
        send_at = 7, sleep_at = 9, recv_at = 9;
    } else if (!strcmp(mode, "truncate")) {
        send_at = 7, sleep_at = 8, recv_at = 9;
    } else {
        if (mt_rank == 0)
            fprintf(stderr, "usage: cut_held queued|mprobe|improbe|freed|"
                            "freedreq|freedlate|truncate [--steps N]\n");
        MPI_Finalize();
        return 2;
    }

    ASSERT_EQ_INT(mpisnap_protect("step", &step, 1, MPI_INT64_T), 0);
    ASSERT_EQ_INT(mpisnap_protect("acc", &acc, 1, MPI_UINT64_T), 0);
    restored = mpisnap_restore();
    if (restored < 0) {
        fprintf(stderr, "mpisnap_restore: %s\n", mpisnap_strerror(restored));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (restored && mt_rank == 0)
        printf("restored step %" PRId64 "\n", step);
    if (!strcmp(mode, "freed") || !strcmp(mode, "freedreq") ||
        !strcmp(mode, "freedlate")) {
        /* Re-created after a restore (same creation call, same id); rank 1
         * freed its side right after its send, rank 0 (freedlate) right
         * after its receive. */
        MT_OK(MPI_Comm_dup(MPI_COMM_WORLD, &dup));
        if ((mt_rank == 1 && step > send_at) ||
            (mt_rank == 0 && step > recv_at && !strcmp(mode, "freedlate")))
            MT_OK(MPI_Comm_free(&dup));
    }
    MT_OK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));

    for (;;) {
        rc = mpisnap_point();
        ASSERT_CMP_INT(rc, >=, 0);
        if (step >= steps)
            break;
        mt_sleep_ms(20); /* time for each snapshot to end before the next */
        if (mt_rank == 1 && step == send_at) {
            send_x(dup != MPI_COMM_NULL ? dup : MPI_COMM_WORLD,
                   !strcmp(mode, "freedreq") ? &preq : NULL);
            if (dup != MPI_COMM_NULL)
                MT_OK(MPI_Comm_free(&dup)); /* the send has completed */
        }
        if (mt_rank == 1 && step == sleep_at)
            mt_sleep_ms(100); /* this rank's marker comes late */
        if (mt_rank == 0 && step == probe_at) {
            if (!strcmp(mode, "mprobe")) {
                MT_OK(MPI_Mprobe(1, TAG_X, MPI_COMM_WORLD, &msg, &st));
            } else {
                int flag = 0;
                while (!flag)
                    MT_OK(MPI_Improbe(1, TAG_X, MPI_COMM_WORLD, &flag, &msg,
                                      &st));
            }
            ASSERT_STATUS(st, 1, TAG_X);
        }
        if (mt_rank == 0 && step == recv_at) {
            memset(x, 0, sizeof x);
            if (!strcmp(mode, "mprobe")) {
                MT_OK(MPI_Mrecv(x, NX, MPI_INT64_T, &msg, &st));
                check_x(x, NX, &st);
            } else if (!strcmp(mode, "improbe")) {
                MPI_Request req;
                MT_OK(MPI_Imrecv(x, NX, MPI_INT64_T, &msg, &req));
                MT_OK(MPI_Wait(&req, &st));
                check_x(x, NX, &st);
            } else if (!strcmp(mode, "truncate")) {
                int cls = 0;
                rc = MPI_Recv(x, NX / 2, MPI_INT64_T, 1, TAG_X, MPI_COMM_WORLD,
                              &st);
                MPI_Error_class(rc, &cls);
                ASSERT_EQ_INT(cls, MPI_ERR_TRUNCATE);
                absorb((uint64_t)cls);
                check_x(x, NX / 2, &st);
            } else {
                MT_OK(MPI_Recv(x, NX, MPI_INT64_T, 1, TAG_X,
                               dup != MPI_COMM_NULL ? dup : MPI_COMM_WORLD,
                               &st));
                check_x(x, NX, &st);
                if (!strcmp(mode, "freedlate"))
                    MT_OK(MPI_Comm_free(&dup)); /* before the commit */
            }
        }
        step++;
    }
    if (dup != MPI_COMM_NULL)
        MT_OK(MPI_Comm_free(&dup));
    if (preq != MPI_REQUEST_NULL)
        MT_OK(MPI_Request_free(&preq));
    uint64_t sum = 0;
    MT_OK(MPI_Reduce(&acc, &sum, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD));
    if (mt_rank == 0)
        printf("checksum %016" PRIx64 "\n", sum);
    return mt_finish(MT_PENDING);
}
