#!/usr/bin/env bash
# The Windows front end under Wine, on a virtual X display (Xvfb) with Wine's desktop and
# task bar (explorer /desktop=shell,1024x768), in a Wine prefix of its own:
#
#   tray-test.sh prefix     make the prefix (a CTest fixture)
#   tray-test.sh tray       icon, window, Japanese notification (screenshots), menu, the
#                           icon again after TaskbarCreated, a click on the balloon
#                           starting the sign-in, refusing a foreign WM_COPYDATA, the
#                           Event Log message table, clean quit
#   tray-test.sh single     one companion per user: a second start hands over and exits;
#                           commands handed over (--signin, --pause, --resume, --quit)
#   tray-test.sh policy     HKLM over HKCU over the per-user file (`xoauthbridge config`),
#                           and the per-user port range (PortRangeStart/End) in the tray
#   tray-test.sh autostart  autostart on|off|status in HKCU\...\Run
#   tray-test.sh events     the Event Log: each event's ID, level and account, read back
#                           from Wine's trace of ReportEventW (Wine keeps no log to read)
#
# Environment (set by tests/windows/CMakeLists.txt): WINEPREFIX, XB_EXE, XB_HELPER,
# XB_OUT (artifacts: screenshots, logs).
set -euo pipefail

mode=${1:?usage: tray-test.sh prefix|tray|single|policy|autostart|events}
: "${WINEPREFIX:?}" "${XB_EXE:?}" "${XB_HELPER:?}" "${XB_OUT:?}"
export WINEPREFIX WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$XB_OUT"

xvfb_pid= tray_pid=
fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "# $*"; }

cleanup() {
  set +e
  [ -n "$tray_pid" ] && kill "$tray_pid" 2>/dev/null
  wineserver -k 2>/dev/null
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
}
trap cleanup EXIT

# A display number nobody uses: tests run in parallel, and so may other X servers.
start_x() {
  command -v Xvfb >/dev/null || fail "Xvfb is not installed (apt-get install xvfb)"
  for n in $(seq 93 160); do
    [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] && continue
    Xvfb ":$n" -screen 0 1024x768x24 -nolisten tcp >"$XB_OUT/xvfb-$mode.log" 2>&1 &
    xvfb_pid=$!
    for _ in $(seq 50); do
      [ -e "/tmp/.X11-unix/X$n" ] && break
      kill -0 "$xvfb_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$xvfb_pid" 2>/dev/null && [ -e "/tmp/.X11-unix/X$n" ]; then
      export DISPLAY=":$n"
      say "Xvfb on $DISPLAY"
      return
    fi
    wait "$xvfb_pid" 2>/dev/null || true
    xvfb_pid=
  done
  fail "no free X display"
}

# Windows paths of the prefix's user.
appdata() {
  local u
  u=$(ls "$WINEPREFIX/drive_c/users" | grep -v -x -e Public -e Default | head -1)
  echo "$WINEPREFIX/drive_c/users/$u/AppData/Local/XOAuthBridge"
}
winpath() { winepath -w "$1" 2>/dev/null; }
# Windows programs end their lines with CRLF.
xb() { wine "$XB_EXE" "$@" | tr -d '\r'; }
logfile() { echo "$(appdata)/logs/xoauthbridge.log"; }

# Waits until the companion's log has a line matching $1 (extended regex).
wait_log() {
  for _ in $(seq 200); do
    grep -Eq -- "$1" "$(logfile)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "--- log:" >&2; cat "$(logfile)" >&2 2>/dev/null || true
  fail "no log line matching: $1"
}

# A fresh state folder and per-user config file (the one %LOCALAPPDATA% holds).
fresh_state() {
  local dir
  dir=$(appdata)
  rm -rf "$dir"
  mkdir -p "$dir"
  url_file="$XB_OUT/browser-url-$mode.txt"
  rm -f "$url_file"
  export XB_TEST_URL_FILE
  XB_TEST_URL_FILE=$(winpath "$url_file")
  # Port 0: other tests run at the same time. The "browser" records the URL it gets.
  cat >"$dir/xoauthbridge.conf" <<EOF
[general]
browser = $(winpath "$XB_HELPER")
[proxy]
imap_listen = 127.0.0.1:0
pop3_listen = 127.0.0.1:0
smtp_listen = 127.0.0.1:0
[provider.google]
client_id = from-file
EOF
}

