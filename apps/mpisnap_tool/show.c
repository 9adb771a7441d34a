/* mpisnap show: what a snapshot holds (an observation: also its verdict,
 * cycle, properties and what each rank waits for). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* Messages in flight of one channel (comm, source, tag) at one rank. */
struct chan {
    uint64_t comm_id;
    int32_t source, tag;
    uint64_t count, bytes, first, last; /* positions */
};

static size_t channels(const struct ms__rankdata *d, struct chan **out)
{
    struct chan *v = calloc(d->nmsgs ? d->nmsgs : 1, sizeof *v);
    size_t n = 0;

    for (size_t i = 0; v && i < d->nmsgs; i++) {
        const struct ms__msg *m = &d->msgs[i];
        size_t k = 0;

        while (k < n && !(v[k].comm_id == m->comm_id &&
                          v[k].source == m->source && v[k].tag == m->tag))
            k++;
        if (k == n)
            v[n++] = (struct chan){m->comm_id, m->source, m->tag, 0,
                                   0,          m->pos,    m->pos};
        v[k].count++;
        v[k].bytes += m->nbytes;
        if (m->pos < v[k].first)
            v[k].first = m->pos;
        if (m->pos > v[k].last)
            v[k].last = m->pos;
    }
    *out = v;
    return v ? n : 0;
}

struct opts {
    int rank, json, dump;
    const char *region;
};

static int selected(const struct opts *o, const struct ms__region *r)
{
    return !o->region || strcmp(o->region, r->name) == 0;
}

static void dump_text(const struct ms__region *r)
{
    char buf[64];

    for (uint64_t i = 0; i < r->count; i++) {
        if (i % 8 == 0)
            printf("%s      %8llu:", i ? "\n" : "", (unsigned long long)i);
        printf(" %s", region_format(buf, sizeof buf, r, i));
    }
    if (r->count)
        putchar('\n');
}

/* ---- observations ---- */

/* Payloads recorded at rank r for the stream (comm, world source, tag). */
static uint64_t payloads(const struct ms__rankdata *d,
                         const struct ms__counter *k)
{
    int src = snap_rank_in(snap_comm(d, k->comm_id), k->peer);
    uint64_t n = 0;

    for (size_t i = 0; i < d->nmsgs; i++)
        n += d->msgs[i].comm_id == k->comm_id && d->msgs[i].source == src &&
             d->msgs[i].tag == k->tag;
    return n;
}

static void obs_rank_text(const struct snap *s, int r)
{
    const struct ms__obsrec *o = &s->rk[r].obs;
    char t[64], buf[256];

    if (strcmp(o->call, "computing") == 0)
        printf("rank %d: computing (in no MPI call), recorded %s\n", r,
               tool_time(buf, sizeof buf, s->rk[r].time));
    else
        printf("rank %d: in %s for %.3f s (since %s), recorded %s\n", r,
               o->call, o->waited, tool_time(t, sizeof t, o->t_enter),
               tool_time(buf, sizeof buf, s->rk[r].time));
    if (o->nneeds == 0)
        printf("  waits for nothing\n");
    else if (o->nneeds == 1)
        printf("  waits for: %s\n", need_text(buf, sizeof buf, s, r, o->needs));
    else
        printf("  waits for %s of:\n", o->mode ? "any one" : "all");
    for (size_t i = 0; o->nneeds > 1 && i < o->nneeds; i++)
        printf("    %s\n", need_text(buf, sizeof buf, s, r, &o->needs[i]));
}

