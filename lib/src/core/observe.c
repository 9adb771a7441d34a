/* Observation snapshots: Chandy–Lamport on the live job, to decide stable
 * properties (deadlock, quiescence, program-defined invariants).  Nothing
 * here ever completes a message the application has not asked for.
 *
 * A rank records on the first marker (or when it initiates), wherever it
 * is: in observation mode every blocking call polls (wrappers_observe.c).
 * Recording means: note the call it is in, copy the protected regions and
 * the cumulative counters, and send every other rank a counting marker
 * (docs/protocol.md) on the private communicator ms.octl.  With the counts
 * C of every sender and its own received counts R, a rank knows how many
 * messages are in flight to it per stream (C - R), without receiving any.
 * Payloads of those messages are logged as the application receives them
 * (positions R+1..C of their stream); the rank waits for them a little
 * while it runs, and reports them missing when it blocks.  Then it writes
 * its rank file into $MPISNAP_DIR/observe and reports to rank 0, which
 * decides the verdict (verdict.c), commits, prints, and sends the outcome
 * (property values) to every rank.  Markers of several initiators merge:
 * every rank numbers observations alike, and a rank records observation N
 * once, on whichever comes first. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "core/cut.h"
#include "core/verdict.h"

enum { T_MARKER = 1, T_REPORT = 2, T_OUTCOME = 3 }; /* tags on ms.octl */
enum { O_IDLE, O_RECORDED, O_PAYLOAD, O_REPORTED };

/* How long a rank waits for the payloads of messages in flight to it once
 * every marker is in: blocked in MPI (it may never receive them), and
 * running (it receives them soon, or does not want them). */
#define GRACE_BLOCKED 0.2
#define GRACE_RUNNING 1.0

struct oprop {
    char name[64];
    mpisnap_property_fn fn;
    int op;
    void *arg;
    double mine;  /* this rank's value at the current observation */
    double value; /* the combined result of observation id */
    int complete;
    long long id; /* -1: no result yet */
};

struct pending { /* a send of ours still in flight, with its buffer */
    struct pending *next;
    MPI_Request req;
    void *buf;
};

struct early { /* a marker for an observation not begun here yet */
    struct early *next;
    int64_t id;
    uint64_t *b;
    size_t n;
};

static struct {
    int state;
    int64_t id, next;
    int want;
    const char *why;
    int nmarkers;
    double t_record, t_markers;
    struct ms__cut_table wt; /* incoming streams: R, sender's C (cut.h) */
    struct ms__cut_log log;  /* received in the window: kept if R < pos <= C
                                (pos 0: held by the library, in flight) */
    uint64_t expected, got;
    int orphans;
    struct ms__obsrec rec;
    struct ms__req **needreq; /* [rec.nneeds]: the request of a RECV need */
    struct ms__vpost *posted; /* receives posted, in posting order */
    size_t nposted;
    struct ms__cut_counters cnt;
    struct ms__commrec *comms;
    struct ms__vcomm *vcomms;
    size_t ncomms;
    void **stage;
    struct ms__cut_marker *mk; /* [world_size] marker being built */
    struct pending *sends;
    struct early *early;
    unsigned char **reports; /* rank 0: [world_size] */
    int nreports;
    struct oprop *props;
    size_t nprops;
    MPI_Comm fin;
    int busy, finalizing;
} O;

static volatile sig_atomic_t got_signal;

static double wallclock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void oom(void)
{
    MS_ERROR("out of memory in an observation: aborting job");
    PMPI_Abort(MPI_COMM_WORLD, 1);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        oom();
    return q;
}

static void root_dir(char *out, size_t n)
{
    snprintf(out, n, "%s/observe", ms__cfg.dir);
}

/* Send buf (malloc'd, ours until the send completes) on ms.octl. */
static void send_owned(void *buf, int nbytes, int to, int tag)
{
    struct pending *p = xrealloc(NULL, sizeof *p);

    p->buf = buf;
    PMPI_Isend(buf, nbytes, MPI_BYTE, to, tag, ms.octl, &p->req);
    p->next = O.sends;
    O.sends = p;
}

static void test_sends(void)
{
    struct pending **pp = &O.sends, *p;
    int flag;

    while ((p = *pp)) {
        PMPI_Test(&p->req, &flag, MPI_STATUS_IGNORE);
        if (flag) {
            *pp = p->next;
            free(p->buf);
            free(p);
        } else {
            pp = &p->next;
        }
    }
}

/* ---- streams ---- */

/* A marker: (observation id, sender) then the sender's counts. */
static void apply_marker(const uint64_t *b, size_t n)
{
    ms__cut_apply_marker(&O.wt, b + 2, (n - 2) / 4);
    O.nmarkers++;
}

/* ---- record ---- */

static void add_need(int kind, struct ms__comm *c, int peer, int tag,
                     uint64_t ncoll)
{
    struct ms__need *nd;

    if (!kind || !c || (kind != MS_NEED_COLL && peer == MPI_PROC_NULL))
        return;
    if (kind != MS_NEED_COLL && peer != MPI_ANY_SOURCE &&
        (unsigned)peer >= (unsigned)c->size)
        return;
    O.rec.needs =
        xrealloc(O.rec.needs, (O.rec.nneeds + 1) * sizeof *O.rec.needs);
    O.needreq = xrealloc(O.needreq, (O.rec.nneeds + 1) * sizeof *O.needreq);
    O.needreq[O.rec.nneeds] = NULL;
    nd = &O.rec.needs[O.rec.nneeds++];
    *nd = (struct ms__need){.kind = kind,
                            .peer = kind == MS_NEED_COLL     ? -1
                                    : peer == MPI_ANY_SOURCE ? -1
                                                             : c->world[peer],
                            .tag = tag,
                            .comm_id = c->id,
                            .ncoll = ncoll};
}

