#!/bin/sh
# Makes a fresh 64-bit Wine prefix for the tests (a test fixture): a prefix left by
# an earlier run may hold registrations from it, so start clean every time.
set -e
prefix=${1:?usage: wine-prefix.sh DIR}
command -v wine >/dev/null 2>&1 || { echo "wine-prefix.sh: wine is not installed" >&2; exit 127; }
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wineserver -k 2>/dev/null || true
rm -rf "$prefix"
wineboot -i >/dev/null 2>&1
wineserver -w
test -f "$prefix/system.reg" || { echo "wine-prefix.sh: wineboot made no prefix at $prefix" >&2; exit 1; }
echo "wine prefix ready: $prefix ($(wine --version))"
