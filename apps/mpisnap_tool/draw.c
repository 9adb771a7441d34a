/* mpisnap draw: the Chandy-Lamport space-time diagram of a snapshot, as
 * SVG.  Lanes are ranks, time runs right; from /trace when the job ran
 * with MPISNAP_TRACE=1, else schematic from /channels.  An observation
 * snapshot is drawn as its wait-for graph instead (waitfor.c). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

enum { MAXLANES = 16, W = 1000, LEFT = 90, RIGHT = 40, TOP = 70, LANE = 56 };

FILE *svg_out;

static double lane_y(int r)
{
    return TOP + LANE * (r + 0.5);
}

void svg_escape(const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", svg_out);
        else if (*s == '>')
            fputs("&gt;", svg_out);
        else if (*s == '&')
            fputs("&amp;", svg_out);
        else
            fputc(*s, svg_out);
    }
}

void svg_text(double x, double y, const char *cls, const char *s)
{
    fprintf(svg_out, "<text x=\"%.1f\" y=\"%.1f\" class=\"%s\">", x, y, cls);
    svg_escape(s);
    fputs("</text>\n", svg_out);
}

void svg_arrow(double x1, double y1, double x2, double y2, const char *cls,
               const char *title)
{
    int red = !strcmp(cls, "inflight") || !strcmp(cls, "cycle");

    fprintf(svg_out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "class=\"%s\" marker-end=\"url(#%s)\"><title>",
            x1, y1, x2, y2, cls, red ? "head-red" : "head");
    svg_escape(title);
    fputs("</title></line>\n", svg_out);
}

void svg_begin(int width, int height)
{
    fprintf(svg_out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\">\n"
            "<style>\n"
            "text { font: 13px sans-serif; fill: #222 }\n"
            ".title { font-weight: bold; font-size: 15px }\n"
            ".note { fill: #a33 }\n"
            ".lane { stroke: #444; stroke-width: 1.5 }\n"
            ".msg { stroke: #666; stroke-width: 1 }\n"
            ".marker { stroke: #27a; stroke-width: 1; "
            "stroke-dasharray: 5 4 }\n"
            ".inflight { stroke: #d22; stroke-width: 2.5 }\n"
            ".cut { stroke: #27a; stroke-width: 2.5; fill: none }\n"
            ".cutpt { fill: #27a }\n"
            ".rank { fill: #f4f4f4; stroke: #444; stroke-width: 1.5 }\n"
            ".wait { stroke: #666; stroke-width: 1.5 }\n"
            ".any { stroke: #999; stroke-width: 1; stroke-dasharray: 4 3 }\n"
            ".cycle { stroke: #d22; stroke-width: 2.5 }\n"
            ".small, .edge { font-size: 11px }\n"
            ".edge { fill: #555 }\n"
            "</style>\n"
            "<defs>\n"
            "<marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
            "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">"
            "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#666\"/></marker>\n"
            "<marker id=\"head-red\" viewBox=\"0 0 10 10\" refX=\"10\" "
            "refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" "
            "orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" "
            "fill=\"#d22\"/></marker>\n"
            "</defs>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            width, height, width, height);
}

static void lanes(int n)
{
    char label[32];

    for (int r = 0; r < n; r++) {
        snprintf(label, sizeof label, "rank %d", r);
        svg_text(10, lane_y(r) + 4, "label", label);
        fprintf(svg_out,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                "class=\"lane\" data-rank=\"%d\"/>\n",
                LEFT, lane_y(r), W - RIGHT, lane_y(r), r);
    }
}

static void legend(int n, const char *note)
{
    double y = TOP + LANE * n + 24;

    svg_text(LEFT, y, "legend",
             "grey arrow: message;  dashed blue: marker;  blue line: the "
             "recorded cut;  red: in flight across the cut");
    if (note)
        svg_text(LEFT, y + 20, "note", note);
}

/* World source of an in-flight message at rank r, or -1. */
static int msg_src(const struct ms__rankdata *d, const struct ms__msg *m)
{
    return snap_world(snap_comm(d, m->comm_id), m->source);
}

/* ------------------------------------------------------------ schematic */