/* What the call this rank is in waits for (ms.call). */
static void record_call(void)
{
    const struct ms__call *k = &ms.call;
    struct ms__req *r;
    int i, done;

    O.rec.nneeds = 0;
    O.rec.mode = k->mode;
    O.rec.waited = 0;
    O.rec.t_enter = O.t_record;
    snprintf(O.rec.call, sizeof O.rec.call, "%s",
             k->name ? k->name : "computing");
    if (!k->name)
        return;
    O.rec.t_enter = k->t_enter;
    O.rec.waited = O.t_record - k->t_enter;
    if (!k->reqs) { /* a probe, or before its request is posted */
        add_need(k->kind, k->c, k->peer, k->tag, k->ncoll);
        return;
    }
    for (i = 0; i < k->nreqs; i++) {
        if (k->reqs[i] == MPI_REQUEST_NULL || !(r = ms__req_get(k->reqs[i])) ||
            !r->active)
            continue;
        /* Done in MPI, not yet seen by the loop (an eager or buffered
         * send, say): it waits for nobody. */
        PMPI_Request_get_status(k->reqs[i], &done, MPI_STATUS_IGNORE);
        if (done)
            continue;
        switch (r->kind) {
        case MS_REQ_SEND:
        case MS_REQ_PSEND:
            add_need(MS_NEED_SEND, r->c, r->peer, r->tag, 0);
            break;
        case MS_REQ_RECV:
        case MS_REQ_PRECV:
        case MS_REQ_HELD:
            add_need(MS_NEED_RECV, r->c, r->peer, r->tag, 0);
            if (O.rec.nneeds &&
                O.rec.needs[O.rec.nneeds - 1].kind == MS_NEED_RECV) /* added */
                O.needreq[O.rec.nneeds - 1] = r;
            break;
        case MS_REQ_OTHER:
            if (r->ncoll)
                add_need(MS_NEED_COLL, r->c, 0, 0, r->ncoll);
            break;
        }
    }
}

struct postreq {
    uint64_t posted;
    struct ms__req *r;
};

static int postreq_cmp(const void *a, const void *b)
{
    const struct postreq *x = a, *y = b;

    return (x->posted > y->posted) - (x->posted < y->posted);
}

/* The receives this rank has posted and not completed, in posting order
 * (zombies too: MPI still matches them), for rule 0 of the verdict: a
 * message MPI gives one of them is for no later one, and a send that one
 * of them matches can complete.  A receive MPI has completed is listed
 * with the envelope of its message.  First, as receives that took their
 * message already, the messages matched with MPI_Mprobe that count as in
 * flight (record_undelivered): no other receive can have them. */
static void post_taken(const struct ms__mmsg *mm)
{
    if (!mm->at_cut || (unsigned)mm->source >= (unsigned)mm->c->size)
        return;
    O.posted = xrealloc(O.posted, (O.nposted + 1) * sizeof *O.posted);
    O.posted[O.nposted++] = (struct ms__vpost){.comm_id = mm->c->id,
                                               .peer = mm->c->world[mm->source],
                                               .tag = mm->tag,
                                               .need = -1};
}

static void record_posted(void)
{
    struct postreq *pr = NULL;
    struct ms__req *r;
    size_t i, k, n = 0;

    O.nposted = 0;
    for (i = 0; i < ms.msgs.cap; i++)
        if (ms.msgs.keys[i] && ms.msgs.vals[i])
            post_taken(ms.msgs.vals[i]);
    for (i = 0; i < ms.reqs.cap; i++) /* passed to an MPI_Imrecv */
        if (ms.reqs.keys[i] && (r = ms.reqs.vals[i]) &&
            r->kind == MS_REQ_IMRECV && r->mmsg)
            post_taken(r->mmsg);

    for (i = 0; i < ms.reqs.cap; i++) {
        if (!ms.reqs.keys[i] || !(r = ms.reqs.vals[i]) || !r->active ||
            r->cancel || !r->c ||
            (r->kind != MS_REQ_RECV && r->kind != MS_REQ_PRECV &&
             r->kind != MS_REQ_HELD) ||
            (r->held && r->held->cancelled))
            continue;
        pr = xrealloc(pr, (n + 1) * sizeof *pr);
        pr[n++] = (struct postreq){r->posted, r};
    }
    if (n)
        qsort(pr, n, sizeof *pr, postreq_cmp);
    O.posted = xrealloc(O.posted, (O.nposted + n + 1) * sizeof *O.posted);
    for (i = 0; i < n; i++) {
        struct ms__vpost *q = &O.posted[O.nposted];
        int peer, tag, done = 0;
        MPI_Status st;

        r = pr[i].r;
        peer = r->held ? r->held->source : r->peer;
        tag = r->held ? r->held->tag : r->tag;
        if (r->held && r->held->done) {
            done = 1;
            st = r->held->status;
        } else if (!r->held) {
            PMPI_Request_get_status(r->handle, &done, &st);
        }
        if (done && st.MPI_SOURCE >= 0) {
            peer = st.MPI_SOURCE;
            tag = st.MPI_TAG;
        }
        if (peer == MPI_PROC_NULL ||
            (peer != MPI_ANY_SOURCE && (unsigned)peer >= (unsigned)r->c->size))
            continue;
        *q = (struct ms__vpost){
            .comm_id = r->c->id,
            .peer = peer == MPI_ANY_SOURCE ? -1 : r->c->world[peer],
            .tag = tag,
            .need = -1};
        for (k = 0; k < O.rec.nneeds; k++)
            if (O.needreq[k] == r)
                q->need = (int32_t)k;
        /* MPI_Recv recorded before it waits for its request: the receive
         * it posted is its need. */
        if (ms.call.name && !ms.call.reqs && O.rec.nneeds == 1 &&
            O.rec.needs[0].kind == MS_NEED_RECV && r->posted > ms.call.nposts)
            q->need = 0;
        O.nposted++;
    }
    free(pr);
}

