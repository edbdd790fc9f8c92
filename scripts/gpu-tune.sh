#!/usr/bin/env bash
# Chooses the CUDA matmul tile per weight shape on a GPU and prints the rows
# of tuning/cuda-matmul.tsv (docs/performance.md#tuning).
#
#   bash scripts/gpu-tune.sh prepare [DIR]   # here: builds gatec, writes one
#                                            # case per (shape, candidate tile)
#   bash scripts/gpu-tune.sh run [DIR]       # on the GPU machine (no gatec):
#                                            # builds and times every case
#
# With the device tool, one call after prepare:
#   run(command="bash scripts/gpu-tune.sh run", carry=["tune-cases"])
# then paste $OUT/cuda-matmul.tsv's rows into tuning/cuda-matmul.tsv.
# GPU_CHIP (default sm_90) is the chip the rows are for; with sm_90a the
# wgmma kernels are tuned as well. TUNE_PLAIN_SHAPES / TUNE_PAIRED_SHAPES
# ("KxN ...") replace the shapes below.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
dir=${2:-$root/tune-cases}
chip=${GPU_CHIP:-sm_90}
tokens=4096

# The weight shapes of the examples' projections, K x N: plain GEMMs, and
# the gate/up pairs of gated FFNs (one kernel for both).
plain_shapes=${TUNE_PLAIN_SHAPES:-"4096x4096 14336x4096 2048x4096 4096x2048 2048x1024 7168x256"}
paired_shapes=${TUNE_PAIRED_SHAPES:-"4096x14336 3072x24576"}

# Bytes of shared memory of a candidate, as GPUTensorCoreMatmul lays it out
# (mma.sync rows padded by 8 elements; wgmma unpadded).
shared_bytes() {
  local engine=$1 m=$2 n=$3 k=$4 s=$5 b=$6
  if [ "$engine" = wgmma ]; then
    echo $((s * (m * k + b * k * n) * 2))
  else
    echo $((s * (m * (k + 8) + b * k * (n + 8)) * 2))
  fi
}

prepare() {
  local build_dir=${BUILD_DIR:-$root/build}
  BUILD_DIR=$build_dir bash "$root/scripts/setup.sh"
  local gatec=$build_dir/bin/gatec check=$build_dir/bin/gatec-check
  rm -rf "$dir"
  mkdir -p "$dir"
  # One source per kernel, so that each case compiles only its own kernel.
  local kernels=()
  for shape in $plain_shapes; do
    local K=${shape%x*} N=${shape#*x}
    kernels+=("mma_${N}_${K}")
    printf 'kernel mma_%s_%s(x: bf16[T, %s], w: bf16[%s, %s]) -> bf16[T, %s] {\n  return x @ w\n}\n' \
      "$N" "$K" "$K" "$K" "$N" "$N" > "$dir/mma_${N}_${K}.gate"
  done
  for shape in $paired_shapes; do
    local K=${shape%x*} N=${shape#*x}
    kernels+=("paired_${N}_${K}")
    printf 'kernel paired_%s_%s(x: bf16[T, %s], w_gate: bf16[%s, %s], w_up: bf16[%s, %s]) -> bf16[T, %s] {\n  return gate(x @ w_up, x @ w_gate, act = silu)\n}\n' \
      "$N" "$K" "$K" "$K" "$N" "$K" "$N" "$N" > "$dir/paired_${N}_${K}.gate"
  done
  local engines=mma
  [ "$chip" = sm_90a ] && engines="mma wgmma"
  local count=0
  for kernel in "${kernels[@]}"; do
    "$gatec" "$dir/$kernel.gate" --emit=mlir -o "$dir"
    local b=1
    case $kernel in paired_*) b=2 ;; esac
    for engine in $engines; do
      local flags=() ms="64 128 256"
      if [ "$engine" = wgmma ]; then
        flags=(--cuda-wgmma)
        ms=128
      fi
      for m in $ms; do for n in 64 128 256; do for k in 32 64; do for s in 2 3 4; do
        # A paired tile spans both projections: n / 2 columns of each, a
        # whole number of the 256 threads' copies.
        if [ "$b" = 2 ]; then
          [ $((n / 2)) -ge 32 ] && [ $((k * n / 2 % 2048)) = 0 ] || continue
          [ "$(shared_bytes "$engine" "$m" $((n / 2)) "$k" "$s" 2)" -le 49152 ] || continue
        else
          [ "$(shared_bytes "$engine" "$m" "$n" "$k" "$s" 1)" -le 49152 ] || continue
        fi
        local name=$engine-$kernel-${m}x${n}x${k}x${s}
        # A tile the pass rejects (warp grid, copies) is not a candidate.
        if "$check" "$dir/$kernel.mlir" --cuda="$chip" "${flags[@]}" --skip-reference \
          --dim T=$tokens --cuda-matmul-tile=${m}x${n}x${k}x${s} \
          --write-cuda-case="$dir/$name" > /dev/null 2>&1; then
          count=$((count + 1))
        else
          rm -rf "${dir:?}/$name"
        fi
      done; done; done; done
    done
  done
  echo "gpu-tune: $count cases for $chip in $dir ($(du -sh "$dir" | cut -f1)); now run: bash scripts/gpu-tune.sh run"
}

run() {
  local out=${OUT:-$root/gpu-results}
  local cuda=${CUDA_PATH:-/usr/local/cuda}
  mkdir -p "$out"
  local cases=()
  mapfile -t cases < <(find "$dir" -name case.cpp -printf '%h\n' | sort)
  printf '%s\n' "${cases[@]}" | xargs -P "$(nproc)" -I{} \
    "${CXX:-c++}" -std=c++17 -O2 {}/case.cpp -I"$cuda/include" -L"$cuda/lib64" \
    -L"$cuda/lib64/stubs" -lcuda -o {}/case
  # <engine>-<kernel>-<tile>/<kernel>/case; TIME <kernel> <ms> ms.
  : > "$out/tune-times.txt"
  for c in "${cases[@]}"; do
    local name ms
    name=$(basename "$(dirname "$c")")
    ms=$(cd "$c" && ./case 20 . | sed -n 's/^TIME [^ ]* \([0-9.]*\) ms$/\1/p') || ms=""
    [ -n "$ms" ] && echo "$name $ms" >> "$out/tune-times.txt"
  done
  # The fastest tile per (engine, kernel), as table rows.
  {
    printf 'chip\tkind\tn\tk\ttile_m\ttile_n\ttile_k\tstages\tus\n'
    sort -k2,2g "$out/tune-times.txt" | awk -v chip="$chip" '
      { split($1, part, "-"); key = part[1] "-" part[2]
        if (key in seen) next; seen[key] = 1
        split(part[2], kernel, "_"); split(part[3], tile, "x")
        kind = part[1] (kernel[1] == "paired" ? "-paired" : "")
        printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\n", chip, kind, kernel[2],
               kernel[3], tile[1], tile[2], tile[3], tile[4], $2 * 1000 }'
  } | tee "$out/cuda-matmul.tsv"
}

case $mode in
  prepare) prepare ;;
  run) run ;;
  *)
    echo "usage: bash scripts/gpu-tune.sh prepare|run [DIR]" >&2
    exit 2
    ;;
esac
