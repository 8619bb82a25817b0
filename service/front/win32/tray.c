/*
 * xoauthbridge tray (the default on Windows): the companion in the notification area.
 * This file is the GUI thread: a hidden window (found by class by a second start and by
 * the tests), the icon whose look is the overall health, the menu, the balloons, and the
 * Windows message loop. The core runs on the loop thread (trayloop.c); tray.h says how
 * the two meet and why.
 */
#include <stdio.h>
#include <string.h>

#include <windows.h>
#include <shellapi.h>

#include <event2/thread.h>

#include "front/win32/tray.h"
#include "core/events.h"
#include "core/config.h"
#include "core/mem.h"
#include "core/msg.h"
#include "xoauthbridge/version.h"

#define TIMER_ICON_RETRY 1
#define ICON_RETRY_MS    2000  /* at logon the shell may come up after us */
#define ENDSESSION_WAIT  5000
#define IDM_OPEN_LOG     2
#define IDM_PAUSE        3
#define IDM_ABOUT        4
#define IDM_QUIT         5
#define IDM_SIGNIN_BASE  1000
#define MENU_ACCOUNTS_MAX 100

enum health { H_OK, H_ATTENTION, H_ERROR };

/* Copies src into a fixed NOTIFYICONDATA field, cut without splitting a surrogate pair. */
static void copy_field(wchar_t *dst, size_t size, const wchar_t *src)
{
    size_t n = wcslen(src);
    if (n >= size) {
        n = size - 1;
        if (n && src[n - 1] >= 0xD800 && src[n - 1] <= 0xDBFF)
            n--;
    }
    memcpy(dst, src, n * sizeof(wchar_t));
    dst[n] = L'\0';
}

static wchar_t *msg_wide(enum xb_msg_id id)
{
    return xb_win_wide(xb_msg(id));
}

static enum health health(const struct xb_tray *t, enum xb_msg_id *tip)
{
    enum health h = H_OK;
    *tip = t->snap && t->snap->n ? XB_MSG_TIP_OK : XB_MSG_TIP_NO_ACCOUNTS;
    for (size_t i = 0; t->snap && i < t->snap->n; i++) {
        enum xb_account_state s = t->snap->a[i].state;
        if (s == XB_ACCT_TEMP_ERROR)
            h = H_ERROR;
        else if ((s == XB_ACCT_NEW || s == XB_ACCT_NEEDS_SIGNIN) && h == H_OK)
            h = H_ATTENTION;
    }
    if (h == H_OK && t->snap && t->snap->paused) {
        *tip = XB_MSG_TIP_PAUSED;
        return H_ATTENTION;
    }
    if (t->failed)
        h = H_ERROR;
    if (h != H_OK)
        *tip = h == H_ERROR ? XB_MSG_TIP_ERROR : XB_MSG_TIP_ATTENTION;
    return h;
}

static void base_data(const struct xb_tray *t, NOTIFYICONDATAW *nid)
{
    memset(nid, 0, sizeof(*nid));
    nid->cbSize = sizeof(*nid);
    nid->hWnd = t->hwnd;
    nid->uID = XB_TRAY_ICON_ID;
}

/* Icon, tooltip and callback, as the current health says. */
static void look_data(const struct xb_tray *t, NOTIFYICONDATAW *nid)
{
    enum xb_msg_id tip;
    enum health h = health(t, &tip);
    base_data(t, nid);
    nid->uFlags = NIF_ICON | NIF_TIP | NIF_MESSAGE | NIF_SHOWTIP;
    nid->uCallbackMessage = WM_XB_TRAY;
    nid->hIcon = t->icons[h];
    wchar_t *w = msg_wide(tip);
    copy_field(nid->szTip, sizeof(nid->szTip) / sizeof(wchar_t), w ? w : L"XOAuth Bridge");
    xb_free(w);
}

static void show_balloon(struct xb_tray *t, const wchar_t *title, const wchar_t *text,
                         DWORD flags, enum xb_ui_kind kind, const char *account);

