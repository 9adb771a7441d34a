/* The cut: stream counts of live and freed communicators, and the messages
 * the library holds for the program, for both kinds of snapshot (cut.h). */
#include <stdlib.h>
#include <string.h>

#include "core/cut.h"

/* ---- stream counts ---- */

struct ledger {
    uint64_t comm_id, n, base;
    int32_t me, p, w, dir, tag;
};
static struct ledger *ledger;
static size_t nledger, capledger;
/* The freed communicators that have counts in the ledger. */
static struct ms__commrec *fcomms;
static size_t nfcomms, capfcomms;

static void *grow(void *p, size_t *cap, size_t size)
{
    size_t n = *cap ? 2 * *cap : 16;

    p = realloc(p, n * size);
    if (!p) {
        MS_ERROR("out of memory keeping a freed communicator's counts: "
                 "aborting job");
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    *cap = n;
    return p;
}

static void ledger_add(struct ms__comm *c, int p, int dir,
                       const struct ms__tagcount *t)
{
    if (t->tag == MS_NO_TAG || !t->n)
        return;
    if (nledger == capledger)
        ledger = grow(ledger, &capledger, sizeof *ledger);
    ledger[nledger++] = (struct ledger){c->id, t->n,        t->base, c->rank,
                                        p,     c->world[p], dir,     t->tag};
}

void ms__cut_comm_freed(struct ms__comm *c)
{
    struct ms__commrec *r;
    size_t before = nledger;
    uint32_t j;
    int p;

    for (p = 0; p < c->size && !c->inter; p++) {
        ledger_add(c, p, 0, &c->sent[p].c);
        for (j = 0; j < c->sent[p].nmore; j++)
            ledger_add(c, p, 0, &c->sent[p].more[j]);
        ledger_add(c, p, 1, &c->recv[p].c);
        for (j = 0; j < c->recv[p].nmore; j++)
            ledger_add(c, p, 1, &c->recv[p].more[j]);
    }
    if (nledger == before)
        return; /* no message ever used it */
    if (nfcomms == capfcomms)
        fcomms = grow(fcomms, &capfcomms, sizeof *fcomms);
    r = &fcomms[nfcomms++];
    *r = (struct ms__commrec){c->id,    c->parent, c->ordinal, c->color,
                              c->ncoll, c->size,   NULL,       {0}};
    ms__comm_ident(c, &r->ident);
    r->world = malloc((size_t)c->size * sizeof *r->world);
    if (!r->world) {
        MS_ERROR("out of memory keeping a freed communicator: aborting job");
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    memcpy(r->world, c->world, (size_t)c->size * sizeof *r->world);
}

size_t ms__cut_freed_comms(const struct ms__commrec **recs)
{
    *recs = fcomms;
    return nfcomms;
}

static void oom(const char *what);

struct ms__commrec *ms__cut_comm_records(size_t *n)
{
    struct ms__commrec *v;
    struct ms__comm *c;
    size_t cap = nfcomms + 1, i;

    for (c = ms__comm_first(); c; c = ms__comm_next(c))
        cap++;
    if (!(v = calloc(cap, sizeof *v)))
        oom("recording communicators");
    *n = 0;
    for (c = ms__comm_first(); c; c = ms__comm_next(c)) {
        if (c->inter)
            continue;
        v[*n] = (struct ms__commrec){c->id,    c->parent, c->ordinal, c->color,
                                     c->ncoll, c->size,   c->world,   {0}};
        ms__comm_ident(c, &v[(*n)++].ident);
    }
    for (i = 0; i < nfcomms; i++)
        v[(*n)++] = fcomms[i];
    for (i = 0; i < *n; i++) {
        int32_t *w = malloc((size_t)v[i].size * sizeof *w + 1);
        if (!w)
            oom("recording communicators");
        memcpy(w, v[i].world, (size_t)v[i].size * sizeof *w);
        v[i].world = w;
    }
    return v;
}

void ms__cut_comm_records_free(struct ms__commrec *v, size_t n)
{
    while (n)
        free(v[--n].world);
    free(v);
}

int ms__cut_world(uint64_t comm_id, int rank)
{
    struct ms__comm *c = ms__comm_by_id(comm_id);
    size_t i;

    if (c)
        return rank >= 0 && rank < c->size ? c->world[rank] : -1;
    for (i = 0; i < nfcomms; i++)
        if (fcomms[i].id == comm_id)
            return rank >= 0 && rank < fcomms[i].size ? fcomms[i].world[rank]
                                                      : -1;
    return -1;
}

size_t ms__cut_ledger_len(void)
{
    return nledger;
}

void ms__cut_ledger_committed(size_t n)
{
    size_t i;

    for (i = 0; i < n && i < nledger; i++)
        if (ledger[i].dir == 0)
            ledger[i].base = ledger[i].n;
}

void ms__cut_ledger_recv_base(uint64_t comm_id, int peer, int tag,
                              uint64_t base)
{
    size_t i;

    for (i = 0; i < nledger; i++)
        if (ledger[i].dir == 1 && ledger[i].comm_id == comm_id &&
            ledger[i].p == peer && ledger[i].tag == tag)
            ledger[i].base = base;
}

void ms__cut_ledger_free(void)
{
    while (nfcomms)
        free(fcomms[--nfcomms].world);
    free(fcomms);
    free(ledger);
    fcomms = NULL;
    ledger = NULL;
    nledger = capledger = capfcomms = 0;
}

static void each_tag(ms__cut_count_fn *fn, void *arg, struct ms__comm *c, int p,
                     int dir, struct ms__stream *s)
{
    uint32_t k;

    for (k = 0; k <= s->nmore; k++) {
        const struct ms__tagcount *t = k ? &s->more[k - 1] : &s->c;
        struct ms__cut_count x = {c,   c->id,  c->rank, p,      c->world[p],
                                  dir, t->tag, t->n,    t->base};
        if (t->tag != MS_NO_TAG)
            fn(arg, &x);
    }
}

void ms__cut_counts(ms__cut_count_fn *fn, void *arg)
{
    struct ms__comm *c;
    size_t i;
    int p;

    for (c = ms__comm_first(); c; c = ms__comm_next(c)) {
        if (c->inter)
            continue;
        for (p = 0; p < c->size; p++) {
            each_tag(fn, arg, c, p, 0, &c->sent[p]);
            each_tag(fn, arg, c, p, 1, &c->recv[p]);
        }
    }
    for (i = 0; i < nledger; i++) {
        const struct ledger *l = &ledger[i];
        struct ms__cut_count x = {NULL,   l->comm_id, l->me, l->p,   l->w,
                                  l->dir, l->tag,     l->n,  l->base};
        fn(arg, &x);
    }
}

/* ---- messages the library holds ---- */

static int same_stream(const struct ms__qmsg *a, const struct ms__qmsg *b)
{
    return a->counted && b->counted && a->source == b->source &&
           a->tag == b->tag;
}

/* Counted queued messages of c: the last k positions of their stream. */
static void queued(const struct ms__cut_ops *ops, void *arg, struct ms__comm *c)
{
    struct ms__qmsg *q, *r;
    uint64_t *R, k, i;

    for (q = c->qhead; q; q = q->next) {
        if (!q->counted)
            continue;
        for (r = c->qhead; r != q && !same_stream(r, q); r = r->next)
            ;
        if (r != q)
            continue; /* not the first of its stream: done with it */
        for (k = 0, r = q; r; r = r->next)
            k += same_stream(r, q);
        R = ops->R(arg, c->id, q->source, q->tag);
        *R -= k < *R ? k : *R;
        for (i = 1, r = q; r; r = r->next)
            if (same_stream(r, q))
                ops->log(arg, c, r->source, r->tag, *R + i++, r->data,
                         (int)r->nbytes, MPI_PACKED);
    }
}

/* A message matched with MPI_Mprobe that the program has not received:
 * from the network (pos set: payload logged when received), or from the
 * queue, counted when drained or when matched in a checkpoint window
 * (payload known). */
static void matched(const struct ms__cut_ops *ops, void *arg,
                    struct ms__mmsg *mm)
{
    uint64_t *R;

    if (!mm->pos && !(mm->q && mm->q->counted))
        return;
    R = ops->R(arg, mm->c->id, mm->source, mm->tag);
    if (!*R)
        return;
    (*R)--;
    if (mm->pos)
        mm->at_cut = 1;
    else
        ops->log(arg, mm->c, mm->source, mm->tag, 0, mm->q->data,
                 (int)mm->q->nbytes, MPI_PACKED);
}

void ms__cut_undelivered(const struct ms__cut_ops *ops, void *arg)
{
    struct ms__comm *c;
    struct ms__mmsg *mm;
    struct ms__held *h;
    struct ms__req *r;
    uint64_t *R;
    size_t i;
    int n;

    for (c = ms__comm_first(); c; c = ms__comm_next(c))
        queued(ops, arg, c);
    /* Matched with MPI_Mprobe and not yet received by the program: not yet
     * passed to MPI_Mrecv/MPI_Imrecv, or passed to an MPI_Imrecv whose
     * request the program has not completed. */
    for (i = 0; i < ms.msgs.cap; i++)
        if (ms.msgs.keys[i] && (mm = ms.msgs.vals[i]))
            matched(ops, arg, mm);
    for (i = 0; i < ms.reqs.cap; i++)
        if (ms.reqs.keys[i] && (r = ms.reqs.vals[i]) &&
            r->kind == MS_REQ_IMRECV && r->mmsg)
            matched(ops, arg, r->mmsg);
    /* Held receives the library completed for a request the program has
     * not collected yet (library matching). */
    for (i = 0; i < ms.reqs.cap; i++) {
        if (!ms.reqs.keys[i] || !(r = ms.reqs.vals[i]) || !(h = r->held) ||
            !r->active || !h->done || h->cancelled ||
            h->status.MPI_SOURCE < 0 || h->status.MPI_ERROR != MPI_SUCCESS)
            continue;
        R = ops->R(arg, h->c->id, h->status.MPI_SOURCE, h->status.MPI_TAG);
        if (!*R)
            continue;
        (*R)--;
        PMPI_Get_count(&h->status, h->dt, &n);
        ops->log(arg, h->c, h->status.MPI_SOURCE, h->status.MPI_TAG, 0, h->buf,
                 n == MPI_UNDEFINED ? 0 : n, h->dt);
    }
}

/* ---- a window ---- */

static void oom(const char *what)
{
    MS_ERROR("out of memory %s: aborting job", what);
    PMPI_Abort(MPI_COMM_WORLD, 1);
}

struct ms__cut_stream *ms__cut_stream(struct ms__cut_table *t, uint64_t comm_id,
                                      int source, int tag)
{
    uint64_t k = ms__stream_key(comm_id, source, tag);
    struct ms__cut_stream *s;

    for (; (s = ms__hmap_get(&t->map, k)); k++)
        if (s->comm_id == comm_id && s->source == source && s->tag == tag)
            return s;
    s = calloc(1, sizeof *s);
    if (!s || ms__hmap_put(&t->map, k, s) < 0)
        oom("recording channel state");
    s->comm_id = comm_id;
    s->source = source;
    s->tag = tag;
    s->next = t->list;
    t->list = s;
    t->n++;
    return s;
}

void ms__cut_apply_marker(struct ms__cut_table *t, const uint64_t *q, size_t n)
{
    struct ms__cut_stream *s;
    size_t i;

    for (i = 0; i < n; i++, q += 4) {
        s = ms__cut_stream(t, q[0], (int)q[1], (int)(int64_t)q[2]);
        s->C = q[3];
        s->have_C = 1;
    }
}

void ms__cut_table_free(struct ms__cut_table *t)
{
    struct ms__cut_stream *s;

    while ((s = t->list)) {
        t->list = s->next;
        free(s);
    }
    ms__hmap_free(&t->map);
    t->n = 0;
}

struct ms__cut_msg *ms__cut_log_add(struct ms__cut_log *l,
                                    struct ms__cut_stream *s, uint64_t pos,
                                    const void *buf, int count, MPI_Datatype dt)
{
    struct ms__cut_msg *m = calloc(1, sizeof *m);
    int size = 0, at = 0;

    /* Packed on the world communicator: the message's may be freed. */
    if (buf && dt == MPI_PACKED)
        size = count;
    else if (buf && dt != MPI_DATATYPE_NULL)
        PMPI_Pack_size(count, dt, ms.world->handle, &size);
    if (!m || !(m->data = malloc(size ? (size_t)size : 1))) {
        free(m);
        return NULL;
    }
    if (size && dt == MPI_PACKED)
        memcpy(m->data, buf, (size_t)(at = size));
    else if (size)
        PMPI_Pack(buf, count, dt, m->data, size, &at, ms.world->handle);
    m->nbytes = (uint64_t)at;
    m->full = buf != NULL;
    m->s = s;
    m->pos = pos;
    if (l->tail)
        l->tail->next = m;
    else
        l->head = m;
    l->tail = m;
    return m;
}

void ms__cut_log_prune(struct ms__cut_log *l,
                       int (*keep)(const struct ms__cut_msg *m))
{
    struct ms__cut_msg **p = &l->head, *m;

    l->tail = NULL;
    while ((m = *p)) {
        if (keep && keep(m)) {
            l->tail = m;
            p = &m->next;
            continue;
        }
        *p = m->next;
        free(m->data);
        free(m);
    }
}

void ms__cut_counter_add(struct ms__cut_counters *k, uint64_t comm_id, int peer,
                         int tag, int dir, uint64_t n)
{
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 256;
        k->v = realloc(k->v, k->cap * sizeof *k->v);
        if (!k->v)
            oom("recording counters");
    }
    k->v[k->n++] = (struct ms__counter){comm_id, peer, tag, dir, n};
}

void ms__cut_counters_received(struct ms__cut_counters *k,
                               const struct ms__cut_table *t)
{
    const struct ms__cut_stream *w;

    for (w = t->list; w; w = w->next)
        if (w->have_R)
            ms__cut_counter_add(k, w->comm_id, w->source, w->tag, 1, w->R);
}

void ms__cut_marker_put(struct ms__cut_marker *m, const uint64_t *w, size_t n)
{
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 32;
        while (cap < m->len + n)
            cap *= 2;
        m->b = realloc(m->b, cap * sizeof *m->b);
        if (!m->b)
            oom("building markers");
        m->cap = cap;
    }
    memcpy(m->b + m->len, w, n * sizeof *w);
    m->len += n;
}

void ms__cut_marker_add(struct ms__cut_marker *m, uint64_t comm_id, int src,
                        int tag, uint64_t count)
{
    const uint64_t w[4] = {comm_id, (uint64_t)src, (uint64_t)(int64_t)tag,
                           count};

    ms__cut_marker_put(m, w, 4);
}
