#!/usr/bin/env bash
# Sets up, builds and runs every gatec test: the lit suite (FileCheck tests and
# the GoogleTest unit tests) as one run. Ends with "check-gatec: N passed, M failed".
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
# Test-only packages: clang's sanitizer/fuzzer runtimes, and PyTorch with its
# C++ headers for the --emit=torch extension test.
GATEC_EXTRA_PACKAGES="libclang-rt-22-dev python3-torch libtorch-dev" \
  BUILD_DIR=$build_dir bash "$root/scripts/setup.sh"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
/usr/lib/llvm-22/bin/lit -v "$build_dir/test" "$build_dir/test/Unit" ${LIT_ARGS:-} 2>&1 | tee "$log" || status=$?

# lit pads the labels ("Passed           : 12") when a longer one is printed.
count() { sed -n "s/^ *$1 *: *\([0-9][0-9]*\).*/\1/p" "$log" | tail -n 1; }
passed=$(( $(count Passed || true) + 0 ))
failed=$(( ${failed:-0} + $(count Failed || true) + 0 ))
unsupported=$(( $(count Unsupported || true) + 0 ))
echo "check-gatec: $passed passed, $failed failed, $unsupported skipped"
[ "$passed" -gt 0 ] || { echo "check-gatec: no test ran" >&2; exit 1; }
exit $status
