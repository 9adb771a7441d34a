/* The snapshot protocol (docs/protocol.md).  This file is private to
 * mpisnap. */
#ifndef MPISNAP_CORE_H
#define MPISNAP_CORE_H

#include "pmpi/pmpi.h"
#include "store/store.h"

/* Tags on the private control communicator ms.ctl. */
enum { MS_TAG_REQUEST = 1, MS_TAG_START = 2, MS_TAG_MARKER = 3 };

/* What a REQUEST asks rank 0 for (bits). */
enum { MS_WANT_SNAPSHOT = 1, MS_WANT_STOP = 2 };

/* Ask rank 0 for a snapshot and/or a stop (any rank). */
void ms__core_want(int what);

/* Triggers (triggers.c): signal, halt file, end of the allocation. */
int ms__triggers_init(char *errbuf, size_t errlen);
/* At every safe point: what the triggers ask for (MS_WANT_* bits). */
int ms__triggers_poll(void);

/* Protected regions, in registration order. */
extern struct ms__region *ms__regions;
extern size_t ms__nregions;

/* Snapshot-wide state of this rank (snapshot.c). */
struct ms__core {
    uint64_t point;      /* safe-point index: mpisnap_point() calls */
    uint64_t skip_point; /* restored at this point: record nothing there */
    int64_t next_id;     /* id of the next snapshot */
    int64_t last_committed;
    uint64_t margin;   /* D: P = max(q) + D */
    int want;          /* rank 0: a snapshot was requested */
    int want_stop;     /* rank 0: stop once the next one commits */
    int want_stop_now; /* rank 0: ... and take that one at once */
    int stop_armed;    /* MPISNAP_EVERY: the next one is a stop one */
    int stop;          /* return MPISNAP_STOP from mpisnap_point */
    double last_end;   /* rank 0: when the last snapshot ended */
};
extern struct ms__core ms__core;

/* Pending restore: channel logs and counters of communicators the program
 * has not re-created yet (restore.c). */
void ms__restore_comm_created(struct ms__comm *c);

/* Stable-stream key helpers. */
static inline uint64_t ms__stream_key(uint64_t comm_id, int source, int tag)
{
    uint64_t k =
        ms__mix64(comm_id ^ ms__mix64(((uint64_t)(uint32_t)source << 32) |
                                      (uint32_t)tag));
    return k ? k : 1;
}

/* Observation snapshots (observe.c). */
int ms__obs_init(char *errbuf, size_t errlen);
void ms__obs_finalize(void);
int ms__obs_observe(void);
int ms__obs_property(const char *name, mpisnap_property_fn fn, int op,
                     void *arg);
int ms__obs_observed(const char *name, double *value, long long *id);

int ms__core_point(void);
int ms__core_restore(void);
int ms__core_request(void);
long long ms__core_last_committed(void);

#endif
