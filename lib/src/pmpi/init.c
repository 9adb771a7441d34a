/* MPI_Init, MPI_Init_thread, MPI_Finalize: the library's state and its
 * private communicators live between these two. */
#include <stdio.h>
#include <stdlib.h>

#include "pmpi/pmpi.h"

/* Read the MPISNAP_* settings; on a bad one, end the job.  The ranks
 * agree first, the lowest rank that found an error prints it, and every
 * rank finalizes and exits after that: MPI_Abort could kill rank 0 before
 * its message has left the process. */
static void load_config(void)
{
    char err[512];
    int mine, first;

    mine = ms__config_load(err, sizeof err) < 0 ? ms.world_rank : ms.world_size;
    if (PMPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
        first = mine;
    if (first == ms.world_size)
        return;
    if (first == ms.world_rank) {
        fprintf(stderr, "mpisnap: %s\n", err);
        fflush(stderr);
    }
    PMPI_Barrier(MPI_COMM_WORLD);
    PMPI_Finalize();
    exit(1);
}

static void setup(void)
{
    int *ub, flag = 0;

    PMPI_Comm_rank(MPI_COMM_WORLD, &ms.world_rank);
    PMPI_Comm_size(MPI_COMM_WORLD, &ms.world_size);
    ms__log_rank = ms.world_rank;
    load_config();
    PMPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
    ms.tag_ub = flag ? *ub : 32767;
    ms__comm_init();
    /* Private communicators: errors come back to the library as codes. */
    PMPI_Comm_dup(MPI_COMM_SELF, &ms.qcomm);
    PMPI_Comm_set_errhandler(ms.qcomm, MPI_ERRORS_RETURN);
    PMPI_Comm_dup(MPI_COMM_WORLD, &ms.ctl);
    PMPI_Comm_set_errhandler(ms.ctl, MPI_ERRORS_RETURN);
    if (ms__trace_init() < 0) {
        MS_ERROR("out of memory for MPISNAP_TRACE: aborting job");
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    ms.initialized = 1;
    ms__core_init();
    ms__update_slow();
}

int MPI_Init(int *argc, char ***argv)
{
    int rc = PMPI_Init(argc, argv);

    if (rc == MPI_SUCCESS)
        setup();
    return rc;
}

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
    int rc = PMPI_Init_thread(argc, argv, required, provided);

    if (rc == MPI_SUCCESS) {
        setup();
        if (*provided == MPI_THREAD_MULTIPLE)
            ms__unsupported(MS_UNSUP_THREADS, "MPI_Init_thread");
    }
    return rc;
}

int MPI_Finalize(void)
{
    if (ms.initialized && !ms.finalized) {
        ms__obs_finalize();
        ms__core_finalize();
        ms.finalized = 1;
        ms.slow = 0;
        PMPI_Comm_free(&ms.ctl);
        ms__comm_fini();
        PMPI_Comm_free(&ms.qcomm);
        ms__hmap_free(&ms.reqs);
        ms__hmap_free(&ms.msgs);
        while (ms.req_free) {
            struct ms__req *r = ms.req_free;
            ms.req_free = r->next;
            free(r);
        }
        free(ms.scratch);
        ms.scratch = NULL;
        ms.nscratch = 0;
    }
    return PMPI_Finalize();
}