static void comm_name(struct ms__comm *c, char *out, size_t n)
{
    char name[MPI_MAX_OBJECT_NAME] = "";
    int len = 0;

    if (c == ms.world) {
        snprintf(out, n, "MPI_COMM_WORLD");
        return;
    }
    if (c->handle != MPI_COMM_NULL && !c->app_freed)
        PMPI_Comm_get_name(c->handle, name, &len);
    if (len > 0 && strncmp(name, "MPI COMM", 8) != 0)
        snprintf(out, n, "%s", name);
    else
        snprintf(out, n, "comm %016llx", (unsigned long long)c->id);
}

/* One stream count of communicator id, where this rank is `me` and the
 * peer is p (world rank w).  dir 0: sent, 1: received. */
static void record_count(uint64_t id, int me, int p, int w, int dir, int tag,
                         uint64_t n)
{
    if (dir == 1) {
        struct ms__cut_stream *s = ms__cut_stream(&O.wt, id, p, tag);
        s->R = n;
        s->have_R = 1;
    } else if (w == ms.world_rank) { /* to itself: no marker needed */
        struct ms__cut_stream *s = ms__cut_stream(&O.wt, id, me, tag);
        s->C = n;
        s->have_C = 1;
    } else {
        ms__cut_marker_add(&O.mk[w], id, me, tag, n);
    }
}

/* One stream count at the record (cut.c walks live and freed ones).  Sent
 * counts of freed communicators go into the file too: their messages may
 * still be in flight to a receiver that counts them. */
static void record_tagcount(void *arg, const struct ms__cut_count *k)
{
    (void)arg;
    if (!k->n)
        return;
    if (k->dir == 0)
        ms__cut_counter_add(&O.cnt, k->comm_id, k->peer, k->tag, 0, k->n);
    record_count(k->comm_id, k->me, k->peer, k->world, k->dir, k->tag, k->n);
}

static void record_counters(void)
{
    size_t i;

    O.cnt.n = 0;
    ms__zombies_test(); /* freed while active: done by now? counted */
    ms__cut_counts(record_tagcount, NULL);
    /* The same records as a checkpoint's, and the name of each. */
    ms__cut_comm_records_free(O.comms, O.ncomms);
    O.comms = ms__cut_comm_records(&O.ncomms);
    O.vcomms = xrealloc(O.vcomms, (O.ncomms + 1) * sizeof *O.vcomms);
    for (i = 0; i < O.ncomms; i++) {
        struct ms__comm *c = ms__comm_by_id(O.comms[i].id);
        O.vcomms[i] =
            (struct ms__vcomm){.id = O.comms[i].id, .ncoll = O.comms[i].ncoll};
        if (c)
            comm_name(c, O.vcomms[i].name, sizeof O.vcomms->name);
        else
            snprintf(O.vcomms[i].name, sizeof O.vcomms->name, "comm %016llx",
                     (unsigned long long)O.comms[i].id);
    }
}

static void apply_early(void)
{
    struct early **pp = &O.early, *e;

    while ((e = *pp)) {
        if (e->id == O.id)
            apply_marker(e->b, e->n);
        if (e->id <= O.id) {
            *pp = e->next;
            free(e->b);
            free(e);
        } else {
            pp = &e->next;
        }
    }
}

static uint64_t *cut_R(void *arg, uint64_t comm_id, int source, int tag)
{
    (void)arg;
    return &ms__cut_stream(&O.wt, comm_id, source, tag)->R;
}

static void cut_log(void *arg, struct ms__comm *c, int source, int tag,
                    uint64_t pos, const void *buf, int count, MPI_Datatype dt)
{
    (void)arg;
    ms__obs_matched(c, source, tag, pos, buf, count, dt);
}

static const struct ms__cut_ops cut_ops = {cut_R, cut_log};

static void record(int64_t id)
{
    size_t i;
    int w;

    if (O.want) /* this observation answers the request too */
        O.want = 0;
    O.id = id;
    O.state = O_RECORDED;
    O.t_record = wallclock();
    O.nmarkers = 0;
    O.expected = O.got = 0;
    O.orphans = 0;
    record_call();
    /* In MPI_Finalize the program may have freed its regions already:
     * record none there. */
    O.stage = xrealloc(O.stage, (ms__nregions + 1) * sizeof *O.stage);
    for (i = 0; i < ms__nregions; i++) {
        O.stage[i] = NULL;
        if (O.finalizing)
            continue;
        O.stage[i] = xrealloc(NULL, ms__regions[i].bytes);
        memcpy(O.stage[i], ms__regions[i].base, ms__regions[i].bytes);
    }
    for (w = 0; w < ms.world_size; w++) {
        const uint64_t head[2] = {(uint64_t)id, (uint64_t)ms.world_rank};
        O.mk[w].len = 0;
        ms__cut_marker_put(&O.mk[w], head, 2);
    }
    record_counters();
    ms__cut_undelivered(&cut_ops, NULL); /* in flight for the program */
    ms__cut_counters_received(&O.cnt, &O.wt);
    record_posted();
    for (w = 0; w < ms.world_size; w++) {
        if (w == ms.world_rank)
            continue;
        send_owned(O.mk[w].b, (int)(O.mk[w].len * sizeof *O.mk[w].b), w,
                   T_MARKER);
        O.mk[w] = (struct ms__cut_marker){0}; /* the send owns it now */
    }
    ms.obs_window = 1;
    MS_DEBUG("observation %lld: recorded in %s", (long long)id, O.rec.call);
    apply_early();
}

