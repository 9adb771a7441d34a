#!/usr/bin/env bash
# mpisnap build environment: check the tools, install them when we can, and
# share one configure+build step between scripts/test.sh and scripts/demo.sh.
#
#   scripts/setup.sh            check the tools, install what is missing
#   source scripts/setup.sh     define the functions below, change nothing
#
# Functions:
#   mpisnap_setup       make sure mpicc, mpiexec, CMake >= 3.25, a parallel
#                       HDF5 and h5dump are there.  On Debian/Ubuntu (as root,
#                       or through sudo) missing packages are installed with
#                       apt-get; elsewhere it says what to install or
#                       `module load` and fails.
#   mpisnap_preflags    print the mpiexec flags the tests and the demo use.
#   mpisnap_build       configure and build ./build (RelWithDebInfo, -Werror).
#
# Running as root with Open MPI: we pass `--allow-run-as-root` on the mpiexec
# command line (through CMake's MPIEXEC_PREFLAGS for the tests) instead of
# exporting OMPI_ALLOW_RUN_AS_ROOT*, so nothing leaks into the caller's
# environment and every command we print can be copied and re-run as is.
#
# Variables read:
#   MPIEXEC_PREFLAGS   use these mpiexec flags instead of the detected ones
#   MPISNAP_BUILD_DIR  build directory (default: build)

# openssh-client: Open MPI's launcher looks for ssh even for local ranks.
MPISNAP_APT_PACKAGES=(openmpi-bin libopenmpi-dev libhdf5-openmpi-dev
    hdf5-tools cmake make gcc pkg-config python3 python3-h5py
    openssh-client slurm-wlm munge)
MPISNAP_CMAKE_MIN=3.25

mpisnap__say() {
    printf 'mpisnap setup: %s\n' "$*" >&2
}

# True when CMake on PATH is at least MPISNAP_CMAKE_MIN.
mpisnap__cmake_ok() {
    local v
    command -v cmake >/dev/null 2>&1 || return 1
    v=$(cmake --version 2>/dev/null | sed -n '1s/^cmake version \([0-9.]*\).*/\1/p')
    [[ -n "$v" ]] || return 1
    [[ "$(printf '%s\n%s\n' "$MPISNAP_CMAKE_MIN" "$v" | sort -V | head -n1)" \
        == "$MPISNAP_CMAKE_MIN" ]]
}

# True when a parallel HDF5 is installed: h5pcc, or the headers of a parallel
# build in one of the usual places.
mpisnap__hdf5_parallel_ok() {
    local h
    command -v h5pcc >/dev/null 2>&1 && return 0
    for h in /usr/include/hdf5/openmpi /usr/include/hdf5/mpich \
        ${HDF5_DIR:+"$HDF5_DIR/include"} ${HDF5_ROOT:+"$HDF5_ROOT/include"}; do
        if [[ -f "$h/H5pubconf.h" ]] &&
            grep -q '^#define H5_HAVE_PARALLEL 1' "$h/H5pubconf.h"; then
            return 0
        fi
    done
    return 1
}

# Print the names of the missing required tools, one a line.
mpisnap__missing() {
    local t
    for t in mpicc mpiexec h5dump; do
        command -v "$t" >/dev/null 2>&1 || echo "$t"
    done
    mpisnap__cmake_ok || echo "cmake>=$MPISNAP_CMAKE_MIN"
    command -v make >/dev/null 2>&1 || command -v ninja >/dev/null 2>&1 ||
        echo "make"
    mpisnap__hdf5_parallel_ok || echo "parallel-hdf5"
}

# Print the names of missing tools that some tests use, one a line.
mpisnap__missing_optional() {
    command -v pkg-config >/dev/null 2>&1 || echo "pkg-config"
    # Debian's h5py is for /usr/bin/python3, which a pyenv or venv python3
    # on PATH may hide; either one will do.
    python3 -c 'import h5py' >/dev/null 2>&1 ||
        /usr/bin/python3 -c 'import h5py' >/dev/null 2>&1 ||
        echo "python3-h5py"
    # The Slurm tests (tests/slurm) start a one-node cluster of their own;
    # the daemons are in /usr/sbin, which a user's PATH may lack.
    PATH="$PATH:/usr/sbin:/sbin" command -v slurmctld >/dev/null 2>&1 ||
        echo "slurm-wlm"
    PATH="$PATH:/usr/sbin:/sbin" command -v munged >/dev/null 2>&1 ||
        echo "munge"
}

mpisnap__is_debian() {
    local id="" id_like=""
    command -v apt-get >/dev/null 2>&1 || return 1
    [[ -r /etc/os-release ]] || return 1
    # shellcheck disable=SC1091
    id=$(. /etc/os-release && echo "${ID:-}")
    # shellcheck disable=SC1091
    id_like=$(. /etc/os-release && echo "${ID_LIKE:-}")
    [[ "$id" == debian || "$id" == ubuntu || " $id_like " == *" debian "* ]]
}

