/* bank: Chandy and Lamport's bank, as a checkpointable mpisnap example.
 *
 * Every rank is a branch with a balance.  In each round every branch sends
 * K transfers of random amounts to random other branches and then receives
 * the transfers addressed to it, from any source.  Money is conserved, so at
 * any consistent cut the balances plus the money in flight equal the money
 * the bank started with; a snapshot that lost or duplicated a message, or
 * that recorded a receive without its send, breaks that sum.
 *
 * A round, on each rank:
 *
 *     draw K (recipient, amount) pairs from the rank's PRNG
 *     MPI_Reduce_scatter_block of per-recipient counts: how many to expect
 *     MPI_Isend the K transfers, MPI_Waitall      (eager: done locally)
 *     ---- mpisnap_point() ---- the next round's point, top of the loop
 *     receive the expected count (MPI_Iprobe ANY_SOURCE + MPI_Recv)
 *
 * so the safe point falls between the sends and the receives: at every
 * snapshot, all of the round's transfers are in flight and must come back
 * from the snapshot's channel state after a restart.  Rounds cannot mix:
 * the next round's Reduce_scatter completes only when every rank has
 * finished receiving, so no rank sends round r + 1 money before all of
 * round r has arrived (each transfer carries its round, and is checked).
 *
 * Everything a rank needs to continue exactly is in struct state and is
 * protected: balance, round, PRNG state, and the counters from which the
 * money in flight is computed without receiving it. */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>
#include <mpisnap.h>

enum { TAG_TRANSFER = 7 };

static const int64_t initial_balance = 1000000;

struct options {
    long long rounds, transfers, request_at, request_every, sleep_us;
    long long observe_every;
    uint64_t seed;
    const char *request_ranks, *observe_ranks;
    int quiet;
};

/* This rank's protected state, as it is at the safe point: round `round`
 * has been sent, and none of it received yet. */
struct state {
    int64_t balance;
    int64_t round;      /* the round whose transfers are being received */
    uint64_t rng;       /* splitmix64 state */
    int64_t sent_total; /* money sent and received since the start */
    int64_t recv_total;
    int64_t sent_round; /* money sent and received in this round */
    int64_t recv_round;
    int64_t expect;   /* transfers addressed to this rank this round */
    int64_t received; /* of which received */
};

/* One transfer on the wire: its round (checked) and the amount. */
struct transfer {
    int64_t round, amount;
};

static int rank, nranks;

