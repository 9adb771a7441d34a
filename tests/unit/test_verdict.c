/* Unit test of the verdict engine (lib/src/core/verdict.c): deadlock,
 * quiescence and progress decided from hand-made global records.
 * No MPI: the engine makes no MPI calls. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert.h"
#include "core/verdict.h"
#include "mpisnap.h"

#define WORLD 1 /* communicator ids */
#define SELF 2
#define NONE 99 /* listed by no rank */
#define ANY (-1)
#define ANY_TAG (-1)
#define MAXR 24

/* One rank's record, built by the helpers below. */
struct rk {
    struct ms__obsrec rec;
    struct ms__need needs[8];
    struct ms__counter infl[8];
    struct ms__vcomm comms[4];
    struct ms__vpost posted[8];
};

static struct rk R[MAXR];
static struct ms__vrank V[MAXR];
static int nr;

static void add_comm(int i, uint64_t id, uint64_t ncoll, const char *name)
{
    struct ms__vcomm *c = &R[i].comms[V[i].ncomms++];

    c->id = id;
    c->ncoll = ncoll;
    snprintf(c->name, sizeof c->name, "%s", name);
}

/* n ranks, all computing, all in MPI_COMM_WORLD (no collective yet). */
static void reset(int n)
{
    memset(R, 0, sizeof R);
    memset(V, 0, sizeof V);
    nr = n;
    for (int i = 0; i < n; i++) {
        snprintf(R[i].rec.call, sizeof R[i].rec.call, "computing");
        R[i].rec.needs = R[i].needs;
        R[i].rec.inflight = R[i].infl;
        R[i].rec.waited = 2.0;
        V[i].rec = &R[i].rec;
        V[i].comms = R[i].comms;
        add_comm(i, WORLD, 0, "MPI_COMM_WORLD");
    }
}

static void set_ncoll(int i, uint64_t id, uint64_t ncoll)
{
    for (size_t k = 0; k < V[i].ncomms; k++)
        if (R[i].comms[k].id == id)
            R[i].comms[k].ncoll = ncoll;
}

static void in_call(int i, const char *call, int mode)
{
    snprintf(R[i].rec.call, sizeof R[i].rec.call, "%s", call);
    R[i].rec.mode = mode;
}

static void need(int i, int kind, uint64_t comm, int peer, int tag,
                 uint64_t ncoll)
{
    struct ms__need *n = &R[i].needs[R[i].rec.nneeds++];

    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->comm_id = comm;
    n->peer = peer;
    n->tag = tag;
    n->ncoll = ncoll;
}

static void recv(int i, int peer, int tag)
{
    in_call(i, "MPI_Recv", 0);
    need(i, MS_NEED_RECV, WORLD, peer, tag, 0);
}

static void ssend(int i, int peer, int tag)
{
    in_call(i, "MPI_Ssend", 0);
    need(i, MS_NEED_SEND, WORLD, peer, tag, 0);
}

/* count messages from `from` to `to` in flight on (WORLD, tag). */
static void inflight(int to, int from, int tag, uint64_t count)
{
    struct ms__counter *c = &R[to].infl[R[to].rec.ninflight++];

    *c = (struct ms__counter){WORLD, from, tag, 1, count};
}

/* Rank i posted a receive on (WORLD, peer, tag); it is need number `need`
 * of its call, or -1.  A rank that posts one reports all it posted. */
static void post(int i, int peer, int tag, int need)
{
    V[i].posted = R[i].posted;
    R[i].posted[V[i].nposted++] = (struct ms__vpost){WORLD, peer, tag, need, 0};
}

static void decide(struct ms__verdict *v)
{
    ASSERT_EQ_INT(ms__verdict_decide(nr, V, v), 0);
    ASSERT_TRUE(v->text != NULL);
    ASSERT_TRUE(v->text[0] != '\0');
    ASSERT_TRUE(v->text[strlen(v->text) - 1] == '\n');
    if (getenv("VERDICT_VERBOSE"))
        fprintf(stderr, "---\n%s", v->text);
}

static void expect_cycle(const struct ms__verdict *v, size_t n, ...)
{
    va_list ap;

    ASSERT_EQ_INT(v->kind, MS_V_DEADLOCK);
    ASSERT_EQ_INT(v->ncycle, n);
    va_start(ap, n);
    for (size_t k = 0; k < n; k++)
        ASSERT_EQ_INT(v->cycle[k], va_arg(ap, int));
    va_end(ap);
}

