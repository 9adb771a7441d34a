/* Wrappers written by hand: receives, probes, completion, persistent
 * requests.  Each has a fast path (count around the PMPI call) and, when
 * ms.slow is set, hands the call to library matching (match.c). */
#include <sched.h>
#include <stdlib.h>

#include "pmpi/pmpi.h"

/* ---- receives ---- */

static __attribute__((noinline)) int recv_general(void *buf, int count,
                                                  MPI_Datatype dt, int source,
                                                  int tag, MPI_Comm comm,
                                                  MPI_Status *status)
{
    struct ms__comm *c = ms__comm_get(comm);
    MPI_Status tmp, *st = status == MPI_STATUS_IGNORE ? &tmp : status;
    int rc;

    if (MS_UNLIKELY(ms.observe)) {
        MPI_Request r;
        int in = ms__call_enter("MPI_Recv", MS_NEED_RECV, c, source, tag);
        rc = MPI_Irecv(buf, count, dt, source, tag, comm, &r);
        if (rc == MPI_SUCCESS)
            rc = ms__obs_wait(&r, status);
        ms__call_leave(in);
        return rc;
    }
    if (ms.slow)
        return ms__slow_recv(buf, count, dt, source, tag, c, status);
    rc = PMPI_Recv(buf, count, dt, source, tag, comm, st);
    if ((unsigned)st->MPI_SOURCE < (unsigned)c->size)
        ms__count_recv(c, st->MPI_SOURCE, st->MPI_TAG);
    return rc;
}

int MPI_Recv(void *buf, int count, MPI_Datatype dt, int source, int tag,
             MPI_Comm comm, MPI_Status *status)
{
    struct ms__stream *s;

    /* Inline only the common case: the cached communicator and tag, a
     * named source.  It knows its stream before it matches, so it counts
     * first and ends in a tail call (a receive that fails with
     * MPI_ERR_TRUNCATE has still consumed its message). */
    if (MS_LIKELY(comm == ms.last_comm && !ms.hot_off &&
                  (unsigned)source < (unsigned)ms.last_c->size)) {
        s = &ms.last_c->recv[source];
        if (MS_LIKELY(s->c.tag == tag)) {
            s->c.n++;
            return PMPI_Recv(buf, count, dt, source, tag, comm, status);
        }
    }
    return recv_general(buf, count, dt, source, tag, comm, status);
}

int MPI_Irecv(void *buf, int count, MPI_Datatype dt, int source, int tag,
              MPI_Comm comm, MPI_Request *req)
{
    struct ms__comm *c = ms__comm_get(comm);
    int rc;

    if (MS_UNLIKELY(ms.slow))
        return ms__slow_irecv(buf, count, dt, source, tag, c, req);
    rc = PMPI_Irecv(buf, count, dt, source, tag, comm, req);
    if (MS_LIKELY(rc == MPI_SUCCESS)) {
        struct ms__req *r = ms__req_new(*req, MS_REQ_RECV, c);
        r->peer = source; /* for diagnostics */
        r->tag = tag;
        r->buf = buf; /* for logging it as channel state */
        r->count = count;
        r->dt = dt;
    }
    return rc;
}

/* Observation mode: a receive and a send, waited for together (so an
 * observation names both). */
