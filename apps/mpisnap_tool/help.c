/* Help texts: `mpisnap --help` and `mpisnap VERB --help`. */
#include <string.h>

#include "tool.h"

static const char snap_text[] =
    "SNAP names one snapshot:\n"
    "  PATH/snap-000007         a snapshot directory (also snap-N.partial)\n"
    "  ROOT                     a snapshot root: the snapshot a restart "
    "would\n"
    "                           use (the newest committed one not "
    "damaged)\n"
    "  ROOT:7, ROOT:latest      snapshot 7 / the one a restart would use\n"
    "  7, latest                in --dir DIR, else $MPISNAP_DIR, else\n"
    "                           ./mpisnap-snapshots\n"
    "Observation snapshots live in the root ROOT/observe: name them the\n"
    "same way, e.g. ROOT/observe:3 or ROOT/observe (the newest one).\n";

void help_main(FILE *f)
{
    fputs("usage: mpisnap VERB [options] ...\n"
          "\n"
          "Read, check and draw snapshots written by mpisnap.  Runs without\n"
          "MPI (no mpirun needed).\n"
          "\n"
          "  list [DIR]              committed, partial and damaged "
          "snapshots\n"
          "                          (and the observations in DIR/observe)\n"
          "  show SNAP               ranks, regions, messages in flight;\n"
          "                          an observation's verdict and waits\n"
          "  verify SNAP             checksums and the consistency "
          "certificate\n"
          "  diff A B                regions that differ between two "
          "snapshots\n"
          "  draw SNAP -o cut.svg    space-time diagram of the cut, or an\n"
          "                          observation's wait-for graph (SVG)\n"
          "  halt [DIR] [--now]      ask a running job to snapshot and "
          "stop\n"
          "\n"
          "  mpisnap VERB --help     details;  mpisnap --version\n",
          f);
}

struct help {
    const char *verb, *synopsis, *body, *fail, *examples;
};

