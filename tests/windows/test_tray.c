/*
 * The tray tests' hands and eyes under Wine (tests/windows/tray-test.sh drives them):
 *
 *   test_tray find [MS]       waits for the companion's window (class XOAuthBridgeTray)
 *   test_tray gone [MS]       waits until it is gone
 *   test_tray menu            asks it for its menu, as a right-click on the icon does
 *   test_tray cancel          closes that menu again (WM_CANCELMODE)
 *   test_tray click           a click on the last balloon (NIN_BALLOONUSERCLICK)
 *   test_tray taskbar         Explorer's "TaskbarCreated" (the shell restarted)
 *   test_tray copydata BYTES  sends a WM_COPYDATA that is not a hand-over: must be refused
 *   test_tray eventmsg EXE    formats every event of core/events.c from EXE's message table, as
 *                             Event Viewer does, and checks the text comes back
 *   test_tray http...         "the browser": writes the URL it was given to the file
 *                             named by XB_TEST_URL_FILE (config: browser = test_tray.exe)
 *   test_tray silentpipe NAME S  a companion that hangs: serves this user's pipe
 *                             \\.\pipe\xoauthbridge-<SID>-NAME for S seconds, takes every
 *                             connection and request, and never answers
 *   test_tray greet PORT      a Windows mail client of this user: connects to 127.0.0.1:PORT
 *                             and prints the first line the server sends
 *   test_tray report bridged|unmatched EMAIL
 *                             tells the companion what the add-in would (ACCOUNT_BRIDGED,
 *                             REPORT_UNMATCHED) over its pipe
 *   test_tray squat PORT S    holds 127.0.0.1:PORT (listening) for S seconds: a program that
 *                             took the companion's old port
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <winsock2.h>
#include <windows.h>
#include <sddl.h>
#include <shellapi.h>

#include "core/events.h"
#include "core/pipe_codec.h"
#include "front/win32/tray.h"
#include "platform/ctlclient.h"

static HWND wait_window(DWORD ms, bool present)
{
    for (DWORD waited = 0;; waited += 100) {
        HWND w = FindWindowW(XB_TRAY_CLASS, NULL);
        if ((w != NULL) == present || waited >= ms)
            return w;
        Sleep(100);
    }
}

static int post(UINT msg, WPARAM wp, LPARAM lp)
{
    HWND w = wait_window(5000, true);
    if (!w) {
        fprintf(stderr, "test_tray: no companion window\n");
        return 1;
    }
    return PostMessageW(w, msg, wp, lp) ? 0 : 1;
}

static int browser(const wchar_t *url)
{
    const wchar_t *path = _wgetenv(L"XB_TEST_URL_FILE");
    if (!path)
        return 1;
    FILE *f = _wfopen(path, L"w");
    if (!f)
        return 1;
    fprintf(f, "%ls\n", url);
    fclose(f);
    return 0;
}

static int eventmsg(const wchar_t *exe)
{
    HMODULE m = LoadLibraryExW(exe, NULL, LOAD_LIBRARY_AS_DATAFILE);
    wchar_t buf[256] = L"";
    static wchar_t probe[] = L"probe line";
    DWORD_PTR args[1] = { (DWORD_PTR)probe };
    if (!m) {
        fprintf(stderr, "test_tray: cannot load %ls (error %lu)\n", exe, GetLastError());
        return 1;
    }
    /* Every event of the table, with its level as the message's severity. */
    bool ok = true;
    for (unsigned i = 0; i < xb_event_count; i++) {
        const struct xb_event_def *d = &xb_event_defs[i];
        DWORD sev = d->level == XB_LOG_ERROR ? 3 : d->level == XB_LOG_WARN ? 2 : 1;
        buf[0] = L'\0';
        DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY,
                                 m, sev << 30 | (DWORD)d->id, 0, buf, 256,
                                 (va_list *)(void *)args);
        printf("event %u (%s): %ls\n", (unsigned)d->id, d->name, buf);
        if (!n || wcsncmp(buf, L"probe line", 10) != 0)
            ok = false;
    }
    FreeLibrary(m);
    return ok ? 0 : 1;
}

