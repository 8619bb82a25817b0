/*
 * The Windows front end (the tray): shared between its files and the Wine tests.
 *
 * Two threads (see docs/architecture.md, "The tray and the event loop"):
 *   - the GUI thread owns the hidden window, the notification-area icon, the menu and
 *     the balloons, and runs the Windows message loop (tray.c);
 *   - the loop thread runs the same core as `serve` (xb_serve_run) on its libevent loop
 *     (trayloop.c).
 * Nothing of the core is touched from the GUI thread. The loop thread talks to the GUI
 * with PostMessageW (snapshots and notes it allocates and the GUI frees); the GUI talks
 * to the loop through a locked command queue and event_active() on a libevent event,
 * which is safe across threads because libevent's Windows locking is switched on
 * (evthread_use_windows_threads) before the loop's event base is made.
 */
#ifndef XB_FRONT_WIN32_TRAY_H
#define XB_FRONT_WIN32_TRAY_H

#include <stdbool.h>
#include <stdint.h>

#include <windows.h>

#include "core/log.h"
#include "core/store.h"
#include "core/ui.h"
#include "front/front.h"

/* What a second start and the tests find the running companion by. */
#define XB_TRAY_CLASS     L"XOAuthBridgeTray"
#define XB_TRAY_ICON_ID   1
/* WM_COPYDATA from a second start: its arguments after the verb, UTF-8, each ended by
 * a NUL. Anything else sent to the window is refused. */
#define XB_COPYDATA_ARGS  0x58424131u /* "XBA1" */
#define XB_COPYDATA_MAX   (32u * 1024u)
#define XB_HANDOVER_ARGS_MAX 32

enum {
    WM_XB_TRAY = WM_APP + 1,  /* the icon's callback message */
    WM_XB_NOTE,               /* loop -> GUI: lParam struct tray_note * */
    WM_XB_SNAPSHOT,           /* loop -> GUI: lParam struct tray_snapshot * */
    WM_XB_STARTED,            /* loop -> GUI: the proxy listens */
    WM_XB_STOPPED,            /* loop -> GUI: xb_serve_run returned wParam */
};

#include "front/win32/tray_res.h" /* icon IDs */

/* A notification on its way to the GUI thread. */
struct tray_note {
    enum xb_ui_kind kind;
    char *account;            /* UTF-8, may be NULL */
    wchar_t *text;
};

/* The accounts as the loop thread last saw them, for the menu and the icon. */
struct tray_account {
    char *email;
    enum xb_account_state state;
};
struct tray_snapshot {
    bool paused;
    size_t n;
    struct tray_account a[];
};

enum tray_cmd_kind {
    TRAY_CMD_SIGNIN, TRAY_CMD_PAUSE, TRAY_CMD_RESUME, TRAY_CMD_QUIT, TRAY_CMD_RESTART_OUTLOOK,
};

struct tray_cmd {
    enum tray_cmd_kind kind;
    char *email;              /* TRAY_CMD_SIGNIN */
    struct tray_cmd *next;
};

struct event;
struct xb_winlog;

struct xb_tray {
    /* Set up by the GUI thread before the loop thread starts; read-only after. */
    HWND hwnd;
    struct xb_cli_env env;
    wchar_t *log_path;
    struct xb_winlog *log;
    struct xb_ui ui;          /* the tray's implementation of the core's interface */

    /* Shared: under lock. */
    CRITICAL_SECTION lock;
    struct tray_cmd *cmds;
    struct event *cmd_ev;     /* NULL unless the loop runs */

    /* Loop thread only. */
    struct xb_serve *sv;
    struct event *snap_timer;

    /* GUI thread only. */
    HANDLE thread;
    UINT taskbar_created;
    bool icon_added, version4, started, stopping, failed;
    unsigned icon_tries;
    HICON icons[3];
    struct tray_snapshot *snap;
    struct tray_note *pending_note;   /* waiting for the icon to exist */
    enum xb_ui_kind balloon_kind;
    char *balloon_account;            /* what a click on the balloon signs in */
    int exit_code;
};

/* trayloop.c */
void xb_tray_ui_init(struct xb_tray *t);
/* Starts the loop thread; 0 on success. */
int xb_tray_loop_start(struct xb_tray *t);
/* Queues a command for the loop (any thread); email may be NULL. */
void xb_tray_command(struct xb_tray *t, enum tray_cmd_kind kind, const char *email);
void xb_tray_note_free(struct tray_note *n);
void xb_tray_snapshot_free(struct tray_snapshot *s);

/* winlog.c: the log file, rotated, plus errors to the Windows Event Log. */
#define XB_WINLOG_MAX_BYTES (1024u * 1024u)
#define XB_WINLOG_KEEP      5
/* %LOCALAPPDATA%\XOAuthBridge\logs\xoauthbridge.log, UTF-8, for the caller to free. */
enum xb_err xb_winlog_default_path(char **out);
/* Opens (creating its folder, owner-only) path for appending; when it reaches max_bytes
 * it becomes path.1, path.1 becomes path.2 ... up to path.<keep>. path NULL: no file,
 * the Event Log only. */
enum xb_err xb_winlog_open(const char *path, uint64_t max_bytes, unsigned keep,
                           struct xb_winlog **out);
/* Any thread. An event (core/events.h) also goes to the Event Log (source
 * XB_EVENT_SOURCE) with its ID and level, and so does every other error line (event 1);
 * other warnings and information too (events 2 and 3) when set_events_from says so
 * (default: errors only). */
void xb_winlog_write(struct xb_winlog *wl, enum xb_log_level level, unsigned event,
                     const char *line);
void xb_winlog_set_events_from(struct xb_winlog *wl, enum xb_log_level level);
void xb_winlog_close(struct xb_winlog *wl);
/* The message ID of event id at level in the message table (events.mc): the severity
 * in the top two bits, as mc numbers them. */
unsigned long xb_winlog_message_id(unsigned id, enum xb_log_level level);

/* instance.c */
/* Claims the per-session mutex Local\XOAuthBridge-<user SID>: XB_OK (*mutex to keep
 * until exit), XB_ERR_AGAIN when another companion of this user holds it. */
enum xb_err xb_win_instance_claim(HANDLE *mutex);
/* Hands args (after the verb) to the running companion's window; the exit code. */
int xb_win_instance_handover(int argc, char **argv);

/* Wide <-> UTF-8, allocated (NULL when out of memory or invalid). */
#include "platform/win32/wide.h"   /* xb_win_wide, xb_win_utf8 */

#endif
