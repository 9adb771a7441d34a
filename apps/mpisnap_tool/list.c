/* mpisnap list: the snapshots in a directory, then the observation
 * snapshots in its observe/ subdirectory. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mpisnap.h"
#include "tool.h"

struct entry {
    uint64_t id;
    int partial;
    const char *status; /* "ok", "partial", "damaged" */
    char problem[600];
    struct ms__index ix;
    int have_index;
    int nfiles;     /* rank files found */
    uint64_t bytes; /* their total size */
};

static void file_sizes(const char *dir, int nranks, struct entry *e)
{
    char path[4400];
    struct stat st;

    for (int r = 0; nranks < 0 || r < nranks; r++) {
        snprintf(path, sizeof path, "%s/rank-%06d.h5", dir, r);
        if (stat(path, &st) < 0) {
            if (nranks < 0)
                break; /* partial: count the files present */
            if (!e->problem[0])
                snprintf(e->problem, sizeof e->problem,
                         "rank-%06d.h5 is missing", r);
            continue;
        }
        e->nfiles++;
        e->bytes += (uint64_t)st.st_size;
    }
}

/* Cheap checks only: the index, the files' presence and sizes. */
static void examine(const char *root, struct entry *e)
{
    char dir[4300], index[4400];

    ms__store_snapdir(dir, sizeof dir, root, e->id, e->partial);
    snprintf(index, sizeof index, "%s/index.h5", dir);
    if (e->partial) {
        e->status = "partial";
        file_sizes(dir, -1, e);
        return;
    }
    e->status = "ok";
    if (ms__store_read_index(root, e->id, &e->ix) < 0) {
        e->status = "damaged";
        snprintf(e->problem, sizeof e->problem, "index.h5: %s",
                 tool_strip(ms__store_lasterr(), index));
        return;
    }
    e->have_index = 1;
    file_sizes(dir, e->ix.nranks, e);
    if (!e->problem[0] && e->bytes != e->ix.bytes)
        snprintf(e->problem, sizeof e->problem,
                 "rank files hold %llu bytes, the index says %llu "
                 "(truncated?)",
                 (unsigned long long)e->bytes, (unsigned long long)e->ix.bytes);
    if (e->problem[0])
        e->status = "damaged";
}

/* The snapshots of one root, as a "snapshots" array. */
static void json_entries(const char *root, struct entry *v, size_t n,
                         int newest)
{
    char dir[4300], t[64];

    js_begin_arr("snapshots");
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &v[i];

        ms__store_snapdir(dir, sizeof dir, root, e->id, e->partial);
        js_begin_obj(NULL);
        js_u64("id", e->id);
        js_str("status", e->status);
        js_bool("latest", (int)i == newest);
        js_str("path", dir);
        js_str("problem", e->problem[0] ? e->problem : NULL);
        js_str("kind", !e->have_index      ? NULL
                       : e->ix.observation ? "observation"
                                           : "checkpoint");
        js_str("verdict",
               e->have_index && e->ix.observation ? e->ix.verdict : NULL);
        if (e->have_index) {
            js_str("app", e->ix.app);
            js_int("nranks", e->ix.nranks);
            js_u64("point", e->ix.point);
            js_num("t_start", e->ix.t_start);
            js_num("t_end", e->ix.t_end);
            js_str("time", tool_time(t, sizeof t, e->ix.t_end));
            js_u64("bytes", e->ix.bytes);
            js_u64("nmsgs", e->ix.nmsgs);
        } else {
            js_int("rank_files", e->nfiles);
            js_u64("bytes", e->bytes);
        }
        js_end_obj();
    }
    js_end_arr();
}

/* Observations: when, verdict; no safe point. */
static void print_obs_text(const char *root, struct entry *v, size_t n,
                           int newest)
{
    char t[64], sz[32];

    printf("observation snapshots in %s\n", root);
    if (n == 0) {
        printf("  (none)\n");
        return;
    }
    printf("  %8s %-8s %-23s %-12s %5s %10s  %s\n", "ID", "STATUS", "TIME",
           "APP", "RANKS", "SIZE", "VERDICT");
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &v[i];

        printf("%c %8llu %-8s ", (int)i == newest ? '*' : ' ',
               (unsigned long long)e->id, e->status);
        if (e->have_index)
            printf("%-23s %-12.12s %5d %10s  %s\n",
                   tool_time(t, sizeof t, e->ix.t_end), e->ix.app,
                   (int)e->ix.nranks, tool_size(sz, sizeof sz, e->ix.bytes),
                   !e->ix.observation ? "(a checkpoint)"
                   : e->ix.verdict[0] ? e->ix.verdict
                                      : "-");
        else
            printf("%-23s %-12s %5s %10s  %s\n", "-", "-", "-",
                   tool_size(sz, sizeof sz, e->bytes), "-");
        if (e->partial)
            printf("           %d rank file(s)\n", e->nfiles);
        if (e->problem[0])
            printf("           %s\n", e->problem);
    }
}

