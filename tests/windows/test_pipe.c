/*
 * The control pipe under Wine, from the client's side, with the client code the add-in
 * compiles (platform/win32/ctlclient.c and core/pipe_codec.c, nothing else of the
 * companion): the real companion (`xoauthbridge.exe serve`, proxy listeners on port 0)
 * serves \\.\pipe\xoauthbridge-<SID>-<test name>; every op that needs no browser,
 * broken input, several clients and a silent one, a second companion and a squatter
 * refused, the owner check (passing, and refusing a pipe owned by someone else).
 *
 *   test_pipe.exe PATH\TO\xoauthbridge.exe
 */
#include <winsock2.h>
#include <windows.h>
#include <sddl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "core/pipe_codec.h"
#include "platform/ctlclient.h"

#define CALL_MS 20000

static int failures, checks;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        checks++;                                                                     \
        if (!(cond)) {                                                                \
            failures++;                                                               \
            printf("#   line %d: check failed: %s\n", __LINE__, #cond);               \
        }                                                                             \
    } while (0)

static wchar_t exe[MAX_PATH], dir[MAX_PATH], conf[MAX_PATH], conf2[MAX_PATH];
static wchar_t ready[MAX_PATH], logpath[MAX_PATH], logpath2[MAX_PATH];
static unsigned char buf[XB_PIPE_FRAME_MAX];
static uint32_t next_id = 1;

/* --- processes and files ------------------------------------------------------------ */

static bool spawn(const wchar_t *args, PROCESS_INFORMATION *pi)
{
    wchar_t cmd[4 * MAX_PATH];
    STARTUPINFOW si;
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    _snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"\"%ls\" %ls", exe, args);
    cmd[sizeof(cmd) / sizeof(cmd[0]) - 1] = L'\0';
    return CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, pi) != 0;
}

static DWORD run(const wchar_t *args, DWORD timeout_ms)
{
    PROCESS_INFORMATION pi;
    DWORD code = 9999;
    if (!spawn(args, &pi))
        return code;
    if (WaitForSingleObject(pi.hProcess, timeout_ms) == WAIT_OBJECT_0)
        GetExitCodeProcess(pi.hProcess, &code);
    else
        TerminateProcess(pi.hProcess, 9998);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return code;
}

static void utf8(const wchar_t *w, char *out, int size)
{
    if (WideCharToMultiByte(CP_UTF8, 0, w, -1, out, size, NULL, NULL) <= 0)
        out[0] = '\0';
}

