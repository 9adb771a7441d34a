#!/usr/bin/env bash
# heat2d_overhead.sh: what periodic snapshots cost a real program.
#
# Runs apps/heat2d (always linked with mpisnap) in several variants,
# round-robin (A B C D A B C D ...) so that machine noise hits every variant
# alike, and prints each variant's median run time and its ratio to "none".
# With MPISNAP_LOG=info, rank 0's stderr is searched for the snapshots that
# committed, and for the agreement rounds that missed their safe point
# ("missed the safe point", "aborted").  See docs/benchmarks-snapshot.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

np=2
nx=2048
ny=2048
iters=800
runs=3
every="100 400"
interval=10
request_every=50
observe=""
heat2d=""
workdir=""
keep_files=0

usage() {
  cat <<EOF
NAME
    heat2d_overhead.sh - run time of heat2d with and without snapshots

SYNOPSIS
    bench/heat2d_overhead.sh [OPTION]...

DESCRIPTION
    Runs heat2d (--sleep-us 0) on NP ranks in these variants,
    round-robin, RUNS times each:
      none          no snapshots (MPISNAP_INTERVAL and MPISNAP_EVERY unset)
      interval-S    MPISNAP_INTERVAL=S (rank 0's timer, agreement round)
      every-N       MPISNAP_EVERY=N for each N (no agreement round)
      request-K     heat2d --snapshot-every K: rank 0 calls
                    mpisnap_request() every K steps (agreement round);
                    measures how often the agreement misses its point
      observe-0     MPISNAP_OBSERVE=1, no observation taken: the cost of
                    observation mode (blocking calls poll)
      observe-K     MPISNAP_OBSERVE=1 and heat2d --observe-every K: an
                    observation snapshot every K steps
    and prints the median of heat2d's own loop time ("in X s") and of the
    wall time of mpiexec, each as a ratio to "none" (target for
    interval-10: <= 1.02), plus per variant the snapshots committed, the
    agreement rounds started, missed and aborted (from MPISNAP_LOG=info on
    rank 0's stderr).  Every run starts fresh (MPISNAP_RESTART=never, an
    empty MPISNAP_DIR).  Lines starting with RESULT are for scripts.

OPTIONS
    --np N             ranks (default $np)
    --nx N, --ny N     grid (default ${nx}x${ny})
    --iters N          steps (default $iters: about 10 s on an idle 2-core
                       EPYC VM)
    --runs N           runs per variant (default $runs)
    --every "N ..."    MPISNAP_EVERY values (default "$every"; "" for none)
    --interval S       MPISNAP_INTERVAL (default $interval; 0 to skip)
    --request-every K  heat2d --snapshot-every K (default $request_every;
                       0 to skip)
    --observe "K ..."  observation variants (default none; 0: observation
                       mode without observations)
    --heat2d PATH      the heat2d binary (default: build/apps/heat2d,
                       else build-sbench/apps/heat2d)
    --workdir DIR      where snapshots and logs go (default: a new
                       directory under \${TMPDIR:-/tmp}, removed at the end)
    --keep-files       keep the work directory (logs of every run)
    -h, --help         show this help

ENVIRONMENT
    MPIEXEC            mpiexec command (default mpiexec)
    MPIEXEC_PREFLAGS   flags before the program (default: --oversubscribe,
                       plus --allow-run-as-root when run as root)
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --np) np=$2; shift 2 ;;
    --nx) nx=$2; shift 2 ;;
    --ny) ny=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --every) every=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --request-every) request_every=$2; shift 2 ;;
    --observe) observe=$2; shift 2 ;;
    --heat2d) heat2d=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --keep-files) keep_files=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "heat2d_overhead.sh: unknown argument '$1'" >&2
       echo "Try 'bench/heat2d_overhead.sh --help'." >&2; exit 2 ;;
  esac
done

if [ -z "$heat2d" ]; then
  for cand in "$repo/build/apps/heat2d" "$repo/build-sbench/apps/heat2d"; do
    if [ -x "$cand" ]; then heat2d=$cand; break; fi
  done
fi
if [ -z "$heat2d" ] || [ ! -x "$heat2d" ]; then
  echo "heat2d_overhead.sh: no heat2d binary; build first or pass --heat2d" >&2
  exit 2
fi

mpiexec=${MPIEXEC:-mpiexec}
if [ -z "${MPIEXEC_PREFLAGS+x}" ]; then
  MPIEXEC_PREFLAGS="--oversubscribe"
  [ "$(id -u)" = 0 ] && MPIEXEC_PREFLAGS="--allow-run-as-root $MPIEXEC_PREFLAGS"
fi
read -r -a preflags <<<"$MPIEXEC_PREFLAGS"

if [ -z "$workdir" ]; then
  workdir=$(mktemp -d "${TMPDIR:-/tmp}/heat2d-overhead.XXXXXX")
  [ "$keep_files" = 1 ] || trap 'rm -rf "$workdir"' EXIT
else
  mkdir -p "$workdir"
fi

# Variants: name and the environment / extra arguments of each.
variants=(none)
[ "$interval" != 0 ] && variants+=("interval-$interval")
for n in $every; do variants+=("every-$n"); done
[ "$request_every" != 0 ] && variants+=("request-$request_every")
for k in $observe; do variants+=("observe-$k"); done

