#!/usr/bin/env bash
# job_test.sh: submit one of the jobscripts/ to the test cluster
# (tests/slurm/cluster.sh), make the program stop after a snapshot, and check
# that the job requeued itself, restarted from the snapshot and ended with
# the checksum of an uninterrupted run.
#
#   tests/slurm/job_test.sh [OPTION]... -- PROGRAM [ARG]...
#
#   1. reference: PROGRAM ARGS --sleep-us 0 under mpiexec, outside Slurm,
#      MPISNAP_RESTART=never                                  -> checksum A
#   2. sbatch JOBSCRIPT PROGRAM ARGS with MPISNAP_DIR=WORK/snapshots; ARGS
#      should make the program commit a first snapshot early (heat2d
#      --snapshot-at K, or MPISNAP_EVERY), so that we know the ranks are
#      running and have installed their signal handler
#   3. once WORK/snapshots/latest exists, the trigger (--trigger):
#        signal-batch  scancel --signal=USR1 --batch JOB  (what
#                      #SBATCH --signal=B:USR1@N does: the batch shell only)
#        signal-steps  scancel --signal=USR1 JOB  (what --signal=USR1@N
#                      does: every task of every step, not the batch shell)
#        halt-now      `mpisnap halt DIR --now` (or: echo now > DIR/halt)
#        halt          `mpisnap halt DIR` (or: echo halt > DIR/halt): stop
#                      after the next scheduled snapshot (MPISNAP_EVERY)
#        stop-before   nothing: MPISNAP_STOP_BEFORE (pass it with --env)
#                      must stop the job before its time limit
#        hang          nothing: PROGRAM hangs on purpose (tests/observe/hang)
#                      and MPISNAP_HANG_AFTER, MPISNAP_ON_HANG=abort (pass
#                      them with --env) must end it; steps 1 and 3 skipped
#        observe-batch like hang, without a hang timer: 3 s after the job
#                      starts, scancel --signal=USR2 --batch JOB (the
#                      mpirun jobscript passes it on), and
#                      MPISNAP_OBSERVE=1, MPISNAP_ON_HANG=abort end it
#   4. the job must stop after a snapshot, requeue itself (Restarts >= 1),
#      restore it ("restored step"), end COMPLETED with exit code 0, and
#      print checksum B == A.  hang: the job must end FAILED, well before
#      its time limit, with the verdict lines (--expect) in its output and
#      the observation committed in MPISNAP_DIR/observe.
#
# Options:
#   --cluster DIR      the test cluster (cluster.sh's DIR); required
#   --work DIR         working directory, emptied first; required
#   --jobscript FILE   the batch script; required
#   --np N             tasks (default 2)
#   --trigger T        see above (default signal-steps)
#   --time MIN         the job's time limit in minutes (default 5)
#   --timeout S        give up after S seconds (default 180)
#   --env VAR=VALUE    in the job's environment (repeatable)
#   --sbatch-arg ARG   one more sbatch option (repeatable)
#   --halt-tool PATH   the `mpisnap` command-line tool, for the halt triggers
#   --expect RE        a line of the job's output must match (repeatable)
#   --mpiexec CMD      for the reference run (default mpiexec)
#   --mpiexec-flags F  its flags, one string (default $MPIEXEC_PREFLAGS)
#
# Exit: 0 pass, 1 fail, 2 usage, 77 skip (no cluster: Slurm could not be
# started here -- never when CI=true).
set -euo pipefail

