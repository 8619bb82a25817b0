/*
 * The add-in's own log: %LOCALAPPDATA%\XOAuthBridge\logs\addin.log, next to the
 * companion's, one line per event with the time and the thread, kept under 1 MiB (one
 * older file, addin.log.1). Never a secret: callers pass addresses, hosts, codes and
 * Outlook's descriptions, nothing else. Any thread may log.
 */
#include "addin.h"

#include <shlobj.h>

#include <stdarg.h>
#include <stdio.h>
#include <wchar.h>

#define LOG_MAX (1024 * 1024)

static CRITICAL_SECTION log_lock;
static wchar_t log_path[MAX_PATH];

void xb_addin_log_init(void)
{
    wchar_t dir[MAX_PATH];
    InitializeCriticalSection(&log_lock);
    DWORD n = GetEnvironmentVariableW(L"LOCALAPPDATA", dir, MAX_PATH);
    if (n == 0 || n >= MAX_PATH) {
        if (FAILED(SHGetFolderPathW(NULL, CSIDL_LOCAL_APPDATA, NULL, SHGFP_TYPE_CURRENT, dir)))
            return;
    }
    wchar_t path[MAX_PATH];
    _snwprintf(path, MAX_PATH, L"%ls\\XOAuthBridge", dir);
    path[MAX_PATH - 1] = L'\0';
    CreateDirectoryW(path, NULL);
    _snwprintf(path, MAX_PATH, L"%ls\\XOAuthBridge\\logs", dir);
    path[MAX_PATH - 1] = L'\0';
    CreateDirectoryW(path, NULL);
    _snwprintf(log_path, MAX_PATH, L"%ls\\addin.log", path);
    log_path[MAX_PATH - 1] = L'\0';
}

void xb_addin_log_cleanup(void)
{
    DeleteCriticalSection(&log_lock);
}

/* Keeps one older file: addin.log.1. */
static void rotate(void)
{
    wchar_t old[MAX_PATH + 4];
    _snwprintf(old, MAX_PATH + 4, L"%ls.1", log_path);
    old[MAX_PATH + 3] = L'\0';
    MoveFileExW(log_path, old, MOVEFILE_REPLACE_EXISTING);
}

void xb_addin_log(const char *fmt, ...)
{
    char line[3072];
    SYSTEMTIME t;
    if (!log_path[0])
        return;
    GetLocalTime(&t);
    int at = snprintf(line, sizeof(line), "%04u-%02u-%02u %02u:%02u:%02u.%03u [%lu] ",
                      t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond,
                      t.wMilliseconds, (unsigned long)GetCurrentThreadId());
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + at, sizeof(line) - (size_t)at - 2, fmt, ap);
    va_end(ap);
    size_t len = (size_t)at + (n < 0 ? 0 : (size_t)n);
    if (len > sizeof(line) - 3)
        len = sizeof(line) - 3;
    /* One line per event: Outlook's descriptions can hold line breaks. */
    for (size_t i = (size_t)at; i < len; i++) {
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    }
    line[len++] = '\r';
    line[len++] = '\n';

    EnterCriticalSection(&log_lock);
    HANDLE h = CreateFileW(log_path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE |
                           FILE_SHARE_DELETE, NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h != INVALID_HANDLE_VALUE) {
        DWORD wrote = 0;
        WriteFile(h, line, (DWORD)len, &wrote, NULL);
        LARGE_INTEGER size;
        BOOL full = GetFileSizeEx(h, &size) && size.QuadPart >= LOG_MAX;
        CloseHandle(h);
        if (full)
            rotate();
    }
    LeaveCriticalSection(&log_lock);
}
