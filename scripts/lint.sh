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
# LoadLibraryEx must say where to look: a flag, never 0 (the default search order
# includes folders other users can write to).
hits=$(git ls-files -co --exclude-standard -- '*.c' '*.h' |
       xargs -r grep -nE 'LoadLibraryEx[AW]?[[:space:]]*\([^;]*,[[:space:]]*0[[:space:]]*\)' || true)
if [ -n "$hits" ]; then
  echo "lint: LoadLibraryEx without a search flag (LOAD_LIBRARY_SEARCH_SYSTEM32 ...):"
  echo "$hits"
  exit 1
fi
# The add-in lives in Outlook's process: it must not change process-wide settings.
hits=$(git ls-files -co --exclude-standard -- 'addin/*.c' |
       xargs -r grep -nE '\b(SetDefaultDllDirectories|SetDllDirectory[AW]?|SetSearchPathMode|SetProcessMitigationPolicy)[[:space:]]*\(' || true)
if [ -n "$hits" ]; then
  echo "lint: the add-in changes Outlook's process-wide settings:"
  echo "$hits"
  exit 1
fi
echo "lint: no banned functions in $(git ls-files -co --exclude-standard -- '*.c' '*.h' | wc -l) C files"
