/*
 * The tray's log file under Wine (front/win32/winlog.c): appends, rotates at the size
 * given (log -> .1 -> ... -> .keep, the oldest dropped), creates its folder, survives a
 * reader holding the file, and hands error lines to the Event Log without failing.
 */
#include <stdio.h>
#include <string.h>

#include <windows.h>

#include "front/win32/tray.h"
#include "core/mem.h"

#include "xbtest.h"

static char dir[MAX_PATH * 3];

static void path_of(char *out, size_t size, const char *leaf)
{
    snprintf(out, size, "%s\\logs\\%s", dir, leaf);
}

static long long size_of(const char *leaf)
{
    char p[sizeof(dir) + 64];
    path_of(p, sizeof(p), leaf);
    wchar_t *w = xb_win_wide(p);
    WIN32_FILE_ATTRIBUTE_DATA a;
    BOOL ok = w && GetFileAttributesExW(w, GetFileExInfoStandard, &a);
    xb_free(w);
    return ok ? ((long long)a.nFileSizeHigh << 32) | a.nFileSizeLow : -1;
}

static void rotates_and_keeps(void)
{
    char p[sizeof(dir) + 64];
    struct xb_winlog *wl = NULL;
    path_of(p, sizeof(p), "test.log");
    CHECK(xb_winlog_open(p, 1000, 3, &wl) == XB_OK);
    char line[60];
    for (int i = 0; i < 200; i++) {
        snprintf(line, sizeof(line), "info line %03d %s", i, "................................");
        xb_winlog_write(wl, XB_LOG_INFO, 0, line);
    }
    xb_winlog_write(wl, XB_LOG_ERROR, 0, "error a test error line for the Event Log");
    xb_winlog_close(wl);
    CHECK(size_of("test.log") > 0 && size_of("test.log") < 1000);
    for (int i = 1; i <= 3; i++) {
        char leaf[32];
        snprintf(leaf, sizeof(leaf), "test.log.%d", i);
        long long n = size_of(leaf);
        CHECK(n >= 1000 && n < 1100);
        if (n < 1000 || n >= 1100)
            printf("#   %s: %lld bytes\n", leaf, n);
    }
    CHECK(size_of("test.log.4") == -1);

    /* Appends to what is there. */
    long long before = size_of("test.log");
    CHECK(xb_winlog_open(p, 1000, 3, &wl) == XB_OK);
    xb_winlog_write(wl, XB_LOG_WARN, 0, "warn again");
    xb_winlog_close(wl);
    CHECK(size_of("test.log") == before + (long long)strlen("warn again") + 2);
}

static void a_reader_does_not_stop_it(void)
{
    char p[sizeof(dir) + 64];
    struct xb_winlog *wl = NULL;
    path_of(p, sizeof(p), "held.log");
    CHECK(xb_winlog_open(p, 500, 2, &wl) == XB_OK);
    xb_winlog_write(wl, XB_LOG_INFO, 0, "first");
    /* Notepad-like: reads, shares read and write but not delete. */
    wchar_t *w = xb_win_wide(p);
    HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, 0, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    for (int i = 0; i < 100; i++)
        xb_winlog_write(wl, XB_LOG_INFO, 0, "a line that fills the file up ..............");
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    for (int i = 0; i < 100; i++)
        xb_winlog_write(wl, XB_LOG_INFO, 0, "a line that fills the file up ..............");
    xb_winlog_close(wl);
    xb_free(w);
    CHECK(size_of("held.log") > 0);
    CHECK(size_of("held.log.1") > 0); /* rotated once the reader let go */
}

static void default_path(void)
{
    char *p = NULL;
    CHECK(xb_winlog_default_path(&p) == XB_OK);
    CHECK(p && strstr(p, "\\XOAuthBridge\\logs\\xoauthbridge.log") != NULL);
    xb_free(p);
}

static int setup_dir(void)
{
    wchar_t tmp[MAX_PATH + 1];
    char t[MAX_PATH * 3];
    if (!GetTempPathW(MAX_PATH + 1, tmp) ||
        !WideCharToMultiByte(CP_UTF8, 0, tmp, -1, t, (int)sizeof(t), NULL, NULL))
        return -1;
    snprintf(dir, sizeof(dir), "%sxbwinlog-%lu-%lu", t, (unsigned long)GetCurrentProcessId(),
             (unsigned long)GetTickCount());
    return 0;
}

static void run_all(void)
{
    CHECK(setup_dir() == 0);
    rotates_and_keeps();
    a_reader_does_not_stop_it();
    default_path();
}

XBTEST_MAIN(XBTEST(run_all))
