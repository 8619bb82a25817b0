/*
 * One companion per user session, and autostart per user.
 *
 * Single instance: a mutex named Local\XOAuthBridge-<user SID> (Local: per session, so
 * every Remote Desktop user has their own companion; the SID: two users switched into
 * the same session do not meet). A second start finds the first one's window by class
 * and hands it its arguments with WM_COPYDATA (tray.c checks and acts on them), then
 * exits. The control pipe may take this over later; the window is the simplest channel
 * that needs no core.
 *
 * Autostart: HKCU\Software\Microsoft\Windows\CurrentVersion\Run\XOAuthBridge =
 * "<this exe>" tray --autostart. The MSI writes the same value name under HKLM for every
 * user; a companion started by both just hands over to itself, silently (--autostart).
 */
#include <stdio.h>
#include <string.h>

#include "front/win32/tray.h" /* <windows.h> first */

#include <sddl.h>

#include "core/mem.h"
#include "core/msg.h"
#include "xoauthbridge/names.h"

#define HANDOVER_WAIT_MS   10000 /* the first companion may still be starting */
#define HANDOVER_POLL_MS   200

static wchar_t *user_sid(void)
{
    HANDLE token = NULL;
    TOKEN_USER *user = NULL;
    DWORD size = 0;
    wchar_t *sid = NULL, *copy = NULL;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        return NULL;
    GetTokenInformation(token, TokenUser, NULL, 0, &size);
    if (size && (user = xb_calloc_array(1, size)) &&
        GetTokenInformation(token, TokenUser, user, size, &size) &&
        ConvertSidToStringSidW(user->User.Sid, &sid)) {
        size_t n = wcslen(sid) + 1;
        if ((copy = xb_new_array(wchar_t, n)))
            memcpy(copy, sid, n * sizeof(wchar_t));
        LocalFree(sid);
    }
    xb_free(user);
    CloseHandle(token);
    return copy;
}

enum xb_err xb_win_instance_claim(HANDLE *mutex)
{
    static const wchar_t prefix[] = L"Local\\XOAuthBridge-";
    *mutex = NULL;
    wchar_t *sid = user_sid();
    if (!sid)
        return XB_ERR_IO;
    size_t n = wcslen(prefix) + wcslen(sid) + 1;
    wchar_t *name = xb_new_array(wchar_t, n);
    if (!name) {
        xb_free(sid);
        return XB_ERR_NOMEM;
    }
    _snwprintf(name, n, L"%ls%ls", prefix, sid);
    name[n - 1] = L'\0';
    HANDLE m = CreateMutexW(NULL, TRUE, name);
    DWORD e = GetLastError();
    xb_free(name);
    xb_free(sid);
    if (!m)
        /* Someone else's object under our name: treat it as taken, never share it. */
        return e == ERROR_ACCESS_DENIED ? XB_ERR_AGAIN : XB_ERR_IO;
    if (e == ERROR_ALREADY_EXISTS) {
        CloseHandle(m);
        return XB_ERR_AGAIN;
    }
    *mutex = m;
    return XB_OK;
}

int xb_win_instance_handover(int argc, char **argv)
{
    size_t len = 0;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    if (argc > XB_HANDOVER_ARGS_MAX || len > XB_COPYDATA_MAX) {
        fprintf(stderr, "xoauthbridge: too many arguments to hand over\n");
        return 2;
    }
    char *buf = xb_new_array(char, len + 1);
    if (!buf)
        return 1;
    char *p = buf;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(p, argv[i], n);
        p += n;
    }
    HWND w = NULL;
    for (DWORD waited = 0; !(w = FindWindowW(XB_TRAY_CLASS, NULL)) && waited < HANDOVER_WAIT_MS;
         waited += HANDOVER_POLL_MS)
        Sleep(HANDOVER_POLL_MS);
    int rc = 1;
    if (!w) {
        fprintf(stderr, "xoauthbridge: another companion runs but its window did not "
                        "answer\n");
        goto out;
    }
    COPYDATASTRUCT cds = { XB_COPYDATA_ARGS, (DWORD)len, buf };
    DWORD_PTR result = 0;
    if (!SendMessageTimeoutW(w, WM_COPYDATA, 0, (LPARAM)&cds, SMTO_ABORTIFHUNG, 10000,
                             &result)) {
        fprintf(stderr, "xoauthbridge: the running companion did not answer\n");
        goto out;
    }
    rc = result ? 0 : 2;
    if (!result)
        fprintf(stderr, "xoauthbridge: the running companion refused the arguments\n");