/* This user's pipe name with the instance NAME (as $XB_CTL_NAME makes it), and a
 * security descriptor that makes this user its owner, as the companion's is. */
static bool pipe_name(const wchar_t *inst, wchar_t *out, size_t n, PSECURITY_DESCRIPTOR *sd)
{
    HANDLE tok = NULL;
    union {
        TOKEN_USER tu;
        unsigned char raw[256];
    } u;
    DWORD got = 0;
    wchar_t *sid = NULL;
    bool ok = OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok) &&
              GetTokenInformation(tok, TokenUser, &u, sizeof(u), &got) &&
              ConvertSidToStringSidW(u.tu.User.Sid, &sid);
    if (tok)
        CloseHandle(tok);
    if (ok) {
        wchar_t sddl[512];
        _snwprintf(out, n, L"\\\\.\\pipe\\xoauthbridge-%ls-%ls", sid, inst);
        _snwprintf(sddl, 512, L"O:%lsD:P(A;;GA;;;%ls)", sid, sid);
        ok = ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, sd,
                                                                  NULL);
    }
    if (sid)
        LocalFree(sid);
    return ok;
}

static int silent_pipe(const wchar_t *inst, DWORD seconds)
{
    wchar_t name[256];
    HANDLE pipes[8];
    unsigned n = 0;
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!pipe_name(inst, name, 256, &sd))
        return 1;
    SECURITY_ATTRIBUTES sa = { sizeof(sa), sd, FALSE };
    DWORD end = GetTickCount() + seconds * 1000u;
    printf("silent on %ls\n", name);
    fflush(stdout);
    while (GetTickCount() < end && n < 8) {
        HANDLE p = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX | (n ? 0 : FILE_FLAG_FIRST_PIPE_INSTANCE),
                                    PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
                                    PIPE_REJECT_REMOTE_CLIENTS, 8, 65536, 65536, 0, &sa);
        if (p == INVALID_HANDLE_VALUE)
            return 1;
        /* Takes the connection (and whatever is sent), answers nothing. */
        if (ConnectNamedPipe(p, NULL) || GetLastError() == ERROR_PIPE_CONNECTED)
            pipes[n++] = p;
        else
            CloseHandle(p);
    }
    while (GetTickCount() < end)
        Sleep(100);
    for (unsigned i = 0; i < n; i++)
        CloseHandle(pipes[i]);
    return 0;
}