static void expect_stuck(const struct ms__verdict *v, size_t n, ...)
{
    va_list ap;

    ASSERT_EQ_INT(v->nstuck, n);
    va_start(ap, n);
    for (size_t k = 0; k < n; k++)
        ASSERT_EQ_INT(v->stuck[k], va_arg(ap, int));
    va_end(ap);
}

static void expect_progressing(const struct ms__verdict *v)
{
    ASSERT_EQ_INT(v->kind, MS_V_PROGRESSING);
    ASSERT_EQ_INT(v->nstuck, 0);
    ASSERT_EQ_INT(v->ncycle, 0);
    ASSERT_STRSTR(v->text, "progressing: ");
    /* One line. */
    ASSERT_TRUE(strchr(v->text, '\n') == v->text + strlen(v->text) - 1);
}

/* Two ranks in MPI_Recv from each other, nothing in flight. */
static void test_recv_cycle(void)
{
    struct ms__verdict v;

    reset(2);
    recv(0, 1, 5);
    recv(1, 0, 5);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    expect_stuck(&v, 2, 0, 1);
    ASSERT_STREQ(v.text,
                 "deadlock: ranks 0 -> 1 -> 0 wait for each other and no "
                 "message in flight can break the cycle\n"
                 "  rank 0 waits in MPI_Recv for rank 1 (tag 5, "
                 "MPI_COMM_WORLD) for 2.0 s\n"
                 "  rank 1 waits in MPI_Recv for rank 0 (tag 5, "
                 "MPI_COMM_WORLD) for 2.0 s\n");
    ms__verdict_free(&v);
    ASSERT_TRUE(v.text == NULL && v.cycle == NULL && v.stuck == NULL);
}

/* A ring of 4 MPI_Ssend, nobody receiving: each message is in flight. */
static void test_ssend_ring(void)
{
    struct ms__verdict v;

    reset(4);
    for (int i = 0; i < 4; i++) {
        ssend(i, (i + 1) % 4, 3);
        inflight((i + 1) % 4, i, 3, 1);
    }
    decide(&v);
    expect_cycle(&v, 4, 0, 1, 2, 3);
    expect_stuck(&v, 4, 0, 1, 2, 3);
    ASSERT_STRSTR(v.text, "deadlock: ranks 0 -> 1 -> 2 -> 3 -> 0 wait for "
                          "each other");
    ASSERT_STRSTR(v.text, "  rank 2 waits in MPI_Ssend for rank 3 to receive "
                          "(tag 3, MPI_COMM_WORLD) for 2.0 s\n");
    ASSERT_STRSTR(v.text, "    unmatched in flight to it: 1 message from "
                          "rank 1 (tag 3, MPI_COMM_WORLD)\n");
    ASSERT_STRSTR(v.text, "  4 messages in flight to stuck ranks, none of "
                          "them matched by a waiting call\n");
    ms__verdict_free(&v);
}

/* Rank 0 in MPI_Barrier (collective #5), rank 1 in MPI_Recv from rank 0
 * before it: each waits for the other. */
static void test_barrier_recv(void)
{
    struct ms__verdict v;

    reset(2);
    in_call(0, "MPI_Barrier", 0);
    need(0, MS_NEED_COLL, WORLD, -1, 0, 5);
    set_ncoll(0, WORLD, 5);
    recv(1, 0, 7);
    set_ncoll(1, WORLD, 4);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ASSERT_STRSTR(v.text, "deadlock: ranks 0 -> 1 -> 0 ");
    ASSERT_STRSTR(v.text, "  rank 0 waits in MPI_Barrier on MPI_COMM_WORLD "
                          "for rank 1 (collective #5) for 2.0 s\n");
    ASSERT_STRSTR(v.text, "  rank 1 waits in MPI_Recv for rank 0 (tag 7, "
                          "MPI_COMM_WORLD)");
    ms__verdict_free(&v);
}

/* Master in Recv(ANY_SOURCE), workers in Recv from it, nothing in flight:
 * quiescent; one message in flight to the master: progressing. */
