/* fuzz: run the schedule of schedule.c under mpisnap and check every
 * message against it.  Usage: fuzz --help (or tests/fuzz/README.md).
 *
 * The only state a restart needs is protected: the step, this rank's
 * checksum and the values it sent and received.  Everything else (which
 * communicators exist, which messages are due) follows from the seed and
 * the step: after a restore the program re-creates, in the original order,
 * every communicator the run created before that step (so the library
 * gives them the same ids) and goes on. */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>
#include <mpisnap.h>

#include "fuzz.h"

static struct cfg C;
static int me, observe_mode, quiet, verbose;

/* --verbose: where each rank is, on stderr (to find a hang) */
static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...)
{
    va_list ap;

    if (!verbose)
        return;
    fprintf(stderr, "fuzz[%d] ", me);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Protected state */
static int64_t step;
static uint64_t chk;
static int64_t sent_value, recv_value;

/* Communicators: the slot's current one (MPI_COMM_NULL when this rank is
 * not a member or the slot is empty) and its members' world ranks. */
static MPI_Comm world, base, hs, idup_parent;
static struct {
    MPI_Comm comm;
    const struct gen *g;
    int n, crank, wr[MAXR];
} S[NSLOT];

/* The plans of the steps whose messages can be due now */
static struct plan ring[MAXDELAY + 1];

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    char buf[512];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "fuzz: FAIL: seed %" PRIu64 " rank %d step %" PRId64 ": %s\n",
            C.seed, me, step, buf);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static void check_mpi(int rc, const char *what)
{
    if (rc != MPI_SUCCESS)
        fail("%s returned %d", what, rc);
}

static struct plan *plan_of(int s)
{
    struct plan *p =
        &ring[(s % (MAXDELAY + 1) + MAXDELAY + 1) % (MAXDELAY + 1)];
    if (p->step != s || p->nm < 0) {
        plan_step(&C, s, p);
    }
    return p;
}

/* ------------------------------------------------------------ comms */

static void create_gen(const struct gen *g)
{
    MPI_Comm parent = g->parent ? base : world, nc = MPI_COMM_NULL;
    MPI_Group pg, grp;
    int col = g->col[me], wr[MAXR], n = 0;

    if (col >= 0)
        n = members(g, C.nranks, col, wr);
    switch (g->kind) {
    case K_DUP:
        check_mpi(MPI_Comm_dup(parent, &nc), "MPI_Comm_dup");
        break;
    case K_SPLIT:
        check_mpi(MPI_Comm_split(parent, col < 0 ? MPI_UNDEFINED : col,
                                 g->key[me], &nc),
                  "MPI_Comm_split");
        break;
    case K_CREATE:
    case K_DISJOINT:
    case K_CGROUP: {
        /* K_CREATE, K_CGROUP: colour 0 is the one group; K_DISJOINT: each
         * rank passes the group of its colour. */
        int gw[MAXR],
            k = members(g, C.nranks, g->kind == K_DISJOINT ? col : 0, gw);
        MPI_Comm_group(parent, &pg);
        MPI_Group_incl(pg, k, gw, &grp);
        if (g->kind == K_CGROUP) {
            if (col >= 0)
                check_mpi(MPI_Comm_create_group(parent, grp, g->cgtag, &nc),
                          "MPI_Comm_create_group");
        } else {
            check_mpi(MPI_Comm_create(parent, grp, &nc), "MPI_Comm_create");
        }
        MPI_Group_free(&grp);
        MPI_Group_free(&pg);
        break;
    }
    default:
        fail("bad communicator kind %d", g->kind);
    }
    S[g->slot].g = g;
    S[g->slot].comm = nc;
    S[g->slot].n = n;
    memcpy(S[g->slot].wr, wr, sizeof wr);
    if ((nc == MPI_COMM_NULL) != (col < 0))
        fail("slot %d: communicator %s, colour %d", g->slot,
             nc == MPI_COMM_NULL ? "NULL" : "made", col);
    if (nc != MPI_COMM_NULL) {
        int size, r;
        MPI_Comm_size(nc, &size);
        MPI_Comm_rank(nc, &r);
        for (int i = 0; i < n; i++)
            if (wr[i] == me)
                S[g->slot].crank = i;
        if (size != n || r != S[g->slot].crank)
            fail("slot %d: size %d rank %d, planned %d and %d", g->slot, size,
                 r, n, S[g->slot].crank);
    }
}

/* Communicators born at step t (start of step) or dying at t (end). */
static void comm_events(int t, int at_end)
{
    for (int s = SLOT_DYN; s < NSLOT; s++)
        for (int i = 0; i < C.ngen[s]; i++) {
            const struct gen *g = &C.gens[s][i];
            if (!at_end && g->born == t)
                create_gen(g);
            if (at_end && g->dies == t) {
                if (S[s].comm != MPI_COMM_NULL)
                    MPI_Comm_free(&S[s].comm);
                S[s].g = NULL;
                S[s].comm = MPI_COMM_NULL;
            }
        }
}

static void init_fixed_slots(void)
{
    for (int s = 0; s < SLOT_DYN; s++) {
        S[s].g = &C.gens[s][0];
        S[s].comm = s == SLOT_WORLD ? world : base;
        S[s].n = C.nranks;
        S[s].crank = me;
        for (int i = 0; i < C.nranks; i++)
            S[s].wr[i] = i;
    }
    for (int s = SLOT_DYN; s < NSLOT; s++)
        S[s].comm = MPI_COMM_NULL;
}

/* ------------------------------------------------------------ messages */

struct rslot {
    const struct msg *m; /* the planned receive (anonymous: its group) */
    unsigned char *buf;
    int order; /* posting order in the step */
    const struct msg *got;
};

