/* The snapshot protocol (docs/protocol.md).  This file is private to
 * mpisnap. */
#ifndef MPISNAP_CORE_H
#define MPISNAP_CORE_H

#include "pmpi/pmpi.h"
#include "store/store.h"

/* Protected regions, in registration order. */
extern struct ms__region *ms__regions;
extern size_t ms__nregions;

int ms__core_point(void);
int ms__core_restore(void);
int ms__core_request(void);
long long ms__core_last_committed(void);

#endif
