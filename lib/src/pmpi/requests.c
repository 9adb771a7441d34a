/* Request tracking: which application requests are pending, what each
 * one is, and counting a receive when its request completes. */
#include <stdio.h>
#include <stdlib.h>

#include "pmpi/pmpi.h"

struct ms__req *ms__req_new(MPI_Request handle, int kind, struct ms__comm *c)
{
    struct ms__req *r = ms__req_get(handle);

    /* Open MPI hands out one static, already complete request for every
     * Isend/Irecv to or from MPI_PROC_NULL and for sends that finished at
     * once (to self, say): several live application handles can be equal,
     * of different kinds.  A live request's handle is never reused, so an
     * active entry under this handle is that static request: share it, one
     * reference per handle.  Completing it counts nothing (its status has
     * source MPI_PROC_NULL; a send counts when it starts). */
    if (MS_UNLIKELY(r != NULL) && r->active) {
        r->refs++;
        ms.npending++;
        return r;
    }
    r = ms.req_free;
    if (r)
        ms.req_free = r->next;
    else if (!(r = malloc(sizeof *r)))
        goto oom;
    *r = (struct ms__req){.handle = handle,
                          .kind = kind,
                          .c = c,
                          .active = 1,
                          .refs = 1,
                          .posted = ++ms.nposts};
    if (c)
        c->refs++; /* until the request is forgotten */
    if (ms__hmap_put(&ms.reqs, MS_KEY(handle), r) < 0)
        goto oom;
    ms.npending++;
    return r;
oom:
    MS_ERROR("out of memory tracking a request: aborting job");
    PMPI_Abort(MPI_COMM_WORLD, 1);
    return NULL;
}

void ms__req_forget(struct ms__req *r)
{
    if (r->kind == MS_REQ_HELD) /* see greq_free in match.c */
        free(r->held);
    if (r->owns_dt) {
        PMPI_Type_free(&r->dt);
        r->owns_dt = 0;
    }
    ms__hmap_del(&ms.reqs, MS_KEY(r->handle));
    if (r->active)
        ms.npending--;
    ms__comm_unref(r->c);
    r->c = NULL;
    r->next = ms.req_free;
    ms.req_free = r;
}

void ms__type_freed(MPI_Datatype dt)
{
    size_t i;

    for (i = 0; i < ms.reqs.cap; i++) {
        struct ms__req *r = ms.reqs.vals[i];
        struct ms__held *h;
        MPI_Datatype own;

        if (!ms.reqs.keys[i] || r->owns_dt)
            continue;
        h = r->held;
        if (r->dt != dt && !(h && h->dt == dt))
            continue;
        if (PMPI_Type_dup(dt, &own) != MPI_SUCCESS)
            continue;
        r->dt = own;
        r->owns_dt = 1;
        if (h && h->dt == dt)
            h->dt = own;
    }
}

void ms__req_finish(struct ms__req *r, MPI_Status *st)
{
    if (r->refs > 1) {
        r->refs--;
        ms.npending--;
        return;
    }
    ms__req_completed(r, st);
    if (r->kind != MS_REQ_PSEND && r->kind != MS_REQ_PRECV)
        ms__req_forget(r);
}

void ms__req_completed(struct ms__req *r, MPI_Status *st)
{
    int cancelled = 0;

    if (!r->active) /* inactive persistent request: empty status */
        return;
    r->active = 0;
    ms.npending--;
    if (r->kind == MS_REQ_IMRECV) {
        ms__imrecv_done(r, st);
        return;
    }
    if (r->newcomm) { /* MPI_Comm_idup */
        ms__comm_created(r->parent, r->ordinal, 0, *r->newcomm, "MPI_Comm_idup",
                         r->site);
        return;
    }
    if (r->kind == MS_REQ_OTHER || r->kind == MS_REQ_HELD)
        return;    /* held receives were counted when the library matched */
    if (r->held) { /* persistent receive matched by the library */
        r->held = NULL;
        return;
    }
    if (MS_UNLIKELY(r->cancel)) {
        PMPI_Test_cancelled(st, &cancelled);
        r->cancel = 0;
    }
    if (r->kind == MS_REQ_RECV || r->kind == MS_REQ_PRECV) {
        if (!cancelled && st->MPI_SOURCE != MPI_PROC_NULL) {
            int n = 0;
            if (MS_UNLIKELY(ms.window) && r->buf) {
                PMPI_Get_count(st, r->dt, &n);
                n = n == MPI_UNDEFINED ? 0 : n;
            }
            ms__matched(r->c, st, r->buf, n, r->dt);
        }
    } else if (cancelled && r->peer != MPI_PROC_NULL) {
        /* A cancelled send never happened: undo its count. */
        ms__stream_add(&r->c->sent[r->peer], r->tag, -1);
    }
}

