/*
 * The relay: once both sides are logged in, bytes flow both ways untouched, with
 * back-pressure (at most XB_RELAY_HIGH queued toward either side) and the writes and
 * reads arranged so that an answer the mail program waits for goes out at once while a
 * bulk transfer stays batched (docs/proxy.md "How the relay moves bytes",
 * docs/performance.md). The session (session.c) owns the sockets and the callbacks and
 * calls in here from its read callbacks.
 */
#include "core/relay.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "platform/platform.h"

/* What one TLS record holds, and what libevent hands SSL_write at most at a time. */
#define XB_TLS_RECORD 16384
/* What libevent 2.1 reads from a socket at most per call (EVBUFFER_MAX_READ). */
#define XB_LIBEVENT_READ 4096

static void relay_drained_cb(struct bufferevent *to, void *arg);

/* Nothing more to read upstream right now: nothing held in OpenSSL (decrypted, or read
 * ahead and not yet decrypted), and the read that drain_tls just made found the socket
 * empty (no FIONREAD needed: OpenSSL reads ahead until the kernel has nothing). */
static bool upstream_idle(const struct xb_session *s)
{
    SSL *ssl = bufferevent_openssl_get_ssl(s->up);
    if (ssl)
        return s->up_dry && !SSL_has_pending(ssl);
    return xb_plat_sock_readable((intptr_t)bufferevent_getfd(s->up)) == 0;
}

/* Toward the server, when nothing is queued: the bytes are encrypted and sent now, a
 * TLS record at a time, rather than on the loop's next turn, which saves two epoll_ctl
 * and an epoll_wait on every command the mail program waits for (and a loop turn per
 * piece of a message body). If OpenSSL cannot finish a record (the socket is full; it
 * keeps the record and wants the same bytes again), they stay at the front of `in`, go
 * to the output contiguous and first, and libevent's next SSL_write, which starts at the
 * front of the output and takes at least as many, repeats them (libevent sets
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; OpenSSL accepts a longer retry). An error is left
 * for that write to report. */
static void up_write_now(struct xb_session *s, struct evbuffer *in)
{
    SSL *ssl = bufferevent_openssl_get_ssl(s->up);
    if (!ssl)
        return;
    for (;;) {
        size_t len = evbuffer_get_length(in);
        if (len == 0)
            return;
        if (len > XB_TLS_RECORD)
            len = XB_TLS_RECORD;
        unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)len);
        if (!p)
            return;
        ERR_clear_error();
        int n = SSL_write(ssl, p, (int)len);
        if (n <= 0) {
            xb_sess_log(s, XB_LOG_DEBUG, "upstream not writable now (%d): %lu bytes queued",
                        SSL_get_error(ssl, n), (unsigned long)evbuffer_get_length(in));
            return;
        }
        evbuffer_drain(in, (size_t)n); /* all of it: libevent leaves partial writes off */
    }
}

/* Moves everything readable from one side to the other; stops reading when the other
 * side's output is full (back-pressure), until it drains to half. */
void xb_relay_move(struct xb_session *s, struct bufferevent *from, struct bufferevent *to)
{
    struct evbuffer *in = bufferevent_get_input(from), *out = bufferevent_get_output(to);
    /* Toward the mail program (a plain loopback socket), when this is the whole answer
     * (nothing queued, nothing more decrypted or waiting upstream): write now instead of
     * on the loop's next turn, one epoll_wait less on every answer the program waits for.
     * In the middle of a bulk transfer the bytes are queued and go out together. What the
     * socket does not take (or an error, which its write event then reports) is queued. */
    if (to == s->client && evbuffer_get_length(out) == 0 && upstream_idle(s))
        (void)evbuffer_write(in, bufferevent_getfd(to));
    else if (to == s->up && evbuffer_get_length(out) == 0)
        up_write_now(s, in);
    evbuffer_add_buffer(out, in);
    if (evbuffer_get_length(out) >= XB_RELAY_HIGH) {
        bufferevent_disable(from, EV_READ);
        bufferevent_setwatermark(to, EV_WRITE, XB_RELAY_HIGH / 2, XB_RELAY_HIGH);
        xb_sess_set_write_cb(s, to, relay_drained_cb);
        s->relay_paused = true;
    }
}

static void relay_drained_cb(struct bufferevent *to, void *arg)
{
    struct xb_session *s = arg;
    struct bufferevent *from = to == s->client ? s->up : s->client;
    xb_sess_set_write_cb(s, to, NULL);
    bufferevent_setwatermark(to, EV_WRITE, 0, 0);
    s->relay_paused = false;
    if (!from)
        return;
    bufferevent_enable(from, EV_READ);
    /* What OpenSSL read ahead while the client's side was full gets no socket event. */
    if (from == s->up) {
        SSL *ssl = bufferevent_openssl_get_ssl(s->up);
        if (ssl && SSL_has_pending(ssl))
            xb_sess_up_readable(s); /* may free s: nothing after this */
    }
}