/* ---- the window ---- */

void ms__obs_matched(struct ms__comm *c, int source, int tag, uint64_t pos,
                     const void *buf, int count, MPI_Datatype dt)
{
    struct ms__cut_stream *s = ms__cut_stream(&O.wt, c->id, source, tag);
    struct ms__cut_msg *m;

    if (O.state != O_RECORDED && !s->have_C)
        s->have_C = 1; /* no marker named it: nothing sent before the cut */
    if (pos && (pos <= s->R || (s->have_C && pos > s->C)))
        return; /* received before the record, or sent after the cut */
    if (!(m = ms__cut_log_add(&O.log, s, pos, buf, count, dt)))
        oom();
    if (O.state == O_PAYLOAD && m->full)
        O.got++;
}

/* Every marker is in: how many messages are in flight to this rank. */
static void markers_done(void)
{
    struct ms__cut_stream *s;
    struct ms__cut_msg *m;

    O.rec.ninflight = 0;
    O.rec.inflight =
        xrealloc(O.rec.inflight, (O.wt.n + 1) * sizeof *O.rec.inflight);
    for (s = O.wt.list; s; s = s->next) {
        s->have_C = 1; /* no marker named it: nothing sent before the cut */
        if (s->R > s->C) {
            /* Received what the sender had not sent at its cut: the MPI
             * library delivered a later message before the sender's marker
             * (the check before each receive relies on their order).  Rank
             * 0 discards the observation and observes again. */
            O.orphans++;
            MS_INFO("observation %lld: inconsistent cut on comm %016llx "
                    "from rank %d tag %d (received %llu, sent %llu)",
                    (long long)O.id, (unsigned long long)s->comm_id, s->source,
                    s->tag, (unsigned long long)s->R, (unsigned long long)s->C);
        }
        if (s->C <= s->R)
            continue;
        O.rec.inflight[O.rec.ninflight++] = (struct ms__counter){
            s->comm_id, ms__cut_world(s->comm_id, s->source), s->tag, 1,
            s->C - s->R};
        O.expected += s->C - s->R;
    }
    if (ms__cfg.fake_inconsistent > 0 && ms.world_rank == 1) {
        ms__cfg.fake_inconsistent--; /* test hook: as if reordered */
        O.orphans++;
    }
    for (m = O.log.head; m; m = m->next)
        if ((!m->pos || m->pos <= m->s->C) && m->full)
            O.got++;
    O.state = O_PAYLOAD;
    O.t_markers = wallclock();
}

/* ---- finish this rank's part: properties, file, report ---- */

static struct mpisnap_msg *view_msgs(size_t *n)
{
    struct mpisnap_msg *v;
    struct ms__cut_msg *m;

    *n = 0;
    for (m = O.log.head; m; m = m->next)
        (*n)++;
    v = xrealloc(NULL, (*n + 1) * sizeof *v);
    *n = 0;
    for (m = O.log.head; m; m = m->next) {
        struct ms__comm *c = ms__comm_by_id(m->s->comm_id);
        if (!!m->pos && m->pos > m->s->C)
            continue;
        v[(*n)++] = (struct mpisnap_msg){
            c && !c->app_freed ? c->handle : MPI_COMM_NULL, m->s->source,
            m->s->tag, (size_t)m->nbytes, m->data};
    }
    return v;
}

static const struct mpisnap_view *current_view;

const void *mpisnap_view_region(const struct mpisnap_view *v, const char *name,
                                size_t *count)
{
    size_t i;

    if (!v || v != current_view || !name)
        return NULL;
    for (i = 0; i < ms__nregions; i++)
        if (!strcmp(ms__regions[i].name, name)) {
            if (count)
                *count = ms__regions[i].etype == MS_T_BYTES
                             ? ms__regions[i].bytes
                             : ms__regions[i].count;
            return O.stage[i];
        }
    return NULL;
}

static int write_file(size_t nvm, uint64_t *checksum, uint64_t *bytes)
{
    struct ms__rankdata d = {0};
    struct ms__region *regs = xrealloc(NULL, (ms__nregions + 1) * sizeof *regs);
    char root[PATH_MAX + 16];
    struct ms__cut_msg *m;
    size_t i;
    int rc;

    root_dir(root, sizeof root);
    d.msgs = xrealloc(NULL, (nvm + 1) * sizeof *d.msgs);
    for (i = 0; i < ms__nregions; i++) {
        regs[i] = ms__regions[i];
        regs[i].base = O.stage[i];
    }
    for (m = O.log.head; m; m = m->next)
        if ((!m->pos || m->pos <= m->s->C) && d.nmsgs < nvm)
            d.msgs[d.nmsgs++] =
                (struct ms__msg){m->s->comm_id, m->s->source, m->s->tag,
                                 m->pos,        m->nbytes,    m->data};
    d.rank = ms.world_rank;
    d.nranks = ms.world_size;
    d.snap_id = (uint64_t)O.id;
    d.time = O.t_record;
    d.nregions = O.finalizing ? 0 : ms__nregions;
    d.regions = regs;
    d.ncomms = O.ncomms;
    d.comms = O.comms;
    d.ncounters = O.cnt.n;
    d.counters = O.cnt.v;
    d.observation = 1;
    d.obs = O.rec;
    rc = ms__store_begin(root, (uint64_t)O.id);
    if (rc >= 0)
        rc = ms__store_write_rank(root, &d, checksum, bytes);
    if (rc < 0)
        MS_WARN("observation %lld: cannot write rank file in %s: %s",
                (long long)O.id, root, ms__store_lasterr());
    free(regs);
    free(d.msgs);
    return rc;
}

