/* Snapshot files: HDF5 rank files, the index, commit and retention.
 * This file is private to mpisnap.  It knows nothing of MPI: the command-line
 * tool links it without MPI.  Layout: docs/format.md. */
#ifndef MPISNAP_STORE_H
#define MPISNAP_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Element types of a protected region.  MS_T_BYTES: opaque bytes. */
enum ms__etype {
    MS_T_BYTES = 0,
    MS_T_CHAR,
    MS_T_SCHAR,
    MS_T_UCHAR,
    MS_T_SHORT,
    MS_T_USHORT,
    MS_T_INT,
    MS_T_UINT,
    MS_T_LONG,
    MS_T_ULONG,
    MS_T_LLONG,
    MS_T_ULLONG,
    MS_T_FLOAT,
    MS_T_DOUBLE,
    MS_T_LDOUBLE,
    MS_T_INT8,
    MS_T_INT16,
    MS_T_INT32,
    MS_T_INT64,
    MS_T_UINT8,
    MS_T_UINT16,
    MS_T_UINT32,
    MS_T_UINT64,
    MS_T_COUNT_
};
const char *ms__etype_name(int etype); /* "double", "bytes", ... */

struct ms__region {
    char name[64];
    void *base;     /* application memory */
    uint64_t count; /* elements of etype (bytes for MS_T_BYTES) */
    int etype;
    uint64_t bytes; /* count * element size */
};

/* One message in flight across the cut (channel state). */
struct ms__msg {
    uint64_t comm_id; /* stable communicator id */
    int32_t source;   /* rank in that communicator */
    int32_t tag;
    uint64_t pos;    /* position in its (comm, source, tag) stream, from 1 */
    uint64_t nbytes; /* packed bytes */
    unsigned char *data;
};

/* What identifies a communicator's creation across runs of the same
 * program, so that a restart can tell when another communicator took its
 * id (docs/protocol.md).  All "" / 0: not known (MPI_COMM_WORLD, a
 * snapshot written before these were stored). */
struct ms__commident {
    uint64_t offset;  /* call site: return address - the module's base */
    char call[32];    /* creating call: "MPI_Comm_dup", ... */
    char module[128]; /* basename of the module holding the call site */
    char build[48];   /* the module's GNU build id in hex, "" none */
    char name[64];    /* its MPI_Comm_set_name name at the cut, "" none */
};

/* A live communicator: stable id = (parent, ordinal, color, group). */
struct ms__commrec {
    uint64_t id, parent, ordinal;
    int64_t color;
    uint64_t ncoll; /* collectives started on it before the cut */
    int32_t size;
    int32_t *world; /* [size]: world rank of each member */
    struct ms__commident ident;
};

/* A cumulative stream counter at the cut.  dir 0: sent to peer, 1: received
 * from peer (matched). */
struct ms__counter {
    uint64_t comm_id;
    int32_t peer, tag;
    int32_t dir;
    uint64_t count;
};

/* One traced event (MPISNAP_TRACE=1): a bounded ring of the most recent
 * events per rank, for `mpisnap draw`. */
enum ms__ev_kind {
    MS_EV_SEND = 1,        /* application send started: pos = its position */
    MS_EV_RECV = 2,        /* message matched: pos = its position */
    MS_EV_CUT = 3,         /* this rank recorded (pos = safe point P) */
    MS_EV_MARKER_SEND = 4, /* marker sent to peer */
    MS_EV_MARKER_RECV = 5  /* marker received from peer */
};
struct ms__trace_ev {
    double t; /* seconds since the epoch (CLOCK_REALTIME) */
    int32_t kind;
    int32_t peer; /* world rank of the other side (-1 none) */
    int32_t tag;
    int32_t pad;
    uint64_t comm_id;
    uint64_t pos;
};

/* ---- observation snapshots (docs/observe.md) ----
 * What a rank's current MPI call waits for.  Peers are world ranks. */
