#!/usr/bin/env bash
# Builds the per-machine MSIs with wixl (msitools) from the installed Windows outputs,
# after build-all.sh has built and installed both presets:
#   dist/XOAuthBridge-<version>-x64.msi  x64 companion + both add-in DLLs (dist/win64, dist/win32)
#   dist/XOAuthBridge-<version>-x86.msi  x86 companion + x86 add-in (dist/win32)
# and copies the ADMX/ADML policy templates to dist/policy/.
#
#   scripts/build-msi.sh [--version X.Y.Z] [--out DIR] [--arch x64|x86|all]
#
# --version defaults to the version the Windows builds were made with; the msi.wine test
# uses it to make a newer package for the upgrade check.
set -euo pipefail
cd "$(dirname "$0")/.."

version= out=dist arch=all
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --arch) arch=${2:?}; shift 2 ;;
    *) echo "usage: $0 [--version X.Y.Z] [--out DIR] [--arch x64|x86|all]" >&2; exit 2 ;;
  esac
done
case "$arch" in x64|x86|all) ;; *) echo "build-msi: --arch is x64, x86 or all" >&2; exit 2 ;; esac

command -v wixl >/dev/null || { echo "build-msi: wixl is missing (apt-get install wixl)" >&2; exit 1; }

# The version of the Windows builds: both trees must agree.
build_version() {
  sed -n 's/^#define XB_VERSION *"\(.*\)"$/\1/p' "build/$1/generated/xoauthbridge/version.h" 2>/dev/null
}
if [ -z "$version" ]; then
  v64=$(build_version win64) v32=$(build_version win32)
  [ -n "$v64" ] && [ "$v64" = "$v32" ] ||
    { echo "build-msi: build/win64 ($v64) and build/win32 ($v32) differ or are not built" >&2; exit 1; }
  version=$v64
fi
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  { echo "build-msi: version '$version' is not major.minor.patch" >&2; exit 1; }
next_version=${version%.*}.$((${version##*.} + 1))

need=(dist/win32/xoauthbridge.exe dist/win32/xoauthbridge-addin32.dll)
[ "$arch" != x86 ] && need+=(dist/win64/xoauthbridge.exe dist/win64/xoauthbridge-addin64.dll)
for f in "${need[@]}"; do
  [ -f "$f" ] || { echo "build-msi: $f is missing: build and install win64 and win32 first (scripts/build-all.sh)" >&2; exit 1; }
done

# The add-in's COM identity, from the header both DLLs were built with.
names=()
mapfile -t names < <(/usr/bin/python3 - include/xoauthbridge/names.h <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read().replace("\\\n", " ")
def define(name):
    m = re.search(r'^#define\s+%s\s+((?:"(?:[^"\\]|\\.)*"\s*)+)$' % name, text, re.M)
    if not m:
        sys.exit("build-msi: %s not found in names.h" % name)
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
for n in ("XB_ADDIN_CLSID_STR", "XB_ADDIN_PROGID", "XB_ADDIN_FRIENDLY", "XB_ADDIN_DESCRIPTION"):
    print(define(n))
EOF
)
[ ${#names[@]} -eq 4 ] || { echo "build-msi: could not read include/xoauthbridge/names.h" >&2; exit 1; }

mkdir -p "$out"
arches=(x64 x86)
[ "$arch" != all ] && arches=("$arch")
for a in "${arches[@]}"; do
  msi="$out/XOAuthBridge-$version-$a.msi"
  companion_dir=dist/win64
  [ "$a" = x86 ] && companion_dir=dist/win32
  rm -f "$msi"
  log=$(mktemp)
  if ! wixl -a "$a" -o "$msi" \
      -D Arch="$a" -D Version="$version" -D NextVersion="$next_version" \
      -D Win64Dir=dist/win64 -D Win32Dir=dist/win32 -D CompanionDir="$companion_dir" \
      -D AddinClsid="${names[0]}" -D AddinProgId="${names[1]}" \
      -D AddinFriendly="${names[2]}" -D AddinDescription="${names[3]}" \
      installer/XOAuthBridge.wxs >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log" "$msi"
    echo "build-msi: wixl failed for $a" >&2; exit 1
  fi
  # wixl prints "unimplemented" for a non-advertised shortcut, which it does build.
  grep -v -E 'Message: .*builder.vala:[0-9]+: unimplemented$' "$log" >&2 || true
  rm -f "$log"
  echo "build-msi: $msi ($(stat -c %s "$msi") bytes)"
done

if [ "$arch" = all ]; then
  rm -rf "$out/policy"
  mkdir -p "$out/policy"
  cp -r installer/policy/. "$out/policy/"
  echo "build-msi: $out/policy/ (ADMX/ADML templates)"
fi
