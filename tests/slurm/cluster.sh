#!/usr/bin/env bash
# cluster.sh: a one-node Slurm cluster on this machine, for the mpisnap tests
# and for trying the jobscripts by hand.  Everything it creates lives in one
# directory: no file under /etc is read or written, the daemons talk through
# their own munge socket and their own TCP ports, so a real Slurm on the same
# machine is left alone.
#
#   tests/slurm/cluster.sh start  [DIR]   start munged, slurmctld and slurmd;
#                                         wait until the node is idle and a
#                                         one-task job has run
#   tests/slurm/cluster.sh stop   [DIR]   cancel every job, stop the daemons
#                                         (by the PIDs in DIR, never by name)
#   tests/slurm/cluster.sh status [DIR]   exit 0 when the cluster is up
#   tests/slurm/cluster.sh env    [DIR]   print `export SLURM_CONF=...`
#
# DIR defaults to /tmp/mpisnap-slurm-<uid>.  Then use the cluster with
#   export SLURM_CONF=DIR/slurm.conf       (sbatch, srun, squeue, scontrol...)
#
# DIR holds slurm.conf, the daemons' PID files, logs (DIR/log/) and state.
# Unix socket paths are limited to 107 bytes: when DIR is a long path, the
# files go to /tmp/mpisnap-slurm-<uid>-<hash of DIR> and DIR becomes a
# symbolic link to it.
#
# Requirements: root (slurmd starts the jobs; they run as root), the Debian
# packages slurm-wlm and munge (`apt-get install slurm-wlm munge`; or
# scripts/setup.sh), no systemd needed.
#
# The node: `hostname -s`, address 127.0.0.1, CPUs = what `slurmd -C` finds
# but at least 4 (SlurmdParameters=config_overrides), so that 4-rank jobs fit
# on a 2-core machine.  AuthInfo=cred_expire=5 and a 2-second scheduler pass
# bring a requeued job back to running in about 6 s (with the defaults it
# takes over 2 minutes).  MpiDefault=pmix: Debian's Open MPI supports PMIx
# only (`srun --mpi=pmi2` fails).
#
# Exit status of start: 0 up; 77 Slurm cannot be started here (not root,
# packages missing, a daemon failed) -- the reason is printed and kept in
# DIR/skip-reason, CTest reports the tests as skipped; when CI=true every
# such case exits 1 instead: CI must run the Slurm tests.  Other commands:
# 0 success, 1 failure, 2 bad usage.
set -euo pipefail

SELF="cluster.sh"
CMD="${1:-}"
DIR="${2:-/tmp/mpisnap-slurm-$(id -u)}"
MIN_CPUS=4
START_TIMEOUT=60

say() { printf '%s: %s\n' "$SELF" "$*"; }
fail() {
    printf '%s: FAILED: %s\n' "$SELF" "$*" >&2
    exit 1
}
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

case "$CMD" in
start | stop | status | env) ;;
-h | --help | help) usage ;;
*) usage ;;
esac

