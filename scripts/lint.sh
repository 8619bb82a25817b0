#!/usr/bin/env bash
# The project's lint: functions STYLE.md bans (unbounded or unchecked forms, and
# LoadLibrary without a search-path flag), in every C file of the tree.
set -euo pipefail
cd "$(dirname "$0")/.."

banned='\b(sprintf|vsprintf|strcpy|strcat|sscanf|atoi|atol|strtok|gets|LoadLibrary[AW]?)[[:space:]]*\('
hits=$(git ls-files -co --exclude-standard -- '*.c' '*.h' | xargs -r grep -nE "$banned" || true)
if [ -n "$hits" ]; then
  echo "lint: banned functions (use snprintf, memcpy with a checked length, strtol, LoadLibraryEx ...):"
  echo "$hits"
  exit 1
fi
echo "lint: no banned functions in $(git ls-files -co --exclude-standard -- '*.c' '*.h' | wc -l) C files"
