#!/usr/bin/env bash
# NAME
#     run.sh - the mpisnap randomized snapshot tester's driver
#
# SYNOPSIS
#     tests/fuzz/run.sh --seeds N [--first S] [OPTION]...
#     tests/fuzz/run.sh --seed-file FILE [OPTION]...
#
# DESCRIPTION
#     For each seed, runs the fuzz program (tests/fuzz/fuzz.c), which
#     generates from the seed a random, deadlock-free MPI communication
#     schedule (every send and receive mode, probes, wildcards, persistent
#     and cancelled requests, communicators created and freed between steps,
#     collectives) and checks every message it receives against the
#     schedule.  Per seed, in the default and libmatch modes:
#
#       1. reference: the uninterrupted run, MPISNAP_RESTART=never, no
#          snapshot requests, default mode                  -> checksum A
#       2. snapshots: the same schedule, with --requests K snapshot requests
#          from random ranks at random steps (MPISNAP_KEEP=1000, the mode's
#          environment).  It must exit 0, print checksum A, and commit a
#          snapshot after the last request (the program checks this; it
#          prints "UNSATISFIED" otherwise).
#       3. `mpisnap verify` passes on every committed snapshot.
#       4. for every committed snapshot: restart from a copy of the
#          directory with MPISNAP_RESTART=<id>; it must print "restored
#          step S" (S the step the snapshot was recorded at), exit 0, print
#          checksum A, and every snapshot it commits must pass verify.
#
#     In observe mode, step 2 runs with MPISNAP_OBSERVE=1 and --observe:
#     K observations (mpisnap_observe()) from random ranks at random steps.
#     It must exit 0 and print checksum A; every verdict must be
#     "progressing"; the property "conservation" (what each rank received,
#     plus the messages in flight to it, minus what it sent; summed over the
#     ranks) must be 0 at every observation that has all payloads; `mpisnap
#     verify` must pass on every observation.
#
#     Every run has a time limit: a run that hangs is a failure.  Prints one
#     line per seed, then "N passed, N failed" alone on the last line.
#
# OPTIONS
#     --seeds N           run N seeds (from --first, default 1)
#     --first S           the first seed
#     --seed-file FILE    run the lines of FILE instead: "SEED NP MODE
#                         [FEATURES]" ('#' starts a comment); --np, --mode
#                         and --features then come from the file
#     --np K              ranks (2..8); default: 2 + seed mod 5 (2..6)
#     --mode M            default, libmatch (MPISNAP_TEST_LIBMATCH=1 in
#                         steps 2 and 4) or observe (default: default)
#     --tcp               --mca btl tcp,self: messages over TCP, not shared
#                         memory
#     --features LIST     passed to fuzz --features (default: 'default');
#                         e.g. default,+dtfree or default,-mprobe.  `fuzz
#                         --list-features` lists them; README.md says which
#                         one hits a known defect
#     --steps N           steps per run (default 40)
#     --requests K        snapshot requests / observations per run
#                         (default 4)
#     --timeout S         seconds allowed per run (default 60)
#     --work DIR          working directory (default: a new one under
#                         $TMPDIR); a failed seed's files stay in
#                         DIR/seed-S-MODE, a passed seed's are removed
#     --record FILE       append a line "SEED NP MODE FEATURES" to FILE for
#                         every failed seed (a regression list for
#                         --seed-file)
#     --fuzz PATH         the fuzz program (default: build/tests/fuzz/fuzz)
#     --tool PATH         the mpisnap tool (default: build/apps/mpisnap)
#     --mpiexec CMD       launcher (default: mpiexec)
#     --mpiexec-flags F   its flags (default: $MPIEXEC_PREFLAGS, else
#                         "--allow-run-as-root --oversubscribe" as root,
#                         "--oversubscribe" otherwise)
#     -v, --verbose       show the tail of a failed run's log
#     -h, --help          this text
#
# OUTPUT
#     seed 7 np 4 default: PASS (3 snapshots, 3 restarts)
#     seed 8 np 5 libmatch: FAIL: restart from snapshot 2: checksum 5a.. != 91..
#       (log: DIR/seed-8-libmatch/restart-2.log)
#     ...
#     41 passed, 1 failed
#
# EXIT STATUS
#     0 when every seed passed, 1 when one failed, 2 on bad usage.
#
# EXAMPLES
#     tests/fuzz/run.sh --seeds 50                       # 50 seeds, shm
#     tests/fuzz/run.sh --seeds 50 --first 1000 --mode libmatch --tcp
#     tests/fuzz/run.sh --seeds 20 --mode observe --np 4
#     tests/fuzz/run.sh --seed-file tests/fuzz/regressions.txt
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

