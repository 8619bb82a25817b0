#!/usr/bin/env bash
# Builds the dependencies that do not come ready from Debian, as static libraries, from
# Debian's own source packages, into a cache keyed by the source package version, so a
# warm cache costs nothing:
#   - Windows (x86_64-w64-mingw32, i686-w64-mingw32): OpenSSL, libcurl, libevent, cJSON;
#   - native (Linux): libcurl only, HTTP(S) only, against Debian's OpenSSL. Debian's own
#     libcurl pulls a dozen libraries (GnuTLS, Kerberos, LDAP, RTMP, SSH...) into every
#     companion process for nothing: 4 MB of resident memory and as much attack surface.
#
#   scripts/deps.sh x86_64-w64-mingw32|i686-w64-mingw32|native
#
# Writes <cache>/<triple>/deps.cmake, which CMake includes (cmake/mingw-toolchain.cmake
# for Windows, cmake/XbDeps.cmake for Linux). Needs deb-src enabled
# (scripts/install-packages.sh does that).
set -euo pipefail

triple=${1:?usage: deps.sh x86_64-w64-mingw32|i686-w64-mingw32|native}
case $triple in
  x86_64-w64-mingw32) ossl_target=mingw64; ossl_extra= ;;
  # i686: OpenSSL's x86 assembly comes out as ELF PIC code that the MinGW assembler
  # rejects (BFD_RELOC_386_GOTPC); the portable C code is used instead.
  i686-w64-mingw32)   ossl_target=mingw;   ossl_extra=no-asm ;;
  native) ;;
  *) echo "deps: unknown target '$triple'" >&2; exit 2 ;;
esac

cache=${XB_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xoauthbridge/deps}
src=$cache/src
out=$cache/$triple
jobs=$(nproc)
mkdir -p "$src" "$out"

# Nothing of this machine may end up in what ships (docs/decisions.md "Nothing of the
# build machine"): source paths that __FILE__ and debug information would carry are
# rewritten to "deps/..." for the CMake-built libraries (OpenSSL builds in its own tree
# with relative paths, and prints its compiler flags into the library: no map there).
prefix_map="-ffile-prefix-map=$cache=deps"

# Where OpenSSL would look for its configuration, engines, providers and default CA
# files. '<' and '>' are not allowed in Windows file names, so no folder of this name
# can exist on any drive, whatever the current directory is: nothing another user
# plants can be read. (The Linux daemon uses Debian's OpenSSL, not this build.)
ossl_nodir='<no-openssl-files>'

# Bump a package's recipe number when its build below changes: the cache key is
# <package>-<Debian version>+xb<recipe>, so a changed recipe rebuilds.
declare -A recipe=([openssl]=3 [libevent]=2 [curl]=2 [cjson]=3)

log() { printf 'deps[%s]: %s\n' "$triple" "$*" >&2; }

# Prints the source versions apt knows for a package, newest first.
src_versions() {
  apt-cache showsrc "$1" 2>/dev/null | awk '/^Version:/ { print $2 }' | sort -u | sort -r --version-sort
}

# Unpacks the Debian source package into $src once per version; echoes its directory.
# A version whose files the archive does not serve (a mirror lagging behind the
# index happens) is remembered and the next older one is tried.
fetch() {
  local pkg=$1 ver=$2 dir=$src/$1-$2
  [ -f "$dir.unavailable" ] && return 1
  if [ ! -f "$dir/.xb-unpacked" ]; then
    rm -rf "$dir" "$dir.tmp"
    mkdir -p "$dir.tmp"
    if ! ( cd "$dir.tmp" && apt-get source -qq "$pkg=$ver" >"$dir.log" 2>&1 ); then
      log "source $pkg $ver not downloadable, trying an older one"
      rm -rf "$dir.tmp"; touch "$dir.unavailable"; return 1
    fi
    local top
    top=$(find "$dir.tmp" -mindepth 1 -maxdepth 1 -type d | head -n 1)
    mv "$top" "$dir"
    rm -rf "$dir.tmp" "$dir.log"
    touch "$dir/.xb-unpacked"
  fi
  echo "$dir"
}

if [ "$triple" = native ]; then
  cmake_common=(
    -G Ninja
    -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_C_FLAGS="-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fcf-protection=full $prefix_map"
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  )
else
  cmake_common=(
    -G Ninja
    -DCMAKE_SYSTEM_NAME=Windows
    -DCMAKE_C_COMPILER="$triple-gcc"
    -DCMAKE_RC_COMPILER="$triple-windres"
    -DCMAKE_FIND_ROOT_PATH="/usr/$triple"
    -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER
    -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY
    -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY
    -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_C_FLAGS="-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 $prefix_map"
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  )
fi

build_openssl() {
  local dir=$1 prefix=$2 b=$2.build
  rm -rf "$b"; cp -a "$dir" "$b"
  # No DLL can be loaded by OpenSSL (no-dso, no-engine, no-module) and no configuration
  # file is read unless asked for (no-autoload-config; the companion never asks).
  # The three directories are given on make's command line: Configure would turn a
  # Windows path into one under the build prefix.
  local dirs=(OPENSSLDIR="$ossl_nodir" ENGINESDIR="$ossl_nodir" MODULESDIR="$ossl_nodir")
  ( cd "$b" &&
    ./Configure "$ossl_target" no-shared no-tests no-module no-dso no-engine \
      no-autoload-config $ossl_extra \
      --cross-compile-prefix="$triple-" --prefix="$prefix" --libdir=lib \
      -fstack-protector-strong >/dev/null &&
    make -j"$jobs" "${dirs[@]}" build_libs >/dev/null &&
    make "${dirs[@]}" install_dev >/dev/null )
  rm -rf "$b"
}

