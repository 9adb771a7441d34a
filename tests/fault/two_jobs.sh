#!/usr/bin/env bash
# Two jobs on one MPISNAP_DIR.  1. While job A runs (a snapshot every 100
# steps), job B on the same directory is refused at MPI_Init with a message
# naming A, and touches nothing: every snapshot of A commits and A ends
# with the uninterrupted run's checksum.  2. A job whose rank 0 was killed
# left a stale lock: the next job takes it over (and says so at level
# info), and removes the lock file when it ends.
#
#   two_jobs.sh --mpiexec CMD --mpiexec-flags F --work DIR --heat2d PATH
set -euo pipefail
RT_NAME=fault_two_jobs
# shellcheck source=tests/restart/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../restart/testlib.sh"
rt_parse_common "$@"
set -- "${RT_ARGS[@]}"
[[ $# -eq 2 && "$1" == --heat2d ]] || rt_die "usage: ... --heat2d PATH"
heat2d=("$2" --nx 48 --ny 48 --sleep-us 2000 --quiet)
np=2
snaps="$RT_WORK/snaps"

rt_run_ok "$RT_WORK/ref.log" $np MPISNAP_DIR="$RT_WORK/ref" \
    MPISNAP_RESTART=never "${heat2d[@]}" --iters 600 --sleep-us 0
ref=$(rt_checksum "$RT_WORK/ref.log")

# 1. A runs for a few seconds; B starts once A holds the lock.
alog="$RT_WORK/a.log"
arc=0
rt_run "$alog" $np MPISNAP_DIR="$snaps" MPISNAP_EVERY=100 \
    "${heat2d[@]}" --iters 600 &
apid=$!
for _ in $(seq 200); do
    [[ -s "$snaps/lock" ]] && break
    sleep 0.1
done
[[ -s "$snaps/lock" ]] || rt_die "job A wrote no $snaps/lock in 20 s"
rt_say "A holds the lock: $(cat "$snaps/lock")"
blog="$RT_WORK/b.log"
brc=0
rt_run "$blog" $np MPISNAP_DIR="$snaps" "${heat2d[@]}" --iters 10 || brc=$?
wait "$apid" || arc=$?
[[ $brc -ne 0 && $RT_TIMED_OUT -eq 0 ]] || {
    rt_show "$blog"
    rt_die "job B on A's directory should be refused (exit $brc)"
}
rt_expect "$blog" "MPISNAP_DIR $snaps is in use by another job: heat2d on .*, pid [0-9]+, since "
rt_reject "$blog" "^checksum "
[[ $arc -eq 0 ]] || {
    rt_show "$alog"
    rt_die "job A failed (exit $arc)"
}
rt_reject "$alog" "aborted|already exists|cannot"
rt_expect "$alog" "snapshot [0-9]+ committed"
rt_eq "checksum of job A" "$(rt_checksum "$alog")" "$ref"
[[ ! -e "$snaps/lock" ]] || rt_die "A ended but left $snaps/lock: $(cat "$snaps/lock")"
rt_say "B was refused, A committed $(grep -c committed "$alog") snapshots"

# 2. Rank 0 dies in snapshot 0: its lock is stale, the next job takes it.
snaps2="$RT_WORK/snaps2"
klog="$RT_WORK/killed.log"
rt_run "$klog" $np MPISNAP_DIR="$snaps2" MPISNAP_EVERY=20 \
    MPISNAP_TEST_KILL_IN_WRITE=0:0 "${heat2d[@]}" --iters 100 || true
rt_expect "$klog" "killing rank 0 in snapshot 0"
[[ -s "$snaps2/lock" ]] || rt_die "the killed job left no lock to take over"
stale=$(cat "$snaps2/lock")
clog="$RT_WORK/c.log"
rt_run_ok "$clog" $np MPISNAP_DIR="$snaps2" MPISNAP_LOG=info \
    "${heat2d[@]}" --iters 600 --sleep-us 0
pid=$(sed -En 's/.*, pid ([0-9]+), .*/\1/p' <<<"$stale")
rt_expect "$clog" "taking over the lock of heat2d on .*, pid $pid, .* which ended without releasing it"
rt_eq "checksum after taking over" "$(rt_checksum "$clog")" "$ref"
[[ ! -e "$snaps2/lock" ]] || rt_die "C ended but left $snaps2/lock"
rt_pass "the second job was refused, a stale lock taken over"