static void test_master_worker(void)
{
    struct ms__verdict v;

    reset(4);
    recv(0, ANY, 1);
    for (int i = 1; i < 4; i++)
        recv(i, 0, 2);
    decide(&v);
    ASSERT_EQ_INT(v.kind, MS_V_QUIESCENT);
    ASSERT_EQ_INT(v.ncycle, 0);
    expect_stuck(&v, 4, 0, 1, 2, 3);
    ASSERT_STRSTR(v.text, "quiescent: every rank waits in a receive and no "
                          "message is in flight: the job can never "
                          "progress\n");
    ASSERT_STRSTR(v.text, "  rank 0 waits in MPI_Recv for any rank (tag 1, "
                          "MPI_COMM_WORLD) for 2.0 s\n");
    ASSERT_STRSTR(v.text, "  rank 3 waits in MPI_Recv for rank 0 (tag 2, "
                          "MPI_COMM_WORLD) for 2.0 s\n");
    ms__verdict_free(&v);

    /* Counters that are no message in flight change nothing: a stream
     * drained to 0, a send counter (dir 0). */
    inflight(0, 2, 1, 0);
    inflight(0, 1, 1, 1);
    R[0].infl[1].dir = 0;
    decide(&v);
    ASSERT_EQ_INT(v.kind, MS_V_QUIESCENT);
    ms__verdict_free(&v);

    /* A worker in a barrier the others have not started instead: no
     * longer quiescent (not every need is a receive), and no cycle without
     * the master's wildcard receive (rule 6). */
    R[1].rec.nneeds = 0;
    in_call(1, "MPI_Barrier", 0);
    need(1, MS_NEED_COLL, WORLD, -1, 0, 1);
    set_ncoll(1, WORLD, 1);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ASSERT_STRSTR(v.text, "  rank 1 waits in MPI_Barrier on MPI_COMM_WORLD "
                          "for ranks 0, 2, 3 (collective #1) for 2.0 s\n");
    ms__verdict_free(&v);
    R[1].rec.nneeds = 0;
    set_ncoll(1, WORLD, 0);
    recv(1, 0, 2);

    /* A worker computing: it may still send to the master. */
    R[3].rec.nneeds = 0;
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);
    R[3].rec.nneeds = 1;

    R[0].rec.ninflight = 0;
    inflight(0, 2, 1, 1); /* a worker's result */
    decide(&v);
    expect_progressing(&v);
    ASSERT_STREQ(v.text, "progressing: 0 of 4 ranks computing, 4 blocked in "
                         "MPI calls that can still complete\n");
    ms__verdict_free(&v);

    /* A message in flight that matches nothing: no longer quiescent (rule
     * 5 wants nothing in flight), and the master's wildcard receive closes
     * a cycle (rule 6). */
    R[0].infl[0].tag = 9;
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    expect_stuck(&v, 4, 0, 1, 2, 3);
    ASSERT_STRSTR(v.text, "  2 more ranks cannot progress either: 2, 3\n");
    ASSERT_STRSTR(v.text, "  1 message in flight to stuck ranks, none of "
                          "them matched by a waiting call\n");
    ms__verdict_free(&v);
}

/* Recv from each other, but rank 1's message is in flight. */
static void test_inflight_breaks_cycle(void)
{
    struct ms__verdict v;

    reset(2);
    recv(0, 1, 5);
    recv(1, 0, 5);
    inflight(1, 0, 5, 1);
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    /* On another tag it cannot help. */
    R[1].infl[0].tag = 6;
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ASSERT_STRSTR(v.text, "    unmatched in flight to it: 1 message from "
                          "rank 0 (tag 6, MPI_COMM_WORLD)\n");
    ms__verdict_free(&v);

    /* From another sender neither. */
    reset(3);
    recv(0, 1, 5);
    recv(1, 0, 5);
    inflight(1, 2, 5, 1);
    recv(2, 0, 1);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ASSERT_STRSTR(v.text, "    unmatched in flight to it: 1 message from "
                          "rank 2 (tag 5, MPI_COMM_WORLD)\n");
    ms__verdict_free(&v);

    /* On another communicator neither. */
    reset(2);
    recv(0, 1, 5);
    recv(1, 0, 5);
    inflight(1, 0, 5, 1);
    R[1].infl[0].tag = 5;
    R[1].infl[0].comm_id = SELF;
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ms__verdict_free(&v);
}