# One CMake-built library: configure with the common and the given options, build,
# install into prefix, and drop the build tree.
cmake_dep() {
  local dir=$1 prefix=$2 b=$2.build
  shift 2
  rm -rf "$b"
  cmake -S "$dir" -B "$b" "${cmake_common[@]}" -DCMAKE_INSTALL_PREFIX="$prefix" "$@" >/dev/null
  cmake --build "$b" -j "$jobs" >/dev/null
  cmake --install "$b" >/dev/null
  rm -rf "$b"
}

build_libevent() {
  cmake_dep "$1" "$2" \
    -DCMAKE_FIND_ROOT_PATH="/usr/$triple;$openssl_prefix" -DOPENSSL_ROOT_DIR="$openssl_prefix" \
    -DOPENSSL_USE_STATIC_LIBS=ON \
    -DEVENT__LIBRARY_TYPE=STATIC -DEVENT__DISABLE_TESTS=ON -DEVENT__DISABLE_SAMPLES=ON \
    -DEVENT__DISABLE_BENCHMARK=ON -DEVENT__DISABLE_REGRESS=ON -DEVENT__DISABLE_MBEDTLS=ON \
    -DEVENT__DISABLE_DEBUG_MODE=ON
}

build_curl() {
  # HTTPS only: the companion talks to token endpoints and nothing else. Windows links
  # the static OpenSSL built above; native uses Debian's.
  local ssl=()
  # On Windows the trust decision is Windows' own (service/platform/win32/tlstrust.c):
  # no default CA file or folder compiled in (they would be read relative to the current
  # drive, where any user may create them), and OpenSSL's configuration never loaded.
  local trust=()
  [ "$triple" = native ] || ssl=(-DCMAKE_FIND_ROOT_PATH="/usr/$triple;$openssl_prefix"
                                 -DOPENSSL_ROOT_DIR="$openssl_prefix" -DOPENSSL_USE_STATIC_LIBS=ON)
  [ "$triple" = native ] || trust=(-DCURL_CA_BUNDLE=none -DCURL_CA_PATH=none
                                   -DCURL_CA_FALLBACK=OFF
                                   -DCURL_DISABLE_OPENSSL_AUTO_LOAD_CONFIG=ON)
  cmake_dep "$1" "$2" "${ssl[@]}" \
    -DBUILD_SHARED_LIBS=OFF -DCURL_STATICLIB=ON -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF \
    -DCURL_USE_OPENSSL=ON -DCURL_USE_SCHANNEL=OFF -DHTTP_ONLY=ON -DCURL_ZLIB=OFF \
    -DCURL_USE_LIBSSH2=OFF -DUSE_LIBIDN2=OFF -DUSE_NGHTTP2=OFF -DCURL_BROTLI=OFF \
    -DCURL_ZSTD=OFF -DENABLE_THREADED_RESOLVER=ON -DCURL_DISABLE_LDAP=ON -DCURL_USE_LIBPSL=OFF \
    -DCURL_USE_GSSAPI=OFF -DENABLE_UNIX_SOCKETS=OFF "${trust[@]}"
}

build_cjson() {
  # CJSON_HIDE_SYMBOLS: a static cJSON must not make our .exe export its functions.
  cmake_dep "$1" "$2" \
    -DCMAKE_C_FLAGS="-O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2 -DCJSON_HIDE_SYMBOLS $prefix_map" \
    -DBUILD_SHARED_LIBS=OFF -DBUILD_SHARED_AND_STATIC_LIBS=OFF -DENABLE_CJSON_TEST=OFF \
    -DENABLE_CJSON_UTILS=OFF -DENABLE_CUSTOM_COMPILER_FLAGS=OFF -DENABLE_TARGET_EXPORT=OFF
}

# One package: reuse the cached build of the newest available version, or build it.
dep() {
  local pkg=$1 ver prefix dir start found=
  for ver in $(src_versions "$pkg"); do
    prefix=$out/$pkg-$ver+xb${recipe[$pkg]}
    if [ -f "$prefix/.xb-done" ]; then
      log "$pkg $ver cached"; found=1; break
    fi
    dir=$(fetch "$pkg" "$ver") || continue
    log "building $pkg $ver"
    start=$SECONDS
    rm -rf "$prefix"
    "build_$pkg" "$dir" "$prefix"
    touch "$prefix/.xb-done"
    log "built $pkg $ver in $((SECONDS - start)) s"
    found=1; break
  done
  [ -n "$found" ] || { echo "deps: no source of '$pkg' could be fetched (apt-get update? deb-src enabled?)" >&2; exit 1; }
  eval "${pkg}_prefix=\$prefix"
}

if [ "$triple" = native ]; then
  dep curl
  prefixes="$curl_prefix"
else
  dep openssl
  dep libevent
  dep curl
  dep cjson
  prefixes="$openssl_prefix;$libevent_prefix;$curl_prefix;$cjson_prefix"
fi

cat >"$out/deps.cmake.tmp" <<EOC
# Written by scripts/deps.sh: where the static dependencies built from source are.
set(XB_DEPS_PREFIXES "$prefixes")
EOC
mv "$out/deps.cmake.tmp" "$out/deps.cmake"
log "ready: $out/deps.cmake"