static void add_icon(struct xb_tray *t)
{
    NOTIFYICONDATAW nid;
    look_data(t, &nid);
    if (!Shell_NotifyIconW(NIM_ADD, &nid)) {
        if (t->icon_tries++ == 0)
            xb_log_warn("tray: cannot add the notification-area icon yet (error %lu); "
                        "retrying", (unsigned long)GetLastError());
        SetTimer(t->hwnd, TIMER_ICON_RETRY, ICON_RETRY_MS, NULL);
        return;
    }
    KillTimer(t->hwnd, TIMER_ICON_RETRY);
    t->icon_added = true;
    t->icon_tries = 0;
    nid.uVersion = NOTIFYICON_VERSION_4;
    t->version4 = Shell_NotifyIconW(NIM_SETVERSION, &nid) != FALSE;
    xb_log_info("tray: icon added to the notification area (Shell_NotifyIconW ok, "
                "version %d)", t->version4 ? 4 : 0);
    struct tray_note *n = t->pending_note;
    t->pending_note = NULL;
    if (n) {
        PostMessageW(t->hwnd, WM_XB_NOTE, 0, (LPARAM)n);
    }
}

static void update_icon(struct xb_tray *t)
{
    NOTIFYICONDATAW nid;
    if (!t->icon_added)
        return;
    look_data(t, &nid);
    if (!Shell_NotifyIconW(NIM_MODIFY, &nid)) {
        t->icon_added = false; /* the shell lost it: add it again */
        add_icon(t);
    }
}

static void remove_icon(struct xb_tray *t)
{
    NOTIFYICONDATAW nid;
    if (!t->icon_added)
        return;
    base_data(t, &nid);
    Shell_NotifyIconW(NIM_DELETE, &nid);
    t->icon_added = false;
}

static void show_balloon(struct xb_tray *t, const wchar_t *title, const wchar_t *text,
                         DWORD flags, enum xb_ui_kind kind, const char *account)
{
    NOTIFYICONDATAW nid;
    base_data(t, &nid);
    nid.uFlags = NIF_INFO;
    nid.dwInfoFlags = flags;
    copy_field(nid.szInfoTitle, sizeof(nid.szInfoTitle) / sizeof(wchar_t), title);
    copy_field(nid.szInfo, sizeof(nid.szInfo) / sizeof(wchar_t), text);
    if (!Shell_NotifyIconW(NIM_MODIFY, &nid)) {
        xb_log_warn("tray: cannot show a notification (error %lu)",
                    (unsigned long)GetLastError());
        return;
    }
    xb_free(t->balloon_account);
    t->balloon_account = account ? xb_strdup(account) : NULL;
    t->balloon_kind = kind;
    xb_log_info("tray: notification shown (%s) for %s",
                kind < XB_UI_KIND__COUNT ? xb_ui_kind_name(kind) : "info",
                account ? account : "-");
}

static void on_note(struct xb_tray *t, struct tray_note *n)
{
    static const struct {
        enum xb_msg_id title;
        DWORD flags;
    } looks[XB_UI_KIND__COUNT] = {
        [XB_UI_SIGNIN_NEEDED] = { XB_MSG_TITLE_SIGNIN_NEEDED, NIIF_WARNING },
        [XB_UI_TESTING_EXPIRY] = { XB_MSG_TITLE_TESTING_EXPIRY, NIIF_WARNING },
        [XB_UI_OUTLOOK_FAILURE] = { XB_MSG_TITLE_OUTLOOK_FAILURE, NIIF_WARNING },
        [XB_UI_SIGNIN_DONE] = { XB_MSG_TITLE_SIGNIN_DONE, NIIF_INFO },
        [XB_UI_OUTLOOK_BRIDGED] = { XB_MSG_TITLE_OUTLOOK_BRIDGED, NIIF_INFO },
        [XB_UI_SIGNIN_FAILED] = { XB_MSG_TITLE_SIGNIN_FAILED, NIIF_ERROR },
        [XB_UI_PROBLEM] = { XB_MSG_TITLE_PROBLEM, NIIF_ERROR },
        [XB_UI_UNTRUSTED] = { XB_MSG_TITLE_UNTRUSTED, NIIF_ERROR },
        [XB_UI_WRONG_PASSWORD] = { XB_MSG_TITLE_WRONG_PASSWORD, NIIF_WARNING },
        [XB_UI_RECENT_MODE] = { XB_MSG_TITLE_RECENT_MODE, NIIF_WARNING },
        [XB_UI_RESTART_OUTLOOK] = { XB_MSG_TITLE_RESTART_OUTLOOK, NIIF_INFO },
        [XB_UI_PORTS_TAKEN] = { XB_MSG_TITLE_PORTS_TAKEN, NIIF_WARNING },
        [XB_UI_WEB_PROXY] = { XB_MSG_TITLE_WEB_PROXY, NIIF_ERROR },
    };
    if (!t->icon_added) {
        xb_tray_note_free(t->pending_note); /* the newest is what matters */
        t->pending_note = n;
        return;
    }
    if ((unsigned)n->kind < XB_UI_KIND__COUNT) {
        wchar_t *title = msg_wide(looks[n->kind].title);
        show_balloon(t, title ? title : L"XOAuth Bridge", n->text, looks[n->kind].flags,
                     n->kind, n->account);
        xb_free(title);
    }
    xb_tray_note_free(n);
}

