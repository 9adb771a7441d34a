/* Library matching: the slow path of every receive, probe and wait.
 *
 * Every application receive becomes a `held` entry appended to one list in
 * posting order; progress() hands each arriving message (from the queue
 * first, else found with MPI_Improbe) to the earliest held entry it
 * matches, and receives it with MPI_Mrecv straight into that entry's
 * buffer.  So the library knows each message's exact position in its
 * stream, and MPI's matching order (non-overtaking, posting order) holds. */
#include <sched.h>
#include <stdlib.h>

#include "pmpi/pmpi.h"

static int matches(const struct ms__held *h, struct ms__comm *c, int source,
                   int tag)
{
    return h->c == c && (h->source == MPI_ANY_SOURCE || h->source == source) &&
           (h->tag == MPI_ANY_TAG || h->tag == tag);
}

static void held_append(struct ms__held *h)
{
    ms__comm_held(h->c, 1);
    h->next = NULL;
    if (ms.held_tail)
        ms.held_tail->next = h;
    else
        ms.held_head = h;
    ms.held_tail = h;
    ms.nheld++;
    ms__update_slow();
}

static void held_unlink(struct ms__held *h)
{
    struct ms__held **p, *prev = NULL;

    for (p = &ms.held_head; *p && *p != h; prev = *p, p = &(*p)->next)
        ;
    if (!*p)
        return;
    *p = h->next;
    if (ms.held_tail == h)
        ms.held_tail = prev;
    h->next = NULL;
    ms__comm_held(h->c, -1); /* may free a communicator the app freed */
}

/* What MPI returns for a receive from MPI_PROC_NULL. */
static void set_empty_status(MPI_Status *st)
{
    ms__empty_status(st);
    st->MPI_SOURCE = MPI_PROC_NULL;
}

/* The empty status of a null or inactive request. */
void ms__empty_status(MPI_Status *st)
{
    st->MPI_SOURCE = MPI_ANY_SOURCE;
    st->MPI_TAG = MPI_ANY_TAG;
    st->MPI_ERROR = MPI_SUCCESS;
    PMPI_Status_set_elements(st, MPI_BYTE, 0);
    PMPI_Status_set_cancelled(st, 0);
}

/* Single-completion calls leave the MPI_ERROR field alone. */
static void copy_status(MPI_Status *to, const MPI_Status *from)
{
    int err = to->MPI_ERROR;

    *to = *from;
    to->MPI_ERROR = err;
}

/* h has its message.  A started persistent receive stays counted in
 * ms.nheld (keeping the slow path on) until the application collects it
 * with a wait or test: MPI itself knows nothing of its completion. */
static void finish(struct ms__held *h)
{
    h->done = 1;
    held_unlink(h);
    if (h->req && h->req->kind == MS_REQ_PRECV)
        return;
    ms.nheld--;
    ms__update_slow();
    if (h->req)
        PMPI_Grequest_complete(h->req->handle);
}

void ms__held_cancel(struct ms__held *h)
{
    if (h->done)
        return;
    h->cancelled = 1;
    set_empty_status(&h->status);
    finish(h);
}

/* Receive queued message q into h. */
static void deliver_queued(struct ms__held *h, struct ms__qmsg *q,
                           struct ms__qmsg *prev)
{
    int rc, n = 0;

    ms__queue_unlink(h->c, q, prev);
    rc =
        PMPI_Recv(h->buf, h->count, h->dt, 0, q->selftag, ms.qcomm, &h->status);
    h->status.MPI_SOURCE = q->source;
    h->status.MPI_TAG = q->tag;
    h->status.MPI_ERROR = rc;
    if (!q->counted) {
        uint64_t pos = ms__count_recv(h->c, q->source, q->tag);
        if ((ms.window || ms.obs_window) && rc == MPI_SUCCESS) {
            PMPI_Get_count(&h->status, h->dt, &n);
            n = n == MPI_UNDEFINED ? 0 : n;
        }
        if (ms.window && rc == MPI_SUCCESS)
            ms__core_matched(h->c, q->source, q->tag, pos, h->buf, n, h->dt);
        if (ms.obs_window && rc == MPI_SUCCESS)
            ms__obs_matched(h->c, q->source, q->tag, pos, h->buf, n, h->dt);
    }
    ms__queue_release(q);
    finish(h);
}

