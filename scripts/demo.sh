#!/usr/bin/env bash
# mpisnap demo: a real MPI program (apps/heat2d, a 2-D heat equation on 4
# ranks) is checkpointed, killed with SIGKILL, restarted from its snapshot,
# and must finish with exactly the result of a run that was never stopped.
#
#   1. run heat2d to the end, uninterrupted          -> checksum A
#   2. run it again with a snapshot at step K; as soon as the snapshot is
#      committed ($MPISNAP_DIR/latest exists) SIGKILL mpiexec and every rank
#   3. run the same command again (MPISNAP_RESTART=auto): it restores the
#      snapshot and runs to the end                  -> checksum B
#   4. A == B: "identical", exit 0;  otherwise "DIFFERENT", exit 1
#
# Environment: HEAT2D_ITERS, HEAT2D_SNAPSHOT_AT, DEMO_NP, DEMO_TIMEOUT
# (seconds per run), DEMO_KEEP=1 keeps the snapshot directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

# ---- the program: adjust here ------------------------------------------
BUILD_DIR="${MPISNAP_BUILD_DIR:-build}"
NP="${DEMO_NP:-4}"
HEAT2D=("$BUILD_DIR/apps/heat2d" --iters "${HEAT2D_ITERS:-4000}")
# Appended to HEAT2D for the checkpointed run and for the restart.
SNAPSHOT_ARGS=(--snapshot-at "${HEAT2D_SNAPSHOT_AT:-1000}")
# heat2d's last line: the word checksum, a space, 16 hex digits.
CHECKSUM_RE='^checksum [0-9a-fA-F]{16}$'
# heat2d prints a line like this when mpisnap_restore() restored a snapshot;
# without it a restart that silently started afresh would still "pass".
RESTORED_RE='^restored'
TIMEOUT="${DEMO_TIMEOUT:-300}"
# -------------------------------------------------------------------------

say() {
    printf 'mpisnap demo: %s\n' "$*"
}

die() {
    printf 'mpisnap demo: FAILED: %s\n' "$*" >&2
    exit 1
}

# Show the last lines of a run's output, indented.
show() {
    tail -n 15 "$1" | sed 's/^/    | /'
}

# The one checksum a run printed (all ranks that print must agree).
checksum_of() {
    local sums
    sums=$(grep -E "$CHECKSUM_RE" "$1" | cut -d' ' -f2 | sort -u || true)
    [[ -n "$sums" ]] || return 1
    [[ "$(wc -l <<<"$sums")" -eq 1 ]] || die "ranks disagree on the checksum in $1"
    echo "$sums"
}