# Print the command prefix that gives root ("" when we are root); fail when
# there is none.
mpisnap__root_prefix() {
    if [[ "$(id -u)" -eq 0 ]]; then
        echo ""
    elif command -v sudo >/dev/null 2>&1; then
        echo "sudo"
    else
        return 1
    fi
}

mpisnap__help_install() {
    cat >&2 <<'EOF'
mpisnap setup: please install, or `module load` on a cluster:
  - an MPI with its compiler wrapper and launcher (mpicc, mpiexec);
    Open MPI is what we test with, e.g. `module load openmpi`
  - HDF5 built with parallel (MPI) support, plus its tools (h5pcc, h5dump),
    e.g. `module load hdf5/parallel` or `module load phdf5`
  - CMake 3.25 or newer (e.g. `module load cmake`, or `pip install cmake`)
  - make (or ninja), a C11 compiler, pkg-config
  Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev \
      libhdf5-openmpi-dev hdf5-tools cmake make gcc pkg-config python3 python3-h5py \
      slurm-wlm munge
  (slurm-wlm and munge are for the Slurm tests only; without them, or
  without root, those tests are skipped)
Then run this script again.
EOF
}

mpisnap_setup() {
    local missing optional sudo_cmd
    missing=$(mpisnap__missing)
    optional=$(mpisnap__missing_optional)
    if [[ -z "$missing" && -z "$optional" ]]; then
        mpisnap__say "all tools present ($(command -v mpicc), $(command -v mpiexec), cmake $(cmake --version | sed -n '1s/^cmake version //p'))"
        return 0
    fi
    if [[ -n "$missing" ]]; then
        mpisnap__say "missing: $(echo "$missing" | tr '\n' ' ')"
    fi
    if [[ -n "$optional" ]]; then
        mpisnap__say "missing (used by some tests): $(echo "$optional" | tr '\n' ' ')"
    fi

    if ! mpisnap__is_debian || ! sudo_cmd=$(mpisnap__root_prefix); then
        if [[ -z "$missing" ]]; then
            mpisnap__say "continuing without them; the tests that need them will fail"
            return 0
        fi
        mpisnap__say "cannot install packages here (not Debian/Ubuntu, or not root and no sudo)"
        mpisnap__help_install
        return 1
    fi

    mpisnap__say "installing ${MPISNAP_APT_PACKAGES[*]}"
    # shellcheck disable=SC2086 # $sudo_cmd is empty or one word
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${MPISNAP_APT_PACKAGES[@]}"
    hash -r

    missing=$(mpisnap__missing)
    if [[ -n "$missing" ]]; then
        mpisnap__say "still missing after apt-get: $(echo "$missing" | tr '\n' ' ')"
        if ! mpisnap__cmake_ok && command -v cmake >/dev/null 2>&1; then
            mpisnap__say "this distribution's CMake is too old ($(cmake --version | sed -n '1s/^cmake version //p')); mpisnap needs $MPISNAP_CMAKE_MIN"
        fi
        mpisnap__help_install
        return 1
    fi
    mpisnap__say "done"
}

# The mpiexec flags for the tests and the demo.  Open MPI: --oversubscribe
# (the tests start more ranks than a laptop or a CI machine has cores), and
# --allow-run-as-root when we are root.  Other MPIs: none.  MPIEXEC_PREFLAGS
# in the environment overrides this.
mpisnap_preflags() {
    if [[ -n "${MPIEXEC_PREFLAGS+set}" ]]; then
        echo "$MPIEXEC_PREFLAGS"
        return 0
    fi
    local flags=""
    if mpiexec --version 2>&1 | grep -Eqi 'open ?mpi|openrte'; then
        if [[ "$(id -u)" -eq 0 ]]; then
            flags="--allow-run-as-root "
        fi
        flags+="--oversubscribe"
    fi
    echo "$flags"
}

# Configure and build the project in ${MPISNAP_BUILD_DIR:-build}, from the
# repository root.
mpisnap_build() {
    local build_dir="${MPISNAP_BUILD_DIR:-build}" preflags
    preflags=$(mpisnap_preflags)
    local configure=(cmake -S . -B "$build_dir"
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPISNAP_WERROR=ON
        "-DMPIEXEC_PREFLAGS=$preflags")
    mpisnap__say "configuring: ${configure[*]}"
    "${configure[@]}"
    mpisnap__say "building: cmake --build $build_dir -j2"
    cmake --build "$build_dir" -j2
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    mpisnap_setup
fi