static bool write_file(const wchar_t *path, const char *text)
{
    HANDLE h = CreateFileW(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    DWORD n = 0;
    if (h == INVALID_HANDLE_VALUE)
        return false;
    BOOL ok = WriteFile(h, text, (DWORD)strlen(text), &n, NULL);
    CloseHandle(h);
    return ok && n == strlen(text);
}

/* The whole file (up to the buffer) as a string; "" if absent. */
static const char *read_file(const wchar_t *path)
{
    static char text[256 * 1024];
    DWORD n = 0;
    text[0] = '\0';
    HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE |
                           FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return text;
    if (ReadFile(h, text, sizeof(text) - 1, &n, NULL))
        text[n] = '\0';
    CloseHandle(h);
    return text;
}

static bool write_config(const wchar_t *path, const wchar_t *state, const wchar_t *log)
{
    char s[MAX_PATH * 3], l[MAX_PATH * 3], text[2048];
    utf8(state, s, sizeof(s));
    utf8(log, l, sizeof(l));
    snprintf(text, sizeof(text),
             "[general]\nstate_dir = %s\nlog_level = debug\nlog_file = %s\n"
             "[proxy]\nimap_listen = 127.0.0.1:0\npop3_listen = 127.0.0.1:0\n"
             "smtp_listen = 127.0.0.1:0\n", s, l);
    return write_file(path, text);
}

/* --- requests ------------------------------------------------------------------------ */

static struct xb_pipe_str S(const char *s)
{
    return (struct xb_pipe_str){ s, (uint32_t)strlen(s) };
}

/* Sends r and waits for its reply (skipping events); the payload is read through rd. */
static uint16_t call(struct xb_ctl_client *c, struct xb_pipe_req *r, struct xb_pipe_rd *rd)
{
    unsigned char req[4096];
    size_t len = 0;
    struct xb_pipe_hdr h;
    r->hdr.version = r->hdr.version ? r->hdr.version : 1;
    r->hdr.kind = XB_PIPE_KIND_REQUEST;
    r->hdr.id = next_id++;
    if (!xb_pipe_req_encode(r, req, sizeof(req), &len))
        return 0xffff;
    if (xb_ctl_client_call(c, req, len, buf, sizeof(buf), &len, &h, CALL_MS) != XB_OK)
        return 0xfffe;
    CHECK(h.id == r->hdr.id && h.op == r->hdr.op);
    xb_pipe_rd_init(rd, buf + XB_PIPE_HDR_LEN, h.len);
    return h.status;
}

static uint16_t call_op(struct xb_ctl_client *c, uint16_t op, const char *email)
{
    struct xb_pipe_req r = { .hdr.op = op, .email = S(email ? email : "") };
    struct xb_pipe_rd rd;
    return call(c, &r, &rd);
}

/* A raw frame (what a broken client might send) and the reply it gets. */
static uint16_t raw_call(struct xb_ctl_client *c, const unsigned char *frame, size_t len,
                         uint32_t want_id)
{
    struct xb_pipe_hdr h;
    size_t got = 0;
    if (xb_ctl_client_send(c, frame, len, CALL_MS) != XB_OK ||
        xb_ctl_client_recv(c, buf, sizeof(buf), &got, CALL_MS) != XB_OK)
        return 0xfffe;
    xb_pipe_hdr_decode(buf, &h);
    CHECK(h.kind == XB_PIPE_KIND_REPLY && h.id == want_id);
    return h.status;
}

static size_t raw_frame(unsigned char *out, uint8_t version, uint16_t op, uint32_t id,
                        const void *payload, uint32_t len)
{
    struct xb_pipe_hdr h = { version, XB_PIPE_KIND_REQUEST, op, 0, id, len };
    xb_pipe_hdr_encode(&h, out);
    if (len)
        memcpy(out + XB_PIPE_HDR_LEN, payload, len);
    return XB_PIPE_HDR_LEN + len;
}

static uint32_t count_accounts(struct xb_ctl_client *c)
{
    struct xb_pipe_req r = { .hdr.op = XB_PIPE_OP_LIST_ACCOUNTS };
    struct xb_pipe_rd rd;
    return call(c, &r, &rd) == XB_PIPE_ST_OK ? xb_pipe_rd_u32(&rd) : 9999;
}

static bool connect_client(struct xb_ctl_client *c)
{
    c->h = -1;
    return xb_ctl_client_connect(c, 5000) == XB_OK;
}

/* --- the tests ------------------------------------------------------------------------- */

static void every_op(void)
{
    struct xb_ctl_client c, sub;
    struct xb_pipe_rd rd;
    CHECK(connect_client(&c));                    /* the owner check passed */
    CHECK(connect_client(&sub));

    struct xb_pipe_req hello = { .hdr.op = XB_PIPE_OP_HELLO, .min_version = 1,
                                 .max_version = 4, .client = S("test_pipe") };
    CHECK(call(&c, &hello, &rd) == XB_PIPE_ST_OK);
    CHECK(xb_pipe_rd_u32(&rd) == 1 && xb_pipe_rd_u32(&rd) == 1 && xb_pipe_rd_u32(&rd) == 1);
    struct xb_pipe_str server = xb_pipe_rd_str(&rd, XB_PIPE_NAME_MAX);
    CHECK(xb_pipe_rd_done(&rd) && server.len > 13 && memcmp(server.p, "xoauthbridge ", 13) == 0);

    CHECK(count_accounts(&c) == 2);
    CHECK(call_op(&sub, XB_PIPE_OP_SUBSCRIBE, NULL) == XB_PIPE_ST_OK);

    /* GET_ENDPOINT: the ports the proxy listens on and a secret it accepts. */
    struct xb_pipe_req ep = { .hdr.op = XB_PIPE_OP_GET_ENDPOINT, .email = S("A@example.com") };
    char host[64], user[400], secret[300];
    CHECK(call(&c, &ep, &rd) == XB_PIPE_ST_OK);
    xb_pipe_str_copy(xb_pipe_rd_str(&rd, XB_PIPE_HOST_MAX), host, sizeof(host));
    uint32_t imap = xb_pipe_rd_u32(&rd), pop3 = xb_pipe_rd_u32(&rd), smtp = xb_pipe_rd_u32(&rd);
    xb_pipe_str_copy(xb_pipe_rd_str(&rd, XB_PIPE_EMAIL_MAX), user, sizeof(user));
    xb_pipe_str_copy(xb_pipe_rd_str(&rd, XB_PIPE_SECRET_MAX), secret, sizeof(secret));
    CHECK(xb_pipe_rd_done(&rd));
    CHECK(strcmp(host, "127.0.0.1") == 0 && strcmp(user, "a@example.com") == 0);
    CHECK(imap > 0 && pop3 > 0 && smtp > 0 && strlen(secret) == 32);
    /* The proxy takes the secret (then says the account is not signed in yet). */
    SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((u_short)imap) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char line[1024] = "";
    int n = 0, got = 0;
    DWORD tmo = 10000;
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&tmo, sizeof(tmo));
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        char cmd[512];
        recv(s, line, sizeof(line) - 1, 0);                         /* greeting */
        snprintf(cmd, sizeof(cmd), "a1 LOGIN %s %s\r\n", user, secret);
        send(s, cmd, (int)strlen(cmd), 0);
        while (got < (int)sizeof(line) - 1 &&
               (n = recv(s, line + got, (int)sizeof(line) - 1 - got, 0)) > 0) {
            got += n;
            line[got] = '\0';
            if (strstr(line, "a1 "))
                break;
        }
    }
    closesocket(s);
    CHECK(strstr(line, "a1 NO") && strstr(line, "not signed in"));
    if (!strstr(line, "not signed in"))
        printf("#   IMAP said: %s\n", line);
    CHECK(strstr(read_file(logpath), secret) == NULL);
    CHECK(call_op(&c, XB_PIPE_OP_GET_ENDPOINT, "nobody@example.com") == XB_PIPE_ST_NOT_FOUND);

    /* REPORT_FAILURE: answered, and told to the subscriber. */
    struct xb_pipe_req rep = { .hdr.op = XB_PIPE_OP_REPORT_FAILURE, .email = S("a@example.com"),
                               .protocol = XB_PIPE_PROTO_POP3, .code = 0x800ccc90u,
                               .text = S("Your server does not support the connection") };
    CHECK(call(&c, &rep, &rd) == XB_PIPE_ST_OK && xb_pipe_rd_done(&rd));
    size_t len = 0;
    struct xb_pipe_hdr h;
    CHECK(xb_ctl_client_recv(&sub, buf, sizeof(buf), &len, CALL_MS) == XB_OK);
    xb_pipe_hdr_decode(buf, &h);
    CHECK(h.kind == XB_PIPE_KIND_EVENT && h.op == XB_PIPE_OP_FAILURE_REPORTED);
    CHECK(strstr(read_file(logpath), "reports a POP3 failure for a@example.com") != NULL);
    /* REPORT_UNMATCHED: answered, and an event for the administrator (no notification). */
    rep.hdr.op = XB_PIPE_OP_REPORT_UNMATCHED;
    CHECK(call(&c, &rep, &rd) == XB_PIPE_ST_OK && xb_pipe_rd_done(&rd));
    CHECK(strstr(read_file(logpath), "warn [event 2003] a@example.com: Outlook reported a POP3 "
                                     "error whose words") != NULL);

    /* ENROL without a browser: refused before any sign-in starts. */
    CHECK(call_op(&c, XB_PIPE_OP_ENROL, "a@example.com") == XB_PIPE_ST_INTERNAL);
    struct xb_pipe_req en = { .hdr.op = XB_PIPE_OP_ENROL, .email = S("x@example.com"),
                              .provider = S("nosuch") };
    CHECK(call(&c, &en, &rd) == XB_PIPE_ST_NOT_FOUND);

    /* RESTORE then FORGET: the subscriber hears NEW, then REMOVED. */
    CHECK(call_op(&c, XB_PIPE_OP_RESTORE, "b@example.com") == XB_PIPE_ST_OK);
    CHECK(call_op(&c, XB_PIPE_OP_FORGET, "b@example.com") == XB_PIPE_ST_OK);
    CHECK(call_op(&c, XB_PIPE_OP_FORGET, "b@example.com") == XB_PIPE_ST_NOT_FOUND);
    uint32_t states[2] = { 99, 99 };
    for (int i = 0; i < 2; i++) {
        CHECK(xb_ctl_client_recv(&sub, buf, sizeof(buf), &len, CALL_MS) == XB_OK);
        xb_pipe_hdr_decode(buf, &h);
        xb_pipe_rd_init(&rd, buf + XB_PIPE_HDR_LEN, h.len);
        struct xb_pipe_str e = xb_pipe_rd_str(&rd, XB_PIPE_EMAIL_MAX);
        CHECK(h.op == XB_PIPE_OP_STATE_CHANGED && e.len == 13 && !memcmp(e.p, "b@example.com", 13));
        states[i] = xb_pipe_rd_u32(&rd);
    }
    CHECK(states[0] == XB_PIPE_STATE_NEW && states[1] == XB_PIPE_STATE_REMOVED);
    CHECK(count_accounts(&c) == 1);
    xb_ctl_client_close(&c);
    xb_ctl_client_close(&sub);
}

