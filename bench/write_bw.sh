#!/usr/bin/env bash
# write_bw.sh: the machine, then bench_snapshot_cost (snapshot record and
# write cost against memcpy and dd) on a chosen file system.
# See docs/benchmarks-snapshot.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
np=2
bench=""
dir=""

usage() {
  cat <<EOF
NAME
    write_bw.sh - snapshot write bandwidth against dd, with machine facts

SYNOPSIS
    bench/write_bw.sh [--np N] [--bench PATH] [--dir DIR] [-- BENCH_OPTIONS...]

DESCRIPTION
    Prints what the numbers depend on (nproc, CPU model, memory, the file
    system of DIR with df -h and its mount options, Open MPI and HDF5
    versions), then runs
        mpiexec -n N bench_snapshot_cost --dir DIR/bench-snapshot-cost.d ...
    which writes its snapshots and its dd files (dd if=/dev/zero bs=1M
    conv=fdatasync) in that directory, so both hit the same file system.
    Options after -- go to bench_snapshot_cost (e.g. -- --sizes 16,256
    --reps 5); see bench_snapshot_cost --help.

OPTIONS
    --np N         ranks (default $np)
    --bench PATH   bench_snapshot_cost binary (default: build-sbench/bench/,
                   then build/bench/ under the repository)
    --dir DIR      file system to measure (default: the current directory)
    -h, --help     show this help

ENVIRONMENT
    MPIEXEC, MPIEXEC_PREFLAGS as for bench/heat2d_overhead.sh.
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --np) np=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "write_bw.sh: unknown argument '$1'" >&2
       echo "Try 'bench/write_bw.sh --help'." >&2; exit 2 ;;
  esac
done

if [ -z "$bench" ]; then
  for cand in "$repo/build-sbench/bench/bench_snapshot_cost" \
              "$repo/build/bench/bench_snapshot_cost"; do
    if [ -x "$cand" ]; then bench=$cand; break; fi
  done
fi
if [ -z "$bench" ] || [ ! -x "$bench" ]; then
  echo "write_bw.sh: no bench_snapshot_cost; build it or pass --bench" >&2
  exit 2
fi
dir=${dir:-$PWD}
mkdir -p "$dir"

mpiexec=${MPIEXEC:-mpiexec}
if [ -z "${MPIEXEC_PREFLAGS+x}" ]; then
  MPIEXEC_PREFLAGS="--oversubscribe"
  [ "$(id -u)" = 0 ] && MPIEXEC_PREFLAGS="--allow-run-as-root $MPIEXEC_PREFLAGS"
fi
read -r -a preflags <<<"$MPIEXEC_PREFLAGS"

echo "== machine"
echo "nproc: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB total, " $7 " MiB available"}')"
echo "kernel: $(uname -r)"
echo "file system of $dir:"
df -h "$dir" | sed 's/^/  /'
mnt=$(df --output=target "$dir" | tail -1)
echo "  mount: $(awk -v m="$mnt" '$2 == m {print $1, $3, $4}' /proc/mounts | head -1)"
echo "mpi: $("$mpiexec" --version 2>/dev/null | head -1)"
echo "dirty page limits: dirty_ratio=$(cat /proc/sys/vm/dirty_ratio) dirty_background_ratio=$(cat /proc/sys/vm/dirty_background_ratio)"
echo
echo "== $mpiexec -n $np ${preflags[*]} $bench --dir $dir/bench-snapshot-cost.d $*"
"$mpiexec" -n "$np" "${preflags[@]}" "$bench" \
  --dir "$dir/bench-snapshot-cost.d" "$@"
