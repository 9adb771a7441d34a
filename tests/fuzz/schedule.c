/* The schedule: a pure function of (seed, step), the same on every rank.
 *
 * Deadlock freedom, per step, on each rank (fuzz.c runs the phases):
 *   A  post the pre-posted receives (nonblocking), send the handshakes of
 *      ready sends (nonblocking), start nonblocking collectives
 *   B  send this step's messages in plan order; blocking calls here are
 *      MPI_Send/Bsend (eager or buffered: local), MPI_Ssend/Rsend only to
 *      a receive the peer pre-posted in its phase A (so they match once
 *      the peer has reached this step), and the handshake receive that
 *      precedes an Rsend (sent in the peer's phase A)
 *   C  blocking receives of the messages due now: each was sent in phase B
 *      of this step or of an earlier one
 *   D  complete every request of the step: pre-posted receives (their
 *      messages were sent in some phase B), sends (eager, buffered, or
 *      delay-0 sends received in the peer's phase C or A)
 *   E  at most one blocking collective; free communicators
 * So every rank that reaches step s finishes it, once all ranks reach it.
 * Nothing is pending at the safe point between two steps; messages with a
 * delay > 0 (eager or buffered sends) cross it, in flight.
 *
 * Matching is deterministic: on a communicator all messages have the same
 * delay, so those due at one step were all sent at one step; named and
 * ANY_TAG receives take the oldest unmatched message of their stream or
 * source, which is the planned one because each group's receive order
 * keeps stream order (ANY_TAG: source order); ANY_SOURCE receives use a
 * tag of their send step and are anonymous (any message of the group). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FEATURE_NAME(id, name, def, what) name,
const char *const feature_names[NFEAT] = {FEATURES(FEATURE_NAME)};
#undef FEATURE_NAME
#define FEATURE_DEF(id, name, def, what) def,
const int feature_default[NFEAT] = {FEATURES(FEATURE_DEF)};
#undef FEATURE_DEF
#define FEATURE_WHAT(id, name, def, what) what,
const char *const feature_what[NFEAT] = {FEATURES(FEATURE_WHAT)};
#undef FEATURE_WHAT

uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t hash3(uint64_t a, uint64_t b, uint64_t c)
{
    return mix64(mix64(mix64(a) ^ b) ^ c);
}

/* A small PRNG over a hashed state */
struct rng {
    uint64_t s;
};
static uint64_t next(struct rng *r)
{
    r->s = mix64(r->s);
    return r->s;
}
static int below(struct rng *r, int n)
{
    return n <= 1 ? 0 : (int)(next(r) % (uint64_t)n);
}
static int chance(struct rng *r, int num, int den)
{
    return below(r, den) < num;
}

/* ------------------------------------------------------------ comms */

static void layout(const struct cfg *c, struct gen *g, struct rng *r)
{
    int n = c->nranks, any = 0;

    for (int i = 0; i < n; i++) {
        g->key[i] = i;
        g->col[i] = 0;
    }
    switch (g->kind) {
    case K_SPLIT: {
        int ncol = 1 + below(r, 3);
        for (int i = 0; i < n; i++) {
            g->col[i] = chance(r, 1, 6) ? -1 : below(r, ncol);
            g->key[i] = below(r, 3);
        }
        break;
    }
    case K_CREATE:
    case K_CGROUP:
        for (int i = 0; i < n; i++) {
            g->col[i] = chance(r, 3, 4) ? 0 : -1;
            g->key[i] = below(r, 1000);
            any |= g->col[i] == 0;
        }
        if (!any)
            g->col[below(r, n)] = 0;
        break;
    case K_DISJOINT:
        for (int i = 0; i < n; i++)
            g->col[i] = i % 2 == 0 ? 0 : below(r, 2);
        break;
    default:
        break;
    }
}