void ms__matched(struct ms__comm *c, MPI_Status *st, const void *buf, int count,
                 MPI_Datatype dt)
{
    uint64_t pos;

    if (st->MPI_SOURCE == MPI_PROC_NULL || st->MPI_SOURCE < 0)
        return;
    if (MS_UNLIKELY(ms.observe) && !ms.obs_batch)
        ms__obs_before_count();
    pos = ms__count_recv(c, st->MPI_SOURCE, st->MPI_TAG);
    if (MS_UNLIKELY(ms.window))
        ms__core_matched(c, st->MPI_SOURCE, st->MPI_TAG, pos, buf, count, dt);
    if (MS_UNLIKELY(ms.obs_window)) {
        /* The window may have opened just now, in the marker check. */
        if (buf && dt != MPI_DATATYPE_NULL) {
            PMPI_Get_count(st, dt, &count);
            count = count == MPI_UNDEFINED ? 0 : count;
        }
        ms__obs_matched(c, st->MPI_SOURCE, st->MPI_TAG, pos, buf, count, dt);
    }
}

MPI_Status *ms__statuses(MPI_Status *app, int n)
{
    if (app != MPI_STATUSES_IGNORE)
        return app;
    if (n > ms.nscratch) {
        int cap = n < 64 ? 64 : n;
        MPI_Status *p = realloc(ms.scratch, (size_t)cap * sizeof *p);
        if (!p) {
            MS_ERROR("out of memory for statuses: aborting job");
            PMPI_Abort(MPI_COMM_WORLD, 1);
        }
        ms.scratch = p;
        ms.nscratch = cap;
    }
    return ms.scratch;
}

void ms__update_slow(void)
{
    ms.slow = ms__cfg.libmatch || ms.active || ms.window || ms.nqueued > 0 ||
              ms.nheld > 0;
    ms.hot_off = ms.slow || ms.trace || ms.observe;
}

static const struct {
    unsigned bit;
    const char *what;
} unsup_names[] = {
    {MS_UNSUP_RMA, "RMA windows"},
    {MS_UNSUP_INTERCOMM, "intercommunicators"},
    {MS_UNSUP_DYNAMIC, "dynamic processes"},
    {MS_UNSUP_THREADS, "MPI_THREAD_MULTIPLE"},
    {MS_UNSUP_FILE_IREQ, "nonblocking MPI-IO"},
};
static const char *unsup_calls[8];

void ms__unsupported(unsigned bit, const char *call)
{
    size_t i;

    if (ms.unsupported & bit)
        return;
    ms.unsupported |= bit;
    for (i = 0; i < sizeof unsup_names / sizeof *unsup_names; i++)
        if (unsup_names[i].bit == bit) {
            unsup_calls[i] = call;
            MS_INFO("%s used (%s): snapshots of this job will be refused",
                    unsup_names[i].what, call);
        }
}

void ms__unsupported_text(char *buf, size_t n)
{
    size_t i, len = 0;

    buf[0] = '\0';
    for (i = 0; i < sizeof unsup_names / sizeof *unsup_names; i++)
        if ((ms.unsupported & unsup_names[i].bit) && len < n)
            len += (size_t)snprintf(buf + len, n - len, "%s%s (%s)",
                                    len ? ", " : "", unsup_names[i].what,
                                    unsup_calls[i]);
}

void ms__zombies_test(void)
{
    struct ms__req **zp = &ms.zombies;

    while (*zp) {
        struct ms__req *r = *zp, *next = r->next;
        int persistent = r->kind == MS_REQ_PSEND || r->kind == MS_REQ_PRECV;
        MPI_Request h = r->handle; /* the test nulls it: r keeps its key */
        MPI_Status st;
        int flag = 0;

        ms__test_one(&h, &flag, &st);
        if (!flag) {
            zp = &r->next;
            continue;
        }
        *zp = next; /* a non-persistent one was forgotten by the test */
        if (persistent) {
            ms__req_forget(r); /* by its key, before the free nulls it */
            PMPI_Request_free(&h);
        }
    }
}