static void print_text(const char *root, struct entry *v, size_t n, int newest)
{
    char t[64], sz[32];

    printf("snapshots in %s\n", root);
    if (n == 0) {
        printf("  (none)\n");
        return;
    }
    printf("  %8s %-8s %-23s %-12s %5s %8s %10s %9s\n", "ID", "STATUS",
           "COMMITTED", "APP", "RANKS", "POINT", "SIZE", "IN FLIGHT");
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &v[i];

        printf("%c %8llu %-8s ", (int)i == newest ? '*' : ' ',
               (unsigned long long)e->id, e->status);
        if (e->have_index)
            printf("%-23s %-12.12s %5d %8llu %10s %9llu\n",
                   tool_time(t, sizeof t, e->ix.t_end), e->ix.app,
                   (int)e->ix.nranks, (unsigned long long)e->ix.point,
                   tool_size(sz, sizeof sz, e->ix.bytes),
                   (unsigned long long)e->ix.nmsgs);
        else
            printf("%-23s %-12s %5s %8s %10s %9s\n", "-", "-", "-", "-",
                   tool_size(sz, sizeof sz, e->bytes), "-");
        if (e->partial)
            printf("           %d rank file(s); never restored\n", e->nfiles);
        if (e->have_index && e->ix.observation)
            printf("           an observation snapshot (verdict %s): never "
                   "restored\n",
                   e->ix.verdict);
        if (e->problem[0])
            printf("           %s\n", e->problem);
    }
}

/* One root, examined: entries newest first, the newest ok one marked. */
struct rootlist {
    struct entry *v;
    size_t n;
    int newest;
    int observe; /* shown as observations */
};

static int load(const char *root, struct rootlist *l)
{
    uint64_t *ids;
    int *partial, ret;
    const char *base = strrchr(root, '/');

    memset(l, 0, sizeof *l);
    l->newest = -1;
    if ((ret = snap_scan(root, &ids, &partial, &l->n)))
        return ret;
    l->v = calloc(l->n ? l->n : 1, sizeof *l->v);
    if (!l->v)
        return tool_err("out of memory");
    /* A root named observe, or holding observations, is listed as one. */
    l->observe = strcmp(base ? base + 1 : root, "observe") == 0;
    for (size_t i = 0; i < l->n; i++) {
        struct entry *e = &l->v[i];

        e->id = ids[i];
        e->partial = partial[i];
        examine(root, e);
        if (l->newest < 0 && !e->partial && strcmp(e->status, "ok") == 0)
            l->newest = (int)i;
        l->observe |= e->have_index && e->ix.observation;
    }
    free(ids);
    free(partial);
    return 0;
}

static void unload(struct rootlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        ms__store_free_index(&l->v[i].ix);
    free(l->v);
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *root;
    char obsroot[4200];
    struct rootlist l, ol = {0};
    int json = 0, c, ret, has_obs;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return help_verb("list"), EXIT_OK;
        if (c == 'j')
            json = 1;
        else
            return usage_err("list");
    }
    if (argc - optind > 1)
        return usage_err("list");
    root = tool_root(optind < argc ? argv[optind] : NULL);
    if ((ret = load(root, &l)))
        return ret;
    snprintf(obsroot, sizeof obsroot, "%s/observe", root);
    has_obs = is_dir(obsroot);
    if (has_obs && (ret = load(obsroot, &ol))) {
        unload(&l);
        return ret;
    }
    if (json) {
        js_begin_obj(NULL);
        js_str("dir", root);
        json_entries(root, l.v, l.n, l.newest);
        if (has_obs) {
            js_begin_obj("observations");
            js_str("dir", obsroot);
            json_entries(obsroot, ol.v, ol.n, ol.newest);
            js_end_obj();
        } else {
            js_raw("observations", "null");
        }
        js_end_obj();
        js_done();
    } else {
        if (l.observe)
            print_obs_text(root, l.v, l.n, l.newest);
        else
            print_text(root, l.v, l.n, l.newest);
        if (has_obs && ol.n) {
            putchar('\n');
            print_obs_text(obsroot, ol.v, ol.n, ol.newest);
        }
    }
    unload(&l);
    if (has_obs)
        unload(&ol);
    return EXIT_OK;
}
