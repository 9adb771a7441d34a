/* MPI-IO: collective file operations count as collectives on the
 * communicator the file was opened on (a snapshot must not cut one), and
 * nonblocking file requests are tracked as pending. */
#include "pmpi/pmpi.h"

static struct ms__hmap files; /* MPI_File -> ms__comm */

static struct ms__comm *file_comm(MPI_File fh)
{
    struct ms__comm *c = ms__hmap_get(&files, MS_KEY(fh));

    return c ? c : ms.world;
}

int MPI_File_open(MPI_Comm comm, const char *name, int amode, MPI_Info info,
                  MPI_File *fh)
{
    struct ms__comm *c = ms__comm_get(comm);
    int rc;

    c->ncoll++;
    rc = PMPI_File_open(comm, name, amode, info, fh);
    if (rc == MPI_SUCCESS)
        ms__hmap_put(&files, MS_KEY(*fh), c);
    return rc;
}

int MPI_File_close(MPI_File *fh)
{
    struct ms__comm *c = ms__hmap_del(&files, MS_KEY(*fh));
    int rc;

    (c ? c : ms.world)->ncoll++;
    rc = PMPI_File_close(fh);
    return rc;
}

/* X(name, (prototype), (arguments)): collective, blocking. */
#define FILE_COLL(X)                                                           \
    X(File_set_view,                                                           \
      (MPI_File fh, MPI_Offset d, MPI_Datatype et, MPI_Datatype ft,            \
       const char *rep, MPI_Info info),                                        \
      (fh, d, et, ft, rep, info))                                              \
    X(File_set_size, (MPI_File fh, MPI_Offset size), (fh, size))               \
    X(File_preallocate, (MPI_File fh, MPI_Offset size), (fh, size))            \
    X(File_set_info, (MPI_File fh, MPI_Info info), (fh, info))                 \
    X(File_set_atomicity, (MPI_File fh, int flag), (fh, flag))                 \
    X(File_sync, (MPI_File fh), (fh))                                          \
    X(File_seek_shared, (MPI_File fh, MPI_Offset off, int whence),             \
      (fh, off, whence))                                                       \
    X(File_read_all,                                                           \
      (MPI_File fh, void *b, int n, MPI_Datatype t, MPI_Status *st),           \
      (fh, b, n, t, st))                                                       \
    X(File_write_all,                                                          \
      (MPI_File fh, const void *b, int n, MPI_Datatype t, MPI_Status *st),     \
      (fh, b, n, t, st))                                                       \
    X(File_read_at_all,                                                        \
      (MPI_File fh, MPI_Offset o, void *b, int n, MPI_Datatype t,              \
       MPI_Status *st),                                                        \
      (fh, o, b, n, t, st))                                                    \
    X(File_write_at_all,                                                       \
      (MPI_File fh, MPI_Offset o, const void *b, int n, MPI_Datatype t,        \
       MPI_Status *st),                                                        \
      (fh, o, b, n, t, st))                                                    \
    X(File_read_ordered,                                                       \
      (MPI_File fh, void *b, int n, MPI_Datatype t, MPI_Status *st),           \
      (fh, b, n, t, st))                                                       \
    X(File_write_ordered,                                                      \
      (MPI_File fh, const void *b, int n, MPI_Datatype t, MPI_Status *st),     \
      (fh, b, n, t, st))                                                       \
    X(File_read_all_begin, (MPI_File fh, void *b, int n, MPI_Datatype t),      \
      (fh, b, n, t))                                                           \
    X(File_write_all_begin,                                                    \
      (MPI_File fh, const void *b, int n, MPI_Datatype t), (fh, b, n, t))      \
    X(File_read_at_all_begin,                                                  \
      (MPI_File fh, MPI_Offset o, void *b, int n, MPI_Datatype t),             \
      (fh, o, b, n, t))                                                        \
    X(File_write_at_all_begin,                                                 \
      (MPI_File fh, MPI_Offset o, const void *b, int n, MPI_Datatype t),       \
      (fh, o, b, n, t))                                                        \
    X(File_read_ordered_begin, (MPI_File fh, void *b, int n, MPI_Datatype t),  \
      (fh, b, n, t))                                                           \
    X(File_write_ordered_begin,                                                \
      (MPI_File fh, const void *b, int n, MPI_Datatype t), (fh, b, n, t))

