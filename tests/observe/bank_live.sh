#!/usr/bin/env bash
# bank checks its own invariant while it runs, over many seeds: at every
# observation the recorded balances plus the money in flight (the
# property "money", computed from the recorded in-flight payloads) equal
# the money the bank started with.  Several ranks initiate.  Even seeds
# also take checkpoint snapshots at the same time (drained and library-
# matched messages must count as in flight for the observations).
#
#   bank_live.sh --mpiexec CMD --mpiexec-flags F --work DIR --bank PATH \
#       [--seeds "1 2 ..."] [--rounds N]
set -euo pipefail
RT_NAME=observe_bank_live
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../restart/testlib.sh"
rt_parse_common "$@"

bank="" seeds="1 2 3 4 5 6 7 8" rounds=1200
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

initiators=("0" "1,2" "3" "0,3" "2,1,0" "1" "3,2" "0,1,2,3")
i=0 total_checks=0
for seed in $seeds; do
    who=${initiators[i % ${#initiators[@]}]}
    i=$((i + 1))
    log="$RT_WORK/seed$seed.log"
    ckpt=()
    ((seed % 2)) || ckpt=(--request-ranks 1 --request-at 5 --request-every 23)
    rt_run_ok "$log.plain" 4 MPISNAP_DIR="$RT_WORK/plain$seed" \
        "$bank" --rounds "$rounds" --seed "$seed" --quiet
    rt_run_ok "$log" 4 MPISNAP_DIR="$RT_WORK/s$seed" MPISNAP_OBSERVE=1 \
        "$bank" --rounds "$rounds" --seed "$seed" --quiet \
        --observe-every 40 --observe-ranks "$who" "${ckpt[@]}"
    rt_expect "$log" '^total 4000000 ok$'
    rt_eq "seed $seed checksum" "$(rt_checksum "$log")" \
        "$(rt_checksum "$log.plain")"
    checks=$(sed -nE 's/^live checks ([0-9]+) ok$/\1/p' "$log")
    [[ -n "$checks" ]] || {
        rt_show "$log"
        rt_die "seed $seed: no 'live checks N ok' line"
    }
    # Rounds take microseconds: observations overlap and merge, so fewer
    # than rounds/40 finish; a handful must, with every payload present.
    ((checks >= 3)) || {
        rt_show "$log"
        rt_die "seed $seed: only $checks complete live checks"
    }
    if ((${#ckpt[@]})); then
        rt_expect "$log" 'snapshot [0-9]+ committed'
    fi
    rt_say "seed $seed, initiators $who${ckpt:+, with checkpoints}: $checks live checks ok"
    total_checks=$((total_checks + checks))
done
rt_pass "$total_checks live checks"
