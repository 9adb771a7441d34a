/* Test hooks (mpisnap_testing.h): for mpisnap's own tests only. */
#include <stdio.h>
#include <stdlib.h>

#include "mpisnap_testing.h"
#include "pmpi/pmpi.h"

/* One stream count as exchanged by mpisnap_test_balance. */
struct rec {
    uint64_t comm_id;
    int32_t from, to; /* world ranks */
    int32_t tag;
    uint64_t n;
};

static size_t collect(struct rec **out, int dir)
{
    struct ms__comm *c;
    struct rec *v = NULL;
    size_t len = 0, cap = 0;
    int p;
    uint32_t i;

    for (c = ms.comm_list; c; c = c->next) {
        struct ms__stream *s = dir ? c->recv : c->sent;
        if (c->inter)
            continue;
        for (p = 0; p < c->size; p++) {
            for (i = 0; i <= s[p].nmore; i++) {
                struct ms__tagcount *t = i ? &s[p].more[i - 1] : &s[p].c;
                if (t->tag == MS_NO_TAG)
                    continue;
                if (len == cap) {
                    cap = cap ? 2 * cap : 64;
                    v = realloc(v, cap * sizeof *v);
                    if (!v)
                        PMPI_Abort(MPI_COMM_WORLD, 1);
                }
                v[len++] = (struct rec){
                    c->id, dir ? c->world[p] : ms.world_rank,
                    dir ? ms.world_rank : c->world[p], t->tag, t->n};
            }
        }
    }
    *out = v;
    return len;
}

static struct rec *gather_all(int dir, int *total)
{
    struct rec *mine, *all;
    int n, *counts = malloc((size_t)ms.world_size * sizeof *counts),
           *displs = malloc((size_t)ms.world_size * sizeof *displs), i;

    n = (int)collect(&mine, dir) * (int)sizeof(struct rec);
    PMPI_Allgather(&n, 1, MPI_INT, counts, 1, MPI_INT, ms.ctl);
    for (*total = 0, i = 0; i < ms.world_size; i++) {
        displs[i] = *total;
        *total += counts[i];
    }
    all = malloc((size_t)*total + 1);
    PMPI_Allgatherv(mine, n, MPI_BYTE, all, counts, displs, MPI_BYTE, ms.ctl);
    *total /= (int)sizeof(struct rec);
    free(mine);
    free(counts);
    free(displs);
    return all;
}

static uint64_t lookup(const struct rec *v, int n, const struct rec *k)
{
    int i;

    for (i = 0; i < n; i++)
        if (v[i].comm_id == k->comm_id && v[i].from == k->from &&
            v[i].to == k->to && v[i].tag == k->tag)
            return v[i].n;
    return 0;
}

int mpisnap_test_balance(void)
{
    int ns, nr, i, bad = 0, total = 0;
    struct rec *sent, *recv;

    ms__zombies_test(); /* their receives count once MPI completed them */
    sent = gather_all(0, &ns);
    recv = gather_all(1, &nr);

    /* Rank 0 compares every stream both ways. */
    if (ms.world_rank == 0) {
        for (i = 0; i < ns; i++)
            if (sent[i].n != lookup(recv, nr, &sent[i])) {
                fprintf(stderr,
                        "unbalanced stream comm %016llx %d->%d tag %d: sent "
                        "%llu, received %llu\n",
                        (unsigned long long)sent[i].comm_id, sent[i].from,
                        sent[i].to, sent[i].tag, (unsigned long long)sent[i].n,
                        (unsigned long long)lookup(recv, nr, &sent[i]));
                bad++;
            }
        for (i = 0; i < nr; i++)
            if (!lookup(sent, ns, &recv[i]) && recv[i].n) {
                fprintf(stderr,
                        "unbalanced stream comm %016llx %d->%d tag %d: sent "
                        "0, received %llu\n",
                        (unsigned long long)recv[i].comm_id, recv[i].from,
                        recv[i].to, recv[i].tag, (unsigned long long)recv[i].n);
                bad++;
            }
    }
    free(sent);
    free(recv);
    PMPI_Allreduce(&bad, &total, 1, MPI_INT, MPI_SUM, ms.ctl);
    return total;
}

unsigned long long mpisnap_test_count(MPI_Comm comm, int peer, int tag, int dir)
{
    struct ms__comm *c = ms__comm_get(comm);
    struct ms__stream *s;
    uint32_t i;

    if ((unsigned)peer >= (unsigned)c->size)
        return 0;
    s = dir ? &c->recv[peer] : &c->sent[peer];
    if (s->c.tag == tag)
        return s->c.n;
    for (i = 0; i < s->nmore; i++)
        if (s->more[i].tag == tag)
            return s->more[i].n;
    return 0;
}

int mpisnap_test_enqueue(const void *buf, int count, MPI_Datatype type,
                         int source, int tag, MPI_Comm comm)
{
    struct ms__comm *c = ms__comm_get(comm);
    int size = 0, pos = 0, rc;
    void *packed;

    PMPI_Pack_size(count, type, comm, &size);
    packed = malloc(size ? (size_t)size : 1);
    if (!packed)
        return MPISNAP_ENOMEM;
    PMPI_Pack(buf, count, type, packed, size, &pos, comm);
    rc = ms__queue_push(c, source, tag, packed, (uint64_t)pos, 0);
    free(packed);
    return rc;
}

int mpisnap_test_queued(void)
{
    return (int)ms.nqueued;
}

int mpisnap_test_pending(void)
{
    ms__zombies_test();
    return (int)(ms.npending + ms.nmsgs);
}

int mpisnap_test_libmatch(void)
{
    return ms.slow;
}

int mpisnap_test_trace(void)
{
    return ms.trace;
}

unsigned long long mpisnap_test_comm_id(MPI_Comm comm)
{
    struct ms__comm *c = ms__hmap_get(&ms.comms, MS_KEY(comm));

    return c ? c->id : 0;
}