static void usage(FILE *f)
{
    fputs(
        "NAME\n"
        "    bank - Chandy-Lamport's bank, an mpisnap example program\n"
        "\n"
        "SYNOPSIS\n"
        "    mpiexec -n NP bank [OPTION]...\n"
        "\n"
        "DESCRIPTION\n"
        "    Each rank holds a balance (1000000 at the start) and, in every\n"
        "    round, sends K transfers of random amounts to random other\n"
        "    ranks, then receives the transfers addressed to it from any\n"
        "    source.  The safe point (mpisnap_point()) lies between the\n"
        "    sends and the receives, so every snapshot has money in flight.\n"
        "    After each round, and after a restore, the program checks that\n"
        "    the balances plus the money in flight add up to the money the\n"
        "    bank started with.  The random numbers depend only on --seed\n"
        "    and the rank, so equal options give equal results.\n"
        "\n"
        "OPTIONS\n"
        "    --rounds N\n"
        "        Number of rounds (default 10000).\n"
        "    --transfers-per-round K\n"
        "        Transfers each rank sends per round (default 8).  A transfer\n"
        "        takes at most 1/(2K) of the sender's balance, so no balance\n"
        "        goes negative.\n"
        "    --seed S\n"
        "        Seed of the random transfers (default 1).\n"
        "    --request-ranks LIST\n"
        "        Comma-separated ranks that call mpisnap_request() (default\n"
        "        0).  Requests from several ranks merge into one snapshot.\n"
        "    --request-at R\n"
        "        Those ranks request a snapshot in round R.\n"
        "    --request-every R\n"
        "        ... and every R rounds after that (from round R if\n"
        "        --request-at is not given).\n"
        "    --observe-every R\n"
        "        The ranks of --observe-ranks LIST (default 0) call\n"
        "        mpisnap_observe() every R rounds (needs MPISNAP_OBSERVE=1).\n"
        "        Each observation checks, while the job runs, that the\n"
        "        recorded balances plus the money in flight equal the money\n"
        "        the bank started with (the property \"money\").\n"
        "    --sleep-us U\n"
        "        Sleep U microseconds per round (default 0).\n"
        "    --quiet\n"
        "        Print only 'restored', 'stopped', 'total' and 'checksum'.\n"
        "    -h, --help\n"
        "        Show this help.\n"
        "\n"
        "ENVIRONMENT\n"
        "    MPISNAP_DIR       where snapshots go (default "
        "./mpisnap-snapshots)\n"
        "    MPISNAP_RESTART   auto (restore the newest snapshot, the "
        "default),\n"
        "                      never (start fresh), or a snapshot id\n"
        "    MPISNAP_EVERY     take a snapshot every this many rounds\n"
        "    MPISNAP_INTERVAL  take a snapshot every this many seconds\n"
        "\n"
        "OUTPUT\n"
        "    Rank 0 prints 'restored round R' and the money in flight after\n"
        "    a restore, 'snapshot recorded in round R' and 'snapshot ID\n"
        "    committed' as they happen, then 'total N ok' (or 'total N LOST\n"
        "    D') and 'checksum X' (16 hex digits, FNV-1a of all balances in\n"
        "    rank order); with --observe-every, last 'live checks N ok'\n"
        "    (N observations checked) or 'live checks N FAILED F'.  When\n"
        "    the library asks the job to stop after a snapshot, rank 0\n"
        "    prints 'stopped at round R after snapshot'.\n"
        "\n"
        "EXIT STATUS\n"
        "    0 when money was conserved (also at every live check), 1 when\n"
        "    it was not, 2 on bad usage.\n"
        "\n"
        "EXAMPLE\n"
        "    MPISNAP_DIR=snaps mpiexec -n 4 bank --rounds 5000 \\\n"
        "        --request-ranks 1,3 --request-at 100 --request-every 500\n",
        f);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bank: %s: %s\n", what, mpisnap_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static void fail(const char *what)
{
    fprintf(stderr, "bank: rank %d: %s\n", rank, what);
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
                    "bank: --%s: expected a number in %lld..%lld, "
                    "got '%s'\n",
                    opt, min, max, s);
        return -1;
    }
    *out = x;
    return 0;
}

/* Whether `me` is in the comma-separated LIST; -1 (after a message) when
 * LIST is malformed or names a rank that does not exist. */
static int in_rank_list(const char *list, int me)
{
    const char *s = list;
    int found = 0;

    for (;;) {
        char *end;
        long r = strtol(s, &end, 10);

        if (end == s || r < 0 || r >= nranks || (*end && *end != ',')) {
            if (rank == 0)
                fprintf(stderr,
                        "bank: --request-ranks: expected ranks in 0..%d "
                        "separated by commas, got '%s'\n",
                        nranks - 1, list);
            return -1;
        }
        found |= r == me;
        if (!*end)
            return found;
        s = end + 1;
    }
}

/* 0 to run, 1 to exit 0 (--help), -1 to exit 2 (bad usage). */
static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"rounds", required_argument, NULL, 'r'},
        {"transfers-per-round", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"request-ranks", required_argument, NULL, 'R'},
        {"request-at", required_argument, NULL, 'a'},
        {"request-every", required_argument, NULL, 'e'},
        {"sleep-us", required_argument, NULL, 'u'},
        {"observe-every", required_argument, NULL, 'o'},
        {"observe-ranks", required_argument, NULL, 'O'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long long seed;
    int c, bad = 0;

    *o = (struct options){.rounds = 10000,
                          .transfers = 8,
                          .seed = 1,
                          .request_ranks = "0",
                          .observe_ranks = "0",
                          .request_at = -1};
    opterr = rank == 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            bad |= parse_num("rounds", optarg, 0, LLONG_MAX, &o->rounds);
            break;
        case 'k':
            bad |= parse_num("transfers-per-round", optarg, 1, 1 << 20,
                             &o->transfers);
            break;
        case 's':
            bad |= parse_num("seed", optarg, 0, LLONG_MAX, &seed);
            o->seed = (uint64_t)seed;
            break;
        case 'R':
            o->request_ranks = optarg;
            break;
        case 'a':
            bad |=
                parse_num("request-at", optarg, 0, LLONG_MAX, &o->request_at);
            break;
        case 'e':
            bad |= parse_num("request-every", optarg, 1, LLONG_MAX,
                             &o->request_every);
            break;
        case 'o':
            bad |= parse_num("observe-every", optarg, 1, LLONG_MAX,
                             &o->observe_every);
            break;
        case 'O':
            o->observe_ranks = optarg;
            break;
        case 'u':
            bad |= parse_num("sleep-us", optarg, 0, 60000000, &o->sleep_us);
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
            fprintf(stderr, "bank: unexpected argument '%s'\n", argv[optind]);
        bad = -1;
    }
    if (in_rank_list(o->observe_ranks, 0) < 0) {
        if (rank == 0)
            fprintf(stderr, "bank: --observe-ranks: expected a list such as "
                            "0,2\n");
        bad = -1;
    }
    if (in_rank_list(o->request_ranks, 0) < 0)
        bad = -1;
    if (o->request_every > 0 && o->request_at < 0)
        o->request_at = o->request_every;
    if (bad && rank == 0)
        fprintf(stderr, "Try 'bank --help'.\n");
    return bad ? -1 : 0;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* splitmix64: one 64-bit word of state, so it is trivially protected. */