static void schematic(const struct snap *s, uint64_t nmsgs)
{
    double cx = (LEFT + W - RIGHT) / 2.0;
    char note[256], title[128];

    fprintf(svg_out,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
            "class=\"cut\"/>\n",
            cx, TOP - 8, cx, TOP + LANE * s->nranks + 8);
    for (int r = 0; r < s->nranks; r++)
        fprintf(svg_out,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
                "class=\"cutpt\" data-rank=\"%d\"/>\n",
                cx, lane_y(r), r);
    for (int r = 0; r < s->nranks; r++) {
        const struct ms__rankdata *d = &s->rk[r];

        for (size_t i = 0; i < d->nmsgs; i++) {
            const struct ms__msg *m = &d->msgs[i];
            int src = msg_src(d, m);
            double dx = 25 + 12.0 * (double)(i % 8);

            if (src < 0)
                continue;
            snprintf(title, sizeof title,
                     "in flight: world %d -> %d, tag %d, position %llu, "
                     "%llu bytes",
                     src, r, (int)m->tag, (unsigned long long)m->pos,
                     (unsigned long long)m->nbytes);
            svg_arrow(cx - 140 + dx, lane_y(src), cx + 60 + dx, lane_y(r),
                      "inflight", title);
        }
    }
    snprintf(note, sizeof note,
             "schematic: this snapshot has no /trace (run the job with "
             "MPISNAP_TRACE=1); shown: the cut and the %llu messages in "
             "flight from /channels",
             (unsigned long long)nmsgs);
    legend(s->nranks, note);
}

/* ---------------------------------------------------------------- trace */

struct ev {
    uint64_t comm_id, pos;
    int32_t src, dst, tag;
    int recv; /* 0 send, 1 receive */
    double t;
};

static int cmp_ev(const void *pa, const void *pb)
{
    const struct ev *a = pa, *b = pb;

    if (a->comm_id != b->comm_id)
        return a->comm_id < b->comm_id ? -1 : 1;
    if (a->src != b->src)
        return a->src - b->src;
    if (a->dst != b->dst)
        return a->dst - b->dst;
    if (a->tag != b->tag)
        return a->tag < b->tag ? -1 : 1;
    if (a->pos != b->pos)
        return a->pos < b->pos ? -1 : 1;
    return a->recv - b->recv;
}

static int in_channels(const struct snap *s, const struct ev *e)
{
    const struct ms__rankdata *d;

    if (e->dst < 0 || e->dst >= s->nranks)
        return 0;
    d = &s->rk[e->dst];
    for (size_t i = 0; i < d->nmsgs; i++)
        if (d->msgs[i].comm_id == e->comm_id && d->msgs[i].tag == e->tag &&
            d->msgs[i].pos == e->pos && msg_src(d, &d->msgs[i]) == e->src)
            return 1;
    return 0;
}

/* The time axis: x follows the order of the events in the window, not
 * their clock times, so bursts and pauses do not squeeze the picture. */
struct span {
    double t0, t1;
    double *ts; /* sorted times of the events in [t0, t1] */
    size_t n;
};

static int cmp_dbl(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;

    return a < b ? -1 : a > b;
}