NAME="slurm job test"
CLUSTER="" WORK="" JOBSCRIPT="" NP=2 TRIGGER=signal-steps TIME=5 TIMEOUT=180
HALT_TOOL="" MPIEXEC_CMD=mpiexec FLAGS="${MPIEXEC_PREFLAGS:-}"
ENVS=() SBATCH_ARGS=() EXPECT=() PROG=()
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { printf '%s: %s\n' "$NAME" "$*"; }
usage_error() {
    printf '%s: %s\n' "$NAME" "$*" >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --cluster) CLUSTER=$2 && shift 2 ;;
    --work) WORK=$2 && shift 2 ;;
    --jobscript) JOBSCRIPT=$2 && shift 2 ;;
    --np) NP=$2 && shift 2 ;;
    --trigger) TRIGGER=$2 && shift 2 ;;
    --time) TIME=$2 && shift 2 ;;
    --timeout) TIMEOUT=$2 && shift 2 ;;
    --env) ENVS+=("$2") && shift 2 ;;
    --sbatch-arg) SBATCH_ARGS+=("$2") && shift 2 ;;
    --halt-tool) HALT_TOOL=$2 && shift 2 ;;
    --expect) EXPECT+=("$2") && shift 2 ;;
    --mpiexec) MPIEXEC_CMD=$2 && shift 2 ;;
    --mpiexec-flags) FLAGS=$2 && shift 2 ;;
    --name) NAME=$2 && shift 2 ;;
    --) shift && PROG=("$@") && break ;;
    *) usage_error "unknown option $1" ;;
    esac
