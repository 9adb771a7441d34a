/* Communicators: stable ids that need no communication, groups as world
 * ranks, dense per-peer stream slots. */
#include <stdlib.h>

#include "pmpi/pmpi.h"

struct ms__state ms;

/* id = hash(parent id, ordinal of the creation call on the parent, colour,
 * members as world ranks): every member computes the same id without
 * communication (each knows its group), communicators with different
 * groups made by one call (MPI_Comm_create with disjoint groups,
 * MPI_Cart_sub, MPI_Comm_split_type on several nodes) get different ids,
 * and a restarted run that re-creates its communicators in the same order
 * gets the same ids. */
static uint64_t comm_id(uint64_t parent, uint64_t ordinal, int64_t color,
                        const int *world, int size)
{
    uint64_t h = ms__mix64(parent ^ 0x6d70697336e61700ULL);
    int i;

    h = ms__mix64(h ^ ordinal);
    h = ms__mix64(h ^ (uint64_t)color);
    for (i = 0; i < size; i++)
        h = ms__mix64(h ^ (uint64_t)(uint32_t)world[i]);
    /* 1 and 2 are MPI_COMM_WORLD and MPI_COMM_SELF */
    return h > 2 ? h : h + 3;
}

/* id 0: computed by comm_id from the other fields and the group. */
static struct ms__comm *comm_add(MPI_Comm handle, uint64_t id, uint64_t parent,
                                 uint64_t ordinal, int64_t color)
{
    struct ms__comm *c = calloc(1, sizeof *c);
    MPI_Group g, wg;
    int *ranks = NULL, i, inter = 0;

    if (!c)
        goto oom;
    PMPI_Comm_test_inter(handle, &inter);
    c->handle = handle;
    c->id = id;
    c->parent = parent;
    c->ordinal = ordinal;
    c->color = color;
    c->inter = inter;
    c->refs = 1;
    PMPI_Comm_rank(handle, &c->rank);
    if (inter)
        PMPI_Comm_remote_size(handle, &c->size);
    else
        PMPI_Comm_size(handle, &c->size);
    c->world = malloc((size_t)c->size * sizeof *c->world);
    ranks = malloc((size_t)c->size * sizeof *ranks);
    c->sent = calloc((size_t)c->size, sizeof *c->sent);
    c->recv = calloc((size_t)c->size, sizeof *c->recv);
    if (!c->world || !ranks || !c->sent || !c->recv)
        goto oom;
    for (i = 0; i < c->size; i++) {
        ranks[i] = i;
        c->sent[i].c.tag = c->recv[i].c.tag = MS_NO_TAG;
    }
    if (inter)
        PMPI_Comm_remote_group(handle, &g);
    else
        PMPI_Comm_group(handle, &g);
    PMPI_Comm_group(MPI_COMM_WORLD, &wg);
    PMPI_Group_translate_ranks(g, c->size, ranks, wg, c->world);
    PMPI_Group_free(&g);
    PMPI_Group_free(&wg);
    free(ranks);
    if (!id)
        c->id = comm_id(parent, ordinal, color, c->world, c->size);
    if (ms__hmap_put(&ms.comms, MS_KEY(handle), c) < 0)
        goto oom;
    c->next = ms.comm_list;
    ms.comm_list = c;
    return c;
oom:
    MS_ERROR("out of memory registering a communicator: aborting job");
    PMPI_Abort(MPI_COMM_WORLD, 1);
    return NULL;
}

static void comm_destroy(struct ms__comm *c)
{
    int i;

    for (i = 0; i < c->size; i++) {
        free(c->sent[i].more);
        free(c->recv[i].more);
    }
    /* Queued messages nobody received: take each out of ms.qcomm, so its
     * self-send completes before its buffer is freed. */
    while (c->qhead) {
        struct ms__qmsg *m = c->qhead;
        ms__queue_unlink(c, m, NULL);
        PMPI_Recv(m->data, (int)m->nbytes, MPI_PACKED, 0, m->selftag, ms.qcomm,
                  MPI_STATUS_IGNORE);
        ms__queue_release(m);
    }
    free(c->sent);
    free(c->recv);
    free(c->world);
    free(c);
}

struct ms__comm *ms__comm_lookup_slow(MPI_Comm comm)
{
    struct ms__comm *c = ms__hmap_get(&ms.comms, MS_KEY(comm));