/* ANY_TAG matches a message on any tag; a named tag does not. */
static void test_any_tag(void)
{
    struct ms__verdict v;

    reset(2);
    recv(0, 1, 5);
    recv(1, 0, ANY_TAG);
    inflight(1, 0, 42, 1);
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    R[1].needs[0].tag = 41;
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ms__verdict_free(&v);

    /* Text of an ANY_TAG receive. */
    R[1].needs[0].tag = ANY_TAG;
    R[1].rec.ninflight = 0;
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ASSERT_STRSTR(v.text, "  rank 1 waits in MPI_Recv for rank 0 (any tag, "
                          "MPI_COMM_WORLD)");
    ms__verdict_free(&v);
}

/* A barrier every member has started, or whose late members compute. */
static void test_barrier_progressing(void)
{
    struct ms__verdict v;

    reset(3);
    for (int i = 0; i < 3; i++) {
        in_call(i, "MPI_Barrier", 0);
        need(i, MS_NEED_COLL, WORLD, -1, 0, 3);
        set_ncoll(i, WORLD, 3);
    }
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    /* Rank 2 has not started it yet but computes: it will. */
    R[2].rec.nneeds = 0;
    in_call(2, "computing", 0);
    set_ncoll(2, WORLD, 2);
    decide(&v);
    expect_progressing(&v);
    ASSERT_STREQ(v.text, "progressing: 1 of 3 ranks computing, 2 blocked in "
                         "MPI calls that can still complete\n");
    ms__verdict_free(&v);

    /* Rank 2 in Recv from rank 0 instead: a cycle through the barrier. */
    recv(2, 0, 0);
    decide(&v);
    expect_cycle(&v, 2, 0, 2);
    expect_stuck(&v, 3, 0, 1, 2);
    ASSERT_STRSTR(v.text, "  1 more rank cannot progress either: 1\n");
    ms__verdict_free(&v);
}

/* MPI_Waitany (mode 1): one alternative suffices; MPI_Waitall (mode 0)
 * needs all. */
static void test_waitany(void)
{
    struct ms__verdict v;

    reset(3);
    in_call(0, "MPI_Waitany", 1);
    need(0, MS_NEED_RECV, WORLD, 1, 0, 0);
    need(0, MS_NEED_RECV, WORLD, 2, 0, 0);
    recv(1, 0, 0);
    in_call(2, "computing", 0);
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    in_call(0, "MPI_Waitall", 0);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    /* Only the request that cannot complete is described. */
    ASSERT_STRSTR(v.text, "  rank 0 waits in MPI_Waitall for rank 1 (tag 0, "
                          "MPI_COMM_WORLD) for 2.0 s\n");
    ms__verdict_free(&v);

    /* Waitany with neither alternative possible. */
    in_call(0, "MPI_Waitany", 1);
    recv(2, 0, 0);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ASSERT_STRSTR(v.text, "  rank 0 waits in MPI_Waitany for rank 1 (tag 0, "
                          "MPI_COMM_WORLD); for rank 2 (tag 0, "
                          "MPI_COMM_WORLD) for 2.0 s\n");
    ms__verdict_free(&v);
}

/* A need that can be met is no wait-for edge: rank 0's message from rank
 * 1 is in flight, so 0 -> 1 -> 0 is no cycle, 2 <-> 3 is.  The message it
 * has is not reported as unmatched. */
