#!/usr/bin/env bash
# Times gatec compiling every example to a CPU object and prints a Markdown
# table (docs/performance.md#compile-time). Not part of the tests.
#
#   bash scripts/bench-compile.sh [--runs N] [--target T] [--baseline GATEC]
#
# Each cell is the fastest of N wall times (default 3) of
# `gatec examples/X.gate --emit=obj --target=T` (default cpu:native). With
# --baseline, a second gatec (e.g. one built from an older commit) is timed
# in the same loop, alternating with this build's, and gets its own column:
# both see the same machine load.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
runs=3
target=cpu:native
baseline=
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    *) echo "bench-compile: unknown argument $1" >&2; exit 1 ;;
  esac
done
gatec=$build_dir/bin/gatec
if [ ! -x "$gatec" ]; then
  echo "bench-compile: $gatec missing: run scripts/setup.sh first" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

compilers=("$gatec")
[ -n "$baseline" ] && compilers=("$baseline" "$gatec")

# wall SOURCE COMPILER: one wall time of COMPILER on SOURCE, in milliseconds.
wall() {
  local start end
  start=$(date +%s%N)
  "$2" "$1" --emit=obj --target="$target" -o "$work" >/dev/null
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

awk -F': ' '/^model name/ && !n {n = $2} /^cpu family/ && !f {f = $2}
            /^model\t/ && !m {m = $2}
            END {printf "host: %s (family %s model %s), %d cores\n", n, f, m, '"$(nproc)"'}' /proc/cpuinfo
echo "target: $target, fastest of $runs runs"
header="| example |" rule="|---|"
for compiler in "${compilers[@]}"; do
  header+=" $compiler |" rule+="---|"
done
printf '%s\n%s\n' "$header" "$rule"
declare -a totals=(0 0)
for source in "$root"/examples/*.gate; do
  declare -a best=(999999 999999)
  for _ in $(seq "$runs"); do
    for i in "${!compilers[@]}"; do
      ms=$(wall "$source" "${compilers[$i]}")
      if [ "$ms" -lt "${best[$i]}" ]; then best[$i]=$ms; fi
    done
  done
  row="| $(basename "$source" .gate) |"
  for i in "${!compilers[@]}"; do
    row+=" $(printf '%d.%02d' $((best[i] / 1000)) $((best[i] % 1000 / 10))) s |"
    totals[$i]=$((totals[i] + best[i]))
  done
  echo "$row"
done
row="| all |"
for i in "${!compilers[@]}"; do
  row+=" $(printf '%d.%01d' $((totals[i] / 1000)) $((totals[i] % 1000 / 100))) s |"
done
echo "$row"