/* One request of the step and what to do when it completes */
enum { Q_RECV, Q_SEND, Q_HS, Q_NULLRECV, Q_NULLSEND, Q_CANCEL, Q_NBC, Q_IDUP };
struct req {
    int kind, persistent;
    struct rslot *rs;
    void *buf;
};

enum { MAXREQ = 2 * MAXMSG + 16 };
static MPI_Request reqs[MAXREQ];
static struct req rinfo[MAXREQ];
static int nreq;
static struct rslot rslots[MAXMSG];
static int nrslot, norder;
static int64_t nbc_val[2];
static MPI_Comm idup_comm;

static int add_req(int kind, MPI_Request r, struct rslot *rs, void *buf,
                   int persistent)
{
    if (nreq == MAXREQ)
        fail("too many requests");
    reqs[nreq] = r;
    rinfo[nreq] = (struct req){kind, persistent, rs, buf};
    return nreq++;
}

static unsigned char *make_payload(const struct msg *m)
{
    unsigned char *b = malloc((size_t)m->size);
    int32_t hdr[2] = {m->step, m->idx};

    if (!b)
        fail("out of memory");
    for (int i = 16; i < m->size; i++)
        b[i] = payload_byte(&C, m, i);
    memcpy(b, &m->value, 8);
    memcpy(b + 8, hdr, 8);
    return b;
}

static uint64_t msg_hash(const struct msg *m)
{
    return hash3(((uint64_t)m->step << 32) | (uint64_t)m->idx,
                 ((uint64_t)m->src << 40) | ((uint64_t)m->dst << 32) |
                     (uint64_t)m->tag,
                 ((uint64_t)m->slot << 32) | (uint64_t)m->size);
}

/* A message arrived for receive rs: which one is it, and is it right? */
static const char *const rform_names[NRFORM] = {
    "Irecv",        "Recv_init",      "Recv",       "Probe+Recv", "Iprobe+Recv",
    "Mprobe+Mrecv", "Improbe+Imrecv", "Irecv+Wait", "Irecv+Test"};
static const char *const compl_names[NCOMPL] = {
    "Wait", "Waitall", "Waitany", "Waitsome", "Testsome", "Testall", "Testany"};
static const char *how_now = "";

static void received(struct rslot *rs, MPI_Status *st, int count)
{
    const struct msg *p = rs->m, *m = p;
    int32_t hdr[2] = {-1, -1};

    if (count >= 16)
        memcpy(hdr, rs->buf + 8, 8);
    if (p->rpat >= P_ANYSRC) {
        struct plan *pl = plan_of(p->step);
        if (hdr[0] != p->step || hdr[1] < 0 || hdr[1] >= pl->nm)
            fail("anonymous receive (slot %d, step %d, %s%s): header says "
                 "step %d message %d (source %d tag %d count %d)",
                 p->slot, p->step, rform_names[p->rform], how_now, hdr[0],
                 hdr[1], st->MPI_SOURCE, st->MPI_TAG, count);
        m = &pl->m[hdr[1]];
        if (m->slot != p->slot || m->color != p->color || m->dst != me ||
            m->rpat < P_ANYSRC || pl->got[m->idx])
            fail("anonymous receive (slot %d, step %d) got message %d: slot "
                 "%d, to %d, pattern %d, already received %d",
                 p->slot, p->step, m->idx, m->slot, m->dst, m->rpat,
                 pl->got[m->idx]);
        pl->got[m->idx] = 1;
    } else if (hdr[0] != p->step || hdr[1] != p->idx) {
        fail("receive of step %d message %d (slot %d, from %d, tag %d, %s%s): "
             "got step %d message %d (source %d tag %d count %d)",
             p->step, p->idx, p->slot, p->csrc, p->tag, rform_names[p->rform],
             how_now, hdr[0], hdr[1], st->MPI_SOURCE, st->MPI_TAG, count);
    }
    if (st->MPI_SOURCE != m->csrc || st->MPI_TAG != m->tag || count != m->size)
        fail("step %d message %d (slot %d, %s%s): status source %d tag %d "
             "count %d, planned %d %d %d",
             m->step, m->idx, m->slot, rform_names[p->rform], how_now,
             st->MPI_SOURCE, st->MPI_TAG, count, m->csrc, m->tag, m->size);
    int64_t v;
    memcpy(&v, rs->buf, 8);
    if (v != m->value)
        fail("step %d message %d: value %" PRId64 ", planned %" PRId64, m->step,
             m->idx, v, m->value);
    for (int i = 16; i < m->size; i++)
        if (rs->buf[i] != payload_byte(&C, m, i))
            fail("step %d message %d (slot %d, from %d): payload byte %d "
                 "differs",
                 m->step, m->idx, m->slot, m->src, i);
    rs->got = m;
    recv_value += m->value;
    chk += msg_hash(m);
}

static int source_of(const struct msg *m)
{
    return m->rpat == P_ANYSRC || m->rpat == P_FULLWILD ? MPI_ANY_SOURCE
                                                        : m->csrc;
}

static int tag_of(const struct msg *m)
{
    return m->rpat == P_ANYTAG || m->rpat == P_FULLWILD ? MPI_ANY_TAG : m->tag;
}

static struct rslot *new_rslot(const struct msg *m)
{
    struct rslot *rs = &rslots[nrslot++];

    rs->m = m;
    rs->order = norder++;
    rs->got = NULL;
    rs->buf = malloc((size_t)m->bufsize);
    if (!rs->buf)
        fail("out of memory");
    return rs;
}