NSEEDS=""
FIRST=1
SEED_FILE=""
NP=""
MODE=default
TCP=0
FEATURES=default
STEPS=40
REQUESTS=4
TIMEOUT=60
WORK=""
RECORD=""
FUZZ="$root/build/tests/fuzz/fuzz"
TOOL="$root/build/apps/mpisnap"
MPIEXEC=mpiexec
FLAGS=${MPIEXEC_PREFLAGS-}
VERBOSE=0

usage_error() {
    echo "run.sh: $*" >&2
    echo "Try 'tests/fuzz/run.sh --help'." >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --seeds) NSEEDS=${2-} && shift 2 ;;
    --first) FIRST=${2-} && shift 2 ;;
    --seed-file) SEED_FILE=${2-} && shift 2 ;;
    --np) NP=${2-} && shift 2 ;;
    --mode) MODE=${2-} && shift 2 ;;
    --tcp) TCP=1 && shift ;;
    --features) FEATURES=${2-} && shift 2 ;;
    --steps) STEPS=${2-} && shift 2 ;;
    --requests) REQUESTS=${2-} && shift 2 ;;
    --timeout) TIMEOUT=${2-} && shift 2 ;;
    --work) WORK=${2-} && shift 2 ;;
    --record) RECORD=${2-} && shift 2 ;;
    --fuzz) FUZZ=${2-} && shift 2 ;;
    --tool) TOOL=${2-} && shift 2 ;;
    --mpiexec) MPIEXEC=${2-} && shift 2 ;;
    --mpiexec-flags) FLAGS=${2-} && shift 2 ;;
    -v | --verbose) VERBOSE=1 && shift ;;
    -h | --help)
        sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) usage_error "unknown option '$1'" ;;
    esac
done
[[ -n "$NSEEDS" || -n "$SEED_FILE" ]] || usage_error "--seeds N or --seed-file FILE is required"
[[ -z "$NSEEDS" || "$NSEEDS" =~ ^[0-9]+$ ]] || usage_error "--seeds: expected a number, got '$NSEEDS'"
[[ "$FIRST" =~ ^[0-9]+$ ]] || usage_error "--first: expected a number, got '$FIRST'"
[[ -z "$NP" || "$NP" =~ ^[2-8]$ ]] || usage_error "--np: expected 2..8, got '$NP'"
case "$MODE" in default | libmatch | observe) ;; *) usage_error "--mode: expected default, libmatch or observe, got '$MODE'" ;; esac
[[ -z "$SEED_FILE" || -r "$SEED_FILE" ]] || usage_error "--seed-file: cannot read '$SEED_FILE'"
[[ -x "$FUZZ" ]] || usage_error "no fuzz program at $FUZZ (build it, or --fuzz PATH)"
[[ -x "$TOOL" ]] || usage_error "no mpisnap tool at $TOOL (build it, or --tool PATH)"
if [[ -z "$FLAGS" ]]; then
    FLAGS="--oversubscribe"
    [[ $(id -u) -eq 0 ]] && FLAGS="--allow-run-as-root $FLAGS"
fi
read -r -a FLAG_ARR <<<"$FLAGS"
((TCP)) && FLAG_ARR+=(--mca btl tcp,self)
if [[ -z "$WORK" ]]; then
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/mpisnap-fuzz.XXXXXX")
fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# run LOG NP [VAR=VALUE...] -- ARGS...: the fuzz program under mpiexec with
# the time limit; sets TIMED_OUT; returns its exit status.
TIMED_OUT=0
run() {
    local log=$1 np=$2 envs=() rc=0 t0=$SECONDS
    shift 2
    while [[ "$1" != -- ]]; do envs+=("$1") && shift; done
    shift
    echo "+ ${envs[*]} $MPIEXEC -n $np ${FLAG_ARR[*]} $FUZZ $*" >"$log"
    env "${envs[@]}" timeout -k 10 "$TIMEOUT" "$MPIEXEC" -n "$np" "${FLAG_ARR[@]}" \
        "$FUZZ" "$@" >>"$log" 2>&1 || rc=$?
    TIMED_OUT=0
    if [[ $rc -ne 0 ]] && ((SECONDS - t0 >= TIMEOUT)); then
        TIMED_OUT=1
        echo "(hung: killed after ${TIMEOUT}s)" >>"$log"
    fi
    return $rc
}

