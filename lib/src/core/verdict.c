/* The verdict of an observation snapshot: is the job deadlocked, quiescent
 * or still progressing?  Decided from every rank's record alone (its call,
 * what the call waits for, the receives it has posted, the messages in
 * flight to it); no MPI calls.
 *
 * Rules, in this order:
 *
 * 0. Matching, as MPI does it: each rank's posted receives (requests it
 *    has not completed, waited for or not, and the one its blocking call
 *    waits in), in posting order, each take one in-flight message of a
 *    stream they match.  A receive through MPI_ANY_SOURCE or MPI_ANY_TAG
 *    that matches several streams takes one that no later receive
 *    matches, if there is one (the order of messages across streams is
 *    not recorded; this choice never takes a message from a receive that
 *    could have had it).  What is left is what a probe, or a receive
 *    posted later, can see.  A send that MPI has not completed is among
 *    the last messages of its stream: it is matched when fewer messages
 *    of the stream are left than the sender has such sends pending.
 * 1. can[i] = 1 for every rank without needs (computing: it may still send
 *    anything).  Then, to a fixpoint, a blocked rank gets can = 1 when its
 *    needs can be met (mode 0: all of them, mode 1: one of them):
 *    - RECV(comm, peer, tag): rule 0 gives it an in-flight message (a
 *      message matched to an earlier receive does not count), or the peer
 *      can progress (peer -1: any other member of comm);
 *    - SEND(comm, peer, tag): the peer can progress, or rule 0 matches the
 *      message to a receive the peer has posted (the peer need not wait
 *      in that receive: MPI completes it while the peer polls);
 *    - COLL(comm, n): every member that has not started collective n yet
 *      (its ncoll < n) can progress; met when all have started it.
 *    A peer out of range or a communicator no rank lists never meets a
 *    need.
 * 2. Stuck ranks: can = 0 at the fixpoint.  None: progressing.
 * 3. A stuck rank waits for (edges): through each need it cannot meet, a
 *    named RECV peer or SEND peer and the members of a COLL that have not
 *    started it ("definite"), every other member of the comm for a RECV
 *    from any rank ("wildcard").  Only edges to stuck ranks count.  Needs
 *    that can be met give no edge: a Waitall whose message from rank 1 is
 *    in flight does not wait for rank 1.
 * 4. A cycle of definite edges: deadlock with that cycle.
 * 5. Every rank stuck, every need a RECV and no message in flight:
 *    quiescent (a master in Recv(ANY_SOURCE), its workers in Recv from it:
 *    the work is done but the job never ends).
 * 6. A cycle of any edges: deadlock with that cycle.
 * 7. Otherwise the stuck ranks wait in chains that end in ranks no rank can
 *    help (an unknown peer or communicator): deadlock without a cycle.
 *
 * A cycle is the shortest one through the lowest rank that lies on any
 * (Tarjan's strongly connected components, then a breadth-first search in
 * the component), so the answer is deterministic.  Edges are enumerated on
 * the fly rather than stored: a receive from any rank on a large
 * communicator would give nranks^2 of them. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpisnap.h"
#include "core/verdict.h"

/* MPI_ANY_TAG: -1 in Open MPI and MPICH.  Spelled out so that the rules do
 * not depend on mpi.h; checked when mpisnap.h has brought it in. */
#define ANY_TAG (-1)
#ifdef MPI_ANY_TAG
_Static_assert(MPI_ANY_TAG == ANY_TAG, "MPI_ANY_TAG is not -1");
#endif

#define MAX_LINES 16  /* rank lines in a report */
#define MAX_MEMBERS 8 /* ranks named in one collective need */
#define MAX_NEEDS 4   /* needs described on one line */
#define MAX_STREAMS 3 /* unmatched in-flight streams shown per rank */

/* One rank's membership of a communicator. */
struct member {
    uint64_t id;
    int32_t rank;
    uint64_t ncoll;
};

/* A communicator: its members, sorted by rank, are members[first..+n). */
struct comm {
    uint64_t id;
    size_t first, n;
};

struct ctx {
    int n;
    const struct ms__vrank *r;
    struct member *members;
    struct comm *comms;
    size_t ncomms;
    size_t *needoff;        /* [n + 1]: rank i's needs in the flat arrays */
    int32_t *needcomm;      /* [flat]: index into comms, -1 unknown */
    unsigned char *needmsg; /* [flat]: rule 0 meets it (RECV: a message
                               for it; SEND: a receive for it) */
    size_t *infoff;         /* [n + 1]: rank i's in-flight entries in rem */
    uint64_t *rem;          /* [flat]: their messages no posted receive
                               takes */
    unsigned char *needok;  /* [flat]: can be met at the fixpoint */
    unsigned char *can;     /* [n] */
};

/* Where the next rank a stuck rank waits for is looked up. */
struct cursor {
    size_t k, j; /* need, member of its communicator */
};

