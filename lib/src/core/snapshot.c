/* Checkpoint snapshots: request, agree on the safe point, record, counting
 * markers, channel window, write, complete, commit or abort.
 * docs/protocol.md explains the protocol and why each snapshot is
 * consistent.
 *
 * Every rank runs the same sequence of control collectives on ms.ctl for
 * every snapshot, aborted or not: agree (Iallreduce; not with
 * MPISNAP_EVERY), the NBX barrier (Ibarrier), complete (Igather +
 * Iallreduce), outcome (Ibcast).  No rank ever blocks waiting for one:
 * they are tested at safe points and in the library's progress loop. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/core.h"
#include "core/cut.h"

struct ms__core ms__core = {.last_committed = -1, .margin = 2};

enum { S_IDLE, S_AGREE, S_ARMED, S_CUT, S_WRITE, S_COMPLETE, S_OUTCOME };

/* Collective counts are compared two ways.  Through NB hash buckets of
 * communicator ids (max of count+1, max of ~count): a mismatch names the
 * bucket, but two communicators in one bucket whose counts differ look like
 * a cut.  And exactly, by a sum over every member of every communicator
 * of h(id, count), less size * h(id, count) at its rank 0: zero exactly
 * when every member's count is its rank 0's (up to a 64-bit hash
 * collision), however the ids fall into buckets.  A snapshot aborts only
 * when both say so: neither misses a real cut. */
#define NB 256

/* What each rank reports to rank 0 at completion. */
struct rankrec {
    uint64_t ok, missed, point, checksum, bytes, nmsgs;
    char why[200];
};

static struct {
    int phase;
    int64_t id, last_started;
    uint64_t P;
    uint64_t q, pmax;
    int recorded, just_recorded, window_done, finalizing, timed_out;
    int stop_snap;    /* every rank stops at P once this one commits */
    int voted;        /* complete (and maybe outcome) posted */
    MPI_Comm fin;     /* for the finalize handshake, apart from ms.ctl */
    double t0, wall0; /* monotonic, and seconds since the epoch */
    MPI_Request agree_req, barrier_req, gather_req, red_req, bcast_req;
    int barrier_posted;
    /* markers */
    int nmk;
    MPI_Request *mk_req;
    struct ms__cut_marker *mk; /* [world size]: the marker to each rank */
    int *mk_to;                /* [nmk]: destination of mk_req[i] */
    /* the cut */
    struct ms__cut_table wt; /* incoming streams (cut.h) */
    struct ms__cut_log log;  /* messages possibly in flight (pos <= C) */
    void **stage;            /* [nstage]: copies of the regions, kept */
    size_t nstage;
    struct ms__cut_counters cnt;
    size_t nledger; /* freed communicators' counts at the cut (cut.c) */
    struct ms__commrec *comms;
    size_t ncomms;
    uint64_t buckets[2 * NB], buckets_all[2 * NB];
    uint64_t csum, csum_all; /* the exact check */
    MPI_Request sum_req;
    struct rankrec rec, *all;
    int64_t outcome[3]; /* committed, some rank missed, stop now */
} S;

static int in_core;
/* MPISNAP_TEST_IGNORE_MARKERS=r: rank r receives no marker until the end
 * of MPI_Finalize (a test hook: markers left over to the very end). */
static int ignore_markers = -1;
static int draining; /* MPI_Finalize's last loop */
static int in_point; /* inside mpisnap_point(), at ms__core.point */
/* Rank 0: a request is answered only by a snapshot whose cut comes after
 * it; one made after its requester recorded snapshot S.id waits for the
 * next. */
static int want_next;
static void want_from(int what, int64_t recorded);

/* ---- helpers ---- */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;

    if (!S.rec.ok)
        return; /* keep the first reason */
    S.rec.ok = 0;
    va_start(ap, fmt);
    vsnprintf(S.rec.why, sizeof S.rec.why, fmt, ap);
    va_end(ap);
    MS_INFO("snapshot %lld: %s", (long long)S.id, S.rec.why);
}

static struct ms__tagcount *recv_count(struct ms__comm *c, int source, int tag)
{
    struct ms__stream *s = &c->recv[source];
    uint32_t i;

    if (s->c.tag == tag)
        return &s->c;
    for (i = 0; i < s->nmore; i++)
        if (s->more[i].tag == tag)
            return &s->more[i];
    return NULL;
}

/* The sender's count at its cut: its marker, else the last committed. */
static uint64_t sender_cut(struct ms__cut_stream *w, struct ms__comm *c)
{
    struct ms__tagcount *t;

    if (w->have_C)
        return w->C;
    t = c ? recv_count(c, w->source, w->tag) : NULL;
    return t ? t->base : w->base;
}

/* ---- begin and agree ---- */

static void go_active(void)
{
    ms.active = 1;
    ms__update_slow();
}

/* Markers that arrived for a snapshot this rank has not begun yet. */
struct early {
    struct early *next;
    uint64_t *buf;
    size_t n;
};
static struct early *early_markers;

static void apply_marker(const uint64_t *b, size_t n);

static double wallclock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void begin(int64_t id, int active)
{
    struct early **p, *e;

    memset(&S.rec, 0, sizeof S.rec);
    memset(S.buckets, 0, sizeof S.buckets);
    S.csum = 0;
    S.rec.ok = 1;
    S.id = id;
    S.last_started = id;
    S.t0 = ms__now();
    S.wall0 = wallclock();
    S.recorded = 0;
    S.window_done = 0;
    S.barrier_posted = 0;
    S.timed_out = 0;
    S.voted = 0;
    S.stop_snap = 0;
    if (active)
        go_active();
    for (p = &early_markers; (e = *p);) {
        if ((int64_t)e->buf[0] == id)
            apply_marker(e->buf, e->n);
        if ((int64_t)e->buf[0] <= id) {
            *p = e->next;
            free(e->buf);
            free(e);
        } else {
            p = &e->next;
        }
    }
}

static void begin_agree(int64_t id)
{
    begin(id, 1);
    S.q = ms__core.point;
    PMPI_Iallreduce(&S.q, &S.pmax, 1, MPI_UINT64_T, MPI_MAX, ms.ctl,
                    &S.agree_req);
    S.phase = S_AGREE;
    MS_DEBUG("snapshot %lld: agreeing on the safe point (mine %llu)",
             (long long)id, (unsigned long long)S.q);
}

static void post_barrier(void)
{
    PMPI_Ibarrier(ms.ctl, &S.barrier_req);
    S.barrier_posted = 1;
}

