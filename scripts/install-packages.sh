#!/usr/bin/env bash
# Installs everything the build and the tests need from Debian's archive and the npm
# registry. Idempotent: safe to run again; fast when nothing is missing.
# Runs as root, or through sudo when it is available.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-packages: run as root or install sudo" >&2; exit 1; }
  sudo=sudo
fi

# Build: native and MinGW toolchains, the libraries for Linux, sources for Windows.
build_pkgs=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev dpkg-dev
  gcc-mingw-w64 binutils-mingw-w64
  libssl-dev libcurl4-openssl-dev libevent-dev libcjson-dev
  msitools wixl   # msiinfo and the MSI builder (Debian 12 ships wixl on its own)
  osslsigncode    # Authenticode signing with the organisation's certificate (scripts/sign.sh)
)
# Tests: Wine, the mail and OAuth stand-ins, real clients, a browser, a display.
test_pkgs=(
  wine wine64
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-submissiond
  python3 python3-pytest python3-aiosmtpd
  curl fetchmail openssl ca-certificates
  tinyproxy       # a real HTTP CONNECT proxy for the web_proxy tests (run by the tests, not as a service)
  chromium xvfb imagemagick fonts-noto-cjk
)
# Node.js for the rig's OAuth server (oidc-provider 9 needs Node >= 20.12). Machines here
# come with a Node 20 that bundles npm and conflicts with Debian's npm package: use it
# when it is there, else Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  test_pkgs+=(nodejs npm)
fi

# deb-src: the Windows libraries are cross-built from Debian's source packages.
src_list=/etc/apt/sources.list.d/debian.sources
if [ -f "$src_list" ] && ! grep -q '^Types:.*deb-src' "$src_list"; then
  $sudo sed -i 's/^Types: deb$/Types: deb deb-src/' "$src_list"
  force_update=1
fi
if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list &&
   ! grep -q '^deb-src ' /etc/apt/sources.list && [ ! -f "$src_list" ]; then
  sed -n 's/^deb /deb-src /p' /etc/apt/sources.list | $sudo tee /etc/apt/sources.list.d/xb-src.list >/dev/null
  force_update=1
fi

missing=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done

# CI always starts from a fresh package list; elsewhere only when something is needed.
if [ -n "${CI:-}" ] || [ -n "${force_update:-}" ] || [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-packages: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Debian starts tinyproxy as a system service on port 8888 when it is installed; the
  # tests run their own. Only when this script installed it: an admin's service stays.
  if [[ " ${missing[*]} " == *" tinyproxy "* ]] && command -v systemctl >/dev/null &&
     [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now tinyproxy.service >/dev/null 2>&1 || true
  fi
fi

node_major=$(node -p 'process.versions.node.split(".").map(Number).join(" ")' 2>/dev/null || echo 0)
set -- $node_major
if [ "${1:-0}" -lt 20 ] || { [ "${1:-0}" -eq 20 ] && [ "${2:-0}" -lt 12 ]; }; then
  echo "install-packages: Node.js $(node --version 2>/dev/null || echo none) is too old for the" \
       "test rig's OAuth server (oidc-provider 9 needs >= 20.12)" >&2
fi

# The OAuth server of the test rig (oidc-provider), pinned by package-lock.json.
if [ -f tests/rig/package.json ]; then
  if [ ! -d tests/rig/node_modules ] || [ tests/rig/package-lock.json -nt tests/rig/node_modules ]; then
    (cd tests/rig && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
fi
echo "install-packages: all present"