start_tray() {
  wine "$XB_EXE" tray "$@" >"$XB_OUT/tray-$mode.out" 2>&1 &
  tray_pid=$!
  wine "$XB_HELPER" find 20000 || fail "the companion's window did not appear"
  wait_log 'tray: icon added to the notification area \(Shell_NotifyIconW ok'
}

quit_tray() {
  xb tray --quit || fail "tray --quit did not hand over"
  local rc=0
  wait "$tray_pid" || rc=$?
  tray_pid=
  [ "$rc" = 0 ] || fail "the companion exited with $rc"
  wine "$XB_HELPER" gone 10000 || fail "the window is still there"
  wait_log 'tray: exiting \(0\)'
}

shot() {
  sleep "${2:-1}"
  import -display "$DISPLAY" -window root "$XB_OUT/$1" || fail "screenshot $1"
  say "screenshot: $XB_OUT/$1"
}

case "$mode" in
prefix)
  "$here/../tools/wine-prefix.sh" "$WINEPREFIX"
  # Every program of this prefix runs in one virtual desktop with Wine's task bar (the
  # same as `explorer /desktop=shell,1024x768`), so FindWindowW and the hand-over of a
  # second start see the companion's window, and plain `wine` keeps exit codes.
  wine reg add 'HKCU\Software\Wine\Explorer' /v Desktop /d shell /f >/dev/null
  wine reg add 'HKCU\Software\Wine\Explorer\Desktops' /v shell /d 1024x768 /f >/dev/null
  # A Japanese Windows links its UI font to a Japanese one; Wine needs telling.
  wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\FontLink\SystemLink' \
    /v Tahoma /t REG_MULTI_SZ /d 'NotoSansCJK-Regular.ttc,Noto Sans CJK JP' /f >/dev/null
  wineserver -w
  fc-list | grep -q 'Noto Sans CJK JP' || say "warning: fonts-noto-cjk missing: Japanese shows as boxes"
  say "tray prefix ready"
  ;;