# Make DIR absolute (it need not exist yet).
case "$DIR" in
/*) ;;
*) DIR="$PWD/$DIR" ;;
esac
DIR="${DIR%/}"
CONF="$DIR/slurm.conf"

# ---- stop ------------------------------------------------------------------

# pid_of NAME: the PID recorded in DIR/NAME.pid, when that process lives.
pid_of() {
    local f="$DIR/$1.pid" pid
    [[ -r "$f" ]] || return 1
    pid=$(tr -dc '0-9' <"$f")
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# stop_daemon NAME: TERM, up to 10 s, then KILL.
stop_daemon() {
    local name=$1 pid i
    pid=$(pid_of "$name") || {
        rm -f "$DIR/$name.pid"
        return 0
    }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/$name.pid"
    say "stopped $name (pid $pid)"
}

do_stop() {
    local i jobs
    [[ -e "$DIR" ]] || {
        say "nothing to stop: $DIR does not exist"
        return 0
    }
    # Cancel what still runs, so that no slurmstepd or job outlives the
    # cluster (they are not ours to kill by name).
    if pid_of slurmctld >/dev/null && [[ -r "$CONF" ]]; then
        jobs=$(SLURM_CONF="$CONF" timeout 10 squeue -h -o %i 2>/dev/null || true)
        if [[ -n "$jobs" ]]; then
            say "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
            # shellcheck disable=SC2086
            SLURM_CONF="$CONF" timeout 10 scancel $jobs 2>/dev/null || true
            for ((i = 0; i < 150; i++)); do
                jobs=$(SLURM_CONF="$CONF" timeout 10 squeue -h -t R,CG,PD -o %i 2>/dev/null || true)
                [[ -z "$jobs" ]] && break
                sleep 0.1
            done
            [[ -z "$jobs" ]] || say "warning: jobs still there after 15 s: $jobs"
        fi
    fi
    stop_daemon slurmd
    stop_daemon slurmctld
    stop_daemon munged
}

# ---- status / env ----------------------------------------------------------

is_up() {
    pid_of munged >/dev/null && pid_of slurmctld >/dev/null &&
        pid_of slurmd >/dev/null && [[ -r "$CONF" ]] &&
        SLURM_CONF="$CONF" timeout 10 scontrol ping 2>/dev/null | grep -q UP
}

# ---- start -----------------------------------------------------------------

# cannot REASON...: Slurm cannot be started here.  Skip (77), or fail on CI.
cannot() {
    local reason="$*"
    mkdir -p "$DIR" 2>/dev/null && printf '%s\n' "$reason" >"$DIR/skip-reason" 2>/dev/null || true
    if [[ "${CI:-}" == true ]]; then
        printf '%s: FAILED: cannot start Slurm: %s\n' "$SELF" "$reason" >&2
        printf '%s: CI=true: the Slurm tests must run on CI, so this is a failure, not a skip\n' "$SELF" >&2
        exit 1
    fi
    printf '%s: SKIP: cannot start Slurm: %s\n' "$SELF" "$reason" >&2
    exit 77
}

show_logs() {
    local f
    for f in "$DIR"/log/*.log; do
        [[ -f "$f" ]] || continue
        printf -- '---- %s (last 30 lines) ----\n' "$f" >&2
        tail -n 30 "$f" >&2
    done
}

# A daemon failed: show the logs, stop what runs, skip or fail.
start_failed() {
    show_logs
    do_stop >&2 || true
    cannot "$*"
}

# port_free P: nothing listens on TCP port P of 127.0.0.1.
port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Two consecutive free ports, starting at a place that depends on DIR, so
# that two clusters (two build trees) do not collide.
pick_ports() {
    local base p
    base=$((20000 + $(printf '%s' "$DIR" | cksum | cut -d' ' -f1) % 20000))
    for ((p = base; p < base + 400; p += 2)); do
        if port_free "$p" && port_free $((p + 1)); then
            echo "$p"
            return 0
        fi
    done
    return 1
}

do_start() {
    local host cpus real port root mdir i uid state
    uid=$(id -u)
    rm -f "$DIR/skip-reason" 2>/dev/null || true

    [[ "$uid" -eq 0 ]] ||
        cannot "needs root: slurmd starts the jobs and SlurmUser=root (run as root, or with sudo)"
    local t missing=""
    for t in munged slurmctld slurmd sbatch srun squeue scontrol scancel sinfo; do
        command -v "$t" >/dev/null 2>&1 || missing+=" $t"
    done
    [[ -z "$missing" ]] ||
        cannot "not installed:$missing (Debian: apt-get install slurm-wlm munge, or run scripts/setup.sh)"
    id munge >/dev/null 2>&1 ||
        cannot "no user 'munge' (the munge package creates it: apt-get install munge)"
    command -v runuser >/dev/null 2>&1 ||
        cannot "runuser (util-linux) is needed to start munged as user munge"

    # A cluster of a previous run in the same DIR: stop it first.
    if [[ -d "$DIR" ]]; then
        do_stop >/dev/null 2>&1 || true
    fi

    # Where the files go: DIR, or a short directory when DIR is long (unix
    # socket paths: munge's, and slurmd's per-step sockets).
    root="$DIR"
    if ((${#DIR} > 60)); then
        root="/tmp/mpisnap-slurm-$uid-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"
        if [[ -L "$DIR" || ! -e "$DIR" ]]; then
            rm -f "$DIR"
            mkdir -p "$(dirname "$DIR")"
            ln -s "$root" "$DIR"
        else
            fail "$DIR is a long path (unix sockets would not fit) and exists as a directory: remove it"
        fi
    fi
    # Fresh state every start: no job of an earlier cluster comes back.
    rm -rf "$root/ctld" "$root/slurmd" "$root/munge" "$root/log"
    mkdir -p "$root/ctld" "$root/slurmd" "$root/log" "$root/munge"
    chmod 0755 "$root"
    mdir="$root/munge"

    host=$(hostname -s)
    real=$(slurmd -C 2>/dev/null | sed -n 's/^NodeName=.* CPUs=\([0-9]*\).*/\1/p')
    real=${real:-1}
    cpus=$((real > MIN_CPUS ? real : MIN_CPUS))
    port=$(pick_ports) || cannot "no two free TCP ports found for slurmctld and slurmd"

    # munged, as user munge, with a key of its own.  munged insists: the
    # socket's directory is searchable by all, the key readable only by it.
    mkdir -p "$mdir/private"
    chown munge:munge "$mdir" "$mdir/private"
    chmod 0755 "$mdir"
    chmod 0700 "$mdir/private"
    head -c 1024 /dev/urandom >"$mdir/private/munge.key"
    chown munge:munge "$mdir/private/munge.key"
    chmod 0400 "$mdir/private/munge.key"
    say "starting munged (socket $mdir/munge.socket)"
    if ! runuser -u munge -- munged --socket="$mdir/munge.socket" \
        --key-file="$mdir/private/munge.key" --pid-file="$mdir/munged.pid" \
        --log-file="$mdir/private/munged.log" \
        --seed-file="$mdir/private/munged.seed" \
        </dev/null >"$root/log/munged-start.log" 2>&1; then
        cat "$root/log/munged-start.log" "$mdir/private/munged.log" >&2 2>/dev/null || true
        do_stop >&2 || true
        cannot "munged did not start (see above)"
    fi
    for ((i = 0; i < 50; i++)); do
        [[ -s "$mdir/munged.pid" ]] && break
        sleep 0.1
    done
    ln -sf "$mdir/munged.pid" "$root/munged.pid"
    pid_of munged >/dev/null || {
        cat "$mdir/private/munged.log" >&2 2>/dev/null || true
        cannot "munged did not write its PID file within 5 s"
    }

    # An empty plugin stack, so that /etc/slurm/plugstack.conf is not read.
    : >"$root/plugstack.conf"
    cat >"$root/slurm.conf" <<EOF