static void broken_input(void)
{
    struct xb_ctl_client c;
    unsigned char f[256];
    unsigned char str[8] = { 10, 0, 0, 0, 'a', '@', 'b', 0 };
    CHECK(connect_client(&c));
    CHECK(raw_call(&c, f, raw_frame(f, 1, 0x63, 11, NULL, 0), 11) == XB_PIPE_ST_UNKNOWN_OP);
    CHECK(raw_call(&c, f, raw_frame(f, 7, XB_PIPE_OP_LIST_ACCOUNTS, 12, NULL, 0), 12) ==
          XB_PIPE_ST_VERSION);
    CHECK(raw_call(&c, f, raw_frame(f, 1, XB_PIPE_OP_GET_ENDPOINT, 13, str, 7), 13) ==
          XB_PIPE_ST_BAD_REQUEST);
    CHECK(raw_call(&c, f, raw_frame(f, 1, XB_PIPE_OP_LIST_ACCOUNTS, 14, str, 1), 14) ==
          XB_PIPE_ST_BAD_REQUEST);
    CHECK(count_accounts(&c) == 1);               /* the same connection goes on */
    xb_ctl_client_close(&c);

    /* Framing lost: an error reply, then the end of the connection. */
    struct { uint16_t magic; uint32_t len; uint32_t id; } lost[] = {
        /* bad magic: the id cannot be trusted, the reply carries 0 */
        { 0x4358, 0, 0 }, { XB_PIPE_MAGIC, 0xffffffffu, 22 }, { XB_PIPE_MAGIC, XB_PIPE_FRAME_MAX, 23 },
    };
    for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
        size_t len = 0;
        CHECK(connect_client(&c));
        raw_frame(f, 1, XB_PIPE_OP_LIST_ACCOUNTS, 21 + (uint32_t)i, NULL, 0);
        xb_pipe_put_le16(f, lost[i].magic);
        xb_pipe_put_le32(f + 12, lost[i].len);
        CHECK(raw_call(&c, f, XB_PIPE_HDR_LEN, lost[i].id) == XB_PIPE_ST_BAD_REQUEST);
        CHECK(xb_ctl_client_recv(&c, buf, sizeof(buf), &len, CALL_MS) == XB_ERR_NET);
        xb_ctl_client_close(&c);
    }
}

