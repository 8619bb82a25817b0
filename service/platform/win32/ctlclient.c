/*
 * The control channel's client on Windows: the per-user named pipe, opened with
 * identification-level impersonation only (a server can learn who we are, never act
 * as us), then checked BEFORE anything is sent: the pipe's owner must be this user, and
 * so must the server process (when its token can be read; an elevated companion's may
 * not be, and then the owner decides). Overlapped I/O gives every call a timeout.
 *
 * Self-contained (Win32, advapi32, the C library, pipe_proto.h): the add-in compiles it.
 */
#include "platform/ctlclient.h"

#include <aclapi.h>
#include <limits.h>
#include <sddl.h>
#include <stdbool.h>
#include <string.h>
#include <wchar.h>

#include "platform/win32/ctlwin.h"

/* --- who we are, and the name -------------------------------------------------------------- */

BOOL xb_ctl_token_user(HANDLE token, struct xb_ctl_user *out)
{
    DWORD got = 0;
    LPWSTR str = NULL;
    if (!GetTokenInformation(token, TokenUser, &out->u, sizeof(out->u), &got))
        return FALSE;
    out->sid = out->u.tu.User.Sid;
    out->sid_str[0] = L'\0';
    if (!ConvertSidToStringSidW(out->sid, &str))
        return FALSE;
    size_t n = wcslen(str);
    BOOL ok = n < XB_CTL_SID_MAX;
    if (ok)
        memcpy(out->sid_str, str, (n + 1) * sizeof(wchar_t));
    LocalFree(str);
    return ok;
}

enum xb_err xb_ctl_user_self(struct xb_ctl_user *me)
{
    HANDLE tok = NULL;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
        return XB_ERR_IO;
    BOOL ok = xb_ctl_token_user(tok, me);
    CloseHandle(tok);
    return ok ? XB_OK : XB_ERR_IO;
}

static bool instance_ok(const wchar_t *s)
{
    size_t n = wcslen(s);
    if (n == 0 || n > XB_CTL_INSTANCE_MAX)
        return false;
    for (; *s; s++)
        if (!xb_ctl_instance_char_ok((unsigned)*s))
            return false;
    return true;
}

enum xb_err xb_ctl_pipe_name(const struct xb_ctl_user *me, wchar_t *name, size_t n)
{
    wchar_t inst[XB_CTL_INSTANCE_MAX + 2];
    DWORD got = GetEnvironmentVariableW(L"XB_CTL_NAME", inst, (DWORD)(sizeof(inst) / sizeof(inst[0])));
    if (got >= sizeof(inst) / sizeof(inst[0]) || (got > 0 && !instance_ok(inst)))
        return XB_ERR_INVAL;
    const wchar_t *parts[] = { XB_CTL_PIPE_PREFIX, me->sid_str, got ? L"-" : L"",
                               got ? inst : L"" };
    size_t at = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t len = wcslen(parts[i]);
        if (len >= n - at) {
            if (n)
                name[0] = L'\0';
            return XB_ERR_RANGE;
        }
        memcpy(name + at, parts[i], len * sizeof(wchar_t));
        at += len;
    }
    name[at] = L'\0';
    return XB_OK;
}

enum xb_err xb_ctl_endpoint_name(char *buf, size_t size)
{
    struct xb_ctl_user me;
    wchar_t name[XB_CTL_NAME_MAX];
    enum xb_err err = xb_ctl_user_self(&me);
    if (size)
        buf[0] = '\0';
    if (err == XB_OK)
        err = xb_ctl_pipe_name(&me, name, sizeof(name) / sizeof(name[0]));
    if (err != XB_OK)
        return err;
    if (size > INT_MAX ||
        WideCharToMultiByte(CP_UTF8, 0, name, -1, buf, (int)size, NULL, NULL) <= 0) {
        if (size)
            buf[0] = '\0';
        return XB_ERR_RANGE;
    }
    return XB_OK;
}

/* --- the identity check ------------------------------------------------------------------------ */

static bool server_is(HANDLE pipe, const struct xb_ctl_user *me)
{
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    bool ok = false;

    /* A squatter's pipe is owned by the squatter. */
    if (GetSecurityInfo(pipe, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION, &owner, NULL, NULL,
                        NULL, &sd) != ERROR_SUCCESS || !owner || !EqualSid(owner, me->sid))
        goto out;
    ULONG pid = 0;
    if (!GetNamedPipeServerProcessId(pipe, &pid))
        goto out;
    HANDLE proc = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    HANDLE tok = NULL;
    if (proc && OpenProcessToken(proc, TOKEN_QUERY, &tok)) {
        struct xb_ctl_user them;
        ok = xb_ctl_token_user(tok, &them) && EqualSid(them.sid, me->sid);
        CloseHandle(tok);
    } else {
        /* An elevated companion's token is closed to a normal process: its pipe's owner
         * (checked above) is what we have. */
        ok = true;
    }
    if (proc)
        CloseHandle(proc);
out:
    if (sd)
        LocalFree(sd);
    return ok;
}

