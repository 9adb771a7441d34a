# Shell helpers of the restart and fault test scripts (sourced).
#
# The scripts take the same leading options, parsed by rt_parse_common:
#   --mpiexec CMD         the launcher
#   --mpiexec-flags "F"   its flags (MPIEXEC_PREFLAGS; split on spaces)
#   --work DIR            this test's own directory: emptied at the start,
#                         removed when the test passes, kept when it fails
#   --run-timeout S       seconds allowed per mpiexec run (default 60)
# and leave the rest in RT_ARGS.

RT_MPIEXEC=mpiexec
RT_FLAGS=()
RT_WORK=""
RT_TIMEOUT=60
RT_TIMED_OUT=0
RT_ARGS=()
RT_NAME=${RT_NAME:-${0##*/}}

rt_parse_common() {
    while [[ $# -gt 0 ]]; do
        case "$1" in
        --mpiexec) RT_MPIEXEC=$2 && shift 2 ;;
        --mpiexec-flags) read -r -a RT_FLAGS <<<"$2" && shift 2 ;;
        --work) RT_WORK=$2 && shift 2 ;;
        --run-timeout) RT_TIMEOUT=$2 && shift 2 ;;
        *) RT_ARGS+=("$1") && shift ;;
        esac
    done
    [[ -n "$RT_WORK" ]] || rt_die "--work DIR is required"
    rm -rf "$RT_WORK"
    mkdir -p "$RT_WORK"
    RT_WORK=$(cd "$RT_WORK" && pwd)
}

rt_say() {
    printf '%s: %s\n' "$RT_NAME" "$*"
}

rt_die() {
    printf '%s: FAILED: %s\n' "$RT_NAME" "$*"
    exit 1
}

# The test passed: say so and remove its directory.
rt_pass() {
    rt_say "PASS${1:+: $1}"
    rm -rf "$RT_WORK"
    exit 0
}

# Show a log, indented.
rt_show() {
    sed 's/^/    | /' "$1"
}

# rt_run LOG NP [VAR=VALUE...] PROGRAM [ARG...]: run under mpiexec with a
# time limit (--run-timeout), output (stdout and stderr) to LOG; returns the exit status.
rt_run() {
    local log=$1 np=$2 envs=() rc=0
    shift 2
    while [[ $# -gt 0 && "$1" == [A-Z]*=* ]]; do
        envs+=("$1")
        shift
    done
    echo "+ ${envs[*]} $RT_MPIEXEC -n $np ${RT_FLAGS[*]} $*" >"$log"
    local t0=$SECONDS
    env "${envs[@]}" timeout -k 5 "$RT_TIMEOUT" "$RT_MPIEXEC" -n "$np" "${RT_FLAGS[@]}" \
        "$@" >>"$log" 2>&1 || rc=$?
    RT_TIMED_OUT=0
    if [[ $rc -ne 0 ]] && ((SECONDS - t0 >= RT_TIMEOUT)); then
        RT_TIMED_OUT=1
        echo "(killed after ${RT_TIMEOUT}s)" >>"$log"
    fi
    return "$rc"
}

# rt_run_ok: rt_run that must exit 0 (else show the log and fail).
rt_run_ok() {
    local rc=0
    rt_run "$@" || rc=$?
    if [[ $rc -ne 0 ]]; then
        rt_show "$1"
        if [[ $RT_TIMED_OUT -eq 1 ]]; then
            rt_die "the run above did not finish within ${RT_TIMEOUT}s (killed)"
        fi
        rt_die "the run above exited with $rc"
    fi
}

# The one 'checksum <16 hex>' of a log.
rt_checksum() {
    local sums
    sums=$(grep -E '^checksum [0-9a-f]{16}$' "$1" | awk '{print $2}' | sort -u)
    if [[ -z "$sums" || "$(wc -l <<<"$sums")" -ne 1 ]]; then
        rt_show "$1"
        rt_die "expected one 'checksum X' line in $1, got: ${sums:-none}"
    fi
    echo "$sums"
}

# rt_expect LOG RE [WHAT]: a line of LOG matches the extended regex RE.
rt_expect() {
    if ! grep -Eq -- "$2" "$1"; then
        rt_show "$1"
        rt_die "${3:-the run above} printed no line matching '$2'"
    fi
}

# rt_reject LOG RE [WHAT]
rt_reject() {
    if grep -Eq -- "$2" "$1"; then
        rt_show "$1"
        rt_die "${3:-the run above} printed a line matching '$2'"
    fi
}

# rt_eq WHAT GOT WANT
rt_eq() {
    [[ "$2" == "$3" ]] || rt_die "$1: got '$2', expected '$3'"
    rt_say "$1: $2 (ok)"
}

# Committed snapshot ids in a snapshot directory, oldest first.
rt_snapshot_ids() {
    local d
    for d in "$1"/snap-[0-9]*; do
        [[ -d "$d" && "$d" != *.partial ]] || continue
        d=${d##*/snap-}
        echo $((10#$d))
    done | sort -n
}

# The safe point of committed snapshot ID, from the library's line in LOG.
rt_safe_point() {
    sed -En "s/.*snapshot $2 committed: .* safe point ([0-9]+),.*/\\1/p" "$1" |
        tail -n 1
}
