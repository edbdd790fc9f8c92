#!/usr/bin/env bash
# Sets up a Debian 12 machine for gatec and builds it.
#   scripts/setup.sh            install what is missing (as root), configure, build
# Environment: BUILD_DIR (default: build), GATEC_BUILD_TARGETS (default: all),
#   GATEC_EXTRA_PACKAGES (more Debian packages, e.g. what only the tests need).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}

# Debian packages gatec builds against (see docs/building.md for why each).
packages=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools clang-22 lld-22
          libfmt-dev ccache libomp-22-dev libgtest-dev ninja-build cmake
          ${GATEC_EXTRA_PACKAGES:-})

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages; as root run:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

llvm=/usr/lib/llvm-22
# Relative paths in ccache keys: a fresh clone elsewhere reuses the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
if [ ! -f "$build_dir/build.ninja" ]; then
  CC=$llvm/bin/clang CXX=$llvm/bin/clang++ cmake -S "$root" -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=$llvm/lib/cmake/mlir \
    -DLLVM_USE_LINKER=lld \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
fi
# Two cores: more jobs only thrash the heavy MLIR translation units.
cmake --build "$build_dir" -j "${GATEC_JOBS:-2}" ${GATEC_BUILD_TARGETS:+--target $GATEC_BUILD_TARGETS}
