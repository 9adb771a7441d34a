/* mpisnap_restore(): choose the newest committed snapshot every rank can
 * read, fill the protected regions, restore the counters and the safe-point
 * index, and queue the channel state for replay.  Logs and counters of a
 * communicator wait until the program has re-created it.
 *
 * All or nothing: each rank reads its regions into staging buffers, and
 * they are copied into the program's memory only once every rank has read
 * and checked everything.  A restore that fails leaves every rank's state
 * as it was, so the program can start fresh.  The price is a second copy
 * of the protected state while restoring. */
#include <stdio.h>
#include <stdlib.h>

#include "core/core.h"

/* What waits for a communicator not created yet (by id). */
static struct ms__rankdata pending;
static size_t pending_msgs, pending_counters;

/* C of a received stream = R + its messages in flight. */
static uint64_t inflight(const struct ms__rankdata *d, uint64_t comm_id,
                         int source, int tag)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < d->nmsgs; i++)
        n += d->msgs[i].comm_id == comm_id && d->msgs[i].source == source &&
             d->msgs[i].tag == tag;
    return n;
}

/* Apply everything of d that belongs to c; returns what is left. */
static void apply_comm(struct ms__comm *c, struct ms__rankdata *d)
{
    size_t i;

    for (i = 0; i < d->ncounters; i++) {
        struct ms__counter *k = &d->counters[i];
        struct ms__tagcount *t;
        if (k->comm_id != c->id || k->peer < 0 || k->peer >= c->size)
            continue;
        t = ms__stream_find(k->dir ? &c->recv[k->peer] : &c->sent[k->peer],
                            k->tag);
        t->n = k->count;
        t->base =
            k->dir ? k->count + inflight(d, c->id, k->peer, k->tag) : k->count;
        k->comm_id = 0; /* applied */
    }
    /* A stream with messages in flight and no counter (nothing received
     * on it before the cut) still has its sender's count: R + in flight. */
    for (i = 0; i < d->nmsgs; i++) {
        struct ms__msg *m = &d->msgs[i];
        struct ms__tagcount *t;
        if (m->comm_id != c->id || m->source < 0 || m->source >= c->size)
            continue;
        t = ms__stream_find(&c->recv[m->source], m->tag);
        t->base = t->n + inflight(d, c->id, m->source, m->tag);
    }
    for (i = 0; i < d->nmsgs; i++) {
        struct ms__msg *m = &d->msgs[i];
        if (m->comm_id != c->id)
            continue;
        if (ms__queue_push(c, m->source, m->tag, m->data, m->nbytes, 0) < 0) {
            MS_ERROR("cannot queue a replayed message: aborting job");
            PMPI_Abort(MPI_COMM_WORLD, 1);
        }
        m->comm_id = 0;
    }
}

/* ---- creation identity ----
 * Ids come from (parent, creation call's ordinal, colour, group): a
 * restarted program that creates two communicators of the same parent in
 * another order gives each the other's id.  The snapshot records how each
 * was created (struct ms__commident); a communicator that takes a recorded
 * id must have been created by the same call at the same call site. */

/* Same creation, as far as a and b tell: unknown is no mismatch, and call
 * sites in another build of a module cannot be compared. */
static int same_creation(const struct ms__commident *a,
                         const struct ms__commident *b)
{
    if (!a->call[0] || !b->call[0])
        return 1;
    if (strcmp(a->call, b->call) != 0)
        return 0;
    if (!a->module[0] || !b->module[0])
        return 1;
    if (a->build[0] && b->build[0] && strcmp(a->build, b->build) != 0)
        return strcmp(a->module, b->module) == 0; /* rebuilt: no offsets */
    if (!a->build[0] || !b->build[0])
        if (strcmp(a->module, b->module) != 0)
            return 0;
    return a->offset == b->offset;
}

static void describe_creation(char *buf, size_t n,
                              const struct ms__commident *id)
{
    if (id->module[0])
        snprintf(buf, n, "%s at %s+0x%llx", id->call, id->module,
                 (unsigned long long)id->offset);
    else
        snprintf(buf, n, "%s", id->call);
}