static uint64_t next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return mix64(*s);
}

/* Send this round's transfers: draw them, tell every rank how many to
 * expect, send.  The sends complete locally (16-byte eager messages), so no
 * request is pending at the safe point that follows. */
static void send_round(struct state *st, const struct options *o,
                       struct transfer *msg, int *dest, int *counts,
                       MPI_Request *req)
{
    int k = (int)o->transfers, incoming;
    int64_t cap = st->balance / (2 * o->transfers), sum = 0;

    memset(counts, 0, (size_t)nranks * sizeof *counts);
    for (int t = 0; t < k; t++) {
        uint64_t r1 = next(&st->rng), r2 = next(&st->rng);

        /* any rank but this one (with one rank, itself) */
        dest[t] = nranks == 1 ? 0
                              : (int)((rank + 1 + r1 % (uint64_t)(nranks - 1)) %
                                      (uint64_t)nranks);
        msg[t].round = st->round;
        msg[t].amount = cap > 0 ? 1 + (int64_t)(r2 % (uint64_t)cap) : 0;
        counts[dest[t]]++;
        sum += msg[t].amount;
    }
    MPI_Reduce_scatter_block(counts, &incoming, 1, MPI_INT, MPI_SUM,
                             MPI_COMM_WORLD);
    /* Debit each transfer as it leaves: an observation can record this
     * rank inside any MPI call, and must see every sent transfer either in
     * flight or credited, never also still in the balance. */
    for (int t = 0; t < k; t++) {
        st->balance -= msg[t].amount;
        MPI_Isend(&msg[t], 2, MPI_INT64_T, dest[t], TAG_TRANSFER,
                  MPI_COMM_WORLD, &req[t]);
    }
    MPI_Waitall(k, req, MPI_STATUSES_IGNORE);

    st->sent_total += sum;
    st->sent_round = sum;
    st->recv_round = 0;
    st->expect = incoming;
    st->received = 0;
}

/* Receive the rest of this round's transfers, in whatever order they come;
 * the order does not change the balance, so the result is deterministic. */