/* A click on the balloon does the fix: sign in. */
static void on_balloon_click(struct xb_tray *t)
{
    bool fixable = t->balloon_kind == XB_UI_SIGNIN_NEEDED ||
                   t->balloon_kind == XB_UI_TESTING_EXPIRY ||
                   t->balloon_kind == XB_UI_OUTLOOK_FAILURE ||
                   t->balloon_kind == XB_UI_SIGNIN_FAILED;
    xb_log_info("tray: notification clicked (%s)", xb_ui_kind_name(t->balloon_kind));
    if (fixable && t->balloon_account)
        xb_tray_command(t, TRAY_CMD_SIGNIN, t->balloon_account);
    else if (t->balloon_kind == XB_UI_RESTART_OUTLOOK)
        xb_tray_command(t, TRAY_CMD_RESTART_OUTLOOK, NULL);
}

static void finish(struct xb_tray *t)
{
    remove_icon(t);
    DestroyWindow(t->hwnd);
}

static void quit(struct xb_tray *t)
{
    if (t->stopping)
        return;
    t->stopping = true;
    if (t->thread && WaitForSingleObject(t->thread, 0) == WAIT_TIMEOUT)
        xb_tray_command(t, TRAY_CMD_QUIT, NULL); /* WM_XB_STOPPED follows */
    else
        finish(t);
}

/* --- the menu ---------------------------------------------------------------------------- */

/* '&' marks a mnemonic in menus: an address may contain one. */
static wchar_t *menu_label(const char *utf8)
{
    wchar_t *w = xb_win_wide(utf8);
    if (!w)
        return NULL;
    size_t amps = 0, n = wcslen(w);
    for (size_t i = 0; i < n; i++)
        amps += w[i] == L'&';
    wchar_t *out = xb_new_array(wchar_t, n + amps + 1);
    if (out) {
        wchar_t *p = out;
        for (size_t i = 0; i < n; i++) {
            if (w[i] == L'&')
                *p++ = L'&';
            *p++ = w[i];
        }
        *p = L'\0';
    }
    xb_free(w);
    return out;
}

static void append(HMENU m, UINT flags, UINT_PTR id, enum xb_msg_id text)
{
    wchar_t *w = msg_wide(text);
    AppendMenuW(m, flags, id, w ? w : L"?");
    xb_free(w);
}