/* The report to rank 0, packed: fixed header, needs, in-flight counts,
 * communicators, property values. */
struct rhead {
    int64_t id;
    int32_t rank, ok, complete, orphans, mode;
    char call[32];
    double t_enter, waited, t_record;
    uint64_t checksum, bytes, nmsgs, nneeds, ninflight, ncomms, nposted, nprops;
};
struct rprop {
    double value;
    int64_t complete;
};

static void pack(unsigned char **p, const void *src, size_t n)
{
    if (n)
        memcpy(*p, src, n);
    *p += n;
}

static void report(int ok, uint64_t checksum, uint64_t bytes, uint64_t nmsgs,
                   int complete)
{
    struct rhead h = {0};
    size_t n, i;
    unsigned char *buf, *p;

    h.id = O.id;
    h.rank = ms.world_rank;
    h.ok = ok;
    h.complete = complete;
    h.orphans = O.orphans;
    h.mode = O.rec.mode;
    memcpy(h.call, O.rec.call, sizeof h.call);
    h.t_enter = O.rec.t_enter;
    h.waited = O.rec.waited;
    h.t_record = O.t_record;
    h.checksum = checksum;
    h.bytes = bytes;
    h.nmsgs = nmsgs;
    h.nneeds = O.rec.nneeds;
    h.ninflight = O.rec.ninflight;
    h.ncomms = O.ncomms;
    h.nposted = O.nposted;
    h.nprops = O.nprops;
    n = sizeof h + h.nneeds * sizeof *O.rec.needs +
        h.ninflight * sizeof *O.rec.inflight + h.ncomms * sizeof *O.vcomms +
        h.nposted * sizeof *O.posted + h.nprops * sizeof(struct rprop);
    p = buf = xrealloc(NULL, n);
    pack(&p, &h, sizeof h);
    pack(&p, O.rec.needs, h.nneeds * sizeof *O.rec.needs);
    pack(&p, O.rec.inflight, h.ninflight * sizeof *O.rec.inflight);
    pack(&p, O.vcomms, h.ncomms * sizeof *O.vcomms);
    pack(&p, O.posted, h.nposted * sizeof *O.posted);
    for (i = 0; i < O.nprops; i++) {
        struct rprop r = {O.props[i].mine, complete};
        pack(&p, &r, sizeof r);
    }
    send_owned(buf, (int)n, 0, T_REPORT);
}

static void finish(void)
{
    struct mpisnap_view v;
    struct mpisnap_msg *vm;
    uint64_t checksum = 0, bytes = 0;
    size_t nvm, i;
    int ok, complete = O.got >= O.expected && !O.finalizing;

    ms.obs_window = 0;
    vm = view_msgs(&nvm);
    v = (struct mpisnap_view){O.id, complete, nvm, vm};
    current_view = &v;
    for (i = 0; i < O.nprops; i++) {
        O.props[i].mine = O.props[i].fn(&v, O.props[i].arg);
    }
    current_view = NULL;
    if (!complete)
        MS_INFO("observation %lld: %llu of %llu message(s) in flight to this "
                "rank not received by the application: properties partial",
                (long long)O.id,
                (unsigned long long)(O.expected -
                                     (O.got < O.expected ? O.got : O.expected)),
                (unsigned long long)O.expected);
    ok = write_file(nvm, &checksum, &bytes) >= 0;
    report(ok, checksum, bytes, nvm, complete);
    free(vm);
    O.state = O_REPORTED;
}

/* ---- rank 0: decide, commit, print, tell everyone ---- */

static void unpack_report(const unsigned char *p, struct rhead *h,
                          struct ms__obsrec *rec, struct ms__vrank *vr,
                          const struct rprop **props)
{
    memcpy(h, p, sizeof *h);
    p += sizeof *h;
    memset(rec, 0, sizeof *rec);
    memcpy(rec->call, h->call, sizeof rec->call);
    rec->call[sizeof rec->call - 1] = '\0';
    rec->mode = h->mode;
    rec->t_enter = h->t_enter;
    rec->waited = h->waited;
    rec->nneeds = h->nneeds;
    rec->needs = (struct ms__need *)p;
    p += h->nneeds * sizeof *rec->needs;
    rec->ninflight = h->ninflight;
    rec->inflight = (struct ms__counter *)p;
    p += h->ninflight * sizeof *rec->inflight;
    vr->rec = rec;
    vr->ncomms = h->ncomms;
    vr->comms = (const struct ms__vcomm *)p;
    p += h->ncomms * sizeof *vr->comms;
    vr->nposted = h->nposted;
    vr->posted = (const struct ms__vpost *)p; /* never NULL: reported */
    p += h->nposted * sizeof *vr->posted;
    *props = (const struct rprop *)p;
}

static void print_report(const char *text)
{
    const char *line = text, *nl;

    while (line && *line) {
        nl = strchr(line, '\n');
        MS_NOTE("observation %lld: %.*s", (long long)O.id,
                (int)(nl ? nl - line : (long)strlen(line)), line);
        line = nl ? nl + 1 : NULL;
    }
}

