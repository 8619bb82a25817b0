/*
 * The control channel's listening end on Windows: the per-user named pipe
 * \\.\pipe\xoauthbridge-<SID>, bridged into the libevent loop.
 *
 * The pipe: message mode; a DACL for this user and SYSTEM only, NETWORK denied, owner
 * this user (clients check it); FILE_FLAG_FIRST_PIPE_INSTANCE on the first instance, so
 * that a name already taken (another companion, or a squatter) makes the start fail;
 * PIPE_REJECT_REMOTE_CLIENTS. An instance is always waiting while the companion runs,
 * so the name is never free for someone else to take.
 *
 * The bridge. libevent's loop waits on sockets, not on pipe handles, and is not made
 * thread-safe here. So the loop never sees a pipe:
 *   - a listener thread waits (overlapped ConnectNamedPipe, or the stop event) for a
 *     client, makes the next instance, then a socket pair (evutil_socketpair: loopback
 *     TCP whose two ends libevent checks belong together), starts a relay thread with
 *     the pipe and one end, and passes the other end's number to the loop through a
 *     notification socket pair; the loop (notify_cb) hands it to the core as any
 *     connected socket;
 *   - a relay thread per connection moves bytes both ways with overlapped I/O on both
 *     handles (one operation pending per direction, WaitForMultipleObjects over the two
 *     events and the stop event) and writes each frame from the companion to the pipe as
 *     one message. It ends when either side closes, or at stop, and closes both.
 * All the framing, checks and dispatch stay in the portable core, the same as on POSIX.
 * The threads touch only their own handles, the stop event and an interlocked count.
 */
#include "platform/platform.h"

#include <winsock2.h>
#include <windows.h>
#include <process.h>
#include <sddl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>

#include "xoauthbridge/pipe_proto.h"

#include "platform/ctlclient.h"
#include "platform/win32/ctlwin.h"
#include "core/log.h"
#include "core/mem.h"

#define RELAY_BUF        XB_PIPE_FRAME_MAX
#define STOP_WAIT_MS     5000
#define NO_SOCK          ((evutil_socket_t)-1)

struct xb_plat_ctl {
    struct event_base *base;
    xb_plat_ctl_accept_fn *cb;
    void *arg;
    wchar_t name[XB_CTL_NAME_MAX];
    char name_utf8[3 * XB_CTL_NAME_MAX];
    PSECURITY_DESCRIPTOR sd;
    SECURITY_ATTRIBUTES sa;
    HANDLE first;                /* the first instance, until the listener takes it */
    HANDLE stop;                 /* manual reset: everything ends */
    HANDLE thread;
    evutil_socket_t notify[2];   /* [0] read by the loop, [1] written by the listener */
    struct event *notify_ev;
    unsigned char nbuf[8];
    size_t nhave;
    volatile LONG live;          /* relay threads running */
};

struct relay {
    struct xb_plat_ctl *ctl;
    HANDLE pipe;
    SOCKET sock;
    OVERLAPPED in, out;          /* in: client -> companion; out: companion -> client */
    bool in_sending;             /* in: a send to the socket (else a pipe read) pending */
    bool out_writing;            /* out: a pipe write (else a socket recv) pending */
    unsigned char *ibuf, *obuf;
    DWORD ilen, ioff;
    size_t ohave, oframe;
};

/* --- the pipe ------------------------------------------------------------------------------ */

