#!/usr/bin/env bash
# The layer's cost on the no-snapshot path, in instructions: callgrind
# counts what one Isend + Recv + Wait to self costs through the layer and
# around it (bench_self_loop), as the difference between runs of N1 and N2
# iterations, so MPI_Init and MPI_Finalize cancel out.  Counts, unlike
# times, do not change with the load of the machine: compare two builds
# with them (docs/benchmarks.md).
#
#   bench/instructions.sh [BUILD_DIR]      (default: build)
set -euo pipefail
build=${1:-build}
prog="$build/bench/bench_self_loop"
[[ -x "$prog" ]] || { echo "instructions.sh: no $prog (build first)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# count MODE N: the program's total instructions.
count() {
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        MPISNAP_DIR="$tmp/snaps" valgrind --tool=callgrind \
        --callgrind-out-file="$tmp/cg.out" "$prog" "$1" "$2" >/dev/null 2>&1
    callgrind_annotate "$tmp/cg.out" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}

n1=2000 n2=12000
for mode in plain layer; do
    a=$(count $mode $n1)
    b=$(count $mode $n2)
    per[$([[ $mode == plain ]] && echo 0 || echo 1)]=$(((b - a) / (n2 - n1)))
done
echo "instructions per Isend+Recv+Wait to self: plain MPI ${per[0]}, through mpisnap ${per[1]}"
awk -v p="${per[0]}" -v l="${per[1]}" \
    'BEGIN { printf "RESULT self_loop layer/plain %.3f (+%d instructions)\n", l / p, l - p }'
