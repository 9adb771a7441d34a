#!/usr/bin/env bash
# kill-restart.sh: run an mpisnap program to the end, run it again with a
# snapshot and SIGKILL it once the snapshot is committed, restart it from
# the snapshot, and check that both runs end with the same checksum.
#
#   scripts/kill-restart.sh [OPTION]... -- PROGRAM [ARG]... \
#       [--snapshot-args ARG...]
#
#   1. reference: PROGRAM ARGS, MPISNAP_RESTART=never, its own empty
#      snapshot directory                                  -> checksum A
#   2. snapshot:  PROGRAM ARGS SNAPSHOT_ARGS, MPISNAP_DIR=WORK/snapshots;
#      as soon as WORK/snapshots/latest exists, SIGKILL mpiexec and every
#      rank (Open MPI puts each rank in its own process group)
#   3. restart:   the same command again, MPISNAP_RESTART=auto; its output
#      must match --expect-restored                        -> checksum B
#   4. A == B: "identical", exit 0; otherwise "DIFFERENT", exit 1.
#
# The phases can run one at a time on the same --work directory (--phase),
# which is how the CTest fixtures use them: reference (FIXTURES_SETUP),
# snapshot (FIXTURES_SETUP), restart (FIXTURES_REQUIRED both).
#
# Options:
#   --np N                ranks (default 4)
#   --timeout S           seconds allowed per run (default 300)
#   --work DIR            working directory (default: a new temporary one,
#                         removed at the end unless --keep).  Files:
#                         reference.log reference.checksum reference/
#                         snapshot.log snapshots/ restart.log
#   --keep                keep the working directory
#   --clean               on success, remove what the phase leaves in --work
#                         that no later phase needs (the restart phase: all
#                         of --work); on failure everything stays
#   --reference-file F    where the reference phase writes its checksum and
#                         the other phases read it (default
#                         WORK/reference.checksum): several cases can share
#                         one reference run
#   --phase P             all (default), reference, snapshot or restart
#   --no-kill             let the snapshot run finish instead of killing it;
#                         it must exit 0 and commit a snapshot, and when it
#                         prints a checksum that must equal the reference's
#   --must-kill           fail (instead of warning) when the snapshot run
#                         ended before the kill
#   --env VAR=VALUE       for the snapshot and restart runs (repeatable)
#   --restart-env VAR=VALUE  for the restart run only, after --env
#                         (repeatable; e.g. MPISNAP_RESTART=3)
#   --expect-restored RE  a line of the restart's output must match this
#                         extended regex (repeatable; default '^restored')
#   --expect-snapshot RE  a line of the snapshot run's output must match
#                         (repeatable; e.g. 'committed: .* [1-9][0-9]*
#                         message\(s\) in flight')
#   --same-value SNAP_RE RESTART_RE
#                         the first group of RESTART_RE in the restart's
#                         output must equal the first group of the last line
#                         matching SNAP_RE in the snapshot run's output (with
#                         one snapshot, or --no-kill: e.g. the step recorded
#                         and the step restored)
#   --checksum-re RE      the checksum line (default
#                         '^checksum [0-9a-fA-F]{16}$'; the last word is
#                         the checksum)
#   --name NAME           prefix of this script's messages
#   --mpiexec CMD         the launcher (default: mpiexec)
#   --mpiexec-flags "F"   its flags before the program (default:
#                         $MPIEXEC_PREFLAGS, else what scripts/setup.sh
#                         detects: --oversubscribe, --allow-run-as-root)
#
# Exit status: 0 identical (or the phase succeeded), 1 a check failed,
# 2 bad usage.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

NAME="kill-restart"
NP=4
TIMEOUT=300
WORK=""
KEEP=0
CLEAN=0
REF_FILE=""
SAME_SNAP=""
SAME_RESTART=""
PHASE=all
KILL=1
MUST_KILL=0
ENVS=()
RESTART_ENVS=()
EXPECT_RESTORED=()
EXPECT_SNAPSHOT=()
CHECKSUM_RE='^checksum [0-9a-fA-F]{16}$'
MPIEXEC_CMD=mpiexec
FLAGS_SET=0
FLAGS=""
PROG=()
SNAPSHOT_ARGS=()

say() {
    printf '%s: %s\n' "$NAME" "$*"
}

die() {
    printf '%s: FAILED: %s\n' "$NAME" "$*" >&2
    exit 1
}

usage_error() {
    printf '%s: %s\n' "$NAME" "$*" >&2
    printf 'usage: %s [OPTION]... -- PROGRAM [ARG]... [--snapshot-args ARG...]\n' \
        "$0" >&2
    exit 2
}