static void combine(struct ms__property *out, const struct rprop *r, int first)
{
    double v = r->value;

    if (first) {
        out->value = v;
        out->complete = 1;
    } else if (out->op == MPISNAP_SUM) {
        out->value += v;
    } else if (out->op == MPISNAP_MIN) {
        out->value = v < out->value ? v : out->value;
    } else if (v > out->value) {
        out->value = v;
    }
    out->complete &= r->complete != 0;
}

static void send_outcome(const struct ms__index *ix, int ok, int kind)
{
    size_t n = 4 + 2 * ix->nprops, i;
    int w;

    for (w = 0; w < ms.world_size; w++) {
        int64_t *b = xrealloc(NULL, n * sizeof *b);
        b[0] = O.id;
        b[1] = ok;
        b[2] = kind;
        b[3] = (int64_t)ix->nprops;
        for (i = 0; i < ix->nprops; i++) {
            memcpy(&b[4 + 2 * i], &ix->props[i].value, sizeof(double));
            b[5 + 2 * i] = ix->props[i].complete;
        }
        send_owned(b, (int)(n * sizeof *b), w, T_OUTCOME);
    }
}

#define MAX_RETRIES 3 /* observations after an inconsistent cut */

static void decide(int timed_out)
{
    static int retries;
    int nr = ms.world_size, r, ok = 1, orphans = 0;
    struct rhead *h = calloc((size_t)nr, sizeof *h);
    struct ms__obsrec *recs = calloc((size_t)nr, sizeof *recs);
    struct ms__vrank *vr = calloc((size_t)nr, sizeof *vr);
    const struct rprop **pr = calloc((size_t)nr, sizeof *pr);
    struct ms__verdict v = {0};
    struct ms__index ix = {0};
    char root[PATH_MAX + 16], missing[256] = "";
    size_t i, len = 0;

    if (!h || !recs || !vr || !pr)
        oom();
    for (r = 0; r < nr; r++) {
        if (!O.reports[r]) {
            ok = 0;
            if (len < sizeof missing - 16)
                len += (size_t)snprintf(missing + len, sizeof missing - len,
                                        "%s%d", len ? ", " : "", r);
            continue;
        }
        unpack_report(O.reports[r], &h[r], &recs[r], &vr[r], &pr[r]);
        ok &= h[r].ok;
        orphans += h[r].orphans;
    }
    root_dir(root, sizeof root);
    if (timed_out) {
        MS_WARN("observation %lld: no record from rank(s) %s after %g s: "
                "they compute without calling MPI, or wait in a call "
                "mpisnap cannot observe (MPI_Comm_split, blocking "
                "MPI-IO); nothing written",
                (long long)O.id, missing, ms__cfg.timeout);
        ms__store_discard(root, (uint64_t)O.id);
        goto out;
    }
    /* A receive without its send: a marker was overtaken by a later
     * message (the MPI library reordered two messages between the same
     * ranks).  Such a cut is no state the job was in: drop it and observe
     * again, a few times. */
    if (orphans && retries < MAX_RETRIES) {
        retries++;
        MS_INFO("observation %lld: the cut is not consistent (%d stream(s)); "
                "discarded, observing again",
                (long long)O.id, orphans);
        ms__store_discard(root, (uint64_t)O.id);
        O.want = 1;
        O.why = "a retry after an inconsistent cut";
        ok = 0; /* no result for the properties */
        goto out;
    }
    if (orphans)
        MS_WARN("observation %lld: the cut is not consistent (%d stream(s)) "
                "after %d tries; the verdict may be wrong",
                (long long)O.id, orphans, retries + 1);
    retries = 0;
    if (ms__verdict_decide(nr, vr, &v) < 0)
        oom();
    print_report(v.text);
    ix.snap_id = (uint64_t)O.id;
    ix.nranks = nr;
    ix.t_start = O.t_record;
    ix.t_end = wallclock();
    snprintf(ix.app, sizeof ix.app, "%s", program_invocation_short_name);
    ix.checksums = xrealloc(NULL, (size_t)nr * sizeof *ix.checksums);
    for (r = 0; r < nr; r++) {
        ix.checksums[r] = h[r].checksum;
        ix.bytes += h[r].bytes;
        ix.nmsgs += h[r].nmsgs;
        ix.t_start = h[r].t_record < ix.t_start ? h[r].t_record : ix.t_start;
    }
    ix.observation = 1;
    snprintf(ix.verdict, sizeof ix.verdict, "%s", ms__verdict_name(v.kind));
    ix.report = v.text;
    ix.ncycle = v.ncycle;
    ix.cycle = v.cycle;
    ix.nprops = O.nprops;
    ix.props = xrealloc(NULL, (O.nprops + 1) * sizeof *ix.props);
    for (i = 0; i < O.nprops; i++) {
        snprintf(ix.props[i].name, sizeof ix.props[i].name, "%s",
                 O.props[i].name);
        ix.props[i].op = O.props[i].op;
        for (r = 0; r < nr; r++)
            combine(&ix.props[i], &pr[r][i], r == 0);
        MS_INFO("observation %lld: property %s = %.17g%s", (long long)O.id,
                ix.props[i].name, ix.props[i].value,
                ix.props[i].complete ? "" : " (partial: payloads missing)");
    }
    if (!ok)
        MS_WARN("observation %lld: a rank could not write its file; "
                "not committed",
                (long long)O.id);
    else if (ms__store_commit(root, &ix, ms__cfg.observe_keep) < 0)
        MS_WARN("observation %lld: cannot commit in %s: %s", (long long)O.id,
                root, ms__store_lasterr());
    else
        MS_INFO("observation %lld committed in %s/snap-%06lld", (long long)O.id,
                root, (long long)O.id);
    if (v.kind != MS_V_PROGRESSING && ms__cfg.on_hang_abort) {
        MS_ERROR("observation %lld: verdict %s: the job can never finish; "
                 "MPISNAP_ON_HANG=abort: aborting it",
                 (long long)O.id, ms__verdict_name(v.kind));
        PMPI_Abort(MPI_COMM_WORLD, 3);
    }
out:
    send_outcome(&ix, ok && !timed_out, v.kind);
    free(ix.checksums);
    free(ix.props);
    ms__verdict_free(&v);
    for (r = 0; r < nr; r++) {
        free(O.reports[r]);
        O.reports[r] = NULL;
    }
    O.nreports = 0;
    free(h);
    free(recs);
    free(vr);
    free(pr);
}