static HANDLE make_instance(struct xb_plat_ctl *ctl, bool first)
{
    return CreateNamedPipeW(ctl->name,
                            PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                                (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
                            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
                                PIPE_REJECT_REMOTE_CLIENTS,
                            PIPE_UNLIMITED_INSTANCES, RELAY_BUF, RELAY_BUF, 0, &ctl->sa);
}

/* --- a relay: one connection, both directions ----------------------------------------------- */

static bool in_start(struct relay *r)
{
    BOOL ok;
    ResetEvent(r->in.hEvent);
    if (r->in_sending) {
        WSABUF wb = { r->ilen - r->ioff, (char *)r->ibuf + r->ioff };
        ok = WSASend(r->sock, &wb, 1, NULL, 0, &r->in, NULL) == 0 ||
             WSAGetLastError() == WSA_IO_PENDING;
    } else {
        ok = ReadFile(r->pipe, r->ibuf, RELAY_BUF, NULL, &r->in) ||
             GetLastError() == ERROR_IO_PENDING || GetLastError() == ERROR_MORE_DATA;
    }
    return ok;
}

/* The pending operation of direction in completed: start the next. */
static bool in_step(struct relay *r)
{
    DWORD n = 0, flags = 0;
    if (r->in_sending) {
        if (!WSAGetOverlappedResult(r->sock, &r->in, &n, FALSE, &flags))
            return false;
        r->ioff += n;
        if (r->ioff >= r->ilen) {
            r->in_sending = false;
            SecureZeroMemory(r->ibuf, r->ilen);
        }
    } else {
        if (!GetOverlappedResult(r->pipe, &r->in, &n, FALSE) && GetLastError() != ERROR_MORE_DATA)
            return false;   /* the client went away */
        r->ilen = n;
        r->ioff = 0;
        r->in_sending = n > 0;
    }
    return in_start(r);
}

static bool out_start(struct relay *r)
{
    BOOL ok;
    ResetEvent(r->out.hEvent);
    if (r->out_writing) {
        ok = WriteFile(r->pipe, r->obuf, (DWORD)r->oframe, NULL, &r->out) ||
             GetLastError() == ERROR_IO_PENDING;
    } else {
        DWORD flags = 0;
        WSABUF wb = { (ULONG)(2 * RELAY_BUF - r->ohave), (char *)r->obuf + r->ohave };
        ok = WSARecv(r->sock, &wb, 1, NULL, &flags, &r->out, NULL) == 0 ||
             WSAGetLastError() == WSA_IO_PENDING;
    }
    return ok;
}

/* Picks the next whole frame from what the loop sent: written as one pipe message. */
static bool out_next(struct relay *r)
{
    struct xb_pipe_hdr h;
    r->out_writing = false;
    if (r->ohave >= XB_PIPE_HDR_LEN) {
        if (xb_pipe_hdr_decode(r->obuf, &h) != XB_PIPE_HDR_OK)
            return false;   /* the core writes only frames */
        if (r->ohave >= XB_PIPE_HDR_LEN + (size_t)h.len) {
            r->oframe = XB_PIPE_HDR_LEN + (size_t)h.len;
            r->out_writing = true;
        }
    }
    return out_start(r);
}

static bool out_step(struct relay *r)
{
    DWORD n = 0, flags = 0;
    if (r->out_writing) {
        if (!GetOverlappedResult(r->pipe, &r->out, &n, FALSE) || n != r->oframe)
            return false;
        memmove(r->obuf, r->obuf + r->oframe, r->ohave - r->oframe);
        r->ohave -= r->oframe;
        /* Replies may hold a local secret: nothing stays behind. */
        SecureZeroMemory(r->obuf + r->ohave, r->oframe);
        return out_next(r);
    }
    if (!WSAGetOverlappedResult(r->sock, &r->out, &n, FALSE, &flags) || n == 0)
        return false;       /* the loop closed the connection: every frame is written */
    r->ohave += n;
    return out_next(r);
}

static void relay_free(struct relay *r)
{
    struct xb_plat_ctl *ctl = r->ctl;
    DWORD n, flags;
    /* Cancel what is pending (issued by this thread) and wait for it to settle before
     * the buffers go. */
    CancelIo(r->pipe);
    CancelIo((HANDLE)r->sock);
    if (r->in.hEvent) {
        if (r->in_sending)
            WSAGetOverlappedResult(r->sock, &r->in, &n, TRUE, &flags);
        else
            GetOverlappedResult(r->pipe, &r->in, &n, TRUE);
        CloseHandle(r->in.hEvent);
    }
    if (r->out.hEvent) {
        if (r->out_writing)
            GetOverlappedResult(r->pipe, &r->out, &n, TRUE);
        else
            WSAGetOverlappedResult(r->sock, &r->out, &n, TRUE, &flags);
        CloseHandle(r->out.hEvent);
    }
    closesocket(r->sock);
    CloseHandle(r->pipe);
    if (r->ibuf) {
        SecureZeroMemory(r->ibuf, RELAY_BUF);
        xb_free(r->ibuf);
    }
    if (r->obuf) {
        SecureZeroMemory(r->obuf, 2 * RELAY_BUF);
        xb_free(r->obuf);
    }
    xb_free(r);
    InterlockedDecrement(&ctl->live);   /* the last thing: ctl may be freed after this */
}

static unsigned __stdcall relay_thread(void *arg)
{
    struct relay *r = arg;
    HANDLE w[3] = { r->in.hEvent, r->out.hEvent, r->ctl->stop };
    bool go = in_start(r) && out_start(r);
    while (go) {
        DWORD which = WaitForMultipleObjects(3, w, FALSE, INFINITE);
        if (which == WAIT_OBJECT_0)
            go = in_step(r);
        else if (which == WAIT_OBJECT_0 + 1)
            go = out_step(r);
        else
            go = false;
    }
    relay_free(r);
    return 0;
}

/* A client connected on pipe: a socket pair, a relay thread, the loop told. */
static void hand_off(struct xb_plat_ctl *ctl, HANDLE pipe)
{
    evutil_socket_t pair[2] = { NO_SOCK, NO_SOCK };
    struct relay *r = xb_new(struct relay);
    unsigned char msg[8];
    if (!r || evutil_socketpair(AF_INET, SOCK_STREAM, 0, pair) != 0)
        goto fail;
    r->ctl = ctl;
    r->pipe = pipe;
    r->sock = (SOCKET)pair[1];
    r->in.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    r->out.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    r->ibuf = xb_new_array(unsigned char, RELAY_BUF);
    r->obuf = xb_new_array(unsigned char, 2 * RELAY_BUF);
    if (!r->in.hEvent || !r->out.hEvent || !r->ibuf || !r->obuf)
        goto fail;
    /* The loop's end first: a relay that starts must have someone to talk to. */
    xb_pipe_put_le64(msg, (uint64_t)pair[0]);
    if (send(ctl->notify[1], (const char *)msg, sizeof(msg), 0) != (int)sizeof(msg))
        goto fail;
    pair[0] = NO_SOCK;
    InterlockedIncrement(&ctl->live);
    HANDLE t = (HANDLE)_beginthreadex(NULL, 0, relay_thread, r, 0, NULL);
    if (!t) {
        /* The loop closes its end when it finds this one closed. */
        xb_log_error("control channel: cannot start a thread for a client");
        pair[1] = NO_SOCK;
        relay_free(r);
        return;
    }
    CloseHandle(t);
    return;
fail:
    xb_log_error("control channel: cannot take a client (out of resources)");
    if (pair[0] != NO_SOCK)
        evutil_closesocket(pair[0]);
    if (pair[1] != NO_SOCK)
        evutil_closesocket(pair[1]);
    if (r) {
        if (r->in.hEvent)
            CloseHandle(r->in.hEvent);
        if (r->out.hEvent)
            CloseHandle(r->out.hEvent);
        xb_free(r->ibuf);
        xb_free(r->obuf);
        xb_free(r);
    }
    CloseHandle(pipe);
}

static unsigned __stdcall listen_thread(void *arg)
{
    struct xb_plat_ctl *ctl = arg;
    HANDLE inst = ctl->first;
    OVERLAPPED ov;
    memset(&ov, 0, sizeof(ov));
    ctl->first = INVALID_HANDLE_VALUE;
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    while (ov.hEvent && inst != INVALID_HANDLE_VALUE) {
        ResetEvent(ov.hEvent);
        BOOL connected = ConnectNamedPipe(inst, &ov);
        DWORD e = connected ? ERROR_SUCCESS : GetLastError();
        if (!connected && e == ERROR_IO_PENDING) {
            HANDLE w[2] = { ov.hEvent, ctl->stop };
            DWORD n = 0;
            if (WaitForMultipleObjects(2, w, FALSE, INFINITE) != WAIT_OBJECT_0) {
                CancelIo(inst);
                GetOverlappedResult(inst, &ov, &n, TRUE);
                break;
            }
            connected = GetOverlappedResult(inst, &ov, &n, FALSE);
        } else if (e == ERROR_PIPE_CONNECTED) {
            connected = TRUE;   /* the client came between create and connect */
        }
        /* The next instance before this one is handed over: the name stays ours. */
        HANDLE next = make_instance(ctl, false);
        while (next == INVALID_HANDLE_VALUE &&
               WaitForSingleObject(ctl->stop, 1000) == WAIT_TIMEOUT) {
            xb_log_error("control channel: cannot make a pipe instance (error %lu); retrying",
                         (unsigned long)GetLastError());
            next = make_instance(ctl, false);
        }
        if (connected)
            hand_off(ctl, inst);
        else
            CloseHandle(inst);
        inst = next;
    }
    if (inst != INVALID_HANDLE_VALUE)
        CloseHandle(inst);
    if (ov.hEvent)
        CloseHandle(ov.hEvent);
    return 0;
}

/* --- the loop's side ------------------------------------------------------------------------- */

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_plat_ctl *ctl = arg;
    for (;;) {
        int n = recv(fd, (char *)ctl->nbuf + ctl->nhave, (int)(sizeof(ctl->nbuf) - ctl->nhave), 0);
        if (n <= 0)
            return;   /* WSAEWOULDBLOCK: all read */
        ctl->nhave += (size_t)n;
        if (ctl->nhave == sizeof(ctl->nbuf)) {
            ctl->nhave = 0;
            ctl->cb(ctl->arg, (intptr_t)xb_pipe_get_le64(ctl->nbuf));
        }
    }
}