need_arg() {
    [[ $2 -ge 2 ]] || usage_error "option $1 needs an argument"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --np) need_arg "$1" $# && NP=$2 && shift 2 ;;
    --timeout) need_arg "$1" $# && TIMEOUT=$2 && shift 2 ;;
    --work) need_arg "$1" $# && WORK=$2 && shift 2 ;;
    --keep) KEEP=1 && shift ;;
    --clean) CLEAN=1 && shift ;;
    --reference-file) need_arg "$1" $# && REF_FILE=$2 && shift 2 ;;
    --same-value)
        [[ $# -ge 3 ]] || usage_error "option $1 needs two arguments"
        SAME_SNAP=$2 && SAME_RESTART=$3 && shift 3
        ;;
    --phase) need_arg "$1" $# && PHASE=$2 && shift 2 ;;
    --no-kill) KILL=0 && shift ;;
    --must-kill) MUST_KILL=1 && shift ;;
    --env) need_arg "$1" $# && ENVS+=("$2") && shift 2 ;;
    --restart-env) need_arg "$1" $# && RESTART_ENVS+=("$2") && shift 2 ;;
    --expect-restored) need_arg "$1" $# && EXPECT_RESTORED+=("$2") && shift 2 ;;
    --expect-snapshot) need_arg "$1" $# && EXPECT_SNAPSHOT+=("$2") && shift 2 ;;
    --checksum-re) need_arg "$1" $# && CHECKSUM_RE=$2 && shift 2 ;;
    --name) need_arg "$1" $# && NAME=$2 && shift 2 ;;
    --mpiexec) need_arg "$1" $# && MPIEXEC_CMD=$2 && shift 2 ;;
    --mpiexec-flags) need_arg "$1" $# && FLAGS=$2 && FLAGS_SET=1 && shift 2 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    --)
        shift
        break
        ;;
    *) usage_error "unknown option '$1'" ;;
    esac
