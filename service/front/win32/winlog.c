/*
 * Logging for the tray: one file under %LOCALAPPDATA%\XOAuthBridge\logs\, rotated at a
 * size (xoauthbridge.log -> .1 -> ... -> .<keep>, the oldest dropped), and every error
 * also in the Windows Event Log, source "XOAuthBridge" (the MSI registers the source with
 * the executable's message table, events.mc, so Event Viewer shows the text).
 *
 * Lines come from both threads: one lock around the file. Lines never carry a secret
 * (log.h); the file inherits the owner-only access of the user's profile folder.
 */
#include <stdio.h>
#include <string.h>

#include "core/events.h"
#include "front/win32/tray.h"
#include "core/mem.h"
#include "platform/platform.h"
#include "xoauthbridge/names.h"

struct xb_winlog {
    CRITICAL_SECTION lock;
    wchar_t *path;
    HANDLE file;
    uint64_t size, max_bytes;
    unsigned keep;
    HANDLE events;            /* RegisterEventSourceW; NULL if refused */
    enum xb_log_level events_from; /* lines this bad or worse go to the Event Log too */
    bool rotate_failed;       /* said once, not per line */
};

enum xb_err xb_winlog_default_path(char **out)
{
    static const char leaf[] = "\\logs\\xoauthbridge.log";
    char *dir = NULL;
    *out = NULL;
    enum xb_err err = xb_plat_default_state_dir(&dir);
    if (err != XB_OK)
        return err;
    size_t n = strlen(dir) + sizeof(leaf);
    if ((*out = xb_new_array(char, n)))
        snprintf(*out, n, "%s%s", dir, leaf);
    xb_free(dir);
    return *out ? XB_OK : XB_ERR_NOMEM;
}

static HANDLE open_append(const wchar_t *path)
{
    /* Others may read (Notepad from "Open log") and rename it (a second rotation). */
    return CreateFileW(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE |
                       FILE_SHARE_DELETE, NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
}

/* path + ".N" into buf (which has room for the path and 12 more). */
static void numbered(wchar_t *buf, size_t size, const wchar_t *path, unsigned n)
{
    if (n)
        _snwprintf(buf, size, L"%ls.%u", path, n);
    else
        _snwprintf(buf, size, L"%ls", path);
    buf[size - 1] = L'\0';
}

static void rotate(struct xb_winlog *wl)
{
    size_t size = wcslen(wl->path) + 16;
    wchar_t *from = xb_new_array(wchar_t, size), *to = xb_new_array(wchar_t, size);
    bool ok = from && to;
    CloseHandle(wl->file);
    /* path.keep is overwritten by path.(keep-1), and so on down to path -> path.1. */
    for (unsigned i = wl->keep; ok && i > 0; i--) {
        numbered(from, size, wl->path, i - 1);
        numbered(to, size, wl->path, i);
        if (!MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING) &&
            GetLastError() != ERROR_FILE_NOT_FOUND)
            ok = i != 1; /* only the live file failing to move matters */
    }
    xb_free(from);
    xb_free(to);
    wl->file = open_append(wl->path);
    LARGE_INTEGER li;
    wl->size = wl->file != INVALID_HANDLE_VALUE && GetFileSizeEx(wl->file, &li)
                   ? (uint64_t)li.QuadPart : 0;
    if (!ok)
        wl->size = 0; /* try again after another max_bytes, not on every line */
    if (!ok && !wl->rotate_failed) {
        /* Go on appending: a log that grows beats a log that stops. */
        wl->rotate_failed = true;
        const char msg[] = "warn log rotation failed; appending to the same file\r\n";
        DWORD done;
        if (wl->file != INVALID_HANDLE_VALUE)
            WriteFile(wl->file, msg, (DWORD)(sizeof(msg) - 1), &done, NULL);
    } else if (ok) {
        wl->rotate_failed = false;
    }
}