    if (!c) {
        /* Made by a call we do not wrap (or before MPI_Init completed):
         * give it an id from its handle on the world communicator so that
         * counting still works; a snapshot stores it like any other. */
        MS_DEBUG("communicator not created through a wrapper: registering");
        c = comm_add(comm, 0, 0, MS_KEY(comm), -7);
    }
    ms.last_comm = comm;
    ms.last_c = c;
    return c;
}

void ms__comm_created(struct ms__comm *parent, uint64_t ordinal, int64_t color,
                      MPI_Comm newcomm, const char *call, const void *site)
{
    struct ms__comm *c = NULL;

    if (newcomm != MPI_COMM_NULL) {
        c = comm_add(newcomm, 0, parent->id, ordinal, color);
        c->call = call;
        c->site = site;
        if (c->inter)
            ms__unsupported(MS_UNSUP_INTERCOMM, "intercommunicator");
    }
    /* The creation received messages from the other members, maybe sent
     * after their record of an observation: look for markers, as before
     * counting a received message, before the program has the new
     * communicator.  A rank that records now holds it, with no message on
     * it yet: members that created it earlier may have sent on it before
     * their own record, or wait on it for any member. */
    if (MS_UNLIKELY(ms.observe))
        ms__obs_before_count();
    if (c)
        ms__restore_comm_created(c);
}

/* The last user of a communicator the application freed is gone: its
 * final counts go to the cut's ledger of freed communicators (kept until
 * their streams balance), then its state goes. */
void ms__comm_unref(struct ms__comm *c)
{
    struct ms__comm **p;

    if (c && --c->refs == 0) {
        if (c->app_freed || c->free_pending) {
            for (p = &ms.freed_list; *p && *p != c; p = &(*p)->next)
                ;
            if (*p)
                *p = c->next;
        }
        ms__cut_comm_freed(c);
        comm_destroy(c);
    }
}

void ms__comm_held(struct ms__comm *c, int d)
{
    c->nheld += d;
    if (c->nheld == 0 && c->free_pending) {
        c->free_pending = 0;
        c->app_freed = 1;
        PMPI_Comm_free(&c->handle);
    }
}

int ms__comm_freed(MPI_Comm comm, int can_defer)
{
    struct ms__comm *c = ms__hmap_del(&ms.comms, MS_KEY(comm)), **p;
    int deferred;

    if (!c)
        return 0;
    for (p = &ms.comm_list; *p != c; p = &(*p)->next)
        ;
    *p = c->next;
    if (ms.last_c == c) {
        ms.last_comm = ms.world->handle;
        ms.last_c = ms.world;
    }
    /* Requests and matched messages on it keep its state until they
     * complete; the handle is the application's no more. */
    deferred = can_defer && c->nheld > 0;
    c->free_pending = deferred;
    c->app_freed = !deferred;
    if (c->refs > 1) { /* still used: its counts still go into cuts */
        c->next = ms.freed_list;
        ms.freed_list = c;
    }
    ms__comm_unref(c);
    return deferred;
}

int ms__comm_init(void)
{
    ms.world = comm_add(MPI_COMM_WORLD, 1, 0, 0, 0);
    ms.self = comm_add(MPI_COMM_SELF, 2, 0, 1, 0);
    ms.last_comm = MPI_COMM_WORLD;
    ms.last_c = ms.world;
    return 0;
}

void ms__comm_fini(void)
{
    while (ms.comm_list) {
        struct ms__comm *c = ms.comm_list;
        ms.comm_list = c->next;
        comm_destroy(c);
    }
    while (ms.freed_list) {
        struct ms__comm *c = ms.freed_list;
        ms.freed_list = c->next;
        comm_destroy(c);
    }
    ms__hmap_free(&ms.comms);
    ms.last_comm = MPI_COMM_NULL;
    ms.last_c = NULL;
}

struct ms__comm *ms__comm_first(void)
{
    return ms.comm_list ? ms.comm_list : ms.freed_list;
}

struct ms__comm *ms__comm_next(const struct ms__comm *c)
{
    if (c->next || c->app_freed || c->free_pending)
        return c->next;
    return ms.freed_list; /* the end of the live list */
}

struct ms__comm *ms__comm_by_id(uint64_t id)
{
    struct ms__comm *c;

    for (c = ms__comm_first(); c && c->id != id; c = ms__comm_next(c))
        ;
    return c;
}