/* Phase A: a pre-posted receive */
static void prepost(const struct msg *m)
{
    struct rslot *rs = new_rslot(m);
    MPI_Comm comm = S[m->slot].comm;
    MPI_Datatype dt = MPI_BYTE;
    MPI_Request r;
    int count = m->bufsize;

    if (m->dtrecv) { /* freed at once, while the receive pends */
        MPI_Type_contiguous(m->bufsize, MPI_BYTE, &dt);
        MPI_Type_commit(&dt);
        count = 1;
    }
    if (m->rform == R_PRE_PRECV) {
        check_mpi(MPI_Recv_init(rs->buf, count, dt, source_of(m), tag_of(m),
                                comm, &r),
                  "MPI_Recv_init");
        check_mpi(MPI_Start(&r), "MPI_Start");
    } else {
        check_mpi(
            MPI_Irecv(rs->buf, count, dt, source_of(m), tag_of(m), comm, &r),
            "MPI_Irecv");
    }
    if (m->dtrecv)
        MPI_Type_free(&dt);
    add_req(Q_RECV, r, rs, NULL, m->rform == R_PRE_PRECV);
}

/* Phase C: a blocking receive form */
static void receive_now(const struct msg *m)
{
    struct rslot *rs = new_rslot(m);
    MPI_Comm comm = S[m->slot].comm;
    MPI_Status st, st2;
    MPI_Message mh;
    MPI_Request r;
    int count, flag = 0;

    switch (m->rform) {
    case R_RECV:
        check_mpi(MPI_Recv(rs->buf, m->bufsize, MPI_BYTE, source_of(m),
                           tag_of(m), comm, &st),
                  "MPI_Recv");
        break;
    case R_PROBE:
    case R_IPROBE:
        if (m->rform == R_PROBE)
            check_mpi(MPI_Probe(source_of(m), tag_of(m), comm, &st2),
                      "MPI_Probe");
        else
            while (!flag)
                check_mpi(
                    MPI_Iprobe(source_of(m), tag_of(m), comm, &flag, &st2),
                    "MPI_Iprobe");
        MPI_Get_count(&st2, MPI_BYTE, &count);
        if (count > m->bufsize)
            fail("probe (step %d message %d): count %d > buffer %d", m->step,
                 m->idx, count, m->bufsize);
        check_mpi(MPI_Recv(rs->buf, count, MPI_BYTE, st2.MPI_SOURCE,
                           st2.MPI_TAG, comm, &st),
                  "MPI_Recv after probe");
        if (st.MPI_SOURCE != st2.MPI_SOURCE || st.MPI_TAG != st2.MPI_TAG)
            fail("probe said source %d tag %d, receive got %d %d",
                 st2.MPI_SOURCE, st2.MPI_TAG, st.MPI_SOURCE, st.MPI_TAG);
        break;
    case R_MPROBE:
    case R_IMPROBE:
        if (m->rform == R_MPROBE)
            check_mpi(MPI_Mprobe(source_of(m), tag_of(m), comm, &mh, &st2),
                      "MPI_Mprobe");
        else
            while (!flag)
                check_mpi(MPI_Improbe(source_of(m), tag_of(m), comm, &flag, &mh,
                                      &st2),
                          "MPI_Improbe");
        MPI_Get_count(&st2, MPI_BYTE, &count);
        if (count > m->bufsize)
            fail("mprobe: count %d > buffer %d", count, m->bufsize);
        if (m->rform == R_MPROBE) {
            check_mpi(MPI_Mrecv(rs->buf, count, MPI_BYTE, &mh, &st),
                      "MPI_Mrecv");
        } else {
            check_mpi(MPI_Imrecv(rs->buf, count, MPI_BYTE, &mh, &r),
                      "MPI_Imrecv");
            check_mpi(MPI_Wait(&r, &st), "MPI_Wait (Imrecv)");
        }
        break;
    case R_IRECV_WAIT:
    case R_IRECV_TEST:
        check_mpi(MPI_Irecv(rs->buf, m->bufsize, MPI_BYTE, source_of(m),
                            tag_of(m), comm, &r),
                  "MPI_Irecv");
        if (m->rform == R_IRECV_WAIT)
            check_mpi(MPI_Wait(&r, &st), "MPI_Wait");
        else
            while (!flag)
                check_mpi(MPI_Test(&r, &flag, &st), "MPI_Test");
        break;
    default:
        fail("bad receive form %d", m->rform);
    }
    MPI_Get_count(&st, MPI_BYTE, &count);
    received(rs, &st, count);
}