static void show_menu(struct xb_tray *t, int x, int y)
{
    static const enum xb_msg_id state_text[] = {
        [XB_ACCT_NEW] = XB_MSG_STATE_NEW, [XB_ACCT_OK] = XB_MSG_STATE_OK,
        [XB_ACCT_NEEDS_SIGNIN] = XB_MSG_STATE_NEEDS_SIGNIN,
        [XB_ACCT_TEMP_ERROR] = XB_MSG_STATE_TEMP_ERROR,
    };
    HMENU menu = CreatePopupMenu();
    size_t n = t->snap ? t->snap->n : 0;
    if (n > MENU_ACCOUNTS_MAX)
        n = MENU_ACCOUNTS_MAX;
    /* The menu is modal and snapshots keep arriving: it works on its own copy. */
    char **emails = n ? xb_new_array(char *, n) : NULL;
    bool running = t->started && !t->stopping && !t->failed;
    UINT live = running ? MF_STRING : MF_STRING | MF_GRAYED;
    if (!menu)
        return;
    for (size_t i = 0; emails && i < n; i++) {
        const struct tray_account *a = &t->snap->a[i];
        char label[600];
        emails[i] = xb_strdup(a->email);
        xb_msg_format(label, sizeof(label), XB_MSG_MENU_ACCOUNT, a->email,
                      xb_msg((unsigned)a->state < 4 ? state_text[a->state] : XB_MSG_STATE_NEW));
        HMENU sub = CreatePopupMenu();
        wchar_t *w = menu_label(label);
        if (sub && w) {
            append(sub, live, IDM_SIGNIN_BASE + i, XB_MSG_MENU_SIGNIN_AGAIN);
            AppendMenuW(menu, MF_STRING | MF_POPUP, (UINT_PTR)sub, w);
        } else if (sub) {
            DestroyMenu(sub);
        }
        xb_free(w);
    }
    if (!n)
        append(menu, MF_STRING | MF_GRAYED, 0, XB_MSG_MENU_NO_ACCOUNTS);
    AppendMenuW(menu, MF_SEPARATOR, 0, NULL);
    append(menu, MF_STRING, IDM_OPEN_LOG, XB_MSG_MENU_OPEN_LOG);
    append(menu, live, IDM_PAUSE,
           t->snap && t->snap->paused ? XB_MSG_MENU_RESUME : XB_MSG_MENU_PAUSE);
    append(menu, MF_STRING, IDM_ABOUT, XB_MSG_MENU_ABOUT);
    AppendMenuW(menu, MF_SEPARATOR, 0, NULL);
    append(menu, MF_STRING, IDM_QUIT, XB_MSG_MENU_QUIT);

    bool paused = t->snap && t->snap->paused;
    /* Without the foreground the menu would not close when clicking elsewhere. */
    SetForegroundWindow(t->hwnd);
    UINT cmd = (UINT)TrackPopupMenuEx(menu, TPM_RIGHTBUTTON | TPM_RETURNCMD | TPM_NONOTIFY,
                                      x, y, t->hwnd, NULL);
    PostMessageW(t->hwnd, WM_NULL, 0, 0);
    DestroyMenu(menu);

    if (cmd >= IDM_SIGNIN_BASE && cmd < IDM_SIGNIN_BASE + n && emails &&
        emails[cmd - IDM_SIGNIN_BASE]) {
        xb_tray_command(t, TRAY_CMD_SIGNIN, emails[cmd - IDM_SIGNIN_BASE]);
    } else if (cmd == IDM_OPEN_LOG) {
        ShellExecuteW(NULL, L"open", t->log_path, NULL, NULL, SW_SHOWNORMAL);
    } else if (cmd == IDM_PAUSE) {
        xb_tray_command(t, paused ? TRAY_CMD_RESUME : TRAY_CMD_PAUSE, NULL);
    } else if (cmd == IDM_ABOUT) {
        char text[2048], *log = xb_win_utf8(t->log_path);
        xb_msg_format(text, sizeof(text), XB_MSG_ABOUT_TEXT, XB_VERSION, log ? log : "?");
        wchar_t *w = xb_win_wide(text);
        MessageBoxW(t->hwnd, w ? w : L"XOAuth Bridge", L"XOAuth Bridge",
                    MB_OK | MB_ICONINFORMATION);
        xb_free(w);
        xb_free(log);
    } else if (cmd == IDM_QUIT) {
        quit(t);
    }
    for (size_t i = 0; emails && i < n; i++)
        xb_free(emails[i]);
    xb_free(emails);
}

/* --- a second start's arguments (instance.c sends them) ------------------------------- */

