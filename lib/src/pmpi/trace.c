/* MPISNAP_TRACE=1: each rank keeps a ring of its most recent events
 * (sends, matches, its cut, markers), stored in its rank file so that
 * `mpisnap draw` can show the messages around a cut. */
#include <stdlib.h>
#include <time.h>

#include "pmpi/pmpi.h"
#include "store/store.h"

static struct ms__trace_ev *ring;
static size_t cap, next, count;

int ms__trace_init(void)
{
    if (!ms__cfg.trace)
        return 0;
    cap = ms__cfg.trace_size;
    ring = calloc(cap, sizeof *ring);
    if (!ring)
        return MPISNAP_ENOMEM;
    ms.trace = 1;
    return 0;
}

void ms__trace(int kind, struct ms__comm *c, int peer, int tag, uint64_t pos)
{
    struct timespec ts;
    struct ms__trace_ev *e = &ring[next];

    clock_gettime(CLOCK_REALTIME, &ts);
    e->t = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    e->kind = kind;
    e->peer = c && peer >= 0 && peer < c->size ? c->world[peer] : peer;
    e->tag = tag;
    e->pad = 0;
    e->comm_id = c ? c->id : 0;
    e->pos = pos;
    next = (next + 1) % cap;
    if (count < cap)
        count++;
}

struct ms__trace_ev *ms__trace_copy(size_t *n)
{
    struct ms__trace_ev *v;
    size_t i, first;

    *n = 0;
    if (!ms.trace || !count || !(v = malloc(count * sizeof *v)))
        return NULL;
    first = (next + cap - count) % cap;
    for (i = 0; i < count; i++)
        v[i] = ring[(first + i) % cap];
    *n = count;
    return v;
}
