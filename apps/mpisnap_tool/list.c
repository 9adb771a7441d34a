/* mpisnap list: the snapshots in a directory. */
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
    char dir[4300];

    ms__store_snapdir(dir, sizeof dir, root, e->id, e->partial);
    if (e->partial) {
        e->status = "partial";
        file_sizes(dir, -1, e);
        return;
    }
    e->status = "ok";
    if (ms__store_read_index(root, e->id, &e->ix) < 0) {
        e->status = "damaged";
        snprintf(e->problem, sizeof e->problem, "index.h5: %s",
                 ms__store_lasterr());
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

static void print_json(const char *root, struct entry *v, size_t n, int newest)
{
    char dir[4300], t[64];

    js_begin_obj(NULL);
    js_str("dir", root);
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
    js_end_obj();
    js_done();
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
        if (e->problem[0])
            printf("           %s\n", e->problem);
    }
}

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *root;
    struct entry *v;
    uint64_t *ids;
    int *partial, json = 0, c, ret, newest = -1;
    size_t n;

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
    if ((ret = snap_scan(root, &ids, &partial, &n)))
        return ret;
    v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return tool_err("out of memory");
    for (size_t i = 0; i < n; i++) {
        v[i].id = ids[i];
        v[i].partial = partial[i];
        examine(root, &v[i]);
        if (newest < 0 && !v[i].partial && strcmp(v[i].status, "ok") == 0)
            newest = (int)i;
    }
    if (json)
        print_json(root, v, n, newest);
    else
        print_text(root, v, n, newest);
    for (size_t i = 0; i < n; i++)
        free(v[i].ix.checksums);
    free(v);
    free(ids);
    free(partial);
    return EXIT_OK;
}