/* Phase B: send one message */
static void send_msg(const struct msg *m)
{
    MPI_Comm comm = S[m->slot].comm;
    unsigned char *b = make_payload(m);
    MPI_Request r;
    MPI_Datatype dt;
    int d = m->cdst, t = m->tag, n = m->size, keep = 1;

    if (m->smode == S_RSEND || m->smode == S_IRSEND || m->smode == S_PRSEND) {
        if (m->dst != me) /* the peer's receive is posted */
            check_mpi(MPI_Recv(NULL, 0, MPI_BYTE, m->dst, TAG_HS, hs,
                               MPI_STATUS_IGNORE),
                      "MPI_Recv (handshake)");
    }
    sent_value += m->value; /* before the call: an observation inside it
                             * sees the message sent or in flight */
    switch (m->smode) {
    case S_SEND:
        check_mpi(MPI_Send(b, n, MPI_BYTE, d, t, comm), "MPI_Send");
        keep = 0;
        break;
    case S_SSEND:
        check_mpi(MPI_Ssend(b, n, MPI_BYTE, d, t, comm), "MPI_Ssend");
        keep = 0;
        break;
    case S_BSEND:
        check_mpi(MPI_Bsend(b, n, MPI_BYTE, d, t, comm), "MPI_Bsend");
        keep = 0;
        break;
    case S_RSEND:
        check_mpi(MPI_Rsend(b, n, MPI_BYTE, d, t, comm), "MPI_Rsend");
        keep = 0;
        break;
    case S_ISEND:
        check_mpi(MPI_Isend(b, n, MPI_BYTE, d, t, comm, &r), "MPI_Isend");
        break;
    case S_ISSEND:
        check_mpi(MPI_Issend(b, n, MPI_BYTE, d, t, comm, &r), "MPI_Issend");
        break;
    case S_IBSEND:
        check_mpi(MPI_Ibsend(b, n, MPI_BYTE, d, t, comm, &r), "MPI_Ibsend");
        break;
    case S_IRSEND:
        check_mpi(MPI_Irsend(b, n, MPI_BYTE, d, t, comm, &r), "MPI_Irsend");
        break;
    case S_PSEND:
    case S_PBSEND:
    case S_PSSEND:
    case S_PRSEND:
        if (m->smode == S_PSEND)
            MPI_Send_init(b, n, MPI_BYTE, d, t, comm, &r);
        else if (m->smode == S_PBSEND)
            MPI_Bsend_init(b, n, MPI_BYTE, d, t, comm, &r);
        else if (m->smode == S_PSSEND)
            MPI_Ssend_init(b, n, MPI_BYTE, d, t, comm, &r);
        else
            MPI_Rsend_init(b, n, MPI_BYTE, d, t, comm, &r);
        check_mpi(MPI_Start(&r), "MPI_Start (send)");
        add_req(Q_SEND, r, NULL, b, 1);
        return;
    case S_DTSEND:
        MPI_Type_contiguous(n, MPI_BYTE, &dt);
        MPI_Type_commit(&dt);
        check_mpi(MPI_Isend(b, 1, dt, d, t, comm, &r), "MPI_Isend (type)");
        MPI_Type_free(&dt);
        break;
    default:
        fail("bad send mode %d", m->smode);
    }
    if (keep)
        add_req(Q_SEND, r, NULL, b, 0);
    else
        free(b);
}

/* ------------------------------------------------------------ a step */

static void completed(int i, MPI_Status *st)
{
    struct req *q = &rinfo[i];
    int count = -1, flag = 0;

    switch (q->kind) {
    case Q_RECV:
        MPI_Get_count(st, MPI_BYTE, &count);
        received(q->rs, st, count);
        break;
    case Q_SEND:
    case Q_HS:
    case Q_NULLSEND:
        free(q->buf);
        break;
    case Q_NULLRECV:
        MPI_Get_count(st, MPI_BYTE, &count);
        if (st->MPI_SOURCE != MPI_PROC_NULL || st->MPI_TAG != MPI_ANY_TAG ||
            count != 0)
            fail("receive from MPI_PROC_NULL: source %d tag %d count %d",
                 st->MPI_SOURCE, st->MPI_TAG, count);
        break;
    case Q_CANCEL:
        MPI_Test_cancelled(st, &flag);
        if (!flag)
            fail("cancelled receive (tag %d) was not cancelled: source %d "
                 "tag %d",
                 TAG_CANCEL, st->MPI_SOURCE, st->MPI_TAG);
        break;
    case Q_NBC:
    case Q_IDUP:
        break;
    }
}

/* Phase D: complete every request of the step, the way the plan says */
static void complete_all(int how)
{
    MPI_Status sts[MAXREQ];
    int idx[MAXREQ], done[MAXREQ] = {0}, ndone = 0, n = nreq, out, flag, k;

    if (n == 0)
        return;
    static char hbuf[64];
    snprintf(hbuf, sizeof hbuf, ", completed by MPI_%s", compl_names[how]);
    how_now = hbuf;
    switch (how) {
    case C_WAITEACH:
        for (int i = 0; i < n; i++) {
            check_mpi(MPI_Wait(&reqs[i], &sts[i]), "MPI_Wait");
            completed(i, &sts[i]);
        }
        return;
    case C_WAITALL:
        check_mpi(MPI_Waitall(n, reqs, sts), "MPI_Waitall");
        for (int i = 0; i < n; i++)
            completed(i, &sts[i]);
        return;
    case C_TESTALL:
        for (flag = 0; !flag;)
            check_mpi(MPI_Testall(n, reqs, &flag, sts), "MPI_Testall");
        for (int i = 0; i < n; i++)
            completed(i, &sts[i]);
        return;
    }
    while (ndone < n) {
        MPI_Status st;
        switch (how) {
        case C_WAITANY:
        case C_TESTANY:
            if (how == C_WAITANY) {
                check_mpi(MPI_Waitany(n, reqs, &k, &st), "MPI_Waitany");
            } else {
                for (flag = 0; !flag;)
                    check_mpi(MPI_Testany(n, reqs, &k, &flag, &st),
                              "MPI_Testany");
            }
            if (k == MPI_UNDEFINED)
                goto undefined;
            if (done[k]++)
                fail("request %d completed twice", k);
            ndone++;
            completed(k, &st);
            /* A completed persistent request is inactive: Waitany skips
             * it like MPI_REQUEST_NULL. */
            break;
        default: /* Waitsome, Testsome */
            out = 0;
            if (how == C_WAITSOME)
                check_mpi(MPI_Waitsome(n, reqs, &out, idx, sts),
                          "MPI_Waitsome");
            else
                check_mpi(MPI_Testsome(n, reqs, &out, idx, sts),
                          "MPI_Testsome");
            if (out == MPI_UNDEFINED)
                goto undefined;
            for (int j = 0; j < out; j++) {
                if (done[idx[j]]++)
                    fail("request %d completed twice", idx[j]);
                ndone++;
                completed(idx[j], &sts[j]);
            }
        }
    }
    return;
undefined : {
    char what[256] = "";
    for (int i = 0; i < n; i++)
        if (!done[i])
            snprintf(what + strlen(what), sizeof what - strlen(what),
                     " [%d] kind %d%s", i, rinfo[i].kind,
                     rinfo[i].persistent ? " persistent" : "");
    fail("MPI_%s returned MPI_UNDEFINED with %d of %d requests done; not "
         "done:%s",
         compl_names[how], ndone, n, what);
}
}