out:
    xb_free(buf);
    return rc;
}

/* --- autostart ---------------------------------------------------------------------------- */

static bool machine_entry(void)
{
    return RegGetValueW(HKEY_LOCAL_MACHINE, L"" XB_RUN_KEY, L"" XB_RUN_VALUE, RRF_RT_REG_SZ,
                        NULL, NULL, NULL) == ERROR_SUCCESS;
}

static LONG autostart_on(void)
{
    wchar_t exe[32768];
    DWORD n = GetModuleFileNameW(NULL, exe, (DWORD)(sizeof(exe) / sizeof(exe[0])));
    if (n == 0 || n >= sizeof(exe) / sizeof(exe[0]))
        return ERROR_FILENAME_EXCED_RANGE;
    size_t size = n + sizeof(XB_AUTOSTART_ARGS) + 4;
    wchar_t *value = xb_new_array(wchar_t, size);
    if (!value)
        return ERROR_OUTOFMEMORY;
    /* Quoted: "C:\Program Files\..." has a space. */
    _snwprintf(value, size, L"\"%ls\" %ls", exe, L"" XB_AUTOSTART_ARGS);
    value[size - 1] = L'\0';
    LONG e = RegSetKeyValueW(HKEY_CURRENT_USER, L"" XB_RUN_KEY, L"" XB_RUN_VALUE, REG_SZ, value,
                             (DWORD)((wcslen(value) + 1) * sizeof(wchar_t)));
    xb_free(value);
    return e;
}

static LONG autostart_off(void)
{
    LONG e = RegDeleteKeyValueW(HKEY_CURRENT_USER, L"" XB_RUN_KEY, L"" XB_RUN_VALUE);
    return e == ERROR_FILE_NOT_FOUND ? ERROR_SUCCESS : e;
}

static void print_entry(const char *who, HKEY hive)
{
    wchar_t value[1024];
    DWORD size = sizeof(value);
    if (RegGetValueW(hive, L"" XB_RUN_KEY, L"" XB_RUN_VALUE, RRF_RT_REG_SZ, NULL, value,
                     &size) != ERROR_SUCCESS) {
        printf("%s: off\n", who);
        return;
    }
    char *v = xb_win_utf8(value);
    printf("%s: on (%s)\n", who, v ? v : "?");
    xb_free(v);
}

int xb_cmd_autostart(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0 &&
                      strcmp(argv[1], "status") != 0)) {
        fprintf(stderr, "usage: xoauthbridge autostart on|off|status\n");
        return 2;
    }
    if (strcmp(argv[1], "status") == 0) {
        print_entry("this user (HKCU)", HKEY_CURRENT_USER);
        print_entry("every user (HKLM)", HKEY_LOCAL_MACHINE);
        return 0;
    }
    bool on = strcmp(argv[1], "on") == 0;
    LONG e = on ? autostart_on() : autostart_off();
    if (e != ERROR_SUCCESS) {
        char why[64];
        snprintf(why, sizeof(why), "registry error %ld", (long)e);
        xb_msg_print(stderr, XB_MSG_AUTOSTART_FAILED, why);
        return 1;
    }
    xb_msg_print(stdout, on ? XB_MSG_AUTOSTART_ON : XB_MSG_AUTOSTART_OFF);
    if (machine_entry())
        xb_msg_print(stdout, XB_MSG_AUTOSTART_MACHINE);
    return 0;
}
