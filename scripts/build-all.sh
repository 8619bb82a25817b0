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
  # What ships is stripped (no debug information, which names this machine's paths);
  # build/<preset> keeps the symbols of the same build for a post-mortem.
  case $p in
    win*) cmake --install "build/$p" --strip >/dev/null ;;
    *) cmake --install "build/$p" >/dev/null ;;
  esac
  echo "build-all: $p built in $((SECONDS - t)) s"
done
# With the organisation's certificate (XB_SIGN_PFX, scripts/sign.sh), every PE is
# signed before the MSIs take them, then the MSIs; without it nothing is signed.
if [ -n "${XB_SIGN_PFX:-}" ]; then
  scripts/sign.sh dist/win64/*.exe dist/win64/*.dll dist/win32/*.exe dist/win32/*.dll
fi
# The MSIs take files from both Windows trees, so they come after every preset.
t=$SECONDS
scripts/build-msi.sh
[ -z "${XB_SIGN_PFX:-}" ] || scripts/sign.sh dist/XOAuthBridge-*-x64.msi dist/XOAuthBridge-*-x86.msi
echo "build-all: MSIs built in $((SECONDS - t)) s"
echo "build-all: everything built in $((SECONDS - start)) s; outputs in dist/"