static void clients_at_once(void)
{
    struct xb_ctl_client silent, half, a, b;
    unsigned char f[64];
    size_t len = 0;
    CHECK(connect_client(&silent));               /* says nothing at all */
    CHECK(connect_client(&half));
    raw_frame(f, 1, XB_PIPE_OP_LIST_ACCOUNTS, 31, NULL, 0);
    CHECK(xb_ctl_client_send(&half, f, 7, CALL_MS) == XB_OK);    /* half a header */
    DWORD t0 = GetTickCount();
    CHECK(connect_client(&a) && connect_client(&b));
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        ok += count_accounts(&a) == 1;
        ok += count_accounts(&b) == 1;
    }
    CHECK(ok == 100);
    CHECK(GetTickCount() - t0 < 9000);
    /* The half frame is given up on after 10 s: an error, then the end. */
    CHECK(xb_ctl_client_recv(&half, buf, sizeof(buf), &len, 20000) == XB_OK);
    struct xb_pipe_hdr h;
    xb_pipe_hdr_decode(buf, &h);
    CHECK(h.status == XB_PIPE_ST_BAD_REQUEST);
    CHECK(xb_ctl_client_recv(&half, buf, sizeof(buf), &len, CALL_MS) == XB_ERR_NET);
    CHECK(count_accounts(&silent) == 1);
    xb_ctl_client_close(&silent);
    xb_ctl_client_close(&half);
    xb_ctl_client_close(&a);
    xb_ctl_client_close(&b);
}