static double xt(const struct span *sp, double t)
{
    size_t lo = 0, hi = sp->n;
    double f;

    while (lo < hi) { /* first time >= t */
        size_t mid = (lo + hi) / 2;
        if (sp->ts[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    f = sp->n > 1 ? (double)lo / (double)(sp->n - 1) : 0.5;
    f = f < 0 ? 0 : f > 1 ? 1 : f; /* events outside the window: its edge */
    return LEFT + 10 + f * (W - LEFT - RIGHT - 20);
}

/* Application messages, paired by (comm, source, destination, tag, pos). */
static int messages(const struct snap *s, const struct span *sp,
                    const double *cut)
{
    struct ev *v;
    size_t n = 0, cap = 0;
    char title[160];

    for (int r = 0; r < s->nranks; r++)
        cap += s->rk[r].ntrace;
    v = calloc(cap ? cap : 1, sizeof *v);
    if (!v)
        return -1;
    for (int r = 0; r < s->nranks; r++)
        for (size_t i = 0; i < s->rk[r].ntrace; i++) {
            const struct ms__trace_ev *t = &s->rk[r].trace[i];

            if (t->kind == MS_EV_SEND)
                v[n++] = (struct ev){t->comm_id, t->pos, r,   t->peer,
                                     t->tag,     0,      t->t};
            else if (t->kind == MS_EV_RECV)
                v[n++] = (struct ev){t->comm_id, t->pos, t->peer, r,
                                     t->tag,     1,      t->t};
        }
    qsort(v, n, sizeof *v, cmp_ev);
    for (size_t i = 0; i < n; i++) {
        const struct ev *a = &v[i], *b = NULL;
        int inflight;

        if (i + 1 < n && !a->recv && v[i + 1].recv &&
            cmp_ev(a, &v[i + 1]) == -1 && a->comm_id == v[i + 1].comm_id &&
            a->src == v[i + 1].src && a->dst == v[i + 1].dst &&
            a->tag == v[i + 1].tag && a->pos == v[i + 1].pos)
            b = &v[++i];
        if (a->src < 0 || a->src >= s->nranks || a->dst < 0 ||
            a->dst >= s->nranks)
            continue;
        inflight = in_channels(s, a);
        if (!inflight && !a->recv)
            inflight = a->t <= cut[a->src] && (!b || b->t > cut[a->dst]);
        if (!inflight && (b ? b->t : a->t) < sp->t0)
            continue; /* before the window around the cut */
        if (!inflight && a->t > sp->t1)
            continue;
        snprintf(title, sizeof title,
                 "%s: world %d -> %d, comm %llu, tag %d, position %llu",
                 inflight ? "in flight" : "message", (int)a->src, (int)a->dst,
                 (unsigned long long)a->comm_id, (int)a->tag,
                 (unsigned long long)a->pos);
        if (a->recv) /* its send is older than the trace */
            svg_arrow(LEFT, lane_y(a->src), xt(sp, a->t), lane_y(a->dst),
                      inflight ? "inflight" : "msg", title);
        else if (b)
            svg_arrow(xt(sp, a->t), lane_y(a->src), xt(sp, b->t),
                      lane_y(a->dst), inflight ? "inflight" : "msg", title);
        else /* not received within the window: a short stub */
            svg_arrow(xt(sp, a->t), lane_y(a->src), xt(sp, a->t) + 24,
                      (lane_y(a->src) + lane_y(a->dst)) / 2.0,
                      inflight ? "inflight" : "msg", title);
    }
    free(v);
    return 0;
}

/* Markers: the k-th marker sent from a to b with the k-th received. */
static void markers(const struct snap *s, const struct span *sp)
{
    for (int a = 0; a < s->nranks; a++)
        for (size_t i = 0; i < s->rk[a].ntrace; i++) {
            const struct ms__trace_ev *t = &s->rk[a].trace[i];
            int b = t->peer, k = 0;

            if (t->kind != MS_EV_MARKER_SEND || b < 0 || b >= s->nranks)
                continue;
            for (size_t j = 0; j < i; j++)
                k += s->rk[a].trace[j].kind == MS_EV_MARKER_SEND &&
                     s->rk[a].trace[j].peer == b;
            for (size_t j = 0; j < s->rk[b].ntrace; j++) {
                const struct ms__trace_ev *u = &s->rk[b].trace[j];

                if (u->kind != MS_EV_MARKER_RECV || u->peer != a || k-- > 0)
                    continue;
                svg_arrow(xt(sp, t->t), lane_y(a), xt(sp, u->t), lane_y(b),
                          "marker", "marker");
                break;
            }
        }
}

/* How many of a rank's events before and after its cut the diagram shows:
 * a long trace would otherwise squeeze the cut into a few pixels. */
#define WINDOW_EVENTS 24

static void traced(const struct snap *s)
{
    struct span sp = {1e300, -1e300, NULL, 0};
    double *cut = calloc((size_t)s->nranks, sizeof *cut);

    if (!cut)
        return;
    for (int r = 0; r < s->nranks; r++) {
        const struct ms__rankdata *d = &s->rk[r];
        size_t at = d->ntrace, lo, hi;

        cut[r] = d->time; /* when the ring lost the CUT event */
        for (size_t i = 0; i < d->ntrace; i++) {
            const struct ms__trace_ev *t = &d->trace[i];

            if (t->kind == MS_EV_CUT && (t->pos == d->point || !cut[r])) {
                cut[r] = t->t;
                at = i;
            }
        }
        /* The window: WINDOW_EVENTS events on each side of the cut. */
        lo = at > WINDOW_EVENTS ? at - WINDOW_EVENTS : 0;
        hi = at + WINDOW_EVENTS < d->ntrace ? at + WINDOW_EVENTS : d->ntrace;
        if (d->ntrace && lo < d->ntrace && d->trace[lo].t < sp.t0)
            sp.t0 = d->trace[lo].t;
        if (hi > 0 && hi <= d->ntrace && d->trace[hi - 1].t > sp.t1)
            sp.t1 = d->trace[hi - 1].t;
        if (cut[r] < sp.t0)
            sp.t0 = cut[r];
        if (cut[r] > sp.t1)
            sp.t1 = cut[r];
    }
    for (int r = 0; r < s->nranks; r++)
        sp.n += s->rk[r].ntrace + 1;
    sp.ts = calloc(sp.n, sizeof *sp.ts);
    if (!sp.ts) {
        free(cut);
        return;
    }
    sp.n = 0;
    for (int r = 0; r < s->nranks; r++) {
        sp.ts[sp.n++] = cut[r];
        for (size_t i = 0; i < s->rk[r].ntrace; i++)
            if (s->rk[r].trace[i].t >= sp.t0 && s->rk[r].trace[i].t <= sp.t1)
                sp.ts[sp.n++] = s->rk[r].trace[i].t;
    }
    qsort(sp.ts, sp.n, sizeof *sp.ts, cmp_dbl);
    markers(s, &sp);
    messages(s, &sp, cut);
    fputs("<polyline class=\"cut\" points=\"", svg_out);
    for (int r = 0; r < s->nranks; r++)
        fprintf(svg_out, "%.1f,%.1f ", xt(&sp, cut[r]),
                r == 0 ? lane_y(r) - LANE / 3.0 : lane_y(r));
    fprintf(svg_out, "%.1f,%.1f\"/>\n", xt(&sp, cut[s->nranks - 1]),
            lane_y(s->nranks - 1) + LANE / 3.0);
    for (int r = 0; r < s->nranks; r++)
        fprintf(svg_out,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
                "class=\"cutpt\" data-rank=\"%d\"/>\n",
                xt(&sp, cut[r]), lane_y(r), r);
    legend(s->nranks, "from /trace; x follows the order of events (clocks "
                      "of different nodes may differ: arrows can lean)");
    free(sp.ts);
    free(cut);
}

/* ---------------------------------------------------------------- many */

static void summary(const struct snap *s, uint64_t nmsgs)
{
    char line[160];
    double y = TOP + 20;
    int shown = 0;

    snprintf(line, sizeof line,
             "%d ranks: too many lanes to draw readably (2-16); summary of "
             "the %llu messages in flight instead:",
             s->nranks, (unsigned long long)nmsgs);
    svg_text(LEFT, TOP, "note", line);
    for (int r = 0; r < s->nranks && shown < 40; r++) {
        const struct ms__rankdata *d = &s->rk[r];

        for (size_t i = 0; i < d->nmsgs && shown < 40; i++) {
            const struct ms__msg *m = &d->msgs[i];

            snprintf(line, sizeof line,
                     "world %d -> %d: tag %d, position %llu, %llu bytes",
                     msg_src(d, m), r, (int)m->tag, (unsigned long long)m->pos,
                     (unsigned long long)m->nbytes);
            svg_text(LEFT, y += 18, "inflight-text", line);
            shown++;
        }
    }
    if ((uint64_t)shown < nmsgs)
        svg_text(LEFT, y + 18, "note", "... (mpisnap show lists them all)");
}

int cmd_draw(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *file = "cut.svg";
    char err[1024], title[512], what[256];
    uint64_t nmsgs = 0, ntrace = 0;
    struct snap s;
    int c, ret, height;

    while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
        if (c == 'h')
            return help_verb("draw"), EXIT_OK;
        if (c == 'd')
            dir = optarg;
        else if (c == 'o')
            file = optarg;
        else
            return usage_err("draw");
    }
    if (argc - optind != 1)
        return usage_err("draw");
    if ((ret = snap_open(&s, argv[optind], dir)))
        return ret;
    for (int r = 0; r < s.nranks; r++) {
        if (snap_load_rank(&s, r, 0, err, sizeof err) < 0) {
            ret = tool_err("%s", err);
            goto done;
        }
        nmsgs += s.rk[r].nmsgs;
        ntrace += s.rk[r].ntrace;
    }
    svg_out = strcmp(file, "-") ? fopen(file, "w") : stdout;
    if (!svg_out) {
        ret = tool_err("%s: %s", file, strerror(errno));
        goto done;
    }
    if (snap_is_observation(&s)) {
        waitfor_svg(&s, what, sizeof what);
    } else {
        height = TOP + LANE * (s.nranks > MAXLANES ? 24 : s.nranks) + 70;
        svg_begin(W, height);
        snprintf(
            title, sizeof title,
            "snapshot %llu of %s at safe point %llu: %d ranks, %llu "
            "message%s in flight",
            (unsigned long long)s.id, s.have_index ? s.ix.app : "(partial)",
            (unsigned long long)(s.have_index ? s.ix.point : s.rk[0].point),
            s.nranks, (unsigned long long)nmsgs, nmsgs == 1 ? "" : "s");
        svg_text(LEFT, 28, "title", title);
        if (s.nranks > MAXLANES) {
            summary(&s, nmsgs);
        } else {
            lanes(s.nranks);
            if (ntrace)
                traced(&s);
            else
                schematic(&s, nmsgs);
        }
        snprintf(what, sizeof what, "%d lanes, %llu messages in flight, %s",
                 s.nranks > MAXLANES ? 0 : s.nranks, (unsigned long long)nmsgs,
                 s.nranks > MAXLANES ? "summary (more than 16 ranks)"
                 : ntrace            ? "from the trace"
                                     : "schematic (no trace)");
    }
    fputs("</svg>\n", svg_out);
    if (svg_out != stdout && fclose(svg_out) != 0)
        ret = tool_err("%s: %s", file, strerror(errno));
    else if (svg_out != stdout)
        printf("wrote %s: %s\n", file, what);
done:
    snap_close(&s);
    return ret;
}
