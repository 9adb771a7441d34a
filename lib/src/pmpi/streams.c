/* Stream counters: the slow path of the one-tag cache. */
#include <stdlib.h>

#include "pmpi/pmpi.h"

/* Make `tag` the cached tag of s and return its counter.  The previously
 * cached tag moves to `more`; programs that rotate over many tags pay a
 * linear search here, never on the cached path. */
struct ms__tagcount *ms__stream_find(struct ms__stream *s, int tag)
{
    struct ms__tagcount tmp;
    uint32_t i;

    if (s->c.tag == tag)
        return &s->c;
    if (s->c.tag == MS_NO_TAG) {
        s->c = (struct ms__tagcount){.tag = tag};
        return &s->c;
    }
    for (i = 0; i < s->nmore && s->more[i].tag != tag; i++)
        ;
    if (i == s->nmore) {
        if (s->nmore == s->capmore) {
            uint32_t cap = s->capmore ? 2 * s->capmore : 4;
            void *p = realloc(s->more, cap * sizeof *s->more);
            if (!p) {
                MS_ERROR("out of memory for stream counters: aborting job");
                PMPI_Abort(MPI_COMM_WORLD, 1);
            }
            s->more = p;
            s->capmore = cap;
        }
        s->more[s->nmore++] = (struct ms__tagcount){.tag = tag};
    }
    tmp = s->c;
    s->c = s->more[i];
    s->more[i] = tmp;
    return &s->c;
}
