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
 * mpisnap_restore(); `name` becomes the dataset name in the snapshot.
 * Basic MPI types are stored as their HDF5 native type, others as bytes. */
MPISNAP_EXPORT int mpisnap_protect(const char *name, void *base, size_t count,
                                   MPI_Datatype type);

/* Restore the protected regions from the newest committed snapshot (or the
 * one MPISNAP_RESTART names).  1 restored, 0 fresh start, <0 error. */
MPISNAP_EXPORT int mpisnap_restore(void);

/* Safe point: call once per step on every rank, where the program can
 * resume.  1 when this call recorded a snapshot, MPISNAP_STOP when the job
 * should stop now, 0 otherwise, <0 error. */
MPISNAP_EXPORT int mpisnap_point(void);

/* Ask for a snapshot; any rank, any time.  Requests merge. */
MPISNAP_EXPORT int mpisnap_request(void);

/* Newest snapshot id committed by this run, -1 when none. */
MPISNAP_EXPORT long long mpisnap_last_committed(void);

MPISNAP_EXPORT const char *mpisnap_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* MPISNAP_H */