/* A rank without a record counts as computing. */
static size_t nneeds_of(const struct ctx *c, int i)
{
    const struct ms__obsrec *rec = c->r[i].rec;
    return rec && rec->needs ? rec->nneeds : 0;
}

static size_t ninflight_of(const struct ctx *c, int i)
{
    const struct ms__obsrec *rec = c->r[i].rec;
    return rec && rec->inflight ? rec->ninflight : 0;
}

static int inflight_counts(const struct ms__counter *m)
{
    return m->dir == 1 && m->count > 0;
}

/* ------------------------------------------------------- communicators */

static int member_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;

    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* The members of every communicator: the ranks that list its id. */
static int build_comms(struct ctx *c)
{
    size_t total = 0, n = 0, k;
    int i;

    for (i = 0; i < c->n; i++)
        if (c->r[i].comms)
            total += c->r[i].ncomms;
    c->members = malloc((total ? total : 1) * sizeof *c->members);
    c->comms = malloc((total ? total : 1) * sizeof *c->comms);
    if (!c->members || !c->comms)
        return MPISNAP_ENOMEM;
    for (i = 0; i < c->n; i++)
        for (k = 0; c->r[i].comms && k < c->r[i].ncomms; k++)
            c->members[n++] =
                (struct member){c->r[i].comms[k].id, i, c->r[i].comms[k].ncoll};
    qsort(c->members, n, sizeof *c->members, member_cmp);
    /* A rank listing one communicator twice is one member. */
    total = n;
    for (n = 0, k = 0; k < total; k++)
        if (n == 0 || member_cmp(&c->members[n - 1], &c->members[k]) != 0)
            c->members[n++] = c->members[k];
    c->ncomms = 0;
    for (k = 0; k < n; k++) {
        if (k == 0 || c->members[k].id != c->members[k - 1].id)
            c->comms[c->ncomms++] = (struct comm){c->members[k].id, k, 0};
        c->comms[c->ncomms - 1].n++;
    }
    return 0;
}