static void obs_inflight_text(const struct snap *s, int r)
{
    const struct ms__rankdata *d = &s->rk[r];
    uint64_t n = obs_inflight(d);
    char name[32];

    printf("  in flight to rank %d: %llu message%s\n", r, (unsigned long long)n,
           n == 1 ? "" : "s");
    if (d->obs.ninflight)
        printf("    %-20s %6s %7s %6s %6s %8s\n", "COMMUNICATOR", "SOURCE",
               "(WORLD)", "TAG", "COUNT", "PAYLOADS");
    for (size_t i = 0; i < d->obs.ninflight; i++) {
        const struct ms__counter *k = &d->obs.inflight[i];
        const struct ms__commrec *c = snap_comm(d, k->comm_id);

        printf("    %-20s %6d %7d %6d %6llu %8llu\n",
               snap_comm_name(name, sizeof name, c, k->comm_id, s->nranks),
               snap_rank_in(c, k->peer), (int)k->peer, (int)k->tag,
               (unsigned long long)k->count,
               (unsigned long long)payloads(d, k));
    }
}

static void obs_rank_json(const struct snap *s, int r)
{
    const struct ms__rankdata *d = &s->rk[r];
    const struct ms__obsrec *o = &d->obs;
    char name[32], buf[256];

    js_begin_obj("observation");
    js_str("call", o->call);
    js_str("mode", o->mode ? "any" : "all");
    js_num("t_enter", o->t_enter);
    js_num("waited", o->waited);
    js_begin_arr("needs");
    for (size_t i = 0; i < o->nneeds; i++) {
        const struct ms__need *nd = &o->needs[i];

        js_begin_obj(NULL);
        js_str("kind", need_kind_name(nd->kind));
        js_int("peer", nd->peer);
        js_int("tag", nd->tag);
        js_u64("comm_id", nd->comm_id);
        js_str("comm",
               snap_comm_name(name, sizeof name, snap_comm(d, nd->comm_id),
                              nd->comm_id, s->nranks));
        js_u64("ncoll", nd->ncoll);
        js_str("text", need_text(buf, sizeof buf, s, r, nd));
        js_end_obj();
    }
    js_end_arr();
    js_u64("in_flight_total", obs_inflight(d));
    js_begin_arr("in_flight");
    for (size_t i = 0; i < o->ninflight; i++) {
        const struct ms__counter *k = &o->inflight[i];
        const struct ms__commrec *c = snap_comm(d, k->comm_id);

        js_begin_obj(NULL);
        js_u64("comm_id", k->comm_id);
        js_str("comm",
               snap_comm_name(name, sizeof name, c, k->comm_id, s->nranks));
        js_int("source", snap_rank_in(c, k->peer));
        js_int("source_world", k->peer);
        js_int("tag", k->tag);
        js_u64("count", k->count);
        js_u64("payloads", payloads(d, k));
        js_end_obj();
    }
    js_end_arr();
    js_end_obj();
}

/* The verdict as stored, the cycle and the properties. */
static void verdict_text(const struct snap *s)
{
    const char *p = s->ix.report ? s->ix.report : "";

    printf("verdict: %s\n", s->ix.verdict[0] ? s->ix.verdict : "(none)");
    while (*p) {
        size_t len = strcspn(p, "\n");

        printf("  | %.*s\n", (int)len, p);
        p += len + (p[len] == '\n');
    }
    if (s->ix.ncycle) {
        printf("cycle:");
        for (size_t i = 0; i < s->ix.ncycle; i++)
            printf(" %d ->", (int)s->ix.cycle[i]);
        printf(" %d\n", (int)s->ix.cycle[0]);
    }
    if (!s->ix.nprops)
        return;
    printf("properties:\n    %-24s %-4s %24s\n", "NAME", "OP", "VALUE");
    for (size_t i = 0; i < s->ix.nprops; i++) {
        const struct ms__property *q = &s->ix.props[i];

        printf("    %-24s %-4s %24.17g  %s\n", q->name,
               ms__property_op_name(q->op), q->value,
               q->complete ? "complete" : "incomplete: payloads missing");
    }
}

static void verdict_json(const struct snap *s)
{
    js_str("verdict", s->ix.verdict);
    js_str("report", s->ix.report ? s->ix.report : "");
    js_begin_arr("cycle");
    for (size_t i = 0; i < s->ix.ncycle; i++)
        js_int(NULL, s->ix.cycle[i]);
    js_end_arr();
    js_begin_arr("properties");
    for (size_t i = 0; i < s->ix.nprops; i++) {
        const struct ms__property *q = &s->ix.props[i];

        js_begin_obj(NULL);
        js_str("name", q->name);
        js_str("op", ms__property_op_name(q->op));
        js_num("value", q->value);
        js_bool("complete", q->complete);
        js_end_obj();
    }
    js_end_arr();
}