done
while [[ $# -gt 0 && "$1" != --snapshot-args ]]; do
    PROG+=("$1")
    shift
done
if [[ $# -gt 0 ]]; then
    shift
    SNAPSHOT_ARGS=("$@")
fi
[[ ${#PROG[@]} -gt 0 ]] || usage_error "no PROGRAM after --"
[[ "$NP" =~ ^[1-9][0-9]*$ ]] || usage_error "--np: expected a positive number, got '$NP'"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout: expected seconds, got '$TIMEOUT'"
case "$PHASE" in
all | reference | snapshot | restart) ;;
*) usage_error "--phase: expected all, reference, snapshot or restart, got '$PHASE'" ;;
esac
[[ ${#EXPECT_RESTORED[@]} -gt 0 ]] || EXPECT_RESTORED=('^restored')
if [[ "$PHASE" != all && -z "$WORK" ]]; then
    usage_error "--phase $PHASE needs --work DIR (the phases share it)"
fi
[[ -x "${PROG[0]}" ]] || command -v "${PROG[0]}" >/dev/null 2>&1 ||
    die "${PROG[0]}: no such program (is it built?)"

if [[ $FLAGS_SET -eq 0 ]]; then
    # shellcheck source=scripts/setup.sh
    source "$here/setup.sh"
    FLAGS=$(mpisnap_preflags)
fi
read -r -a FLAG_ARR <<<"$FLAGS"
MPIEXEC=("$MPIEXEC_CMD" -n "$NP" "${FLAG_ARR[@]}")

# ---- working directory -------------------------------------------------
own_work=0
if [[ -z "$WORK" ]]; then
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/mpisnap-kill-restart.XXXXXX")
    own_work=1
fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
REF_FILE=${REF_FILE:-$WORK/reference.checksum}

job_pid=""

# All descendants of a pid, from one pass over /proc (Open MPI puts each
# rank in its own process group, so killing mpiexec's group alone would leave
# them running).
descendants() {
    local stat rest pid ppid i
    local -A kids=()
    for stat in /proc/[0-9]*/stat; do
        read -r rest <"$stat" 2>/dev/null || continue
        pid=${rest%% *}
        rest=${rest##*) }
        rest=${rest#* }
        ppid=${rest%% *}
        kids[$ppid]+=" $pid"
    done
    local queue=("$1")
    for ((i = 0; i < ${#queue[@]}; i++)); do
        for pid in ${kids[${queue[i]}]:-}; do
            echo "$pid"
            queue+=("$pid")
        done
    done
}

# SIGKILL a job at once: mpiexec's process group and every rank under it.
kill_job() {
    local pid=$1 pids
    mapfile -t pids < <(descendants "$pid")
    kill -9 -- "-$pid" "$pid" "${pids[@]}" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    if [[ -n "$job_pid" ]]; then
        kill_job "$job_pid"
    fi
    if [[ $own_work -eq 1 ]]; then
        if [[ $KEEP -eq 1 ]]; then
            say "kept $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
}
trap cleanup EXIT

# Show the last lines of a run's output, indented.
show() {
    tail -n 15 "$1" | sed 's/^/    | /'
}

# The one checksum a run printed (all ranks that print must agree).
checksum_of() {
    local sums
    sums=$(grep -E "$CHECKSUM_RE" "$1" | awk '{print $NF}' | sort -u || true)
    [[ -n "$sums" ]] || return 1
    [[ "$(wc -l <<<"$sums")" -eq 1 ]] || die "ranks disagree on the checksum in $1: $(echo $sums)"
    echo "$sums"
}

# The environment of the snapshot and restart runs.
run_env() {
    env MPISNAP_DIR="$WORK/snapshots" MPISNAP_RESTART=auto "${ENVS[@]}" "$@"
}

# Quote a command for copy and paste.
quoted() {
    local out="" a
    for a in "$@"; do
        out+="${out:+ }$(printf '%q' "$a")"
    done
    echo "$out"
}

# ---- phases -------------------------------------------------------------
phase_reference() {
    rm -rf "$WORK/reference" "$REF_FILE"
    mkdir -p "$WORK/reference"
    say "${STEP[0]}reference run: MPISNAP_RESTART=never $(quoted "${MPIEXEC[@]}" "${PROG[@]}")"
    local rc=0
    MPISNAP_DIR="$WORK/reference" MPISNAP_RESTART=never \
        timeout -k 10 "$TIMEOUT" "${MPIEXEC[@]}" "${PROG[@]}" \
        >"$WORK/reference.log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        show "$WORK/reference.log"
        die "reference run failed (exit $rc); log: $WORK/reference.log"
    fi
    show "$WORK/reference.log"
    local sum
    sum=$(checksum_of "$WORK/reference.log") ||
        die "reference run printed no line matching '$CHECKSUM_RE'"
    if [[ -n "$(ls -A "$WORK/reference")" ]]; then
        die "the reference run wrote into its snapshot directory: $(ls "$WORK/reference")"
    fi
    echo "$sum" >"$REF_FILE"
    say "reference checksum $sum (in $REF_FILE)"
    if [[ $CLEAN -eq 1 ]]; then
        rm -rf "$WORK/reference" "$WORK/reference.log"
        rmdir "$WORK" 2>/dev/null || true
    fi
}

check_expected() { # log, what, regexes...
    local log=$1 what=$2 re
    shift 2
    for re in "$@"; do
        grep -Eq -- "$re" "$log" || {
            show "$log"
            die "the $what printed no line matching '$re' (log: $log)"
        }
    done
}

phase_snapshot() {
    local snapdir="$WORK/snapshots" rc=0 killed=0
    rm -rf "$snapdir"
    mkdir -p "$snapdir"
    say "${STEP[1]}snapshot run: $(quoted MPISNAP_DIR="$snapdir" "${ENVS[@]}" "${MPIEXEC[@]}" "${PROG[@]}" "${SNAPSHOT_ARGS[@]}")"
    if [[ $KILL -eq 0 ]]; then
        run_env timeout -k 10 "$TIMEOUT" "${MPIEXEC[@]}" "${PROG[@]}" \
            "${SNAPSHOT_ARGS[@]}" >"$WORK/snapshot.log" 2>&1 || rc=$?
        show "$WORK/snapshot.log"
        [[ $rc -eq 0 ]] || die "the snapshot run failed (exit $rc); log: $WORK/snapshot.log"
        [[ -e "$snapdir/latest" ]] ||
            die "the snapshot run committed no snapshot ($snapdir/latest never appeared)"
        local sum
        if sum=$(checksum_of "$WORK/snapshot.log") && [[ -f "$REF_FILE" ]]; then
            [[ "$sum" == "$(cat "$REF_FILE")" ]] ||
                die "taking the snapshot changed the result: checksum $sum, reference $(cat "$REF_FILE")"
            say "the snapshot run itself ended with the reference checksum"
        fi
    else
        set -m # own process group for the job
        run_env "${MPIEXEC[@]}" "${PROG[@]}" "${SNAPSHOT_ARGS[@]}" \
            >"$WORK/snapshot.log" 2>&1 &
        job_pid=$!
        set +m
        local deadline=$((SECONDS + TIMEOUT))
        while [[ ! -e "$snapdir/latest" ]]; do
            if ! kill -0 "$job_pid" 2>/dev/null; then
                wait "$job_pid" || true
                job_pid=""
                show "$WORK/snapshot.log"
                die "${PROG[0]##*/} ended before committing a snapshot ($snapdir/latest never appeared)"
            fi
            if ((SECONDS > deadline)); then
                show "$WORK/snapshot.log"
                die "no snapshot committed within ${TIMEOUT}s"
            fi
            sleep 0.02
        done
        if kill -0 "$job_pid" 2>/dev/null; then
            kill_job "$job_pid"
            killed=1
        else
            wait "$job_pid" || true
        fi
        job_pid=""
        show "$WORK/snapshot.log"
        if [[ $killed -eq 1 ]] && ! checksum_of "$WORK/snapshot.log" >/dev/null; then
            say "snapshot $(cat "$snapdir/latest") committed; job SIGKILLed"
        elif [[ $MUST_KILL -eq 1 ]]; then
            die "${PROG[0]##*/} reached its end before the kill; give it more work (or --sleep-us) so the kill interrupts it"
        else
            say "warning: ${PROG[0]##*/} reached its end before the kill; give it more work so the kill interrupts it"
        fi
    fi
    check_expected "$WORK/snapshot.log" "snapshot run" "${EXPECT_SNAPSHOT[@]}"
    local latest
    latest=$(cat "$snapdir/latest")
    say "snapshot on disk: $snapdir/$latest"
    find "$snapdir/$latest" -type f | sort | sed 's/^/    /'
}

phase_restart() {
    local snapdir="$WORK/snapshots" sum_ref sum_restart
    [[ -f "$REF_FILE" ]] ||
        die "no reference checksum in $WORK (run --phase reference first)"
    [[ -e "$snapdir/latest" ]] ||
        die "no committed snapshot in $snapdir (run --phase snapshot first)"
    sum_ref=$(cat "$REF_FILE")
    say "${STEP[2]}restart: $(quoted MPISNAP_DIR="$snapdir" MPISNAP_RESTART=auto "${ENVS[@]}" "${RESTART_ENVS[@]}" "${MPIEXEC[@]}" "${PROG[@]}" "${SNAPSHOT_ARGS[@]}")"
    local rc=0
    run_env "${RESTART_ENVS[@]}" timeout -k 10 "$TIMEOUT" "${MPIEXEC[@]}" \
        "${PROG[@]}" "${SNAPSHOT_ARGS[@]}" >"$WORK/restart.log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        show "$WORK/restart.log"
        die "the restarted run failed (exit $rc); log: $WORK/restart.log"
    fi
    show "$WORK/restart.log"
    check_expected "$WORK/restart.log" "restarted run" "${EXPECT_RESTORED[@]}"
    sum_restart=$(checksum_of "$WORK/restart.log") ||
        die "the restarted run printed no line matching '$CHECKSUM_RE'"
    if [[ -n "$SAME_SNAP" ]]; then
        local v_snap v_restart
        v_snap=$(sed -En "s/.*${SAME_SNAP}.*/\1/p" "$WORK/snapshot.log" | tail -n 1)
        v_restart=$(sed -En "s/.*${SAME_RESTART}.*/\1/p" "$WORK/restart.log" | tail -n 1)
        [[ -n "$v_snap" ]] || die "no line of $WORK/snapshot.log matches '$SAME_SNAP'"
        [[ -n "$v_restart" ]] || die "no line of $WORK/restart.log matches '$SAME_RESTART'"
        [[ "$v_snap" == "$v_restart" ]] ||
            die "the snapshot run says '$v_snap' ('$SAME_SNAP'), the restart '$v_restart' ('$SAME_RESTART')"
        say "snapshot and restart agree: $v_snap"
    fi
    say "uninterrupted: checksum $sum_ref"
    say "restarted:     checksum $sum_restart"
    if [[ "$sum_ref" == "$sum_restart" ]]; then
        say "identical"
        if [[ $CLEAN -eq 1 && $own_work -eq 0 ]]; then
            rm -rf "$WORK"
        fi
    else
        say "DIFFERENT"
        exit 1
    fi
}

STEP=("" "" "")
case "$PHASE" in
all)
    STEP=("1/3 " "2/3 " "3/3 ")
    phase_reference
    phase_snapshot
    phase_restart
    ;;
reference) phase_reference ;;
snapshot) phase_snapshot ;;
restart) phase_restart ;;
esac
