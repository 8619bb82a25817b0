#!/usr/bin/env bash
# The main job of README command 1: shows what the build produced, running each
# program where it can run (Linux natively, Windows x64 under Wine).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "Linux daemon: dist/linux/xoauthbridge"
dist/linux/xoauthbridge --version

step "Windows x64 companion under Wine: dist/win64/xoauthbridge.exe"
export WINEPREFIX=${XB_DEMO_WINEPREFIX:-$PWD/build/demo-wine} WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
[ -f "$WINEPREFIX/system.reg" ] || wineboot -i >/dev/null 2>&1
wine dist/win64/xoauthbridge.exe --version 2>/dev/null | tr -d '\r'

step "The fix on Linux, end to end (loopback stand-in for Gmail, real browser sign-in)"
/usr/bin/python3 tests/demo/demo_linux.py --exe dist/linux/xoauthbridge

step "Windows outputs"
for arch in win64 win32; do
  a=x64; [ $arch = win32 ] && a=x86
  for f in dist/$arch/*.exe dist/$arch/*.dll; do
    /usr/bin/python3 tests/tools/pecheck.py --arch $a "$f"
  done
done
