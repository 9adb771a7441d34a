#!/usr/bin/env bash
# bank over many seeds, several ranks requesting snapshots: every snapshot
# restores to a state where money is conserved, and every restart ends
# with the uninterrupted run's balances.
#
#   bank_seeds.sh --mpiexec CMD --mpiexec-flags F --work DIR \
#       --bank PATH [--seeds "1 2 ..."] [--rounds N]
#
# Per seed (the requesting ranks change from seed to seed):
#   1. reference: MPISNAP_RESTART=never                  -> checksum A
#   2. the same with --request-ranks L --request-at 4 --request-every 17
#      and MPISNAP_KEEP=100: exits 0, commits at least 2 snapshots, ends
#      with checksum A (taking snapshots changes nothing)
#   3. from a copy of the directory, restart from the oldest and from the
#      newest committed snapshot (MPISNAP_RESTART=id): "restored round R" with R the round recorded
#      for that snapshot, "balances X + in flight Y (N transfers) = T ok"
#      with Y > 0 (money was in flight), "total T ok", checksum A.
set -euo pipefail
RT_NAME=restart_bank_seeds
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
rt_parse_common "$@"

bank=""
seeds="1 2 3 4 5 6 7 8"
rounds=50
set -- "${RT_ARGS[@]}"
while [[ $# -gt 0 ]]; do
    case "$1" in
    --bank) bank=$2 && shift 2 ;;
    --seeds) seeds=$2 && shift 2 ;;
    --rounds) rounds=$2 && shift 2 ;;
    *) rt_die "unknown option '$1'" ;;
    esac
done
[[ -x "$bank" ]] || rt_die "--bank: '$bank' is not a program"

initiators=("1,2,3" "0,3" "2" "1,3" "3,2,1,0" "1" "2,3" "0")
np=4
total=$((1000000 * np))
i=0
nrestarts=0
for seed in $seeds; do
    L=${initiators[i % ${#initiators[@]}]}
    i=$((i + 1))
    common=(--rounds "$rounds" --seed "$seed" --transfers-per-round 6)
    rt_say "seed $seed, requests from ranks $L"

    rt_run_ok "$RT_WORK/ref-$seed.log" $np MPISNAP_DIR="$RT_WORK/ref-$seed" \
        MPISNAP_RESTART=never "$bank" "${common[@]}"
    rt_expect "$RT_WORK/ref-$seed.log" "^total $total ok$"
    ref=$(rt_checksum "$RT_WORK/ref-$seed.log")

    snaps="$RT_WORK/snaps-$seed"
    log="$RT_WORK/snap-$seed.log"
    rt_run_ok "$log" $np MPISNAP_DIR="$snaps" MPISNAP_KEEP=100 "$bank" \
        "${common[@]}" --request-ranks "$L" --request-at 4 --request-every 17
    rt_expect "$log" "^total $total ok$"
    rt_eq "seed $seed: checksum of the run that took snapshots" \
        "$(rt_checksum "$log")" "$ref"
    mapfile -t ids < <(rt_snapshot_ids "$snaps")
    [[ ${#ids[@]} -ge 2 ]] || {
        rt_show "$log"
        rt_die "seed $seed: expected at least 2 committed snapshots, found ${#ids[@]}"
    }
    [[ "$(cat "$snaps/latest")" == "$(printf 'snap-%06d' "${ids[-1]}")" ]] ||
        rt_die "seed $seed: latest says '$(cat "$snaps/latest")', newest is ${ids[-1]}"

    for id in "${ids[0]}" "${ids[-1]}"; do
        # bank's round r has its safe point r + 1
        point=$(rt_safe_point "$log" "$id")
        [[ -n "$point" ]] || rt_die "seed $seed: no 'snapshot $id committed' line"
        copy="$RT_WORK/restart-$seed-$id"
        cp -a "$snaps" "$copy"
        rlog="$copy.log"
        rt_run_ok "$rlog" $np MPISNAP_DIR="$copy" MPISNAP_RESTART="$id" \
            MPISNAP_KEEP=100 "$bank" "${common[@]}" --request-ranks "$L" \
            --request-at 4 --request-every 17
        rt_expect "$rlog" "^restored round $((point - 1))$"
        rt_expect "$rlog" "^balances [0-9]+ \+ in flight [1-9][0-9]* \([1-9][0-9]* transfers\) = $total ok$" \
            "the restart from snapshot $id (seed $seed)"
        rt_expect "$rlog" "^total $total ok$"
        rt_reject "$rlog" "LOST"
        rt_eq "seed $seed: restart from snapshot $id (round $((point - 1))): checksum" \
            "$(rt_checksum "$rlog")" "$ref"
        nrestarts=$((nrestarts + 1))
        rm -rf "$copy"
    done
done
rt_pass "$nrestarts restarts over seeds $seeds, money conserved, checksums identical"