static int cmp_due(const void *a, const void *b)
{
    const struct msg *x = *(const struct msg *const *)a;
    const struct msg *y = *(const struct msg *const *)b;
    if (x->rpos != y->rpos)
        return x->rpos < y->rpos ? -1 : 1;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* MPI's order inside a stream, for anonymous receives: from one source,
 * the messages of a group go to the receives in posting order. */
static void check_anon_order(void)
{
    for (int i = 0; i < nrslot; i++) {
        const struct rslot *a = &rslots[i];
        if (a->m->rpat < P_ANYSRC)
            continue;
        for (int j = 0; j < nrslot; j++) {
            const struct rslot *b = &rslots[j];
            if (b->m->rpat < P_ANYSRC || b->m->step != a->m->step ||
                b->m->slot != a->m->slot || b->got->src != a->got->src ||
                b->order <= a->order)
                continue;
            if (b->got->idx < a->got->idx)
                fail("slot %d step %d: from rank %d, message %d was received "
                     "before message %d (receives %d and %d)",
                     a->m->slot, a->m->step, a->got->src, b->got->idx,
                     a->got->idx, a->order, b->order);
        }
    }
}

static void request(const char *why)
{
    int rc = observe_mode ? mpisnap_observe() : mpisnap_request();
    if (rc < 0)
        fail("%s: %s", why, mpisnap_strerror(rc));
}

static void collective(int kind, int slot, int t)
{
    MPI_Comm comm = S[slot].comm;
    int n = S[slot].n, cr = S[slot].crank;
    int64_t v = (int64_t)(t + 1) * (me + 1), sum = 0, all[MAXR];

    if (comm == MPI_COMM_NULL)
        return;
    for (int i = 0; i < n; i++)
        sum += (int64_t)(t + 1) * (S[slot].wr[i] + 1);
    switch (kind) {
    case CO_BARRIER:
        MPI_Barrier(comm);
        break;
    case CO_ALLREDUCE:
        MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT64_T, MPI_SUM, comm);
        if (v != sum)
            fail("MPI_Allreduce on slot %d: %" PRId64 ", expected %" PRId64,
                 slot, v, sum);
        break;
    case CO_BCAST:
        v = cr == n - 1 ? (int64_t)hash3(C.seed, (uint64_t)t, 7) : 0;
        MPI_Bcast(&v, 1, MPI_INT64_T, n - 1, comm);
        if (v != (int64_t)hash3(C.seed, (uint64_t)t, 7))
            fail("MPI_Bcast on slot %d: wrong value", slot);
        break;
    case CO_ALLGATHER: {
        int64_t w = me;
        MPI_Allgather(&w, 1, MPI_INT64_T, all, 1, MPI_INT64_T, comm);
        for (int i = 0; i < n; i++)
            if (all[i] != S[slot].wr[i])
                fail("MPI_Allgather on slot %d: [%d] = %" PRId64, slot, i,
                     all[i]);
        break;
    }
    case CO_REDUCE: {
        int64_t r = 0;
        MPI_Reduce(&v, &r, 1, MPI_INT64_T, MPI_SUM, 0, comm);
        if (cr == 0 && r != sum)
            fail("MPI_Reduce on slot %d: %" PRId64, slot, r);
        break;
    }
    }
    chk += (uint64_t)sum * 31 + (uint64_t)kind;
}