static const struct help helps[] = {
    {"list", "mpisnap list [DIR] [--json]",
     "List the snapshots in DIR (default: $MPISNAP_DIR, else\n"
     "./mpisnap-snapshots), newest first: id, status, time of commit,\n"
     "application, ranks, safe point, size and messages in flight.  The\n"
     "newest committed snapshot is marked with '*'.\n"
     "\n"
     "Status: 'ok' (committed; checksums are not read: use verify),\n"
     "'partial' (being written, or left by a crash: never restored),\n"
     "'damaged' (committed, but the index cannot be read, a rank file is\n"
     "missing or the file sizes do not add up to the index's total).\n"
     "\n"
     "Then, when DIR/observe holds observation snapshots (records of the\n"
     "live job taken to decide deadlock, quiescence and properties; never\n"
     "restored), they are listed in a second table: id, status, time, app,\n"
     "ranks, size and verdict.  'list DIR/observe' lists that root alone.\n"
     "\n"
     "OPTIONS\n"
     "  --json       one JSON object: {\"dir\", \"snapshots\": [...],\n"
     "               \"observations\": {\"dir\", \"snapshots\"} or null};\n"
     "               every entry has \"kind\" and \"verdict\"\n"
     "  -h, --help   this text\n",
     "(not used)",
     "  mpisnap list /scratch/run1\n"
     "  mpisnap list /scratch/run1/observe\n"
     "  MPISNAP_DIR=/scratch/run1 mpisnap list --json | jq '.snapshots[0]'\n"},
    {"show", "mpisnap show SNAP [--rank R] [--region NAME [--dump]] [--json]",
     "Describe a snapshot: per rank the safe point, the protected regions\n"
     "(name, element type, shape, bytes), the communicators and, per\n"
     "channel (communicator, source, tag), the messages in flight across\n"
     "the cut (count and bytes).  Rank files are checked against the\n"
     "index's checksums first.\n"
     "\n"
     "An observation snapshot shows also its verdict and report as stored,\n"
     "the deadlock cycle, the properties (name, op, value, complete or\n"
     "'incomplete: payloads missing') and, per rank, the MPI call it was\n"
     "in, how long, what it waits for (a receive from a rank or any\n"
     "source, with its tag or any tag; a rank to receive its send; every\n"
     "member to start collective #n) and the messages in flight to it per\n"
     "channel (count, and payloads recorded).\n"
     "\n"
     "OPTIONS\n"
     "  -d, --dir DIR     root for SNAP given as an id or 'latest'\n"
     "  -r, --rank R      only rank R\n"
     "  --region NAME     only the region NAME\n"
     "  --dump            print the values of the selected region(s),\n"
     "                    8 per line after the index of the first\n"
     "  --json            one JSON object (values as arrays with --dump)\n"
     "  -h, --help        this text\n",
     "(not used)",
     "  mpisnap show /scratch/run1/snap-000007\n"
     "  mpisnap show latest --rank 3 --region u --dump | head\n"
     "  mpisnap show /scratch/run1/observe:3      (an observation)\n"},
    {"verify", "mpisnap verify SNAP [--json]",
     "Check a snapshot before a restart:\n"
     "  - index.h5 is readable and of a known format version;\n"
     "  - every rank file exists and matches its XXH64 checksum in the\n"
     "    index, and every dataset in it reads back (Fletcher-32);\n"
     "  - every rank recorded snapshot id and safe point of the index;\n"
     "  - the consistency certificate: for every channel (communicator,\n"
     "    source, destination, tag), messages sent before the sender's cut\n"
     "    = messages received before the receiver's cut + messages\n"
     "    recorded in flight;\n"
     "  - every member of every communicator started the same number of\n"
     "    collectives before the cut.\n"
     "For an observation the messages in flight are the counts of\n"
     "/observe/inflight (the payloads recorded may be fewer, never more);\n"
     "collective counts are not compared (ranks may be inside one), and\n"
     "what each rank waits for must name known ranks and communicators.\n"
     "Each failure is one line naming the rank, file or channel and the\n"
     "numbers.\n"
     "\n"
     "OPTIONS\n"
     "  -d, --dir DIR   root for SNAP given as an id or 'latest'\n"
     "  --json          one JSON object: {\"ok\", \"failures\": [...], ...}\n"
     "  -h, --help      this text\n",
     "a check failed (the snapshot is damaged or inconsistent)",
     "  mpisnap verify /scratch/run1/snap-000007 && mpirun ... ./app\n"
     "  mpisnap verify latest --json | jq .failures\n"},
    {"diff", "mpisnap diff A B [--rank R] [--json]",
     "Compare the protected regions of two snapshots, rank by rank: regions\n"
     "only in one of them, of another type or shape, and regions whose\n"
     "values differ, with the number of differing elements and, for\n"
     "numbers, the largest absolute difference.  Also compares the number\n"
     "of messages in flight.  Both snapshots are checksummed.\n"
     "\n"
     "OPTIONS\n"
     "  -d, --dir DIR   root for A and B given as ids or 'latest'\n"
     "  -r, --rank R    only rank R\n"
     "  --json          one JSON object: {\"same\", \"differences\": [...]}\n"
     "  -h, --help      this text\n",
     "the snapshots differ",
     "  mpisnap diff run1:3 run2:3\n"
     "  mpisnap diff --dir /scratch/run1 5 6\n"},
    {"draw", "mpisnap draw SNAP [-o FILE]",
     "Draw the Chandy-Lamport space-time diagram of a snapshot as SVG: one\n"
     "horizontal lane per rank, time to the right, messages as arrows,\n"
     "markers dashed, the recorded cut as a line through the lanes, and\n"
     "the messages in flight across the cut in red.\n"
     "\n"
     "The events come from /trace (run the job with MPISNAP_TRACE=1).\n"
     "Without a trace the diagram is schematic: the cut and the messages\n"
     "in flight from /channels only (the SVG says so).  Readable for 2-16\n"
     "ranks; beyond 16 the SVG holds a summary of the channels instead.\n"
     "Clocks of different nodes are not synchronised: arrows between\n"
     "nodes may lean backwards.\n"
     "\n"
     "An observation snapshot is drawn as its wait-for graph instead: a\n"
     "node per rank (its call, seconds waited, messages in flight to it)\n"
     "around a circle, an arrow a -> b when rank a waits for rank b\n"
     "(labelled with the tag, or coll #n), dashed arrows for a receive\n"
     "from any source, and the deadlock cycle in red.\n"
     "\n"
     "OPTIONS\n"
     "  -d, --dir DIR    root for SNAP given as an id or 'latest'\n"
     "  -o, --output F   the SVG file (default cut.svg; '-': stdout)\n"
     "  -h, --help       this text\n",
     "(not used)",
     "  MPISNAP_TRACE=1 mpirun -n 4 ./app; mpisnap draw latest -o cut.svg\n"
     "  mpisnap draw /scratch/run1/observe -o wait.svg\n"},
    {"halt", "mpisnap halt [DIR] [--now]",
     "Ask the job writing snapshots to DIR (default $MPISNAP_DIR, else\n"
     "./mpisnap-snapshots) to stop: writes DIR/halt, which the job's rank\n"
     "0 checks for about once a second at safe points and removes.\n"
     "  without --now   the job stops after its next scheduled snapshot\n"
     "                  (MPISNAP_INTERVAL or MPISNAP_EVERY); with no\n"
     "                  schedule it takes a snapshot at once, then stops\n"
     "  --now           the job takes a snapshot at once, then stops\n"
     "DIR must exist.  Prints what will happen.\n"
     "\n"
     "OPTIONS\n"
     "  --now        snapshot at once, then stop\n"
     "  -h, --help   this text\n",
     "(not used)", "  mpisnap halt /scratch/run1 --now\n"},
};

int help_verb(const char *verb)
{
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
        const struct help *h = &helps[i];

        if (strcmp(h->verb, verb) != 0)
            continue;
        printf("NAME\n  mpisnap %s\n\nSYNOPSIS\n  %s\n\nDESCRIPTION\n%s\n",
               h->verb, h->synopsis, h->body);
        if (strstr(h->synopsis, "SNAP") || !strcmp(verb, "diff"))
            printf("%s\n", snap_text);
        printf("EXIT STATUS\n  0  success\n");
        if (h->fail[0] != '(')
            printf("  1  %s\n", h->fail);
        printf("  2  usage error, or the input could not be found or read "
               "(one\n     line on stderr names the file and the "
               "problem)\n");
        printf("\nEXAMPLES\n%s", h->examples);
        return 0;
    }
    return -1;
}

int usage_err(const char *verb)
{
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
        if (!strcmp(helps[i].verb, verb)) {
            fprintf(stderr, "usage: %s\n(mpisnap %s --help for details)\n",
                    helps[i].synopsis, verb);
            return EXIT_ERROR;
        }
    fprintf(stderr, "mpisnap: unknown command '%s'\n", verb);
    return EXIT_ERROR;
}