/* ---- the outcome: end of an observation on this rank ---- */

static void reset(void)
{
    size_t i;

    ms.obs_window = 0;
    ms__cut_log_prune(&O.log, NULL);
    ms__cut_table_free(&O.wt);
    for (i = 0; O.stage && i < ms__nregions; i++) {
        free(O.stage[i]);
        O.stage[i] = NULL;
    }
    O.state = O_IDLE;
}

static void outcome(const int64_t *b, size_t n)
{
    size_t i;

    if (b[0] < O.next && !(O.state != O_IDLE && b[0] == O.id))
        return; /* stale */
    if (O.state != O_IDLE)
        reset();
    O.next = b[0] + 1;
    for (i = 0; i < O.nprops && b[1] && (size_t)(4 + 2 * i + 1) < n &&
                i < (size_t)b[3];
         i++) {
        memcpy(&O.props[i].value, &b[4 + 2 * i], sizeof(double));
        O.props[i].complete = (int)b[5 + 2 * i];
        O.props[i].id = b[0];
    }
    apply_early(); /* drop markers of this one or older */
}

/* ---- messages on ms.octl ---- */

static int has_early(int64_t id)
{
    struct early *e;

    for (e = O.early; e && e->id != id; e = e->next)
        ;
    return e != NULL;
}

static void keep_early(int64_t id, uint64_t *b, size_t n)
{
    struct early *e = xrealloc(NULL, sizeof *e);

    *e = (struct early){O.early, id, b, n};
    O.early = e;
}

static void recv_msgs(void)
{
    MPI_Status st;
    unsigned char *buf;
    int flag, nbytes;

    for (;;) {
        PMPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, ms.octl, &flag, &st);
        if (!flag)
            return;
        PMPI_Get_count(&st, MPI_BYTE, &nbytes);
        buf = xrealloc(NULL, (size_t)nbytes);
        PMPI_Recv(buf, nbytes, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, ms.octl,
                  MPI_STATUS_IGNORE);
        if (st.MPI_TAG == T_MARKER) {
            const uint64_t *b = (const uint64_t *)buf;
            int64_t id = (int64_t)b[0];
            size_t n = (size_t)nbytes / sizeof *b;
            if (O.state == O_IDLE && id == O.next)
                record(id);
            if (O.state != O_IDLE && id == O.id) {
                apply_marker(b, n);
            } else if (id > (O.state == O_IDLE ? O.next - 1 : O.id)) {
                keep_early(id, (uint64_t *)buf, n); /* a later one */
                buf = NULL;
            }
        } else if (st.MPI_TAG == T_REPORT) {
            int64_t id;
            memcpy(&id, buf, sizeof id);
            if (ms.world_rank == 0 && O.state != O_IDLE && id == O.id &&
                !O.reports[st.MPI_SOURCE]) {
                O.reports[st.MPI_SOURCE] = buf;
                O.nreports++;
                buf = NULL;
            }
        } else if (st.MPI_TAG == T_OUTCOME) {
            outcome((const int64_t *)buf, (size_t)nbytes / sizeof(int64_t));
        }
        free(buf);
    }
}

void ms__obs_before_count(void)
{
    if (!O.busy && ms.initialized && !ms.finalized) {
        O.busy = 1;
        recv_msgs();
        O.busy = 0;
    }
}

void ms__obs_want(const char *why)
{
    if (!ms.observe || O.finalizing)
        return;
    if (!O.want)
        O.why = why;
    O.want = 1;
}

static void advance(void)
{
    double now;

    if (got_signal) {
        got_signal = 0;
        ms__obs_want("MPISNAP_OBSERVE_SIGNAL");
    }
    recv_msgs();
    if (O.state == O_IDLE && O.want && !O.finalizing) {
        O.want = 0;
        MS_INFO("observation %lld started here (%s)", (long long)O.next, O.why);
        record(O.next);
    }
    if (O.state == O_IDLE && has_early(O.next))
        record(O.next); /* its marker came before the previous outcome */
    if (O.state == O_RECORDED && O.nmarkers >= ms.world_size - 1)
        markers_done();
    if (O.state == O_PAYLOAD) {
        now = wallclock();
        if (O.got >= O.expected ||
            now - O.t_markers > (ms.call.name ? GRACE_BLOCKED : GRACE_RUNNING))
            finish();
    }
    if (ms.world_rank == 0 && O.state != O_IDLE) {
        if (O.state == O_REPORTED && O.nreports == ms.world_size)
            decide(0);
        else if (wallclock() - O.t_record > ms__cfg.timeout)
            decide(1);
    }
    if (O.sends)
        test_sends();
}

void ms__obs_poll(void)
{
    static unsigned tick;

    /* Outside an observation, look for markers every 16th call only: an
     * Iprobe costs about as much as a small message. */
    if (O.state == O_IDLE && !O.want && !got_signal && (++tick & 15))
        return;
    if (O.busy || !ms.initialized || ms.finalized)
        return;
    O.busy = 1;
    advance();
    O.busy = 0;
}