# Not --quiet: that would drop heat2d's timing line ("in X s").
args=(--nx "$nx" --ny "$ny" --iters "$iters" --sleep-us 0)
echo "heat2d_overhead: $heat2d ${args[*]} on $np ranks, $runs run(s) per variant, round-robin"
echo "variants: ${variants[*]}; work dir $workdir"
echo "command: env MPISNAP_RESTART=never MPISNAP_LOG=info MPISNAP_DIR=<new dir> [variant env] $mpiexec -n $np ${preflags[*]} $heat2d ${args[*]} [variant args]"

declare -A loop wall
run_one() { # variant run
  local v=$1 r=$2 dir="$workdir/$1.$2" envs=(MPISNAP_RESTART=never
      MPISNAP_LOG=info) extra=() t0 t1 out
  rm -rf "$dir"; mkdir -p "$dir"
  envs+=("MPISNAP_DIR=$dir/snaps")
  case "$v" in
    interval-*) envs+=("MPISNAP_INTERVAL=${v#interval-}") ;;
    every-*) envs+=("MPISNAP_EVERY=${v#every-}") ;;
    request-*) extra=(--snapshot-every "${v#request-}") ;;
    observe-0) envs+=(MPISNAP_OBSERVE=1) ;;
    observe-*) envs+=(MPISNAP_OBSERVE=1)
               extra=(--observe-every "${v#observe-}") ;;
  esac
  t0=$(date +%s.%N)
  if ! env -u MPISNAP_INTERVAL -u MPISNAP_EVERY "${envs[@]}" \
      "$mpiexec" -n "$np" "${preflags[@]}" "$heat2d" "${args[@]}" \
      "${extra[@]}" >"$dir/stdout" 2>"$dir/stderr"; then
    echo "heat2d_overhead: run $v #$r failed; see $dir/stderr" >&2
    tail -5 "$dir/stderr" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  rm -rf "$dir/snaps" # keep the disk free; the logs stay
  out=$(grep -o 'in [0-9.]* s' "$dir/stdout" | head -1 | awk '{print $2}')
  [ -n "$out" ] || { echo "heat2d_overhead: no timing line in $dir/stdout" >&2; exit 1; }
  loop[$v]+="$out "
  wall[$v]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') "
  printf '  %-12s run %d: loop %s s, wall %s s, load average %s\n' "$v" "$r" \
    "$out" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')" \
    "$(cut -d' ' -f1 /proc/loadavg)"
}

for r in $(seq 1 "$runs"); do
  for v in "${variants[@]}"; do
    run_one "$v" "$r"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g |
  awk '{a[NR]=$1} END {if (NR==0) {print "NA"; exit}
       if (NR%2) printf "%.3f", a[(NR+1)/2];
       else printf "%.3f", (a[NR/2]+a[NR/2+1])/2}'; }

base_loop=$(echo "${loop[none]}" | median)
base_wall=$(echo "${wall[none]}" | median)
echo
printf '%-12s %9s %7s %9s %7s %8s %8s %7s %8s %8s\n' variant "loop s" ratio \
  "wall s" ratio commits started missed aborted "ms/snap"
for v in "${variants[@]}"; do
  l=$(echo "${loop[$v]}" | median)
  w=$(echo "${wall[$v]}" | median)
  errs=("$workdir/$v".*/stderr)
  # rank 0's "snapshot N committed" notes (the last may come at MPI_Finalize)
  commits=$(cat "${errs[@]}" | grep '^mpisnap\[0\]' | grep -c 'committed' || true)
  started=$(cat "${errs[@]}" | grep '^mpisnap\[0\]' | grep -c 'requested' || true)
  missed=$(cat "${errs[@]}" | grep '^mpisnap\[0\]' | grep 'aborted' | grep -c 'missed the safe point' || true)
  aborted=$(cat "${errs[@]}" | grep '^mpisnap\[0\]' | grep -c 'aborted' || true)
  # per-snapshot cost from the loop time: (variant - none) / snapshots per run
  per=$(awk -v l="$l" -v b="$base_loop" -v c="$commits" -v n="$runs" \
        'BEGIN{ if (c > 0) printf "%.1f", 1000*(l-b)/(c/n); else print "-" }')
  printf '%-12s %9s %7s %9s %7s %8s %8s %7s %8s %8s\n' "$v" "$l" \
    "$(awk -v a="$l" -v b="$base_loop" 'BEGIN{printf "%.3f", a/b}')" "$w" \
    "$(awk -v a="$w" -v b="$base_wall" 'BEGIN{printf "%.3f", a/b}')" \
    "$commits" "$started" "$missed" "$aborted" "$per"
  echo "RESULT variant=$v runs=$runs loop_s=$l loop_ratio=$(awk -v a="$l" -v b="$base_loop" 'BEGIN{printf "%.4f", a/b}') wall_s=$w wall_ratio=$(awk -v a="$w" -v b="$base_wall" 'BEGIN{printf "%.4f", a/b}') commits=$commits agreements=$started missed=$missed aborted=$aborted loop_samples=\"${loop[$v]% }\"" >>"$workdir/results"
done
echo
cat "$workdir/results"
echo
echo "commits: snapshots committed over all runs of the variant (rank 0's log; the last may be at MPI_Finalize);"
echo "started: agreement rounds rank 0 started ('snapshot N requested', includes retries);"
echo "missed: rank 0's 'aborted: rank R: missed the safe point' lines; aborted: all rank 0's 'aborted' lines;"
echo "ms/snap: (median loop time - none's) / (commits per run)."
grep -h 'aborted\|missed' "$workdir"/*/stderr 2>/dev/null | sed 's/snapshot [0-9]*/snapshot N/' |
  sort | uniq -c | sort -rn | head -10 || true