static void do_step(int t)
{
    struct plan *p0 = plan_of(t);
    const struct msg *due[MAXMSG * (MAXDELAY + 1)];
    int ndue = 0, nullop = p0->nullop[me];
    MPI_Request r;
    int cancel_i = -1, nbc_i = -1;
    static char hsbuf[1];

    nreq = nrslot = norder = 0;
    comm_events(t, 0);
    if (p0->req_rank == me && !p0->req_mid)
        request("mpisnap_request");

    for (int d = 0; d <= MAXDELAY; d++) {
        struct plan *p = plan_of(t - d);
        for (int i = 0; i < p->nm; i++)
            if (p->m[i].due == t && p->m[i].dst == me)
                due[ndue++] = &p->m[i];
    }
    qsort(due, (size_t)ndue, sizeof *due, cmp_due);

    trace("step %d: phase A, %d due", t, ndue);
    /* Phase A */
    for (int i = 0; i < ndue; i++)
        if (due[i]->prepost)
            prepost(due[i]);
    for (int i = 0; i < p0->nm; i++) {
        const struct msg *m = &p0->m[i];
        if (m->dst == me && m->src != me && m->due == t &&
            (m->smode == S_RSEND || m->smode == S_IRSEND ||
             m->smode == S_PRSEND)) {
            check_mpi(MPI_Isend(hsbuf, 0, MPI_BYTE, m->src, TAG_HS, hs, &r),
                      "MPI_Isend (handshake)");
            add_req(Q_HS, r, NULL, NULL, 0);
        }
    }
    if (p0->cancel[me]) {
        MPI_Comm comm = S[p0->cancel_slot[me]].comm;
        int src = p0->cancel[me] == 2 ? MPI_ANY_SOURCE : (me + 1) % C.nranks;
        static char cbuf[64];
        check_mpi(
            MPI_Irecv(cbuf, sizeof cbuf, MPI_BYTE, src, TAG_CANCEL, comm, &r),
            "MPI_Irecv (to cancel)");
        cancel_i = add_req(Q_CANCEL, r, NULL, NULL, 0);
    }
    if (nullop == N_IRECV) {
        check_mpi(MPI_Irecv(NULL, 0, MPI_BYTE, MPI_PROC_NULL, 3, world, &r),
                  "MPI_Irecv (PROC_NULL)");
        add_req(Q_NULLRECV, r, NULL, NULL, 0);
    }
    if (p0->nbc && S[p0->nbc_slot].comm != MPI_COMM_NULL) {
        MPI_Comm comm = S[p0->nbc_slot].comm;
        nbc_val[0] = (int64_t)(t + 1) * (me + 1);
        nbc_val[1] = S[p0->nbc_slot].crank == 0 ? t * 3 + 1 : 0;
        if (p0->nbc == CO_IBARRIER)
            MPI_Ibarrier(comm, &r);
        else if (p0->nbc == CO_IALLREDUCE)
            MPI_Iallreduce(MPI_IN_PLACE, &nbc_val[0], 1, MPI_INT64_T, MPI_SUM,
                           comm, &r);
        else
            MPI_Ibcast(&nbc_val[1], 1, MPI_INT64_T, 0, comm, &r);
        nbc_i = add_req(Q_NBC, r, NULL, NULL, 0);
    }
    if (p0->idup) {
        check_mpi(MPI_Comm_idup(idup_parent, &idup_comm, &r), "MPI_Comm_idup");
        add_req(Q_IDUP, r, NULL, NULL, 0);
    }

    /* Phase B */
    for (int i = 0; i < p0->nm; i++)
        if (p0->m[i].src == me) {
            trace("step %d: send message %d mode %d to %d slot %d tag %d", t, i,
                  p0->m[i].smode, p0->m[i].dst, p0->m[i].slot, p0->m[i].tag);
            send_msg(&p0->m[i]);
        }
    if (nullop == N_SEND)
        check_mpi(MPI_Send(hsbuf, 1, MPI_BYTE, MPI_PROC_NULL, 3, world),
                  "MPI_Send (PROC_NULL)");
    if (nullop == N_ISEND) {
        check_mpi(MPI_Isend(hsbuf, 1, MPI_BYTE, MPI_PROC_NULL, 3, world, &r),
                  "MPI_Isend (PROC_NULL)");
        add_req(Q_NULLSEND, r, NULL, NULL, 0);
    }
    if (p0->req_rank == me && p0->req_mid)
        request("mpisnap_request (mid-step)");

    /* Phase C */
    for (int i = 0; i < ndue; i++)
        if (!due[i]->prepost) {
            trace("step %d: receive step %d message %d (%s) from %d slot %d "
                  "pattern %d tag %d",
                  t, due[i]->step, due[i]->idx, rform_names[due[i]->rform],
                  due[i]->src, due[i]->slot, due[i]->rpat, due[i]->tag);
            receive_now(due[i]);
        }
    if (nullop == N_RECV || nullop == N_SENDRECV || nullop == N_PROBE) {
        MPI_Status st;
        int count;
        if (nullop == N_RECV)
            MPI_Recv(NULL, 0, MPI_BYTE, MPI_PROC_NULL, 3, world, &st);
        else if (nullop == N_SENDRECV)
            MPI_Sendrecv(hsbuf, 1, MPI_BYTE, MPI_PROC_NULL, 3, NULL, 0,
                         MPI_BYTE, MPI_PROC_NULL, 3, world, &st);
        else
            MPI_Probe(MPI_PROC_NULL, 3, world, &st);
        MPI_Get_count(&st, MPI_BYTE, &count);
        if (st.MPI_SOURCE != MPI_PROC_NULL || st.MPI_TAG != MPI_ANY_TAG ||
            count != 0)
            fail("PROC_NULL operation %d: source %d tag %d count %d", nullop,
                 st.MPI_SOURCE, st.MPI_TAG, count);
    }

    trace("step %d: phase D, %d requests", t, nreq);
    /* Phase D */
    if (cancel_i >= 0)
        check_mpi(MPI_Cancel(&reqs[cancel_i]), "MPI_Cancel");
    complete_all(p0->compl [me]);
    how_now = "";
    for (int i = 0; i < nreq; i++)
        if (rinfo[i].persistent)
            MPI_Request_free(&reqs[i]);
    for (int i = 0; i < nrslot; i++) {
        if (!rslots[i].got)
            fail("receive %d of the step got nothing", i);
        free(rslots[i].buf);
    }
    for (int i = 0; i < ndue; i++)
        if (due[i]->rpat >= P_ANYSRC &&
            !plan_of(due[i]->step)->got[due[i]->idx])
            fail("step %d message %d (anonymous) was never received",
                 due[i]->step, due[i]->idx);
    check_anon_order();
    if (nbc_i >= 0) {
        int64_t sum = 0;
        for (int i = 0; i < S[p0->nbc_slot].n; i++)
            sum += (int64_t)(t + 1) * (S[p0->nbc_slot].wr[i] + 1);
        if (p0->nbc == CO_IALLREDUCE && nbc_val[0] != sum)
            fail("MPI_Iallreduce: %" PRId64 ", expected %" PRId64, nbc_val[0],
                 sum);
        if (p0->nbc == CO_IBCAST && nbc_val[1] != t * 3 + 1)
            fail("MPI_Ibcast: %" PRId64, nbc_val[1]);
        chk += (uint64_t)sum + (uint64_t)p0->nbc;
    }
    if (p0->idup) {
        int size;
        MPI_Comm_size(idup_comm, &size);
        if (size != C.nranks)
            fail("MPI_Comm_idup: size %d", size);
        MPI_Comm_free(&idup_comm);
    }

    trace("step %d: phase E", t);
    /* Phase E */
    if (p0->coll)
        collective(p0->coll, p0->coll_slot, t);
    comm_events(t, 1);
}

/* ------------------------------------------------------------ main */

/* Observation property: what this rank received (as recorded) plus the
 * messages in flight to it, minus what it sent.  Summed over all ranks it
 * is 0 at any consistent cut. */