static void test_met_need_no_edge(void)
{
    struct ms__verdict v;

    reset(4);
    in_call(0, "MPI_Waitall", 0);
    need(0, MS_NEED_RECV, WORLD, 1, 0, 0);
    need(0, MS_NEED_RECV, WORLD, 2, 0, 0);
    inflight(0, 1, 0, 1);
    recv(1, 0, 0);
    recv(2, 3, 0);
    recv(3, 2, 0);
    decide(&v);
    expect_cycle(&v, 2, 2, 3);
    expect_stuck(&v, 4, 0, 1, 2, 3);
    ASSERT_TRUE(strstr(v.text, "in flight to stuck") == NULL);
    ms__verdict_free(&v);

    /* Rank 2 receives from rank 0 instead: rank 0 is in the cycle. */
    R[2].needs[0].peer = 0;
    decide(&v);
    expect_cycle(&v, 2, 0, 2);
    ASSERT_STRSTR(v.text, "  rank 0 waits in MPI_Waitall for rank 2 (tag 0, "
                          "MPI_COMM_WORLD) for 2.0 s\n");
    ASSERT_TRUE(strstr(v.text, "unmatched") == NULL);
    ASSERT_TRUE(strstr(v.text, "in flight to stuck") == NULL);
    ms__verdict_free(&v);

    /* And a message to it that nothing matches. */
    inflight(0, 3, 9, 1);
    decide(&v);
    expect_cycle(&v, 2, 0, 2);
    ASSERT_STRSTR(v.text, "    unmatched in flight to it: 1 message from "
                          "rank 3 (tag 9, MPI_COMM_WORLD)\n");
    ASSERT_STRSTR(v.text, "  2 messages in flight to stuck ranks, 1 of them "
                          "not matched by any waiting call\n");
    ms__verdict_free(&v);
}

/* One rank computes, the others wait on it, directly or in a chain. */
static void test_computing_peer(void)
{
    struct ms__verdict v;

    reset(4);
    recv(0, 3, 0);
    recv(1, 0, 0);
    recv(2, 1, 0);
    decide(&v);
    expect_progressing(&v);
    ASSERT_STREQ(v.text, "progressing: 1 of 4 ranks computing, 3 blocked in "
                         "MPI calls that can still complete\n");
    ms__verdict_free(&v);

    /* The chain pointing the other way. */
    reset(4);
    recv(0, 1, 0);
    recv(1, 2, 0);
    recv(2, 3, 0);
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);
}

/* Ranks 0 and 1 deadlocked, rank 2 computing; then rank 2 waits for 0. */
static void test_partial_deadlock(void)
{
    struct ms__verdict v;

    reset(3);
    recv(0, 1, 5);
    recv(1, 0, 5);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    expect_stuck(&v, 2, 0, 1);
    ASSERT_TRUE(strstr(v.text, "rank 2") == NULL);
    ms__verdict_free(&v);

    recv(2, 0, 8);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    expect_stuck(&v, 3, 0, 1, 2);
    ASSERT_STRSTR(v.text, "deadlock: ranks 0 -> 1 -> 0 ");
    ASSERT_STRSTR(v.text, "  1 more rank cannot progress either: 2\n");
    ms__verdict_free(&v);
}

/* Rule 7: 0 waits for 1, 1 for 2, and 2 receives from any rank on a
 * communicator it is alone in: no cycle, no way out.  Rank 3 computes (with
 * every rank in a receive and nothing in flight it would be quiescent). */
static void test_chain(void)
{
    struct ms__verdict v;

    reset(4);
    recv(0, 1, 0);
    recv(1, 2, 0);
    add_comm(2, SELF, 0, "MPI_COMM_SELF");
    in_call(2, "MPI_Recv", 0);
    need(2, MS_NEED_RECV, SELF, ANY, ANY_TAG, 0);
    decide(&v);
    ASSERT_EQ_INT(v.kind, MS_V_DEADLOCK);
    ASSERT_EQ_INT(v.ncycle, 0);
    ASSERT_TRUE(v.cycle == NULL);
    expect_stuck(&v, 3, 0, 1, 2);
    ASSERT_STRSTR(v.text, "deadlock: ranks 0 -> 1 -> 2 wait in a chain, and "
                          "rank 2 waits for something no rank can provide\n");
    ASSERT_STRSTR(v.text, "  rank 2 waits in MPI_Recv for any rank (any tag, "
                          "MPI_COMM_SELF) for 2.0 s\n");
    ms__verdict_free(&v);

    /* A peer out of range, or a communicator nobody lists: no crash, and
     * still no way out. */
    R[2].needs[0] = (struct ms__need){MS_NEED_RECV, 7, 0, 0, WORLD, 0};
    decide(&v);
    ASSERT_EQ_INT(v.ncycle, 0);
    expect_stuck(&v, 3, 0, 1, 2);
    ASSERT_STRSTR(v.text, "rank 2 waits in MPI_Recv for rank 7 (tag 0, "
                          "MPI_COMM_WORLD)");
    ms__verdict_free(&v);

    R[2].needs[0] = (struct ms__need){MS_NEED_COLL, -1, 0, 0, NONE, 1};
    in_call(2, "MPI_Barrier", 0);
    decide(&v);
    ASSERT_EQ_INT(v.kind, MS_V_DEADLOCK);
    ASSERT_EQ_INT(v.ncycle, 0);
    expect_stuck(&v, 3, 0, 1, 2);
    ASSERT_STRSTR(v.text, "rank 2 waits in MPI_Barrier on comm 63 "
                          "(collective #1)");
    ms__verdict_free(&v);

    /* Without rank 3 computing: quiescent (rule 5 comes before 7). */
    R[2].needs[0] = (struct ms__need){MS_NEED_RECV, -1, 0, 0, SELF, 0};
    in_call(2, "MPI_Recv", 0);
    nr = 3;
    decide(&v);
    ASSERT_EQ_INT(v.kind, MS_V_QUIESCENT);
    ms__verdict_free(&v);

    /* A rank alone in such a receive, the other computing: a chain of
     * one. */
    reset(2);
    add_comm(0, SELF, 0, "MPI_COMM_SELF");
    in_call(0, "MPI_Recv", 0);
    need(0, MS_NEED_RECV, SELF, ANY, 4, 0);
    decide(&v);
    ASSERT_EQ_INT(v.kind, MS_V_DEADLOCK);
    ASSERT_EQ_INT(v.ncycle, 0);
    expect_stuck(&v, 1, 0);
    ASSERT_STRSTR(v.text, "deadlock: rank 0 waits for something no rank can "
                          "provide\n");
    ms__verdict_free(&v);
}