enum xb_err xb_plat_ctl_listen(struct event_base *base, xb_plat_ctl_accept_fn *cb, void *arg,
                               struct xb_plat_ctl **out, char **errmsg)
{
    struct xb_ctl_user me;
    wchar_t sddl[64 + 2 * XB_CTL_SID_MAX];
    char buf[600];
    enum xb_err err = XB_ERR_NOMEM;
    struct xb_plat_ctl *ctl = xb_new(struct xb_plat_ctl);

    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    buf[0] = '\0';
    if (!ctl)
        goto out;
    ctl->base = base;
    ctl->cb = cb;
    ctl->arg = arg;
    ctl->first = INVALID_HANDLE_VALUE;
    ctl->notify[0] = ctl->notify[1] = NO_SOCK;
    err = xb_ctl_user_self(&me);
    if (err == XB_OK)
        err = xb_ctl_pipe_name(&me, ctl->name, sizeof(ctl->name) / sizeof(ctl->name[0]));
    if (err != XB_OK) {
        snprintf(buf, sizeof(buf), "cannot name the control pipe: %s",
                 err == XB_ERR_INVAL ? "XB_CTL_NAME is not a valid name" : xb_err_str(err));
        goto out;
    }
    WideCharToMultiByte(CP_UTF8, 0, ctl->name, -1, ctl->name_utf8, (int)sizeof(ctl->name_utf8),
                        NULL, NULL);
    /* Owner: this user. Deny NETWORK first; allow SYSTEM and this user; nothing else. */
    _snwprintf(sddl, sizeof(sddl) / sizeof(sddl[0]), L"O:%lsD:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;%ls)",
               me.sid_str, me.sid_str);
    sddl[sizeof(sddl) / sizeof(sddl[0]) - 1] = L'\0';
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &ctl->sd,
                                                              NULL)) {
        snprintf(buf, sizeof(buf), "cannot make the control pipe's security descriptor "
                 "(error %lu)", (unsigned long)GetLastError());
        err = XB_ERR_IO;
        goto out;
    }
    ctl->sa.nLength = sizeof(ctl->sa);
    ctl->sa.lpSecurityDescriptor = ctl->sd;
    ctl->sa.bInheritHandle = FALSE;
    /* Someone serves the name already? FILE_FLAG_FIRST_PIPE_INSTANCE below is the
     * guard without a gap; this look first gives the clearer message, and is the only
     * guard where the flag is ignored (Wine). Nothing is sent. */
    HANDLE probe = CreateFileW(ctl->name, GENERIC_READ, 0, NULL, OPEN_EXISTING,
                               SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
    DWORD perr = probe == INVALID_HANDLE_VALUE ? GetLastError() : ERROR_SUCCESS;
    if (probe != INVALID_HANDLE_VALUE)
        CloseHandle(probe);
    if (perr == ERROR_SUCCESS || perr == ERROR_PIPE_BUSY || perr == ERROR_ACCESS_DENIED) {
        snprintf(buf, sizeof(buf), "another XOAuth Bridge companion of this user is "
                 "running (or another program holds %s); not starting a second one",
                 ctl->name_utf8);
        err = XB_ERR_IO;
        goto out;
    }
    ctl->first = make_instance(ctl, true);
    if (ctl->first == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        if (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY)
            snprintf(buf, sizeof(buf), "another XOAuth Bridge companion of this user is "
                     "running (or another program holds %s); not starting a second one",
                     ctl->name_utf8);
        else
            snprintf(buf, sizeof(buf), "cannot create the control pipe %s (error %lu)",
                     ctl->name_utf8, (unsigned long)e);
        err = XB_ERR_IO;
        goto out;
    }
    err = XB_ERR_NOMEM;
    ctl->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ctl->stop || evutil_socketpair(AF_INET, SOCK_STREAM, 0, ctl->notify) != 0 ||
        evutil_make_socket_nonblocking(ctl->notify[0]) != 0 ||
        !(ctl->notify_ev = event_new(base, ctl->notify[0], EV_READ | EV_PERSIST, notify_cb, ctl)) ||
        event_add(ctl->notify_ev, NULL) != 0) {
        snprintf(buf, sizeof(buf), "cannot set up the control pipe's bridge");
        goto out;
    }
    ctl->thread = (HANDLE)_beginthreadex(NULL, 0, listen_thread, ctl, 0, NULL);
    if (!ctl->thread) {
        snprintf(buf, sizeof(buf), "cannot start the control pipe's thread");
        goto out;
    }
    *out = ctl;
    ctl = NULL;
    err = XB_OK;