/* ---- setup, API ---- */

static void handler(int sig)
{
    (void)sig;
    got_signal = 1;
}

int ms__obs_init(char *errbuf, size_t errlen)
{
    char root[PATH_MAX + 16];
    struct sigaction sa;
    int64_t highest = -1;
    uint64_t *ids = NULL;
    size_t nids = 0;

    ms.observe = ms__cfg.observe;
    if (!ms.observe)
        return 0;
    /* config.c checked the signal, and that it is not MPISNAP_SIGNAL */
    if (ms__cfg.observe_signal) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(ms__cfg.observe_signal, &sa, NULL);
    }
    PMPI_Comm_dup(MPI_COMM_WORLD, &ms.octl);
    PMPI_Comm_set_errhandler(ms.octl, MPI_ERRORS_RETURN);
    PMPI_Comm_dup(ms.octl, &O.fin);
    O.mk = calloc((size_t)ms.world_size, sizeof *O.mk);
    O.reports = calloc((size_t)ms.world_size, sizeof *O.reports);
    if (!O.mk || !O.reports) {
        snprintf(errbuf, errlen, "out of memory for observation mode");
        return MPISNAP_ENOMEM;
    }
    if (ms.world_rank == 0) {
        root_dir(root, sizeof root);
        if (ms__store_scan(root, 1, &ids, &nids, &highest) < 0)
            MS_WARN("cannot scan %s: %s", root, ms__store_lasterr());
        free(ids);
    }
    PMPI_Bcast(&highest, 1, MPI_INT64_T, 0, ms.octl);
    O.next = highest + 1;
    MS_INFO("observation mode on%s%s", ms__cfg.hang_after > 0 ? ", " : "",
            ms__cfg.hang_after > 0 ? "hang detection on" : "");
    return 0;
}

/* Every rank reaches MPI_Finalize: take part in every observation some
 * rank has begun, so none waits for a marker that never comes. */
void ms__obs_finalize(void)
{
    int64_t mine, last;
    MPI_Request req;
    size_t i;
    int in, flag = 0;

    if (!ms.observe)
        return;
    O.busy = 0;
    O.finalizing = 1; /* no new observation from here */
    O.want = 0;
    /* MPI_Finalize is collective over MPI_COMM_WORLD: count it, and wait
     * for the others polling, so this rank still records (in
     * "MPI_Finalize", for every member that has not called it yet) and a
     * peer waiting for a message from it is reported deadlocked. */
    ms.world->ncoll++;
    in = ms__call_enter("MPI_Finalize", MS_NEED_COLL, ms.world, 0, 0);
    ms.call.ncoll = ms.world->ncoll;
    mine = O.state != O_IDLE ? O.id : O.next - 1;
    PMPI_Iallreduce(&mine, &last, 1, MPI_INT64_T, MPI_MAX, O.fin, &req);
    for (;;) {
        PMPI_Test(&req, &flag, MPI_STATUS_IGNORE);
        if (flag)
            break;
        ms__obs_poll();
        sched_yield();
    }
    ms__call_leave(in);
    while (O.state != O_IDLE || O.next <= last) {
        if (O.state == O_IDLE)
            record(O.next); /* its marker is on its way here anyway */
        ms__obs_poll();
        sched_yield();
    }
    PMPI_Barrier(O.fin); /* every outcome has been received */
    while (O.sends) {
        test_sends();
        ms__obs_poll();
    }
    PMPI_Comm_free(&O.fin);
    PMPI_Comm_free(&ms.octl);
    for (i = 0; i < (size_t)ms.world_size; i++)
        free(O.mk[i].b);
    free(O.mk);
    free(O.reports);
    free(O.stage);
    free(O.cnt.v);
    ms__cut_comm_records_free(O.comms, O.ncomms);
    free(O.vcomms);
    free(O.rec.needs);
    free(O.needreq);
    free(O.posted);
    free(O.rec.inflight);
    free(O.props);
    ms__cut_ledger_free();
}

int ms__obs_observe(void)
{
    if (!ms.observe) {
        MS_WARN("mpisnap_observe(): observation mode is off; set "
                "MPISNAP_OBSERVE=1 when the job starts");
        return MPISNAP_ESTATE;
    }
    ms__obs_want("mpisnap_observe()");
    ms__obs_poll();
    return 0;
}

int ms__obs_property(const char *name, mpisnap_property_fn fn, int op,
                     void *arg)
{
    struct oprop *p;
    size_t i;

    if (!name || !*name || strlen(name) >= sizeof p->name || !fn ||
        op < MPISNAP_SUM || op > MPISNAP_MAX)
        return MPISNAP_EINVAL;
    for (i = 0; i < O.nprops; i++)
        if (!strcmp(O.props[i].name, name))
            return MPISNAP_EEXIST;
    O.props = xrealloc(O.props, (O.nprops + 1) * sizeof *O.props);
    p = &O.props[O.nprops++];
    memset(p, 0, sizeof *p);
    strcpy(p->name, name);
    p->fn = fn;
    p->op = op;
    p->arg = arg;
    p->id = -1;
    return 0;
}

int ms__obs_observed(const char *name, double *value, long long *id)
{
    size_t i;

    if (!name)
        return MPISNAP_EINVAL;
    for (i = 0; i < O.nprops; i++)
        if (!strcmp(O.props[i].name, name)) {
            if (O.props[i].id < 0 || !O.props[i].complete)
                return 0;
            if (value)
                *value = O.props[i].value;
            if (id)
                *id = O.props[i].id;
            return 1;
        }
    return MPISNAP_EINVAL;
}
