/* mpisnap, the command-line tool: shared declarations.
 * This file is private to the tool.  The tool reads snapshots through the
 * store (lib/src/store/store.h) and never calls MPI. */
#ifndef MPISNAP_TOOL_H
#define MPISNAP_TOOL_H

#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

/* Exit status of every verb. */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,  /* verify: a check failed; diff: snapshots differ */
    EXIT_ERROR = 2, /* usage, or the input could not be read */
};

/* ---- main.c: errors ---- */
extern const char *tool_verb; /* "show", ... for messages */
/* "mpisnap VERB: message" on stderr; returns EXIT_ERROR. */
int tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* msg without a leading "path: " when it already starts with it. */
const char *tool_strip(const char *msg, const char *path);
/* The snapshot root: dir if set, else $MPISNAP_DIR, else
 * ./mpisnap-snapshots. */
const char *tool_root(const char *dir);
/* Human size: "1.5 MiB" into buf. */
const char *tool_size(char *buf, size_t n, uint64_t bytes);
/* Local time "2024-05-01 12:00:00.123" into buf. */
const char *tool_time(char *buf, size_t n, double t);

/* ---- help.c ---- */
void help_main(FILE *f);
/* Full help of a verb on stdout; 0, or -1 for an unknown verb. */
int help_verb(const char *verb);
/* "usage: ..." line and a hint on stderr; returns EXIT_ERROR. */
int usage_err(const char *verb);

/* ---- snap.c: a snapshot on disk ---- */
struct snap {
    char root[4096]; /* directory holding snap-N */
    char dir[4200];  /* the snapshot directory */
    uint64_t id;
    int partial;    /* snap-N.partial: no index, no checksums */
    int have_index; /* index.h5 was read */
    struct ms__index ix;
    int nranks;              /* from the index, or rank files found (partial) */
    struct ms__rankdata *rk; /* [nranks], filled by snap_load_rank */
    int *loaded;             /* [nranks] */
};

/* Resolve a SNAP argument (see docs/cli.md): a snapshot directory
 * (snap-N or snap-N.partial), a root directory (its newest committed
 * snapshot), ROOT:ID, ROOT:latest, or ID / latest in tool_root(dir).  Then
 * read the index.  Prints one error line and returns EXIT_ERROR when the
 * snapshot cannot be found or its index cannot be read. */
int snap_open(struct snap *s, const char *arg, const char *dir);
/* Read rank r (checksum checked when the index is there).  values: also
 * read every region into a buffer of its own (regions[i].base).  On error
 * err gets "<path>: <problem>" and a negative code is returned. */
int snap_load_rank(struct snap *s, int r, int values, char *err, size_t n);
void snap_rank_path(const struct snap *s, int r, char *out, size_t n);
void snap_close(struct snap *s);
/* An observation snapshot (the index's kind; without an index, the kind of
 * the first loaded rank file). */
int snap_is_observation(const struct snap *s);
/* Committed ids in root, newest first, with partial ones (partial[i] set),
 * sorted by id descending.  Returns 0 or EXIT_ERROR (line printed). */
int snap_scan(const char *root, uint64_t **ids, int **partial, size_t *n);

/* Communicators: world rank of rank `r` of comm id in rank data d, or -1. */
const struct ms__commrec *snap_comm(const struct ms__rankdata *d, uint64_t id);
int snap_world(const struct ms__commrec *c, int r);
/* "world", "self" or the id in decimal, into buf. */
const char *snap_comm_name(char *buf, size_t n, const struct ms__commrec *c,
                           uint64_t id, int nranks);

/* Numeric value of element i of a region as a double (0 for bytes). */
double region_value(const struct ms__region *r, uint64_t i);
int region_is_float(int etype);
/* Print element i (exact) into buf. */
const char *region_format(char *buf, size_t n, const struct ms__region *r,
                          uint64_t i);
size_t etype_size(int etype);

/* ---- json.c: a small streaming JSON writer on stdout ---- */
void js_begin_obj(const char *key); /* key NULL inside arrays and at top */
void js_end_obj(void);
void js_begin_arr(const char *key);
void js_end_arr(void);
void js_str(const char *key, const char *v); /* v NULL: null */
void js_int(const char *key, long long v);
void js_u64(const char *key, uint64_t v);
void js_num(const char *key, double v); /* NaN, inf: null */
void js_bool(const char *key, int v);
void js_raw(const char *key, const char *literal); /* number text */
void js_done(void);                                /* final newline */

/* ---- draw.c: SVG output (to svg_out) ---- */
extern FILE *svg_out;
void svg_begin(int width, int height); /* header, styles, arrow heads */
void svg_escape(const char *s);        /* text with <, >, & escaped */
void svg_text(double x, double y, const char *cls, const char *s);
/* A line with an arrow head (red for class inflight and cycle) and a
 * <title>. */
void svg_arrow(double x1, double y1, double x2, double y2, const char *cls,
               const char *title);

/* ---- waitfor.c: observation snapshots ---- */
const char *need_kind_name(int kind); /* "recv", "send", "coll" */
/* One need of rank r in words: "receive from rank 1, tag 5, on world". */
const char *need_text(char *buf, size_t n, const struct snap *s, int r,
                      const struct ms__need *nd);
/* Messages in flight to a rank, from /observe/inflight. */
uint64_t obs_inflight(const struct ms__rankdata *d);
/* Rank of world rank w in communicator c, or -1. */
int snap_rank_in(const struct ms__commrec *c, int w);
/* The wait-for graph of an observation (every rank loaded) into svg_out;
 * what: a summary for the "wrote" line. */
void waitfor_svg(const struct snap *s, char *what, size_t n);

/* ---- the verbs ---- */
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_draw(int argc, char **argv);
int cmd_halt(int argc, char **argv);

#endif