out:
    if (err != XB_OK && buf[0])
        xb_errmsg(errmsg, "%s", buf);
    xb_plat_ctl_close(ctl);
    return err;
}

const char *xb_plat_ctl_name(const struct xb_plat_ctl *ctl)
{
    return ctl->name_utf8;
}

void xb_plat_ctl_close(struct xb_plat_ctl *ctl)
{
    if (!ctl)
        return;
    if (ctl->stop)
        SetEvent(ctl->stop);
    if (ctl->thread) {
        WaitForSingleObject(ctl->thread, STOP_WAIT_MS);
        CloseHandle(ctl->thread);
    }
    if (ctl->first != INVALID_HANDLE_VALUE)
        CloseHandle(ctl->first);
    DWORD start = GetTickCount();
    while (InterlockedCompareExchange(&ctl->live, 0, 0) != 0 &&
           GetTickCount() - start < STOP_WAIT_MS)
        Sleep(10);
    if (InterlockedCompareExchange(&ctl->live, 0, 0) != 0) {
        /* A relay thread is stuck in the system: leave it its memory, the process ends. */
        xb_log_error("control channel: %ld client threads did not stop", (long)ctl->live);
        return;
    }
    if (ctl->notify_ev)
        event_free(ctl->notify_ev);
    if (ctl->notify[0] != NO_SOCK) {
        /* Sockets handed over but not yet taken by the loop. */
        unsigned char m[8];
        while (recv(ctl->notify[0], (char *)m, sizeof(m), 0) == (int)sizeof(m))
            evutil_closesocket((evutil_socket_t)xb_pipe_get_le64(m));
        evutil_closesocket(ctl->notify[0]);
    }
    if (ctl->notify[1] != NO_SOCK)
        evutil_closesocket(ctl->notify[1]);
    if (ctl->stop)
        CloseHandle(ctl->stop);
    if (ctl->sd)
        LocalFree(ctl->sd);
    xb_free(ctl);
}
