#!/usr/bin/env bash
# Runs every test family of every build tree in one CTest run, so one summary says it
# all: build/CTestTestfile.cmake lists the trees as CTest subdirectories.
set -euo pipefail
cd "$(dirname "$0")/.."

trees=()
for p in linux linux-asan win64 win32; do
  [ -f "build/$p/CTestTestfile.cmake" ] && trees+=("\"$p\"")
done
[ ${#trees[@]} -gt 0 ] || { echo "run-tests: nothing built; run ./build.sh first" >&2; exit 1; }
printf '# Written by scripts/run-tests.sh: all build trees in one CTest run.\nsubdirs(%s)\n' \
  "${trees[*]}" > build/CTestTestfile.cmake

exec ctest --test-dir build --output-on-failure --no-tests=error -j "$(nproc)" "$@"