enum ms__need_kind {
    MS_NEED_RECV = 1, /* a message on (comm_id, peer, tag); peer -1: any
                         member of the communicator (MPI_ANY_SOURCE) */
    MS_NEED_SEND = 2, /* peer to receive the message this rank sends on
                         (comm_id, tag) (Ssend, rendezvous Send) */
    MS_NEED_COLL = 3  /* every member of comm_id to start collective number
                         ncoll on it (counted from 1) */
};
struct ms__need {
    int32_t kind;
    int32_t peer; /* world rank, -1 any (MS_NEED_RECV only) */
    int32_t tag;  /* MPI_ANY_TAG as MPI defines it (MS_NEED_RECV) */
    int32_t pad;
    uint64_t comm_id;
    uint64_t ncoll; /* MS_NEED_COLL */
};

/* A rank's state at an observation's record: its call and in-flight
 * message counts.  Written as the /observe group of the rank file. */
struct ms__obsrec {
    char call[32];  /* "MPI_Recv", ...; "computing" when not in MPI */
    int32_t mode;   /* 0: waits for all needs (Wait, Waitall, a blocking
                       call); 1: for any one of them (Waitany, Waitsome) */
    double t_enter; /* seconds since the epoch when the call began */
    double waited;  /* seconds in the call when this rank recorded */
    size_t nneeds;
    struct ms__need *needs;
    /* Messages in flight to this rank per stream: dir 1, peer = world rank
     * of the sender, count = how many (sent before the sender's record,
     * not yet matched by this rank at its record). */
    size_t ninflight;
    struct ms__counter *inflight;
};

/* A program-defined property combined over all ranks (mpisnap.h). */
struct ms__property {
    char name[64];
    int32_t op;       /* enum mpisnap_op, stored as is: MPISNAP_SUM 0,
                         MPISNAP_MIN 1, MPISNAP_MAX 2 (docs/format.md) */
    int32_t complete; /* every rank had every in-flight payload */
    double value;
};
const char *ms__property_op_name(int op); /* "sum", "min", "max", "?" */

/* Everything one rank writes into rank-NNNNNN.h5. */
struct ms__rankdata {
    int32_t rank, nranks;
    uint64_t snap_id;
    uint64_t point; /* safe-point index P */
    double time;    /* seconds since the epoch when recorded */
    size_t nregions;
    struct ms__region *regions;
    size_t nmsgs;
    struct ms__msg *msgs;
    size_t ncomms;
    struct ms__commrec *comms;
    size_t ncounters;
    struct ms__counter *counters;
    size_t ntrace;              /* 0: no /trace dataset */
    struct ms__trace_ev *trace; /* oldest first */
    int32_t observation;        /* 1: an observation snapshot (kind
                                   attribute "observation"): never restored */
    struct ms__obsrec obs;      /* observation == 1 */
};

/* index.h5, written by rank 0 once every rank is done. */
struct ms__index {
    uint64_t snap_id;
    int32_t nranks;
    uint64_t point;
    double t_start, t_end;
    char app[256];
    uint64_t *checksums; /* [nranks]: checksum of each rank file */
    uint64_t bytes;      /* total bytes of all rank files */
    uint64_t nmsgs;      /* messages in flight, all ranks */
    /* Observation snapshots (observation == 1) only: */
    int32_t observation;
    char verdict[16]; /* "deadlock", "quiescent", "progressing" */
    char *report;     /* the verdict as printed, several lines (malloc'd;
                         NULL is written as ""; at most MS_REPORT_MAX
                         bytes are stored, a longer one is cut) */
    size_t ncycle;
    int32_t *cycle; /* world ranks of the deadlock cycle, in wait order */
    size_t nprops;
    struct ms__property *props;
};
#define MS_REPORT_MAX 60000 /* an HDF5 attribute must stay below 64 KiB */

/* Directory names: <root>/snap-000007 and <root>/snap-000007.partial. */
void ms__store_snapdir(char *out, size_t n, const char *root, uint64_t id,
                       int partial);

