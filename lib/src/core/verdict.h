/* Deciding stable properties from an observation's global record: is the
 * job deadlocked, quiescent, or still progressing?  Pure computation on
 * plain data (no MPI), so it is unit-tested alone.  docs/observe.md
 * explains the rules.  This file is private to mpisnap. */
#ifndef MPISNAP_VERDICT_H
#define MPISNAP_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A communicator one rank belongs to, as that rank reports it. */
struct ms__vcomm {
    uint64_t id;
    uint64_t ncoll; /* collectives this rank had started on it */
    char name[32];  /* "MPI_COMM_WORLD", the MPI_Comm_set_name name, or
                       "comm 3f2a..." */
};

/* A receive one rank has posted and not completed: a request of the
 * program (waited for or not), or the one its blocking call waits in. */
struct ms__vpost {
    uint64_t comm_id;
    int32_t peer; /* world rank, -1 any (MPI_ANY_SOURCE) */
    int32_t tag;  /* MPI_ANY_TAG as MPI defines it */
    int32_t need; /* the index in rec->needs of the RECV need it is; -1:
                     the call does not wait for it */
    int32_t pad;
};

/* One rank's part of the global record, as rank 0 holds it. */
struct ms__vrank {
    const struct ms__obsrec *rec; /* call, needs, in-flight counts */
    size_t ncomms;
    const struct ms__vcomm *comms;
    size_t nposted;                 /* its posted receives, in posting order; */
    const struct ms__vpost *posted; /* NULL: they are the RECV needs of
                                       rec, in their order */
};

enum { MS_V_PROGRESSING = 0, MS_V_DEADLOCK = 1, MS_V_QUIESCENT = 2 };

struct ms__verdict {
    int kind;       /* MS_V_* */
    size_t ncycle;  /* deadlock: the cycle in wait order (rank a waits for */
    int32_t *cycle; /* cycle[1], ... the last waits for cycle[0]) */
    size_t nstuck;  /* ranks that can never leave their call */
    int32_t *stuck;
    char *text; /* the report, one or more lines, each ending in '\n' */
};

/* Decide from nranks records (r[i] is world rank i).  0, or
 * MPISNAP_ENOMEM.  Free v with ms__verdict_free. */
int ms__verdict_decide(int nranks, const struct ms__vrank *r,
                       struct ms__verdict *v);
void ms__verdict_free(struct ms__verdict *v);
const char *ms__verdict_name(int kind); /* "deadlock", ... */

#endif
