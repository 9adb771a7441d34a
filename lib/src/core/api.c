/* The public API (mpisnap.h). */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

struct ms__region *ms__regions;
size_t ms__nregions;
/* mpisnap_restore() was called: the regions a snapshot holds are fixed,
 * and the channel state must be queued only once. */
static int restore_called;

/* MPI basic datatype -> stored element type. */
static int etype_of(MPI_Datatype t)
{
#define E(mpi, e)                                                              \
    if (t == mpi)                                                              \
        return e;
    E(MPI_CHAR, MS_T_CHAR)
    E(MPI_SIGNED_CHAR, MS_T_SCHAR)
    E(MPI_UNSIGNED_CHAR, MS_T_UCHAR)
    E(MPI_SHORT, MS_T_SHORT)
    E(MPI_UNSIGNED_SHORT, MS_T_USHORT)
    E(MPI_INT, MS_T_INT)
    E(MPI_UNSIGNED, MS_T_UINT)
    E(MPI_LONG, MS_T_LONG)
    E(MPI_UNSIGNED_LONG, MS_T_ULONG)
    E(MPI_LONG_LONG, MS_T_LLONG)
    E(MPI_UNSIGNED_LONG_LONG, MS_T_ULLONG)
    E(MPI_FLOAT, MS_T_FLOAT)
    E(MPI_DOUBLE, MS_T_DOUBLE)
    E(MPI_LONG_DOUBLE, MS_T_LDOUBLE)
    E(MPI_INT8_T, MS_T_INT8)
    E(MPI_INT16_T, MS_T_INT16)
    E(MPI_INT32_T, MS_T_INT32)
    E(MPI_INT64_T, MS_T_INT64)
    E(MPI_UINT8_T, MS_T_UINT8)
    E(MPI_UINT16_T, MS_T_UINT16)
    E(MPI_UINT32_T, MS_T_UINT32)
    E(MPI_UINT64_T, MS_T_UINT64)
#undef E
    return MS_T_BYTES;
}

int mpisnap_protect(const char *name, void *base, size_t count,
                    MPI_Datatype type)
{
    struct ms__region *r;
    MPI_Aint lb, extent;
    int size, ret = 0;
    size_t i;

    MS_CHECK(ms.initialized && !ms.finalized, ret = MPISNAP_ESTATE,
             "mpisnap_protect(\"%s\"): call it after MPI_Init",
             name ? name : "(null)");
    MS_CHECK(!restore_called, ret = MPISNAP_ESTATE,
             "mpisnap_protect(\"%s\"): called after mpisnap_restore(): "
             "protect every region before it, or snapshots would hold a "
             "region a restart cannot restore",
             name ? name : "(null)");
    MS_CHECK(name && *name && strlen(name) < sizeof r->name &&
                 !strchr(name, '/'),
             ret = MPISNAP_EINVAL,
             "mpisnap_protect: name must be 1-%zu characters without '/'",
             sizeof r->name - 1);
    MS_CHECK(base || !count, ret = MPISNAP_EINVAL,
             "mpisnap_protect(\"%s\"): NULL base", name);
    for (i = 0; i < ms__nregions; i++)
        MS_CHECK(strcmp(ms__regions[i].name, name) != 0, ret = MPISNAP_EEXIST,
                 "mpisnap_protect(\"%s\"): name already protected", name);
    PMPI_Type_size(type, &size);
    PMPI_Type_get_extent(type, &lb, &extent);
    /* Regions are stored as contiguous memory: a type with holes would
     * store its gaps as data, so ask for a contiguous one. */
    MS_CHECK(lb == 0 && extent == size, ret = MPISNAP_EINVAL,
             "mpisnap_protect(\"%s\"): the datatype must be contiguous "
             "(size %d, extent %ld)",
             name, size, (long)extent);
    r = realloc(ms__regions, (ms__nregions + 1) * sizeof *r);
    MS_CHECK(r, ret = MPISNAP_ENOMEM, "mpisnap_protect: out of memory");
    ms__regions = r;
    r += ms__nregions++;
    memset(r, 0, sizeof *r);
    strcpy(r->name, name);
    r->base = base;
    r->etype = etype_of(type);
    r->bytes = (uint64_t)count * (uint64_t)size;
    r->count = r->etype == MS_T_BYTES ? r->bytes : count;
error:
    return ret;
}

int mpisnap_restore(void)
{
    int ret;

    MS_CHECK(ms.initialized && !ms.finalized, ret = MPISNAP_ESTATE,
             "mpisnap_restore: call it after MPI_Init");
    MS_CHECK(!restore_called, ret = MPISNAP_ESTATE,
             "mpisnap_restore: called twice: the program's state and the "
             "messages in flight are restored once, by the first call");
    restore_called = 1;
    ret = ms__core_restore();
error:
    return ret;
}

int mpisnap_point(void)
{
    if (!ms.initialized || ms.finalized)
        return MPISNAP_ESTATE;
    return ms__core_point();
}

int mpisnap_request(void)
{
    if (!ms.initialized || ms.finalized)
        return MPISNAP_ESTATE;
    return ms__core_request();
}

long long mpisnap_last_committed(void)
{
    return ms__core_last_committed();
}

int mpisnap_observe(void)
{
    if (!ms.initialized || ms.finalized)
        return MPISNAP_ESTATE;
    return ms__obs_observe();
}

int mpisnap_property(const char *name, mpisnap_property_fn fn,
                     enum mpisnap_op op, void *arg)
{
    return ms__obs_property(name, fn, (int)op, arg);
}

int mpisnap_observed(const char *name, double *value, long long *id)
{
    return ms__obs_observed(name, value, id);
}
