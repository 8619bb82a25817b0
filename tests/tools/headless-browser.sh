#!/bin/sh
# A "system browser" for tests: Debian's Chromium, headless, in a fresh profile. It
# follows the whole consent redirect chain like a person's browser would and writes the
# final page (the loopback listener's result page) to $XB_BROWSER_DUMP if set.
#   headless-browser.sh URL
set -eu
url=${1:?usage: headless-browser.sh URL}
chrome=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chrome" ] || { echo "headless-browser.sh: chromium is not installed" >&2; exit 127; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-dev-shm-usage --user-data-dir="$profile" --virtual-time-budget=10000 \
  --dump-dom "$url" >"$profile/dom.html" 2>/dev/null || true
[ -z "${XB_BROWSER_DUMP:-}" ] || mv "$profile/dom.html" "$XB_BROWSER_DUMP"
