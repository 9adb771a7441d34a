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
# Steps 1-4 are scripts/kill-restart.sh, which runs any program this way.
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
RESTORED_RES=('^restored')
TIMEOUT="${DEMO_TIMEOUT:-300}"
# -------------------------------------------------------------------------

die() {
    printf 'mpisnap demo: FAILED: %s\n' "$*" >&2
    exit 1
}

mpisnap_setup
mpisnap_build

[[ -x "${HEAT2D[0]}" ]] ||
    die "${HEAT2D[0]} was not built (is apps/heat2d.c in apps/CMakeLists.txt?)"

# The three runs, the kill and the comparison: scripts/kill-restart.sh.
args=(--name "mpisnap demo" --np "$NP" --timeout "$TIMEOUT"
    --mpiexec-flags "$(mpisnap_preflags)" --checksum-re "$CHECKSUM_RE")
for re in "${RESTORED_RES[@]}"; do
    args+=(--expect-restored "$re")
done
if [[ "${DEMO_KEEP:-0}" == 1 ]]; then
    args+=(--keep)
fi
exec scripts/kill-restart.sh "${args[@]}" -- "${HEAT2D[@]}" \
    --snapshot-args "${SNAPSHOT_ARGS[@]}"
