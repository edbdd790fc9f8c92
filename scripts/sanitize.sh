#!/usr/bin/env bash
# Builds gatec with AddressSanitizer + UndefinedBehaviorSanitizer (and the
# libFuzzer coverage instrumentation, so that scripts/fuzz.sh reuses this one
# build) in build-asan/, then runs the whole lit suite and the unit tests on it.
#   scripts/sanitize.sh              configure if needed, build, run every test
#   scripts/sanitize.sh --build-only
# Environment: ASAN_BUILD_DIR (default: build-asan), GATEC_ASAN_TARGETS (what to
# build; default: all), LIT_ARGS (extra lit
# arguments, e.g. a test path filter), GATEC_JOBS (default 2).
# Ends with "sanitize: N passed, M failed, K skipped". docs/reliability.md
# says what the sanitizers cover and why the options below are set.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${ASAN_BUILD_DIR:-$root/build-asan}
llvm=/usr/lib/llvm-22

if [ ! -e "$llvm/lib/clang/22/lib/linux/libclang_rt.asan-x86_64.a" ] ||
   [ ! -e "$llvm/lib/clang/22/lib/linux/libclang_rt.fuzzer-x86_64.a" ]; then
  echo "sanitize: clang's sanitizer runtimes are missing; as root run:" >&2
  echo "  apt-get install -y libclang-rt-22-dev" >&2
  exit 1
fi

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
if [ ! -f "$build_dir/build.ninja" ]; then
  # -O1: quicker to build, and fast enough for the suite. NDEBUG as in
  # libMLIR (fuzz/Sanitizers.cmake says why it must match).
  CC=$llvm/bin/clang CXX=$llvm/bin/clang++ cmake -S "$root" -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="-O1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
    -DMLIR_DIR=$llvm/lib/cmake/mlir \
    -DLLVM_USE_LINKER=lld \
    -DGATEC_SANITIZE="address;undefined" -DGATEC_ENABLE_FUZZING=ON \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
fi
# One build at a time on this machine: build/ shares the lock.
flock /tmp/gatec-build.lock cmake --build "$build_dir" -j "${GATEC_JOBS:-2}" \
  ${GATEC_ASAN_TARGETS:+--target $GATEC_ASAN_TARGETS}
[ "${1:-}" = --build-only ] && exit 0

# Sanitizer settings for every instrumented process the tests start (lit
# passes these through; test/lit.cfg.py sets the same defaults for a build
# with GATEC_SANITIZE): leaks are checked, any report fails the test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Tests that cannot run in this build, with the reason (docs/reliability.md):
#   Embedding/consumer.test links a program built without sanitizers against
#   the instrumented libGatecCompiler.so: its __asan_*/__ubsan_* references
#   have no runtime to resolve to.
#   Reliability/difftest-*.test take 5-10x longer with instrumented tools
#   (about 20 minutes on 2 cores) and exercise the compiler paths that
#   Target/CPU/*.mlir and Reliability/edge-cases.test already run here; they
#   run in the release build's suite and in scripts/reliability.sh.
#   Target/CPU/examples.test checks each example at its real sizes: the
#   instrumented -O1 reference interpreter spends over 11 minutes and 4.5 GB
#   on Gemma's 3072 x 24576 weights alone. The same ops at small sizes run
#   here in Target/CPU/*.mlir.
#   Target/{CppHeader,Torch}/examples-compile.test lower every example to
#   compile its header, Reliability/scan-reset-accuracy*.test compiles seven
#   scans twice at T = 300 and gatec-check/router-ties.test runs 16 seeds:
#   the paths they take run here at small sizes (test/gatec, scans.mlir,
#   routers.mlir); they check numerics and generated C, not gatec's memory.
#   Reliability/delta-accuracy*.test, Target/CPU/delta-examples.test and
#   Target/{CPU,CUDA/Emulator}/short-conv.test are numerics at sizes that
#   take minutes instrumented; the delta rule, pools and the convolution
#   compile here in test/Conversion, test/Frontend and
#   Target/CPU/pool-contract.test.
# GATEC_SANITIZE_FILTER_OUT= (empty) runs everything.
filter_out=${GATEC_SANITIZE_FILTER_OUT-'Embedding/consumer\.test|Reliability/difftest-|Target/CPU/examples\.test|Target/CUDA/Emulator/(llama3|gemma|gla|ssm|examples|ops|delta-examples|short-conv)|Target/CPU/(delta-examples|short-conv)|Target/(CppHeader|Torch)/examples-compile|Reliability/(scan-reset|delta)-accuracy|gatec-check/router-ties'}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
/usr/lib/llvm-22/bin/lit -sv "$build_dir/test" "$build_dir/test/Unit" \
  ${filter_out:+--filter-out "$filter_out"} ${LIT_ARGS:-} 2>&1 | tee "$log" || status=$?

count() { sed -n "s/^ *$1 *: *\([0-9][0-9]*\).*/\1/p" "$log" | tail -n 1; }
passed=$(( $(count Passed || true) + 0 ))
failed=$(( $(count Failed || true) + 0 ))
skipped=$(( $(count Unsupported || true) + $(count Excluded || true) + 0 ))
echo "sanitize: $passed passed, $failed failed, $skipped skipped or excluded"
[ "$passed" -gt 0 ] || { echo "sanitize: no test ran" >&2; exit 1; }
exit $status