/* Create <root> (and parents) and the partial directory of snapshot id. */
int ms__store_begin(const char *root, uint64_t id);

/* Write d into <partial>/rank-NNNNNN.h5 (fsync'd), each region with one
 * H5Dwrite from its base.  *checksum receives the checksum of the whole
 * file, *bytes its size.  On failure no file is left behind. */
int ms__store_write_rank(const char *root, const struct ms__rankdata *d,
                         uint64_t *checksum, uint64_t *bytes);

/* Rank 0: check that every rank file is in the partial directory with
 * the checksum in ix (read back from the disk), write index.h5 there,
 * rename the directory to its final name (the commit point), replace
 * <root>/latest (temp + fsync + rename), then remove committed snapshots
 * beyond the newest `keep` (at least 1; the new one is never removed).
 * 0: committed; 1: committed, but something after the rename failed
 * (fsync of root, `latest`, which is then removed rather than left stale,
 * or retention; ms__store_lasterr() says what, the next commit retries);
 * <0: not committed, nothing renamed. */
int ms__store_commit(const char *root, const struct ms__index *ix, int keep);

/* Remove the partial directory of snapshot id (an aborted snapshot). */
int ms__store_discard(const char *root, uint64_t id);

/* Committed snapshot ids found in root, newest first (caller frees *ids).
 * Committed: a snap-NNNNNN directory holding index.h5.  Stale *.partial
 * directories are removed when remove_partial is set (1 is returned when
 * one could not be).  *highest is the highest id seen on disk, partial ones
 * included (or -1).  A missing root is no error: no ids, *highest -1. */
int ms__store_scan(const char *root, int remove_partial, uint64_t **ids,
                   size_t *nids, int64_t *highest);

/* ---- which snapshot a restart uses (choose.c) ----
 * One rule for the library's restore and the command-line tool.
 * Candidates: the committed snapshots of root (ms__store_scan), newest
 * first, at most max; want >= 0: only that id (MPISNAP_ENOSNAP when it is
 * not committed).  A restart tries them in order and goes on to the next
 * only when one is damaged (MPISNAP_ECORRUPT, MPISNAP_EIO: an index that
 * does not read, a rank file missing or not matching the index's
 * checksum). */
#define MS_RESTART_CANDIDATES 16
int ms__store_candidates(const char *root, int64_t want, uint64_t *ids,
                         size_t max, size_t *n);
/* For the tool, without MPI: the candidate a restart would use, judged by
 * the files (the restore also checks the regions against the program).
 * skipped gets "snapshot N is damaged (why)" for each newer one passed
 * over.  When every candidate is damaged, the newest (the restore fails on
 * it).  MPISNAP_ENOSNAP when root has no committed snapshot. */
int ms__store_choose(const char *root, uint64_t *id, char *skipped, size_t n);

/* Read the index of a committed snapshot, observation fields included
 * (free with ms__store_free_index).  index.h5 is read whole and checked
 * against index.h5.xxh64 (when there is one) before HDF5 parses it, from
 * memory.  MPISNAP_ENOSNAP when the snapshot is not there,
 * MPISNAP_EVERSION when a verified index was written by a newer format,
 * MPISNAP_ECORRUPT for every other failure to read it (checksum, not a
 * regular file, sizes, HDF5 errors, memory): the snapshot is damaged. */
int ms__store_read_index(const char *root, uint64_t id, struct ms__index *ix);

/* The checksum of index.h5 in <dir>/index.h5.xxh64 (dir: the snapshot's
 * directory): *have 0 when there is none (a snapshot written before it
 * existed); MPISNAP_ECORRUPT when it is not one line as commit writes it. */
int ms__store_read_index_sum(const char *dir, int *have, uint64_t *sum);

/* Free what ms__store_read_index allocated (checksums, report, cycle,
 * props) and zero *ix. */
void ms__store_free_index(struct ms__index *ix);

