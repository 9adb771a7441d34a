#!/usr/bin/env bash
# The file fuzzer (filefuzz.c) on a small real snapshot: bank on 2 ranks,
# two committed snapshots with messages in flight.
#
#   filefuzz.sh --mpiexec CMD --mpiexec-flags F --work DIR \
#       --bank PATH --filefuzz PATH --mpisnap PATH [filefuzz options...]
#
# CTest runs a seeded sample; for the full sweep (every byte of both
# files, several hours on one core; --only index: the index alone, about
# half an hour):
#   filefuzz.sh ... --full
# Hostile rank files (the index's checksums made to match each change):
#   filefuzz.sh ... --rehash --only rank [--full]
set -euo pipefail
RT_NAME=fault_filefuzz
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../restart/testlib.sh"
rt_parse_common "$@"
set -- "${RT_ARGS[@]}"
[[ $# -ge 6 && "$1" == --bank && "$3" == --filefuzz && "$5" == --mpisnap ]] ||
    rt_die "usage: ... --bank PATH --filefuzz PATH --mpisnap PATH [OPTION...]"
bank=$2 fuzz=$4 tool=$6
shift 6

snaps="$RT_WORK/snaps"
rt_run_ok "$RT_WORK/bank.log" 2 MPISNAP_DIR="$snaps" MPISNAP_EVERY=5 \
    "$bank" --rounds 12 --transfers-per-round 3
mapfile -t ids < <(rt_snapshot_ids "$snaps")
[[ ${#ids[@]} -eq 2 ]] || rt_die "expected 2 snapshots, found: ${ids[*]}"
"$fuzz" "$snaps" "$RT_WORK/fuzz" "$tool" "$@" ||
    rt_die "the store or the tool mishandled a damaged file (FAIL lines above)"
rt_pass
