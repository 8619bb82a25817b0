#!/usr/bin/env bash
# Runs the libFuzzer targets of the linux-asan build for longer than the test suite does.
#   usage: scripts/fuzz.sh SECONDS [imap pop3 smtp resp sasl]   (default: all, one by one)
# Environment: XB_FUZZ_BUILD (default build/linux-asan), XB_FUZZ_JOBS (parallel workers
# per target, default 1). Findings land in $XB_FUZZ_BUILD/tests/fuzz/artifacts/; the
# growing corpus in $XB_FUZZ_BUILD/tests/fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:?usage: scripts/fuzz.sh SECONDS [target...]}
shift
case $secs in (*[!0-9]*|'') echo "fuzz.sh: SECONDS must be a number" >&2; exit 2;; esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(imap pop3 smtp resp sasl)
build=${XB_FUZZ_BUILD:-build/linux-asan}
jobs=${XB_FUZZ_JOBS:-1}

[ -f "$build/CMakeCache.txt" ] || cmake --preset linux-asan
cmake --build "$build" --target test_parse_transcripts "${targets[@]/#/fuzz_}"

fuzzdir=$(cd "$build" && pwd)/tests/fuzz
mkdir -p "$fuzzdir/artifacts"
for t in imap pop3 smtp resp sasl; do mkdir -p "$fuzzdir/seeds/$t" "$fuzzdir/corpus/$t"; done
"$build/tests/test_parse_transcripts" tests/data/parse --corpus "$fuzzdir/seeds"

status=0
for t in "${targets[@]}"; do
  dirs=("$fuzzdir/corpus/$t" "$fuzzdir/seeds/$t")
  [ -d "tests/fuzz/corpus/$t" ] && dirs+=("$PWD/tests/fuzz/corpus/$t")
  parallel=()
  # With several jobs libFuzzer writes one fuzz-N.log per worker into the current directory.
  [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
  echo "== fuzz_$t for ${secs}s"
  (cd "$fuzzdir" && "./fuzz_$t" -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$fuzzdir/artifacts/$t-" "${parallel[@]}" \
    "${dirs[@]}") || status=1
done
exit $status