static int obs_sendrecv(const char *name, const void *sbuf, int scount,
                        MPI_Datatype sdt, int dest, int stag, void *rbuf,
                        int rcount, MPI_Datatype rdt, int source, int rtag,
                        MPI_Comm comm, MPI_Status *status)
{
    MPI_Request r[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    MPI_Status sts[2];
    int in = ms__call_enter_reqs(name, r, 2, 0), rc;

    rc = MPI_Irecv(rbuf, rcount, rdt, source, rtag, comm, &r[0]);
    if (rc == MPI_SUCCESS)
        rc = MPI_Isend(sbuf, scount, sdt, dest, stag, comm, &r[1]);
    if (rc == MPI_SUCCESS) {
        rc = MPI_Waitall(2, r, sts);
        if (status != MPI_STATUS_IGNORE)
            *status = sts[0];
    } else if (r[0] != MPI_REQUEST_NULL) { /* the send failed to start */
        MPI_Cancel(&r[0]);
        MPI_Wait(&r[0], MPI_STATUS_IGNORE);
    }
    ms__call_leave(in);
    return rc;
}

int MPI_Sendrecv(const void *sbuf, int scount, MPI_Datatype sdt, int dest,
                 int stag, void *rbuf, int rcount, MPI_Datatype rdt, int source,
                 int rtag, MPI_Comm comm, MPI_Status *status)
{
    struct ms__comm *c = ms__comm_get(comm);
    MPI_Status tmp, *st = status == MPI_STATUS_IGNORE ? &tmp : status;
    MPI_Request sreq;
    int rc;

    if (MS_UNLIKELY(ms.observe))
        return obs_sendrecv("MPI_Sendrecv", sbuf, scount, sdt, dest, stag, rbuf,
                            rcount, rdt, source, rtag, comm, status);
    ms__count_send(c, dest, stag);
    if (MS_UNLIKELY(ms.slow)) {
        rc = PMPI_Isend(sbuf, scount, sdt, dest, stag, comm, &sreq);
        if (rc != MPI_SUCCESS)
            return rc;
        rc = ms__slow_recv(rbuf, rcount, rdt, source, rtag, c, status);
        ms__wait_own(&sreq);
        return rc;
    }
    rc = PMPI_Sendrecv(sbuf, scount, sdt, dest, stag, rbuf, rcount, rdt, source,
                       rtag, comm, st);
    if ((unsigned)st->MPI_SOURCE < (unsigned)c->size)
        ms__count_recv(c, st->MPI_SOURCE, st->MPI_TAG);
    return rc;
}

int MPI_Sendrecv_replace(void *buf, int count, MPI_Datatype dt, int dest,
                         int stag, int source, int rtag, MPI_Comm comm,
                         MPI_Status *status)
{
    struct ms__comm *c = ms__comm_get(comm);
    MPI_Status tmp, *st = status == MPI_STATUS_IGNORE ? &tmp : status;
    MPI_Request sreq;
    void *packed = NULL;
    int rc, size = 0, pos = 0;

    if (MS_UNLIKELY(ms.observe || ms.slow)) {
        /* Send a packed copy, so the receive may overwrite buf at once. */
        PMPI_Pack_size(count, dt, comm, &size);
        packed = malloc(size ? (size_t)size : 1);
        if (!packed)
            return MPI_ERR_NO_MEM;
        PMPI_Pack(buf, count, dt, packed, size, &pos, comm);
    }
    if (MS_UNLIKELY(ms.observe)) {
        rc = obs_sendrecv("MPI_Sendrecv_replace", packed, pos, MPI_PACKED, dest,
                          stag, buf, count, dt, source, rtag, comm, status);
        free(packed);
        return rc;
    }
    ms__count_send(c, dest, stag);
    if (MS_UNLIKELY(ms.slow)) {
        rc = PMPI_Isend(packed, pos, MPI_PACKED, dest, stag, comm, &sreq);
        if (rc == MPI_SUCCESS) {
            rc = ms__slow_recv(buf, count, dt, source, rtag, c, status);
            ms__wait_own(&sreq);
        }
        free(packed);
        return rc;
    }
    rc = PMPI_Sendrecv_replace(buf, count, dt, dest, stag, source, rtag, comm,
                               st);
    if ((unsigned)st->MPI_SOURCE < (unsigned)c->size)
        ms__count_recv(c, st->MPI_SOURCE, st->MPI_TAG);
    return rc;
}

int MPI_Recv_init(void *buf, int count, MPI_Datatype dt, int source, int tag,
                  MPI_Comm comm, MPI_Request *req)
{
    struct ms__comm *c = ms__comm_get(comm);
    struct ms__req *r;
    int rc = PMPI_Recv_init(buf, count, dt, source, tag, comm, req);

    if (rc == MPI_SUCCESS) {
        r = ms__req_new(*req, MS_REQ_PRECV, c);
        r->active = 0;
        ms.npending--;
        r->peer = source;
        r->tag = tag;
        r->buf = buf;
        r->count = count;
        r->dt = dt;
    }
    return rc;
}

int MPI_Start(MPI_Request *req)
{
    struct ms__req *r = ms__req_get(*req);

    if (!r)
        return PMPI_Start(req);
    if (r->kind == MS_REQ_PRECV && ms.slow)
        return ms__slow_start_precv(r);
    if (r->kind == MS_REQ_PSEND)
        ms__count_send(r->c, r->peer, r->tag);
    r->active = 1;
    r->posted = ++ms.nposts;
    ms.npending++;
    return PMPI_Start(req);
}

int MPI_Startall(int n, MPI_Request reqs[])
{
    int i, rc;

    for (i = 0; i < n; i++)
        if ((rc = MPI_Start(&reqs[i])) != MPI_SUCCESS)
            return rc;
    return MPI_SUCCESS;
}

/* ---- probes and matched receives ---- */

int MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status *status)
{
    MPI_Status tmp;
    int flag = 0, rc = MPI_SUCCESS, in;

    if (MS_UNLIKELY(ms.observe)) {
        in = ms__call_enter("MPI_Probe", MS_NEED_RECV, ms__comm_get(comm),
                            source, tag);
        while (rc == MPI_SUCCESS &&
               (rc = MPI_Iprobe(source, tag, comm, &flag, status)) ==
                   MPI_SUCCESS &&
               !flag)
            ms__call_idle();
        ms__call_leave(in);
        return rc;
    }
    if (MS_UNLIKELY(ms.slow))
        return ms__slow_probe(source, tag, ms__comm_get(comm), 1, &flag,
                              status == MPI_STATUS_IGNORE ? &tmp : status);
    return PMPI_Probe(source, tag, comm, status);
}