static BOOL on_handover(struct xb_tray *t, const COPYDATASTRUCT *cds)
{
    char *argv[XB_HANDOVER_ARGS_MAX + 1];
    int argc = 0;
    if (cds->dwData != XB_COPYDATA_ARGS || cds->cbData > XB_COPYDATA_MAX ||
        (cds->cbData && ((const char *)cds->lpData)[cds->cbData - 1] != '\0'))
        return FALSE;
    char *buf = xb_new_array(char, (size_t)cds->cbData + 1);
    if (!buf)
        return FALSE;
    if (cds->cbData)
        memcpy(buf, cds->lpData, cds->cbData);
    for (size_t off = 0; off < cds->cbData; off += strlen(buf + off) + 1) {
        if (argc == XB_HANDOVER_ARGS_MAX) {
            xb_free(buf);
            return FALSE;
        }
        argv[argc++] = buf + off;
    }
    BOOL ok = TRUE;
    bool did = false;
    if (argc == 0)
        xb_log_info("tray: handed over: no arguments (started again)");
    for (int i = 0; i < argc && ok; i++) {
        xb_log_info("tray: handed over: %s", argv[i]);
        if (strcmp(argv[i], "--quit") == 0) {
            quit(t);
            did = true;
        } else if (strcmp(argv[i], "--signin") == 0 && i + 1 < argc) {
            xb_log_info("tray: handed over: %s", argv[i + 1]);
            xb_tray_command(t, TRAY_CMD_SIGNIN, argv[++i]);
            did = true;
        } else if (strcmp(argv[i], "--pause") == 0 || strcmp(argv[i], "--resume") == 0) {
            xb_tray_command(t, argv[i][2] == 'p' ? TRAY_CMD_PAUSE : TRAY_CMD_RESUME, NULL);
            did = true;
        } else if (strcmp(argv[i], "--autostart") == 0) {
            did = true; /* started at logon twice (HKLM and HKCU): nothing to say */
        } else if ((strcmp(argv[i], "--lang") == 0 || strcmp(argv[i], "--config") == 0) &&
                   i + 1 < argc) {
            xb_log_info("tray: %s ignored: the running companion keeps its own", argv[i++]);
        } else if (strcmp(argv[i], "--verbose") != 0) {
            ok = FALSE;
        }
    }
    if (ok && !did) {
        wchar_t *w = msg_wide(XB_MSG_NOTE_ALREADY_RUNNING);
        /* XB_UI_KIND__COUNT: information only, nothing to fix on a click. */
        show_balloon(t, L"XOAuth Bridge", w ? w : L"XOAuth Bridge", NIIF_INFO,
                     XB_UI_KIND__COUNT, NULL);
        xb_free(w);
    }
    xb_free(buf);
    return ok;
}

/* --- the window ---------------------------------------------------------------------------- */

static LRESULT CALLBACK wndproc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
    struct xb_tray *t = (struct xb_tray *)GetWindowLongPtrW(hwnd, GWLP_USERDATA);
    if (msg == WM_NCCREATE) {
        t = ((CREATESTRUCTW *)lp)->lpCreateParams;
        t->hwnd = hwnd;
        SetWindowLongPtrW(hwnd, GWLP_USERDATA, (LONG_PTR)t);
    }
    if (!t)
        return DefWindowProcW(hwnd, msg, wp, lp);
    if (msg == t->taskbar_created && msg) {
        xb_log_info("tray: the taskbar was created again: adding the icon again");
        t->icon_added = true; /* whatever the shell still has of it goes first */
        remove_icon(t);
        add_icon(t);
        return 0;
    }
    switch (msg) {
    case WM_XB_TRAY:
        /* Version 4: LOWORD(lp) is the event, wp the anchor; version 0: lp is the event. */
        switch (LOWORD(lp)) {
        case NIN_BALLOONUSERCLICK:
            on_balloon_click(t);
            return 0;
        case WM_CONTEXTMENU:
        case NIN_SELECT:
        case NIN_KEYSELECT:
            if (t->version4)
                show_menu(t, (short)LOWORD(wp), (short)HIWORD(wp));
            return 0;
        case WM_RBUTTONUP:
        case WM_LBUTTONUP:
            if (!t->version4) {
                POINT pt;
                GetCursorPos(&pt);
                show_menu(t, pt.x, pt.y);
            }
            return 0;
        }
        return 0;
    case WM_XB_NOTE:
        on_note(t, (struct tray_note *)lp);
        return 0;
    case WM_XB_SNAPSHOT:
        xb_tray_snapshot_free(t->snap);
        t->snap = (struct tray_snapshot *)lp;
        update_icon(t);
        return 0;
    case WM_XB_STARTED:
        t->started = true;
        update_icon(t);
        return 0;
    case WM_XB_STOPPED:
        t->exit_code = (int)wp;
        if (t->stopping) {
            finish(t);
        } else {
            /* It could not start (the reason was logged and shown): stay, in red, so the
             * person sees it and can open the log or quit. */
            t->failed = true;
            update_icon(t);
        }
        return 0;
    case WM_COPYDATA:
        return on_handover(t, (const COPYDATASTRUCT *)lp);
    case WM_TIMER:
        if (wp == TIMER_ICON_RETRY && !t->icon_added)
            add_icon(t);
        return 0;
    case WM_QUERYENDSESSION:
        return TRUE;
    case WM_ENDSESSION:
        if (wp) {
            xb_log_info("tray: Windows session ends");
            quit(t);
            if (t->thread)
                WaitForSingleObject(t->thread, ENDSESSION_WAIT);
        }
        return 0;
    case WM_CLOSE:
        quit(t);
        return 0;
    case WM_DESTROY:
        PostQuitMessage(0);
        return 0;
    }
    return DefWindowProcW(hwnd, msg, wp, lp);
}