static void report_event(struct xb_winlog *wl, WORD type, DWORD id, const char *line)
{
    if (!wl->events)
        return;
    wchar_t *w = xb_win_wide(line);
    const wchar_t *strings[1] = { w ? w : L"(out of memory)" };
    ReportEventW(wl->events, type, 0, id, NULL, 1, 0, strings, NULL);
    xb_free(w);
}

unsigned long xb_winlog_message_id(unsigned id, enum xb_log_level level)
{
    unsigned long sev = level == XB_LOG_ERROR ? 3ul : level == XB_LOG_WARN ? 2ul : 1ul;
    return sev << 30 | (id & 0xffffu);
}

void xb_winlog_set_events_from(struct xb_winlog *wl, enum xb_log_level level)
{
    if (wl)
        wl->events_from = level;
}

void xb_winlog_write(struct xb_winlog *wl, enum xb_log_level level, unsigned event,
                     const char *line)
{
    if (!wl)
        return;
    size_t len = strlen(line);
    EnterCriticalSection(&wl->lock);
    if (wl->file && wl->file != INVALID_HANDLE_VALUE) {
        DWORD done = 0;
        WriteFile(wl->file, line, (DWORD)len, &done, NULL);
        WriteFile(wl->file, "\r\n", 2, &done, NULL);
        wl->size += len + 2;
        if (wl->max_bytes && wl->size >= wl->max_bytes)
            rotate(wl);
    }
    /* The event's own ID; else every error as event 1, and other warnings and
     * information as events 2 and 3 where the caller asked for every line (restore
     * --all-users, which has no file); otherwise they stay in the file. */
    if (!event && level == XB_LOG_ERROR)
        event = XB_EV_ERROR;
    else if (!event && level <= wl->events_from)
        event = level == XB_LOG_WARN ? XB_EV_WARNING_LINE : XB_EV_INFO_LINE;
    if (event) {
        WORD type = level == XB_LOG_ERROR  ? EVENTLOG_ERROR_TYPE
                    : level == XB_LOG_WARN ? EVENTLOG_WARNING_TYPE
                                           : EVENTLOG_INFORMATION_TYPE;
        report_event(wl, type, (DWORD)xb_winlog_message_id(event, level), line);
    }
    LeaveCriticalSection(&wl->lock);
}

enum xb_err xb_winlog_open(const char *path, uint64_t max_bytes, unsigned keep,
                           struct xb_winlog **out)
{
    enum xb_err err = XB_ERR_NOMEM;
    struct xb_winlog *wl = xb_new(struct xb_winlog);
    char *dir = path ? xb_strdup(path) : NULL;
    *out = NULL;
    if (!wl)
        goto fail;
    wl->events_from = XB_LOG_ERROR;
    if (!path) {
        /* The Event Log only. */
        wl->file = NULL;
        goto events;
    }
    if (!dir || !(wl->path = xb_win_wide(path)))
        goto fail;
    char *slash = strrchr(dir, '\\');
    if (slash) {
        *slash = '\0';
        err = xb_plat_mkdir_private(dir);
        if (err != XB_OK)
            goto fail;
    }
    wl->file = open_append(wl->path);
    if (wl->file == INVALID_HANDLE_VALUE) {
        err = XB_ERR_IO;
        goto fail;
    }
    LARGE_INTEGER li;
    wl->size = GetFileSizeEx(wl->file, &li) ? (uint64_t)li.QuadPart : 0;
    wl->max_bytes = max_bytes;
    wl->keep = keep;
events:
    wl->events = RegisterEventSourceW(NULL, L"" XB_EVENT_SOURCE);
    InitializeCriticalSection(&wl->lock);
    xb_free(dir);
    *out = wl;
    return XB_OK;
fail:
    if (wl) {
        xb_free(wl->path);
        xb_free(wl);
    }
    xb_free(dir);
    return err;
}

void xb_winlog_close(struct xb_winlog *wl)
{
    if (!wl)
        return;
    if (wl->file && wl->file != INVALID_HANDLE_VALUE)
        CloseHandle(wl->file);
    if (wl->events)
        DeregisterEventSource(wl->events);
    DeleteCriticalSection(&wl->lock);
    xb_free(wl->path);
    xb_free(wl);
}
