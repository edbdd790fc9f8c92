#!/usr/bin/env bash
# gatec's kernels on an NVIDIA GPU: every example against the reference
# implementation, then benchmarks against PyTorch (eager, torch.compile) in
# the same run. Two steps, because the GPU machine has CUDA and PyTorch but
# no LLVM/MLIR to build gatec:
#
#   bash scripts/gpu-check.sh prepare [DIR]   # here: builds gatec, writes DIR
#   bash scripts/gpu-check.sh run [DIR]       # on the GPU machine
#
# DIR (default gpu-cases/, ignored by git) holds one self-contained case per
# kernel (gatec-check --write-cuda-case): the generated CUDA header, a C++
# program, given inputs and the oracle's outputs; random inputs (weights
# too) are regenerated bit for bit on the GPU machine. `run` compiles each
# case with the system C++ compiler against CUDA, runs it, then times the
# benchmark cases and their PyTorch peers (scripts/bench/bench_gpu.py); it
# writes check.txt, bench.md and bench.json under $OUT (default gpu-results/).
# With the device tool, after `prepare`, in one call:
#   run(command="bash scripts/gpu-check.sh run", carry=["gpu-cases"])
# GPU_CHIP (default sm_90) picks the CUDA target; see docs/performance.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
dir=${2:-$root/gpu-cases}
chip=${GPU_CHIP:-sm_90}

prepare() {
  local build_dir=${BUILD_DIR:-$root/build}
  BUILD_DIR=$build_dir bash "$root/scripts/setup.sh"
  local gatec=$build_dir/bin/gatec check=$build_dir/bin/gatec-check
  rm -rf "$dir"
  mkdir -p "$dir/check" "$dir/bench"
  # Correctness: every example at odd sizes (not multiples of any tile or
  # chunk), as test/Target/CPU/examples.test checks it on the CPU.
  example() {
    local gate=$1 name=$2
    shift 2
    "$gatec" "$root/examples/$gate" --emit=mlir |
      "$check" - --cuda="$chip" --write-cuda-case="$dir/check/$name" "$@"
  }
  example llama3_swiglu_ffn.gate llama3_t37 --dim T=37
  example llama3_swiglu_ffn.gate llama3_t1 --dim T=1
  example gemma_geglu_ffn.gate gemma --dim T=5
  example qwen3_next_gated_attention.gate qwen3 --dim B=1 --dim T=5
  example gla_layer.gate gla --dim B=1 --dim T=70
  example mamba2_ssd.gate mamba2 --dim B=2 --dim T=9
  example retnet_retention.gate retnet --dim B=1 --dim T=66
  example deepseek_v3_router.gate deepseek --dim T=7
  example gateskip_residual.gate gateskip --dim T=6
  example mixtral_router.gate mixtral --kernel=mixtral_8x7b_router --dim T=33 \
    --scale w=0.02 --int-mismatches=1
  example mixtral_router.gate mixtral_dispatch --kernel=mixtral_8x7b_dispatch \
    --dim T=5 --input experts=3,1,0,3,7,6,3,0,2,5
  # Routing and dispatch over 19 chunks of the counting sort (T * k = 2400
  # pairs), the last one partial: the usual launches.
  "$gatec" "$root/scripts/bench/gpu_kernels.gate" --emit=mlir |
    "$check" - --cuda="$chip" --kernel=route_dispatch_e256 \
      --write-cuda-case="$dir/check/route_dispatch" --dim T=300
  # The same at T = 20 takes the one-launch path: three blocks route, the
  # last one to finish writes the metadata.
  "$gatec" "$root/scripts/bench/gpu_kernels.gate" --emit=mlir |
    "$check" - --cuda="$chip" --kernel=route_dispatch_e256 \
      --write-cuda-case="$dir/check/route_dispatch_one_launch" --dim T=20
  # Mixtral's routing with its dispatch metadata, after a tensor-core
  # projection (one launch at T = 17; 34 top-2 choices over bf16 logits).
  example mixtral_router.gate mixtral_moe_routing --kernel=mixtral_8x7b_moe_routing \
    --dim T=17 --scale w=0.02
  # Benchmarks: the shapes of docs/performance.md's GPU table (outputs are
  # only checked for being written and finite).
  bench() {
    local kernel=$1
    shift
    "$gatec" "$root/scripts/bench/gpu_kernels.gate" --emit=mlir |
      "$check" - --cuda="$chip" --skip-reference --kernel="$kernel" \
        --write-cuda-case="$dir/bench/$kernel-$(echo "$@" | sed 's/--dim //g; s/=//g; s/ /_/g')" "$@"
  }
  bench swiglu_act_bf16 --dim T=8192 --dim F=14336
  bench llama3_ffn_bf16 --dim T=4096
  bench gla_forward --dim B=4 --dim T=2048
  bench gdn_forward --dim B=1 --dim T=4096
  bench gdn_decode --dim N=64 --dim P=64 --input "slots=$(seq -s, 0 63)"
  bench router_e128 --dim T=256
  bench router_deepseek_v3 --dim T=4096
  # Dispatch's output sizes derive from T through the reference's shape
  # rules, so this case keeps the (cheap) reference run.
  "$gatec" "$root/scripts/bench/gpu_kernels.gate" --emit=mlir |
    "$check" - --cuda="$chip" --kernel=route_dispatch_e256 \
      --write-cuda-case="$dir/bench/route_dispatch_e256-T4096" --dim T=4096
  # A decoding step's batch: the one-launch path.
  "$gatec" "$root/scripts/bench/gpu_kernels.gate" --emit=mlir |
    "$check" - --cuda="$chip" --kernel=route_dispatch_e256 \
      --write-cuda-case="$dir/bench/route_dispatch_e256-T32" --dim T=32
  # sm_90a wgmma (gatec --cuda-wgmma), not yet run on a GPU: the examples
  # with tensor-core matmuls and the FFN benchmark again, compiled for it.
  wgmma() {
    local gate=$1 name=$2
    shift 2
    "$gatec" "$root/$gate" --emit=mlir |
      "$check" - --cuda=sm_90a --cuda-wgmma --write-cuda-case="$dir/$name" "$@"
  }
  wgmma examples/llama3_swiglu_ffn.gate check/wgmma_llama3_t37 --dim T=37
  wgmma examples/gemma_geglu_ffn.gate check/wgmma_gemma --dim T=5
  wgmma examples/qwen3_next_gated_attention.gate check/wgmma_qwen3 --dim B=1 --dim T=5
  wgmma examples/deepseek_v3_router.gate check/wgmma_deepseek --dim T=7
  wgmma examples/gla_layer.gate check/wgmma_gla --dim B=1 --dim T=70
  wgmma scripts/bench/gpu_kernels.gate bench/llama3_ffn_bf16_wgmma-T4096 \
    --kernel=llama3_ffn_bf16 --skip-reference --dim T=4096
  cp "$root/scripts/bench/bench_gpu.py" "$root/scripts/bench/torch_peers.py" "$dir/"
  echo "gpu-check: cases in $dir ($(du -sh "$dir" | cut -f1)); now run: bash scripts/gpu-check.sh run"
}