static void rank_text(const struct snap *s, int r, const struct opts *o)
{
    const struct ms__rankdata *d = &s->rk[r];
    struct chan *ch;
    size_t nch = channels(d, &ch);
    uint64_t bytes = 0;
    char t[64], name[32];

    if (d->observation)
        obs_rank_text(s, r);
    else
        printf("rank %d: safe point %llu, recorded %s\n", r,
               (unsigned long long)d->point, tool_time(t, sizeof t, d->time));
    printf("  regions:\n    %-24s %-8s %12s %12s\n", "NAME", "TYPE", "SHAPE",
           "BYTES");
    for (size_t i = 0; i < d->nregions; i++) {
        const struct ms__region *g = &d->regions[i];
        char shape[32];

        if (!selected(o, g))
            continue;
        snprintf(shape, sizeof shape, "[%llu]", (unsigned long long)g->count);
        printf("    %-24s %-8s %12s %12llu\n", g->name,
               ms__etype_name(g->etype), shape, (unsigned long long)g->bytes);
        if (o->dump)
            dump_text(g);
    }
    printf("  communicators:\n    %-20s %6s %8s  %s\n", "ID", "SIZE", "NCOLL",
           "WORLD RANKS");
    for (size_t i = 0; i < d->ncomms; i++) {
        const struct ms__commrec *c = &d->comms[i];

        printf("    %-20s %6d %8llu ",
               snap_comm_name(name, sizeof name, c, c->id, s->nranks),
               (int)c->size, (unsigned long long)c->ncoll);
        for (int k = 0; k < c->size && k < 16; k++)
            printf(" %d", (int)c->world[k]);
        printf("%s\n", c->size > 16 ? " ..." : "");
    }
    for (size_t i = 0; i < d->nmsgs; i++)
        bytes += d->msgs[i].nbytes;
    if (d->observation)
        obs_inflight_text(s, r);
    if (d->observation)
        printf("  payloads recorded: %zu message%s, %llu bytes\n", d->nmsgs,
               d->nmsgs == 1 ? "" : "s", (unsigned long long)bytes);
    else
        printf("  in flight to rank %d: %zu message%s, %llu bytes\n", r,
               d->nmsgs, d->nmsgs == 1 ? "" : "s", (unsigned long long)bytes);
    if (nch)
        printf("    %-20s %6s %7s %6s %6s %8s  %s\n", "COMMUNICATOR", "SOURCE",
               "(WORLD)", "TAG", "COUNT", "BYTES", "POSITIONS");
    for (size_t k = 0; k < nch; k++) {
        const struct ms__commrec *c = snap_comm(d, ch[k].comm_id);

        printf("    %-20s %6d %7d %6d %6llu %8llu  %llu-%llu\n",
               snap_comm_name(name, sizeof name, c, ch[k].comm_id, s->nranks),
               (int)ch[k].source, snap_world(c, ch[k].source), (int)ch[k].tag,
               (unsigned long long)ch[k].count, (unsigned long long)ch[k].bytes,
               (unsigned long long)ch[k].first, (unsigned long long)ch[k].last);
    }
    if (d->ntrace)
        printf("  trace: %zu events\n", d->ntrace);
    free(ch);
}

