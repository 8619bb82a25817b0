/*
 * The client end of the control channel (docs/pipe-protocol.md): connect to this
 * user's companion, check who serves the endpoint BEFORE sending anything, then send
 * and receive whole frames, blocking, with timeouts. No event loop, no allocation.
 *
 * Implemented in platform/posix/ctlclient.c (Unix socket, peer checked with
 * SO_PEERCRED) and platform/win32/ctlclient.c (named pipe, owner and server process
 * checked against this user's SID). The Outlook add-in compiles win32/ctlclient.c and
 * core/pipe_codec.c as they are, with include/xoauthbridge/pipe_proto.h and
 * core/err.h: nothing else of the companion (link advapi32).
 *
 * Endpoint names (the server uses the same function):
 *   POSIX:   $XDG_RUNTIME_DIR/xoauthbridge.sock, else
 *            $XDG_STATE_HOME/xoauthbridge/ctl.sock, else ~/.local/state/xoauthbridge/ctl.sock
 *   Windows: \\.\pipe\xoauthbridge-<the user's SID, S-1-5-21-...>
 * $XB_CTL_NAME (letters, digits, '.', '_', '-'; at most 32) adds "-NAME" before ".sock"
 * or at the end of the pipe name: separate instances for tests. It only chooses among
 * this user's names; the identity checks stay the same.
 */
#ifndef XB_CTLCLIENT_H
#define XB_CTLCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xoauthbridge/pipe_proto.h"

#include "core/err.h"

/* A valid $XB_CTL_NAME: 1..XB_CTL_INSTANCE_MAX of letters, digits, '.', '_', '-' (a
 * wide string's characters are tested one by one: anything past ASCII is refused). */
static inline bool xb_ctl_instance_char_ok(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

struct xb_ctl_client {
    intptr_t h;                  /* descriptor or HANDLE; -1 when not connected */
};

#define XB_CTL_CLIENT_INIT { -1 }
#define XB_CTL_INSTANCE_MAX 32

/* The endpoint's name (socket path or pipe name), UTF-8. XB_ERR_NOTFOUND: the
 * environment names no place for it; XB_ERR_INVAL: $XB_CTL_NAME is not a valid name;
 * XB_ERR_RANGE: it does not fit in buf (or in a socket address). */
enum xb_err xb_ctl_endpoint_name(char *buf, size_t size);

/* Connects and checks the server's identity. XB_OK; XB_ERR_NOTFOUND: no companion is
 * running; XB_ERR_AUTH: the endpoint belongs to someone else (refused, nothing sent);
 * XB_ERR_TEMP: busy beyond timeout_ms; other errors as they come. */
enum xb_err xb_ctl_client_connect(struct xb_ctl_client *c, unsigned timeout_ms);

/* Sends one whole frame. XB_ERR_TEMP on timeout, XB_ERR_NET when the peer is gone. */
enum xb_err xb_ctl_client_send(struct xb_ctl_client *c, const void *frame, size_t len,
                               unsigned timeout_ms);

/* A monotonic clock in milliseconds, and reading exactly len bytes before deadline_ms on
 * it: XB_ERR_TEMP when the time is up, XB_ERR_NET when the peer is gone. */
uint64_t xb_ctl_client_clock_ms(void);
enum xb_err xb_ctl_client_read_exact(struct xb_ctl_client *c, void *buf, size_t len,
                                     uint64_t deadline_ms);

/* Receives one whole frame (header checked by xb_pipe_hdr_decode) into buf; *len is its
 * size. XB_ERR_TEMP on timeout, XB_ERR_NET when the peer closed, XB_ERR_INVAL for a
 * stream that is not frames, XB_ERR_RANGE when the frame is larger than size. */
static inline enum xb_err xb_ctl_client_recv(struct xb_ctl_client *c, void *buf, size_t size,
                                             size_t *len, unsigned timeout_ms)
{
    unsigned char *p = (unsigned char *)buf;
    uint64_t deadline = xb_ctl_client_clock_ms() + timeout_ms;
    struct xb_pipe_hdr h;
    enum xb_err err;

    *len = 0;
    if (c->h == -1 || size < XB_PIPE_HDR_LEN)
        return XB_ERR_INVAL;
    if ((err = xb_ctl_client_read_exact(c, p, XB_PIPE_HDR_LEN, deadline)) != XB_OK)
        return err;
    if (xb_pipe_hdr_decode(p, &h) != XB_PIPE_HDR_OK)
        return XB_ERR_INVAL;
    if (h.len > size - XB_PIPE_HDR_LEN)
        return XB_ERR_RANGE;
    err = xb_ctl_client_read_exact(c, p + XB_PIPE_HDR_LEN, h.len, deadline);
    if (err == XB_OK)
        *len = XB_PIPE_HDR_LEN + (size_t)h.len;
    return err;
}

/* NULL-safe; leaves c closed (h = -1). */
void xb_ctl_client_close(struct xb_ctl_client *c);

/* Sends a request and waits for the reply with its id (events that arrive meanwhile
 * are skipped; a reply with id 0 is the companion's answer to a stream it could not
 * read, and ends the wait too). buf receives the reply; *h its header. */
static inline enum xb_err xb_ctl_client_call(struct xb_ctl_client *c, const void *req,
                                             size_t reqlen, void *buf, size_t size,
                                             size_t *len, struct xb_pipe_hdr *h,
                                             unsigned timeout_ms)
{
    struct xb_pipe_hdr want;
    enum xb_err err;
    if (reqlen < XB_PIPE_HDR_LEN)
        return XB_ERR_INVAL;
    xb_pipe_hdr_decode((const unsigned char *)req, &want);
    err = xb_ctl_client_send(c, req, reqlen, timeout_ms);
    while (err == XB_OK) {
        err = xb_ctl_client_recv(c, buf, size, len, timeout_ms);
        if (err != XB_OK)
            break;
        xb_pipe_hdr_decode((const unsigned char *)buf, h);
        if (h->kind == XB_PIPE_KIND_REPLY && (h->id == want.id || h->id == 0))
            return XB_OK;
    }
    return err;
}

#endif
