#!/usr/bin/env bash
# The main job of README command 1: shows what the build produced, running each
# program where it can run (Linux natively, Windows x64 under Wine): the fix end to end
# on Linux (tests/demo/demo_linux.py) and on Windows from the MSI on
# (tests/demo/demo_outlook.py: dist/XOAuthBridge-<version>-x64.msi and build/win64's
# test programs, in a Wine prefix and on an X display of its own).
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

step "The fix on Windows as an admin and a user meet it (the x64 MSI, Outlook 2016 and 2010, under Wine)"
/usr/bin/python3 tests/demo/demo_outlook.py --win64 build/win64

step "Windows outputs"
for arch in win64 win32; do
  a=x64; [ $arch = win32 ] && a=x86
  for f in dist/$arch/*.exe dist/$arch/*.dll; do
    /usr/bin/python3 tests/tools/pecheck.py --arch $a "$f"
  done
done
