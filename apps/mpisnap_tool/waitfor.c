/* Observation snapshots: what each rank waits for, in words (show) and as
 * a wait-for graph (draw).  docs/format.md: /observe and the index's
 * verdict, cycle and properties. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* ----------------------------------------------------------------- words */

const char *need_kind_name(int kind)
{
    /* clang-format off */
    switch (kind) {
    case MS_NEED_RECV: return "recv";
    case MS_NEED_SEND: return "send";
    case MS_NEED_COLL: return "coll";
    default: return "?";
    }
    /* clang-format on */
}

int snap_rank_in(const struct ms__commrec *c, int w)
{
    for (int k = 0; c && k < c->size; k++)
        if (c->world[k] == w)
            return k;
    return -1;
}

/* MPI_ANY_TAG is negative in every MPI (-1 in Open MPI and MPICH), and
 * real tags are not. */
static const char *tag_text(char *buf, size_t n, int tag)
{
    if (tag < 0)
        snprintf(buf, n, "any tag");
    else
        snprintf(buf, n, "tag %d", tag);
    return buf;
}

const char *need_text(char *buf, size_t n, const struct snap *s, int r,
                      const struct ms__need *nd)
{
    const struct ms__commrec *c = snap_comm(&s->rk[r], nd->comm_id);
    char comm[32], tag[32];

    snap_comm_name(comm, sizeof comm, c, nd->comm_id, s->nranks);
    tag_text(tag, sizeof tag, nd->tag);
    if (nd->kind == MS_NEED_RECV && nd->peer < 0)
        snprintf(buf, n, "receive from any source, %s, on %s", tag, comm);
    else if (nd->kind == MS_NEED_RECV)
        snprintf(buf, n, "receive from rank %d, %s, on %s", (int)nd->peer, tag,
                 comm);
    else if (nd->kind == MS_NEED_SEND)
        snprintf(buf, n, "rank %d to receive its send, %s, on %s",
                 (int)nd->peer, tag, comm);
    else if (nd->kind == MS_NEED_COLL)
        snprintf(buf, n, "every member of %s to start collective #%llu", comm,
                 (unsigned long long)nd->ncoll);
    else
        snprintf(buf, n, "need of unknown kind %d", (int)nd->kind);
    return buf;
}

uint64_t obs_inflight(const struct ms__rankdata *d)
{
    uint64_t n = 0;

    for (size_t i = 0; i < d->obs.ninflight; i++)
        n += d->obs.inflight[i].count;
    return n;
}

/* ----------------------------------------------------------------- graph */

/* One arrow a -> b: rank a waits for rank b. */
struct edge {
    int a, b;
    int any;   /* receive from any source: dashed */
    int cycle; /* an edge of the deadlock cycle: red */
    char label[64];
};

struct graph {
    struct edge *v;
    size_t n, cap;
};

static struct edge *edge(struct graph *g, int a, int b, int any,
                         const char *label)
{
    struct edge *e = NULL;
    size_t len;

    for (size_t i = 0; i < g->n && !e; i++)
        if (g->v[i].a == a && g->v[i].b == b && g->v[i].any == any)
            e = &g->v[i];
    if (!e) {
        if (g->n == g->cap) {
            size_t cap = g->cap ? 2 * g->cap : 16;
            struct edge *v = realloc(g->v, cap * sizeof *v);

            if (!v)
                return NULL;
            g->v = v;
            g->cap = cap;
        }
        e = &g->v[g->n++];
        *e = (struct edge){a, b, any, 0, ""};
    }
    len = strlen(e->label);
    if (label[0] && len + 2 < sizeof e->label) /* several needs: "tag 5, 7" */
        snprintf(e->label + len, sizeof e->label - len, "%s%s", len ? ", " : "",
                 label);
    return e;
}