tray)
  command -v import >/dev/null || fail "ImageMagick is not installed"
  start_x
  wineserver -p 2>/dev/null || true
  fresh_state
  # A CLI verb from the GUI-subsystem program still prints (the local password, once).
  secret=$(xb account add taro@example.ac.jp)
  [ ${#secret} -eq 32 ] || fail "account add printed '$secret'"
  start_tray --lang ja
  # An account nobody signed in: the core asks a person, the tray shows it, in Japanese.
  wait_log 'tray: notification shown \(signin-needed\) for taro@example.ac.jp'
  grep -q 'starting (tray, ja)' "$(logfile)" || fail "not in Japanese"
  shot tray-notification-ja.png 2
  wine "$XB_HELPER" menu || fail "cannot ask for the menu"
  shot tray-menu-ja.png 2
  wine "$XB_HELPER" cancel || true
  # Explorer restarted: the icon comes back.
  wine "$XB_HELPER" taskbar || fail "cannot broadcast TaskbarCreated"
  wait_log 'tray: the taskbar was created again'
  for _ in $(seq 50); do
    [ "$(grep -c 'tray: icon added to the notification area' "$(logfile)")" = 2 ] && break
    sleep 0.1
  done
  [ "$(grep -c 'tray: icon added to the notification area' "$(logfile)")" = 2 ] ||
    fail "the icon was not added again"
  # Something that is not a hand-over is refused.
  wine "$XB_HELPER" copydata x || fail "a foreign WM_COPYDATA was accepted"
  # A click on the balloon starts the browser sign-in for that account.
  wine "$XB_HELPER" click || fail "cannot click"
  wait_log 'tray: notification clicked \(signin-needed\)'
  wait_log 'sign-in of taro@example.ac.jp: waiting on http://127.0.0.1:'
  for _ in $(seq 100); do [ -s "$url_file" ] && break; sleep 0.1; done
  [ -s "$url_file" ] || fail "the browser was not started"
  grep -q 'login_hint=taro%40example.ac.jp' "$url_file" || fail "URL: $(cat "$url_file")"
  grep -q 'client_id=from-file' "$url_file" || fail "URL: $(cat "$url_file")"
  # One sign-in per account, whoever asks: the add-in's ENROL (here the CLI's login over
  # the pipe) joins the tray's sign-in instead of opening a second one ...
  rm -f "$url_file"
  (xb login taro@example.ac.jp >"$XB_OUT/login-join.out" 2>&1 &)
  wait_log 'waits for the sign-in of taro@example.ac.jp under way'
  [ "$(grep -c 'sign-in of taro@example.ac.jp: waiting on' "$(logfile)")" = 1 ] ||
    fail "a second sign-in was started for the same account"
  # ... and a second click shows the page of the sign-in under way again.
  wine "$XB_HELPER" click || fail "cannot click"
  wait_log 'sign-in of taro@example.ac.jp is already waiting: opening its page again'
  for _ in $(seq 100); do [ -s "$url_file" ] && break; sleep 0.1; done
  [ -s "$url_file" ] || fail "the page was not opened again"
  # The Event Log source's message table is in the executable.
  wine "$XB_HELPER" eventmsg "$(winpath "$XB_EXE")" || fail "no Event Log message table"
  quit_tray
  grep -q ' info stopped' "$(logfile)" || fail "the core did not stop cleanly"
  cp "$(logfile)" "$XB_OUT/tray-ja.log"
  say "log: $XB_OUT/tray-ja.log"
  ;;

single)
  start_x
  wineserver -p 2>/dev/null || true
  fresh_state
  start_tray
  # A second start (no arguments, as from the Start menu) hands over and exits.
  start=$(date +%s)
  xb || fail "the second start failed"
  [ $(( $(date +%s) - start )) -lt 8 ] || fail "the second start took too long"
  wait_log 'tray: handed over: no arguments'
  kill -0 "$tray_pid" || fail "the first companion is gone"
  # Started at logon by HKLM and HKCU both: silent.
  xb tray --autostart || fail "--autostart hand-over"
  wait_log 'tray: handed over: --autostart'
  # A command for the running one: sign in an address it does not know yet.
  xb tray --signin hanako@example.ac.jp || fail "--signin hand-over"
  wait_log 'tray: sign-in of hanako@example.ac.jp requested'
  for _ in $(seq 100); do [ -s "$url_file" ] && break; sleep 0.1; done
  grep -q 'login_hint=hanako%40example.ac.jp' "$url_file" || fail "no sign-in page for hanako"
  # Pause closes the listeners, resume opens them again.
  xb tray --pause || fail "--pause hand-over"
  wait_log 'paused: not accepting connections'
  xb tray --resume || fail "--resume hand-over"
  wait_log 'resumed: accepting connections'
  [ "$(grep -c 'imap: listening on' "$(logfile)")" = 2 ] || fail "not listening again"
  n=$(grep -c 'starting (tray' "$(logfile)")
  [ "$n" = 1 ] || fail "$n companions started"
  quit_tray
  # Nothing runs now: --quit has nothing to do and says so by succeeding at once.
  xb tray --quit || fail "--quit without a companion"
  ;;

policy)
  start_x # before Wine's first program: the tray is started at the end
  fresh_state
  wineserver -p 2>/dev/null || true
  pol='Software\Policies\XOAuthBridge'
  wine reg delete "HKLM\\$pol" /f >/dev/null 2>&1 || true
  wine reg delete "HKCU\\$pol" /f >/dev/null 2>&1 || true
  xb config >"$XB_OUT/config-file.txt" || fail "config"
  grep -qx 'client_id = from-file' "$XB_OUT/config-file.txt" || fail "file not read"
  grep -q '^# file: .*xoauthbridge.conf' "$XB_OUT/config-file.txt" || fail "not the per-user file"
  wine reg add "HKLM\\$pol" /v GoogleClientId /t REG_SZ /d from-hklm /f >/dev/null
  wine reg add "HKCU\\$pol" /v GoogleClientId /t REG_SZ /d from-hkcu /f >/dev/null
  wine reg add "HKCU\\$pol" /v LogLevel /t REG_SZ /d DEBUG /f >/dev/null
  wine reg add "HKLM\\$pol" /v MicrosoftClientId /t REG_DWORD /d 5 /f >/dev/null
  xb config >"$XB_OUT/config-policy.txt" || fail "config with policy"
  cat "$XB_OUT/config-policy.txt"
  grep -qx 'client_id = from-hklm' "$XB_OUT/config-policy.txt" || fail "HKLM does not win"
  grep -qxF "# set by policy HKLM\\$pol\\GoogleClientId" "$XB_OUT/config-policy.txt" ||
    fail "origin not shown"
  grep -qx 'log_level = debug' "$XB_OUT/config-policy.txt" || fail "HKCU LogLevel not applied"
  ! grep -q 'client_id = 5' "$XB_OUT/config-policy.txt" || fail "a REG_DWORD was taken as text"
  wine reg delete "HKLM\\$pol" /v GoogleClientId /f >/dev/null
  xb config | grep -qx 'client_id = from-hkcu' || fail "HKCU does not override the file"
  wine reg delete "HKLM\\$pol" /f >/dev/null
  wine reg delete "HKCU\\$pol" /f >/dev/null
  xb config | grep -qx 'client_id = from-file' || fail "the file is not back"
  # Per-user ports by policy: the companion listens on a slot of the range (IMAP, POP3,
  # SMTP on consecutive ports), saves it, and takes it again at the next start.
  lo=$((20000 + RANDOM % 10000)) # below the ephemeral ports
  wine reg add "HKLM\\$pol" /v PortRangeStart /t REG_DWORD /d $lo /f >/dev/null
  wine reg add "HKLM\\$pol" /v PortRangeEnd /t REG_DWORD /d $((lo + 5)) /f >/dev/null
  xb config >"$XB_OUT/config-ports.txt" || fail "config with a port range"
  grep -qx "port_range_start = $lo" "$XB_OUT/config-ports.txt" || fail "PortRangeStart not applied"
  grep -qx "port_range_end = $((lo + 5))" "$XB_OUT/config-ports.txt" || fail "PortRangeEnd not applied"
  start_tray
  wait_log "smtp: listening on 127\.0\.0\.1:($((lo + 2))|$((lo + 5)))\b"
  imap=$(grep -Eo 'imap: listening on 127\.0\.0\.1:[0-9]+' "$(logfile)" | tail -1 | cut -d: -f3)
  [ "$imap" = "$lo" ] || [ "$imap" = "$((lo + 3))" ] || fail "IMAP on $imap, not a slot of $lo..$((lo + 5))"
  grep -q "pop3: listening on 127\.0\.0\.1:$((imap + 1))\b" "$(logfile)" || fail "POP3 not next to IMAP"
  [ "$(tr -d '\r\n' <"$(appdata)/listen-ports")" = "$imap" ] || fail "slot not saved"
  quit_tray
  start_tray
  for _ in $(seq 100); do # the second start's listeners
    [ "$(grep -c 'smtp: listening on' "$(logfile)")" -ge 2 ] && break
    sleep 0.1
  done
  [ "$(grep -Eo 'imap: listening on 127\.0\.0\.1:[0-9]+' "$(logfile)" | tail -1 | cut -d: -f3)" = "$imap" ] ||
    fail "another slot at the next start"
  quit_tray
  wine reg delete "HKLM\\$pol" /f >/dev/null
  ;;

