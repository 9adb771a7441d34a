#!/usr/bin/env bash
# A rank SIGKILLed while it writes its file of snapshot 1: the job dies,
# snapshot 0 stays the newest committed one, the restart restores it and
# ends with the uninterrupted run's checksum, and the stale
# snap-000001.partial directory is gone after the restart.
#
#   kill_in_write.sh --mpiexec CMD --mpiexec-flags F --work DIR --heat2d PATH
set -euo pipefail
RT_NAME=fault_kill_in_write
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../restart/testlib.sh"
rt_parse_common "$@"
set -- "${RT_ARGS[@]}"
[[ $# -eq 2 && "$1" == --heat2d ]] || rt_die "usage: ... --heat2d PATH"
heat2d=(
    "$2" --nx 48 --ny 48 --iters 200 --sleep-us 0 --snapshot-every 40)
np=4
snaps="$RT_WORK/snaps"

rt_run_ok "$RT_WORK/ref.log" $np MPISNAP_DIR="$RT_WORK/ref" \
    MPISNAP_RESTART=never "${heat2d[@]}"
ref=$(rt_checksum "$RT_WORK/ref.log")

# 1. snapshot 0 commits; rank 1 kills itself writing snapshot 1.
log="$RT_WORK/killed.log"
rc=0
rt_run "$log" $np MPISNAP_DIR="$snaps" MPISNAP_TEST_KILL_IN_WRITE=1:1 \
    "${heat2d[@]}" || rc=$?
[[ $rc -ne 0 && $RT_TIMED_OUT -eq 0 ]] || {
    rt_show "$log"
    rt_die "the job with a rank killed in snapshot 1 should die with an error (exit $rc)"
}
rt_say "the job died as it should (exit $rc)"
rt_expect "$log" "killing rank 1 in snapshot 1"
rt_reject "$log" "snapshot 1 committed"
rt_reject "$log" "^checksum "
point0=$(rt_safe_point "$log" 0)
[[ -n "$point0" ]] || {
    rt_show "$log"
    rt_die "snapshot 0 did not commit before the kill"
}
rt_eq "latest after the kill" "$(cat "$snaps/latest")" snap-000000
rt_eq "committed snapshots after the kill" "$(rt_snapshot_ids "$snaps" | tr '\n' ' ')" "0 "
[[ -d "$snaps/snap-000001.partial" ]] ||
    rt_die "no snap-000001.partial after the kill (found: $(ls "$snaps" | tr '\n' ' '))"
[[ -f "$snaps/snap-000001.partial/rank-000001.h5" ]] ||
    rt_die "rank 1 was killed before writing its file of snapshot 1"
rt_say "snap-000001.partial holds: $(ls "$snaps/snap-000001.partial" | tr '\n' ' ')"

# 2. restart: snapshot 0, the reference result, no stale directory left.
rlog="$RT_WORK/restart.log"
rt_run_ok "$rlog" $np MPISNAP_DIR="$snaps" "${heat2d[@]}"
rt_expect "$rlog" "restored snapshot 0 \(safe point $point0\)"
rt_eq "restored step" "$(sed -En 's/^restored step ([0-9]+)$/\1/p' "$rlog")" \
    "$((point0 - 1))"
rt_eq "checksum after the restart" "$(rt_checksum "$rlog")" "$ref"
stale=$(find "$snaps" -maxdepth 1 -name '*.partial')
[[ -z "$stale" ]] || rt_die "stale directories left after the restart: $stale"
rt_say "no .partial directory left: $(ls "$snaps" | tr '\n' ' ')"
rt_pass