void plan_comms(struct cfg *c)
{
    struct rng r = {hash3(c->seed, 0x636f6d6d73ULL, 0)};
    int kinds[8], nk = 0;

    if (c->feat[F_DUP])
        kinds[nk++] = K_DUP;
    if (c->feat[F_SPLIT])
        kinds[nk++] = K_SPLIT;
    if (c->feat[F_CREATE])
        kinds[nk++] = K_CREATE;
    if (c->feat[F_CGROUP])
        kinds[nk++] = K_CGROUP;
    if (c->feat[F_DISJOINT])
        kinds[nk++] = K_DISJOINT;

    memset(c->ngen, 0, sizeof c->ngen);
    for (int s = 0; s < SLOT_DYN; s++) {
        struct gen *g = &c->gens[s][0];
        memset(g, 0, sizeof *g);
        g->slot = s;
        g->born = 0;
        g->dies = c->nsteps; /* never freed */
        g->kind = s == SLOT_WORLD ? K_WORLD : K_BASE;
        g->delay = below(&r, MAXDELAY + 1);
        layout(c, g, &r);
        c->ngen[s] = 1;
    }
    for (int s = SLOT_DYN; s < NSLOT && nk > 0; s++) {
        int t = below(&r, 4);
        while (t < c->nsteps && c->ngen[s] < MAXGEN) {
            struct gen *g = &c->gens[s][c->ngen[s]];
            int len = chance(&r, 1, 3) ? 1 : 1 + below(&r, 8);

            memset(g, 0, sizeof *g);
            g->slot = s;
            g->born = t;
            g->dies = t + len - 1 < c->nsteps - 1 ? t + len - 1 : c->nsteps - 1;
            g->kind = kinds[below(&r, nk)];
            g->parent = below(&r, 2);
            g->local = g->born == g->dies;
            g->delay = below(&r, len < MAXDELAY + 1 ? len : MAXDELAY + 1);
            g->cgtag = 100 + s * 1000 + c->ngen[s] % 1000;
            layout(c, g, &r);
            c->ngen[s]++;
            t = g->dies + 1 + below(&r, 3);
        }
    }

    /* Snapshot requests: at random steps, none in the last MARGIN. */
    c->nrequests = c->nrequests > 64 ? 64 : c->nrequests;
    for (int i = 0; i < c->nrequests; i++)
        c->req_steps[i] =
            c->nsteps > MARGIN + 1 ? 1 + below(&r, c->nsteps - MARGIN) : -1;
}

const struct gen *gen_at(const struct cfg *c, int slot, int step)
{
    for (int i = 0; i < c->ngen[slot]; i++) {
        const struct gen *g = &c->gens[slot][i];
        if (g->born <= step && step <= g->dies)
            return g;
    }
    return NULL;
}

int members(const struct gen *g, int nranks, int color, int *wr)
{
    int n = 0;

    for (int i = 0; i < nranks; i++) {
        if (g->col[i] != color)
            continue;
        int j = n++;
        while (j > 0 && (g->key[wr[j - 1]] > g->key[i] ||
                         (g->key[wr[j - 1]] == g->key[i] && wr[j - 1] > i))) {
            wr[j] = wr[j - 1];
            j--;
        }
        wr[j] = i;
    }
    return n;
}

/* ------------------------------------------------------------ messages */

unsigned char payload_byte(const struct cfg *c, const struct msg *m, int i)
{
    uint64_t h = hash3(c->seed, ((uint64_t)m->step << 20) | (uint64_t)m->idx,
                       (uint64_t)(i / 8));
    return (unsigned char)(h >> (8 * (i % 8)));
}

/* Pick one of the enabled choices; `fallback` when none is. */
static int pick(struct rng *r, const int *ok, int n, int fallback)
{
    int cand[32], nc = 0;

    for (int i = 0; i < n; i++)
        if (ok[i])
            cand[nc++] = i;
    return nc ? cand[below(r, nc)] : fallback;
}

/* Send mode of m, given its receive (see the top of this file). */
static int send_mode(const struct cfg *c, struct rng *r, struct msg *m,
                     int delay)
{
    const int *f = c->feat;
    int small = m->size <= 1024, d0 = delay == 0;
    int ready = d0 && m->prepost && m->rpat <= P_ANYTAG;
    int ok[NSMODE] = {0};

    ok[S_SEND] = f[F_SEND] && small;
    ok[S_ISEND] = f[F_ISEND] && (small || d0);
    ok[S_SSEND] = f[F_SSEND] && ready;
    ok[S_ISSEND] = f[F_ISSEND] && d0;
    ok[S_BSEND] = f[F_BSEND];
    ok[S_IBSEND] = f[F_BSEND];
    ok[S_RSEND] = f[F_RSEND] && ready;
    ok[S_IRSEND] = f[F_RSEND] && ready;
    ok[S_PSEND] = f[F_PSEND] && (small || d0);
    ok[S_PBSEND] = f[F_PSEND] && f[F_BSEND];
    ok[S_PSSEND] = f[F_PSEND] && d0;
    ok[S_PRSEND] = f[F_PSEND] && f[F_RSEND] && ready;
    ok[S_DTSEND] = f[F_DTFREE] && (small || d0);
    int mode = pick(r, ok, NSMODE, -1);
    if (mode < 0) { /* nothing fits: a small MPI_Send */
        m->size = m->size > 1024 ? 1024 : m->size;
        mode = S_SEND;
    }
    return mode;
}

