#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) in the instrumented build and runs each
# for a bounded time on the seed corpus (examples, the frontend's lit inputs)
# with the .gate dictionary.
#   scripts/fuzz.sh [SECONDS]        default 60 s per target
# Environment: ASAN_BUILD_DIR (default: build-asan), FUZZ_TARGETS (default:
# every target), FUZZ_JOBS (parallel runs per target, default 1), FUZZ_SEED
# (libFuzzer -seed, default 1: a run is reproducible).
# Corpora persist in $ASAN_BUILD_DIR/fuzz/corpus-<target>; a crashing input is
# written to $ASAN_BUILD_DIR/fuzz/artifacts/. Prints one line per target,
# "fuzz: <target>: N execs in S s, C crashes", and exits 1 on any crash.
# Reproduce one with: $ASAN_BUILD_DIR/bin/<target> <artifact>
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build_dir=${ASAN_BUILD_DIR:-$root/build-asan}
targets=${FUZZ_TARGETS:-gatec-fuzz-frontend gatec-fuzz-compile gatec-fuzz-compile-cuda}

ASAN_BUILD_DIR=$build_dir GATEC_ASAN_TARGETS="$targets" \
  bash "$root/scripts/sanitize.sh" --build-only

work=$build_dir/fuzz
seeds=$work/seeds
mkdir -p "$work/artifacts"
# Seeds: every .gate the repository has, and the files split out of the lit
# tests that embed several (split-file), so error paths start covered.
rm -rf "$seeds" && mkdir -p "$seeds"
n=0
for f in "$root"/examples/*.gate "$root"/test/Frontend/*.gate \
         "$root"/test/Frontend/errors/*.gate "$root"/test/gatec/Inputs/*.gate; do
  [ -f "$f" ] && cp "$f" "$seeds/$(printf %03d $n)-$(basename "$f")" && n=$((n + 1))
done
for t in "$root"/test/Frontend/errors/*.test "$root"/test/gatec/*.test; do
  grep -q split-file "$t" || continue
  d=$(mktemp -d)
  /usr/lib/llvm-22/bin/split-file "$t" "$d" 2>/dev/null || true
  for f in "$d"/*.gate; do
    [ -f "$f" ] && cp "$f" "$seeds/$(printf %03d $n)-$(basename "$f")" && n=$((n + 1))
  done
  rm -rf "$d"
done

# Leak checks on (libFuzzer checks each input that grew memory); a kernel
# object never runs here, so no dlopen/JIT caveat applies.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=()
for target in $targets; do
  corpus=$work/corpus-$target
  mkdir -p "$corpus"
  log=$work/$target.log
  # Crashes, leaks, timeouts and out-of-memory inputs count; slow units (more
  # than -report_slow_units seconds, still within -timeout) are listed only.
  findings() { ls "$work/artifacts" | { grep -cE "^$target-(crash|leak|timeout|oom)-" || true; }; }
  slow() { ls "$work/artifacts" | { grep -c "^$target-slow-unit-" || true; }; }
  before=$(findings)
  slow_before=$(slow)
  start=$(date +%s)
  # -timeout: one input may take this long (the compile target builds an
  # object, and a seed with several scans takes 35 s under ASan); longer is a
  # hang. -rss_limit_mb: more is a memory blow-up.
  timeout=30
  [ "$target" = gatec-fuzz-compile ] && timeout=120
  rc=0
  "$build_dir/bin/$target" "$corpus" "$seeds" \
    -dict="$root/fuzz/gate.dict" -max_len=4096 -timeout=$timeout \
    -report_slow_units=$((timeout / 2)) \
    -rss_limit_mb=4096 -max_total_time="$seconds" -print_final_stats=1 \
    -seed="${FUZZ_SEED:-1}" \
    -artifact_prefix="$work/artifacts/$target-" \
    ${FUZZ_JOBS:+-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS} >"$log" 2>&1 || rc=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s += $1} END {print s + 0}')
  crashes=$(( $(findings) - before ))
  if [ $rc -ne 0 ] && [ $crashes -eq 0 ]; then crashes=1; fi
  slow_units=$(( $(slow) - slow_before ))
  line="fuzz: $target: $execs execs in ${elapsed} s, $crashes crashes, $slow_units slow inputs (corpus $(ls "$corpus" | wc -l) inputs)"
  summary+=("$line")
  echo "$line"
  if [ $crashes -ne 0 ]; then
    status=1
    { grep -m 3 -E "ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error|gatec-fuzz-|Test unit written" "$log" || true; } | sed 's/^/  /'
    echo "  log: $log"
  fi
done
exit $status
