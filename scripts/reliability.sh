#!/usr/bin/env bash
# The bounded reliability run for CI (docs/reliability.md):
#   1. the ASan + UBSan build (build-asan/) and the whole lit suite on it
#      (scripts/sanitize.sh), which includes the fixed-seed differential,
#      edge-case and determinism tests of test/Reliability;
#   2. each libFuzzer target for FUZZ_SECONDS (scripts/fuzz.sh), corpora kept
#      between runs in build-asan/fuzz/;
#   3. a differential run with a fresh seed on the release build's tools
#      (build/bin), so every CI run draws cases never drawn before; a failure
#      prints the seed and the command that reproduces it.
# Ends with one summary line per stage and "reliability: PASS" or
# "reliability: FAIL"; exit status 1 on any failure.
# Environment: FUZZ_SECONDS (default 60), DIFFTEST_SEED (default: the time),
#   DIFFTEST_CASES (default 140), BUILD_DIR (release build, default build),
#   ASAN_BUILD_DIR (default build-asan), SKIP_SANITIZE=1 (stages 2-3 only).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
fuzz_seconds=${FUZZ_SECONDS:-60}
seed=${DIFFTEST_SEED:-$(date +%s)}
cases=${DIFFTEST_CASES:-140}
logs=$(mktemp -d)
summary=()
failed=0

# stage NAME LOG PATTERN COMMAND...: runs COMMAND, logs it, and adds to the
# summary the lines of its output that match PATTERN, its time and status.
stage() {
  local name=$1 log=$2 pattern=$3
  shift 3
  local start=$SECONDS rc=0
  echo "== reliability: $name"
  "$@" 2>&1 | tee "$log" || rc=$?
  [ $rc -eq 0 ] || failed=1
  summary+=("$name: exit $rc in $((SECONDS - start)) s")
  while IFS= read -r line; do summary+=("  $line"); done < <(grep -E "$pattern" "$log")
}

start_all=$SECONDS
if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  stage sanitize "$logs/sanitize.log" '^sanitize:' bash "$root/scripts/sanitize.sh"
fi

stage fuzz "$logs/fuzz.log" '^fuzz:' bash "$root/scripts/fuzz.sh" "$fuzz_seconds"

if [ -x "$build_dir/bin/gatec" ] && [ -x "$build_dir/bin/gatec-check" ]; then
  work=$(mktemp -d)
  stage difftest "$logs/difftest.log" '^difftest: [0-9]+ cases' \
    python3 "$root/test/Reliability/Inputs/difftest.py" \
    "$build_dir/bin/gatec" "$build_dir/bin/gatec-check" --workdir "$work" \
    --seed "$seed" --cases "$cases" --per-file 20 --cpu native,x86-64-v3
  rm -rf "$work"
else
  echo "reliability: $build_dir/bin/gatec{,-check} missing: run scripts/setup.sh first" >&2
  summary+=("difftest: not run, no release build in $build_dir")
  failed=1
fi

echo "== reliability summary ($((SECONDS - start_all)) s)"
printf '%s\n' "${summary[@]}"
rm -rf "$logs"
if [ $failed -ne 0 ]; then
  echo "reliability: FAIL"
  exit 1
fi
echo "reliability: PASS"
