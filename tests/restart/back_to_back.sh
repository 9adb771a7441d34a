#!/usr/bin/env bash
# Back-to-back snapshots of heat2d: several commit in one run, retention
# keeps the newest MPISNAP_KEEP=3, and restarting from the newest and from
# the oldest kept one both end with the uninterrupted run's checksum.
#
#   back_to_back.sh --mpiexec CMD --mpiexec-flags F --work DIR \
#       [--env VAR=VALUE]... -- HEAT2D [ARG...]
#
# --env goes to the snapshot run and the restarts (e.g. MPISNAP_EVERY=2);
# heat2d's own arguments may ask for snapshots too (--snapshot-every K).
#   1. reference: MPISNAP_RESTART=never                      -> checksum A
#   2. the run with snapshots: exits 0 with checksum A, prints at least 4
#      "snapshot N committed" lines, and leaves exactly 3 snapshots, the
#      newest of them named in `latest`
#   3. restart (a copy of the directory, MPISNAP_RESTART=auto): "restored
#      step S" with S + 1 the newest snapshot's safe point; checksum A
#   4. restart (another copy, MPISNAP_RESTART=<oldest kept id>): the same
#      for that snapshot.
set -euo pipefail
RT_NAME=restart_back_to_back
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
rt_parse_common "$@"

envs=()
set -- "${RT_ARGS[@]}"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --env) envs+=("$2") && shift 2 ;;
    --) shift && break ;;
    *) rt_die "unknown option '$1'" ;;
    esac
done
[[ $# -gt 0 ]] || rt_die "no program after --"
np=4

rt_run_ok "$RT_WORK/ref.log" $np MPISNAP_DIR="$RT_WORK/ref" \
    MPISNAP_RESTART=never "$@"
ref=$(rt_checksum "$RT_WORK/ref.log")

snaps="$RT_WORK/snaps"
log="$RT_WORK/snap.log"
rt_run_ok "$log" $np MPISNAP_DIR="$snaps" MPISNAP_KEEP=3 "${envs[@]}" "$@"
rt_eq "checksum of the run that took snapshots" "$(rt_checksum "$log")" "$ref"
ncommitted=$(grep -Ec 'mpisnap\[0\]: snapshot [0-9]+ committed' "$log" || true)
[[ $ncommitted -ge 4 ]] || {
    rt_show "$log"
    rt_die "expected at least 4 committed snapshots, the log shows $ncommitted"
}
rt_say "$ncommitted snapshots committed back to back"
mapfile -t ids < <(rt_snapshot_ids "$snaps")
rt_eq "snapshots kept (MPISNAP_KEEP=3)" "${#ids[@]}" 3
rt_eq "latest" "$(cat "$snaps/latest")" "$(printf 'snap-%06d' "${ids[-1]}")"
[[ -z "$(find "$snaps" -maxdepth 1 -name '*.partial')" ]] ||
    rt_die "a .partial directory was left: $(ls "$snaps")"

# restart MODE ID: MODE auto or the id to name in MPISNAP_RESTART.
restart() {
    local mode=$1 id=$2 copy="$RT_WORK/restart-$1" point
    shift 2
    point=$(rt_safe_point "$log" "$id")
    [[ -n "$point" ]] || rt_die "no 'snapshot $id committed' line in $log"
    cp -a "$snaps" "$copy"
    rt_run_ok "$copy.log" $np MPISNAP_DIR="$copy" MPISNAP_KEEP=3 "${envs[@]}" \
        MPISNAP_RESTART="$mode" "$@"
    rt_expect "$copy.log" "restored snapshot $id \(safe point $point\)"
    rt_eq "MPISNAP_RESTART=$mode: restored step" \
        "$(sed -En 's/^restored step ([0-9]+)$/\1/p' "$copy.log")" \
        "$((point - 1))"
    rt_eq "MPISNAP_RESTART=$mode: checksum" "$(rt_checksum "$copy.log")" "$ref"
}
restart auto "${ids[-1]}" "$@"
restart "${ids[0]}" "${ids[0]}" "$@"
rt_pass