/* Collective #n: the members that have not started it yet. */
static void coll_edges(struct graph *g, const struct snap *s, int r,
                       const struct ms__need *nd)
{
    const struct ms__commrec *c = snap_comm(&s->rk[r], nd->comm_id), *o;
    char label[32];

    snprintf(label, sizeof label, "coll #%llu", (unsigned long long)nd->ncoll);
    for (int k = 0; c && k < c->size; k++) {
        int w = c->world[k];

        if (w == r || w < 0 || w >= s->nranks)
            continue;
        o = snap_comm(&s->rk[w], nd->comm_id);
        if (!o || o->ncoll < nd->ncoll)
            edge(g, r, w, 0, label);
    }
}

static void build(struct graph *g, const struct snap *s)
{
    char label[32];

    for (int r = 0; r < s->nranks; r++) {
        const struct ms__obsrec *o = &s->rk[r].obs;

        for (size_t i = 0; i < o->nneeds; i++) {
            const struct ms__need *nd = &o->needs[i];
            const struct ms__commrec *c = snap_comm(&s->rk[r], nd->comm_id);

            tag_text(label, sizeof label, nd->tag);
            if (nd->kind == MS_NEED_COLL) {
                coll_edges(g, s, r, nd);
            } else if (nd->peer >= 0 && nd->peer < s->nranks) {
                if (nd->kind == MS_NEED_SEND)
                    snprintf(label, sizeof label, "send, tag %d", nd->tag);
                edge(g, r, nd->peer, 0, label);
            } else if (nd->kind == MS_NEED_RECV && nd->peer < 0) {
                for (int k = 0; c && k < c->size; k++)
                    if (c->world[k] != r && c->world[k] >= 0 &&
                        c->world[k] < s->nranks)
                        edge(g, r, c->world[k], 1, "");
            }
        }
    }
    /* The cycle: rank cycle[k] waits for cycle[k + 1], the last for the
     * first.  An edge the needs did not give is drawn all the same. */
    for (size_t k = 0; k < s->ix.ncycle; k++) {
        int a = s->ix.cycle[k], b = s->ix.cycle[(k + 1) % s->ix.ncycle];
        struct edge *e = NULL;

        if (a < 0 || b < 0 || a >= s->nranks || b >= s->nranks)
            continue;
        for (size_t i = 0; i < g->n && !e; i++)
            if (g->v[i].a == a && g->v[i].b == b && !g->v[i].any)
                e = &g->v[i];
        for (size_t i = 0; i < g->n && !e; i++)
            if (g->v[i].a == a && g->v[i].b == b)
                e = &g->v[i];
        if (!e)
            e = edge(g, a, b, 0, "");
        if (e)
            e->cycle = 1;
    }
}

enum { NODE = 30, MARGIN = 140, TOPY = 90 };

struct layout {
    double cx, cy, radius;
    int n;
};

/* Rank 0 at the left, the others clockwise around a circle. */
static void pos(const struct layout *l, int r, double *x, double *y)
{
    double a = M_PI + 2 * M_PI * r / l->n;

    *x = l->cx + l->radius * cos(a);
    *y = l->cy + l->radius * sin(a);
}

static void draw_edge(const struct layout *l, const struct edge *e)
{
    double x1, y1, x2, y2, dx, dy, len, px, py;
    char title[160];

    pos(l, e->a, &x1, &y1);
    pos(l, e->b, &x2, &y2);
    dx = x2 - x1;
    dy = y2 - y1;
    len = sqrt(dx * dx + dy * dy);
    if (len < 1)
        return;
    dx /= len;
    dy /= len;
    /* Shifted to the right of its direction: a -> b and b -> a apart. */
    px = -dy * 6;
    py = dx * 6;
    snprintf(title, sizeof title, "rank %d waits for rank %d%s%s%s%s", e->a,
             e->b, e->any ? " (receive from any source)" : "",
             e->label[0] ? ": " : "", e->label,
             e->cycle ? " (deadlock cycle)" : "");
    svg_arrow(x1 + dx * (NODE + 2) + px, y1 + dy * (NODE + 2) + py,
              x2 - dx * (NODE + 4) + px, y2 - dy * (NODE + 4) + py,
              e->cycle ? "cycle"
              : e->any ? "any"
                       : "wait",
              title);
    if (e->label[0])
        svg_text((x1 + x2) / 2 + px * 2.5 - 20, (y1 + y2) / 2 + py * 2.5 + 4,
                 "edge", e->label);
}