static double conservation(const struct mpisnap_view *v, void *arg)
{
    const int64_t *sv = mpisnap_view_region(v, "sent_value", NULL);
    const int64_t *rv = mpisnap_view_region(v, "recv_value", NULL);
    double x = (rv ? (double)*rv : 0) - (sv ? (double)*sv : 0);

    (void)arg;
    for (size_t i = 0; i < v->nmsgs; i++) {
        int tag = v->msgs[i].tag;
        int64_t val;
        if (v->msgs[i].nbytes >= 16 &&
            ((tag >= TAG0 && tag < TAG0 + 4) || tag >= WTAG0)) {
            memcpy(&val, v->msgs[i].data, 8);
            x += (double)val;
        }
    }
    return x;
}

static void usage(FILE *f)
{
    fputs("usage: fuzz --seed S [--steps N] [--requests K] [--observe]\n"
          "            [--features LIST] [--quiet] [--list-features]\n"
          "  --seed S         the schedule's seed (default 1)\n"
          "  --steps N        steps (default 40)\n"
          "  --requests K     snapshot requests (or observations with\n"
          "                   --observe) at random steps (default 3)\n"
          "  --observe        request observations (mpisnap_observe(); needs\n"
          "                   MPISNAP_OBSERVE=1) instead of snapshots, and\n"
          "                   check the property 'conservation' at each\n"
          "  --features LIST  comma-separated: 'default', 'all', 'none', a\n"
          "                   name (add it) or -name (remove it); applied in\n"
          "                   order (default: 'default')\n"
          "  --list-features  print the features and exit\n"
          "Output (rank 0): 'recorded step S', 'committed snapshot ID step\n"
          "S', 'restored step S', 'checksum X'; with --observe\n"
          "'observations N checked, M unchecked, F failed'.  Any check that\n"
          "fails prints 'fuzz: FAIL: ...' and aborts the job.\n",
          f);
}

/* --plan T: what step T does, for reading a failure */
static void print_plan(int t)
{
    struct plan *p = plan_of(t);

    printf("step %d: %d messages; collective %d on slot %d; nbc %d on slot "
           "%d; idup %d; request rank %d%s\n",
           t, p->nm, p->coll, p->coll_slot, p->nbc, p->nbc_slot, p->idup,
           p->req_rank, p->req_mid ? " (mid-step)" : "");
    for (int s = SLOT_DYN; s < NSLOT; s++) {
        const struct gen *g = gen_at(&C, s, t);
        if (g) {
            printf("  slot %d: kind %d parent %d born %d dies %d delay %d "
                   "colours",
                   s, g->kind, g->parent, g->born, g->dies, g->delay);
            for (int r = 0; r < C.nranks; r++)
                printf(" %d", g->col[r]);
            printf("\n");
        }
    }
    for (int i = 0; i < p->nm; i++) {
        const struct msg *m = &p->m[i];
        printf("  msg %d: slot %d colour %d %d->%d (comm %d->%d) tag %d size "
               "%d due %d send %d pattern %d %s%s rpos %u\n",
               i, m->slot, m->color, m->src, m->dst, m->csrc, m->cdst, m->tag,
               m->size, m->due, m->smode, m->rpat, rform_names[m->rform],
               m->dtrecv ? " (type freed)" : "", m->rpos);
    }
    for (int r = 0; r < C.nranks; r++)
        printf("  rank %d: null op %d, cancel %d (slot %d), completion %s\n", r,
               p->nullop[r], p->cancel[r], p->cancel_slot[r],
               compl_names[p->compl [r]]);
}