static HICON load_icon(int id)
{
    HICON h = LoadImageW(GetModuleHandleW(NULL), MAKEINTRESOURCEW(id), IMAGE_ICON,
                         GetSystemMetrics(SM_CXSMICON), GetSystemMetrics(SM_CYSMICON),
                         LR_DEFAULTCOLOR);
    return h ? h : LoadIconW(NULL, IDI_APPLICATION);
}

static int make_window(struct xb_tray *t)
{
    WNDCLASSEXW wc = { .cbSize = sizeof(wc) };
    wc.lpfnWndProc = wndproc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = XB_TRAY_CLASS;
    wc.hIcon = load_icon(IDI_XB_OK);
    if (!RegisterClassExW(&wc))
        return -1;
    t->icons[H_OK] = load_icon(IDI_XB_OK);
    t->icons[H_ATTENTION] = load_icon(IDI_XB_ATTENTION);
    t->icons[H_ERROR] = load_icon(IDI_XB_ERROR);
    t->taskbar_created = RegisterWindowMessageW(L"TaskbarCreated");
    /* A top-level window that is never shown: message-only windows (HWND_MESSAGE) get
     * neither TaskbarCreated broadcasts nor FindWindowW. */
    if (!CreateWindowExW(0, XB_TRAY_CLASS, L"XOAuth Bridge", WS_OVERLAPPED, 0, 0, 0, 0, NULL,
                         NULL, wc.hInstance, t))
        return -1;
    /* Should it run elevated, still hear Explorer's restart. A second start's hand-over
     * (WM_COPYDATA: quit, pause, sign in) is taken only from this integrity level or
     * higher, as Windows' message filter has it: a low-integrity program (a sandboxed
     * browser's, say) must not steer the companion. */
    ChangeWindowMessageFilterEx(t->hwnd, t->taskbar_created, MSGFLT_ALLOW, NULL);
    return 0;
}

/* --- xoauthbridge tray ---------------------------------------------------------------------- */

/* Logs to the default file until the configuration may name another. */
static int open_log(struct xb_tray *t, const char *path)
{
    char *def = NULL;
    struct xb_winlog *wl = NULL;
    if (!path && xb_winlog_default_path(&def) == XB_OK)
        path = def;
    if (path && xb_winlog_open(path, XB_WINLOG_MAX_BYTES, XB_WINLOG_KEEP, &wl) == XB_OK) {
        wchar_t *w = xb_win_wide(path);
        if (w) {
            struct xb_winlog *old = t->log;
            /* The sink reads t->log: swap while no other thread logs (before the loop). */
            t->log = wl;
            xb_winlog_close(old);
            xb_free(t->log_path);
            t->log_path = w;
            wl = NULL;
        }
    }
    xb_winlog_close(wl);
    xb_free(def);
    return t->log ? 0 : -1;
}

static void startup_error(enum xb_event_id event, const char *why)
{
    char text[2048];
    if (event == XB_EV_STORE_UNREADABLE)
        xb_log_event(event, "cannot start: the account store cannot be read: %s", why);
    else
        xb_log_event(XB_EV_CANNOT_START, "cannot start: %s", why);
    xb_msg_format(text, sizeof(text), XB_MSG_START_FAILED, why);
    wchar_t *w = xb_win_wide(text);
    MessageBoxW(NULL, w ? w : L"XOAuth Bridge cannot start", L"XOAuth Bridge",
                MB_OK | MB_ICONERROR);
    xb_free(w);
}

