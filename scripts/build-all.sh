#!/usr/bin/env bash
# Builds every target: the Windows dependencies (cached), then the CMake presets
# linux, win64 and win32 (and linux-asan with --asan), each installed into dist/<preset>/,
# then the MSIs dist/XOAuthBridge-<version>-{x64,x86}.msi (scripts/build-msi.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

presets=(linux win64 win32)
[ "${1:-}" = "--asan" ] && presets+=(linux-asan)

start=$SECONDS
scripts/deps.sh native
scripts/deps.sh x86_64-w64-mingw32
scripts/deps.sh i686-w64-mingw32
echo "build-all: dependencies ready in $((SECONDS - start)) s"

for p in "${presets[@]}"; do
  t=$SECONDS
  if [ ! -f "build/$p/CMakeCache.txt" ]; then
    cmake --preset "$p" >"build-$p.log" 2>&1 || { cat "build-$p.log"; rm -f "build-$p.log"; exit 1; }
    rm -f "build-$p.log"
  fi
  cmake --build --preset "$p"
  cmake --install "build/$p" >/dev/null
  echo "build-all: $p built in $((SECONDS - t)) s"
done
# The MSIs take files from both Windows trees, so they come after every preset.
t=$SECONDS
scripts/build-msi.sh
echo "build-all: MSIs built in $((SECONDS - t)) s"
echo "build-all: everything built in $((SECONDS - start)) s; outputs in dist/"