/* Checksum of a whole file, as stored in the index: XXH64 with seed 0
 * (docs/format.md).  MPISNAP_ENOSNAP when the file does not exist. */
int ms__store_file_checksum(const char *path, uint64_t *checksum,
                            uint64_t *bytes);

/* Read one rank's file of a committed snapshot, for a restart.  Only a
 * regular file is opened (not a symlink, FIFO or device), every size it
 * declares is checked against its size before allocating, and every
 * failure to read it is MPISNAP_ECORRUPT (EVERSION, EMISMATCH apart).  An
 * observation snapshot (kind "observation") is refused before anything is
 * read: MPISNAP_EMISMATCH, errbuf "snapshot N is an observation snapshot:
 * it cannot be restored".  The file's checksum is
 * checked against expect_checksum first (MPISNAP_ECORRUPT when it differs:
 * nothing is written into any region buffer then); then regions are matched
 * by name against want[] (same names, types and counts, and no region in
 * the file that want[] lacks, else MPISNAP_EMISMATCH with the difference in
 * errbuf) and read into their base pointers only after all of them were
 * checked.  want == NULL or nwant == 0: regions are not read; out->regions
 * still lists the file's regions (name, etype, count, bytes) with
 * base = NULL, as the command-line tool needs.  Otherwise out->regions
 * lists them with base = the matching want[i].base.  Messages (each data
 * its own malloc'd block, so a caller may take one and set it to NULL),
 * comms, counters and trace (ntrace 0 when the file has no /trace) are
 * allocated into out; free with
 * ms__store_free_rankdata, also after an error.  errbuf gets one line
 * (may be NULL). */
int ms__store_read_rank(const char *root, uint64_t id, int rank,
                        uint64_t expect_checksum, const struct ms__region *want,
                        size_t nwant, struct ms__rankdata *out, char *errbuf,
                        size_t errlen);

/* Diagnostics (the command-line tool): read the rank file at path as
 * ms__store_read_rank does, observations included (out->obs), but without
 * the index: no checksum is compared
 * (ms__store_file_checksum computes one) and the file's rank and snapshot
 * id are taken as they are, so a file of a partial or damaged snapshot can
 * be read.  Fletcher-32 is still checked on every dataset read.  want,
 * out and errbuf as for ms__store_read_rank; MPISNAP_ENOSNAP when the file
 * does not exist.  Errors do not repeat the path. */
int ms__store_read_rank_file(const char *path, const struct ms__region *want,
                             size_t nwant, struct ms__rankdata *out,
                             char *errbuf, size_t errlen);

/* 0 when a rank file of size bytes can belong to the snapshot of ix (no
 * rank file is larger than the index's total), else MPISNAP_ECORRUPT with
 * "<path>: N bytes, more than all rank files together ..." (path NULL:
 * without it).  Check it
 * before computing a checksum: a huge sparse file takes minutes to read. */
int ms__store_rank_size_ok(const char *path, uint64_t size,
                           const struct ms__index *ix);

/* Free what ms__store_read_rank allocated (not the region bases; obs.needs
 * and obs.inflight included) and zero *d.  Only for data filled by
 * ms__store_read_rank or ms__store_read_rank_file. */
void ms__store_free_rankdata(struct ms__rankdata *d);

/* Take the job's lock on root (created if needed): an fcntl write lock on
 * <root>/lock, held until ms__store_unlock or the process ends (the kernel
 * drops it however the process ends), and the file then holds `me` (one
 * line naming this job).  A lock file that names a job but that no process
 * holds is stale: that job died; it is taken over.  0: locked, `other` is
 * the stale holder's line ("" when there was none); 1: another job holds
 * it, `other` names it; <0: cannot lock (ms__store_lasterr). */
int ms__store_lock(const char *root, const char *me, char *other, size_t n);

/* Release the lock and remove the file: this job ended normally. */
void ms__store_unlock(void);

/* One line describing the last failure of a store call in this thread. */
const char *ms__store_lasterr(void);

#endif