int xb_cmd_tray(int argc, char **argv)
{
    char *handover[XB_HANDOVER_ARGS_MAX];
    char *errmsg = NULL;
    HANDLE mutex = NULL;
    int rc = 1;

    /* What a second start hands over: its arguments after the verb, as given. */
    int nhandover = argc - 1;
    if (nhandover > XB_HANDOVER_ARGS_MAX)
        return 2;
    for (int i = 1; i < argc; i++)
        handover[i - 1] = argv[i];
    const char *lang = xb_cli_take_opt(&argc, argv, "lang");
    const char *signin = xb_cli_take_opt(&argc, argv, "signin");
    bool want_quit = xb_cli_take_flag(&argc, argv, "quit");
    xb_cli_take_flag(&argc, argv, "autostart");
    if (lang)
        xb_msg_set_lang(xb_lang_from_tag(lang));

    enum xb_err claim = xb_win_instance_claim(&mutex);
    if (claim == XB_ERR_AGAIN)
        return xb_win_instance_handover(nhandover, handover);
    if (want_quit) {
        if (mutex)
            CloseHandle(mutex);
        return 0; /* nothing runs: nothing to quit */
    }

    struct xb_tray *t = xb_new(struct xb_tray);
    if (!t)
        goto out;
    InitializeCriticalSection(&t->lock);
    xb_tray_ui_init(t);
    open_log(t, NULL);
    xb_log_set_sink(xb_ui_log_sink, &t->ui);
    xb_log_info("XOAuth Bridge %s starting (tray, %s)", XB_VERSION,
                xb_lang_code(xb_msg_get_lang()));
    if (claim != XB_OK)
        xb_log_warn("tray: cannot make sure this is the only companion of this user");
    if (xb_cli_load(&argc, argv, true, &t->env, &errmsg) != 0) {
        startup_error(t->env.store_unreadable ? XB_EV_STORE_UNREADABLE : XB_EV_CANNOT_START,
                      errmsg ? errmsg : "out of memory");
        goto out;
    }
    if (argc > 1) {
        xb_log_error("tray: unexpected argument '%s'", argv[1]);
        rc = 2;
        goto out;
    }
    if (t->env.cfg->log_file)
        open_log(t, t->env.cfg->log_file);
    if (make_window(t) != 0) {
        startup_error(XB_EV_CANNOT_START, "cannot create the tray window");
        goto out;
    }
    add_icon(t);
    if (signin)
        xb_tray_command(t, TRAY_CMD_SIGNIN, signin);
    /* Before the loop's event base exists: makes event_active() safe from this thread. */
    if (evthread_use_windows_threads() != 0 || xb_tray_loop_start(t) != 0) {
        startup_error(XB_EV_CANNOT_START, "cannot start the event loop");
        finish(t);
        goto out;
    }

    MSG m;
    while (GetMessageW(&m, NULL, 0, 0) > 0) {
        TranslateMessage(&m);
        DispatchMessageW(&m);
    }
    rc = t->exit_code;
    xb_log_info("tray: exiting (%d)", rc);
out:
    if (t) {
        if (t->thread) {
            WaitForSingleObject(t->thread, INFINITE);
            CloseHandle(t->thread);
        }
        xb_log_set_sink(NULL, NULL);
        xb_tray_snapshot_free(t->snap);
        xb_tray_note_free(t->pending_note);
        xb_free(t->balloon_account);
        for (struct tray_cmd *c = t->cmds, *next; c; c = next) {
            next = c->next;
            xb_free(c->email);
            xb_free(c);
        }
        xb_cli_close(&t->env);
        xb_ui_cleanup(&t->ui);
        xb_winlog_close(t->log);
        xb_free(t->log_path);
        DeleteCriticalSection(&t->lock);
        xb_free(t);
    }
    xb_free(errmsg);
    if (mutex) {
        ReleaseMutex(mutex);
        CloseHandle(mutex);
    }
    return rc;
}