static void second_companion_refused(void)
{
    wchar_t args[3 * MAX_PATH];
    _snwprintf(args, sizeof(args) / sizeof(args[0]), L"serve --config \"%ls\"", conf2);
    args[sizeof(args) / sizeof(args[0]) - 1] = L'\0';
    CHECK(run(args, 60000) == 1);
    CHECK(strstr(read_file(logpath2), "another XOAuth Bridge companion of this user is running"));
    struct xb_ctl_client c;
    CHECK(connect_client(&c) && count_accounts(&c) == 1);    /* the first one serves on */
    xb_ctl_client_close(&c);
}

/* A pipe of our own under another instance name: a squatter. */
static HANDLE squat(const wchar_t *suffix, const wchar_t *sddl)
{
    wchar_t name[512];
    PSECURITY_DESCRIPTOR sd = NULL;
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, FALSE };
    HANDLE tok;
    TOKEN_USER *tu;
    union { TOKEN_USER t; unsigned char raw[256]; } u;
    DWORD got = 0;
    LPWSTR sid = NULL;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
        return INVALID_HANDLE_VALUE;
    GetTokenInformation(tok, TokenUser, &u, sizeof(u), &got);
    CloseHandle(tok);
    tu = &u.t;
    if (!ConvertSidToStringSidW(tu->User.Sid, &sid))
        return INVALID_HANDLE_VALUE;
    _snwprintf(name, 512, L"\\\\.\\pipe\\xoauthbridge-%ls-%ls", sid, suffix);
    name[511] = L'\0';
    LocalFree(sid);
    if (sddl && ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd,
                                                                     NULL))
        sa.lpSecurityDescriptor = sd;
    HANDLE h = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE, 4, 4096, 4096, 0,
                                sd ? &sa : NULL);
    if (sd)
        LocalFree(sd);
    return h;
}