static int parse_features(const char *list)
{
    char *s = strdup(list), *save = NULL;

    for (char *tok = strtok_r(s, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int on = 1, found = 0;
        if (*tok == '-' || *tok == '+') {
            on = *tok == '+';
            tok++;
        }
        for (int i = 0; i < NFEAT; i++) {
            if (!strcmp(tok, "default"))
                C.feat[i] = feature_default[i], found = 1;
            else if (!strcmp(tok, "all"))
                C.feat[i] = 1, found = 1;
            else if (!strcmp(tok, "none"))
                C.feat[i] = 0, found = 1;
            else if (!strcmp(tok, feature_names[i]))
                C.feat[i] = on, found = 1;
        }
        if (!found) {
            if (me == 0)
                fprintf(stderr, "fuzz: unknown feature '%s'\n", tok);
            free(s);
            return -1;
        }
    }
    free(s);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'},
        {"steps", required_argument, NULL, 'n'},
        {"requests", required_argument, NULL, 'r'},
        {"observe", no_argument, NULL, 'o'},
        {"features", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"plan", required_argument, NULL, 'p'},
        {"list-features", no_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc, bad = 0, list = 0, show_plan = -1;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &C.nranks);
    if (me == 0)
        setvbuf(stdout, NULL, _IOLBF, 0);
    C.seed = 1;
    C.nsteps = 40;
    C.nrequests = 3;
    for (int i = 0; i < NFEAT; i++)
        C.feat[i] = feature_default[i];
    opterr = me == 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            C.seed = strtoull(optarg, NULL, 10);
            break;
        case 'n':
            C.nsteps = atoi(optarg);
            break;
        case 'r':
            C.nrequests = atoi(optarg);
            break;
        case 'o':
            observe_mode = 1;
            break;
        case 'f':
            bad |= parse_features(optarg) < 0;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'p':
            show_plan = atoi(optarg);
            break;
        case 'l':
            list = 1;
            break;
        case 'h':
            if (me == 0)
                usage(stdout);
            MPI_Finalize();
            return 0;
        default:
            bad = 1;
        }
    }
    if (list) {
        for (int i = 0; me == 0 && i < NFEAT; i++)
            printf("%-10s %s  %s\n", feature_names[i],
                   feature_default[i] ? "on " : "off", feature_what[i]);
        MPI_Finalize();
        return 0;
    }
    if (bad || C.nranks > MAXR || C.nsteps < 1 || C.nsteps > 8000) {
        if (me == 0)
            usage(stderr);
        MPI_Finalize();
        return 2;
    }

    /* Fixed communicators first, in the same order in every run. */
    world = MPI_COMM_WORLD;
    MPI_Comm_dup(MPI_COMM_WORLD, &base);
    MPI_Comm_dup(MPI_COMM_WORLD, &hs);
    MPI_Comm_dup(MPI_COMM_WORLD, &idup_parent);
    static char bsend_buf[24 << 20];
    MPI_Buffer_attach(bsend_buf, sizeof bsend_buf);
    plan_comms(&C);
    for (int i = 0; i <= MAXDELAY; i++)
        ring[i].step = -1000;
    if (show_plan >= 0) {
        if (me == 0)
            print_plan(show_plan);
        MPI_Finalize();
        return 0;
    }
    init_fixed_slots();

    mpisnap_protect("step", &step, 1, MPI_INT64_T);
    mpisnap_protect("chk", &chk, 1, MPI_UINT64_T);
    mpisnap_protect("sent_value", &sent_value, 1, MPI_INT64_T);
    mpisnap_protect("recv_value", &recv_value, 1, MPI_INT64_T);
    int restored = mpisnap_restore();
    if (restored < 0)
        fail("mpisnap_restore: %s", mpisnap_strerror(restored));
    if ((rc = mpisnap_property("conservation", conservation, MPISNAP_SUM,
                               NULL)) < 0)
        fail("mpisnap_property: %s", mpisnap_strerror(rc));
    int64_t start = step;
    if (restored) {
        /* Re-create the communicators of steps 0..start-1, in order. */
        for (int t = 0; t < start; t++) {
            comm_events(t, 0);
            comm_events(t, 1);
        }
        if (me == 0)
            printf("restored step %" PRId64 "\n", start);
    }
    if (me == 0 && !quiet) {
        printf("fuzz: seed %" PRIu64 ", %d ranks, %d steps, features", C.seed,
               C.nranks, C.nsteps);
        for (int i = 0; i < NFEAT; i++)
            if (C.feat[i])
                printf(" %s", feature_names[i]);
        printf("\n");
    }

    long long committed = mpisnap_last_committed(), nchecked = 0, nbad = 0,
              nunchecked = 0, checked_id = -1;
    int64_t rec_step = -1, last_commit_step = -1, last_req = -1;
    for (;;) {
        rc = mpisnap_point();
        if (rc < 0)
            fail("mpisnap_point: %s", mpisnap_strerror(rc));
        if (rc == 1) {
            rec_step = step;
            if (me == 0 && !quiet)
                printf("recorded step %" PRId64 "\n", step);
        }
        long long last = mpisnap_last_committed();
        if (last != committed) {
            last_commit_step = rec_step;
            if (me == 0)
                printf("committed snapshot %lld step %" PRId64 "\n", last,
                       rec_step);
            committed = last;
        }
        if (observe_mode) {
            double val;
            long long id;
            int orc = mpisnap_observed("conservation", &val, &id);
            if (orc == 0 && id != checked_id && id >= 0)
                nunchecked++, checked_id = id;
            if (orc == 1 && id != checked_id) {
                checked_id = id;
                nchecked++;
                if (val != 0) {
                    nbad++;
                    if (me == 0)
                        printf("observation %lld: conservation FAILED: "
                               "received + in flight - sent = %.0f\n",
                               id, val);
                }
            }
        }
        if (step >= C.nsteps)
            break;
        struct plan *p0 = plan_of((int)step);
        if (p0->req_rank >= 0)
            last_req = step;
        if (rc == 1 && p0->aftercut_rank >= 0) {
            last_req = step;
            if (p0->aftercut_rank == me)
                request("mpisnap_request (after the cut)");
        }
        do_step((int)step);
        step++;
    }

    /* The final checksum: every rank's, in rank order. */
    uint64_t mine[3] = {chk, (uint64_t)sent_value, (uint64_t)recv_value};
    uint64_t all[3 * MAXR];
    MPI_Gather(mine, 3, MPI_UINT64_T, all, 3, MPI_UINT64_T, 0, world);
    int exitcode = 0;
    if (me == 0) {
        uint64_t h = 0xcbf29ce484222325ULL;
        int64_t tot = 0;
        for (int i = 0; i < 3 * C.nranks; i++) {
            h = (h ^ all[i]) * 0x100000001b3ULL;
            if (i % 3 == 1)
                tot -= (int64_t)all[i];
            if (i % 3 == 2)
                tot += (int64_t)all[i];
        }
        if (tot != 0) {
            printf("fuzz: FAIL: received - sent = %" PRId64 "\n", tot);
            exitcode = 1;
        }
        if (observe_mode)
            printf("observations %lld checked, %lld unchecked, %lld failed\n",
                   nchecked, nunchecked, nbad);
        if (!observe_mode && last_req >= 0 && last_commit_step <= last_req) {
            printf("fuzz: UNSATISFIED: the request at step %" PRId64
                   " has no committed snapshot after it\n",
                   last_req);
            exitcode = 3;
        }
        printf("checksum %016" PRIx64 "\n", h);
    }
    exitcode |= nbad ? 1 : 0;
    MPI_Bcast(&exitcode, 1, MPI_INT, 0, world);
    void *bb;
    int bs;
    MPI_Buffer_detach(&bb, &bs);
    MPI_Comm_free(&base);
    MPI_Comm_free(&hs);
    MPI_Comm_free(&idup_parent);
    MPI_Finalize();
    return exitcode;
}
