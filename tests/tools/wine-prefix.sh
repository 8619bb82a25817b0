#!/bin/sh
# Makes a fresh 64-bit Wine prefix for the tests (a test fixture): a prefix left by
# an earlier run may hold registrations from it, so start clean every time.
#
# wineboot once failed on a fresh CI machine in 0.3 s and said nothing (its output went
# to /dev/null), which left every win64 test "Not Run". So its output is kept, shown
# when it fails, and a failed first boot is tried once more from a clean directory.
set -e
prefix=${1:?usage: wine-prefix.sh DIR}
command -v wine >/dev/null 2>&1 || { echo "wine-prefix.sh: wine is not installed" >&2; exit 127; }
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
log="$prefix.boot.log"

boot() {
  # A server left on this prefix saves its registry on the way out: wait for it
  # before removing the directory it writes to.
  wineserver -k 2>/dev/null || true
  wineserver -w 2>/dev/null || true
  rm -rf "$prefix"
  rc=0
  wineboot -i >"$log" 2>&1 || rc=$?
  wineserver -w || true
  [ "$rc" -eq 0 ] && [ -f "$prefix/system.reg" ]
}

for attempt in 1 2; do
  [ "$attempt" -eq 2 ] && export WINEDEBUG=-all,err+all
  if boot; then
    echo "wine prefix ready: $prefix ($(wine --version))"
    exit 0
  fi
  echo "wine-prefix.sh: wineboot attempt $attempt failed (exit $rc) at $prefix; its output:" >&2
  sed "s/^/  /" "$log" >&2 || true
done
echo "wine-prefix.sh: wineboot made no prefix at $prefix" >&2
exit 1
