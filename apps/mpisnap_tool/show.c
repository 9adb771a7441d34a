/* mpisnap show: what a snapshot holds. */
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

static void rank_text(const struct snap *s, int r, const struct opts *o)
{
    const struct ms__rankdata *d = &s->rk[r];
    struct chan *ch;
    size_t nch = channels(d, &ch);
    uint64_t bytes = 0;
    char t[64], name[32];

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
    printf("  in flight to rank %d: %zu message%s, %llu bytes\n", r, d->nmsgs,
           d->nmsgs == 1 ? "" : "s", (unsigned long long)bytes);
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
    js_end_obj();
    free(ch);
}

static void header(const struct snap *s, uint64_t nmsgs, int json)
{
    char t0[64], t1[64], sz[32];

    if (json) {
        js_begin_obj(NULL);
        js_str("path", s->dir);
        js_u64("id", s->id);
        js_str("status", s->partial ? "partial" : "committed");
        js_int("nranks", s->nranks);
        js_u64("nmsgs", nmsgs);
        if (s->have_index) {
            js_str("app", s->ix.app);
            js_u64("point", s->ix.point);
            js_num("t_start", s->ix.t_start);
            js_num("t_end", s->ix.t_end);
            js_u64("bytes", s->ix.bytes);
        }
        js_begin_arr("ranks");
        return;
    }
    if (!s->have_index) {
        printf("snapshot %llu (PARTIAL: not committed, never restored): "
               "%s\n  %d rank file(s), %llu messages in flight\n",
               (unsigned long long)s->id, s->dir, s->nranks,
               (unsigned long long)nmsgs);
        return;
    }
    printf("snapshot %llu of %s: %s\n", (unsigned long long)s->id, s->ix.app,
           s->dir);
    printf("  committed, %d ranks, safe point %llu, %llu messages in flight, "
           "%s\n",
           s->nranks, (unsigned long long)s->ix.point,
           (unsigned long long)nmsgs, tool_size(sz, sizeof sz, s->ix.bytes));
    printf("  requested %s, committed %s (%.3f s)\n",
           tool_time(t0, sizeof t0, s->ix.t_start),
           tool_time(t1, sizeof t1, s->ix.t_end), s->ix.t_end - s->ix.t_start);
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
    uint64_t nmsgs = 0;
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
        for (size_t i = 0; i < s.rk[r].nregions; i++)
            found |= o.region && !strcmp(s.rk[r].regions[i].name, o.region);
    }
    if (o.region && !found) {
        ret = tool_err("no region '%s' in %s", o.region, s.dir);
        goto out;
    }
    header(&s, s.have_index ? s.ix.nmsgs : nmsgs, o.json);
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
    } else if (o.rank < 0) {
        printf("total: %llu messages in flight\n", (unsigned long long)nmsgs);
    }
out:
    snap_close(&s);
    return ret;
}