static void vote_abort(void);

/* MPISNAP_EVERY: this rank's run ended before the scheduled safe point,
 * which is normal, not a failure to report. */
static int ended_early(void)
{
    return ms__cfg.every && S.finalizing && S.rec.missed &&
           ms__core.point < S.P;
}

static void missed(void)
{
    go_active();
    S.rec.missed = 1;
    if (S.finalizing && ms__core.point < S.P)
        fail("reached MPI_Finalize before the safe point %llu",
             (unsigned long long)S.P);
    else
        fail("missed the safe point %llu (learned it at %llu)",
             (unsigned long long)S.P, (unsigned long long)ms__core.point);
    vote_abort();
}

/* ---- record ---- */

static void describe_pending(char *buf, size_t n)
{
    size_t i, len = 0;
    int shown = 0;
    static const char *const kinds[] = {"",
                                        "send",
                                        "receive",
                                        "persistent send",
                                        "persistent receive",
                                        "receive",
                                        "matched receive",
                                        "collective/IO"};

    len = (size_t)snprintf(buf, n,
                           "%ld request(s) and %ld matched message(s)"
                           " pending at safe point %llu",
                           ms.npending, ms.nmsgs,
                           (unsigned long long)ms__core.point);
    for (i = 0; i < ms.reqs.cap && shown < 3 && len < n; i++) {
        struct ms__req *r = ms.reqs.vals[i];
        if (!ms.reqs.keys[i] || !r->active)
            continue;
        if (r->what) /* MPI-IO */
            len += (size_t)snprintf(buf + len, n - len, "%s %s on comm %016llx",
                                    shown ? ";" : ":", r->what,
                                    r->c ? (unsigned long long)r->c->id : 0ULL);
        else
            len += (size_t)snprintf(
                buf + len, n - len, "%s %s peer %d tag %d comm %016llx",
                shown ? ";" : ":", kinds[r->kind], r->peer, r->tag,
                r->c ? (unsigned long long)r->c->id : 0ULL);
        shown++;
    }
}

/* Append one entry to the marker for world rank `to`: the snapshot id,
 * then (communicator id, sender's rank in it, tag, count) per stream. */
static void marker_add(int to, uint64_t comm_id, int src, int tag, uint64_t n)
{
    const uint64_t id = (uint64_t)S.id;

    if (!S.mk[to].len)
        ms__cut_marker_put(&S.mk[to], &id, 1);
    ms__cut_marker_add(&S.mk[to], comm_id, src, tag, n);
}

static void apply_marker(const uint64_t *b, size_t n)
{
    MS_DEBUG("snapshot %lld: marker with %zu count(s)", (long long)S.id,
             (n - 1) / 4);
    ms__cut_apply_marker(&S.wt, b + 1, (n - 1) / 4);
}

/* Log message pos of stream w as possibly in flight (kept if pos <= C). */
static void log_msg(struct ms__cut_stream *w, uint64_t pos, const void *buf,
                    int count, MPI_Datatype dt)
{
    if (!ms__cut_log_add(&S.log, w, pos, buf, count, dt))
        fail("out of memory logging a message in flight");
}

/* One stream count at the cut (live or freed communicator). */
static void cut_count(void *arg, const struct ms__cut_count *k)
{
    struct ms__cut_stream *w;

    (void)arg;
    if (k->dir == 0) {
        ms__cut_counter_add(&S.cnt, k->comm_id, k->peer, k->tag, 0, k->n);
        if (k->n != k->base) /* sparse: the receiver knows the base */
            marker_add(k->world, k->comm_id, k->me, k->tag, k->n);
    } else {
        w = ms__cut_stream(&S.wt, k->comm_id, k->peer, k->tag);
        w->R = k->n;
        w->have_R = 1;
        w->base = k->base; /* a freed communicator's: from the ledger */
    }
}

static uint64_t *cut_R(void *arg, uint64_t comm_id, int source, int tag)
{
    struct ms__cut_stream *w = ms__cut_stream(&S.wt, comm_id, source, tag);

    (void)arg;
    return &w->R;
}

static void cut_log(void *arg, struct ms__comm *c, int source, int tag,
                    uint64_t pos, const void *buf, int count, MPI_Datatype dt)
{
    (void)arg;
    log_msg(ms__cut_stream(&S.wt, c->id, source, tag), pos, buf, count, dt);
}

static const struct ms__cut_ops cut_ops = {cut_R, cut_log};