static void rank_json(const struct snap *s, int r, const struct opts *o)
{
    const struct ms__rankdata *d = &s->rk[r];
    struct chan *ch;
    size_t nch = channels(d, &ch);
    char name[32], buf[64];

    js_begin_obj(NULL);
    js_int("rank", r);
    js_u64("point", d->point);
    js_num("time", d->time);
    js_begin_arr("regions");
    for (size_t i = 0; i < d->nregions; i++) {
        const struct ms__region *g = &d->regions[i];

        if (!selected(o, g))
            continue;
        js_begin_obj(NULL);
        js_str("name", g->name);
        js_str("type", ms__etype_name(g->etype));
        js_begin_arr("shape");
        js_u64(NULL, g->count);
        js_end_arr();
        js_u64("bytes", g->bytes);
        if (o->dump) {
            js_begin_arr("values");
            for (uint64_t k = 0; k < g->count; k++) {
                if (g->etype == MS_T_BYTES)
                    js_u64(NULL, (uint64_t)region_value(g, k));
                else if (region_is_float(g->etype))
                    js_num(NULL, region_value(g, k));
                else
                    js_raw(NULL, region_format(buf, sizeof buf, g, k));
            }
            js_end_arr();
        }
        js_end_obj();
    }
    js_end_arr();
    js_begin_arr("communicators");
    for (size_t i = 0; i < d->ncomms; i++) {
        const struct ms__commrec *c = &d->comms[i];

        js_begin_obj(NULL);
        js_u64("id", c->id);
        js_str("name", snap_comm_name(name, sizeof name, c, c->id, s->nranks));
        js_u64("parent", c->parent);
        js_int("size", c->size);
        js_u64("ncoll", c->ncoll);
        js_begin_arr("world");
        for (int k = 0; k < c->size; k++)
            js_int(NULL, c->world[k]);
        js_end_arr();
        js_end_obj();
    }
    js_end_arr();
    js_u64("nmsgs", d->nmsgs);
    js_begin_arr("in_flight");
    for (size_t k = 0; k < nch; k++) {
        const struct ms__commrec *c = snap_comm(d, ch[k].comm_id);

        js_begin_obj(NULL);
        js_u64("comm_id", ch[k].comm_id);
        js_str("comm",
               snap_comm_name(name, sizeof name, c, ch[k].comm_id, s->nranks));
        js_int("source", ch[k].source);
        js_int("source_world", snap_world(c, ch[k].source));
        js_int("tag", ch[k].tag);
        js_u64("count", ch[k].count);
        js_u64("bytes", ch[k].bytes);
        js_u64("first_pos", ch[k].first);
        js_u64("last_pos", ch[k].last);
        js_end_obj();
    }
    js_end_arr();
    js_u64("trace_events", d->ntrace);
    if (d->observation)
        obs_rank_json(s, r);
    js_end_obj();
    free(ch);
}

static void header(const struct snap *s, uint64_t nmsgs, uint64_t inflight,
                   int json)
{
    char t0[64], t1[64], sz[32];
    int obs = snap_is_observation(s);

    if (json) {
        js_begin_obj(NULL);
        js_str("path", s->dir);
        js_u64("id", s->id);
        js_str("kind", obs ? "observation" : "checkpoint");
        js_str("status", s->partial ? "partial" : "committed");
        js_int("nranks", s->nranks);
        js_u64("nmsgs", nmsgs);
        if (obs)
            js_u64("in_flight", inflight);
        if (s->have_index) {
            js_str("app", s->ix.app);
            js_u64("point", s->ix.point);
            js_num("t_start", s->ix.t_start);
            js_num("t_end", s->ix.t_end);
            js_u64("bytes", s->ix.bytes);
            if (obs)
                verdict_json(s);
        }
        js_begin_arr("ranks");
        return;
    }
    if (!s->have_index) {
        printf("%s %llu (PARTIAL: not committed, never restored): "
               "%s\n  kind: %s\n  %d rank file(s), %llu messages in flight\n",
               obs ? "observation" : "snapshot", (unsigned long long)s->id,
               s->dir, obs ? "observation" : "checkpoint", s->nranks,
               (unsigned long long)(obs ? inflight : nmsgs));
        return;
    }
    printf("%s %llu of %s: %s\n", obs ? "observation" : "snapshot",
           (unsigned long long)s->id, s->ix.app, s->dir);
    if (obs) {
        printf("  kind: observation (a record of the live job; never "
               "restored)\n");
        printf("  committed, %d ranks, %llu message%s in flight (%llu "
               "payload%s recorded), %s\n",
               s->nranks, (unsigned long long)inflight,
               inflight == 1 ? "" : "s", (unsigned long long)nmsgs,
               nmsgs == 1 ? "" : "s", tool_size(sz, sizeof sz, s->ix.bytes));
    } else {
        printf("  kind: checkpoint\n");
        printf("  committed, %d ranks, safe point %llu, %llu messages in "
               "flight, %s\n",
               s->nranks, (unsigned long long)s->ix.point,
               (unsigned long long)nmsgs,
               tool_size(sz, sizeof sz, s->ix.bytes));
    }
    printf("  requested %s, committed %s (%.3f s)\n",
           tool_time(t0, sizeof t0, s->ix.t_start),
           tool_time(t1, sizeof t1, s->ix.t_end), s->ix.t_end - s->ix.t_start);
    if (obs)
        verdict_text(s);
}

