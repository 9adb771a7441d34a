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
    MS_T_CHAR, MS_T_SCHAR, MS_T_UCHAR,
    MS_T_SHORT, MS_T_USHORT, MS_T_INT, MS_T_UINT,
    MS_T_LONG, MS_T_ULONG, MS_T_LLONG, MS_T_ULLONG,
    MS_T_FLOAT, MS_T_DOUBLE, MS_T_LDOUBLE,
    MS_T_INT8, MS_T_INT16, MS_T_INT32, MS_T_INT64,
    MS_T_UINT8, MS_T_UINT16, MS_T_UINT32, MS_T_UINT64,
    MS_T_COUNT_
};
const char *ms__etype_name(int etype); /* "double", "bytes", ... */

struct ms__region {
    char name[64];
    void *base;      /* application memory */
    uint64_t count;  /* elements of etype (bytes for MS_T_BYTES) */
    int etype;
    uint64_t bytes;  /* count * element size */
};

/* One message in flight across the cut (channel state). */
struct ms__msg {
    uint64_t comm_id; /* stable communicator id */
    int32_t source;   /* rank in that communicator */
    int32_t tag;
    uint64_t pos;     /* position in its (comm, source, tag) stream, from 1 */
    uint64_t nbytes;  /* packed bytes */
    unsigned char *data;
};

/* A live communicator: stable id = (parent, ordinal, color). */
struct ms__commrec {
    uint64_t id, parent, ordinal;
    int64_t color;
    uint64_t ncoll;   /* collectives started on it before the cut */
    int32_t size;
    int32_t *world;   /* [size]: world rank of each member */
};

/* A cumulative stream counter at the cut.  dir 0: sent to peer, 1: received
 * from peer (matched). */
struct ms__counter {
    uint64_t comm_id;
    int32_t peer, tag;
    int32_t dir;
    uint64_t count;
};

/* Everything one rank writes into rank-NNNNNN.h5. */
struct ms__rankdata {
    int32_t rank, nranks;
    uint64_t snap_id;
    uint64_t point;        /* safe-point index P */
    double time;           /* seconds since the epoch when recorded */
    size_t nregions;
    struct ms__region *regions;
    size_t nmsgs;
    struct ms__msg *msgs;
    size_t ncomms;
    struct ms__commrec *comms;
    size_t ncounters;
    struct ms__counter *counters;
};

/* index.h5, written by rank 0 once every rank is done. */
struct ms__index {
    uint64_t snap_id;
    int32_t nranks;
    uint64_t point;
    double t_start, t_end;
    char app[256];
    uint64_t *checksums;   /* [nranks]: checksum of each rank file */
    uint64_t bytes;        /* total bytes of all rank files */
    uint64_t nmsgs;        /* messages in flight, all ranks */
};

/* Directory names: <root>/snap-000007 and <root>/snap-000007.partial. */
void ms__store_snapdir(char *out, size_t n, const char *root, uint64_t id,
                       int partial);

/* Create <root> (and parents) and the partial directory of snapshot id. */
int ms__store_begin(const char *root, uint64_t id);

/* Write d into <partial>/rank-NNNNNN.h5 (fsync'd).  *checksum receives the
 * checksum of the whole file, *bytes its size. */
int ms__store_write_rank(const char *root, const struct ms__rankdata *d,
                         uint64_t *checksum, uint64_t *bytes);

/* Rank 0: write index.h5 into the partial directory, rename it to its
 * final name, replace <root>/latest (temp + fsync + rename), then remove
 * committed snapshots beyond the newest `keep`. */
int ms__store_commit(const char *root, const struct ms__index *ix, int keep);

/* Remove the partial directory of snapshot id (an aborted snapshot). */
int ms__store_discard(const char *root, uint64_t id);

/* Committed snapshot ids found in root, newest first (caller frees *ids).
 * Stale *.partial directories are removed when remove_partial is set.
 * *highest is the highest id seen on disk, partial ones included (or -1). */
int ms__store_scan(const char *root, int remove_partial, uint64_t **ids,
                   size_t *nids, int64_t *highest);

/* Read the index of a committed snapshot (caller frees ix->checksums). */
int ms__store_read_index(const char *root, uint64_t id, struct ms__index *ix);

/* Checksum of a whole file, as stored in the index. */
int ms__store_file_checksum(const char *path, uint64_t *checksum,
                            uint64_t *bytes);

/* Read one rank's file of a committed snapshot.  The file's checksum is
 * checked against expect_checksum first; then regions are matched by name
 * against want[] (same names, types and counts, else MPISNAP_EMISMATCH with
 * the difference in errbuf) and read into their base pointers only after
 * all of them were checked.  Messages, comms and counters are allocated
 * into out (free with ms__store_free_rankdata).  errbuf gets one line. */
int ms__store_read_rank(const char *root, uint64_t id, int rank,
                        uint64_t expect_checksum,
                        const struct ms__region *want, size_t nwant,
                        struct ms__rankdata *out, char *errbuf, size_t errlen);

void ms__store_free_rankdata(struct ms__rankdata *d);

#endif