/* MPI_Ssend to a rank blocked in a matching receive: about to match. */
static void test_send_transient(void)
{
    struct ms__verdict v;

    reset(2);
    ssend(0, 1, 4);
    recv(1, 0, 4);
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    /* A receive from any rank with any tag matches too. */
    R[1].needs[0].peer = ANY;
    R[1].needs[0].tag = ANY_TAG;
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    /* A receive on another tag does not: definite cycle. */
    R[1].needs[0].peer = 0;
    R[1].needs[0].tag = 5;
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ASSERT_STRSTR(v.text, "  rank 0 waits in MPI_Ssend for rank 1 to receive "
                          "(tag 4, MPI_COMM_WORLD) for 2.0 s\n");
    ms__verdict_free(&v);
}

/* Definite cycles win over wildcard ones; the shortest cycle through the
 * lowest rank on one is reported; a rank that receives from itself. */
static void test_cycle_choice(void)
{
    struct ms__verdict v;

    /* 0 Recv(ANY) closes a wildcard cycle 0 -> 1 -> 0; 2 <-> 3 is a
     * definite one, which rule 4 reports. */
    reset(4);
    recv(0, ANY, 0);
    ssend(1, 0, 9); /* rank 0 receives on another tag */
    recv(2, 3, 0);
    recv(3, 2, 0);
    decide(&v);
    expect_cycle(&v, 2, 2, 3);
    ms__verdict_free(&v);

    /* 0 -> 1 -> 2 -> 0 and 0 -> 3 -> 0: the shorter one. */
    reset(4);
    in_call(0, "MPI_Waitall", 0);
    need(0, MS_NEED_RECV, WORLD, 1, 0, 0);
    need(0, MS_NEED_RECV, WORLD, 3, 0, 0);
    recv(1, 2, 0);
    recv(2, 0, 0);
    recv(3, 0, 0);
    decide(&v);
    expect_cycle(&v, 2, 0, 3);
    ms__verdict_free(&v);

    /* Rank 1 receives from itself; rank 0 waits for it. */
    reset(2);
    recv(0, 1, 0);
    recv(1, 1, 0);
    decide(&v);
    expect_cycle(&v, 1, 1);
    expect_stuck(&v, 2, 0, 1);
    ASSERT_STRSTR(v.text, "deadlock: rank 1 waits for itself and no message "
                          "in flight can release it\n");
    ms__verdict_free(&v);
}

