#!/usr/bin/env bash
# The disk fills up while the ranks write: MPISNAP_DIR on a tmpfs of SIZE
# (too small for one snapshot of 4 ranks).  Every snapshot aborts with a
# message, the program runs on to the uninterrupted run's checksum, exits
# 0, MPI_Finalize does not crash (HDF5 kept the failed files open and
# crashed closing them), and no rank file is left behind.  Needs root (to
# mount the tmpfs): skipped (77) otherwise.
#
#   enospc.sh --mpiexec CMD --mpiexec-flags F --work DIR --heat2d PATH SIZE
set -euo pipefail
RT_NAME=fault_enospc
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../restart/testlib.sh"
rt_parse_common "$@"
set -- "${RT_ARGS[@]}"
[[ $# -eq 3 && "$1" == --heat2d ]] || rt_die "usage: ... --heat2d PATH SIZE"
size=$3
# 128 x 128 on 4 ranks: 35 KB of grid per rank file.
heat2d=("$2" --nx 128 --ny 128 --iters 60 --sleep-us 0 --quiet)
np=4

if [[ $(id -u) -ne 0 ]]; then
    rt_say "SKIPPED: mounting a tmpfs needs root"
    exit 77
fi
rt_run_ok "$RT_WORK/ref.log" $np MPISNAP_DIR="$RT_WORK/ref" \
    MPISNAP_RESTART=never "${heat2d[@]}"
ref=$(rt_checksum "$RT_WORK/ref.log")

mnt="$RT_WORK/full"
mkdir "$mnt"
mount -t tmpfs -o size="$size" tmpfs "$mnt" || {
    rt_say "SKIPPED: cannot mount a tmpfs on $mnt"
    exit 77
}
trap 'umount "$mnt"' EXIT
log="$RT_WORK/full.log"
rt_run_ok "$log" $np MPISNAP_DIR="$mnt/snaps" MPISNAP_EVERY=10 \
    "${heat2d[@]}"
rt_expect "$log" "snapshot [0-9]+ aborted: rank [0-9]+: cannot write rank file"
rt_reject "$log" "committed"
rt_reject "$log" "infinite loop|Segmentation|signal"
rt_eq "checksum on a full disk" "$(rt_checksum "$log")" "$ref"
left=$(find "$mnt" -name '*.h5' -o -name 'snap-*')
[[ -z "$left" ]] || rt_die "left on the full disk: $left"
umount "$mnt"
trap - EXIT
rt_pass "every snapshot aborted, nothing left behind, no crash"
