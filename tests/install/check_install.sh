#!/usr/bin/env bash
# check_install.sh build=DIR consumer=DIR mpiexec=PATH mpicc=PATH version=X.Y.Z
#                  [config=CONFIG] [preflags="FLAGS"] [cmake=PATH]
#                  [cflags="FLAGS"] [ldflags="FLAGS"]
#
# Installs the build tree to a temporary prefix, then, as a user of the
# installed package would:
#   1. builds the consumer project with find_package(mpisnap CONFIG) against
#      it (shared and static library) and runs both under `mpiexec -n 1`;
#   2. compiles the same main.c with `mpicc $(pkg-config --cflags --libs
#      mpisnap)` and runs it.
# Each program must print "mpisnap VERSION: invalid argument".
set -euo pipefail

build_dir="" config="" consumer="" mpiexec="" preflags="" mpicc=""
version="" cmake=cmake cflags="" ldflags=""
for arg in "$@"; do
    case $arg in
    build=*) build_dir=${arg#*=} ;;
    config=*) config=${arg#*=} ;;
    consumer=*) consumer=${arg#*=} ;;
    mpiexec=*) mpiexec=${arg#*=} ;;
    preflags=*) preflags=${arg#*=} ;;
    mpicc=*) mpicc=${arg#*=} ;;
    version=*) version=${arg#*=} ;;
    cmake=*) cmake=${arg#*=} ;;
    cflags=*) cflags=${arg#*=} ;;
    ldflags=*) ldflags=${arg#*=} ;;
    *)
        echo "check_install: unknown argument '$arg'" >&2
        exit 2
        ;;
    esac
done
for v in build_dir consumer mpiexec mpicc version; do
    if [[ -z "${!v}" ]]; then
        echo "check_install: missing argument for $v" >&2
        exit 2
    fi
done
read -r -a pre <<<"$preflags"
read -r -a extra_flags <<<"$cflags $ldflags"
expected="mpisnap $version: invalid argument"

work=$(mktemp -d "${TMPDIR:-/tmp}/mpisnap-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

say() {
    printf 'check_install: %s\n' "$*"
}

fail() {
    printf 'check_install: FAILED: %s\n' "$*" >&2
    exit 1
}

# Run a program on one rank and check what it prints.
check_run() {
    local out
    say "running: $mpiexec -n 1 ${pre[*]} $*"
    out=$("$mpiexec" -n 1 "${pre[@]}" "$@") || fail "$1 exited with $?"
    printf '%s\n' "$out" | sed 's/^/    | /'
    grep -qxF "$expected" <<<"$out" ||
        fail "$1 did not print '$expected'"
}

config_args=()
if [[ -n "$config" ]]; then
    config_args=(--config "$config")
fi

say "installing $build_dir to $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" "${config_args[@]}" >"$work/install.log" ||
    { cat "$work/install.log"; fail "cmake --install"; }

for f in include/mpisnap.h include/mpisnap/version.h; do
    [[ -f "$prefix/$f" ]] || fail "$f not installed"
done
cmake_dir=$(find "$prefix" -path '*/cmake/mpisnap/mpisnapConfig.cmake' -printf '%h\n')
[[ -n "$cmake_dir" ]] || fail "mpisnapConfig.cmake not installed"
[[ -f "$cmake_dir/mpisnapConfigVersion.cmake" ]] ||
    fail "mpisnapConfigVersion.cmake not installed"
pc_dir=$(find "$prefix" -path '*/pkgconfig/mpisnap.pc' -printf '%h\n')
[[ -n "$pc_dir" ]] || fail "mpisnap.pc not installed"
libdir=$(dirname "$pc_dir")

# 1. CMake package.
say "configuring the consumer with CMAKE_PREFIX_PATH=$prefix"
"$cmake" -S "$consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPI_C_COMPILER="$mpicc" \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
    >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "consumer configure"; }
grep -F "found mpisnap $version in $cmake_dir" "$work/configure.log" ||
    { cat "$work/configure.log"; fail "consumer did not find mpisnap $version in $cmake_dir"; }
"$cmake" --build "$work/consumer" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; fail "consumer build"; }
check_run "$work/consumer/consumer"
check_run "$work/consumer/consumer_static"

# 2. pkg-config.
if ! command -v pkg-config >/dev/null 2>&1; then
    fail "pkg-config not found (scripts/setup.sh installs it)"
fi
flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs mpisnap) ||
    fail "pkg-config --cflags --libs mpisnap"
say "pkg-config --cflags --libs mpisnap: $flags"
[[ "$(PKG_CONFIG_PATH="$pc_dir" pkg-config --modversion mpisnap)" == "$version" ]] ||
    fail "pkg-config --modversion is not $version"
read -r -a flag_array <<<"$flags"
say "compiling: $mpicc ${extra_flags[*]} $consumer/main.c $flags"
"$mpicc" "${extra_flags[@]}" -o "$work/consumer_pc" "$consumer/main.c" \
    "${flag_array[@]}" ||
    fail "mpicc with pkg-config flags"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    check_run "$work/consumer_pc"

say "OK: CMake package (shared, static) and pkg-config all work"
