/* The cut: what a record needs, shared by checkpoint snapshots (snapshot.c)
 * and observation snapshots (observe.c), so that a case handled once is
 * handled for both (docs/protocol.md, "Where the code is").
 *
 * - the stream counts at the cut: of live communicators and of the ledger
 *   of freed ones (a message sent on a communicator its sender freed is
 *   still in flight, and its receiver needs the sender's count);
 * - the messages the library holds: counted as received but not yet
 *   delivered to the program (drained into the queue, matched with
 *   MPI_Mprobe, held receives not yet collected).  For the program they are
 *   in flight: at a record they are taken out of R and logged.
 * This file is private to mpisnap. */
#ifndef MPISNAP_CUT_H
#define MPISNAP_CUT_H

#include "core/core.h"

/* One stream count of this rank at a cut. */
struct ms__cut_count {
    struct ms__comm *c; /* NULL: a freed communicator's (the ledger) */
    uint64_t comm_id;
    int32_t me;    /* this rank's rank in the communicator */
    int32_t peer;  /* the other end's rank in it */
    int32_t world; /* the other end's world rank */
    int32_t dir;   /* 0: sent to peer, 1: received from peer */
    int32_t tag;
    uint64_t n;    /* cumulative count */
    uint64_t base; /* sent: the count the peer knows from the last
                      committed checkpoint (markers are sparse) */
};

typedef void ms__cut_count_fn(void *arg, const struct ms__cut_count *k);

/* Call fn for every stream count (tag in use): the intracommunicators that
 * are live or still in use (ms__comm_first), then the ledger of freed ones. */
void ms__cut_counts(ms__cut_count_fn *fn, void *arg);

/* The ledger of freed communicators: every nonzero count of a freed
 * communicator, and its record, for the rest of the run.  Its sent counts
 * go into markers while their receivers may not know them (sparse
 * checkpoint markers: n != base; observation markers carry all), its
 * received counts keep the orphan check, and both go into rank files so
 * that `mpisnap verify` sees both ends of each channel. */
size_t ms__cut_ledger_len(void);
/* The records of the freed communicators in the ledger. */
size_t ms__cut_freed_comms(const struct ms__commrec **recs);
/* A checkpoint that recorded with the first `n` ledger entries committed:
 * their sent counts are now the bases of sparse markers. */
void ms__cut_ledger_committed(size_t n);
/* ... and the sender's count it used for a freed received stream. */
void ms__cut_ledger_recv_base(uint64_t comm_id, int peer, int tag,
                              uint64_t base);
void ms__cut_ledger_free(void);

/* Messages the library holds: counted, not delivered to the program. */
struct ms__cut_ops {
    /* This rank's R of the stream at the cut (to lower). */
    uint64_t *(*R)(void *arg, uint64_t comm_id, int source, int tag);
    /* Log one as in flight at position pos (0: unknown), payload count
     * elements of dt in buf (MPI_PACKED: bytes). */
    void (*log)(void *arg, struct ms__comm *c, int source, int tag,
                uint64_t pos, const void *buf, int count, MPI_Datatype dt);
};

/* At a record, after the counts: take every message the library holds out
 * of its stream's R and log it.  Queued messages (drained, counted) hold
 * the last positions of their stream, in queue order, and are logged with
 * their payloads at once; a message matched with MPI_Mprobe from the
 * network is marked (mmsg->at_cut) and logged when the program receives
 * it; a held receive done but not collected is logged from its buffer. */
void ms__cut_undelivered(const struct ms__cut_ops *ops, void *arg);

#endif