static int32_t find_comm(const struct ctx *c, uint64_t id)
{
    size_t lo = 0, hi = c->ncomms;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->comms[mid].id == id)
            return (int32_t)mid;
        if (c->comms[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---------------------------------------------------------------- rule 1 */

/* Would a message on (comm, src, tag) match need nd? */
static int recv_matches(const struct ms__need *nd, uint64_t comm, int32_t src,
                        int32_t tag)
{
    return nd->kind == MS_NEED_RECV && nd->comm_id == comm &&
           (nd->peer == -1 || nd->peer == src) &&
           (nd->tag == ANY_TAG || nd->tag == tag);
}

/* Would a message on in-flight entry m match posted receive q? */
static int post_matches(const struct ms__vpost *q, const struct ms__counter *m)
{
    return inflight_counts(m) && q->comm_id == m->comm_id &&
           (q->peer == -1 || q->peer == m->peer) &&
           (q->tag == ANY_TAG || q->tag == m->tag);
}

#define LOOKAHEAD 64 /* later receives a wildcard one looks at (rule 0) */

/* Does a receive in q[0 .. n) match m? */
static int later_wants(const struct ms__vpost *q, size_t n,
                       const struct ms__counter *m)
{
    for (size_t k = 0; k < n && k < LOOKAHEAD; k++)
        if (post_matches(&q[k], m))
            return 1;
    return 0;
}

/* Rank i's posted receives: as reported, or its RECV needs (a record that
 * reports none: its call's receives are all it has posted).  *own is
 * malloc'd for the latter; NULL return with *np > 0: out of memory. */
static const struct ms__vpost *posted_of(const struct ctx *c, int i, size_t *np,
                                         struct ms__vpost **own)
{
    size_t k, n = nneeds_of(c, i);

    *own = NULL;
    if (c->r[i].posted) {
        *np = c->r[i].nposted;
        return c->r[i].posted;
    }
    for (*np = 0, k = 0; k < n; k++)
        *np += c->r[i].rec->needs[k].kind == MS_NEED_RECV;
    if (*np == 0 || !(*own = malloc(*np * sizeof **own)))
        return *own;
    for (*np = 0, k = 0; k < n; k++) {
        const struct ms__need *nd = &c->r[i].rec->needs[k];
        if (nd->kind == MS_NEED_RECV)
            (*own)[(*np)++] = (struct ms__vpost){nd->comm_id, nd->peer, nd->tag,
                                                 (int32_t)k, 0};
    }
    return *own;
}

/* Rule 0 for rank i's receives: rem[] of its in-flight entries, and
 * needmsg[] of its RECV needs. */
static int match_receives(struct ctx *c, int i)
{
    const struct ms__counter *m =
        ninflight_of(c, i) ? c->r[i].rec->inflight : NULL;
    size_t nin = ninflight_of(c, i), nn = nneeds_of(c, i), np, q, e, k;
    uint64_t *rem = c->rem + c->infoff[i];
    unsigned char *msg = c->needmsg + c->needoff[i];
    struct ms__vpost *own;
    const struct ms__vpost *p = posted_of(c, i, &np, &own);

    if (!p && np > 0)
        return MPISNAP_ENOMEM;
    for (e = 0; e < nin; e++)
        rem[e] = inflight_counts(&m[e]) ? m[e].count : 0;
    /* msg: 2 for a need that is a posted receive, 1 once it has a message. */
    for (q = 0; q < np; q++)
        if (p[q].need >= 0 && (size_t)p[q].need < nn &&
            c->r[i].rec->needs[p[q].need].kind == MS_NEED_RECV)
            msg[p[q].need] = 2;
    for (q = 0; q < np; q++) {
        size_t take = nin;
        int wild = p[q].peer == -1 || p[q].tag == ANY_TAG;
        for (e = 0; e < nin; e++) {
            if (!rem[e] || !post_matches(&p[q], &m[e]))
                continue;
            if (take == nin)
                take = e;
            if (!wild || !later_wants(p + q + 1, np - q - 1, &m[e])) {
                take = e;
                break;
            }
        }
        if (take == nin)
            continue;
        rem[take]--;
        if (p[q].need >= 0 && (size_t)p[q].need < nn && msg[p[q].need] == 2)
            msg[p[q].need] = 1;
    }
    free(own);
    /* Needs that are no posted receive (a probe) see what is left. */
    for (k = 0; k < nn; k++) {
        const struct ms__need *nd = &c->r[i].rec->needs[k];
        if (nd->kind != MS_NEED_RECV || msg[k]) {
            msg[k] = msg[k] == 1;
            continue;
        }
        for (e = 0; e < nin && !msg[k]; e++)
            msg[k] = rem[e] > 0 &&
                     recv_matches(nd, m[e].comm_id, m[e].peer, m[e].tag);
    }
    return 0;
}

/* Has rank p posted a receive that a message of `from` on (comm, tag)
 * matches? */
static int posted_matches(const struct ctx *c, int p, int from, uint64_t comm,
                          int32_t tag)
{
    const struct ms__counter m = {comm, from, tag, 1, 1};
    size_t q, n = nneeds_of(c, p);

    if (c->r[p].posted) {
        for (q = 0; q < c->r[p].nposted; q++)
            if (post_matches(&c->r[p].posted[q], &m))
                return 1;
        return 0;
    }
    for (q = 0; q < n; q++)
        if (recv_matches(&c->r[p].rec->needs[q], comm, from, tag))
            return 1;
    return 0;
}

/* Rule 0 for rank j's sends (after every rank's receives): needmsg[]. */
static void match_sends(struct ctx *c, int j)
{
    const struct ms__need *nd = nneeds_of(c, j) ? c->r[j].rec->needs : NULL;
    size_t k, q, e, n = nneeds_of(c, j);

    for (k = 0; k < n; k++) {
        size_t t = 0, ns = 0, nin;
        const struct ms__counter *m;
        int p = nd[k].peer;

        if (nd[k].kind != MS_NEED_SEND || p < 0 || p >= c->n)
            continue;
        /* This send is number t of the ns this rank has pending on the
         * stream, in the order of its needs. */
        for (q = 0; q < n; q++)
            if (nd[q].kind == MS_NEED_SEND && nd[q].peer == p &&
                nd[q].comm_id == nd[k].comm_id && nd[q].tag == nd[k].tag) {
                t += q < k;
                ns++;
            }
        nin = ninflight_of(c, p);
        m = nin ? c->r[p].rec->inflight : NULL;
        for (e = 0; e < nin; e++)
            if (inflight_counts(&m[e]) && m[e].comm_id == nd[k].comm_id &&
                m[e].peer == j && m[e].tag == nd[k].tag)
                break;
        if (e < nin) {
            uint64_t left = c->rem[c->infoff[p] + e];
            c->needmsg[c->needoff[j] + k] = left < ns && t < ns - left;
        } else {
            /* Not counted in flight (a record without counts): a receive
             * that matches it is enough. */
            c->needmsg[c->needoff[j] + k] =
                posted_matches(c, p, j, nd[k].comm_id, nd[k].tag);
        }
    }
}

static int need_ok(const struct ctx *c, int i, size_t k)
{
    const struct ms__need *nd = &c->r[i].rec->needs[k];
    int32_t ci = c->needcomm[c->needoff[i] + k];
    const struct comm *cm;
    size_t j;

    if (ci < 0)
        return 0;
    cm = &c->comms[ci];
    switch (nd->kind) {
    case MS_NEED_RECV:
        if (nd->peer < -1 || nd->peer >= c->n)
            return 0;
        if (c->needmsg[c->needoff[i] + k])
            return 1;
        if (nd->peer >= 0)
            return c->can[nd->peer];
        for (j = 0; j < cm->n; j++) {
            int m = c->members[cm->first + j].rank;
            if (m != i && c->can[m])
                return 1;
        }
        return 0;
    case MS_NEED_SEND:
        if (nd->peer < 0 || nd->peer >= c->n)
            return 0;
        return c->can[nd->peer] || c->needmsg[c->needoff[i] + k];
    case MS_NEED_COLL:
        for (j = 0; j < cm->n; j++) {
            const struct member *m = &c->members[cm->first + j];
            if (m->rank != i && m->ncoll < nd->ncoll && !c->can[m->rank])
                return 0;
        }
        return 1;
    }
    return 0;
}

static int rank_ok(const struct ctx *c, int i)
{
    size_t k, n = nneeds_of(c, i);
    int any = c->r[i].rec->mode == 1;

    for (k = 0; k < n; k++)
        if (need_ok(c, i, k) == any)
            return any;
    return !any;
}

/* can[] to its fixpoint.  Passes alternate direction so that a chain of
 * waits resolves in few passes whichever way it points. */
static void fixpoint(struct ctx *c)
{
    int i, s, changed, pass = 0;

    for (i = 0; i < c->n; i++)
        c->can[i] = nneeds_of(c, i) == 0;
    do {
        changed = 0;
        for (s = 0; s < c->n; s++) {
            i = pass & 1 ? c->n - 1 - s : s;
            if (!c->can[i] && rank_ok(c, i)) {
                c->can[i] = 1;
                changed = 1;
            }
        }
        pass++;
    } while (changed);
    for (i = 0; i < c->n; i++)
        for (size_t k = 0; k < nneeds_of(c, i); k++)
            c->needok[c->needoff[i] + k] = c->can[i] || need_ok(c, i, k);
}

/* ------------------------------------------------------ rules 3, 4, 6, 7 */

/* The next stuck rank that stuck rank i waits for, or -1.  Wildcard edges
 * (a receive from any rank) only when `all` is set. */
static int next_edge(const struct ctx *c, int i, struct cursor *cur, int all)
{
    size_t n = nneeds_of(c, i);

    for (; cur->k < n; cur->k++, cur->j = 0) {
        size_t f = c->needoff[i] + cur->k;
        const struct ms__need *nd = &c->r[i].rec->needs[cur->k];
        const struct comm *cm;

        if (c->needok[f])
            continue;
        if (nd->kind == MS_NEED_SEND ||
            (nd->kind == MS_NEED_RECV && nd->peer != -1)) {
            if (cur->j++ == 0 && nd->peer >= 0 && nd->peer < c->n &&
                !c->can[nd->peer])
                return nd->peer;
            continue;
        }
        if (c->needcomm[f] < 0 || (nd->kind == MS_NEED_RECV && !all) ||
            (nd->kind != MS_NEED_RECV && nd->kind != MS_NEED_COLL))
            continue;
        cm = &c->comms[c->needcomm[f]];
        while (cur->j < cm->n) {
            const struct member *m = &c->members[cm->first + cur->j++];
            if (m->rank == i || c->can[m->rank] ||
                (nd->kind == MS_NEED_COLL && m->ncoll >= nd->ncoll))
                continue;
            return m->rank;
        }
    }
    return -1;
}

/* The shortest cycle through the lowest stuck rank that lies on a cycle,
 * into *cycle (*ncycle 0: there is none). */
static int find_cycle(const struct ctx *c, int all, int32_t **cycle,
                      size_t *ncycle)
{
    int n = c->n, i, top, sp, nidx = 0, ncomp = 0, s = -1, found = -1;
    int32_t *idx = malloc(n * sizeof *idx), *low = malloc(n * sizeof *low);
    int32_t *stk = malloc(n * sizeof *stk), *cs = malloc(n * sizeof *cs);
    int32_t *comp = malloc(n * sizeof *comp);
    unsigned char *flags = calloc(n, 1); /* 1 on stack, 2 self loop,
                                            4 on a cycle */
    struct cursor *cur = malloc(n * sizeof *cur);
    int rc = MPISNAP_ENOMEM;

    *cycle = NULL;
    *ncycle = 0;
    if (!idx || !low || !stk || !cs || !comp || !flags || !cur)
        goto out;
    for (i = 0; i < n; i++)
        idx[i] = -1;
    /* Tarjan, iteratively: cs is the call stack, stk the component stack. */
    for (i = 0; i < n; i++) {
        if (c->can[i] || idx[i] >= 0)
            continue;
        top = sp = 0;
        idx[i] = low[i] = nidx++;
        stk[sp++] = i;
        flags[i] |= 1;
        cur[i] = (struct cursor){0, 0};
        cs[top++] = i;
        while (top > 0) {
            int v = cs[top - 1], w = next_edge(c, v, &cur[v], all);

            if (w == v) {
                flags[v] |= 2;
            } else if (w >= 0 && idx[w] < 0) {
                idx[w] = low[w] = nidx++;
                stk[sp++] = w;
                flags[w] |= 1;
                cur[w] = (struct cursor){0, 0};
                cs[top++] = w;
            } else if (w >= 0) {
                if ((flags[w] & 1) && idx[w] < low[v])
                    low[v] = idx[w];
            } else {
                top--;
                if (top > 0 && low[v] < low[cs[top - 1]])
                    low[cs[top - 1]] = low[v];
                if (low[v] == idx[v]) {
                    int first = sp, size;
                    do
                        first--;
                    while (stk[first] != v);
                    size = sp - first;
                    for (; sp > first; sp--) {
                        int u = stk[sp - 1];
                        flags[u] &= (unsigned char)~1;
                        comp[u] = ncomp;
                        if (size > 1 || (flags[u] & 2))
                            flags[u] |= 4;
                    }
                    ncomp++;
                }
            }
        }
    }
    for (i = 0; i < n && s < 0; i++)
        if (!c->can[i] && (flags[i] & 4))
            s = i;
    rc = 0;
    if (s < 0)
        goto out;
    if (flags[s] & 2) {
        found = s;
        cs[s] = s;
    } else {
        /* Breadth first from s inside its component, until an edge leads
         * back to s; cs[] holds each rank's predecessor, stk[] the queue. */
        int head = 0, tail = 0;
        for (i = 0; i < n; i++)
            cs[i] = -1;
        cs[s] = s;
        stk[tail++] = s;
        while (head < tail && found < 0) {
            int u = stk[head++], w;
            struct cursor e = {0, 0};
            while ((w = next_edge(c, u, &e, all)) >= 0) {
                if (w == s) {
                    found = u;
                    break;
                }
                if (comp[w] == comp[s] && cs[w] < 0) {
                    cs[w] = u;
                    stk[tail++] = w;
                }
            }
        }
    }
    if (found < 0) /* cannot happen: s is on a cycle */
        goto out;
    for (*ncycle = 1, i = found; i != s; i = cs[i])
        ++*ncycle;
    *cycle = malloc(*ncycle * sizeof **cycle);
    if (!*cycle) {
        *ncycle = 0;
        rc = MPISNAP_ENOMEM;
        goto out;
    }
    for (size_t k = *ncycle, u = (size_t)found; k > 0; u = (size_t)cs[u])
        (*cycle)[--k] = (int32_t)u;
out:
    free(idx);
    free(low);
    free(stk);
    free(cs);
    free(comp);
    free(flags);
    free(cur);
    return rc;
}

/* ------------------------------------------------------------------ text */

struct sb {
    char *p;
    size_t len, cap;
    int oom;
};

static __attribute__((format(printf, 2, 3))) void
sb_printf(struct sb *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt,
                  ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (!b->p || b->len + (size_t)n >= b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* strlen of a fixed-size field that may fill it (strnlen is POSIX). */
static size_t bounded_len(const char *s, size_t n)
{
    const char *e = memchr(s, '\0', n);

    return e ? (size_t)(e - s) : n;
}

/* The name rank i gives communicator id. */
static void comm_name(const struct ctx *c, int i, uint64_t id, char *out,
                      size_t n)
{
    const struct ms__vrank *r = &c->r[i];

    for (size_t k = 0; r->comms && k < r->ncomms; k++)
        if (r->comms[k].id == id && r->comms[k].name[0]) {
            snprintf(
                out, n, "%.*s",
                (int)bounded_len(r->comms[k].name, sizeof r->comms[k].name),
                r->comms[k].name);
            return;
        }
    snprintf(out, n, "comm %" PRIx64, id);
}

static void tag_text(int32_t tag, char *out, size_t n)
{
    if (tag == ANY_TAG)
        snprintf(out, n, "any tag");
    else
        snprintf(out, n, "tag %" PRId32, tag);
}

static void describe_need(struct sb *b, const struct ctx *c, int i,
                          const struct ms__need *nd)
{
    char cn[48], tg[24];
    size_t j, nwait = 0, shown = 0;
    const struct comm *cm;
    int32_t ci;

    comm_name(c, i, nd->comm_id, cn, sizeof cn);
    tag_text(nd->tag, tg, sizeof tg);
    switch (nd->kind) {
    case MS_NEED_RECV:
        if (nd->peer == -1)
            sb_printf(b, "for any rank (%s, %s)", tg, cn);
        else
            sb_printf(b, "for rank %" PRId32 " (%s, %s)", nd->peer, tg, cn);
        return;
    case MS_NEED_SEND:
        sb_printf(b, "for rank %" PRId32 " to receive (%s, %s)", nd->peer, tg,
                  cn);
        return;
    case MS_NEED_COLL:
        break;
    default:
        sb_printf(b, "for something unknown (need kind %" PRId32 ")", nd->kind);
        return;
    }
    /* The members that have not started this collective. */
    ci = find_comm(c, nd->comm_id);
    cm = ci >= 0 ? &c->comms[ci] : NULL;
    for (j = 0; cm && j < cm->n; j++) {
        const struct member *m = &c->members[cm->first + j];
        nwait += m->rank != i && m->ncoll < nd->ncoll;
    }
    sb_printf(b, "on %s", cn);
    if (nwait == 1)
        sb_printf(b, " for rank ");
    else if (nwait > 1 && nwait <= MAX_MEMBERS)
        sb_printf(b, " for ranks ");
    else if (nwait > MAX_MEMBERS)
        sb_printf(b, " for %zu ranks: ", nwait);
    for (j = 0; cm && j < cm->n && shown < nwait; j++) {
        const struct member *m = &c->members[cm->first + j];
        if (m->rank == i || m->ncoll >= nd->ncoll)
            continue;
        if (shown == MAX_MEMBERS) {
            sb_printf(b, ", ...");
            break;
        }
        sb_printf(b, "%s%" PRId32, shown ? ", " : "", m->rank);
        shown++;
    }
    sb_printf(b, " (collective #%" PRIu64 ")", nd->ncoll);
}

static void call_name(const struct ms__obsrec *rec, char *out, size_t n)
{
    size_t len = bounded_len(rec->call, sizeof rec->call);

    snprintf(out, n, "%.*s", (int)len, len ? rec->call : "an MPI call");
}

/* "  rank 0 waits in MPI_Recv for rank 1 (tag 5, MPI_COMM_WORLD) for
 * 2.0 s", the needs it cannot meet only, and the in-flight messages to it
 * that its call does not match, or that earlier receives take (rule 0). */
static void describe_rank(struct sb *b, const struct ctx *c, int i)
{
    const struct ms__obsrec *rec = c->r[i].rec;
    size_t k, n = nneeds_of(c, i), unmet = 0, shown = 0;
    char call[40];

    call_name(rec, call, sizeof call);
    sb_printf(b, "  rank %d waits in %s ", i, call);
    for (k = 0; k < n; k++)
        unmet += !c->needok[c->needoff[i] + k];
    for (k = 0; k < n && shown < MAX_NEEDS; k++) {
        if (c->needok[c->needoff[i] + k])
            continue;
        if (shown)
            sb_printf(b, "; ");
        describe_need(b, c, i, &rec->needs[k]);
        shown++;
    }
    if (unmet > shown)
        sb_printf(b, "; and %zu more", unmet - shown);
    sb_printf(b, " for %.1f s\n", rec->waited);

    shown = 0;
    n = ninflight_of(c, i);
    for (k = 0; k < n; k++) {
        const struct ms__counter *m = &rec->inflight[k];
        char cn[48], tg[24];
        size_t q;

        uint64_t taken;

        if (!inflight_counts(m))
            continue;
        for (q = 0; q < nneeds_of(c, i); q++)
            if (recv_matches(&rec->needs[q], m->comm_id, m->peer, m->tag))
                break;
        /* Matched by a receive it waits for, but MPI gives them to
         * receives posted before it. */
        taken = m->count - c->rem[c->infoff[i] + k];
        if (q < nneeds_of(c, i) && !c->needok[c->needoff[i] + q] && taken) {
            if (shown++ == MAX_STREAMS) {
                sb_printf(b, "    ... and more messages in flight to it\n");
                break;
            }
            comm_name(c, i, m->comm_id, cn, sizeof cn);
            tag_text(m->tag, tg, sizeof tg);
            sb_printf(b,
                      "    taken by earlier receives: %" PRIu64
                      " message%s from rank %" PRId32 " (%s, %s)\n",
                      taken, taken == 1 ? "" : "s", m->peer, tg, cn);
            continue;
        }
        if (q < nneeds_of(c, i))
            continue;
        if (shown++ == MAX_STREAMS) {
            sb_printf(b, "    ... and more messages in flight to it\n");
            break;
        }
        comm_name(c, i, m->comm_id, cn, sizeof cn);
        tag_text(m->tag, tg, sizeof tg);
        sb_printf(b,
                  "    unmatched in flight to it: %" PRIu64
                  " message%s from rank %" PRId32 " (%s, %s)\n",
                  m->count, m->count == 1 ? "" : "s", m->peer, tg, cn);
    }
}

/* "  3 messages in flight to stuck ranks, none of them matched by a waiting
 * call". */
static void describe_inflight(struct sb *b, const struct ctx *c)
{
    uint64_t total = 0, unmatched = 0;

    for (int i = 0; i < c->n; i++) {
        size_t k, q, n = ninflight_of(c, i);
        if (c->can[i])
            continue;
        for (k = 0; k < n; k++) {
            const struct ms__counter *m = &c->r[i].rec->inflight[k];
            if (!inflight_counts(m))
                continue;
            total += m->count;
            for (q = 0; q < nneeds_of(c, i); q++)
                if (recv_matches(&c->r[i].rec->needs[q], m->comm_id, m->peer,
                                 m->tag))
                    break;
            if (q == nneeds_of(c, i))
                unmatched += m->count;
        }
    }
    if (unmatched == 0) /* matched by calls stuck on something else */
        return;
    if (unmatched == total)
        sb_printf(b,
                  "  %" PRIu64 " message%s in flight to stuck ranks, none "
                  "of them matched by a waiting call\n",
                  total, total == 1 ? "" : "s");
    else
        sb_printf(b,
                  "  %" PRIu64 " message%s in flight to stuck ranks, %" PRIu64
                  " of them not matched by any waiting call\n",
                  total, total == 1 ? "" : "s", unmatched);
}

/* "0 -> 1 -> 2", long ones shortened. */
static void rank_path(struct sb *b, const int32_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (n > 12 && k == 8) {
            sb_printf(b, " -> ...");
            k = n - 4;
        }
        sb_printf(b, "%s%" PRId32, k ? " -> " : "", p[k]);
    }
}

static void text_deadlock(struct sb *b, const struct ctx *c,
                          const struct ms__verdict *v)
{
    size_t k, nother = v->nstuck - v->ncycle, shown = 0;

    if (v->ncycle == 1) {
        sb_printf(b,
                  "deadlock: rank %" PRId32 " waits for itself and no "
                  "message in flight can release it\n",
                  v->cycle[0]);
    } else {
        sb_printf(b, "deadlock: ranks ");
        rank_path(b, v->cycle, v->ncycle);
        sb_printf(b, " -> %" PRId32, v->cycle[0]);
        if (v->ncycle > 12)
            sb_printf(b, " (a cycle of %zu ranks)", v->ncycle);
        sb_printf(b, " wait for each other and no message in flight can "
                     "break the cycle\n");
    }
    for (k = 0; k < v->ncycle && k < MAX_LINES; k++)
        describe_rank(b, c, v->cycle[k]);
    if (v->ncycle > MAX_LINES)
        sb_printf(b, "  ... and %zu more ranks in the cycle\n",
                  v->ncycle - MAX_LINES);
    if (nother > 0) {
        sb_printf(b, "  %zu more rank%s cannot progress either: ", nother,
                  nother == 1 ? "" : "s");
        for (k = 0; k < v->nstuck && shown <= MAX_LINES; k++) {
            int on = 0;
            for (size_t q = 0; q < v->ncycle && !on; q++)
                on = v->cycle[q] == v->stuck[k];
            if (on)
                continue;
            if (shown++ == MAX_LINES)
                sb_printf(b, ", ...");
            else
                sb_printf(b, "%s%" PRId32, shown > 1 ? ", " : "", v->stuck[k]);
        }
        sb_printf(b, "\n");
    }
    describe_inflight(b, c);
}

/* Rule 7: no cycle.  Follow the lowest stuck rank's waits to a rank that
 * waits for no stuck rank. */
static int text_chain(struct sb *b, const struct ctx *c,
                      const struct ms__verdict *v)
{
    int32_t *chain = malloc(v->nstuck * sizeof *chain);
    size_t n = 0, k;

    if (!chain)
        return MPISNAP_ENOMEM;
    chain[n++] = v->stuck[0];
    while (n < v->nstuck) {
        struct cursor e = {0, 0};
        int w = next_edge(c, chain[n - 1], &e, 1);
        if (w < 0)
            break;
        chain[n++] = w;
    }
    if (n == 1) {
        sb_printf(b,
                  "deadlock: rank %" PRId32 " waits for something no rank "
                  "can provide\n",
                  chain[0]);
    } else {
        sb_printf(b, "deadlock: ranks ");
        rank_path(b, chain, n);
        sb_printf(b,
                  " wait in a chain, and rank %" PRId32 " waits for "
                  "something no rank can provide\n",
                  chain[n - 1]);
    }
    free(chain);
    for (k = 0; k < v->nstuck && k < MAX_LINES; k++)
        describe_rank(b, c, v->stuck[k]);
    if (v->nstuck > MAX_LINES)
        sb_printf(b, "  ... and %zu more stuck ranks\n", v->nstuck - MAX_LINES);
    describe_inflight(b, c);
    return 0;
}

static void text_quiescent(struct sb *b, const struct ctx *c)
{
    int i;

    sb_printf(b, "quiescent: every rank waits in a receive and no message is "
                 "in flight: the job can never progress\n");
    for (i = 0; i < c->n && i < MAX_LINES; i++)
        describe_rank(b, c, i);
    if (c->n > MAX_LINES)
        sb_printf(b, "  ... and %d more ranks\n", c->n - MAX_LINES);
}

/* ---------------------------------------------------------------- decide */

/* Rule 5's condition (every rank is stuck: checked by the caller). */
static int all_recv_nothing_in_flight(const struct ctx *c)
{
    for (int i = 0; i < c->n; i++) {
        size_t k;
        for (k = 0; k < nneeds_of(c, i); k++)
            if (c->r[i].rec->needs[k].kind != MS_NEED_RECV)
                return 0;
        for (k = 0; k < ninflight_of(c, i); k++)
            if (inflight_counts(&c->r[i].rec->inflight[k]))
                return 0;
    }
    return 1;
}

int ms__verdict_decide(int nranks, const struct ms__vrank *r,
                       struct ms__verdict *v)
{
    struct ctx c = {0};
    struct sb b = {0};
    size_t total = 0, k;
    int i, rc = MPISNAP_ENOMEM, computing = 0;

    memset(v, 0, sizeof *v);
    c.n = r && nranks > 0 ? nranks : 0;
    c.r = r;
    c.can = calloc(c.n ? c.n : 1, 1);
    c.needoff = malloc((c.n + 1) * sizeof *c.needoff);
    if (!c.can || !c.needoff || build_comms(&c) != 0)
        goto out;
    for (i = 0; i < c.n; i++) {
        c.needoff[i] = total;
        total += nneeds_of(&c, i);
    }
    c.needoff[c.n] = total;
    c.needcomm = malloc((total ? total : 1) * sizeof *c.needcomm);
    c.needok = malloc(total ? total : 1);
    c.needmsg = calloc(total ? total : 1, 1);
    c.infoff = malloc((c.n + 1) * sizeof *c.infoff);
    if (!c.needcomm || !c.needok || !c.needmsg || !c.infoff)
        goto out;
    for (total = 0, i = 0; i < c.n; i++) {
        c.infoff[i] = total;
        total += ninflight_of(&c, i);
    }
    c.infoff[c.n] = total;
    if (!(c.rem = malloc((total ? total : 1) * sizeof *c.rem)))
        goto out;
    for (i = 0; i < c.n; i++)
        for (k = 0; k < nneeds_of(&c, i); k++)
            c.needcomm[c.needoff[i] + k] =
                find_comm(&c, r[i].rec->needs[k].comm_id);

    for (i = 0; i < c.n; i++)
        if (match_receives(&c, i) != 0)
            goto out;
    for (i = 0; i < c.n; i++)
        match_sends(&c, i);
    fixpoint(&c);
    for (i = 0; i < c.n; i++) {
        v->nstuck += !c.can[i];
        computing += nneeds_of(&c, i) == 0;
    }
    if (v->nstuck == 0) {
        v->kind = MS_V_PROGRESSING;
        sb_printf(&b,
                  "progressing: %d of %d ranks computing, %d blocked in MPI "
                  "calls that can still complete\n",
                  computing, c.n, c.n - computing);
        goto text;
    }
    v->stuck = malloc(v->nstuck * sizeof *v->stuck);
    if (!v->stuck)
        goto out;
    for (k = 0, i = 0; i < c.n; i++)
        if (!c.can[i])
            v->stuck[k++] = i;

    v->kind = MS_V_DEADLOCK;
    if ((rc = find_cycle(&c, 0, &v->cycle, &v->ncycle)) != 0)
        goto out;
    if (v->ncycle == 0 && v->nstuck == (size_t)c.n &&
        all_recv_nothing_in_flight(&c)) {
        v->kind = MS_V_QUIESCENT;
        text_quiescent(&b, &c);
        goto text;
    }
    if (v->ncycle == 0 && (rc = find_cycle(&c, 1, &v->cycle, &v->ncycle)))
        goto out;
    if (v->ncycle > 0)
        text_deadlock(&b, &c, v);
    else if ((rc = text_chain(&b, &c, v)) != 0)
        goto out;
text:
    rc = MPISNAP_ENOMEM;
    if (b.oom)
        goto out;
    v->text = b.p;
    b.p = NULL;
    rc = 0;
out:
    free(b.p);
    free(c.members);
    free(c.comms);
    free(c.needoff);
    free(c.needcomm);
    free(c.needok);
    free(c.needmsg);
    free(c.infoff);
    free(c.rem);
    free(c.can);
    if (rc != 0)
        ms__verdict_free(v);
    return rc;
}

void ms__verdict_free(struct ms__verdict *v)
{
    if (!v)
        return;
    free(v->cycle);
    free(v->stuck);
    free(v->text);
    memset(v, 0, sizeof *v);
}

const char *ms__verdict_name(int kind)
{
    switch (kind) {
    case MS_V_PROGRESSING:
        return "progressing";
    case MS_V_DEADLOCK:
        return "deadlock";
    case MS_V_QUIESCENT:
        return "quiescent";
    }
    return "unknown";
}