void xb_relay_start(struct xb_session *s)
{
    SSL *ssl = bufferevent_openssl_get_ssl(s->up);
    struct timeval idle = { (long)xb_sess_config(s)->idle_timeout, 0 };
    bufferevent_set_timeouts(s->client, &idle, NULL);
    bufferevent_set_timeouts(s->up, &idle, NULL);
    bufferevent_setwatermark(s->client, EV_READ, 0, XB_RELAY_HIGH);
    /* Bulk both ways (a FETCH, a DATA): fewer, larger reads and writes than libevent's
     * 16 KiB per call. */
    bufferevent_set_max_single_read(s->client, XB_RELAY_IO);
    bufferevent_set_max_single_write(s->client, XB_RELAY_IO);
    /* From here up_read_cb decrypts everything OpenSSL has read (xb_relay_drain_tls). Not
     * before: during the login, libevent alone reads, and it cannot see read-ahead bytes. */
    if (ssl)
        SSL_set_read_ahead(ssl, 1);
    bufferevent_enable(s->client, EV_READ);
    /* Bytes that arrived behind the login line, on either side, go on now. */
    if (evbuffer_get_length(bufferevent_get_input(s->up)))
        xb_relay_move(s, s->up, s->client);
    if (evbuffer_get_length(bufferevent_get_input(s->client)))
        xb_relay_move(s, s->client, s->up);
}

/* In relay, OpenSSL reads ahead (whole socket reads, not a header and a body per
 * record), and everything it has read is decrypted here, straight into the input:
 * libevent 2.1 decrypts at most two records per readiness event and only asks
 * SSL_pending(), which does not count read-ahead bytes, so without this they would wait
 * for the next packet, or for ever at the end of an answer. Stops when the mail
 * program's side holds XB_RELAY_HIGH: OpenSSL may hold more, but up_dry stays false, so
 * xb_relay_move queues everything and pauses, and relay_drained_cb comes back here. Returns 0,
 * or the bufferevent event (EOF, error) that a failed read stands for; the caller
 * reports it after relaying what came before. */
short xb_relay_drain_tls(struct xb_session *s)
{
    SSL *ssl = bufferevent_openssl_get_ssl(s->up);
    struct evbuffer *in = bufferevent_get_input(s->up);
    struct evbuffer *out = bufferevent_get_output(s->client);
    s->up_dry = false;
    if (!ssl)
        return 0;
    while (evbuffer_get_length(in) + evbuffer_get_length(out) < XB_RELAY_HIGH) {
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(in, 16384, &v, 1) < 1)
            return 0;
        ERR_clear_error();
        int n = SSL_read(ssl, v.iov_base, v.iov_len > 16384 ? 16384 : (int)v.iov_len);
        if (n > 0) {
            v.iov_len = (size_t)n;
            evbuffer_commit_space(in, &v, 1);
            continue;
        }
        switch (SSL_get_error(ssl, n)) {
        case SSL_ERROR_WANT_READ:
            s->up_dry = true;
            return 0;
        case SSL_ERROR_WANT_WRITE: /* a key update: libevent's next read deals with it */
            return 0;
        case SSL_ERROR_ZERO_RETURN:
            return BEV_EVENT_EOF | BEV_EVENT_READING;
        default:
            return BEV_EVENT_ERROR | BEV_EVENT_READING;
        }
    }
    return 0;
}

/* libevent 2.1 reads at most 4 KiB per call from a socket (EVBUFFER_MAX_READ), whatever
 * bufferevent_set_max_single_read says, and the read callback runs once per call: a
 * message body from the mail program (SMTP DATA, IMAP APPEND) went upstream as one 4 KiB
 * TLS record, one system call and one wake-up of the server per 4 KiB (measured: 2,560
 * of each per 10 MiB). So when libevent's read came back full, the rest of what the
 * socket holds is read here, in XB_RELAY_IO pieces, up to the relay's limit; a command
 * (less than 4 KiB) costs nothing more. Returns 0, or the bufferevent event (EOF, error)
 * that a read found; the caller reports it after relaying what came before. */
short xb_relay_drain_client(struct xb_session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->client);
    intptr_t fd = (intptr_t)bufferevent_getfd(s->client);
    short ended = 0;
    if (!s->up || evbuffer_get_length(in) < XB_LIBEVENT_READ)
        return 0;
    struct evbuffer *out = bufferevent_get_output(s->up);
    /* A socket bufferevent keeps its input's end frozen but while it reads itself. */
    evbuffer_unfreeze(in, 0);
    while (evbuffer_get_length(in) + evbuffer_get_length(out) < XB_RELAY_HIGH) {
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(in, XB_RELAY_IO, &v, 1) < 1)
            break;
        ptrdiff_t n = xb_plat_sock_recv(fd, v.iov_base, v.iov_len);
        if (n > 0) {
            v.iov_len = (size_t)n;
            evbuffer_commit_space(in, &v, 1);
            continue;
        }
        if (n == 0)
            ended = BEV_EVENT_EOF | BEV_EVENT_READING;
        else if (n == -2)
            ended = BEV_EVENT_ERROR | BEV_EVENT_READING;
        break;
    }
    evbuffer_freeze(in, 0);
    return ended;
}