/* Winsock started and a TCP socket with 127.0.0.1:port in *a; INVALID_SOCKET if not. */
static SOCKET loopback_socket(unsigned port, struct sockaddr_in *a)
{
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return INVALID_SOCKET;
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_port = htons((u_short)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
}

/* The first line a server on 127.0.0.1:port sends, printed. */
static int greet(unsigned port)
{
    struct sockaddr_in a;
    SOCKET s = loopback_socket(port, &a);
    char line[512];
    int n = 0;
    if (s != INVALID_SOCKET && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
        for (int got; n < (int)sizeof(line) - 1 && (got = recv(s, line + n, 1, 0)) == 1;) {
            if (line[n++] == '\n')
                break;
        }
    }
    line[n] = '\0';
    printf("greeting: %s", line);
    if (s != INVALID_SOCKET)
        closesocket(s);
    WSACleanup();
    return n ? 0 : 1;
}

static int squat(unsigned port, DWORD seconds)
{
    struct sockaddr_in a;
    SOCKET s = loopback_socket(port, &a);
    if (s == INVALID_SOCKET || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(s, 4) != 0) {
        printf("cannot hold port %u\n", port);
        return 1;
    }
    printf("holding port %u\n", port);
    fflush(stdout);
    Sleep(seconds * 1000);
    closesocket(s);
    WSACleanup();
    return 0;
}

/* What the add-in tells the companion about an account (ACCOUNT_BRIDGED or
 * REPORT_UNMATCHED), with the add-in's own client code: 0 when the companion said OK. */
static int report(const wchar_t *what, const wchar_t *wemail)
{
    char email[256];
    unsigned char req[2048], rep[XB_PIPE_FRAME_MAX];
    size_t len = 0;
    struct xb_pipe_hdr h;
    struct xb_ctl_client c = XB_CTL_CLIENT_INIT;
    static const char text[] = "Your account is not allowed to sign in today (Failure)";
    WideCharToMultiByte(CP_UTF8, 0, wemail, -1, email, sizeof(email), NULL, NULL);
    struct xb_pipe_req r = { .hdr = { .version = 1, .kind = XB_PIPE_KIND_REQUEST, .id = 7 },
                             .email = xb_pipe_cstr(email), .protocol = XB_PIPE_PROTO_POP3,
                             .code = 0x800CCC92u, .text = xb_pipe_cstr(text) };
    r.hdr.op = wcscmp(what, L"bridged") == 0 ? XB_PIPE_OP_ACCOUNT_BRIDGED
                                              : XB_PIPE_OP_REPORT_UNMATCHED;
    if (xb_ctl_client_connect(&c, 10000) != XB_OK || !xb_pipe_req_encode(&r, req, sizeof(req),
                                                                         &len) ||
        xb_ctl_client_call(&c, req, len, rep, sizeof(rep), &len, &h, 10000) != XB_OK) {
        printf("cannot reach the companion\n");
        return 1;
    }
    xb_ctl_client_close(&c);
    printf("status %u\n", h.status);
    return h.status == XB_PIPE_ST_OK ? 0 : 1;
}

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    DWORD ms = argc > 2 ? (DWORD)wcstoul(argv[2], NULL, 10) : 15000;
    if (argc < 2)
        return 2;
    if (wcsncmp(argv[1], L"http", 4) == 0)
        return browser(argv[1]);
    if (wcscmp(argv[1], L"find") == 0) {
        HWND w = wait_window(ms, true);
        wchar_t title[64] = L"";
        if (w)
            GetWindowTextW(w, title, 64);
        printf("window %ls: %ls\n", w ? L"found" : L"not found", title);
        return w ? 0 : 1;
    }
    if (wcscmp(argv[1], L"gone") == 0)
        return wait_window(ms, false) ? 1 : 0;
    if (wcscmp(argv[1], L"menu") == 0)
        return post(WM_XB_TRAY, MAKEWPARAM(1000, 740), MAKELPARAM(WM_CONTEXTMENU, XB_TRAY_ICON_ID));
    if (wcscmp(argv[1], L"cancel") == 0)
        return post(WM_CANCELMODE, 0, 0);
    if (wcscmp(argv[1], L"taskbar") == 0) /* what Explorer broadcasts after a restart */
        return post(RegisterWindowMessageW(L"TaskbarCreated"), 0, 0);
    if (wcscmp(argv[1], L"click") == 0)
        return post(WM_XB_TRAY, 0, MAKELPARAM(NIN_BALLOONUSERCLICK, XB_TRAY_ICON_ID));
    if (wcscmp(argv[1], L"copydata") == 0 && argc > 2) {
        HWND w = wait_window(5000, true);
        char data[] = "--quit";
        COPYDATASTRUCT cds = { 0x1234, (DWORD)strlen(data) /* no NUL: malformed */, data };
        DWORD_PTR result = 1;
        if (!w || !SendMessageTimeoutW(w, WM_COPYDATA, 0, (LPARAM)&cds, SMTO_ABORTIFHUNG,
                                       5000, &result))
            return 1;
        printf("copydata answered %lu\n", (unsigned long)result);
        return result == 0 ? 0 : 1; /* refused, as it should be */
    }
    if (wcscmp(argv[1], L"eventmsg") == 0 && argc > 2)
        return eventmsg(argv[2]);
    if (wcscmp(argv[1], L"report") == 0 && argc > 3)
        return report(argv[2], argv[3]);
    if (wcscmp(argv[1], L"squat") == 0 && argc > 3)
        return squat((unsigned)wcstoul(argv[2], NULL, 10), (DWORD)wcstoul(argv[3], NULL, 10));
    if (wcscmp(argv[1], L"greet") == 0 && argc > 2)
        return greet((unsigned)wcstoul(argv[2], NULL, 10));
    if (wcscmp(argv[1], L"silentpipe") == 0 && argc > 3)
        return silent_pipe(argv[2], (DWORD)wcstoul(argv[3], NULL, 10));
    return 2;
}
