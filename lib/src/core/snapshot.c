/* Placeholder protocol: replaced by the real one (in progress). */
#include "core/core.h"

int ms__core_init(void) { return 0; }
void ms__core_finalize(void) {}
void ms__core_poll(void) {}
void ms__core_matched(struct ms__comm *c, int source, int tag, uint64_t pos,
                      const void *buf, int count, MPI_Datatype dt)
{
    (void)c; (void)source; (void)tag; (void)pos; (void)buf; (void)count; (void)dt;
}
int ms__core_point(void) { return 0; }
int ms__core_restore(void) { return 0; }
int ms__core_request(void) { return 0; }
long long ms__core_last_committed(void) { return -1; }
