#!/usr/bin/env bash
# `latest` cannot be replaced after the commit's rename (here it is a
# directory that cannot be removed): the snapshot is committed all the same,
# and the log, the job and the disk agree.  A stop snapshot (a halt file)
# logs "committed" and a warning naming `latest`, never "aborted"; the job
# stops; the snapshot is on disk and the restart restores it, to the
# uninterrupted run's checksum.
#
#   latest_fails.sh --mpiexec CMD --mpiexec-flags F --work DIR --heat2d PATH
set -euo pipefail
RT_NAME=fault_latest_fails
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../restart/testlib.sh"
rt_parse_common "$@"
set -- "${RT_ARGS[@]}"
[[ $# -eq 2 && "$1" == --heat2d ]] || rt_die "usage: ... --heat2d PATH"
heat2d=("$2" --nx 48 --ny 48 --iters 2000 --quiet)
np=2
snaps="$RT_WORK/snaps"

rt_run_ok "$RT_WORK/ref.log" $np MPISNAP_DIR="$RT_WORK/ref" \
    MPISNAP_RESTART=never "${heat2d[@]}" --sleep-us 0
ref=$(rt_checksum "$RT_WORK/ref.log")

mkdir -p "$snaps/latest/x"
echo now >"$snaps/halt"
log="$RT_WORK/stop.log"
rt_run_ok "$log" $np MPISNAP_DIR="$snaps" "${heat2d[@]}" --sleep-us 1000
rt_expect "$log" "snapshot 0 committed"
rt_expect "$log" "snapshot 0: latest not updated: rename .*latest.tmp: Is a directory"
rt_expect "$log" "^stopped at step [0-9]+ after snapshot"
rt_reject "$log" "aborted"
rt_reject "$log" "^checksum "
[[ -f "$snaps/snap-000000/index.h5" ]] ||
    rt_die "snapshot 0 is not on disk: $(ls "$snaps" | tr '\n' ' ')"
[[ ! -e "$snaps/.latest.tmp" ]] || rt_die ".latest.tmp left behind"
rt_say "stopped after snapshot 0, committed without latest"

rlog="$RT_WORK/restart.log"
rt_run_ok "$rlog" $np MPISNAP_DIR="$snaps" "${heat2d[@]}" --sleep-us 0
rt_expect "$rlog" "restored snapshot 0"
rt_eq "checksum after the restart" "$(rt_checksum "$rlog")" "$ref"
rt_pass "log, exit and disk agree"