int MPI_Iprobe(int source, int tag, MPI_Comm comm, int *flag,
               MPI_Status *status)
{
    MPI_Status tmp;

    if (MS_UNLIKELY(ms.observe))
        ms__obs_poll();
    if (MS_UNLIKELY(ms.slow))
        return ms__slow_probe(source, tag, ms__comm_get(comm), 0, flag,
                              status == MPI_STATUS_IGNORE ? &tmp : status);
    return PMPI_Iprobe(source, tag, comm, flag, status);
}

/* A message matched by a probe counts as received now. */
static void track_message(struct ms__comm *c, MPI_Message msg, MPI_Status *st)
{
    struct ms__mmsg *m;

    if (msg == MPI_MESSAGE_NO_PROC || msg == MPI_MESSAGE_NULL)
        return;
    m = calloc(1, sizeof *m);
    if (!m || ms__hmap_put(&ms.msgs, MS_KEY(msg), m) < 0) {
        MS_ERROR("out of memory tracking a matched message: aborting job");
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    *m = (struct ms__mmsg){
        .handle = msg, .c = c, .source = st->MPI_SOURCE, .tag = st->MPI_TAG};
    c->refs++; /* until the message is received */
    if (MS_UNLIKELY(ms.observe))
        ms__obs_before_count();
    m->pos = ms__count_recv(c, st->MPI_SOURCE, st->MPI_TAG);
    ms.nmsgs++;
}

int MPI_Mprobe(int source, int tag, MPI_Comm comm, MPI_Message *msg,
               MPI_Status *status)
{
    struct ms__comm *c = ms__comm_get(comm);
    MPI_Status tmp, *st = status == MPI_STATUS_IGNORE ? &tmp : status;
    int rc = MPI_SUCCESS, flag = 0, in;

    if (MS_UNLIKELY(ms.observe)) {
        in = ms__call_enter("MPI_Mprobe", MS_NEED_RECV, c, source, tag);
        while (rc == MPI_SUCCESS &&
               (rc = MPI_Improbe(source, tag, comm, &flag, msg, st)) ==
                   MPI_SUCCESS &&
               !flag)
            ms__call_idle();
        ms__call_leave(in);
        return rc;
    }
    if (MS_UNLIKELY(ms.slow))
        return ms__slow_mprobe(source, tag, c, 1, &flag, msg, st);
    rc = PMPI_Mprobe(source, tag, comm, msg, st);
    if (rc == MPI_SUCCESS)
        track_message(c, *msg, st);
    return rc;
}

int MPI_Improbe(int source, int tag, MPI_Comm comm, int *flag, MPI_Message *msg,
                MPI_Status *status)
{
    struct ms__comm *c = ms__comm_get(comm);
    MPI_Status tmp, *st = status == MPI_STATUS_IGNORE ? &tmp : status;
    int rc;

    if (MS_UNLIKELY(ms.observe))
        ms__obs_poll();
    if (MS_UNLIKELY(ms.slow))
        return ms__slow_mprobe(source, tag, c, 0, flag, msg, st);
    rc = PMPI_Improbe(source, tag, comm, flag, msg, st);
    if (rc == MPI_SUCCESS && *flag)
        track_message(c, *msg, st);
    return rc;
}

/* Called when the receive of matched message m has completed. */
static void message_received(struct ms__mmsg *m, void *buf, MPI_Datatype dt,
                             MPI_Status *st)
{
    int n = 0;

    if (m->q) {
        st->MPI_SOURCE = m->source;
        st->MPI_TAG = m->tag;
        ms__queue_release(m->q);
    }
    if (MS_UNLIKELY(ms.window | ms.obs_window) && m->pos) {
        PMPI_Get_count(st, dt, &n);
        n = n == MPI_UNDEFINED ? 0 : n;
    }
    /* pos 0: counted with its payload when it was queued */
    if (MS_UNLIKELY(ms.window) && m->pos)
        ms__core_matched(m->c, m->source, m->tag, m->pos, buf, n, dt);
    if (MS_UNLIKELY(ms.obs_window) && m->pos)
        ms__obs_matched(m->c, m->source, m->tag, m->at_cut ? 0 : m->pos, buf, n,
                        dt);
    ms__comm_unref(m->c);
    free(m);
}

int MPI_Mrecv(void *buf, int count, MPI_Datatype dt, MPI_Message *msg,
              MPI_Status *status)
{
    struct ms__mmsg *m = ms__hmap_del(&ms.msgs, MS_KEY(*msg));
    MPI_Status tmp, *st = status == MPI_STATUS_IGNORE ? &tmp : status;
    int rc = PMPI_Mrecv(buf, count, dt, msg, st);

    if (m) {
        ms.nmsgs--;
        message_received(m, buf, dt, st);
    }
    return rc;
}

int MPI_Imrecv(void *buf, int count, MPI_Datatype dt, MPI_Message *msg,
               MPI_Request *req)
{
    struct ms__mmsg *m = ms__hmap_del(&ms.msgs, MS_KEY(*msg));
    struct ms__req *r;
    int rc = PMPI_Imrecv(buf, count, dt, msg, req);

    if (m) {
        ms.nmsgs--;
        r = ms__req_new(*req, MS_REQ_IMRECV, m->c);
        r->mmsg = m;
        r->buf = buf;
        r->dt = dt;
    }
    return rc;
}

/* Called by ms__req_completed for an MPI_Imrecv request. */
void ms__imrecv_done(struct ms__req *r, MPI_Status *st)
{
    message_received(r->mmsg, r->buf, r->dt, st);
    r->mmsg = NULL;
}

/* ---- completion ---- */

/* Requests that Wait/Test must skip: null and inactive persistent ones. */
static int inactive(MPI_Request h)
{
    struct ms__req *r;

    if (h == MPI_REQUEST_NULL)
        return 1;
    r = ms__req_get(h);
    return r && (r->kind == MS_REQ_PSEND || r->kind == MS_REQ_PRECV) &&
           !r->active;
}

/* After a PMPI completion call: account the request that had handle h. */
static void completed(MPI_Request h, MPI_Status *st)
{
    struct ms__req *r;

    if (h == MPI_REQUEST_NULL || !(r = ms__req_get(h)))
        return;
    ms__req_finish(r, st);
}

/* Several receives complete in one call: look for observation markers
 * once, before any of them counts, so that an observation never records
 * between two of them (the application sees them all at once). */
static void batch_begin(void)
{
    if (MS_UNLIKELY(ms.observe)) {
        ms__obs_before_count();
        ms.obs_batch = 1;
    }
}

static void batch_end(void)
{
    ms.obs_batch = 0;
}

/* Saved copies of handles: a completed request's handle is reset by MPI. */
static MPI_Request *saved;
static int nsaved;

static MPI_Request *save(const MPI_Request *reqs, int n)
{
    if (n > nsaved) {
        int cap = n < 64 ? 64 : n;
        void *p = realloc(saved, (size_t)cap * sizeof *saved);
        if (!p) {
            MS_ERROR("out of memory saving request handles: aborting job");
            PMPI_Abort(MPI_COMM_WORLD, 1);
        }
        saved = p;
        nsaved = cap;
    }
    if (n > 0)
        memcpy(saved, reqs, (size_t)n * sizeof *saved);
    return saved;
}

int MPI_Wait(MPI_Request *req, MPI_Status *status)
{
    MPI_Status tmp, *st = status == MPI_STATUS_IGNORE ? &tmp : status;
    MPI_Request h = *req;
    int rc, in;

    if (MS_UNLIKELY(ms.observe)) {
        in = ms__call_enter_reqs("MPI_Wait", req, 1, 0);
        rc = ms__obs_wait(req, status);
        ms__call_leave(in);
        return rc;
    }
    if (MS_UNLIKELY(ms.slow))
        return ms__slow_wait(req, st);
    rc = PMPI_Wait(req, st);
    completed(h, st);
    return rc;
}

int MPI_Test(MPI_Request *req, int *flag, MPI_Status *status)
{
    MPI_Status tmp, *st = status == MPI_STATUS_IGNORE ? &tmp : status;
    MPI_Request h = *req;
    int rc;

    if (MS_UNLIKELY(ms.observe))
        ms__obs_poll();
    if (MS_UNLIKELY(ms.slow)) {
        ms__progress();
        return ms__test_one(req, flag, st);
    }
    rc = PMPI_Test(req, flag, st);
    if (*flag)
        completed(h, st);
    return rc;
}

/* Test every active request once; the slow path of all the plural forms.
 * done[i] set for those that completed now; returns how many did. */
static int test_pass(int n, MPI_Request reqs[], MPI_Status *sts, int *done,
                     int *nactive, int *err)
{
    MPI_Status tmp;
    int i, flag, k = 0, rc;

    *nactive = 0;
    ms__progress();
    batch_begin();
    for (i = 0; i < n; i++) {
        if (done[i] || inactive(reqs[i]))
            continue;
        (*nactive)++;
        rc = ms__test_one(&reqs[i], &flag, sts ? &sts[i] : &tmp);
        if (rc != MPI_SUCCESS)
            *err = rc;
        if (flag && sts)
            sts[i].MPI_ERROR = rc; /* read with MPI_ERR_IN_STATUS */
        if (flag) {
            done[i] = 1;
            k++;
        }
    }
    batch_end();
    return k;
}

static int *done_flags(int n)
{
    static int *d;
    static int nd;

    if (n > nd) {
        int cap = n < 64 ? 64 : n;
        void *p = realloc(d, (size_t)cap * sizeof *d);
        if (!p) {
            MS_ERROR("out of memory: aborting job");
            PMPI_Abort(MPI_COMM_WORLD, 1);
        }
        d = p;
        nd = cap;
    }
    memset(d, 0, (size_t)n * sizeof *d);
    return d;
}

/* Null and inactive requests count as done, with the empty status.
 * Returns how many there were. */
static int mark_inactive(int n, MPI_Request reqs[], MPI_Status *sts, int *done)
{
    int i, k = 0;

    for (i = 0; i < n; i++)
        if (inactive(reqs[i])) {
            done[i] = 1;
            ms__empty_status(&sts[i]);
            k++;
        }
    return k;
}

int MPI_Waitall(int n, MPI_Request reqs[], MPI_Status statuses[])
{
    MPI_Status *sts = ms__statuses(statuses, n);
    MPI_Request *h;
    int i, rc, nactive, err = MPI_SUCCESS, *done, left = n, flag = 0, in;

    if (MS_UNLIKELY(ms.observe)) {
        in = ms__call_enter_reqs("MPI_Waitall", reqs, n, 0);
        while ((rc = MPI_Testall(n, reqs, &flag, statuses)) == MPI_SUCCESS &&
               !flag)
            ms__call_idle();
        ms__call_leave(in);
        return rc;
    }
    if (MS_UNLIKELY(ms.slow)) {
        done = done_flags(n);
        left -= mark_inactive(n, reqs, sts, done);
        while (left > 0) {
            int k = test_pass(n, reqs, sts, done, &nactive, &err);
            left -= k;
            if (!k && left > 0)
                sched_yield(); /* let an oversubscribed peer run */
        }
        return err == MPI_SUCCESS ? MPI_SUCCESS : MPI_ERR_IN_STATUS;
    }
    h = save(reqs, n);
    rc = PMPI_Waitall(n, reqs, sts);
    batch_begin();
    for (i = 0; i < n; i++)
        completed(h[i], &sts[i]);
    batch_end();
    return rc;
}

int MPI_Testall(int n, MPI_Request reqs[], int *flag, MPI_Status statuses[])
{
    MPI_Status *sts = ms__statuses(statuses, n);
    MPI_Request *h;
    int i, rc, nactive, err = MPI_SUCCESS, *done;

    if (MS_UNLIKELY(ms.observe))
        ms__obs_poll();
    if (MS_UNLIKELY(ms.slow)) {
        /* All or nothing: test without completing, then complete all. */
        ms__progress();
        *flag = 1;
        for (i = 0; i < n && *flag; i++) {
            struct ms__req *r;
            if (inactive(reqs[i]))
                continue;
            r = ms__req_get(reqs[i]);
            if (r && r->held)
                *flag = r->held->done;
            else
                PMPI_Request_get_status(reqs[i], flag, MPI_STATUS_IGNORE);
        }
        if (!*flag)
            return MPI_SUCCESS;
        done = done_flags(n);
        mark_inactive(n, reqs, sts, done);
        test_pass(n, reqs, sts, done, &nactive, &err);
        return err == MPI_SUCCESS ? MPI_SUCCESS : MPI_ERR_IN_STATUS;
    }
    h = save(reqs, n);
    rc = PMPI_Testall(n, reqs, flag, sts);
    if (*flag) {
        batch_begin();
        for (i = 0; i < n; i++)
            completed(h[i], &sts[i]);
        batch_end();
    }
    return rc;
}

/* Slow Waitany/Testany: the first active request that completes. */
static int slow_any(int n, MPI_Request reqs[], int *index, int *flag,
                    MPI_Status *st, int blocking)
{
    int i, f, rc, nactive;

    for (;;) {
        ms__progress();
        nactive = 0;
        for (i = 0; i < n; i++) {
            if (inactive(reqs[i]))
                continue;
            nactive++;
            rc = ms__test_one(&reqs[i], &f, st);
            if (f || rc != MPI_SUCCESS) {
                *index = i;
                *flag = 1;
                return rc;
            }
        }
        if (!nactive) {
            *index = MPI_UNDEFINED;
            *flag = 1;
            ms__empty_status(st);
            return MPI_SUCCESS;
        }
        if (!blocking) {
            *index = MPI_UNDEFINED;
            *flag = 0;
            return MPI_SUCCESS;
        }
        sched_yield();
    }
}

int MPI_Waitany(int n, MPI_Request reqs[], int *index, MPI_Status *status)
{
    MPI_Status tmp, *st = status == MPI_STATUS_IGNORE ? &tmp : status;
    MPI_Request *h;
    int rc, flag = 0, in;

    if (MS_UNLIKELY(ms.observe)) {
        in = ms__call_enter_reqs("MPI_Waitany", reqs, n, 1);
        while ((rc = MPI_Testany(n, reqs, index, &flag, status)) ==
                   MPI_SUCCESS &&
               !flag)
            ms__call_idle();
        ms__call_leave(in);
        return rc;
    }
    if (MS_UNLIKELY(ms.slow))
        return slow_any(n, reqs, index, &flag, st, 1);
    h = save(reqs, n);
    rc = PMPI_Waitany(n, reqs, index, st);
    if (*index != MPI_UNDEFINED)
        completed(h[*index], st);
    return rc;
}

int MPI_Testany(int n, MPI_Request reqs[], int *index, int *flag,
                MPI_Status *status)
{
    MPI_Status tmp, *st = status == MPI_STATUS_IGNORE ? &tmp : status;
    MPI_Request *h;
    int rc;

    if (MS_UNLIKELY(ms.observe))
        ms__obs_poll();
    if (MS_UNLIKELY(ms.slow))
        return slow_any(n, reqs, index, flag, st, 0);
    h = save(reqs, n);
    rc = PMPI_Testany(n, reqs, index, flag, st);
    if (*flag && *index != MPI_UNDEFINED)
        completed(h[*index], st);
    return rc;
}

/* Slow Waitsome/Testsome. */
static int slow_some(int n, MPI_Request reqs[], int *outcount, int idx[],
                     MPI_Status *sts, int blocking)
{
    int i, k, nactive, err = MPI_SUCCESS, *done;
    MPI_Status *tmp = ms__statuses(MPI_STATUSES_IGNORE, n);

    for (;;) {
        done = done_flags(n);
        k = test_pass(n, reqs, tmp, done, &nactive, &err);
        if (!nactive) {
            *outcount = MPI_UNDEFINED;
            return MPI_SUCCESS;
        }
        if (k || !blocking)
            break;
        sched_yield();
    }
    *outcount = 0;
    for (i = 0; i < n; i++)
        if (done[i]) {
            if (sts != MPI_STATUSES_IGNORE)
                sts[*outcount] = tmp[i];
            idx[(*outcount)++] = i;
        }
    return err == MPI_SUCCESS ? MPI_SUCCESS : MPI_ERR_IN_STATUS;
}

static int some(int n, MPI_Request reqs[], int *outcount, int idx[],
                MPI_Status statuses[], int blocking)
{
    MPI_Status *sts = ms__statuses(statuses, n);
    MPI_Request *h;
    int i, rc, in;

    if (MS_UNLIKELY(ms.observe) && blocking) {
        in = ms__call_enter_reqs("MPI_Waitsome", reqs, n, 1);
        while ((rc = some(n, reqs, outcount, idx, statuses, 0)) ==
                   MPI_SUCCESS &&
               *outcount == 0)
            ms__call_idle();
        ms__call_leave(in);
        return rc;
    }
    if (MS_UNLIKELY(ms.observe))
        ms__obs_poll();
    if (MS_UNLIKELY(ms.slow))
        return slow_some(n, reqs, outcount, idx, statuses, blocking);
    h = save(reqs, n);
    rc = blocking ? PMPI_Waitsome(n, reqs, outcount, idx, sts)
                  : PMPI_Testsome(n, reqs, outcount, idx, sts);
    if (*outcount != MPI_UNDEFINED) {
        batch_begin();
        for (i = 0; i < *outcount; i++)
            completed(h[idx[i]], &sts[i]);
        batch_end();
    }
    return rc;
}

int MPI_Waitsome(int n, MPI_Request reqs[], int *outcount, int idx[],
                 MPI_Status statuses[])
{
    return some(n, reqs, outcount, idx, statuses, 1);
}

int MPI_Testsome(int n, MPI_Request reqs[], int *outcount, int idx[],
                 MPI_Status statuses[])
{
    return some(n, reqs, outcount, idx, statuses, 0);
}

int MPI_Request_get_status(MPI_Request req, int *flag, MPI_Status *status)
{
    struct ms__req *r;

    if (MS_UNLIKELY(ms.observe))
        ms__obs_poll();
    if (req == MPI_REQUEST_NULL) {
        /* The empty status, MPI_ERROR included (MPI 3.1, 3.7.3), which
         * Open MPI 4.1 leaves as it was. */
        *flag = 1;
        if (status != MPI_STATUS_IGNORE)
            ms__empty_status(status);
        return MPI_SUCCESS;
    }
    if (MS_UNLIKELY(ms.slow) && (r = ms__req_get(req)) &&
        r->kind == MS_REQ_PRECV && r->held) {
        ms__progress();
        *flag = r->held->done;
        if (*flag && status != MPI_STATUS_IGNORE)
            *status = r->held->status;
        return MPI_SUCCESS;
    }
    if (MS_UNLIKELY(ms.slow))
        ms__progress();
    return PMPI_Request_get_status(req, flag, status);
}

int MPI_Type_free(MPI_Datatype *dt)
{
    if (ms.reqs.len > 0) /* rare: a scan of the request table */
        ms__type_freed(*dt);
    return PMPI_Type_free(dt);
}

int MPI_Request_free(MPI_Request *req)
{
    struct ms__req *r = *req == MPI_REQUEST_NULL ? NULL : ms__req_get(*req);

    if (!r)
        return PMPI_Request_free(req);
    if (r->refs > 1) { /* a shared, already complete send request */
        r->refs--;
        ms.npending--;
        return PMPI_Request_free(req);
    }
    if (r->active) {
        /* Freed while active: MPI would complete it out of our sight, so
         * keep it and test it at progress points until it completes. */
        r->next = ms.zombies;
        ms.zombies = r;
        *req = MPI_REQUEST_NULL;
        return MPI_SUCCESS;
    }
    ms__req_forget(r);
    return PMPI_Request_free(req);
}

int MPI_Cancel(MPI_Request *req)
{
    struct ms__req *r = *req == MPI_REQUEST_NULL ? NULL : ms__req_get(*req);

    if (r && r->kind == MS_REQ_PRECV && r->held) {
        ms__held_cancel(r->held);
        return MPI_SUCCESS;
    }
    if (r)
        r->cancel = 1; /* test for it when the request completes */
    return PMPI_Cancel(req);
}
