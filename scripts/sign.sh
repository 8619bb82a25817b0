#!/usr/bin/env bash
# Signs Windows files with the organisation's code-signing certificate (Authenticode,
# SHA-256) using osslsigncode, in place. Unsigned stays the default: without
# XB_SIGN_PFX this does nothing.
#
#   scripts/sign.sh FILE...          (build-all.sh: every PE, then both MSIs)
#
#   XB_SIGN_PFX            the certificate and its key, PKCS#12 (.pfx / .p12)
#   XB_SIGN_PASSWORD_FILE  a file whose first line is the PFX password, or
#   XB_SIGN_PASSWORD       the password itself (never on a command line: it would be
#                          readable by every user of the build machine in /proc)
#   XB_SIGN_TIMESTAMP_URL  optional RFC 3161 time-stamping server, so signatures stay
#                          valid after the certificate expires
#   XB_SIGN_NAME, XB_SIGN_URL  optional description and URL shown in Windows' prompts
#
# See docs/deployment.md "Signing with your organisation's certificate".
set -euo pipefail

[ -n "${XB_SIGN_PFX:-}" ] || exit 0
[ $# -gt 0 ] || { echo "sign: no files given" >&2; exit 2; }
command -v osslsigncode >/dev/null ||
  { echo "sign: osslsigncode is missing (apt-get install osslsigncode)" >&2; exit 1; }
[ -r "$XB_SIGN_PFX" ] || { echo "sign: cannot read XB_SIGN_PFX '$XB_SIGN_PFX'" >&2; exit 1; }

# The password reaches osslsigncode through -readpass and a file descriptor: a here-string
# is a pipe (bash >= 5.1 for short texts), so it is neither on a command line nor on disk.
if [ -n "${XB_SIGN_PASSWORD_FILE:-}" ]; then
  [ -r "$XB_SIGN_PASSWORD_FILE" ] ||
    { echo "sign: cannot read XB_SIGN_PASSWORD_FILE '$XB_SIGN_PASSWORD_FILE'" >&2; exit 1; }
  IFS= read -r password <"$XB_SIGN_PASSWORD_FILE" || true
elif [ -n "${XB_SIGN_PASSWORD+set}" ]; then
  password=$XB_SIGN_PASSWORD
else
  echo "sign: XB_SIGN_PFX is set but neither XB_SIGN_PASSWORD_FILE nor XB_SIGN_PASSWORD" >&2
  exit 1
fi

opts=(-pkcs12 "$XB_SIGN_PFX" -h sha256 -n "${XB_SIGN_NAME:-XOAuth Bridge}")
[ -n "${XB_SIGN_URL:-}" ] && opts+=(-i "$XB_SIGN_URL")
[ -n "${XB_SIGN_TIMESTAMP_URL:-}" ] && opts+=(-ts "$XB_SIGN_TIMESTAMP_URL")

for f in "$@"; do
  [ -f "$f" ] || { echo "sign: $f does not exist" >&2; exit 1; }
  tmp="$f.signing"
  rm -f "$tmp"
  # A file signed before is signed afresh: osslsigncode replaces the signature.
  if ! osslsigncode sign "${opts[@]}" -readpass /dev/fd/3 -in "$f" -out "$tmp" \
       3<<<"$password" >"$tmp.log" 2>&1; then
    echo "sign: signing $f failed:" >&2
    cat "$tmp.log" >&2
    rm -f "$tmp" "$tmp.log"
    exit 1
  fi
  rm -f "$tmp.log"
  mv -f "$tmp" "$f"
  echo "sign: signed $f"
done
