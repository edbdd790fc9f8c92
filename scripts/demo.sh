#!/usr/bin/env bash
# The main job: set up, build gatec, compile examples/mixtral_router.gate to an
# x86-64 object and a C++ header, build a plain C++ program against them, and
# run it (it checks its results against gatec's reference implementation).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
BUILD_DIR=$build_dir bash "$root/scripts/setup.sh"

out=$build_dir/demo
mkdir -p "$out"
llvm=/usr/lib/llvm-22
set -x
"$build_dir/bin/gatec" "$root/examples/mixtral_router.gate" --target=cpu:native --emit=obj -o "$out"
"$build_dir/bin/gatec" "$root/examples/mixtral_router.gate" --target=cpu:native --emit=header -o "$out"
"$llvm/bin/clang++" -std=c++17 -O2 -I"$out" -I"$root/include" \
  "$root/examples/demo/mixtral_demo.cpp" "$out/mixtral_router.o" "$build_dir/lib/libGatecReference.a" \
  -fuse-ld=lld -L"$llvm/lib" -lomp -Wl,-rpath,"$llvm/lib" -o "$out/mixtral_demo"
"$out/mixtral_demo" 4096
