#!/usr/bin/env bash
# Observations of a hung job that keeps running: started by a signal, and
# with MPISNAP_ON_HANG=report (the job is reported, not ended).
#
#   hang_live.sh --mpiexec CMD --mpiexec-flags F --work DIR --hang PATH \
#       --mode signal|report
#
# signal: `hang master-worker` with MPISNAP_OBSERVE=1 and no hang timer;
#         SIGUSR2 to one rank starts an observation: verdict quiescent.
# report: `hang recv-cycle` with MPISNAP_HANG_AFTER=1 and
#         MPISNAP_ON_HANG=report: the deadlock is printed, and the job is
#         still running 3 s later (the test then kills it).
set -euo pipefail
RT_NAME=observe_hang_live
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../restart/testlib.sh"
rt_parse_common "$@"

hang="" mode=""
set -- "${RT_ARGS[@]}"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --hang) hang=$2 && shift 2 ;;
    --mode) mode=$2 && shift 2 ;;
    *) rt_die "unknown option '$1'" ;;
    esac
done
[[ -x "$hang" ]] || rt_die "--hang: '$hang' is not a program"
log="$RT_WORK/run.log"

case "$mode" in
signal)
    envs=(MPISNAP_OBSERVE=1 MPISNAP_ON_HANG=report)
    pattern=master-worker
    want='observation 0: quiescent: every rank waits in a receive'
    ;;
report)
    envs=(MPISNAP_HANG_AFTER=1 MPISNAP_ON_HANG=report)
    pattern=recv-cycle
    want='observation 0: deadlock: ranks 0 -> 1 -> 0 '
    ;;
*) rt_die "--mode must be signal or report" ;;
esac

env "${envs[@]}" MPISNAP_DIR="$RT_WORK/snaps" MPISNAP_LOG=info \
    "$RT_MPIEXEC" -n 3 "${RT_FLAGS[@]}" "$hang" "$pattern" >"$log" 2>&1 &
job=$!
trap 'kill -9 $job 2>/dev/null || true; pkill -9 -P $job 2>/dev/null || true' EXIT

# wait_for RE SECONDS: until a line of the log matches.
wait_for() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        grep -Eq -- "$1" "$log" && return 0
        kill -0 "$job" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

if [[ $mode == signal ]]; then
    sleep 2 # all ranks are in MPI_Recv by now
    grep -q 'observation 0' "$log" &&
        rt_die "an observation began before the signal"
    ranks=$(pgrep -P "$job" || true)
    [[ -n "$ranks" ]] || rt_die "no rank process found under mpiexec $job"
    kill -USR2 "$(head -1 <<<"$ranks")"
    rt_say "sent SIGUSR2 to rank process $(head -1 <<<"$ranks")"
fi
wait_for "$want" 20 || {
    rt_show "$log"
    rt_die "no line matching '$want' within 20 s"
}
sleep 3
kill -0 "$job" 2>/dev/null || {
    rt_show "$log"
    rt_die "the job ended: MPISNAP_ON_HANG=report must leave it running"
}
rt_show "$log"
[[ -f "$RT_WORK/snaps/observe/snap-000000/index.h5" ]] ||
    rt_die "observation 0 was not committed in $RT_WORK/snaps/observe"
rt_pass
