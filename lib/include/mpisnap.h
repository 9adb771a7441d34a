/* mpisnap: consistent global snapshots of running MPI jobs.
 *
 * Link the application with -lmpisnap before -lmpi (or LD_PRELOAD
 * libmpisnap.so): the library interposes on MPI through the PMPI profiling
 * interface.  A program that never calls the functions below runs unchanged.
 *
 * Return values: 0 or positive on success, a negative MPISNAP_E* code on
 * failure; mpisnap_strerror() turns a code into text. */
#ifndef MPISNAP_H
#define MPISNAP_H

#include <stddef.h>

#include <mpi.h>

#include "mpisnap/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MPISNAP_EXPORT __attribute__((visibility("default")))
#else
#define MPISNAP_EXPORT
#endif

/* XX(name, text): one list feeds the enum and mpisnap_strerror(). */
#define MPISNAP_ERRNO_MAP(XX)                                                  \
    XX(EINVAL, "invalid argument")                                             \
    XX(ENOMEM, "out of memory")                                                \
    XX(ESTATE, "called at the wrong time")                                     \
    XX(EEXIST, "name already protected")                                       \
    XX(EIO, "snapshot I/O failed")                                             \
    XX(ECORRUPT, "snapshot is damaged")                                        \
    XX(EMISMATCH, "snapshot does not match this run")                          \
    XX(ENOSNAP, "no such snapshot")                                            \
    XX(EVERSION, "snapshot format version not supported")                      \
    XX(EABORTED, "snapshot aborted")                                           \
    XX(EUNSUPPORTED, "MPI feature not supported by mpisnap")                   \
    XX(EMPI, "MPI call failed")

enum mpisnap_errno {
    MPISNAP_OK = 0,
    MPISNAP_ERRNO_BASE_ = -1000,
#define MPISNAP_XX_ENUM_(name, text) MPISNAP_##name,
    MPISNAP_ERRNO_MAP(MPISNAP_XX_ENUM_)
#undef MPISNAP_XX_ENUM_
};

/* mpisnap_point() returns this when the job should finalize and exit now
 * (a stop was requested and its snapshot is committed). */
#define MPISNAP_STOP 2

/* Register a region of this rank's state.  Call after MPI_Init and before
 * mpisnap_restore() (MPISNAP_ESTATE otherwise); `name` becomes the dataset
 * name in the snapshot.  Basic MPI types are stored as their HDF5 native
 * type, others as bytes. */
MPISNAP_EXPORT int mpisnap_protect(const char *name, void *base, size_t count,
                                   MPI_Datatype type);

/* Restore the protected regions from the newest committed snapshot every
 * rank can read (or the one MPISNAP_RESTART names).  Collective: call once,
 * on every rank; a second call is MPISNAP_ESTATE.  1 restored, 0 fresh
 * start, <0 error.  All or nothing: on an error no rank's regions were
 * written, so the program can start fresh (restoring holds a second copy
 * of the protected state in memory for a moment). */
MPISNAP_EXPORT int mpisnap_restore(void);

/* Safe point: call once per step on every rank, where the program can
 * resume.  1 when this call recorded a snapshot, MPISNAP_STOP when the job
 * should stop now, 0 otherwise, <0 error. */
MPISNAP_EXPORT int mpisnap_point(void);

/* Ask for a snapshot; any rank, any time.  Requests merge. */
MPISNAP_EXPORT int mpisnap_request(void);

/* Newest snapshot id committed by this run, -1 when none. */
MPISNAP_EXPORT long long mpisnap_last_committed(void);

/* ---- observation snapshots (docs/observe.md) ----
 * A consistent record of the live job, taken inside whatever MPI call each
 * rank is in, to decide deadlock, quiescence and program-defined
 * properties.  Needs MPISNAP_OBSERVE=1 (or MPISNAP_HANG_AFTER) at start.
 * Observation snapshots are written to $MPISNAP_DIR/observe and are never
 * used for a restart. */

/* Start an observation; any rank, any time.  Several initiators of the
 * same observation merge.  0, or MPISNAP_ESTATE when observation is off. */
MPISNAP_EXPORT int mpisnap_observe(void);

/* One message in flight to this rank at an observation's cut. */
struct mpisnap_msg {
    MPI_Comm comm;
    int source, tag; /* source: rank in comm */
    size_t nbytes;   /* packed bytes */
    const void *data;
};

/* This rank's part of an observation, as its property functions see it. */
struct mpisnap_view {
    long long id; /* observation id */
    int complete; /* every message in flight to this rank is in msgs */
    size_t nmsgs;
    const struct mpisnap_msg *msgs;
};

/* A protected region as this rank recorded it (NULL when no such name);
 * *count elements of the type it was protected with. */
MPISNAP_EXPORT const void *mpisnap_view_region(const struct mpisnap_view *v,
                                               const char *name, size_t *count);

enum mpisnap_op { MPISNAP_SUM = 0, MPISNAP_MIN = 1, MPISNAP_MAX = 2 };

/* A program-defined property: at every observation each rank calls fn on
 * its record (no MPI calls inside fn), and the library combines the values
 * of all ranks with op.  Register the same names in the same order on
 * every rank, after MPI_Init. */
typedef double (*mpisnap_property_fn)(const struct mpisnap_view *v, void *arg);
MPISNAP_EXPORT int mpisnap_property(const char *name, mpisnap_property_fn fn,
                                    enum mpisnap_op op, void *arg);

/* The property's combined value at the newest finished observation, on
 * every rank.  1: *value is valid and *id names the observation; 0: no
 * observation finished yet, or some rank lacked the payload of a message in
 * flight (the value would be partial); <0 error. */
MPISNAP_EXPORT int mpisnap_observed(const char *name, double *value,
                                    long long *id);

MPISNAP_EXPORT const char *mpisnap_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* MPISNAP_H */
