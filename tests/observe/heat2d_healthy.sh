#!/usr/bin/env bash
# A healthy heat2d run is never reported hung, and observing it changes
# nothing: observations from several initiators, back to back, plus
# MPISNAP_HANG_AFTER set very low (so waits in halos and MPI_Allreduce
# start observations too).
#
#   heat2d_healthy.sh --mpiexec CMD --mpiexec-flags F --work DIR \
#       --heat2d PATH [--every K] [--observers N] [--inflight]
#       [--checkpoints]
#
# Checks: the observed run ends with the unobserved run's checksum; every
# verdict is "progressing" (at least 5 of them); no inconsistent cut; the
# observation snapshots are committed under DIR/observe.
# --checkpoints: checkpoint snapshots run at the same time (MPISNAP_EVERY);
# they all commit, and a restart from the oldest one, observed again, ends
# with the same checksum: observations never disturb checkpoints.
set -euo pipefail
RT_NAME=observe_heat2d_healthy
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../restart/testlib.sh"
rt_parse_common "$@"

heat2d="" every=2 observers=3 extra=() checkpoints=0
set -- "${RT_ARGS[@]}"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --heat2d) heat2d=$2 && shift 2 ;;
    --every) every=$2 && shift 2 ;;
    --observers) observers=$2 && shift 2 ;;
    --inflight) extra+=(--inflight) && shift ;;
    --checkpoints) checkpoints=1 && shift ;;
    *) rt_die "unknown option '$1'" ;;
    esac
done
[[ -x "$heat2d" ]] || rt_die "--heat2d: '$heat2d' is not a program"

args=(--nx 96 --ny 96 --iters 120 --sleep-us 0 --quiet "${extra[@]}")
rt_run_ok "$RT_WORK/plain.log" 4 MPISNAP_DIR="$RT_WORK/plain" \
    "$heat2d" "${args[@]}"
want=$(rt_checksum "$RT_WORK/plain.log")

ckpt=()
((checkpoints)) && ckpt=(MPISNAP_EVERY=25 MPISNAP_KEEP=100)
rt_run_ok "$RT_WORK/observed.log" 4 MPISNAP_DIR="$RT_WORK/obs" \
    MPISNAP_HANG_AFTER=0.01 MPISNAP_ON_HANG=abort "${ckpt[@]}" \
    "$heat2d" "${args[@]}" --observe-every "$every" --observers "$observers"
rt_eq "checksum with observations" "$(rt_checksum "$RT_WORK/observed.log")" \
    "$want"
rt_reject "$RT_WORK/observed.log" 'deadlock|quiescent|inconsistent|warn: observation'
n=$(grep -Ec 'observation [0-9]+: progressing: ' "$RT_WORK/observed.log" ||
    true)
((n >= 5)) || {
    rt_show "$RT_WORK/observed.log"
    rt_die "expected at least 5 'progressing' verdicts, got $n"
}
rt_say "$n observations, all progressing"
ncommitted=$(find "$RT_WORK/obs/observe" -maxdepth 2 -name index.h5 | wc -l)
((ncommitted >= 1)) || rt_die "no observation snapshot committed"

if ((checkpoints)); then
    ids=$(find "$RT_WORK/obs" -maxdepth 1 -name 'snap-*' -printf '%f\n' |
        sed 's/snap-0*//; s/^$/0/' | sort -n)
    nck=$(wc -w <<<"$ids")
    ((nck >= 3)) || rt_die "expected at least 3 checkpoints, found $nck"
    first=$(head -1 <<<"$ids")
    rt_run_ok "$RT_WORK/restart.log" 4 MPISNAP_DIR="$RT_WORK/obs" \
        MPISNAP_RESTART="$first" MPISNAP_OBSERVE=1 \
        "$heat2d" "${args[@]}" --observe-every "$every" \
        --observers "$observers"
    rt_expect "$RT_WORK/restart.log" '^restored step [0-9]+$'
    rt_reject "$RT_WORK/restart.log" 'deadlock|quiescent|inconsistent|warn: observation'
    rt_eq "checksum after restart from checkpoint $first of $nck" \
        "$(rt_checksum "$RT_WORK/restart.log")" "$want"
fi
rt_pass