static void record(void)
{
    struct ms__comm *c;
    char why[512];
    size_t i;
    int to;

    go_active();
    S.phase = S_CUT;
    S.P = ms__core.point;
    S.rec.point = S.P;
    if (ms.unsupported) {
        ms__unsupported_text(why, sizeof why);
        fail("not supported by mpisnap: %s", why);
    }
    ms__zombies_test(); /* freed while active: done by now? counted */
    if (ms.npending || ms.nmsgs) {
        describe_pending(why, sizeof why);
        fail("%s", why);
    }
    if (!S.rec.ok) {
        S.window_done = 1;
        post_barrier();
        return;
    }

    /* 1. Counters and markers, before anything slow: a late marker
     * lengthens every receiver's window. */
    S.mk = calloc((size_t)ms.world_size, sizeof *S.mk);
    if (!S.mk)
        goto oom;
    for (c = ms__comm_first(); c; c = ms__comm_next(c)) {
        if (c->inter)
            continue;
        if (c->size > 1) {
            uint64_t b = c->id % NB;
            if (c->ncoll + 1 > S.buckets[b])
                S.buckets[b] = c->ncoll + 1;
            uint64_t h = ms__mix64(c->id ^ ms__mix64(c->ncoll + 1));
            if (~c->ncoll > S.buckets[NB + b])
                S.buckets[NB + b] = ~c->ncoll;
            S.csum += h; /* unsigned: wraps, as MPI_SUM does */
            if (c->rank == 0)
                S.csum -= (uint64_t)c->size * h;
        }
    }
    /* Stream counts of live and freed communicators; then what the library
     * holds for the program comes out of R, logged as in flight; then R is
     * this rank's received count at the cut. */
    ms__cut_counts(cut_count, NULL);
    S.nledger = ms__cut_ledger_len();
    ms__cut_undelivered(&cut_ops, NULL);
    ms__cut_counters_received(&S.cnt, &S.wt);
    if (ms.trace)
        ms__trace(MS_EV_CUT, NULL, -1, 0, S.P);
    S.mk_req = malloc((size_t)ms.world_size * sizeof *S.mk_req);
    S.mk_to = malloc((size_t)ms.world_size * sizeof *S.mk_to);
    if (!S.mk_req || !S.mk_to)
        goto oom;
    S.nmk = 0;
    for (to = 0; to < ms.world_size; to++) {
        if (!S.mk[to].len)
            continue;
        if (to == ms.world_rank) {
            apply_marker(S.mk[to].b, S.mk[to].len);
            continue;
        }
        S.mk_to[S.nmk] = to;
        PMPI_Issend(S.mk[to].b, (int)S.mk[to].len, MPI_UINT64_T, to,
                    MS_TAG_MARKER, ms.ctl, &S.mk_req[S.nmk++]);
        if (ms.trace)
            ms__trace(MS_EV_MARKER_SEND, NULL, to, MS_TAG_MARKER,
                      (uint64_t)S.id);
    }
    S.recorded = 1;
    S.just_recorded = 1;
    ms.window = 1;
    ms__update_slow();

    /* 2. Stage the state: a copy now, written at a later safe point.  The
     * staging buffers stay allocated from one snapshot to the next: copying
     * into memory already touched costs a memcpy, not page faults. */
    if (S.nstage < ms__nregions) {
        void **grown = realloc(S.stage, ms__nregions * sizeof *S.stage);
        if (!grown)
            goto oom;
        memset(grown + S.nstage, 0, (ms__nregions - S.nstage) * sizeof *grown);
        S.stage = grown;
        S.nstage = ms__nregions;
    }
    for (i = 0; i < ms__nregions; i++) {
        if (!S.stage[i])
            S.stage[i] =
                malloc(ms__regions[i].bytes ? ms__regions[i].bytes : 1);
        if (!S.stage[i]) {
            fail("out of memory copying region '%s' (%llu bytes)",
                 ms__regions[i].name, (unsigned long long)ms__regions[i].bytes);
            break;
        }
        memcpy(S.stage[i], ms__regions[i].base, ms__regions[i].bytes);
    }
    S.comms = ms__cut_comm_records(&S.ncomms);
    MS_DEBUG("snapshot %lld: recorded at safe point %llu, %d marker(s)",
             (long long)S.id, (unsigned long long)S.P, S.nmk);
    return;
oom:
    MS_ERROR("out of memory recording snapshot %lld: aborting job",
             (long long)S.id);
    PMPI_Abort(MPI_COMM_WORLD, 1);
}

/* ---- the window: channel state ---- */

void ms__core_matched(struct ms__comm *c, int source, int tag, uint64_t pos,
                      const void *buf, int count, MPI_Datatype dt)
{
    struct ms__cut_stream *w;

    if (!ms.window)
        return;
    w = ms__cut_stream(&S.wt, c->id, source, tag);
    if (w->have_C && pos > w->C)
        return; /* sent after the sender's cut: not channel state */
    log_msg(w, pos, buf, count, dt);
}

/* Receive, on the application's behalf, messages a source still owes from
 * before its cut: from that source with ANY_TAG, so that the order across
 * its tags is kept, and only while it owes, so a send after its cut (an
 * Ssend, say) is never completed behind the application's back. */
static void drain(void)
{
    struct ms__cut_stream *w;

    for (w = S.wt.list; w; w = w->next) {
        struct ms__comm *c = ms__comm_by_id(w->comm_id);
        struct ms__tagcount *t;
        struct ms__qmsg *q;
        MPI_Message msg;
        MPI_Status st;
        uint64_t pos;
        void *data;
        int flag = 1, nbytes;

        if (!c || c->app_freed) /* its handle is gone: nothing to probe */
            continue;
        for (;;) {
            t = recv_count(c, w->source, w->tag);
            if (!(w->have_C || S.barrier_posted == 2) ||
                (t ? t->n : 0) >= sender_cut(w, c))
                break;
            /* Replayed messages already queued come first. */
            for (q = c->qhead; q && (q->counted || q->source != w->source);
                 q = q->next)
                ;
            if (q) {
                pos = ms__count_recv(c, q->source, q->tag);
                q->counted = 1;
                ms__core_matched(c, q->source, q->tag, pos, q->data,
                                 (int)q->nbytes, MPI_PACKED);
                if (ms.obs_window) /* still in flight for the application */
                    ms__obs_matched(c, q->source, q->tag, pos, q->data,
                                    (int)q->nbytes, MPI_PACKED);
                continue;
            }
            PMPI_Improbe(w->source, MPI_ANY_TAG, c->handle, &flag, &msg, &st);
            if (!flag)
                break;
            PMPI_Get_count(&st, MPI_BYTE, &nbytes);
            data = malloc(nbytes ? (size_t)nbytes : 1);
            if (!data) {
                MS_ERROR("out of memory draining a message: aborting job");
                PMPI_Abort(MPI_COMM_WORLD, 1);
            }
            PMPI_Mrecv(data, nbytes, MPI_PACKED, &msg, &st);
            if (MS_UNLIKELY(ms.observe)) /* as ms__matched does */
                ms__obs_before_count();
            pos = ms__count_recv(c, st.MPI_SOURCE, st.MPI_TAG);
            ms__core_matched(c, st.MPI_SOURCE, st.MPI_TAG, pos, data, nbytes,
                             MPI_PACKED);
            if (ms.obs_window) /* still in flight for the application */
                ms__obs_matched(c, st.MPI_SOURCE, st.MPI_TAG, pos, data, nbytes,
                                MPI_PACKED);
            if (ms__queue_push(c, st.MPI_SOURCE, st.MPI_TAG, data,
                               (uint64_t)nbytes, 1) < 0) {
                MS_ERROR("cannot queue a drained message: aborting job");
                PMPI_Abort(MPI_COMM_WORLD, 1);
            }
            free(data);
        }
    }
}

/* All markers are in (barrier done): is every incoming stream complete? */
static int channels_complete(void)
{
    struct ms__cut_stream *w;

    for (w = S.wt.list; w; w = w->next) {
        struct ms__comm *c = ms__comm_by_id(w->comm_id);
        struct ms__tagcount *t = c ? recv_count(c, w->source, w->tag) : NULL;
        uint64_t C = sender_cut(w, c);

        if (w->have_R && w->R > C) {
            fail("orphan message: received %llu message(s) from rank %d "
                 "(comm %016llx, tag %d) before the cut, but the sender had "
                 "sent only %llu before its own",
                 (unsigned long long)w->R, ms__cut_world(w->comm_id, w->source),
                 (unsigned long long)w->comm_id, w->tag, (unsigned long long)C);
            return 1;
        }
        if (c && (t ? t->n : 0) < C)
            return 0;
    }
    return 1;
}