static void receive_round(struct state *st)
{
    while (st->received < st->expect) {
        struct transfer m;
        MPI_Status status;
        int flag;

        MPI_Iprobe(MPI_ANY_SOURCE, TAG_TRANSFER, MPI_COMM_WORLD, &flag,
                   &status);
        if (!flag)
            continue;
        MPI_Recv(&m, 2, MPI_INT64_T, status.MPI_SOURCE, TAG_TRANSFER,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (m.round != st->round || m.amount < 0) {
            char what[160];
            snprintf(what, sizeof what,
                     "round %" PRId64 ": got a transfer of %" PRId64
                     " from rank %d for round %" PRId64,
                     st->round, m.amount, status.MPI_SOURCE, m.round);
            fail(what);
        }
        st->balance += m.amount;
        st->recv_total += m.amount;
        st->recv_round += m.amount;
        st->received++;
    }
}

/* Sum over ranks of the balances and of the money in flight (sent in this
 * round, not yet received).  Returns balances + in flight. */
static int64_t bank_total(const struct state *st, int64_t *balances,
                          int64_t *inflight, int64_t *transfers)
{
    int64_t v[3] = {st->balance, st->sent_round - st->recv_round,
                    st->expect - st->received};

    MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    *balances = v[0];
    *inflight = v[1];
    *transfers = v[2];
    return v[0] + v[1];
}

/* FNV-1a 64 over the balances in rank order. */
static uint64_t checksum(const struct state *st)
{
    int64_t *all = NULL;
    uint64_t h = 0xcbf29ce484222325ULL;

    if (rank == 0) {
        all = malloc((size_t)nranks * sizeof *all);
        if (!all)
            fail("out of memory");
    }
    MPI_Gather(&st->balance, 1, MPI_INT64_T, all, 1, MPI_INT64_T, 0,
               MPI_COMM_WORLD);
    if (rank == 0) {
        const unsigned char *p = (const unsigned char *)all;
        for (size_t i = 0; i < (size_t)nranks * sizeof *all; i++) {
            h ^= p[i];
            h *= 0x100000001b3ULL;
        }
    }
    free(all);
    return h;
}

/* The property "money" of an observation: this rank's recorded balance
 * plus the transfers in flight to it.  Summed over ranks, it must equal
 * the money the bank started with. */
static double money(const struct mpisnap_view *v, void *arg)
{
    const int64_t *balance = mpisnap_view_region(v, "balance", NULL);
    double sum = balance ? (double)*balance : 0;
    struct transfer t;

    (void)arg;
    for (size_t i = 0; i < v->nmsgs; i++)
        if (v->msgs[i].tag == TAG_TRANSFER && v->msgs[i].nbytes == sizeof t) {
            memcpy(&t, v->msgs[i].data, sizeof t);
            sum += (double)t.amount;
        }
    return sum;
}

static void sleep_us(long long us)
{
    struct timespec ts = {.tv_sec = us / 1000000,
                          .tv_nsec = (us % 1000000) * 1000};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void protect(const char *name, void *base, MPI_Datatype type)
{
    int rc = mpisnap_protect(name, base, 1, type);

    if (rc < 0) {
        char what[64];
        snprintf(what, sizeof what, "mpisnap_protect(%s)", name);
        die(what, rc);
    }
}

int main(int argc, char **argv)
{
    struct options o;
    struct state st;
    int rc, restored, requester, lost = 0;

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
    requester = in_rank_list(o.request_ranks, rank);
    int observer = in_rank_list(o.observe_ranks, rank);

    const int64_t total = initial_balance * nranks;
    int k = (int)o.transfers;
    struct transfer *msg = calloc((size_t)k, sizeof *msg);
    int *dest = calloc((size_t)k, sizeof *dest);
    int *counts = calloc((size_t)nranks, sizeof *counts);
    MPI_Request *req = calloc((size_t)k, sizeof *req);
    if (!msg || !dest || !counts || !req)
        fail("out of memory");

    st = (struct state){.balance = initial_balance,
                        .rng = mix64(o.seed) ^ mix64((uint64_t)rank + 1)};
    protect("balance", &st.balance, MPI_INT64_T);
    protect("round", &st.round, MPI_INT64_T);
    protect("rng", &st.rng, MPI_UINT64_T);
    protect("sent_total", &st.sent_total, MPI_INT64_T);
    protect("recv_total", &st.recv_total, MPI_INT64_T);
    protect("sent_round", &st.sent_round, MPI_INT64_T);
    protect("recv_round", &st.recv_round, MPI_INT64_T);
    protect("expect", &st.expect, MPI_INT64_T);
    protect("received", &st.received, MPI_INT64_T);
    if ((restored = mpisnap_restore()) < 0)
        die("mpisnap_restore", restored);
    if ((rc = mpisnap_property("money", money, MPISNAP_SUM, NULL)) < 0)
        die("mpisnap_property", rc);
    long long checked_id = -1, nchecked = 0, live_bad = 0;

    /* All ranks restored, at the same round, or none did. */
    long long agree[2] = {restored ? st.round : -1,
                          -(restored ? st.round : -1)};
    MPI_Allreduce(MPI_IN_PLACE, agree, 2, MPI_LONG_LONG, MPI_MIN,
                  MPI_COMM_WORLD);
    if (agree[0] != -agree[1])
        fail("ranks disagree on the restored round");
    if (st.balance != initial_balance + st.recv_total - st.sent_total)
        fail("balance does not match the money sent and received");

    int64_t start = st.round;
    if (restored) {
        int64_t balances, inflight, transfers;
        int64_t sum = bank_total(&st, &balances, &inflight, &transfers);

        lost = sum != total;
        if (rank == 0) {
            printf("restored round %" PRId64 "\n", st.round);
            printf("balances %" PRId64 " + in flight %" PRId64 " (%" PRId64
                   " transfers) = %" PRId64 " %s\n",
                   balances, inflight, transfers, sum, lost ? "LOST" : "ok");
        }
    }
    if (rank == 0 && !o.quiet)
        printf("bank: %d ranks, %lld rounds, %lld transfers per round, "
               "seed %" PRIu64 "\n",
               nranks, o.rounds, o.transfers, o.seed);

    /* Round 0's transfers.  After a restore the current round's are
     * already on their way: the snapshot holds them as channel state. */
    if (!restored && st.round < o.rounds)
        send_round(&st, &o, msg, dest, counts, req);

    long long committed = mpisnap_last_committed();
    double t0 = MPI_Wtime();
    int stopped = 0;
    while (!lost) {
        /* Once per round on every rank, between this round's sends and
         * its receives: all of the round's money is in flight here. */
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
                printf("snapshot recorded in round %" PRId64 "\n", st.round);
            if (last != committed)
                printf("snapshot %lld committed\n", last);
            committed = last;
        }
        if (st.round >= o.rounds)
            break;
        /* Not again in the round just restored: that snapshot exists. */
        if (requester > 0 && !(restored && st.round == start) &&
            o.request_at >= 0 &&
            (st.round == o.request_at ||
             (o.request_every > 0 && st.round > o.request_at &&
              (st.round - o.request_at) % o.request_every == 0))) {
            if ((rc = mpisnap_request()) < 0)
                die("mpisnap_request", rc);
        }

        if (observer > 0 && o.observe_every > 0 &&
            st.round % o.observe_every == 0 && (rc = mpisnap_observe()) < 0)
            die("mpisnap_observe", rc);
        /* Every rank learns the same result; check each one once. */
        double observed;
        long long obs_id;
        if (mpisnap_observed("money", &observed, &obs_id) == 1 &&
            obs_id != checked_id) {
            checked_id = obs_id;
            nchecked++;
            /* Ranks learn it at different rounds: carry on, fail at the
             * end (breaking out here would leave the others waiting). */
            if (observed != (double)total) {
                if (rank == 0)
                    printf("observation %lld: balances + in flight = %.0f "
                           "!= %" PRId64 "\n",
                           obs_id, observed, total);
                live_bad++;
            }
        }

        receive_round(&st);
        if (st.balance != initial_balance + st.recv_total - st.sent_total)
            fail("balance does not match the money sent and received");
        /* Every round, so a lost or duplicated transfer is reported in the
         * round it happened (after a restore: the snapshot's channels). */
        int64_t balances, inflight, transfers;
        if (bank_total(&st, &balances, &inflight, &transfers) != total) {
            if (rank == 0)
                printf("round %" PRId64 ": balances %" PRId64
                       " + in flight %" PRId64 " != %" PRId64 "\n",
                       st.round, balances, inflight, total);
            lost = 1;
            break;
        }

        st.round++;
        if (st.round < o.rounds)
            send_round(&st, &o, msg, dest, counts, req);
        if (o.sleep_us > 0)
            sleep_us(o.sleep_us);
    }
    double elapsed = MPI_Wtime() - t0;

    if (stopped) {
        /* The snapshot holds this round's transfers as channel state;
         * receive them all the same, so that no message is left unmatched
         * at MPI_Finalize. */
        if (st.round < o.rounds)
            receive_round(&st);
        if (rank == 0)
            printf("stopped at round %" PRId64 " after snapshot\n", st.round);
    } else {
        int64_t balances, inflight, transfers;
        int64_t sum = bank_total(&st, &balances, &inflight, &transfers);
        uint64_t h = checksum(&st);

        lost |= sum != total;
        if (rank == 0) {
            if (!o.quiet)
                printf("bank: %" PRId64 " rounds (%" PRId64
                       " in this run) in %.2f s\n",
                       st.round, st.round - start, elapsed);
            if (sum == total)
                printf("total %" PRId64 " ok\n", sum);
            else
                printf("total %" PRId64 " LOST %" PRId64 "\n", sum,
                       total - sum);
            printf("checksum %016" PRIx64 "\n", h);
            if (o.observe_every > 0 && !live_bad)
                printf("live checks %lld ok\n", nchecked);
            else if (o.observe_every > 0)
                printf("live checks %lld FAILED %lld\n", nchecked, live_bad);
        }
    }

    free(msg);
    free(dest);
    free(counts);
    free(req);
    MPI_Finalize();
    return lost || live_bad ? 1 : 0;
}