static int cmp_rpos(const void *a, const void *b)
{
    const struct msg *x = *(const struct msg *const *)a;
    const struct msg *y = *(const struct msg *const *)b;
    return x->rpos < y->rpos ? -1 : x->rpos > y->rpos;
}

/* The receive plan of one group: the messages of this step to one rank on
 * one communicator, in plan (= send) order. */
static void plan_group(const struct cfg *c, struct rng *r, struct msg **g,
                       int n, const struct gen *gen)
{
    const int *f = c->feat;
    int style, okst[4] = {1, f[F_ANYTAG], f[F_ANYSRC],
                          f[F_FULLWILD] && gen->local && gen->delay == 0};
    uint32_t keys[MAXMSG];
    int maxsize = 0;

    style = pick(r, okst, 4, P_NAMED);
    for (int i = 0; i < n; i++) {
        g[i]->rpat = style;
        if (style == P_ANYTAG && chance(r, 1, 2))
            g[i]->rpat = P_NAMED;
        if (style == P_ANYSRC && chance(r, 1, 2))
            g[i]->rpat = P_NAMED;
        if (g[i]->rpat == P_ANYSRC) {
            g[i]->tag = WTAG0 + g[i]->step % 8192;
            g[i]->tclass = 4;
        }
        maxsize = g[i]->size > maxsize ? g[i]->size : maxsize;
    }
    /* Random receive order keeping stream order: each key (stream, or
     * source for ANY_TAG) gets its random positions in send order. */
    for (int i = 0; i < n; i++)
        keys[i] = (uint32_t)next(r);
    for (int i = 0; i < n; i++) {
        if (g[i]->rpat >= P_ANYSRC)
            continue;
        for (int j = i + 1; j < n; j++) {
            int same = g[j]->rpat < P_ANYSRC && g[j]->csrc == g[i]->csrc &&
                       (style == P_ANYTAG || g[j]->tag == g[i]->tag);
            if (same && keys[j] < keys[i]) {
                uint32_t t = keys[i];
                keys[i] = keys[j];
                keys[j] = t;
            }
        }
    }
    for (int i = 0; i < n; i++)
        g[i]->rpos = keys[i];
    qsort(g, (size_t)n, sizeof *g, cmp_rpos);

    int npre = f[F_IRECV] || f[F_PRECV] ? below(r, n + 1) : 0;
    for (int i = 0; i < n; i++) {
        struct msg *m = g[i];
        int anon = m->rpat >= P_ANYSRC;
        m->bufsize = (anon ? maxsize : m->size) + (chance(r, 1, 3) ? 64 : 0);
        m->prepost = i < npre;
        if (m->prepost) {
            m->rform = f[F_PRECV] && (!f[F_IRECV] || chance(r, 1, 3))
                           ? R_PRE_PRECV
                           : R_PRE_IRECV;
            m->dtrecv = f[F_DTFREE] && chance(r, 1, 3);
        } else {
            int ok[NRFORM] = {0};
            ok[R_RECV] = 1;
            ok[R_PROBE] = ok[R_IPROBE] = f[F_PROBE];
            ok[R_MPROBE] = ok[R_IMPROBE] = f[F_MPROBE];
            ok[R_IRECV_WAIT] = ok[R_IRECV_TEST] = f[F_ITEST];
            m->rform = pick(r, ok, NRFORM, R_RECV);
        }
    }
}