done
[[ -n "$CLUSTER" && -n "$WORK" && -n "$JOBSCRIPT" && ${#PROG[@]} -gt 0 ]] ||
    usage_error "usage: $0 --cluster DIR --work DIR --jobscript FILE [OPTION]... -- PROGRAM [ARG]..."
case "$TRIGGER" in
signal-batch | signal-steps | halt-now | halt | stop-before | hang | observe-batch) ;;
*) usage_error "unknown trigger $TRIGGER" ;;
esac

JOB=""
OUT="$WORK/job.out"
SNAPS="$WORK/snapshots"
export SLURM_CONF="$CLUSTER/slurm.conf"

# job_field NAME: one field of `scontrol show job -o`.
job_field() {
    timeout 10 scontrol show job -o "$JOB" 2>/dev/null |
        tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

is_final() {
    case "$1" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | \
        BOOT_FAIL | DEADLINE | PREEMPTED | REQUEUE_HOLD | SPECIAL_EXIT)
        return 0 ;;
    esac
    return 1
}

show_job() {
    if [[ -n "$JOB" ]]; then
        echo "---- scontrol show job $JOB ----"
        timeout 10 scontrol show job "$JOB" 2>&1 || true
    fi
    echo "---- the job's output: $OUT ----"
    cat "$OUT" 2>/dev/null || echo "(none)"
    echo "---- end of $OUT ----"
}

fail() {
    local i
    printf '%s: FAILED: %s\n' "$NAME" "$*" >&2
    show_job >&2
    if [[ -n "$JOB" ]]; then
        # Cancel it and wait until it is gone, not to disturb the next test.
        timeout 10 scancel "$JOB" 2>/dev/null || true
        for ((i = 0; i < 60; i++)); do
            is_final "$(job_field JobState)" && break
            sleep 0.5
        done
    fi
    exit 1
}

# ---- the cluster ------------------------------------------------------------
if ! "$here/cluster.sh" status "$CLUSTER" >/dev/null 2>&1; then
    reason=$(cat "$CLUSTER/skip-reason" 2>/dev/null || true)
    if [[ "${CI:-}" == true ]]; then
        printf '%s: FAILED: the Slurm test cluster in %s is not running%s; CI=true: the Slurm tests must run\n' \
            "$NAME" "$CLUSTER" "${reason:+ ($reason)}" >&2
        exit 1
    fi
    if [[ -n "$reason" ]]; then
        say "SKIP: Slurm could not be started here: $reason"
        exit 77
    fi
    printf '%s: FAILED: the Slurm test cluster in %s is not running (start it: %s/cluster.sh start %s)\n' \
        "$NAME" "$CLUSTER" "$here" "$CLUSTER" >&2
    exit 1
fi

rm -rf "$WORK"
mkdir -p "$WORK"
T0=$SECONDS

# ---- 1. reference -------------------------------------------------------------
checksum_of() {
    grep -E '^checksum [0-9a-fA-F]{16}$' "$1" | tail -n 1 | awk '{print $2}'
}
read -r -a flags <<<"$FLAGS"
if [[ "$TRIGGER" != hang && "$TRIGGER" != observe-batch ]]; then
say "reference: MPISNAP_RESTART=never $MPIEXEC_CMD -n $NP ${flags[*]} ${PROG[*]} --sleep-us 0"
rc=0
MPISNAP_DIR="$WORK/reference" MPISNAP_RESTART=never timeout -k 10 120 \
    "$MPIEXEC_CMD" -n "$NP" "${flags[@]}" "${PROG[@]}" --sleep-us 0 \
    >"$WORK/reference.log" 2>&1 || rc=$?
REF=$(checksum_of "$WORK/reference.log" || true)
if [[ $rc -ne 0 || -z "$REF" ]]; then
    cat "$WORK/reference.log" >&2
    OUT="$WORK/reference.log" fail "the reference run failed (exit $rc) or printed no checksum"
fi
say "reference checksum $REF ($((SECONDS - T0)) s)"
fi

# ---- 2. submit ----------------------------------------------------------------
# The job's environment: ours (sbatch passes it on), plus these.
export MPISNAP_DIR="$SNAPS"
# The node may declare more CPUs than the machine has (cluster.sh): let idle
# Open MPI ranks yield the CPU instead of spinning, or 4 ranks on 2 cores
# crawl.  Tests only; a real cluster does not oversubscribe.
export OMPI_MCA_mpi_yield_when_idle=1
for e in "${ENVS[@]}"; do
    export "${e?}"
done
# The jobscripts ask for a USR1 300 s before the end; a test job's limit is
# shorter, so Slurm would send it at once.  The tests send their signals
# themselves; SIGURG (ignored by default) to the batch shell keeps Slurm's
# quiet.
submit=(sbatch --parsable --job-name="mpisnap-test-$TRIGGER" --ntasks="$NP"
    --time="$TIME" --signal=B:URG@1 --chdir="$WORK" --output="$OUT"
    "${SBATCH_ARGS[@]}" "$JOBSCRIPT" "${PROG[@]}")
say "submitting: ${ENVS[*]:+${ENVS[*]} }MPISNAP_DIR=$SNAPS ${submit[*]}"
JOB=$(timeout 30 "${submit[@]}") || fail "sbatch failed"
JOB=${JOB%%;*}
say "job $JOB submitted"


deadline=$((SECONDS + TIMEOUT))

# ---- 3. the trigger -----------------------------------------------------------
if [[ "$TRIGGER" == observe-batch ]]; then
    while [[ "$(job_field JobState)" != RUNNING ]]; do
        ((SECONDS < deadline)) || fail "the job did not start within ${TIMEOUT}s"
        sleep 0.2
    done
    sleep 3 # the ranks are in MPI_Recv by now
    say "scancel --signal=USR2 --batch $JOB"
    timeout 10 scancel --signal=USR2 --batch "$JOB" || fail "scancel failed"
elif [[ "$TRIGGER" != stop-before && "$TRIGGER" != hang ]]; then
    while [[ ! -e "$SNAPS/latest" ]]; do
        st=$(job_field JobState)
        is_final "$st" && fail "the job ended ($st) before committing a first snapshot"
        ((SECONDS < deadline)) || fail "no first snapshot within ${TIMEOUT}s"
        sleep 0.1
    done
    first=$(cat "$SNAPS/latest")
    say "first snapshot ($first) committed after $((SECONDS - T0)) s: trigger $TRIGGER"
    case "$TRIGGER" in
    signal-batch) timeout 10 scancel --signal=USR1 --batch "$JOB" || fail "scancel failed" ;;
    signal-steps) timeout 10 scancel --signal=USR1 "$JOB" || fail "scancel failed" ;;
    halt-now | halt)
        if [[ -n "$HALT_TOOL" ]]; then
            a=("$SNAPS")
            [[ "$TRIGGER" == halt-now ]] && a+=(--now)
            say "$HALT_TOOL halt ${a[*]}"
            "$HALT_TOOL" halt "${a[@]}" || fail "mpisnap halt failed"
        else
            w=halt
            [[ "$TRIGGER" == halt-now ]] && w=now
            say "echo $w > $SNAPS/halt"
            echo "$w" >"$SNAPS/halt"
        fi
        ;;
    esac
