#!/usr/bin/env bash
# Anchors cuda-sim to a real GPU: runs one tiny PTX kernel per instruction
# form the emulator implements from the PTX ISA's tables (mma and wgmma
# fragments and descriptors, ldmatrix, shfl, cvt rounding) and compares
# every output word with the fixtures the emulator produced
# (test/Target/CUDA/Inputs/anchor/expected.txt). Needs only a C++ compiler
# and CUDA's cuda.h/libcuda, not gatec:
#
#   bash scripts/gpu-anchor.sh            # on the GPU machine: check
#   bash scripts/gpu-anchor.sh update     # rewrite expected.txt (emulator)
#
# GPU_ANCHOR_DRIVER_DIR=DIR links and runs against DIR's libcuda.so instead
# of the installed driver, e.g. build/lib/cuda-sim for the emulator (as the
# lit test does, and as `update` should). CUDA_PATH (default
# /usr/local/cuda) and CXX (default c++) pick the toolkit and compiler. The
# sm_90a wgmma kernels run only on compute capability 9.0 and are reported as
# skipped elsewhere. When $OUT is set, the run's output (anchor.txt) is
# copied there. With the device tool, in one call:
#   run(command="bash scripts/gpu-anchor.sh")
# Ends with "gpu-anchor: N kernels agree" (exit 0), or prints each
# mismatching line and fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-check}
inputs=$root/test/Target/CUDA/Inputs/anchor
expected=$inputs/expected.txt
cuda=${CUDA_PATH:-/usr/local/cuda}
cxx=${CXX:-c++}
driver_dir=${GPU_ANCHOR_DRIVER_DIR:-}

case $mode in
  check | update) ;;
  *)
    echo "usage: bash scripts/gpu-anchor.sh [check|update]" >&2
    exit 2
    ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Link against the chosen libcuda; without one, the toolkit's stub (the
# loader then finds the installed driver's libcuda.so.1 at run time).
if [ -n "$driver_dir" ]; then
  driver_dir=$(cd "$driver_dir" && pwd)
  link=(-L"$driver_dir" -Wl,-rpath,"$driver_dir")
else
  link=(-L"$cuda/lib64" -L"$cuda/lib64/stubs")
fi
"$cxx" -std=c++17 -O2 "$inputs/anchor.cpp" -I"$cuda/include" "${link[@]}" -lcuda \
  -o "$work/anchor"
status=0
if [ -n "$driver_dir" ]; then
  LD_LIBRARY_PATH=$driver_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
    "$work/anchor" "$inputs" > "$work/anchor.txt" || status=$?
else
  "$work/anchor" "$inputs" > "$work/anchor.txt" || status=$?
fi
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  cp "$work/anchor.txt" "$OUT/anchor.txt"
fi
if [ "$status" -ne 0 ]; then
  echo "gpu-anchor: the anchor program failed (exit $status; its error is above)" >&2
  exit 1
fi

if [ "$mode" = update ]; then
  if grep -q '^skipped ' "$work/anchor.txt"; then
    echo "gpu-anchor: not updating: this device skipped kernels:" >&2
    grep '^skipped ' "$work/anchor.txt" >&2
    exit 1
  fi
  cp "$work/anchor.txt" "$expected"
  echo "gpu-anchor: wrote $(awk '{print $1}' "$expected" | sort -u | wc -l) kernels' outputs to $expected"
  exit 0
fi

# Compare word by word: skipped kernels' expected lines are left out; a word
# that differs, is missing or is extra fails its kernel.
awk '
  FNR == NR { want[$1 " " $2] = $3; kernels[$1] = 1; next }
  $1 == "skipped" { skipped[$2] = 1; print "gpu-anchor: skipped " $2 " (sm_90a needs compute capability 9.0)"; next }
  {
    key = $1 " " $2
    seen[key] = 1
    ran[$1] = 1
    if (!(key in want)) { print "extra:    " $0; bad[$1] = 1 }
    else if (want[key] != $3) { print "mismatch: " key " expected " want[key] " got " $3; bad[$1] = 1 }
  }
  END {
    for (key in want) {
      split(key, part, " ")
      if (part[1] in skipped || key in seen) continue
      print "missing:  " key " " want[key]
      bad[part[1]] = 1
    }
    agree = 0; failed = 0
    for (k in kernels) {
      if (k in skipped) continue
      if (k in bad || !(k in ran)) failed++
      else agree++
    }
    if (failed) {
      printf "gpu-anchor: %d kernels disagree, %d agree\n", failed, agree
      exit 1
    }
    printf "gpu-anchor: %d kernels agree\n", agree
  }
' "$expected" "$work/anchor.txt"
