#!/bin/sh
# CTest's emulator for the win64 build: runs a Windows program under Wine, quietly,
# in the prefix the test names (WINEPREFIX), without looking for Mono or Gecko.
set -e
: "${WINEPREFIX:?wine-run.sh: WINEPREFIX must be set by the test}"
export WINEPREFIX
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
command -v wine >/dev/null 2>&1 || { echo "wine-run.sh: wine is not installed" >&2; exit 127; }
exec wine "$@"