checksum_of() {
    sed -n 's/^checksum \([0-9a-f]\{16\}\)$/\1/p' "$1" | tail -n 1
}

# The first line of a log that says what went wrong.
reason_of() {
    local r
    r=$(grep -m1 -E 'fuzz: (FAIL|UNSATISFIED)|hung: killed|Segmentation|signal [0-9]+|mpisnap\[[0-9]+\] error|\*\*\* (An error occurred in|MPI_ERR)' "$1")
    echo "${r:-exit status $2, no message}"
}

# The snapshots committed in DIR, oldest first.
snapshot_ids() {
    local d
    for d in "$1"/snap-[0-9]*; do
        [[ -d "$d" && "$d" != *.partial ]] || continue
        d=${d##*/snap-}
        echo $((10#$d))
    done | sort -n
}

FAILED_WHY=""
failed() {
    FAILED_WHY="$*"
    return 1
}

# verify_dir DIR SKIP...: mpisnap verify on every committed snapshot of DIR
# whose id is not in SKIP.
NVERIFIED=0
verify_dir() {
    local dir=$1 id skip
    shift
    for id in $(snapshot_ids "$dir"); do
        for skip in "$@"; do [[ $id == "$skip" ]] && continue 2; done
        local vlog
        vlog="$dir/../verify-$(basename "$dir")-$id.log"
        if ! "$TOOL" verify "$(printf '%s/snap-%06d' "$dir" "$id")" >"$vlog" 2>&1; then
            failed "mpisnap verify $(basename "$dir") snapshot $id failed (log: $vlog)"
            return 1
        fi
        NVERIFIED=$((NVERIFIED + 1))
    done
}

# One seed in one mode; 0 passed, 1 failed (FAILED_WHY says why).
SUMMARY=""
one_seed() {
    local seed=$1 np=$2 mode=$3 feat=$4 dir=$5 rc ref
    local args=(--seed "$seed" --steps "$STEPS" --features "$feat" --quiet)
    local menv=()
    [[ $mode == libmatch ]] && menv=(MPISNAP_TEST_LIBMATCH=1)
    NVERIFIED=0

    rc=0
    run "$dir/reference.log" "$np" MPISNAP_DIR="$dir/reference" MPISNAP_RESTART=never \
        -- "${args[@]}" --requests 0 || rc=$?
    [[ $rc -eq 0 ]] || { failed "reference run: $(reason_of "$dir/reference.log" $rc) (log: $dir/reference.log)"; return; }
    ref=$(checksum_of "$dir/reference.log")
    [[ -n "$ref" ]] || { failed "reference run printed no checksum"; return; }

    if [[ $mode == observe ]]; then
        local log="$dir/observe.log"
        rc=0
        run "$log" "$np" MPISNAP_DIR="$dir/snaps" MPISNAP_OBSERVE=1 MPISNAP_OBSERVE_KEEP=1000 \
            -- "${args[@]}" --observe --requests "$REQUESTS" || rc=$?
        [[ $rc -eq 0 ]] || { failed "$(reason_of "$log" $rc) (log: $log)"; return; }
        [[ "$(checksum_of "$log")" == "$ref" ]] ||
            { failed "checksum $(checksum_of "$log") != reference $ref (log: $log)"; return; }
        local bad
        bad=$(grep -E 'observation [0-9]+: [a-z]+:' "$log" | grep -v -E 'observation [0-9]+: progressing:' | head -n 1)
        [[ -z "$bad" ]] || { failed "verdict: ${bad#*: } (log: $log)"; return; }
        grep -q -E '^observations [0-9]+ checked, [0-9]+ unchecked, 0 failed$' "$log" ||
            { failed "conservation: $(grep -m1 -E 'conservation FAILED|^observations' "$log") (log: $log)"; return; }
        verify_dir "$dir/snaps/observe" || return
        local nobs
        nobs=$(grep -c -E 'observation [0-9]+: progressing:' "$log")
        SUMMARY="$nobs observations progressing, $(sed -n 's/^observations \([0-9]*\) checked.*/\1/p' "$log") conservation checks, $NVERIFIED verified"
        return 0
    fi

    local log="$dir/snapshots.log"
    rc=0
    run "$log" "$np" MPISNAP_DIR="$dir/snaps" MPISNAP_KEEP=1000 "${menv[@]}" \
        -- "${args[@]}" --requests "$REQUESTS" || rc=$?
    [[ $rc -eq 0 ]] || { failed "snapshot run: $(reason_of "$log" $rc) (log: $log)"; return; }
    [[ "$(checksum_of "$log")" == "$ref" ]] ||
        { failed "snapshot run: checksum $(checksum_of "$log") != reference $ref (log: $log)"; return; }
    local ids
    mapfile -t ids < <(snapshot_ids "$dir/snaps")
    verify_dir "$dir/snaps" || return
    local id nrestart=0
    for id in "${ids[@]}"; do
        local s copy="$dir/restart-$id" rlog="$dir/restart-$id.log"
        s=$(sed -n "s/^committed snapshot $id step \([0-9]*\)$/\1/p" "$log" | tail -n 1)
        [[ -n "$s" ]] || { failed "no 'committed snapshot $id step S' line (log: $log)"; return; }
        rm -rf "$copy"
        cp -a "$dir/snaps" "$copy"
        rc=0
        run "$rlog" "$np" MPISNAP_DIR="$copy" MPISNAP_KEEP=1000 MPISNAP_RESTART="$id" "${menv[@]}" \
            -- "${args[@]}" --requests "$REQUESTS" || rc=$?
        [[ $rc -eq 0 ]] || { failed "restart from snapshot $id (step $s): $(reason_of "$rlog" $rc) (log: $rlog)"; return; }
        grep -q "^restored step $s\$" "$rlog" ||
            { failed "restart from snapshot $id: expected 'restored step $s', got '$(grep -m1 '^restored' "$rlog")' (log: $rlog)"; return; }
        [[ "$(checksum_of "$rlog")" == "$ref" ]] ||
            { failed "restart from snapshot $id (step $s): checksum $(checksum_of "$rlog") != reference $ref (log: $rlog)"; return; }
        verify_dir "$copy" "${ids[@]}" || return
        rm -rf "$copy"
        nrestart=$((nrestart + 1))
    done
    local naborted
    naborted=$(grep -c 'snapshot [0-9]* aborted' "$log")
    SUMMARY="${#ids[@]} snapshots, $nrestart restarts, $NVERIFIED verified, $naborted aborted"
    return 0
}

npass=0
nfail=0
run_case() {
    local seed=$1 np=$2 mode=$3 feat=$4
    local dir="$WORK/seed-$seed-$mode"
    rm -rf "$dir"
    mkdir -p "$dir"
    FAILED_WHY=""
    SUMMARY=""
    if one_seed "$seed" "$np" "$mode" "$feat" "$dir" && [[ -z "$FAILED_WHY" ]]; then
        echo "seed $seed np $np $mode: PASS ($SUMMARY)"
        npass=$((npass + 1))
        rm -rf "$dir"
    else
        echo "seed $seed np $np $mode: FAIL: $FAILED_WHY"
        if ((VERBOSE)); then
            local l
            l=$(grep -o '(log: [^)]*)' <<<"$FAILED_WHY" | tail -n 1 | sed 's/(log: \(.*\))/\1/')
            [[ -f "$l" ]] && tail -n 20 "$l" | sed 's/^/    | /'
        fi
        nfail=$((nfail + 1))
        [[ -n "$RECORD" ]] && echo "$seed $np $mode $feat" >>"$RECORD"
    fi
}

if [[ -n "$SEED_FILE" ]]; then
    # On fd 3: mpiexec reads its standard input, and would eat the list.
    while read -r -u 3 seed np mode feat _; do
        [[ -z "$seed" || "$seed" == \#* ]] && continue
        run_case "$seed" "$np" "$mode" "${feat:-default}"
    done 3<"$SEED_FILE"
else
    for ((seed = FIRST; seed < FIRST + NSEEDS; seed++)); do
        np=${NP:-$((2 + seed % 5))}
        run_case "$seed" "$np" "$MODE" "$FEATURES"
    done
fi
[[ $nfail -eq 0 ]] && rmdir "$WORK" 2>/dev/null
echo "$npass passed, $nfail failed"
[[ $nfail -eq 0 ]]
