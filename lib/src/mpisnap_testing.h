/* Test hooks: exported for mpisnap's own tests, not part of the API.
 * This file is private to mpisnap. */
#ifndef MPISNAP_TESTING_H
#define MPISNAP_TESTING_H

#include "mpisnap.h"

/* Collective over MPI_COMM_WORLD.  Checks that every stream balances:
 * messages rank k sent to rank i on (communicator, tag) == messages rank i
 * matched from k on that stream, for every communicator still alive.
 * Returns the number of unbalanced streams on all ranks (0: balanced) and
 * prints each imbalance on stderr. */
MPISNAP_EXPORT int mpisnap_test_balance(void);

/* Cumulative count of one stream on this rank.  dir 0: sent to peer,
 * dir 1: received (matched) from peer. */
MPISNAP_EXPORT unsigned long long mpisnap_test_count(MPI_Comm comm, int peer,
                                                     int tag, int dir);

/* Put a message into this rank's queue as if the library had drained it
 * from the network: as sent by `source` (rank in comm) with `tag`.  Later
 * application receives, probes and matched probes see it first.  It counts
 * as received when the application matches it, so a test that injects
 * must not call mpisnap_test_balance() afterwards. */
MPISNAP_EXPORT int mpisnap_test_enqueue(const void *buf, int count,
                                        MPI_Datatype type, int source, int tag,
                                        MPI_Comm comm);

/* Messages still in this rank's queue. */
MPISNAP_EXPORT int mpisnap_test_queued(void);

/* Application requests and MPI_Message handles pending on this rank. */
MPISNAP_EXPORT int mpisnap_test_pending(void);

/* 1 when the library matches receives itself right now. */
MPISNAP_EXPORT int mpisnap_test_libmatch(void);
/* 1 when MPISNAP_TRACE turned tracing on. */
MPISNAP_EXPORT int mpisnap_test_trace(void);

/* Stable id of a communicator (0 when unknown to the library). */
MPISNAP_EXPORT unsigned long long mpisnap_test_comm_id(MPI_Comm comm);

#endif
