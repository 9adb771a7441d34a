#!/usr/bin/env bash
# run_expect.sh: run a command and check its exit status and its output
# (stdout and stderr together).
#
#   run_expect.sh [--exit N | --fail] [--expect RE]... [--reject RE]...
#                 [--timeout S] -- COMMAND [ARG]...
#
#   --exit N      the command must exit with N (default 0)
#   --fail        the command must exit with a non-zero status (and not be
#                 killed by the timeout)
#   --expect RE   a line of the output must match the extended regex RE
#   --reject RE   no line of the output may match RE
#   --timeout S   kill the command after S seconds (default 120): a failure
#   --dir DIR     the test's own directory: removed before the command runs,
#                 and after it when every check passed
#
# Prints the output, then one line per failed check; exit 0 when every
# check passed, 1 otherwise.
set -euo pipefail

want_exit=0
want_fail=0
timeout_s=120
expects=()
dir=""
rejects=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --exit) want_exit=$2 && shift 2 ;;
    --fail) want_fail=1 && shift ;;
    --expect) expects+=("$2") && shift 2 ;;
    --reject) rejects+=("$2") && shift 2 ;;
    --timeout) timeout_s=$2 && shift 2 ;;
    --dir) dir=$2 && shift 2 ;;
    --) shift && break ;;
    *)
        echo "run_expect.sh: unknown option '$1'" >&2
        exit 2
        ;;
    esac
done
[[ $# -gt 0 ]] || {
    echo "run_expect.sh: no command" >&2
    exit 2
}

if [[ -n "$dir" ]]; then
    rm -rf "$dir"
fi
out=$(mktemp "${TMPDIR:-/tmp}/run_expect.XXXXXX")
trap 'rm -f "$out"' EXIT
rc=0
t0=$SECONDS
timeout -k 10 "$timeout_s" "$@" >"$out" 2>&1 || rc=$?
cat "$out"

bad=0
check_failed() {
    echo "run_expect.sh: CHECK FAILED: $*"
    bad=1
}
if [[ $rc -ne 0 ]] && ((SECONDS - t0 >= timeout_s)); then
    check_failed "timed out after ${timeout_s}s (exit $rc)"
elif [[ $want_fail -eq 1 ]]; then
    [[ $rc -ne 0 ]] || check_failed "expected a non-zero exit status, got 0"
elif [[ $rc -ne $want_exit ]]; then
    check_failed "expected exit status $want_exit, got $rc"
fi
for re in "${expects[@]}"; do
    grep -Eq -- "$re" "$out" || check_failed "no line matches '$re'"
done
for re in "${rejects[@]}"; do
    if grep -Eq -- "$re" "$out"; then
        check_failed "a line matches '$re': $(grep -E -m1 -- "$re" "$out")"
    fi
done
if [[ $bad -eq 0 ]]; then
    echo "run_expect.sh: all checks passed"
    if [[ -n "$dir" ]]; then
        rm -rf "$dir"
    fi
fi
exit "$bad"
