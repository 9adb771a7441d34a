/* The message queue: messages the library received for the application
 * (drained in a snapshot window, or replayed after a restart).  Each is
 * self-sent on the private communicator ms.qcomm at once, so serving it is
 * an ordinary MPI receive there with the application's buffer and
 * datatype; only source and tag of the status are patched. */
#include <stdlib.h>

#include "pmpi/pmpi.h"

int ms__queue_push(struct ms__comm *c, int source, int tag, const void *data,
                   uint64_t nbytes, int counted)
{
    struct ms__qmsg *m = calloc(1, sizeof *m);
    int rc;

    if (!m || (nbytes && !(m->data = malloc(nbytes)))) {
        free(m);
        return MPISNAP_ENOMEM;
    }
    if (nbytes > (uint64_t)INT32_MAX) {
        free(m->data);
        free(m);
        return MPISNAP_EUNSUPPORTED;
    }
    if (nbytes)
        memcpy(m->data, data, nbytes);
    m->source = source;
    m->tag = tag;
    m->counted = counted;
    m->nbytes = nbytes;
    m->selftag = ms.next_selftag;
    ms.next_selftag = ms.next_selftag == ms.tag_ub ? 0 : ms.next_selftag + 1;
    rc = PMPI_Isend(m->data, (int)nbytes, MPI_PACKED, 0, m->selftag, ms.qcomm,
                    &m->sreq);
    if (rc != MPI_SUCCESS) {
        free(m->data);
        free(m);
        return MPISNAP_EMPI;
    }
    if (c->qtail)
        c->qtail->next = m;
    else
        c->qhead = m;
    c->qtail = m;
    ms.nqueued++;
    ms__update_slow();
    return 0;
}

struct ms__qmsg *ms__queue_find(struct ms__comm *c, int source, int tag,
                                struct ms__qmsg **prev)
{
    struct ms__qmsg *m, *p = NULL;

    for (m = c->qhead; m; p = m, m = m->next)
        if ((source == MPI_ANY_SOURCE || source == m->source) &&
            (tag == MPI_ANY_TAG || tag == m->tag)) {
            *prev = p;
            return m;
        }
    return NULL;
}

void ms__queue_unlink(struct ms__comm *c, struct ms__qmsg *m,
                      struct ms__qmsg *prev)
{
    if (prev)
        prev->next = m->next;
    else
        c->qhead = m->next;
    if (c->qtail == m)
        c->qtail = prev;
    m->next = NULL;
    ms.nqueued--;
    ms__update_slow();
}

void ms__queue_release(struct ms__qmsg *m)
{
    PMPI_Wait(&m->sreq, MPI_STATUS_IGNORE);
    free(m->data);
    free(m);
}
