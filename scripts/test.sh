#!/usr/bin/env bash
# The whole mpisnap test suite: install the tools if needed, configure and
# build ./build (RelWithDebInfo, warnings are errors), run ctest.
#
#   scripts/test.sh                 everything
#   scripts/test.sh -R restart      extra arguments go to ctest
#
# Tests run one at a time: most start several MPI ranks, oversubscribed.
# Exit code: ctest's.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

mpisnap_setup
mpisnap_build

build_dir="${MPISNAP_BUILD_DIR:-build}"
ctest_cmd=(ctest --test-dir "$build_dir" --output-on-failure --no-tests=error "$@")
echo "mpisnap test: running ${ctest_cmd[*]}" >&2
rc=0
"${ctest_cmd[@]}" || rc=$?
if [[ $rc -eq 0 ]]; then
    echo "mpisnap test: all tests passed" >&2
else
    echo "mpisnap test: ctest exited with $rc" >&2
fi
exit "$rc"