void plan_step(const struct cfg *c, int step, struct plan *p)
{
    struct rng r = {hash3(c->seed, 0x73746570ULL, (uint64_t)step)};
    const int *f = c->feat;
    int n = c->nranks;

    memset(p, 0, sizeof *p);
    p->step = step;
    p->req_rank = p->aftercut_rank = -1;
    if (step < 0 || step >= c->nsteps)
        return;

    /* Messages, communicator by communicator, colour by colour. */
    for (int s = 0; s < NSLOT; s++) {
        const struct gen *g = gen_at(c, s, step);
        int wr[MAXR];

        if (!g || step + g->delay > g->dies || step + g->delay >= c->nsteps)
            continue;
        for (int col = 0; col < MAXR; col++) {
            int k = members(g, n, col, wr);
            if (k == 0)
                continue;
            if (k == 1 && !f[F_SELF])
                continue;
            int nm = below(&r, 2 * k + 1);
            for (int i = 0; i < nm && p->nm < MAXMSG; i++) {
                struct msg *m = &p->m[p->nm];
                memset(m, 0, sizeof *m);
                m->step = step;
                m->idx = p->nm;
                m->due = step + g->delay;
                m->slot = s;
                m->gen = (int)(g - c->gens[s]);
                m->color = col;
                m->csrc = below(&r, k);
                m->cdst = below(&r, k);
                if (m->cdst == m->csrc && k > 1 &&
                    (!f[F_SELF] || chance(&r, 2, 3)))
                    m->cdst = (m->csrc + 1 + below(&r, k - 1)) % k;
                m->src = wr[m->csrc];
                m->dst = wr[m->cdst];
                m->tclass = below(&r, 4);
                m->tag = TAG0 + m->tclass;
                m->size = f[F_LARGE] && chance(&r, 1, 12)
                              ? 1025 + below(&r, 32 * 1024 - 1024)
                              : 16 + below(&r, 240);
                m->value = 1 + below(&r, 1000);
                p->nm++;
            }
        }
    }

    /* Receive plans: one group per (communicator, colour, receiver). */
    for (int s = 0; s < NSLOT; s++) {
        const struct gen *g = gen_at(c, s, step);
        for (int col = 0; g && col < MAXR; col++)
            for (int d = 0; d < n; d++) {
                struct msg *grp[MAXMSG];
                int k = 0;
                for (int i = 0; i < p->nm; i++)
                    if (p->m[i].slot == s && p->m[i].color == col &&
                        p->m[i].dst == d)
                        grp[k++] = &p->m[i];
                if (k)
                    plan_group(c, &r, grp, k, g);
            }
    }
    for (int i = 0; i < p->nm; i++) {
        const struct gen *g = gen_at(c, p->m[i].slot, step);
        p->m[i].smode = send_mode(c, &r, &p->m[i], g->delay);
    }

    /* Per rank: an operation on MPI_PROC_NULL, a cancelled receive, how
     * the step's requests complete. */
    for (int i = 0; i < n; i++) {
        p->nullop[i] =
            f[F_PROCNULL] && chance(&r, 1, 3) ? 1 + below(&r, N_PROBE) : N_NONE;
        p->cancel[i] = f[F_CANCEL] && chance(&r, 1, 4) ? 1 + below(&r, 2) : 0;
        p->cancel_slot[i] = below(&r, 2);
        int ok[NCOMPL] = {1,
                          1,
                          f[F_WAITSOME],
                          f[F_WAITSOME],
                          f[F_WAITSOME],
                          f[F_WAITSOME],
                          f[F_WAITSOME]};
        p->compl [i] = pick(&r, ok, NCOMPL, C_WAITALL);
    }

    /* Collectives: on the world, the base or a dynamic communicator. */
    if (f[F_COLL] && chance(&r, 1, 3)) {
        p->coll = CO_BARRIER + below(&r, CO_REDUCE - CO_BARRIER + 1);
        p->coll_slot = below(&r, NSLOT);
        if (!gen_at(c, p->coll_slot, step))
            p->coll_slot = SLOT_WORLD;
    }
    if (f[F_NBC] && chance(&r, 1, 4)) {
        p->nbc = CO_IBARRIER + below(&r, CO_IBCAST - CO_IBARRIER + 1);
        p->nbc_slot = below(&r, NSLOT);
        if (!gen_at(c, p->nbc_slot, step))
            p->nbc_slot = SLOT_BASE;
    }
    p->idup = f[F_IDUP] && chance(&r, 1, 5);

    /* Snapshot requests */
    for (int i = 0; i < c->nrequests; i++)
        if (c->req_steps[i] == step) {
            p->req_rank = below(&r, n);
            p->req_mid = f[F_MIDREQ] && chance(&r, 1, 2);
        }
    /* as the others: none in the last MARGIN steps, where the snapshot
     * that answers it would come after the end */
    if (f[F_AFTERCUT] && step < c->nsteps - MARGIN && chance(&r, 1, 2))
        p->aftercut_rank = below(&r, n);
}