static int parse(int argc, char **argv, struct opts *o, const char **dir)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"rank", required_argument, NULL, 'r'},
        {"region", required_argument, NULL, 'g'},
        {"dump", no_argument, NULL, 'u'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    int c;

    while ((c = getopt_long(argc, argv, "d:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            *dir = optarg;
            break;
        case 'g':
            o->region = optarg;
            break;
        case 'u':
            o->dump = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            help_verb("show");
            return -1;
        case 'r':
            o->rank = (int)strtol(optarg, &end, 10);
            if (*end || o->rank < 0)
                return tool_err("--rank %s: not a rank", optarg);
            break;
        default:
            return usage_err("show");
        }
    }
    if (argc - optind != 1)
        return usage_err("show");
    return 0;
}

int cmd_show(int argc, char **argv)
{
    struct opts o = {-1, 0, 0, NULL};
    const char *dir = NULL;
    struct snap s;
    uint64_t nmsgs = 0, inflight = 0;
    char err[1024];
    int ret, found = 0;

    if ((ret = parse(argc, argv, &o, &dir)))
        return ret < 0 ? EXIT_OK : ret;
    if ((ret = snap_open(&s, argv[optind], dir)))
        goto out;
    if (o.rank >= s.nranks) {
        ret = tool_err("--rank %d: the snapshot has ranks 0-%d", o.rank,
                       s.nranks - 1);
        goto out;
    }
    /* Read everything first: an error is one line, not half a report. */
    for (int r = 0; r < s.nranks; r++) {
        if (o.rank >= 0 && r != o.rank)
            continue;
        if (snap_load_rank(&s, r, o.dump, err, sizeof err) < 0) {
            ret = tool_err("%s", err);
            goto out;
        }
        nmsgs += s.rk[r].nmsgs;
        inflight += obs_inflight(&s.rk[r]);
        for (size_t i = 0; i < s.rk[r].nregions; i++)
            found |= o.region && !strcmp(s.rk[r].regions[i].name, o.region);
    }
    if (o.region && !found) {
        ret = tool_err("no region '%s' in %s", o.region, s.dir);
        goto out;
    }
    header(&s, s.have_index ? s.ix.nmsgs : nmsgs, inflight, o.json);
    for (int r = 0; r < s.nranks; r++) {
        if (o.rank >= 0 && r != o.rank)
            continue;
        if (o.json)
            rank_json(&s, r, &o);
        else
            rank_text(&s, r, &o);
    }
    if (o.json) {
        js_end_arr();
        js_end_obj();
        js_done();
    } else if (o.rank < 0 && snap_is_observation(&s)) {
        printf("total: %llu message%s in flight, %llu payload%s recorded\n",
               (unsigned long long)inflight, inflight == 1 ? "" : "s",
               (unsigned long long)nmsgs, nmsgs == 1 ? "" : "s");
    } else if (o.rank < 0) {
        printf("total: %llu messages in flight\n", (unsigned long long)nmsgs);
    }
out:
    snap_close(&s);
    return ret;
}
