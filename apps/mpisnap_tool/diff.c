/* mpisnap diff: the regions that differ between two snapshots. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static int ndiff;

static void diff_begin(int json, int rank, const char *region, const char *what)
{
    ndiff++;
    if (json) {
        js_begin_obj(NULL);
        js_int("rank", rank);
        js_str("region", region);
        js_str("kind", what);
    } else if (region) {
        printf("rank %d region %s: ", rank, region);
    } else {
        printf("rank %d: ", rank);
    }
}

/* Elements that differ and the largest |a - b| (numbers only). */
static void compare(const struct ms__region *a, const struct ms__region *b,
                    int rank, int json)
{
    size_t es = etype_size(a->etype);
    uint64_t n = 0;
    double maxd = 0;
    int num = a->etype != MS_T_BYTES;

    for (uint64_t i = 0; i < a->count; i++) {
        double x, y;

        if (region_is_float(a->etype)) {
            x = region_value(a, i);
            y = region_value(b, i);
            if (x == y || (isnan(x) && isnan(y)))
                continue;
        } else if (!memcmp((const char *)a->base + i * es,
                           (const char *)b->base + i * es, es)) {
            continue;
        } else {
            x = region_value(a, i);
            y = region_value(b, i);
        }
        n++;
        if (num && fabs(x - y) > maxd)
            maxd = fabs(x - y);
        if (num && isnan(x - y))
            maxd = NAN;
    }
    if (n == 0)
        return;
    diff_begin(json, rank, a->name, "values");
    if (json) {
        js_str("type", ms__etype_name(a->etype));
        js_u64("count", a->count);
        js_u64("differ", n);
        if (num)
            js_num("max_abs_diff", maxd);
        js_end_obj();
        return;
    }
    printf("%s[%llu]: %llu of %llu elements differ", ms__etype_name(a->etype),
           (unsigned long long)a->count, (unsigned long long)n,
           (unsigned long long)a->count);
    if (num)
        printf(", max |a-b| = %.6g", maxd);
    putchar('\n');
}

static const struct ms__region *find(const struct ms__rankdata *d,
                                     const char *name)
{
    for (size_t i = 0; i < d->nregions; i++)
        if (!strcmp(d->regions[i].name, name))
            return &d->regions[i];
    return NULL;
}

static void only_in(int json, int rank, const struct ms__region *g,
                    const char *side)
{
    diff_begin(json, rank, g->name, side[0] == 'A' ? "only_in_a" : "only_in_b");
    if (json)
        js_end_obj();
    else
        printf("only in %s (%s[%llu])\n", side, ms__etype_name(g->etype),
               (unsigned long long)g->count);
}

static void diff_rank(const struct ms__rankdata *a,
                      const struct ms__rankdata *b, int r, int json)
{
    for (size_t i = 0; i < a->nregions; i++) {
        const struct ms__region *x = &a->regions[i], *y = find(b, x->name);

        if (!y) {
            only_in(json, r, x, "A");
        } else if (x->etype != y->etype || x->count != y->count) {
            diff_begin(json, r, x->name, "shape");
            if (json) {
                js_str("a", ms__etype_name(x->etype));
                js_u64("a_count", x->count);
                js_str("b", ms__etype_name(y->etype));
                js_u64("b_count", y->count);
                js_end_obj();
            } else {
                printf("A has %s[%llu], B has %s[%llu]\n",
                       ms__etype_name(x->etype), (unsigned long long)x->count,
                       ms__etype_name(y->etype), (unsigned long long)y->count);
            }
        } else {
            compare(x, y, r, json);
        }
    }
    for (size_t i = 0; i < b->nregions; i++)
        if (!find(a, b->regions[i].name))
            only_in(json, r, &b->regions[i], "B");
    if (a->nmsgs != b->nmsgs) {
        diff_begin(json, r, NULL, "in_flight");
        if (json) {
            js_u64("a", a->nmsgs);
            js_u64("b", b->nmsgs);
            js_end_obj();
        } else {
            printf("messages in flight: A %zu, B %zu\n", a->nmsgs, b->nmsgs);
        }
    }
}

int cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"rank", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    struct snap a, b;
    char err[1024], *end;
    int json = 0, c, ret, rank = -1, n;

    while ((c = getopt_long(argc, argv, "d:r:h", opts, NULL)) != -1) {
        if (c == 'h')
            return help_verb("diff"), EXIT_OK;
        if (c == 'd') {
            dir = optarg;
        } else if (c == 'j') {
            json = 1;
        } else if (c == 'r') {
            rank = (int)strtol(optarg, &end, 10);
            if (*end || rank < 0)
                return tool_err("--rank %s: not a rank", optarg);
        } else {
            return usage_err("diff");
        }
    }
    if (argc - optind != 2)
        return usage_err("diff");
    memset(&b, 0, sizeof b);
    if ((ret = snap_open(&a, argv[optind], dir)) ||
        (ret = snap_open(&b, argv[optind + 1], dir)))
        goto out;
    n = a.nranks < b.nranks ? a.nranks : b.nranks;
    for (int r = 0; r < n; r++) {
        if (rank >= 0 && r != rank)
            continue;
        if (snap_load_rank(&a, r, 1, err, sizeof err) < 0 ||
            snap_load_rank(&b, r, 1, err, sizeof err) < 0) {
            ret = tool_err("%s", err);
            goto out;
        }
    }
    if (json) {
        js_begin_obj(NULL);
        js_str("a", a.dir);
        js_str("b", b.dir);
        js_int("a_nranks", a.nranks);
        js_int("b_nranks", b.nranks);
        js_begin_arr("differences");
    } else {
        printf("A: %s (%d ranks)\nB: %s (%d ranks)\n", a.dir, a.nranks, b.dir,
               b.nranks);
    }
    if (a.nranks != b.nranks) {
        ndiff++;
        if (!json)
            printf("A has %d ranks, B has %d: comparing ranks 0-%d\n", a.nranks,
                   b.nranks, n - 1);
    }
    for (int r = 0; r < n; r++)
        if (rank < 0 || r == rank)
            diff_rank(&a.rk[r], &b.rk[r], r, json);
    if (json) {
        js_end_arr();
        js_bool("same", ndiff == 0);
        js_end_obj();
        js_done();
    } else {
        if (ndiff)
            printf("%d difference%s\n", ndiff, ndiff == 1 ? "" : "s");
        else
            printf("no differences\n");
    }
    ret = ndiff ? EXIT_FAIL : EXIT_OK;
out:
    snap_close(&a);
    snap_close(&b);
    return ret;
}