/* Sent before its sender's cut: channel state. */
static int before_cut(const struct ms__cut_msg *m)
{
    return m->pos <= sender_cut(m->s, ms__comm_by_id(m->s->comm_id));
}

static void close_window(void)
{
    struct ms__cut_msg *m;

    ms__cut_log_prune(&S.log, before_cut);
    for (m = S.log.head; m; m = m->next)
        S.rec.nmsgs++;
    ms.window = 0;
    S.window_done = 1;
    ms__update_slow();
}

/* ---- write, complete, outcome ---- */

static void write_rank(void)
{
    struct ms__rankdata d = {0};
    struct ms__region *regs;
    struct ms__cut_msg *m;
    struct timespec now;
    size_t i, n = 0;
    int rc;

    regs = calloc(ms__nregions + 1, sizeof *regs);
    for (m = S.log.head; m; m = m->next)
        n++;
    d.msgs = calloc(n + 1, sizeof *d.msgs);
    if (!regs || !d.msgs) {
        fail("out of memory writing the snapshot");
        goto done;
    }
    for (i = 0; i < ms__nregions; i++) {
        regs[i] = ms__regions[i];
        regs[i].base = S.stage[i];
    }
    for (m = S.log.head; m; m = m->next)
        d.msgs[d.nmsgs++] = (struct ms__msg){
            m->s->comm_id, m->s->source, m->s->tag, m->pos, m->nbytes, m->data};
    clock_gettime(CLOCK_REALTIME, &now);
    d.rank = ms.world_rank;
    d.nranks = ms.world_size;
    d.snap_id = (uint64_t)S.id;
    d.point = S.P;
    d.time = (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
    d.nregions = ms__nregions;
    d.regions = regs;
    d.ncomms = S.ncomms;
    d.comms = S.comms;
    d.ncounters = S.cnt.n;
    d.counters = S.cnt.v;
    d.trace = ms__trace_copy(&d.ntrace);
    rc = ms__store_begin(ms__cfg.dir, (uint64_t)S.id);
    if (rc >= 0)
        rc = ms__store_write_rank(ms__cfg.dir, &d, &S.rec.checksum,
                                  &S.rec.bytes);
    if (ms__cfg.kill_rank == ms.world_rank && ms__cfg.kill_id == S.id) {
        /* Fault test: die with the snapshot half written. */
        MS_WARN("MPISNAP_TEST_KILL_IN_WRITE: killing rank %d in snapshot %lld",
                ms.world_rank, (long long)S.id);
        raise(SIGKILL);
    }
    if (rc < 0)
        fail("cannot write rank file in %s: %s", ms__cfg.dir,
             ms__store_lasterr());
done:
    free(regs);
    free(d.msgs);
    free(d.trace);
}

static void post_complete(void)
{
    if (ms.world_rank == 0 && !S.all) {
        S.all = calloc((size_t)ms.world_size, sizeof *S.all);
        if (!S.all) {
            MS_ERROR("out of memory completing a snapshot: aborting job");
            PMPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    PMPI_Igather(&S.rec, sizeof S.rec, MPI_BYTE, S.all, sizeof S.rec, MPI_BYTE,
                 0, ms.ctl, &S.gather_req);
    PMPI_Iallreduce(S.buckets, S.buckets_all, 2 * NB, MPI_UINT64_T, MPI_MAX,
                    ms.ctl, &S.red_req);
    PMPI_Iallreduce(&S.csum, &S.csum_all, 1, MPI_UINT64_T, MPI_SUM, ms.ctl,
                    &S.sum_req);
    S.voted = 1;
    S.phase = S_COMPLETE;
}

/* This rank's vote is "abort" (it missed P, or gave up): post every
 * remaining control collective now, so the snapshot can end on the other
 * ranks without this rank's help — it may be about to block in a
 * collective of the application's that cannot poll.  Rank 0 knows the
 * outcome already and posts it at once. */
static void vote_abort(void)
{
    if (S.voted)
        return;
    S.window_done = 1;
    if (ms.window) {
        ms.window = 0;
        ms__update_slow();
    }
    if (!S.barrier_posted)
        post_barrier();
    post_complete();
    if (ms.world_rank == 0 && ended_early())
        MS_INFO("snapshot %lld not taken: the run ended before its safe "
                "point",
                (long long)S.id);
    else if (ms.world_rank == 0)
        MS_WARN("snapshot %lld aborted: rank 0: %s", (long long)S.id,
                S.rec.why);
    S.outcome[0] = 0;
    S.outcome[1] = S.rec.missed;
    S.outcome[2] = ms.world_rank == 0 && ms__cfg.every && ms__core.want_stop;
    PMPI_Ibcast(S.outcome, 3, MPI_INT64_T, 0, ms.ctl, &S.bcast_req);
    S.phase = S_OUTCOME;
}

/* Rank 0: every rank has reported; commit or abort. */
static void decide(void)
{
    struct ms__index ix = {0};
    uint64_t pmin = UINT64_MAX, pmax = 0;
    int r, bad = -1, b, rc;
    char diag[512] = "";

    /* MPISNAP_EVERY: a stop waits for the next snapshot, and every rank
     * must know before it records: tell them all now. */
    S.outcome[2] = ms__cfg.every && ms__core.want_stop;
    for (r = 0; r < ms.world_size; r++) {
        struct rankrec *x = &S.all[r];
        if (x->missed && !S.outcome[1]) {
            S.outcome[1] = 1;
            bad = r; /* the cause; orphans elsewhere follow from it */
        }
        if (!x->ok && bad < 0)
            bad = r;
        if (!x->missed && x->ok) {
            pmin = x->point < pmin ? x->point : pmin;
            pmax = x->point > pmax ? x->point : pmax;
        }
    }
    if (bad >= 0)
        snprintf(diag, sizeof diag, "rank %d: %s", bad, S.all[bad].why);
    else if (pmin != pmax)
        snprintf(diag, sizeof diag,
                 "ranks recorded at different safe points (%llu..%llu): "
                 "does every rank call mpisnap_point() once per step?",
                 (unsigned long long)pmin, (unsigned long long)pmax);
    for (b = 0; b < NB && !diag[0] && S.csum_all; b++)
        if (S.buckets_all[b] && S.buckets_all[b] - 1 != ~S.buckets_all[NB + b])
            snprintf(diag, sizeof diag,
                     "a collective was cut: ranks started between %llu and "
                     "%llu collectives on one communicator before the cut "
                     "(its ranks log which, at level warn)",
                     (unsigned long long)~S.buckets_all[NB + b],
                     (unsigned long long)(S.buckets_all[b] - 1));
    if (diag[0] && ms__cfg.every && S.finalizing) {
        /* MPISNAP_EVERY: a run that ends before the next scheduled safe
         * point is normal, unless some rank got there. */
        for (r = 0; r < ms.world_size; r++)
            if (!S.all[r].missed ||
                strncmp(S.all[r].why, "reached MPI_Finalize", 20) != 0)
                break;
        if (r == ms.world_size) {
            MS_INFO("snapshot %lld not taken: the run ended before its "
                    "safe point",
                    (long long)S.id);
            S.outcome[0] = 0;
            return;
        }
    }
    if (diag[0]) {
        MS_WARN("snapshot %lld aborted: %s", (long long)S.id, diag);
        S.outcome[0] = 0;
        return;
    }
    ix.snap_id = (uint64_t)S.id;
    ix.nranks = ms.world_size;
    ix.point = S.P;
    ix.t_start = S.wall0;
    ix.t_end = wallclock();
    snprintf(ix.app, sizeof ix.app, "%s", program_invocation_short_name);
    ix.checksums = malloc((size_t)ms.world_size * sizeof *ix.checksums);
    if (!ix.checksums) {
        S.outcome[0] = 0;
        return;
    }
    for (r = 0; r < ms.world_size; r++) {
        ix.checksums[r] = S.all[r].checksum;
        ix.bytes += S.all[r].bytes;
        ix.nmsgs += S.all[r].nmsgs;
    }
    rc = ms__store_commit(ms__cfg.dir, &ix, ms__cfg.keep);
    if (rc < 0) {
        MS_WARN("snapshot %lld aborted: cannot commit in %s: %s",
                (long long)S.id, ms__cfg.dir, ms__store_lasterr());
        S.outcome[0] = 0;
    } else {
        S.outcome[0] = 1;
        MS_NOTE("snapshot %lld committed: %d ranks, %.1f MiB, %llu "
                "message(s) in flight, safe point %llu, %.3f s",
                (long long)S.id, ms.world_size, (double)ix.bytes / 1048576.0,
                (unsigned long long)ix.nmsgs, (unsigned long long)S.P,
                ix.t_end - ix.t_start);
        if (rc > 0) /* committed all the same: say what failed after */
            MS_WARN("snapshot %lld: %s", (long long)S.id, ms__store_lasterr());
    }
    free(ix.checksums);
}

static int done(MPI_Request *r);

/* Markers of an aborted snapshot still on their way: their buffers live
 * until the receivers have matched them (they always do, at a safe point
 * or while polling). */
static struct leftover {
    struct leftover *next;
    MPI_Request req;
    uint64_t *buf;
} * leftovers;

static void keep_sending(MPI_Request req, uint64_t *buf)
{
    struct leftover *l = malloc(sizeof *l);

    if (!l) {
        MS_ERROR("out of memory keeping a marker: aborting job");
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    *l = (struct leftover){leftovers, req, buf};
    leftovers = l;
}

static void test_leftovers(void)
{
    struct leftover **p = &leftovers, *l;

    while ((l = *p)) {
        if (done(&l->req)) {
            *p = l->next;
            free(l->buf);
            free(l);
        } else {
            p = &l->next;
        }
    }
}

/* After the outcome: the cut becomes the base of the next snapshot's
 * sparse markers, and everything of this one is released. */
static void finish(void)
{
    struct ms__comm *c;
    struct ms__cut_stream *w;
    size_t i;

    if (S.outcome[0] == 1) {
        for (i = 0; i < S.cnt.n; i++) {
            struct ms__counter *k = &S.cnt.v[i];
            if (k->dir == 0 && (c = ms__comm_by_id(k->comm_id)))
                ms__stream_find(&c->sent[k->peer], k->tag)->base = k->count;
        }
        for (w = S.wt.list; w; w = w->next)
            if ((c = ms__comm_by_id(w->comm_id)))
                ms__stream_find(&c->recv[w->source], w->tag)->base =
                    sender_cut(w, c);
            else if (w->have_R || w->have_C)
                /* Freed before or after the cut, also where this rank had
                 * received nothing on it at the cut: the sender's ledger
                 * takes this cut as its base too. */
                ms__cut_ledger_recv_base(w->comm_id, w->source, w->tag,
                                         sender_cut(w, NULL));
        ms__cut_ledger_committed(S.nledger);
        ms__core.last_committed = S.id;
        if (S.stop_snap) {
            ms__core.stop = 1;
            ms__core.stop_armed = 0;
            if (ms.world_rank == 0) {
                ms__core.want_stop = ms__core.want_stop_now = 0;
                MS_NOTE("stopping: every rank's mpisnap_point() returns "
                        "MPISNAP_STOP");
            }
        }
        /* A stop asked for while a plain snapshot ran still needs its own
         * snapshot (the stop flag travels in START). */
        if (ms.world_rank == 0)
            ms__core.want = ms__core.want_stop && ms__core.want_stop_now;
    } else if (S.recorded) {
        /* Why this rank's communicators disagreed, if they did. */
        for (i = 0; i < S.ncomms; i++) {
            uint64_t b = S.comms[i].id % NB;
            if (S.comms[i].size > 1 && S.csum_all && S.buckets_all[b] &&
                S.buckets_all[b] - 1 != ~S.buckets_all[NB + b])
                MS_WARN("snapshot %lld: communicator %016llx (parent "
                        "%016llx, creation call %llu): %llu collectives "
                        "started here before the cut, %llu..%llu on its "
                        "ranks",
                        (long long)S.id, (unsigned long long)S.comms[i].id,
                        (unsigned long long)S.comms[i].parent,
                        (unsigned long long)S.comms[i].ordinal,
                        (unsigned long long)S.comms[i].ncoll,
                        (unsigned long long)~S.buckets_all[NB + b],
                        (unsigned long long)(S.buckets_all[b] - 1));
        }
    }
    if (ms.world_rank == 0 && want_next) {
        ms__core.want = 1; /* asked for after this snapshot's cut */
        want_next = 0;
    }
    if (S.outcome[2])
        ms__core.stop_armed = 1; /* the next snapshot is a stop snapshot */
    if (!S.outcome[0] && ms.world_rank == 0) {
        ms__store_discard(ms__cfg.dir, (uint64_t)S.id); /* if any */
    }
    if ((S.outcome[1] && !S.finalizing) ||
        (S.outcome[0] == 1 && ms__core.margin > 2)) {
        /* Doubles on a missed point, halves back to 2 on each commit. */
        ms__core.margin =
            S.outcome[1] ? ms__core.margin * 2 : ms__core.margin / 2;
        MS_INFO("safe-point margin is now %llu",
                (unsigned long long)ms__core.margin);
    }
    ms__core.next_id = S.id + 1;
    if (ms.world_rank == 0)
        ms__core.last_end = ms__now();

    /* Release. */
    ms__cut_log_prune(&S.log, NULL);
    ms__cut_table_free(&S.wt);
    for (i = 0; i < (size_t)S.nmk; i++) /* after an early abort vote */
        if (!done(&S.mk_req[i])) {
            keep_sending(S.mk_req[i], S.mk[S.mk_to[i]].b);
            S.mk[S.mk_to[i]].b = NULL;
        }
    if (S.mk)
        for (i = 0; i < (size_t)ms.world_size; i++)
            free(S.mk[i].b);
    free(S.mk);
    free(S.mk_req);
    free(S.mk_to);
    S.mk = NULL;
    S.mk_req = NULL;
    S.mk_to = NULL;
    S.nmk = 0;
    ms__cut_comm_records_free(S.comms, S.ncomms);
    S.comms = NULL;
    S.ncomms = 0;
    S.cnt.n = 0;
    S.phase = S_IDLE;
    ms.active = 0;
    ms.window = 0;
    ms__update_slow();
}

/* ---- MPISNAP_EVERY: a schedule every rank computes alike ----
 * The next snapshot is at the previous one's P + gap, armed as soon as the
 * previous one is over; a rank that is past it then reports missed, and
 * the gap doubles until a snapshot commits. */
static uint64_t every_next, every_gap;

static void arm_every(void)
{
    if (!every_gap) {
        every_gap = (uint64_t)ms__cfg.every;
        every_next = every_gap * (ms__core.point / every_gap +
                                  (ms__core.point % every_gap != 0));
        if (every_next == ms__core.skip_point)
            every_next += every_gap;
    }
    begin(ms__core.next_id, 0);
    S.P = every_next;
    S.phase = S_ARMED;
    S.stop_snap = ms__core.stop_armed;
}

static void every_after(void)
{
    every_gap = S.outcome[0] == 1 ? (uint64_t)ms__cfg.every : every_gap * 2;
    every_next = S.P + every_gap;
}

/* MPISNAP_TIMEOUT: say once what the snapshot still waits for, and mark
 * it to abort.  The control collectives cannot be cancelled, so it still
 * ends only when every rank has taken part. */
static void check_timeout(void)
{
    struct ms__cut_stream *w;
    char what[256];

    if (S.timed_out || S.phase == S_IDLE || S.phase == S_ARMED ||
        ms__now() - S.t0 < ms__cfg.timeout)
        return;
    S.timed_out = 1;
    snprintf(what, sizeof what, "%s",
             S.phase == S_AGREE ? "the safe-point agreement (a rank has not "
                                  "reached a safe point since the request)"
             : S.phase == S_CUT && S.barrier_posted < 2
                 ? "markers (a rank has not reached the safe point)"
             : S.phase == S_CUT ? "messages sent before the cut"
                                : "the other ranks to finish");
    for (w = S.wt.list; w && S.phase == S_CUT && S.barrier_posted == 2;
         w = w->next) {
        struct ms__comm *c = ms__comm_by_id(w->comm_id);
        struct ms__tagcount *t = c ? recv_count(c, w->source, w->tag) : NULL;
        if (c && (t ? t->n : 0) < sender_cut(w, c)) {
            snprintf(what, sizeof what,
                     "messages from rank %d (comm %016llx, tag %d): %llu of "
                     "%llu received",
                     c->world[w->source], (unsigned long long)w->comm_id,
                     w->tag, (unsigned long long)(t ? t->n : 0),
                     (unsigned long long)sender_cut(w, c));
            break;
        }
    }
    MS_WARN("snapshot %lld not finished after %.0f s (MPISNAP_TIMEOUT): "
            "waiting for %s; it will abort",
            (long long)S.id, ms__cfg.timeout, what);
    fail("timed out after %.0f s waiting for %s", ms__cfg.timeout, what);
    vote_abort();
}

/* ---- the state machine ---- */

static int done(MPI_Request *r)
{
    int flag = 0;

    PMPI_Test(r, &flag, MPI_STATUS_IGNORE);
    return flag;
}

/* Receive markers: any time, for the current snapshot or a stale one. */
static void recv_markers(void)
{
    MPI_Message msg;
    MPI_Status st;
    uint64_t *b;
    int flag, n;

    if (MS_UNLIKELY(ignore_markers == ms.world_rank) && !draining)
        return;
    for (;;) {
        PMPI_Improbe(MPI_ANY_SOURCE, MS_TAG_MARKER, ms.ctl, &flag, &msg, &st);
        if (!flag)
            return;
        PMPI_Get_count(&st, MPI_UINT64_T, &n);
        b = malloc((size_t)n * sizeof *b + 8);
        if (!b) {
            MS_ERROR("out of memory receiving a marker: aborting job");
            PMPI_Abort(MPI_COMM_WORLD, 1);
        }
        PMPI_Mrecv(b, n, MPI_UINT64_T, &msg, &st);
        if (ms.trace && n >= 1)
            ms__trace(MS_EV_MARKER_RECV, NULL, st.MPI_SOURCE, MS_TAG_MARKER,
                      b[0]);
        if (n >= 1 && (int64_t)b[0] == S.id && S.phase != S_IDLE) {
            apply_marker(b, (size_t)n);
        } else if (n >= 1 && ((int64_t)b[0] > S.id ||
                              ((int64_t)b[0] == S.id && S.phase == S_IDLE))) {
            /* Its sender is a snapshot ahead: keep it for then. */
            struct early *e = malloc(sizeof *e);
            if (!e) {
                MS_ERROR("out of memory keeping a marker: aborting job");
                PMPI_Abort(MPI_COMM_WORLD, 1);
            }
            *e = (struct early){early_markers, b, (size_t)n};
            early_markers = e;
            continue;
        } else {
            MS_DEBUG("stale marker of snapshot %lld ignored",
                     (long long)(int64_t)b[0]);
        }
        free(b);
    }
}

/* Rank 0: requests from other ranks. */
static void recv_requests(void)
{
    MPI_Status st;
    int flag;
    int64_t req[2];

    for (;;) {
        PMPI_Iprobe(MPI_ANY_SOURCE, MS_TAG_REQUEST, ms.ctl, &flag, &st);
        if (!flag)
            return;
        PMPI_Recv(req, 2, MPI_INT64_T, st.MPI_SOURCE, MS_TAG_REQUEST, ms.ctl,
                  MPI_STATUS_IGNORE);
        want_from((int)req[0], req[1]);
    }
}

/* START(id, stop): every rank knows before it records whether this is a
 * stop snapshot, at whose safe point every rank then stops. */
static void start_requested(void)
{
    int64_t start[2] = {ms__core.next_id, ms__core.want_stop};
    int r;

    for (r = 1; r < ms.world_size; r++)
        PMPI_Send(start, 2, MPI_INT64_T, r, MS_TAG_START, ms.ctl);
    MS_INFO("snapshot %lld requested%s", (long long)start[0],
            start[1] ? ", then stop" : "");
    begin_agree(start[0]);
    S.stop_snap = (int)start[1];
}

static void recv_start(void)
{
    MPI_Status st;
    int64_t start[2];
    int flag;

    PMPI_Iprobe(0, MS_TAG_START, ms.ctl, &flag, &st);
    if (!flag)
        return;
    PMPI_Recv(start, 2, MPI_INT64_T, 0, MS_TAG_START, ms.ctl,
              MPI_STATUS_IGNORE);
    begin_agree(start[0]);
    S.stop_snap = (int)start[1];
}

/* Move the snapshot forward as far as it can go now.  at_point: called
 * from mpisnap_point() with ms__core.point just reached. */
static void advance(int at_point)
{
    int progressed = 1;

    if (in_core)
        return;
    in_core = 1;
    at_point |= in_point;
    if (ms.world_rank == 0)
        recv_requests();
    recv_markers();
    if (leftovers)
        test_leftovers();
    check_timeout();
    while (progressed) {
        progressed = 0;
        switch (S.phase) {
        case S_IDLE:
            if (ms__cfg.every)
                break; /* MPISNAP_EVERY: snapshots start at points */
            if (ms.world_rank == 0 && ms__core.want && at_point)
                start_requested();
            else if (ms.world_rank != 0)
                recv_start();
            progressed = S.phase != S_IDLE;
            break;
        case S_AGREE:
            if (!done(&S.agree_req))
                break;
            S.P = S.pmax + ms__core.margin;
            S.phase = S_ARMED;
            MS_DEBUG("snapshot %lld: safe point %llu", (long long)S.id,
                     (unsigned long long)S.P);
            progressed = 1;
            break;
        case S_ARMED:
            if (ms__core.point > S.P || (ms__core.point == S.P && !at_point) ||
                S.finalizing)
                missed();
            else if (ms__core.point == S.P && at_point) {
                /* MPISNAP_EVERY arms a snapshot long before its safe point:
                 * its timeout and duration count from here. */
                if (ms__cfg.every) {
                    S.t0 = ms__now();
                    S.wall0 = wallclock();
                }
                record();
            }
            progressed = S.phase != S_ARMED;
            break;
        case S_CUT:
            if (S.recorded && !S.barrier_posted) {
                int i, all = 1;
                for (i = 0; i < S.nmk && all; i++)
                    all = done(&S.mk_req[i]);
                if (all) {
                    post_barrier();
                    progressed = 1;
                }
            }
            if (S.barrier_posted == 1 && done(&S.barrier_req)) {
                S.barrier_posted = 2; /* every marker has been received */
                recv_markers();
                progressed = 1;
            }
            if (!S.window_done) {
                drain();
                if (S.barrier_posted == 2 && channels_complete()) {
                    close_window();
                    progressed = 1;
                }
            }
            if (S.window_done && S.barrier_posted == 2) {
                S.phase = S_WRITE;
                progressed = 1;
            }
            break;
        case S_WRITE:
            /* File I/O only at a later safe point than the recording one,
             * never inside an MPI call. */
            if (S.recorded && S.rec.ok && !S.finalizing &&
                (!at_point || (ms__core.point == S.P && !S.stop_snap)))
                break;
            if (S.recorded && S.rec.ok)
                write_rank();
            post_complete();
            progressed = 1;
            break;
        case S_COMPLETE:
            if (!done(&S.gather_req) || !done(&S.red_req) || !done(&S.sum_req))
                break;
            S.outcome[0] = S.outcome[1] = S.outcome[2] = 0;
            if (ms.world_rank == 0)
                decide();
            PMPI_Ibcast(S.outcome, 3, MPI_INT64_T, 0, ms.ctl, &S.bcast_req);
            S.phase = S_OUTCOME;
            progressed = 1;
            break;
        case S_OUTCOME:
            if (!done(&S.gather_req) || !done(&S.red_req) ||
                !done(&S.sum_req) || !done(&S.bcast_req))
                break;
            finish();
            progressed = 0; /* the next snapshot starts at a later point */
            if (ms__cfg.every)
                every_after(); /* MPI_Finalize arms the next one itself */
            if (ms__cfg.every && !S.finalizing) {
                arm_every();
                progressed = 1;
            }
            break;
        }
    }
    in_core = 0;
}

void ms__core_poll(void)
{
    if (ms.active || ms.world_rank == 0)
        advance(0);
}

int ms__core_point(void)
{
    if (MS_UNLIKELY(ms.observe))
        ms__obs_poll();
    ms__core.point++;
    if (ms__core.point == ms__core.skip_point)
        return 0; /* the point the program was restored at */
    if (ms.world_rank == 0 && ms__cfg.interval > 0 && S.phase == S_IDLE &&
        ms__now() - ms__core.last_end >= ms__cfg.interval)
        ms__core.want = 1;
    {
        int what = ms__triggers_poll();
        if (what)
            ms__core_want(what);
    }
    if (ms__cfg.every && S.phase == S_IDLE)
        arm_every();
    S.just_recorded = 0;
    in_point = 1;
    ms__progress(); /* zombies, held receives, and advance() */
    advance(1);
    /* A stop snapshot: every rank that recorded waits here, at the same
     * safe point, for the outcome, so that all stop at P.  A rank gives up
     * (votes abort) after MPISNAP_TIMEOUT if the snapshot cannot end
     * without it going on, e.g. when a peer waits in a collective this
     * rank would only enter after P, and then goes on (rank 0 keeps the
     * stop wanted: the next snapshot that commits stops the job). */
    while (S.stop_snap && S.recorded && S.rec.ok && S.P == ms__core.point &&
           S.phase != S_IDLE) {
        ms__progress();
        advance(1);
        if (S.phase != S_IDLE)
            sched_yield();
    }
    in_point = 0;
    if (ms__core.stop)
        return MPISNAP_STOP;
    return S.just_recorded;
}

static void want_from(int what, int64_t recorded)
{
    if (what & MS_WANT_SNAPSHOT) {
        if (ms__cfg.every)
            MS_INFO("snapshot request merged into the MPISNAP_EVERY "
                    "schedule");
        else if (S.phase != S_IDLE && recorded >= S.id)
            want_next = 1;
        else
            ms__core.want = 1;
    }
    if (what & MS_WANT_STOP) {
        ms__core.want_stop = 1;
        ms__core.want_stop_now |= (what & MS_WANT_SNAPSHOT) != 0;
    }
}

void ms__core_want(int what)
{
    /* REQUEST(what, the snapshot this rank has recorded, or -1) */
    int64_t req[2] = {what, S.phase != S_IDLE && S.recorded ? S.id : -1};

    if (ms.world_rank != 0) {
        PMPI_Send(req, 2, MPI_INT64_T, 0, MS_TAG_REQUEST, ms.ctl);
        return;
    }
    want_from(what, req[1]);
}

int ms__core_request(void)
{
    ms__core_want(MS_WANT_SNAPSHOT);
    return 0;
}

long long ms__core_last_committed(void)
{
    return ms__core.last_committed;
}

/* Rank 0 holds $MPISNAP_DIR/lock while the job runs: a second job on the
 * directory would remove this one's partial snapshots at its MPI_Init and
 * race its commits.  The second job is refused at MPI_Init. */
static void take_lock(void)
{
    const char *job = getenv("SLURM_JOB_ID");
    char me[512], other[512], host[256] = "?", when[32] = "?", jobs[96] = "";
    time_t t = time(NULL);
    struct tm tm;
    int rc;

    if (!job)
        job = getenv("PBS_JOBID");
    if (job && *job)
        snprintf(jobs, sizeof jobs, " (job %.80s)", job);
    gethostname(host, sizeof host - 1);
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    snprintf(me, sizeof me, "%s%s on %s, pid %d, since %s",
             program_invocation_short_name, jobs, host, (int)getpid(), when);
    rc = ms__store_lock(ms__cfg.dir, me, other, sizeof other);
    if (rc == 1) {
        fprintf(stderr,
                "mpisnap: MPISNAP_DIR %s is in use by another job: %s.  Two "
                "jobs must not share a snapshot directory: give this job "
                "another MPISNAP_DIR, or wait until that one ends.\n",
                ms__cfg.dir, other);
        PMPI_Abort(MPI_COMM_WORLD, 1);
    } else if (rc < 0) {
        MS_WARN("cannot lock %s: %s; another job using this directory would "
                "not be noticed",
                ms__cfg.dir, ms__store_lasterr());
    } else if (other[0]) {
        MS_INFO("%s: taking over the lock of %s, which ended without "
                "releasing it",
                ms__cfg.dir, other);
    }
}

int ms__core_init(void)
{
    int64_t highest = -1;
    uint64_t *ids = NULL;
    size_t nids = 0;
    char err[256];

    ignore_markers = ms__cfg.ignore_markers;
    if (ms__triggers_init(err, sizeof err) < 0 ||
        ms__obs_init(err, sizeof err) < 0) {
        if (ms.world_rank == 0)
            fprintf(stderr, "mpisnap: %s\n", err);
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (ms.world_rank == 0) {
        take_lock();
        if (ms__store_scan(ms__cfg.dir, 1, &ids, &nids, &highest) < 0)
            MS_WARN("cannot scan %s: %s", ms__cfg.dir, ms__store_lasterr());
        free(ids);
        ms__core.last_end = ms__now();
    }
    PMPI_Bcast(&highest, 1, MPI_INT64_T, 0, ms.ctl);
    PMPI_Comm_dup(ms.ctl, &S.fin);
    ms__core.next_id = highest + 1;
    S.last_started = highest;
    S.id = -1;
    return 0;
}

/* Every rank reaches MPI_Finalize: finish or abort the snapshot in
 * progress, so no control collective is left open. */
void ms__core_finalize(void)
{
    int64_t mine = S.last_started, last;

    S.finalizing = 1;
    PMPI_Allreduce(&mine, &last, 1, MPI_INT64_T, MPI_MAX, S.fin);
    /* Take part in every snapshot some rank has begun, up to the last. */
    while (S.phase != S_IDLE || S.last_started < last) {
        if (S.phase == S_IDLE) {
            if (ms__cfg.every) {
                arm_every(); /* at the safe point every rank computes */
                go_active();
            } else {
                /* Rank 0 started it; its START is on its way here. */
                int64_t start[2];
                PMPI_Recv(start, 2, MPI_INT64_T, 0, MS_TAG_START, ms.ctl,
                          MPI_STATUS_IGNORE);
                begin_agree(start[0]);
            }
        }
        ms__progress();
        advance(0);
    }
    /* Markers of aborted snapshots still on their way (synchronous sends:
     * Open MPI cannot cancel them).  Every rank receives its peers' while
     * its own complete, then enters a barrier and goes on receiving until
     * every rank is in it, so that no rank waits for a marker nobody
     * will receive (the NBX pattern). */
    {
        MPI_Request bar = MPI_REQUEST_NULL;
        struct early *e;

        draining = 1;
        for (;;) {
            recv_markers();
            test_leftovers();
            if (!leftovers && bar == MPI_REQUEST_NULL)
                PMPI_Ibarrier(S.fin, &bar);
            if (bar != MPI_REQUEST_NULL && done(&bar))
                break;
            sched_yield();
        }
        while ((e = early_markers)) { /* of snapshots that never began */
            early_markers = e->next;
            free(e->buf);
            free(e);
        }
    }
    PMPI_Comm_free(&S.fin);
    while (S.nstage)
        free(S.stage[--S.nstage]);
    free(S.stage);
    S.stage = NULL;
    if (ms.world_rank == 0)
        ms__store_unlock(); /* no snapshot after this */
}