events)
  # Wine's ReportEventW keeps nothing, but traces each call: the type and the Event ID
  # (fixme:advapi), then the text (err/warn/trace:eventlog). What a SIEM would count.
  start_x
  fresh_state
  wineserver -p 2>/dev/null || true
  out="$XB_OUT/tray-events.out"
  # event ID, type (1 error, 2 warning, 4 information), a word of its text
  want_event() {
    local id=$1 type=$2 word=$3 sev
    case $type in 1) sev=c ;; 2) sev=8 ;; 4) sev=4 ;; esac
    local hex
    hex=$(printf '0x%s%07x' "$sev" "$id")
    for _ in $(seq 100); do
      if grep -q "ReportEventW ([0-9A-Fa-f]*,0x000$type,0x0000,$hex," "$out" 2>/dev/null &&
         grep -q "eventlog:ReportEventW L\".*\[event $id\].*$word" "$out"; then
        say "event $id (type $type): $(grep -o "\[event $id\][^\"]*" "$out" | head -1)"
        return 0
      fi
      sleep 0.1
    done
    echo "--- tray output:" >&2; grep -i "eventlog\|ReportEvent" "$out" >&2 || true
    fail "no event $id of type $type naming '$word' in the Event Log"
  }
  WINEDEBUG=fixme+advapi,err+eventlog,warn+eventlog,trace+eventlog \
    wine "$XB_EXE" tray >"$out" 2>&1 &
  tray_pid=$!
  wine "$XB_HELPER" find 20000 || fail "the companion's window did not appear"
  want_event 1000 4 'listens: imap 127\.0\.0\.1:'
  # From the add-in, through the companion: an account bridged, words it does not know.
  wine "$XB_HELPER" report bridged taro@example.ac.jp | tr -d '\r' | grep -qx 'status 0' ||
    fail "ACCOUNT_BRIDGED not taken"
  want_event 1002 4 'taro@example\.ac\.jp: Outlook.s POP3 account now goes through'
  wine "$XB_HELPER" report unmatched taro@example.ac.jp | tr -d '\r' | grep -qx 'status 0' ||
    fail "REPORT_UNMATCHED not taken"
  want_event 2003 2 'taro@example\.ac\.jp: Outlook reported a POP3 error whose words'
  # Plain warnings stay in the file; errors that are no event are event 1.
  ! grep -q "ReportEventW ([0-9A-Fa-f]*,0x0002,0x0000,0x80000001," "$out" || fail "warning as event 1"
  quit_tray
  # A store that cannot be read: the companion does not start, and says so as event 3001.
  printf 'not a store' >"$(appdata)/accounts.store"
  WINEDEBUG=fixme+advapi,err+eventlog,warn+eventlog,trace+eventlog \
    wine "$XB_EXE" tray >"$out" 2>&1 &
  tray_pid=$!
  want_event 3001 1 'cannot start: the account store cannot be read'
  kill "$tray_pid" 2>/dev/null || true # its message box waits for a click
  wait "$tray_pid" 2>/dev/null || true
  tray_pid=
  wineserver -k 2>/dev/null || true
  ;;

autostart)
  wineserver -p 2>/dev/null || true
  run='HKCU\Software\Microsoft\Windows\CurrentVersion\Run'
  xb autostart on | tee "$XB_OUT/autostart-on.txt"
  grep -q 'starts when you sign in' "$XB_OUT/autostart-on.txt" || fail "no message"
  wine reg query "$run" /v XOAuthBridge | tee "$XB_OUT/autostart-reg.txt"
  grep -q 'xoauthbridge.exe" tray --autostart' "$XB_OUT/autostart-reg.txt" || fail "Run value"
  xb autostart status | grep -q '^this user (HKCU): on' || fail "status on"
  xb autostart off
  ! wine reg query "$run" /v XOAuthBridge >/dev/null 2>&1 || fail "Run value not removed"
  xb autostart status | grep -q '^this user (HKCU): off' || fail "status off"
  xb autostart off || fail "off twice"
  ;;

*)
  fail "unknown mode $mode"
  ;;
esac
say "ok: $mode"