/* In a checkpoint window, receive the matched network message whole into
 * the library's queue, counted and logged now: for a message matched by
 * MPI_Mprobe, whose receive may come after the window, and for one larger
 * than the receive it matched, so that the log holds what was sent and a
 * replay truncates again.  Returns it, first of its envelope on c. */
static struct ms__qmsg *pull_into_queue(struct ms__comm *c, MPI_Message *msg,
                                        MPI_Status *st, struct ms__qmsg **prev)
{
    uint64_t pos;
    void *data;
    int nbytes = 0;

    PMPI_Get_count(st, MPI_BYTE, &nbytes);
    data = malloc(nbytes ? (size_t)nbytes : 1);
    if (!data) {
        MS_ERROR("out of memory receiving a message: aborting job");
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    PMPI_Mrecv(data, nbytes, MPI_PACKED, msg, st);
    if (MS_UNLIKELY(ms.observe)) /* as ms__matched does */
        ms__obs_before_count();
    pos = ms__count_recv(c, st->MPI_SOURCE, st->MPI_TAG);
    ms__core_matched(c, st->MPI_SOURCE, st->MPI_TAG, pos, data, nbytes,
                     MPI_PACKED);
    if (ms.obs_window) /* still in flight for the application */
        ms__obs_matched(c, st->MPI_SOURCE, st->MPI_TAG, pos, data, nbytes,
                        MPI_PACKED);
    if (ms__queue_push(c, st->MPI_SOURCE, st->MPI_TAG, data, (uint64_t)nbytes,
                       1) < 0) {
        MS_ERROR("cannot queue a received message: aborting job");
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    free(data);
    /* No queued message matched the receive or probe that found this one,
     * so none earlier has its envelope. */
    return ms__queue_find(c, st->MPI_SOURCE, st->MPI_TAG, prev);
}

/* Does a message of status st hold more than h's buffer? */
static int truncates(const struct ms__held *h, MPI_Status *st)
{
    int nbytes = 0, size = 0;

    PMPI_Get_count(st, MPI_BYTE, &nbytes);
    PMPI_Type_size(h->dt, &size);
    return (long long)nbytes > (long long)h->count * size;
}

static void deliver_queued(struct ms__held *h, struct ms__qmsg *q,
                           struct ms__qmsg *prev);

/* Receive the matched network message (probed with status st) into h. */
static void deliver_message(struct ms__held *h, MPI_Message *msg,
                            MPI_Status *st)
{
    struct ms__qmsg *q, *prev;
    int n = 0;

    if (MS_UNLIKELY(ms.window) && truncates(h, st)) {
        q = pull_into_queue(h->c, msg, st, &prev);
        deliver_queued(h, q, prev); /* truncates, with the right status */
        return;
    }
    h->status.MPI_ERROR = PMPI_Mrecv(h->buf, h->count, h->dt, msg, &h->status);
    if (h->status.MPI_ERROR == MPI_SUCCESS)
        PMPI_Get_count(&h->status, h->dt, &n);
    ms__matched(h->c, &h->status, h->buf, n == MPI_UNDEFINED ? 0 : n, h->dt);
    finish(h);
}

/* The earliest held receive that matches (c, source, tag). */
static struct ms__held *earliest(struct ms__comm *c, int source, int tag)
{
    struct ms__held *h;

    for (h = ms.held_head; h && !matches(h, c, source, tag); h = h->next)
        ;
    return h;
}

/* Give one available message to the held receive it belongs to.
 * Returns 1 when a message was delivered.
 *
 * The first message h matches belongs to the earliest held receive e that
 * matches it; but e may be wider than h (ANY_TAG), and an earlier message
 * from the same source that h does not match may be e's (non-overtaking).
 * So look again with e's pattern at that source, until the message found
 * is the first one e matches there.  Probing does not match (Iprobe), so
 * nothing is taken until then; queued messages from a source precede its
 * network ones (drains take them in order). */
static int step(struct ms__held *h)
{
    struct ms__qmsg *q, *prev;
    struct ms__held *e;
    MPI_Message msg;
    MPI_Status st;
    int source = h->source, tag = h->tag, s, t, flag = 0;

    if (h->source == MPI_PROC_NULL) {
        set_empty_status(&h->status);
        finish(h);
        return 1;
    }
    for (;;) {
        q = ms__queue_find(h->c, source, tag, &prev);
        if (q) {
            s = q->source;
            t = q->tag;
        } else {
            PMPI_Iprobe(source, tag, h->c->handle, &flag, &st);
            if (!flag)
                return 0;
            s = st.MPI_SOURCE;
            t = st.MPI_TAG;
        }
        e = earliest(h->c, s, t);
        if (source == s && tag == e->tag)
            break;
        source = s;
        tag = e->tag;
    }
    if (q) {
        deliver_queued(e, q, prev);
        return 1;
    }
    /* The first message of its envelope: the one probed above. */
    PMPI_Improbe(s, t, h->c->handle, &flag, &msg, &st);
    deliver_message(e, &msg, &st);
    return 1;
}

static void progress_held(void)
{
    struct ms__held *h;

restart:
    for (h = ms.held_head; h; h = h->next)
        if (step(h))
            goto restart; /* the list changed */
}

static int in_progress;

void ms__progress(void)
{
    if (in_progress)
        return;
    in_progress = 1;
    progress_held();
    ms__core_poll();
    progress_held(); /* drains may have queued messages */
    ms__zombies_test();
    in_progress = 0;
}

static void idle(void)
{
    sched_yield();
}

/* Arguments MPI would reject: the library would otherwise hold such a
 * receive for ever (its Improbe fails at every turn).  The caller then
 * makes the PMPI call the application made, which fails as plain MPI does
 * (same error class, the communicator's error handler). */
static int bad_recv_args(int count, int source, int tag, struct ms__comm *c)
{
    return count < 0 ||
           (source != MPI_ANY_SOURCE && source != MPI_PROC_NULL &&
            (unsigned)source >= (unsigned)c->size) ||
           (tag != MPI_ANY_TAG && (tag < 0 || tag > ms.tag_ub));
}

int ms__slow_recv(void *buf, int count, MPI_Datatype dt, int source, int tag,
                  struct ms__comm *c, MPI_Status *st)
{
    struct ms__held h = {.buf = buf,
                         .count = count,
                         .dt = dt,
                         .source = source,
                         .tag = tag,
                         .c = c};

    if (MS_UNLIKELY(bad_recv_args(count, source, tag, c)))
        return PMPI_Recv(buf, count, dt, source, tag, c->handle, st);
    held_append(&h);
    for (;;) {
        ms__progress();
        if (h.done)
            break;
        idle();
    }
    if (st != MPI_STATUS_IGNORE)
        copy_status(st, &h.status);
    if (h.status.MPI_ERROR != MPI_SUCCESS)
        return PMPI_Comm_call_errhandler(c->handle, h.status.MPI_ERROR),
               h.status.MPI_ERROR;
    return MPI_SUCCESS;
}

/* Generalized-request callbacks of a held nonblocking receive. */
static int greq_query(void *extra, MPI_Status *st)
{
    struct ms__held *h = extra;

    *st = h->status;
    PMPI_Status_set_cancelled(st, h->cancelled);
    return h->cancelled ? MPI_SUCCESS : h->status.MPI_ERROR;
}

/* The held entry lives on until the request table forgets the request
 * (ms__req_forget): MPI frees a completed generalized request inside the
 * completion call, before the wrapper has accounted it, and an observation
 * may record in between. */
static int greq_free(void *extra)
{
    (void)extra;
    return MPI_SUCCESS;
}

static int greq_cancel(void *extra, int complete)
{
    struct ms__held *h = extra;

    if (!complete)
        ms__held_cancel(h);
    return MPI_SUCCESS;
}

int ms__slow_irecv(void *buf, int count, MPI_Datatype dt, int source, int tag,
                   struct ms__comm *c, MPI_Request *req)
{
    struct ms__held *h;
    int rc;

    if (MS_UNLIKELY(bad_recv_args(count, source, tag, c)))
        return PMPI_Irecv(buf, count, dt, source, tag, c->handle, req);
    if (!(h = calloc(1, sizeof *h)))
        return MPI_ERR_NO_MEM;
    *h = (struct ms__held){.buf = buf,
                           .count = count,
                           .dt = dt,
                           .source = source,
                           .tag = tag,
                           .c = c};
    rc = PMPI_Grequest_start(greq_query, greq_free, greq_cancel, h, req);
    if (rc != MPI_SUCCESS) {
        free(h);
        return rc;
    }
    h->req = ms__req_new(*req, MS_REQ_HELD, c);
    h->req->held = h;
    h->req->dt = dt; /* see ms__type_freed */
    h->req->peer = source;
    h->req->tag = tag;
    held_append(h);
    ms__progress();
    return MPI_SUCCESS;
}

int ms__slow_start_precv(struct ms__req *r)
{
    struct ms__held *h = calloc(1, sizeof *h);

    if (!h)
        return MPI_ERR_NO_MEM;
    /* .req: finish() keeps it in ms.nheld until the program collects it */
    *h = (struct ms__held){.req = r,
                           .buf = r->buf,
                           .count = r->count,
                           .dt = r->dt,
                           .source = r->peer,
                           .tag = r->tag,
                           .c = r->c};
    r->held = h;
    r->active = 1;
    r->posted = ++ms.nposts;
    ms.npending++;
    held_append(h);
    ms__progress();
    return MPI_SUCCESS;
}

int ms__test_one(MPI_Request *req, int *flag, MPI_Status *st)
{
    struct ms__req *r;
    int rc;

    if (*req == MPI_REQUEST_NULL) {
        *flag = 1;
        ms__empty_status(st);
        return MPI_SUCCESS;
    }
    r = ms__req_get(*req);
    if (r && r->kind == MS_REQ_PRECV && r->held) {
        struct ms__held *h = r->held;
        *flag = h->done;
        if (!h->done)
            return MPI_SUCCESS;
        int err = h->status.MPI_ERROR;
        copy_status(st, &h->status);
        PMPI_Status_set_cancelled(st, h->cancelled);
        ms__req_completed(r, st); /* clears r->held */
        free(h);
        ms.nheld--;
        ms__update_slow();
        return err;
    }
    if (r && r->kind == MS_REQ_PRECV && !r->active) {
        /* Inactive persistent request: complete, empty status. */
        *flag = 1;
        ms__empty_status(st);
        return MPI_SUCCESS;
    }
    rc = PMPI_Test(req, flag, st);
    if (*flag && r)
        ms__req_finish(r, st);
    return rc;
}

int ms__wait_own(MPI_Request *r)
{
    int flag = 0, rc;

    for (;;) {
        rc = PMPI_Test(r, &flag, MPI_STATUS_IGNORE);
        if (flag || rc != MPI_SUCCESS)
            return rc;
        ms__progress();
    }
}

int ms__slow_wait(MPI_Request *req, MPI_Status *st)
{
    int flag = 0, rc;

    for (;;) {
        ms__progress();
        rc = ms__test_one(req, &flag, st);
        if (flag || rc != MPI_SUCCESS)
            return rc;
        idle();
    }
}

static int probe(int source, int tag, struct ms__comm *c, int blocking,
                 int *flag, MPI_Status *st)
{
    struct ms__qmsg *q, *prev;
    int rc;

    for (;;) {
        ms__progress();
        *flag = 0;
        if (source == MPI_PROC_NULL) {
            set_empty_status(st);
            *flag = 1;
            return MPI_SUCCESS;
        }
        q = ms__queue_find(c, source, tag, &prev);
        if (q) {
            PMPI_Probe(0, q->selftag, ms.qcomm, st);
            st->MPI_SOURCE = q->source;
            st->MPI_TAG = q->tag;
            *flag = 1;
            return MPI_SUCCESS;
        }
        rc = PMPI_Iprobe(source, tag, c->handle, flag, st);
        if (rc != MPI_SUCCESS) /* invalid arguments: as plain MPI */
            return rc;
        /* A message an earlier held receive matches is not there for a
         * probe: let progress deliver it first. */
        if (*flag && !earliest(c, st->MPI_SOURCE, st->MPI_TAG))
            return MPI_SUCCESS;
        *flag = 0;
        if (!blocking)
            return MPI_SUCCESS;
        idle();
    }
}

static int mprobe(int source, int tag, struct ms__comm *c, int blocking,
                  int *flag, MPI_Message *msg, MPI_Status *st)
{
    struct ms__qmsg *q, *prev;
    struct ms__mmsg *m;
    int rc;

    for (;;) {
        ms__progress();
        *flag = 0;
        if (source == MPI_PROC_NULL) {
            set_empty_status(st);
            *msg = MPI_MESSAGE_NO_PROC;
            *flag = 1;
            return MPI_SUCCESS;
        }
        q = ms__queue_find(c, source, tag, &prev);
        if (q) {
            ms__queue_unlink(c, q, prev);
            PMPI_Mprobe(0, q->selftag, ms.qcomm, msg, st);
            st->MPI_SOURCE = q->source;
            st->MPI_TAG = q->tag;
            break;
        }
        /* As probe(): a message an earlier held receive matches (or one
         * before it, non-overtaking) is not there for this probe; progress
         * delivers those in order (step).  Iprobe matches nothing. */
        rc = PMPI_Iprobe(source, tag, c->handle, flag, st);
        if (rc != MPI_SUCCESS) /* invalid arguments: as plain MPI */
            return rc;
        if (*flag && !earliest(c, st->MPI_SOURCE, st->MPI_TAG)) {
            /* The first message of its envelope: the one probed. */
            PMPI_Improbe(st->MPI_SOURCE, st->MPI_TAG, c->handle, flag, msg, st);
            if (ms.window) {
                /* Its receive may come after the window: take it into
                 * the queue now, with its payload logged, and match it
                 * there. */
                q = pull_into_queue(c, msg, st, &prev);
                ms__queue_unlink(c, q, prev);
                PMPI_Mprobe(0, q->selftag, ms.qcomm, msg, st);
                st->MPI_SOURCE = q->source;
                st->MPI_TAG = q->tag;
            }
            break;
        }
        *flag = 0;
        if (!blocking)
            return MPI_SUCCESS;
        idle();
    }
    *flag = 1;
    m = calloc(1, sizeof *m);
    if (!m)
        return MPI_ERR_NO_MEM;
    *m = (struct ms__mmsg){.handle = *msg,
                           .c = c,
                           .source = st->MPI_SOURCE,
                           .tag = st->MPI_TAG,
                           .q = q};
    c->refs++; /* until the message is received */
    /* Matched now: counted now, unless a drain counted it already. */
    if (!q && MS_UNLIKELY(ms.observe)) /* as ms__matched does */
        ms__obs_before_count();
    if (!q || !q->counted)
        m->pos = ms__count_recv(c, st->MPI_SOURCE, st->MPI_TAG);
    ms__hmap_put(&ms.msgs, MS_KEY(*msg), m);
    ms.nmsgs++;
    return MPI_SUCCESS;
}

/* Probes are single-completion calls: they leave MPI_ERROR as it was (the
 * statuses above come from Improbe, the queue or the empty status). */
int ms__slow_probe(int source, int tag, struct ms__comm *c, int blocking,
                   int *flag, MPI_Status *st)
{
    int err = st->MPI_ERROR, rc = probe(source, tag, c, blocking, flag, st);

    st->MPI_ERROR = err;
    return rc;
}

int ms__slow_mprobe(int source, int tag, struct ms__comm *c, int blocking,
                    int *flag, MPI_Message *msg, MPI_Status *st)
{
    int err = st->MPI_ERROR,
        rc = mprobe(source, tag, c, blocking, flag, msg, st);

    st->MPI_ERROR = err;
    return rc;
}