static void squatters(const wchar_t *base)
{
    wchar_t suffix[64], args[3 * MAX_PATH];
    /* A name already taken: the companion refuses to start. */
    _snwprintf(suffix, 64, L"%ls-squat", base);
    suffix[63] = L'\0';
    HANDLE h = squat(suffix, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    SetEnvironmentVariableW(L"XB_CTL_NAME", suffix);
    _snwprintf(args, sizeof(args) / sizeof(args[0]), L"serve --config \"%ls\"", conf2);
    args[sizeof(args) / sizeof(args[0]) - 1] = L'\0';
    CHECK(run(args, 60000) == 1);
    CloseHandle(h);

    /* A pipe owned by someone else (SYSTEM): the client refuses it before sending. */
    _snwprintf(suffix, 64, L"%ls-foreign", base);
    suffix[63] = L'\0';
    h = squat(suffix, L"O:SYD:(A;;GA;;;WD)");
    if (h == INVALID_HANDLE_VALUE) {
        printf("# skipped: cannot make a pipe owned by SYSTEM here (error %lu)\n",
               (unsigned long)GetLastError());
    } else {
        struct xb_ctl_client c = XB_CTL_CLIENT_INIT;
        SetEnvironmentVariableW(L"XB_CTL_NAME", suffix);
        CHECK(xb_ctl_client_connect(&c, 5000) == XB_ERR_AUTH);
        DWORD avail = 1;
        /* Nothing reached the squatter. */
        CHECK(PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) == 0 || avail == 0);
        xb_ctl_client_close(&c);
        CloseHandle(h);
    }
    SetEnvironmentVariableW(L"XB_CTL_NAME", base);
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    wchar_t tmp[MAX_PATH], base[40], args[3 * MAX_PATH], state[MAX_PATH], state2[MAX_PATH];
    PROCESS_INFORMATION pi = { 0 };
    WSADATA wsa;
    if (argc != 2) {
        fprintf(stderr, "usage: test_pipe.exe PATH\\TO\\xoauthbridge.exe\n");
        return 2;
    }
    WSAStartup(MAKEWORD(2, 2), &wsa);
    wcsncpy(exe, argv[1], MAX_PATH - 1);
    /* Our own pipe name, so that other tests' companions never meet this one. */
    _snwprintf(base, 40, L"test-pipe-%lu", (unsigned long)GetCurrentProcessId());
    base[39] = L'\0';
    SetEnvironmentVariableW(L"XB_CTL_NAME", base);
    GetTempPathW(MAX_PATH, tmp);
    _snwprintf(dir, MAX_PATH, L"%ls%ls", tmp, base);
    CreateDirectoryW(dir, NULL);
    _snwprintf(conf, MAX_PATH, L"%ls\\a.conf", dir);
    _snwprintf(conf2, MAX_PATH, L"%ls\\b.conf", dir);
    _snwprintf(ready, MAX_PATH, L"%ls\\ready.json", dir);
    _snwprintf(logpath, MAX_PATH, L"%ls\\a.log", dir);
    _snwprintf(logpath2, MAX_PATH, L"%ls\\b.log", dir);
    _snwprintf(state, MAX_PATH, L"%ls\\state", dir);
    _snwprintf(state2, MAX_PATH, L"%ls\\state2", dir);
    printf("1..5\n");
    CHECK(write_config(conf, state, logpath) && write_config(conf2, state2, logpath2));

    _snwprintf(args, 3 * MAX_PATH, L"account add a@example.com --config \"%ls\"", conf);
    CHECK(run(args, 60000) == 0);
    _snwprintf(args, 3 * MAX_PATH, L"account add b@example.com --config \"%ls\"", conf);
    CHECK(run(args, 60000) == 0);
    _snwprintf(args, 3 * MAX_PATH, L"serve --config \"%ls\" --ready-file \"%ls\"", conf, ready);
    CHECK(spawn(args, &pi));
    DWORD t0 = GetTickCount();
    while (GetFileAttributesW(ready) == INVALID_FILE_ATTRIBUTES && GetTickCount() - t0 < 60000)
        Sleep(100);
    CHECK(strstr(read_file(ready), "\"control\":\"\\\\\\\\.\\\\pipe\\\\xoauthbridge-S-") != NULL);
    if (failures) {
        printf("# the companion did not start:\n%s\n", read_file(logpath));
    } else {
        struct { const char *name; void (*fn)(void); } tests[] = {
            { "every op without a browser", every_op },
            { "broken input gets errors, the companion serves on", broken_input },
            { "two clients and silent ones at once", clients_at_once },
            { "a second companion is refused", second_companion_refused },
        };
        for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
            int before = failures;
            tests[i].fn();
            printf("%s %u - %s\n", failures == before ? "ok" : "not ok", (unsigned)i + 1,
                   tests[i].name);
        }
    }
    int before = failures;
    squatters(base);
    printf("%s 5 - squatters are refused\n", failures == before ? "ok" : "not ok");
    if (pi.hProcess) {
        TerminateProcess(pi.hProcess, 0);
        WaitForSingleObject(pi.hProcess, 10000);
        CloseHandle(pi.hProcess);
        CloseHandle(pi.hThread);
    }
    if (failures)
        printf("# companion log:\n%s\n", read_file(logpath));
    printf("# %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