# All descendants of a pid, from /proc (Open MPI puts each rank in its own
# process group, so killing mpiexec's group alone would leave them running).
descendants() {
    local parent=$1 stat pid ppid rest
    for stat in /proc/[0-9]*/stat; do
        rest=$(cat "$stat" 2>/dev/null) || continue
        pid=${rest%% *}
        rest=${rest##*) }
        ppid=$(cut -d' ' -f2 <<<"$rest")
        if [[ "$ppid" == "$parent" ]]; then
            echo "$pid"
            descendants "$pid"
        fi
    done
}

# SIGKILL a job at once: mpiexec's process group and every rank under it.
kill_job() {
    local pid=$1 pids
    mapfile -t pids < <(descendants "$pid")
    kill -9 -- "-$pid" "${pids[@]}" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

mpisnap_setup
mpisnap_build
read -r -a PREFLAGS <<<"$(mpisnap_preflags)"
MPIEXEC=(mpiexec -n "$NP" "${PREFLAGS[@]}")

[[ -x "${HEAT2D[0]}" ]] ||
    die "${HEAT2D[0]} was not built (is apps/heat2d.c in apps/CMakeLists.txt?)"

work=$(mktemp -d "${TMPDIR:-/tmp}/mpisnap-demo.XXXXXX")
job_pid=""
cleanup() {
    if [[ -n "$job_pid" ]]; then
        kill_job "$job_pid"
    fi
    if [[ "${DEMO_KEEP:-0}" == 1 ]]; then
        say "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# 1. Uninterrupted reference run.  Its own empty snapshot directory and
# MPISNAP_RESTART=never, so no stray ./mpisnap-snapshots can be restored.
say "1/3 reference run: ${MPIEXEC[*]} ${HEAT2D[*]}"
MPISNAP_DIR="$work/reference" MPISNAP_RESTART=never \
    timeout -k 10 "$TIMEOUT" "${MPIEXEC[@]}" "${HEAT2D[@]}" \
    >"$work/run1.log" 2>&1 || {
    show "$work/run1.log"
    die "reference run failed"
}
show "$work/run1.log"
sum_ref=$(checksum_of "$work/run1.log") ||
    die "reference run printed no 'checksum <16 hex digits>' line"

# 2. Checkpointed run, SIGKILLed once its snapshot is committed.
snapdir="$work/snapshots"
say "2/3 checkpointed run: MPISNAP_DIR=$snapdir ${MPIEXEC[*]} ${HEAT2D[*]} ${SNAPSHOT_ARGS[*]}"
set -m # own process group for the job
MPISNAP_DIR="$snapdir" MPISNAP_RESTART=auto \
    "${MPIEXEC[@]}" "${HEAT2D[@]}" "${SNAPSHOT_ARGS[@]}" \
    >"$work/run2.log" 2>&1 &
job_pid=$!
set +m
deadline=$((SECONDS + TIMEOUT))
while [[ ! -e "$snapdir/latest" ]]; do
    if ! kill -0 "$job_pid" 2>/dev/null; then
        wait "$job_pid" || true
        job_pid=""
        show "$work/run2.log"
        die "heat2d ended before committing a snapshot ($snapdir/latest never appeared)"
    fi
    if ((SECONDS > deadline)); then
        show "$work/run2.log"
        die "no snapshot committed within ${TIMEOUT}s"
    fi
    sleep 0.05
done
if kill -0 "$job_pid" 2>/dev/null; then
    kill_job "$job_pid"
    say "snapshot $(cat "$snapdir/latest") committed; job SIGKILLed"
    killed=1
else
    wait "$job_pid" || true
    killed=0
fi
job_pid=""
show "$work/run2.log"
if [[ $killed -eq 0 ]] || checksum_of "$work/run2.log" >/dev/null; then
    say "warning: heat2d reached its end before the kill; raise HEAT2D_ITERS so the kill interrupts it"
fi
latest=$(cat "$snapdir/latest")
say "snapshot on disk: $snapdir/$latest"
find "$snapdir/$latest" -type f | sort | sed 's/^/    /'

# 3. Restart: the same command; MPISNAP_RESTART=auto picks the snapshot.
say "3/3 restart: MPISNAP_DIR=$snapdir MPISNAP_RESTART=auto ${MPIEXEC[*]} ${HEAT2D[*]} ${SNAPSHOT_ARGS[*]}"
MPISNAP_DIR="$snapdir" MPISNAP_RESTART=auto \
    timeout -k 10 "$TIMEOUT" "${MPIEXEC[@]}" "${HEAT2D[@]}" "${SNAPSHOT_ARGS[@]}" \
    >"$work/run3.log" 2>&1 || {
    show "$work/run3.log"
    die "restarted run failed"
}
show "$work/run3.log"
grep -Eq "$RESTORED_RE" "$work/run3.log" ||
    die "the restarted run did not report restoring a snapshot (no line matching '$RESTORED_RE')"
sum_restart=$(checksum_of "$work/run3.log") ||
    die "restarted run printed no 'checksum <16 hex digits>' line"

say "uninterrupted: checksum $sum_ref"
say "restarted:     checksum $sum_restart"
if [[ "$sum_ref" == "$sum_restart" ]]; then
    say "identical"
else
    say "DIFFERENT"
    exit 1
fi