/* Many ranks: lines are capped, long lists shortened. */
static void test_long_reports(void)
{
    struct ms__verdict v;

    reset(20);
    for (int i = 0; i < 20; i++)
        recv(i, (i + 1) % 20, 0);
    decide(&v);
    ASSERT_EQ_INT(v.ncycle, 20);
    for (int i = 0; i < 20; i++)
        ASSERT_EQ_INT(v.cycle[i], i);
    ASSERT_STRSTR(v.text, "deadlock: ranks 0 -> 1 -> 2 -> 3 -> 4 -> 5 -> 6 "
                          "-> 7 -> ... -> 16 -> 17 -> 18 -> 19 -> 0 (a cycle "
                          "of 20 ranks) wait for each other");
    ASSERT_STRSTR(v.text, "  rank 15 waits");
    ASSERT_TRUE(strstr(v.text, "  rank 16 waits") == NULL);
    ASSERT_STRSTR(v.text, "  ... and 4 more ranks in the cycle\n");
    ms__verdict_free(&v);

    /* Rank 0 in a barrier that 19 ranks have not started, they in Recv
     * from it. */
    reset(20);
    in_call(0, "MPI_Barrier", 0);
    need(0, MS_NEED_COLL, WORLD, -1, 0, 1);
    set_ncoll(0, WORLD, 1);
    for (int i = 1; i < 20; i++)
        recv(i, 0, 0);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ASSERT_STRSTR(v.text, "  rank 0 waits in MPI_Barrier on MPI_COMM_WORLD "
                          "for 19 ranks: 1, 2, 3, 4, 5, 6, 7, 8, ... "
                          "(collective #1) for 2.0 s\n");
    ASSERT_STRSTR(v.text, "  18 more ranks cannot progress either: 2, 3, 4, "
                          "5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, "
                          "...\n");
    ms__verdict_free(&v);

    /* Quiescent with 20 ranks. */
    reset(20);
    recv(0, ANY, 0);
    for (int i = 1; i < 20; i++)
        recv(i, 0, 0);
    decide(&v);
    ASSERT_EQ_INT(v.kind, MS_V_QUIESCENT);
    ASSERT_STRSTR(v.text, "  rank 15 waits");
    ASSERT_TRUE(strstr(v.text, "  rank 16 waits") == NULL);
    ASSERT_STRSTR(v.text, "  ... and 4 more ranks\n");
    ms__verdict_free(&v);
}

static void test_edges(void)
{
    struct ms__verdict v;

    /* No ranks at all. */
    ASSERT_EQ_INT(ms__verdict_decide(0, NULL, &v), 0);
    ASSERT_EQ_INT(v.kind, MS_V_PROGRESSING);
    ms__verdict_free(&v);

    /* A communicator name missing: its id in hex. */
    reset(2);
    recv(0, 1, 5);
    recv(1, 0, 5);
    R[0].comms[0].name[0] = '\0';
    decide(&v);
    ASSERT_STRSTR(v.text, "  rank 0 waits in MPI_Recv for rank 1 (tag 5, "
                          "comm 1)");
    ms__verdict_free(&v);
    ms__verdict_free(NULL);

    ASSERT_STREQ(ms__verdict_name(MS_V_DEADLOCK), "deadlock");
    ASSERT_STREQ(ms__verdict_name(MS_V_QUIESCENT), "quiescent");
    ASSERT_STREQ(ms__verdict_name(MS_V_PROGRESSING), "progressing");
}

/* Defect 11 of issue 10: a send waits for any receive its receiver has
 * posted, not only for the one the receiver waits in. */