# Written by mpisnap's tests/slurm/cluster.sh: a one-node test cluster.
ClusterName=mpisnaptest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Our own munged; credentials expire after 5 s, so a requeued job may start
# again after 5 s instead of 120.
AuthInfo=socket=$mdir/munge.socket,cred_expire=5
StateSaveLocation=$root/ctld
SlurmdSpoolDir=$root/slurmd
SlurmctldPidFile=$root/slurmctld.pid
SlurmdPidFile=$root/slurmd.pid
SlurmctldLogFile=$root/log/slurmctld.log
SlurmdLogFile=$root/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$root/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=pmix
MailProg=/bin/true
ReturnToService=2
KillWait=5
MinJobAge=600
# The node declares more CPUs than the machine may have (slurmd -C: $real).
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF="$root/slurm.conf"

    say "starting slurmctld (port $port)"
    slurmctld -i -f "$SLURM_CONF" </dev/null >"$root/log/slurmctld-start.log" 2>&1 ||
        start_failed "slurmctld did not start (exit $?; logs above)"
    for ((i = 0; i < 100; i++)); do
        pid_of slurmctld >/dev/null && timeout 5 scontrol ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    pid_of slurmctld >/dev/null || start_failed "slurmctld is not running (logs above)"

    say "starting slurmd (node $host, $cpus CPUs, port $((port + 1)))"
    slurmd -f "$SLURM_CONF" -N "$host" </dev/null >"$root/log/slurmd-start.log" 2>&1 ||
        start_failed "slurmd did not start (logs above)"

    # The node must become idle.
    state=""
    for ((i = 0; i < START_TIMEOUT * 5; i++)); do
        state=$(timeout 5 sinfo -h -n "$host" -o %t 2>/dev/null | head -n1 || true)
        [[ "$state" == idle ]] && break
        pid_of slurmd >/dev/null || start_failed "slurmd exited (logs above)"
        sleep 0.2
    done
    [[ "$state" == idle ]] ||
        start_failed "node $host is '$state', not idle, after ${START_TIMEOUT}s (logs above)"

    # A job must run.
    local out
    if ! out=$(timeout 60 srun -N1 -n1 -t 1 --job-name=cluster-check hostname 2>&1); then
        printf '%s\n' "$out" >&2
        start_failed "a one-task test job (srun hostname) failed (logs above)"
    fi
    say "cluster up: node $host idle, test job ran on '$out'"
    say "use it with: export SLURM_CONF=$DIR/slurm.conf"
    say "stop it with: $0 stop $DIR"
}

case "$CMD" in
start) do_start ;;
stop) do_stop ;;
status)
    if is_up; then
        say "up ($CONF)"
    else
        say "not running ($DIR)"
        exit 1
    fi
    ;;
env) echo "export SLURM_CONF=$CONF" ;;
esac
