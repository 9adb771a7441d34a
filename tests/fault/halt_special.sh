#!/usr/bin/env bash
# A FIFO, or a symlink to /dev/zero, named `halt` in MPISNAP_DIR: rank 0
# reads the halt file inside a safe point, and must not block on the FIFO
# or take the link for a request.  The job runs to its end (with the
# checksum of an undisturbed run) and says it ignored the file.  A
# regular halt file still stops the job after a snapshot.
#
#   halt_special.sh --mpiexec CMD --mpiexec-flags F --work DIR --heat2d PATH
set -euo pipefail
RT_NAME=fault_halt_special
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../restart/testlib.sh"
rt_parse_common "$@"
set -- "${RT_ARGS[@]}"
[[ $# -eq 2 && "$1" == --heat2d ]] || rt_die "usage: ... --heat2d PATH"
heat2d=("$2" --nx 32 --ny 32 --iters 40 --sleep-us 0)

rt_run_ok "$RT_WORK/ref.log" 2 MPISNAP_DIR="$RT_WORK/ref" "${heat2d[@]}"
ref=$(rt_checksum "$RT_WORK/ref.log")
for kind in fifo devzero; do
    dir="$RT_WORK/$kind"
    mkdir -p "$dir"
    if [[ $kind == fifo ]]; then mkfifo "$dir/halt"; else
        ln -s /dev/zero "$dir/halt"
    fi
    log="$RT_WORK/$kind.log"
    rt_run_ok "$log" 2 MPISNAP_DIR="$dir" "${heat2d[@]}"
    rt_show "$log"
    rt_expect "$log" "$dir/halt: not a regular file: ignored"
    rt_reject "$log" "halt requested"
    rt_eq "checksum with a $kind as halt" "$(rt_checksum "$log")" "$ref"
done
# A regular halt file still works.
dir="$RT_WORK/regular"
mkdir -p "$dir"
echo now >"$dir/halt"
rt_run_ok "$RT_WORK/regular.log" 2 MPISNAP_DIR="$dir" "${heat2d[@]}"
rt_expect "$RT_WORK/regular.log" "halt requested \\($dir/halt\\)"
rt_expect "$RT_WORK/regular.log" "^stopped at step"
[[ ! -e "$dir/halt" ]] || rt_die "$dir/halt was not consumed"
rt_pass
