#!/usr/bin/env bash
# A damaged rank file in the newest snapshot.
#
#   damaged.sh --mpiexec CMD --mpiexec-flags F --work DIR --heat2d PATH MODE
#
#   flip       one byte in the middle of rank-000001.h5 of the newest
#              snapshot is inverted: the restart says the snapshot is
#              damaged, restores the previous one (restored step = its
#              step) and ends with the uninterrupted run's checksum
#   truncate   rank-000002.h5 of the newest snapshot is cut to half: the same
#   index      the format_version attribute of the newest index.h5 is made
#              2, a change HDF5 reads without complaint: index.h5.xxh64
#              catches it, and the restart falls back as for flip
#   explicit   the flipped byte, and MPISNAP_RESTART=<newest id>: the program
#              fails (non-zero exit) with an error naming the snapshot, the
#              rank file and the checksum mismatch
set -euo pipefail
RT_NAME=fault_damaged
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../restart/testlib.sh"
rt_parse_common "$@"
set -- "${RT_ARGS[@]}"
[[ $# -eq 3 && "$1" == --heat2d ]] || rt_die "usage: ... --heat2d PATH MODE"
mode=$3
RT_NAME="fault_damaged ($mode)"
heat2d=(
    "$2" --nx 48 --ny 48 --iters 120 --sleep-us 0 --snapshot-every 40)
np=4
snaps="$RT_WORK/snaps"

rt_run_ok "$RT_WORK/ref.log" $np MPISNAP_DIR="$RT_WORK/ref" \
    MPISNAP_RESTART=never "${heat2d[@]}"
ref=$(rt_checksum "$RT_WORK/ref.log")

log="$RT_WORK/snap.log"
rt_run_ok "$log" $np MPISNAP_DIR="$snaps" "${heat2d[@]}"
mapfile -t ids < <(rt_snapshot_ids "$snaps")
[[ ${#ids[@]} -eq 2 ]] || {
    rt_show "$log"
    rt_die "expected 2 committed snapshots, found: ${ids[*]}"
}
old=${ids[0]}
new=${ids[1]}
point_old=$(rt_safe_point "$log" "$old")
newdir="$snaps/$(printf 'snap-%06d' "$new")"

case "$mode" in
flip | explicit)
    victim="$newdir/rank-000001.h5"
    python3 - "$victim" <<'PY'
import os, sys
path = sys.argv[1]
with open(path, "r+b") as f:
    size = os.fstat(f.fileno()).st_size
    f.seek(size // 2)
    b = f.read(1)
    f.seek(size // 2)
    f.write(bytes([b[0] ^ 0xFF]))
PY
    rt_say "inverted byte $(($(stat -c %s "$victim") / 2)) of $victim"
    ;;
index)
    # An attribute message (version 1) holds the name padded to 8 bytes,
    # the int32 type (16) and the scalar space (8), then the value.
    victim="$newdir/index.h5"
    python3 - "$victim" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
at = data.find(b"format_version\0") + 16 + 16 + 8
if at < 40 or data[at:at + 4] != b"\1\0\0\0":
    sys.exit("format_version's value not found in " + path)
data[at] = 2
open(path, "wb").write(data)
PY
    rt_say "format_version of $victim set to 2"
    ;;
truncate)
    victim="$newdir/rank-000002.h5"
    size=$(stat -c %s "$victim")
    truncate -s $((size / 2)) "$victim"
    rt_say "truncated $victim from $size to $((size / 2)) bytes"
    ;;
*) rt_die "unknown mode '$mode'" ;;
esac

rlog="$RT_WORK/restart.log"
if [[ "$mode" == explicit ]]; then
    rc=0
    rt_run "$rlog" $np MPISNAP_DIR="$snaps" MPISNAP_RESTART="$new" \
        "${heat2d[@]}" || rc=$?
    [[ $rc -ne 0 && $RT_TIMED_OUT -eq 0 ]] || {
        rt_show "$rlog"
        rt_die "MPISNAP_RESTART=$new (damaged) should fail, exit status $rc"
    }
    rt_show "$rlog"
    rt_expect "$rlog" "snapshot $new: rank-000001\.h5: .*checksum mismatch"
    rt_expect "$rlog" "mpisnap_restore: snapshot is damaged"
    rt_reject "$rlog" "^restored"
    rt_reject "$rlog" "^checksum "
    rt_pass "MPISNAP_RESTART=$new refused the damaged snapshot (exit $rc)"
fi

rt_run_ok "$rlog" $np MPISNAP_DIR="$snaps" "${heat2d[@]}"
rt_show "$rlog"
rt_expect "$rlog" "snapshot $new is damaged; trying the previous one"
rt_expect "$rlog" "restored snapshot $old \(safe point $point_old\)"
rt_eq "restored step" "$(sed -En 's/^restored step ([0-9]+)$/\1/p' "$rlog")" \
    "$((point_old - 1))"
rt_eq "checksum after the fallback" "$(rt_checksum "$rlog")" "$ref"
rt_pass
