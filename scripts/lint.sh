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
# The tray's hand-over (WM_COPYDATA) is for programs of its own integrity level or higher:
# nothing may open Windows' message filter to it.
hits=$(git ls-files -co --exclude-standard -- '*.c' |
       xargs -r grep -nE 'ChangeWindowMessageFilter(Ex)?[[:space:]]*\([^;]*WM_COPYDATA' || true)
if [ -n "$hits" ]; then
  echo "lint: WM_COPYDATA let through Windows' message filter (lower integrity levels):"
  echo "$hits"
  exit 1
fi
# Layers (docs/architecture.md): the core and the platform layer include nothing of the
# front ends; the add-in includes only what xbshared builds; one include style, rooted at
# service/ (no "../").
layer_fail() { echo "lint: $1:"; echo "$2"; exit 1; }
hits=$(git ls-files -co --exclude-standard -- 'service/core/*' 'service/platform/*' |
       xargs -r grep -nE '#include "(front/|cli\.h)' || true)
[ -z "$hits" ] || layer_fail "the core or the platform layer includes a front end" "$hits"
hits=$(git ls-files -co --exclude-standard -- 'service/*.[ch]' 'addin/*.[ch]' 'tests/*.[ch]' |
       xargs -r grep -nE '#include "\.\./' || true)
[ -z "$hits" ] || layer_fail "a relative include (write it from service/ or include/)" "$hits"
shared='"(core/addinpol\.h|core/ascii\.h|core/err\.h|core/pipe_codec\.h|platform/ctlclient\.h|platform/win32/olprofile\.h|xoauthbridge/[a-z_]+\.h)"'
hits=$(git ls-files -co --exclude-standard -- 'addin/*.[ch]' |
       xargs -r grep -nE '#include "(core|platform|front)/' | grep -vE "#include $shared" || true)
[ -z "$hits" ] || layer_fail "the add-in includes companion code that xbshared does not build" "$hits"
echo "lint: no banned functions in $(git ls-files -co --exclude-standard -- '*.c' '*.h' | wc -l) C files"
