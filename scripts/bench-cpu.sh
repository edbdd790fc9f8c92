#!/usr/bin/env bash
# Benchmarks gatec's CPU kernels against PyTorch (CPU, eager) and the scalar
# reference in one run; see docs/performance.md. Not part of the tests.
#   scripts/bench-cpu.sh [--quick] [--runs N] [--only REGEX]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
BUILD_DIR=$build_dir bash "$root/scripts/setup.sh"

# OpenBLAS behind libblas.so.3 gives PyTorch (a generic-BLAS build) its
# fast f32 GEMM.
if ! /usr/bin/python3 -c "import torch" 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libgoogle-perftools4 libopenblas0-pthread >/dev/null
  else
    echo "bench-cpu: needs PyTorch; as root run: apt-get install -y python3-torch libgoogle-perftools4 libopenblas0-pthread" >&2
    exit 1
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
llvm=/usr/lib/llvm-22
"$build_dir/bin/gatec" "$root/scripts/bench/cpu_kernels.gate" --emit=obj --target=cpu:native -o "$work"
"$llvm/bin/ld.lld" -shared -o "$work/kernels.so" "$work/cpu_kernels.o" "$llvm/lib/libomp.so"
"$llvm/bin/clang" -O3 -march=native -fopenmp -shared -fPIC -o "$work/roofline.so" "$root/scripts/bench/roofline.c"
"$llvm/bin/clang++" -O2 -shared -fPIC -std=c++17 -I"$root/include" -o "$work/reference.so" \
  "$root/scripts/bench/reference_shim.cpp" "$root/lib/Reference/Reference.cpp"

# PyTorch at its best on this machine: its widest kernels, tcmalloc, the
# same two threads the gatec kernels get.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
# ATEN_CPU_CAPABILITY names a level the CPU must have: avx512 on an AVX2-only
# host makes PyTorch die on an illegal instruction.
if grep -qw avx512f /proc/cpuinfo; then default_capability=avx512; else default_capability=avx2; fi
export ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-$default_capability}
tcmalloc=$(ls /usr/lib/x86_64-linux-gnu/libtcmalloc.so* 2>/dev/null | head -n 1 || true)
LD_PRELOAD=${tcmalloc} /usr/bin/python3 "$root/scripts/bench/bench_cpu.py" \
  --kernels "$work/kernels.so" --roofline "$work/roofline.so" --reference "$work/reference.so" "$@"