#define X(NAME, PROTO, ARGS)                                                   \
    int MPI_##NAME PROTO                                                       \
    {                                                                          \
        file_comm(fh)->ncoll++;                                                \
        return PMPI_##NAME ARGS;                                               \
    }
FILE_COLL(X)
#undef X

/* Nonblocking, individual: the request tracked, so that a snapshot whose
 * safe point comes while one is pending (a read still filling a protected
 * region, a write still reading one) aborts, naming the call. */
#define FILE_IREQ(X)                                                           \
    X(File_iread,                                                              \
      (MPI_File fh, void *b, int n, MPI_Datatype t, MPI_Request *req),         \
      (fh, b, n, t, req))                                                      \
    X(File_iwrite,                                                             \
      (MPI_File fh, const void *b, int n, MPI_Datatype t, MPI_Request *req),   \
      (fh, b, n, t, req))                                                      \
    X(File_iread_at,                                                           \
      (MPI_File fh, MPI_Offset o, void *b, int n, MPI_Datatype t,              \
       MPI_Request *req),                                                      \
      (fh, o, b, n, t, req))                                                   \
    X(File_iwrite_at,                                                          \
      (MPI_File fh, MPI_Offset o, const void *b, int n, MPI_Datatype t,        \
       MPI_Request *req),                                                      \
      (fh, o, b, n, t, req))                                                   \
    X(File_iread_shared,                                                       \
      (MPI_File fh, void *b, int n, MPI_Datatype t, MPI_Request *req),         \
      (fh, b, n, t, req))                                                      \
    X(File_iwrite_shared,                                                      \
      (MPI_File fh, const void *b, int n, MPI_Datatype t, MPI_Request *req),   \
      (fh, b, n, t, req))

#define X(NAME, PROTO, ARGS)                                                   \
    int MPI_##NAME PROTO                                                       \
    {                                                                          \
        int rc = PMPI_##NAME ARGS;                                             \
        if (rc == MPI_SUCCESS)                                                 \
            ms__req_new(*req, MS_REQ_OTHER, file_comm(fh))->what =             \
                "MPI_" #NAME;                                                  \
        return rc;                                                             \
    }
FILE_IREQ(X)
#undef X

/* Collective and nonblocking: counted, and the request tracked. */
#define FILE_ICOLL(X)                                                          \
    X(File_iread_all,                                                          \
      (MPI_File fh, void *b, int n, MPI_Datatype t, MPI_Request *req),         \
      (fh, b, n, t, req))                                                      \
    X(File_iwrite_all,                                                         \
      (MPI_File fh, const void *b, int n, MPI_Datatype t, MPI_Request *req),   \
      (fh, b, n, t, req))                                                      \
    X(File_iread_at_all,                                                       \
      (MPI_File fh, MPI_Offset o, void *b, int n, MPI_Datatype t,              \
       MPI_Request *req),                                                      \
      (fh, o, b, n, t, req))                                                   \
    X(File_iwrite_at_all,                                                      \
      (MPI_File fh, MPI_Offset o, const void *b, int n, MPI_Datatype t,        \
       MPI_Request *req),                                                      \
      (fh, o, b, n, t, req))

#define X(NAME, PROTO, ARGS)                                                   \
    int MPI_##NAME PROTO                                                       \
    {                                                                          \
        struct ms__comm *c = file_comm(fh);                                    \
        int rc;                                                                \
        c->ncoll++;                                                            \
        rc = PMPI_##NAME ARGS;                                                 \
        if (rc == MPI_SUCCESS)                                                 \
            ms__req_new(*req, MS_REQ_OTHER, c)->what = "MPI_" #NAME;           \
        return rc;                                                             \
    }
FILE_ICOLL(X)
#undef X