static void test_preposted_receive(void)
{
    struct ms__verdict v;

    /* 0: Irecv(1, tag 6), then Recv(1, tag 7); 1: Send(0, tag 6), large,
     * in flight.  The Irecv takes it: 1 completes, then sends tag 7. */
    reset(2);
    post(0, 1, 6, -1);
    post(0, 1, 7, 0);
    recv(0, 1, 7);
    inflight(0, 1, 6, 1);
    in_call(1, "MPI_Send", 0);
    need(1, MS_NEED_SEND, WORLD, 0, 6, 0);
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    /* The same with any source and any tag. */
    R[0].posted[0].peer = ANY;
    R[0].posted[0].tag = ANY_TAG;
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    /* Without the Irecv: the send waits for rank 0's Recv. */
    V[0].nposted = 0;
    post(0, 1, 7, 0);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ASSERT_STRSTR(v.text, "  rank 1 waits in MPI_Send for rank 0 to receive "
                          "(tag 6, MPI_COMM_WORLD) for 2.0 s\n");
    ms__verdict_free(&v);

    /* An earlier message of the stream takes the Irecv first. */
    V[0].nposted = 0;
    post(0, 1, 6, -1);
    post(0, 1, 7, 0);
    R[0].infl[0].count = 2;
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ms__verdict_free(&v);

    /* Two Irecvs for two: fine again. */
    V[0].nposted = 0;
    post(0, 1, 6, -1);
    post(0, 1, 6, -1);
    post(0, 1, 7, 0);
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    /* 1 waits for two Isends on the stream, 0 posted one Irecv: Waitall
     * cannot complete, Waitany can. */
    V[0].nposted = 0;
    post(0, 1, 6, -1);
    post(0, 1, 7, 0);
    in_call(1, "MPI_Waitall", 0);
    need(1, MS_NEED_SEND, WORLD, 0, 6, 0);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ms__verdict_free(&v);
    in_call(1, "MPI_Waitany", 1);
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);
}

/* Defect 12 of issue 10: a message MPI matched to an earlier posted
 * receive cannot satisfy a later one. */
static void test_matched_elsewhere(void)
{
    struct ms__verdict v;

    /* 0: Irecv(1, tag 5), then Recv(1, tag 5); one tag-5 message in
     * flight; 1: Recv(0, tag 8). */
    reset(3);
    post(0, 1, 5, -1);
    post(0, 1, 5, 0);
    recv(0, 1, 5);
    inflight(0, 1, 5, 1);
    recv(1, 0, 8);
    recv(2, 0, 8);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    expect_stuck(&v, 3, 0, 1, 2);
    ASSERT_STREQ(v.text,
                 "deadlock: ranks 0 -> 1 -> 0 wait for each other and no "
                 "message in flight can break the cycle\n"
                 "  rank 0 waits in MPI_Recv for rank 1 (tag 5, "
                 "MPI_COMM_WORLD) for 2.0 s\n"
                 "    taken by earlier receives: 1 message from rank 1 "
                 "(tag 5, MPI_COMM_WORLD)\n"
                 "  rank 1 waits in MPI_Recv for rank 0 (tag 8, "
                 "MPI_COMM_WORLD) for 2.0 s\n"
                 "  1 more rank cannot progress either: 2\n");
    ms__verdict_free(&v);

    /* A second message is for the Recv. */
    R[0].infl[0].count = 2;
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    /* Waiting for the Irecv itself (MPI_Wait): it has its message. */
    R[0].infl[0].count = 1;
    in_call(0, "MPI_Wait", 0);
    R[0].posted[0].need = 0;
    R[0].posted[1].need = -1;
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    /* MPI_Probe sees only messages no posted receive takes. */
    in_call(0, "MPI_Probe", 0);
    V[0].nposted = 0;
    post(0, 1, 5, -1);
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ms__verdict_free(&v);
    R[0].infl[0].count = 2;
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);

    /* An earlier Irecv from any rank takes the message no later receive
     * wants (rank 2's), and leaves rank 1's to the Recv (the order of
     * messages across streams is unknown: a deadlock must be certain). */
    reset(3);
    post(0, ANY, 5, -1);
    post(0, 1, 5, 0);
    recv(0, 1, 5);
    inflight(0, 1, 5, 1);
    inflight(0, 2, 5, 1);
    recv(1, 0, 8);
    recv(2, 0, 8);
    decide(&v);
    expect_progressing(&v);
    ms__verdict_free(&v);
    /* Only rank 1's message: the Irecv takes it. */
    R[0].infl[1].count = 0;
    decide(&v);
    expect_cycle(&v, 2, 0, 1);
    ms__verdict_free(&v);
}

int main(void)
{
    test_recv_cycle();
    test_ssend_ring();
    test_barrier_recv();
    test_master_worker();
    test_inflight_breaks_cycle();
    test_any_tag();
    test_barrier_progressing();
    test_waitany();
    test_met_need_no_edge();
    test_computing_peer();
    test_partial_deadlock();
    test_chain();
    test_send_transient();
    test_preposted_receive();
    test_matched_elsewhere();
    test_cycle_choice();
    test_long_reports();
    test_edges();
    printf("verdict: ok\n");
    return 0;
}