static void draw_node(const struct layout *l, const struct snap *s, int r)
{
    const struct ms__rankdata *d = &s->rk[r];
    uint64_t nin = obs_inflight(d);
    double x, y;
    char line[96];

    pos(l, r, &x, &y);
    fprintf(svg_out,
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" class=\"rank\" "
            "data-rank=\"%d\"><title>",
            x, y, NODE, r);
    snprintf(line, sizeof line, "rank %d: %s, %.3f s, %llu in flight to it", r,
             d->obs.call, d->obs.waited, (unsigned long long)nin);
    svg_escape(line);
    fputs("</title></circle>\n", svg_out);
    snprintf(line, sizeof line, "rank %d", r);
    svg_text(x - 22, y + 4, "label", line);
    snprintf(line, sizeof line, "%s, %.2f s", d->obs.call, d->obs.waited);
    svg_text(x - NODE, y + NODE + 15, "small", line);
    if (nin) {
        snprintf(line, sizeof line, "%llu in flight to it",
                 (unsigned long long)nin);
        svg_text(x - NODE, y + NODE + 29, "small", line);
    }
}

void waitfor_svg(const struct snap *s, char *what, size_t n)
{
    struct graph g = {0};
    struct layout l;
    size_t ncycle = 0;
    char title[512], line[256];
    const char *rep = s->ix.report ? s->ix.report : "";
    int width, height, nlines = 0;
    double x, y, ytop = 0, ybot = 0;

    l.n = s->nranks;
    l.radius = l.n < 2 ? 0 : l.n <= 4 ? 150 : 26.0 * l.n + 40;
    width = (int)(2 * (l.radius + MARGIN));
    width = width < 1000 ? 1000 : width;
    /* Only as high as the nodes reach (2 ranks: one row). */
    for (int r = 0; r < l.n; r++) {
        l.cx = l.cy = 0;
        pos(&l, r, &x, &y);
        ytop = y < ytop ? y : ytop;
        ybot = y > ybot ? y : ybot;
    }
    l.cx = width / 2.0;
    l.cy = TOPY + NODE + 30 - ytop;
    height = (int)(l.cy + ybot + NODE + 90);
    svg_begin(width, height);
    snprintf(title, sizeof title,
             "observation %llu of %s: %s, %d ranks (wait-for graph)",
             (unsigned long long)s->id, s->have_index ? s->ix.app : "(partial)",
             s->have_index ? s->ix.verdict : "no verdict", s->nranks);
    svg_text(20, 28, "title", title);
    /* The first lines of the report, as stored. */
    for (const char *p = rep; *p && nlines < 2; nlines++) {
        size_t len = strcspn(p, "\n");

        snprintf(line, sizeof line, "%.*s", (int)len, p);
        svg_text(20, 50 + 16 * nlines, "note", line);
        p += len + (p[len] == '\n');
    }
    build(&g, s);
    for (size_t i = 0; i < g.n; i++)
        if (!g.v[i].cycle) /* red on top */
            draw_edge(&l, &g.v[i]);
    for (size_t i = 0; i < g.n; i++)
        if (g.v[i].cycle) {
            draw_edge(&l, &g.v[i]);
            ncycle++;
        }
    for (int r = 0; r < s->nranks; r++)
        draw_node(&l, s, r);
    svg_text(20, height - 16, "legend",
             "arrow a -> b: rank a waits for rank b (tag, or coll #n: "
             "collective number n); dashed: receive from any source; red: "
             "the deadlock cycle");
    snprintf(what, n,
             "wait-for graph of %d ranks, %zu arrows, %zu in the "
             "deadlock cycle, verdict %s",
             s->nranks, g.n, ncycle, s->have_index ? s->ix.verdict : "none");
    free(g.v);
}