static void describe_rec(char *buf, size_t n, const struct ms__commrec *r)
{
    snprintf(buf, n, "%016llx%s%s%s (creation call %llu on %016llx)",
             (unsigned long long)r->id, r->ident.name[0] ? " '" : "",
             r->ident.name, r->ident.name[0] ? "'" : "",
             (unsigned long long)r->ordinal, (unsigned long long)r->parent);
}

/* 0 when c may take its id in a restart from d, else MPISNAP_EMISMATCH
 * with the reason in err. */
static int check_creation(const struct ms__comm *c,
                          const struct ms__rankdata *d, char *err, size_t n)
{
    const struct ms__commrec *r = NULL, *other = NULL;
    struct ms__commident now;
    char was[256], is[256], rs[160], os[256] = "";
    size_t i;

    for (i = 0; i < d->ncomms && !r; i++)
        if (d->comms[i].id == c->id)
            r = &d->comms[i];
    if (!r)
        return 0;
    ms__comm_ident(c, &now);
    if (same_creation(&r->ident, &now))
        return 0;
    for (i = 0; i < d->ncomms && !other; i++)
        if (d->comms[i].id != c->id &&
            same_creation(&d->comms[i].ident, &now) &&
            d->comms[i].ident.call[0])
            other = &d->comms[i];
    describe_rec(rs, sizeof rs, r);
    describe_creation(was, sizeof was, &r->ident);
    describe_creation(is, sizeof is, &now);
    if (other) {
        char od[160];
        describe_rec(od, sizeof od, other);
        snprintf(os, sizeof os,
                 " (the snapshot's communicator created at that call site is "
                 "%s)",
                 od);
    }
    snprintf(err, n,
             "restart refused: communicator %s was created by %s when the "
             "snapshot was taken, but this run created it by %s%s: the "
             "program creates its communicators in another order or from "
             "other places than the run that took the snapshot, and "
             "replayed messages would reach the wrong communicator",
             rs, was, is, os);
    return MPISNAP_EMISMATCH;
}