fi

# ---- 4. wait for the end --------------------------------------------------------
# A run that printed "stopped at step" must end and be requeued within
# STOP_GRACE seconds; if not, its ranks hang (say so now, not at the
# timeout).
STOP_GRACE=40
last="" stop_seen=0 stop_since=0
while :; do
    st=$(job_field JobState)
    restarts=$(job_field Restarts)
    if [[ "$st/$restarts" != "$last" ]]; then
        say "$((SECONDS - T0)) s: job $JOB ${st:-?}, restarts ${restarts:-?}"
        last="$st/$restarts"
    fi
    is_final "$st" && break
    ((SECONDS < deadline)) || fail "the job did not end within ${TIMEOUT}s"
    stops=$(grep -c '^stopped at step' "$OUT" 2>/dev/null || true)
    if [[ "${stops:-0}" -gt "${restarts:-0}" && "$st" == RUNNING ]]; then
        if [[ $stop_seen -ne "${stops:-0}" ]]; then
            stop_seen=${stops:-0} stop_since=$SECONDS
        elif ((SECONDS - stop_since > STOP_GRACE)); then
            echo "---- scontrol listpids $JOB ----" >&2
            timeout 10 scontrol listpids "$JOB" >&2 2>&1 || true
            fail "the program printed 'stopped at step' ${STOP_GRACE}s ago, but the run has not ended: some ranks did not stop (did every rank's mpisnap_point() return MPISNAP_STOP at the same step?)"
        fi
    fi
    sleep 0.5
done
exitcode=$(job_field ExitCode)

if [[ "$TRIGGER" == hang || "$TRIGGER" == observe-batch ]]; then
    [[ "$st" == FAILED ]] || fail "the hung job ended $st (exit code $exitcode), not FAILED"
    for re in "${EXPECT[@]}"; do
        grep -Eq -- "$re" "$OUT" || fail "no line of the job's output matches '$re'"
    done
    [[ -f "$SNAPS/observe/snap-000000/index.h5" ]] ||
        fail "no observation committed in $SNAPS/observe"
    runtime=$(job_field RunTime)
    say "the hung job ended $st, exit code $exitcode, after $runtime of its ${TIME}-minute limit"
    rm -rf "$WORK"
    exit 0
fi

[[ "$st" == COMPLETED && "$exitcode" == 0:0 ]] ||
    fail "the job ended $st with exit code $exitcode"
[[ "${restarts:-0}" -ge 1 ]] ||
    fail "the job was never requeued (Restarts=$restarts): it did not stop after a snapshot"
grep -q '^stopped at step [0-9]* after snapshot$' "$OUT" ||
    fail "the program never stopped after a snapshot"
grep -q 'requeueing job' "$OUT" || fail "the jobscript never requeued the job"
grep -q '^restored step [0-9]*$' "$OUT" || fail "no run restored a snapshot"
for re in "${EXPECT[@]}"; do
    grep -Eq -- "$re" "$OUT" || fail "no line of the job's output matches '$re'"
done
if [[ "$TRIGGER" == halt* && -e "$SNAPS/halt" ]]; then
    fail "the halt file $SNAPS/halt was not consumed"
fi
SUM=$(checksum_of "$OUT" || true)
[[ -n "$SUM" ]] || fail "the job printed no checksum"
say "stops: $(grep -c '^stopped at step' "$OUT"), requeues: $restarts, snapshots: $(ls -d "$SNAPS"/snap-* 2>/dev/null | wc -l) kept, latest $(cat "$SNAPS/latest")"
say "uninterrupted: checksum $REF"
say "requeued:      checksum $SUM"
[[ "$SUM" == "$REF" ]] || fail "DIFFERENT checksums"
say "identical ($((SECONDS - T0)) s)"
rm -rf "$WORK"
