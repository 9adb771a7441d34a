/* mpisnap verify: checksums, headers, and the consistency certificate
 * (docs/protocol.md, "Why the snapshot is consistent").  For an
 * observation the messages in flight are counted in /observe/inflight;
 * /channels holds the payloads the library saw, at most that many. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mpisnap.h"
#include "tool.h"

/* ------------------------------------------------------------ failures */

struct failure {
    const char *kind; /* "file", "header", "channel", "collective", ... */
    char msg[768];
    int chan; /* the numbers below are set */
    int rank, source, source_world, tag;
    uint64_t comm_id, sent, received, in_flight;
};

static struct failure *fails;
static size_t nfails, capfails;

static struct failure *fail(const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct failure *fail(const char *kind, const char *fmt, ...)
{
    static struct failure spare;
    struct failure *f;
    va_list ap;

    if (nfails == capfails) {
        size_t cap = capfails ? 2 * capfails : 16;
        struct failure *v = realloc(fails, cap * sizeof *v);

        if (!v)
            return &spare;
        fails = v;
        capfails = cap;
    }
    f = &fails[nfails++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
    return f;
}

/* ------------------------------------------------------------ channels */

/* One count of a channel: sent at the sender, received or in flight at
 * the receiver.  Channel = (comm, world source, world destination, tag). */
struct obs {
    uint64_t comm_id;
    int32_t src, dst, tag;
    int what;     /* 0 sent, 1 received, 2 in flight, 3 payload recorded */
    int src_rank; /* the source's rank in the communicator */
    uint64_t n;
};

struct obsvec {
    struct obs *v;
    size_t n, cap;
};

static int push(struct obsvec *o, struct obs x)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        struct obs *v = realloc(o->v, cap * sizeof *v);

        if (!v)
            return -1;
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = x;
    return 0;
}

static int cmp_obs(const void *pa, const void *pb)
{
    const struct obs *a = pa, *b = pb;

    if (a->comm_id != b->comm_id)
        return a->comm_id < b->comm_id ? -1 : 1;
    if (a->src != b->src)
        return a->src < b->src ? -1 : 1;
    if (a->dst != b->dst)
        return a->dst < b->dst ? -1 : 1;
    if (a->tag != b->tag)
        return a->tag < b->tag ? -1 : 1;
    return 0;
}

static int same_chan(const struct obs *a, const struct obs *b)
{
    return cmp_obs(a, b) == 0;
}

/* An observation's in-flight counts: peer is the sender's world rank. */
static int observe_inflight(const struct ms__rankdata *d, int r,
                            struct obsvec *o)
{
    for (size_t i = 0; i < d->obs.ninflight; i++) {
        const struct ms__counter *k = &d->obs.inflight[i];
        const struct ms__commrec *c = snap_comm(d, k->comm_id);
        int src = snap_rank_in(c, k->peer);

        if (src < 0) {
            fail("channel",
                 "rank %d: /observe/inflight names world rank %d on "
                 "communicator %llu, which its /comms does not hold",
                 r, (int)k->peer, (unsigned long long)k->comm_id);
            continue;
        }
        if (push(o, (struct obs){k->comm_id, k->peer, r, k->tag, 2, src,
                                 k->count}))
            return -1;
    }
    return 0;
}

/* Counters and messages of every readable rank, as observations. */
static int observe(const struct snap *s, struct obsvec *o)
{
    for (int r = 0; r < s->nranks; r++) {
        const struct ms__rankdata *d = &s->rk[r];

        if (!s->loaded[r])
            continue;
        if (d->observation && observe_inflight(d, r, o) < 0)
            return -1;
        for (size_t i = 0; i < d->ncounters; i++) {
            const struct ms__counter *k = &d->counters[i];
            const struct ms__commrec *c = snap_comm(d, k->comm_id);
            int peer = snap_world(c, k->peer), me = r;

            if (!c || peer < 0) {
                fail("counter",
                     "rank %d: /counters names %s %llu, peer %d, which its "
                     "/comms does not hold",
                     r, c ? "a rank outside communicator" : "communicator",
                     (unsigned long long)k->comm_id, (int)k->peer);
                continue;
            }
            if (push(o, (struct obs){k->comm_id, k->dir ? peer : me,
                                     k->dir ? me : peer, k->tag, k->dir ? 1 : 0,
                                     k->dir ? k->peer : -1, k->count}))
                return -1;
        }
        for (size_t i = 0; i < d->nmsgs; i++) {
            const struct ms__msg *m = &d->msgs[i];
            const struct ms__commrec *c = snap_comm(d, m->comm_id);
            int src = snap_world(c, m->source);

            if (src < 0) {
                fail("channel",
                     "rank %d: message in flight on communicator %llu from "
                     "source %d, which its /comms does not hold",
                     r, (unsigned long long)m->comm_id, (int)m->source);
                continue;
            }
            if (push(o, (struct obs){m->comm_id, src, r, m->tag,
                                     d->observation ? 3 : 2, m->source, 1}))
                return -1;
        }
    }
    return 0;
}

/* sent = received + in flight on every channel whose two ends were read.
 * Returns the number of channels checked. */
static size_t certify(const struct snap *s, struct obsvec *o, size_t *skipped)
{
    size_t checked = 0;
    char name[32];

    if (o->n) /* o->v is NULL when nothing was counted */
        qsort(o->v, o->n, sizeof *o->v, cmp_obs);
    for (size_t i = 0; i < o->n;) {
        uint64_t n[4] = {0, 0, 0, 0};
        size_t j = i;
        int src_rank = -1;
        const struct obs *a = &o->v[i];

        for (; j < o->n && same_chan(a, &o->v[j]); j++) {
            n[o->v[j].what] += o->v[j].n;
            if (o->v[j].src_rank >= 0)
                src_rank = o->v[j].src_rank;
        }
        i = j;
        if (a->src >= s->nranks || a->dst >= s->nranks || !s->loaded[a->src] ||
            !s->loaded[a->dst]) {
            (*skipped)++;
            continue;
        }
        checked++;
        if (src_rank < 0) /* only the sender counted: its own rank */
            src_rank =
                snap_rank_in(snap_comm(&s->rk[a->src], a->comm_id), a->src);
        snap_comm_name(name, sizeof name, snap_comm(&s->rk[a->dst], a->comm_id),
                       a->comm_id, s->nranks);
        if (n[3] > n[2])
            fail("channel",
                 "channel to rank %d on communicator %s from source %d "
                 "(world %d) tag %d: %llu payloads recorded, but %llu "
                 "messages in flight",
                 (int)a->dst, name, src_rank, (int)a->src, (int)a->tag,
                 (unsigned long long)n[3], (unsigned long long)n[2]);
        if (n[0] == n[1] + n[2])
            continue;
        struct failure *f = fail(
            "channel",
            "channel to rank %d on communicator %s from source %d (world %d) "
            "tag %d: sent %llu before the sender's cut, but received %llu + "
            "in flight %llu = %llu",
            (int)a->dst, name, src_rank, (int)a->src, (int)a->tag,
            (unsigned long long)n[0], (unsigned long long)n[1],
            (unsigned long long)n[2], (unsigned long long)(n[1] + n[2]));
        f->chan = 1;
        f->rank = a->dst;
        f->comm_id = a->comm_id;
        f->source = src_rank;
        f->source_world = a->src;
        f->tag = a->tag;
        f->sent = n[0];
        f->received = n[1];
        f->in_flight = n[2];
    }
    return checked;
}

/* Every member of every communicator started as many collectives. */
static size_t collectives(const struct snap *s)
{
    size_t checked = 0;

    for (int r = 0; r < s->nranks; r++) {
        const struct ms__rankdata *d = &s->rk[r];

        for (size_t i = 0; s->loaded[r] && i < d->ncomms; i++) {
            const struct ms__commrec *c = &d->comms[i], *o;

            checked += c->size > 1;
            for (int k = 0; k < c->size; k++) {
                int w = c->world[k];

                if (w == r || w < 0 || w >= s->nranks || !s->loaded[w])
                    continue;
                /* No record: w had freed it before its cut (creating it
                 * is a collective on its parent, checked there) and no
                 * message of w used it, so w keeps no count of it; a
                 * missing count shows in the channels instead. */
                o = snap_comm(&s->rk[w], c->id);
                if (o && r < w && o->ncoll != c->ncoll)
                    fail("collective",
                         "communicator %llu: rank %d started %llu "
                         "collectives before its cut, rank %d started %llu",
                         (unsigned long long)c->id, r,
                         (unsigned long long)c->ncoll, w,
                         (unsigned long long)o->ncoll);
            }
        }
    }
    return checked;
}

/* An observation's cycle names ranks. */
static void check_cycle(const struct snap *s)
{
    for (size_t i = 0; s->have_index && i < s->ix.ncycle; i++)
        if (s->ix.cycle[i] < 0 || s->ix.cycle[i] >= s->nranks)
            fail("index", "%s/index.h5: /cycle[%zu] = %d is not a rank", s->dir,
                 i, (int)s->ix.cycle[i]);
}

/* --------------------------------------------------------------- files */

struct totals {
    int index_verified; /* index.h5 matched index.h5.xxh64 */
    size_t files, datasets, channels, skipped, comms;
    uint64_t nmsgs, bytes;
    uint64_t inflight; /* observation: from /observe/inflight */
};

/* An observation's needs name ranks and communicators it knows. */
static void check_needs(const struct snap *s, int r)
{
    const struct ms__rankdata *d = &s->rk[r];

    for (size_t i = 0; i < d->obs.nneeds; i++) {
        const struct ms__need *nd = &d->obs.needs[i];
        int any = nd->kind == MS_NEED_RECV && nd->peer == -1;

        if (nd->kind < MS_NEED_RECV || nd->kind > MS_NEED_COLL)
            fail("need", "rank %d: /observe/needs[%zu]: unknown kind %d", r, i,
                 (int)nd->kind);
        else if (nd->kind != MS_NEED_COLL && !any &&
                 (nd->peer < 0 || nd->peer >= s->nranks))
            fail("need", "rank %d: /observe/needs[%zu]: peer %d is not a rank",
                 r, i, (int)nd->peer);
        else if (!snap_comm(d, nd->comm_id))
            fail("need",
                 "rank %d: /observe/needs[%zu]: communicator %llu, which its "
                 "/comms does not hold",
                 r, i, (unsigned long long)nd->comm_id);
    }
}

/* snap_open refused an index.h5 that does not match index.h5.xxh64; say
 * that it matched, or that an index without that file is not verified. */
static void check_index(const struct snap *s, struct totals *t, int json)
{
    uint64_t sum = 0;
    int have = 0;

    if (!s->have_index)
        return;
    if (ms__store_read_index_sum(s->dir, &have, &sum) < 0) {
        fail("index", "%s", ms__store_lasterr());
        return;
    }
    t->index_verified = have;
    if (json)
        return;
    if (have)
        printf("ok    %s/index.h5: checksum %016llx (index.h5.xxh64)\n", s->dir,
               (unsigned long long)sum);
    else
        printf("note  %s/index.h5: not verified (no index.h5.xxh64: written "
               "before mpisnap kept one)\n",
               s->dir);
}

static void check_rank(struct snap *s, int r, struct totals *t, int json)
{
    char path[4300], err[1024], sz[32];
    struct ms__rankdata *d = &s->rk[r];
    uint64_t sum = 0, bytes = 0;
    struct stat st;
    int ret;

    snap_rank_path(s, r, path, sizeof path);
    if (s->have_index && stat(path, &st) == 0 &&
        ms__store_rank_size_ok(path, (uint64_t)st.st_size, &s->ix) < 0) {
        fail("file", "%s", ms__store_lasterr());
        return;
    }
    ret = ms__store_file_checksum(path, &sum, &bytes);
    if (ret < 0) {
        fail("file", "%s: %s", path,
             ret == MPISNAP_ENOSNAP ? "missing"
                                    : tool_strip(ms__store_lasterr(), path));
        return;
    }
    t->bytes += bytes;
    if (s->have_index && sum != s->ix.checksums[r]) {
        fail("file",
             "%s: checksum mismatch (file damaged): index says %016llx, "
             "file has %016llx",
             path, (unsigned long long)s->ix.checksums[r],
             (unsigned long long)sum);
        return;
    }
    /* Every dataset, regions included: Fletcher-32 on every chunk. */
    if (snap_load_rank(s, r, 1, err, sizeof err) < 0) {
        fail("file", "%s", err);
        return;
    }
    t->files++;
    t->datasets += d->nregions + 5 + (d->ntrace > 0) + 2 * d->observation;
    t->nmsgs += d->nmsgs;
    t->inflight += obs_inflight(d);
    if (s->have_index && d->observation != s->ix.observation)
        fail("header", "%s: rank %d is %s, the index is %s", path, r,
             d->observation ? "an observation" : "a checkpoint",
             s->ix.observation ? "an observation" : "a checkpoint");
    if (d->observation)
        check_needs(s, r);
    if (d->nranks != s->nranks || (s->have_index && d->point != s->ix.point))
        fail("header",
             "%s: rank %d recorded %d ranks at safe point %llu, the index "
             "says %d ranks at %llu",
             path, r, (int)d->nranks, (unsigned long long)d->point, s->nranks,
             (unsigned long long)s->ix.point);
    if (!json)
        printf("ok    %s: checksum %016llx, %s, %zu datasets\n", path,
               (unsigned long long)sum, tool_size(sz, sizeof sz, bytes),
               d->nregions + 5 + (d->ntrace > 0) + 2 * d->observation);
}

static void report_json(const struct snap *s, const struct totals *t)
{
    js_begin_obj(NULL);
    js_str("path", s->dir);
    js_u64("id", s->id);
    js_str("kind", snap_is_observation(s) ? "observation" : "checkpoint");
    js_bool("ok", nfails == 0);
    js_int("nranks", s->nranks);
    js_bool("index_verified", t->index_verified);
    js_u64("files_ok", t->files);
    js_u64("datasets_ok", t->datasets);
    js_u64("channels_checked", t->channels);
    js_u64("channels_not_checked", t->skipped);
    if (snap_is_observation(s)) {
        js_u64("messages_in_flight", t->inflight);
        js_u64("payloads_recorded", t->nmsgs);
    } else {
        js_u64("messages_in_flight", t->nmsgs);
    }
    js_u64("communicators_checked", t->comms);
    js_begin_arr("failures");
    for (size_t i = 0; i < nfails; i++) {
        const struct failure *f = &fails[i];

        js_begin_obj(NULL);
        js_str("kind", f->kind);
        js_str("message", f->msg);
        if (f->chan) {
            js_int("rank", f->rank);
            js_u64("comm_id", f->comm_id);
            js_int("source", f->source);
            js_int("source_world", f->source_world);
            js_int("tag", f->tag);
            js_u64("sent", f->sent);
            js_u64("received", f->received);
            js_u64("in_flight", f->in_flight);
        }
        js_end_obj();
    }
    js_end_arr();
    js_end_obj();
    js_done();
}

static void report_text(const struct snap *s, const struct totals *t)
{
    for (size_t i = 0; i < nfails; i++)
        printf("FAIL  %s\n", fails[i].msg);
    if (snap_is_observation(s))
        printf("channels: %zu checked (%llu messages in flight, %llu "
               "payload%s recorded)",
               t->channels, (unsigned long long)t->inflight,
               (unsigned long long)t->nmsgs, t->nmsgs == 1 ? "" : "s");
    else
        printf("channels: %zu checked (%llu messages in flight)", t->channels,
               (unsigned long long)t->nmsgs);
    if (t->skipped)
        printf(", %zu not checked (a rank file could not be read)", t->skipped);
    if (snap_is_observation(s))
        printf("\ncollective counts: not compared (an observation records "
               "ranks inside their collectives)\n");
    else
        printf("\ncollective counts: %zu communicator records checked\n",
               t->comms);
    if (nfails)
        printf("verify: %s: FAILED, %zu problem%s\n", s->dir, nfails,
               nfails == 1 ? "" : "s");
    else
        printf("verify: %s: OK\n", s->dir);
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    struct totals t = {0};
    struct obsvec o = {0};
    struct snap s;
    int json = 0, c, ret;

    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        if (c == 'h')
            return help_verb("verify"), EXIT_OK;
        if (c == 'd')
            dir = optarg;
        else if (c == 'j')
            json = 1;
        else
            return usage_err("verify");
    }
    if (argc - optind != 1)
        return usage_err("verify");
    if ((ret = snap_open(&s, argv[optind], dir)))
        return ret;
    if (!json)
        printf("verifying %s %llu%s%s: %s, %d ranks\n",
               s.have_index && s.ix.observation ? "observation" : "snapshot",
               (unsigned long long)s.id, s.have_index ? " of " : "",
               s.have_index ? s.ix.app : " (partial)", s.dir, s.nranks);
    if (s.partial)
        fail("partial", "%s: not committed (no index.h5, no checksums)", s.dir);
    check_index(&s, &t, json);
    for (int r = 0; r < s.nranks; r++)
        check_rank(&s, r, &t, json);
    if (s.have_index && t.files == (size_t)s.nranks) {
        if (t.nmsgs != s.ix.nmsgs)
            fail("index",
                 "%s/index.h5: %llu messages in flight, the rank "
                 "files hold %llu",
                 s.dir, (unsigned long long)s.ix.nmsgs,
                 (unsigned long long)t.nmsgs);
        if (t.bytes != s.ix.bytes)
            fail("index", "%s/index.h5: %llu bytes, the rank files hold %llu",
                 s.dir, (unsigned long long)s.ix.bytes,
                 (unsigned long long)t.bytes);
    }
    if (observe(&s, &o) < 0) {
        ret = tool_err("out of memory");
        goto out;
    }
    t.channels = certify(&s, &o, &t.skipped);
    if (snap_is_observation(&s))
        check_cycle(&s);
    else
        t.comms = collectives(&s);
    if (json)
        report_json(&s, &t);
    else
        report_text(&s, &t);
    ret = nfails ? EXIT_FAIL : EXIT_OK;
out:
    free(o.v);
    free(fails);
    snap_close(&s);
    return ret;
}