void ms__restore_comm_created(struct ms__comm *c)
{
    char err[1024];

    if (pending.ncomms && check_creation(c, &pending, err, sizeof err)) {
        MS_ERROR("%s: aborting job", err);
        PMPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (pending_msgs || pending_counters)
        apply_comm(c, &pending);
}

static int apply(struct ms__rankdata *d)
{
    struct ms__comm *c;
    size_t i;

    for (c = ms.comm_list; c; c = c->next)
        apply_comm(c, d);
    /* Keep the rest for communicators the program creates later; a
     * counter of a communicator that was freed before the cut stays
     * unused, which is harmless. */
    for (i = 0; i < d->nmsgs; i++)
        pending_msgs += d->msgs[i].comm_id != 0;
    for (i = 0; i < d->ncounters; i++)
        pending_counters += d->counters[i].comm_id != 0;
    ms__core.point = d->point - 1;
    ms__core.skip_point = d->point;
    pending = *d;
    return 0;
}

/* Staging buffers: ms__regions with a base of their own.  NULL on
 * failure, with the reason in err. */
static struct ms__region *stage_alloc(char *err, size_t n)
{
    struct ms__region *st = calloc(ms__nregions ? ms__nregions : 1, sizeof *st);
    size_t i;

    for (i = 0; st && i < ms__nregions; i++) {
        st[i] = ms__regions[i];
        st[i].base = malloc(st[i].bytes ? st[i].bytes : 1);
        if (!st[i].base) {
            snprintf(err, n,
                     "out of memory for a copy of region '%s' (%llu bytes) "
                     "while restoring",
                     st[i].name, (unsigned long long)st[i].bytes);
            while (i--)
                free(st[i].base);
            free(st);
            return NULL;
        }
    }
    if (!st)
        snprintf(err, n, "out of memory while restoring");
    return st;
}

static void stage_free(struct ms__region *st)
{
    size_t i;

    for (i = 0; st && i < ms__nregions; i++)
        free(st[i].base);
    free(st);
}

/* Rank 0's list of snapshots to try, newest first, sent to all; the rule
 * is the store's (choose.c), which the command-line tool shares. */
static int candidates(uint64_t *ids, int *n)
{
    size_t k = 0;
    int rc;

    *n = 0;
    if (ms.world_rank == 0) {
        rc = ms__store_candidates(ms__cfg.dir,
                                  ms__cfg.restart >= 0 ? ms__cfg.restart : -1,
                                  ids, MS_RESTART_CANDIDATES, &k);
        if (rc == MPISNAP_ENOSNAP)
            MS_ERROR("MPISNAP_RESTART=%lld: no committed snapshot with "
                     "that id in %s",
                     ms__cfg.restart, ms__cfg.dir);
        else if (rc < 0)
            MS_ERROR("cannot read %s: %s", ms__cfg.dir, ms__store_lasterr());
        *n = rc < 0 ? -1 : (int)k;
    }
    PMPI_Bcast(n, 1, MPI_INT, 0, ms.ctl);
    if (*n > 0)
        PMPI_Bcast(ids, *n, MPI_UINT64_T, 0, ms.ctl);
    return *n < 0 ? MPISNAP_ENOSNAP : 0;
}

int ms__core_restore(void)
{
    uint64_t ids[MS_RESTART_CANDIDATES];
    struct ms__rankdata d;
    struct ms__index ix;
    struct ms__comm *c;
    struct ms__region *stage;
    char err[1024], why[sizeof err];
    size_t k;
    int n, i, rc, worst;

    if (ms__cfg.restart == MS_RESTART_NEVER)
        return 0;
    if ((rc = candidates(ids, &n)) < 0)
        return rc;
    for (i = 0; i < n; i++) {
        memset(&d, 0, sizeof d);
        memset(&ix, 0, sizeof ix);
        stage = NULL;
        err[0] = '\0';
        rc = ms__store_read_index(ms__cfg.dir, ids[i], &ix);
        if (rc < 0)
            snprintf(err, sizeof err, "index: %s", ms__store_lasterr());
        else if (ix.nranks != ms.world_size) {
            snprintf(err, sizeof err,
                     "snapshot %llu was taken with %d ranks, this job has %d "
                     "(restart on a different rank count is not supported)",
                     (unsigned long long)ids[i], ix.nranks, ms.world_size);
            rc = MPISNAP_EMISMATCH;
        } else if (!(stage = stage_alloc(err, sizeof err))) {
            rc = MPISNAP_ENOMEM;
        } else {
            rc = ms__store_read_rank(ms__cfg.dir, ids[i], ms.world_rank,
                                     ix.checksums[ms.world_rank], stage,
                                     ms__nregions, &d, err, sizeof err);
        }
        ms__store_free_index(&ix);
        /* newest first: the last mismatch is the first one created */
        for (c = ms.comm_list; c && rc == 0; c = c->next)
            if (check_creation(c, &d, why, sizeof why))
                memcpy(err, why, sizeof err);
        if (rc == 0 && err[0])
            rc = MPISNAP_EMISMATCH;
        if (rc < 0)
            MS_ERROR("snapshot %llu: %s", (unsigned long long)ids[i], err);
        PMPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, ms.ctl);
        if (worst == 0) {
            for (k = 0; k < ms__nregions; k++)
                memcpy(ms__regions[k].base, stage[k].base,
                       ms__regions[k].bytes);
            stage_free(stage);
            free(d.regions); /* their bases were the staging buffers */
            d.regions = NULL;
            d.nregions = 0;
            apply(&d);
            if (ms.world_rank == 0)
                MS_NOTE("restored snapshot %llu (safe point %llu)",
                        (unsigned long long)ids[i],
                        (unsigned long long)d.point);
            return 1;
        }
        stage_free(stage);
        ms__store_free_rankdata(&d);
        if (worst != MPISNAP_ECORRUPT && worst != MPISNAP_EIO)
            return worst; /* not damage: a mismatch is the program's */
        if (ms__cfg.restart >= 0)
            return worst;
        if (ms.world_rank == 0)
            MS_WARN("snapshot %llu is damaged; trying the previous one",
                    (unsigned long long)ids[i]);
    }
    if (n > 0) {
        if (ms.world_rank == 0)
            MS_ERROR("no readable snapshot in %s", ms__cfg.dir);
        return MPISNAP_ECORRUPT;
    }
    return 0;
}