run() {
  local out=${OUT:-$root/gpu-results}
  local cuda=${CUDA_PATH:-/usr/local/cuda}
  mkdir -p "$out"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt" || true
  local cxx=${CXX:-c++}
  local cases=()
  mapfile -t cases < <(find "$dir/check" "$dir/bench" -name case.cpp -printf '%h\n' | sort)
  # Build in parallel: each case is one translation unit.
  printf '%s\n' "${cases[@]}" | xargs -P "$(nproc)" -I{} \
    "$cxx" -std=c++17 -O2 {}/case.cpp -I"$cuda/include" -L"$cuda/lib64" -L"$cuda/lib64/stubs" -lcuda -o {}/case
  local failed=0
  : > "$out/check.txt"
  for c in "${cases[@]}"; do
    case $c in "$dir"/bench/*) continue ;; esac
    (cd "$c" && ./case 0 .) 2>&1 | tee -a "$out/check.txt" || failed=$((failed + 1))
  done
  echo "gpu-check: $((${#cases[@]})) cases built; $failed correctness failures" | tee -a "$out/check.txt"
  python3 "$dir/bench_gpu.py" --cases "$dir/bench" --out "$out"
  [ "$failed" -eq 0 ]
}

case $mode in
  prepare) prepare ;;
  run) run ;;
  *)
    echo "usage: bash scripts/gpu-check.sh prepare|run [DIR]" >&2
    exit 2
    ;;
esac
