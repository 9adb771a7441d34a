#!/usr/bin/env bash
# Restart from every committed snapshot of a run: each must pass
# `mpisnap verify`, log exactly the expected number of messages in flight,
# and end with the uninterrupted run's checksum.
#
#   cut_held.sh --mpiexec CMD --mpiexec-flags F --work DIR --tool MPISNAP \
#       [--np N] [--env VAR=VALUE]... [--inflight LO HI N]... \
#       [--min-snapshots K] -- PROGRAM [ARG...]
#
# --env goes to the run with snapshots and to the restarts.
# --inflight LO HI N: a snapshot whose safe point is in LO..HI commits with
# exactly N message(s) in flight.
# --no-orphans: no snapshot of the run or of a restart aborts as an
# "orphan message" (streams whose counts went out of balance abort every
# later snapshot that way; missed safe points under load do not count).
set -euo pipefail
RT_NAME=cut_held
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
rt_parse_common "$@"

envs=()
inflight=()
np=2
tool=""
min=1
no_orphans=0
set -- "${RT_ARGS[@]}"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --env) envs+=("$2") && shift 2 ;;
    --np) np=$2 && shift 2 ;;
    --tool) tool=$2 && shift 2 ;;
    --min-snapshots) min=$2 && shift 2 ;;
    --inflight) inflight+=("$2 $3 $4") && shift 4 ;;
    --no-orphans) no_orphans=1 && shift ;;
    --) shift && break ;;
    *) rt_die "unknown option '$1'" ;;
    esac
done
[[ $# -gt 0 ]] || rt_die "no program after --"
[[ -n "$tool" ]] || rt_die "--tool MPISNAP is required"

rt_run_ok "$RT_WORK/ref.log" "$np" MPISNAP_DIR="$RT_WORK/ref" \
    MPISNAP_RESTART=never "$@"
ref=$(rt_checksum "$RT_WORK/ref.log")

snaps="$RT_WORK/snaps"
log="$RT_WORK/snap.log"
rt_run_ok "$log" "$np" MPISNAP_DIR="$snaps" MPISNAP_KEEP=1000 "${envs[@]}" "$@"
rt_expect "$log" '^PASS$'
rt_eq "checksum of the run that took snapshots" "$(rt_checksum "$log")" "$ref"
mapfile -t ids < <(rt_snapshot_ids "$snaps")
[[ ${#ids[@]} -ge $min ]] || {
    rt_show "$log"
    rt_die "expected at least $min committed snapshot(s), found ${#ids[@]}"
}

for id in "${ids[@]}"; do
    point=$(rt_safe_point "$log" "$id")
    [[ -n "$point" ]] || rt_die "no 'snapshot $id committed' line in $log"
    n=$(sed -En "s/.*snapshot $id committed: .* ([0-9]+) message\\(s\\) in flight.*/\\1/p" "$log" | tail -n 1)
    for r in "${inflight[@]}"; do
        read -r lo hi want <<<"$r"
        if ((point >= lo && point <= hi)); then
            rt_eq "snapshot $id (safe point $point): messages in flight" \
                "$n" "$want"
        fi
    done
    if ! "$tool" verify "$snaps/$(printf 'snap-%06d' "$id")" \
        >"$RT_WORK/verify-$id.log" 2>&1; then
        rt_show "$RT_WORK/verify-$id.log"
        rt_die "mpisnap verify failed on snapshot $id"
    fi
    copy="$RT_WORK/restart-$id"
    cp -a "$snaps" "$copy"
    rt_run_ok "$copy.log" "$np" MPISNAP_DIR="$copy" MPISNAP_KEEP=1000 \
        "${envs[@]}" MPISNAP_RESTART="$id" "$@"
    rt_expect "$copy.log" "restored snapshot $id \(safe point $point\)"
    rt_expect "$copy.log" '^PASS$'
    rt_eq "restart from snapshot $id: checksum" "$(rt_checksum "$copy.log")" \
        "$ref"
done
if ((no_orphans)) && grep -l 'orphan message' "$log" "$RT_WORK"/restart-*.log; then
    rt_die "a snapshot aborted as an orphan message (logs above)"
fi
rt_pass "${#ids[@]} snapshot(s), each restarted"