enum xb_err xb_ctl_client_connect(struct xb_ctl_client *c, unsigned timeout_ms)
{
    struct xb_ctl_user me;
    wchar_t name[XB_CTL_NAME_MAX];
    HANDLE h = INVALID_HANDLE_VALUE;
    DWORD start = GetTickCount();
    enum xb_err err;

    c->h = -1;
    if ((err = xb_ctl_user_self(&me)) != XB_OK ||
        (err = xb_ctl_pipe_name(&me, name, sizeof(name) / sizeof(name[0]))) != XB_OK)
        return err;
    for (;;) {
        h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                        FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                        NULL);
        if (h != INVALID_HANDLE_VALUE)
            break;
        DWORD e = GetLastError();
        if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
            return XB_ERR_NOTFOUND;
        if (e == ERROR_ACCESS_DENIED)
            return XB_ERR_AUTH;
        if (e != ERROR_PIPE_BUSY)
            return XB_ERR_NET;
        DWORD spent = GetTickCount() - start;
        if (spent >= timeout_ms)
            return XB_ERR_TEMP;
        WaitNamedPipeW(name, timeout_ms - spent);
    }
    if (!server_is(h, &me)) {
        CloseHandle(h);
        return XB_ERR_AUTH;
    }
    /* Each frame is one message; reads of part of a message work too (ERROR_MORE_DATA). */
    DWORD mode = PIPE_READMODE_MESSAGE;
    SetNamedPipeHandleState(h, &mode, NULL, NULL);
    c->h = (intptr_t)h;
    return XB_OK;
}

/* --- I/O ----------------------------------------------------------------------------------------- */

/* One overlapped read or write, waited for up to timeout_ms; *done bytes moved. */
static enum xb_err io(HANDLE h, bool write, void *buf, DWORD len, DWORD *done,
                      DWORD timeout_ms)
{
    OVERLAPPED ov;
    enum xb_err err = XB_OK;
    memset(&ov, 0, sizeof(ov));
    *done = 0;
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ov.hEvent)
        return XB_ERR_IO;
    BOOL ok = write ? WriteFile(h, buf, len, NULL, &ov) : ReadFile(h, buf, len, NULL, &ov);
    DWORD e = ok ? ERROR_SUCCESS : GetLastError();
    if (!ok && e == ERROR_IO_PENDING) {
        if (WaitForSingleObject(ov.hEvent, timeout_ms) != WAIT_OBJECT_0) {
            CancelIo(h);
            GetOverlappedResult(h, &ov, done, TRUE);
            err = XB_ERR_TEMP;
            goto out;
        }
        ok = TRUE;
    }
    if (ok || e == ERROR_MORE_DATA) {
        ok = GetOverlappedResult(h, &ov, done, FALSE);
        e = ok ? ERROR_SUCCESS : GetLastError();
    }
    /* A message longer than this read: the rest comes with the next one. */
    if (!ok && e != ERROR_MORE_DATA)
        err = XB_ERR_NET;
out:
    CloseHandle(ov.hEvent);
    return err;
}

enum xb_err xb_ctl_client_send(struct xb_ctl_client *c, const void *frame, size_t len,
                               unsigned timeout_ms)
{
    DWORD done = 0;
    if (c->h == -1 || len > XB_PIPE_FRAME_MAX)
        return XB_ERR_INVAL;
    /* One WriteFile: one message, one frame. */
    enum xb_err err = io((HANDLE)c->h, true, (void *)(uintptr_t)frame, (DWORD)len, &done,
                         timeout_ms);
    if (err == XB_OK && done != len)
        err = XB_ERR_NET;
    return err;
}

uint64_t xb_ctl_client_clock_ms(void)
{
    return (uint64_t)GetTickCount64();
}

enum xb_err xb_ctl_client_read_exact(struct xb_ctl_client *c, void *buf, size_t len,
                                     uint64_t deadline_ms)
{
    unsigned char *p = buf;
    if (c->h == -1)
        return XB_ERR_INVAL;
    while (len > 0) {
        uint64_t now = xb_ctl_client_clock_ms();
        if (now >= deadline_ms)
            return XB_ERR_TEMP;
        DWORD done = 0;
        enum xb_err err = io((HANDLE)c->h, false, p, (DWORD)len, &done, (DWORD)(deadline_ms - now));
        if (err != XB_OK)
            return err;
        p += done;
        len -= done;
    }
    return XB_OK;
}

void xb_ctl_client_close(struct xb_ctl_client *c)
{
    if (c && c->h != -1) {
        CloseHandle((HANDLE)c->h);
        c->h = -1;
    }
}
