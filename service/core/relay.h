/*
 * The byte relay of a session once it is logged in (relay.c); internal to the proxy.
 */
#ifndef XB_RELAY_H
#define XB_RELAY_H

#include "core/session.h"

struct bufferevent;

/* The relay moves at most this much into the other side's output before it stops
 * reading and waits for the output to drain to half: memory stays bounded per session
 * whatever the speed difference between the two sides. */
#define XB_RELAY_HIGH (512 * 1024)
#define XB_RELAY_IO (128 * 1024)

/* The session just logged in upstream: timeouts, watermarks and read-ahead for the
 * relay, and whatever both sides sent meanwhile moves on. */
void xb_relay_start(struct xb_session *s);
/* Moves everything readable from one side to the other; stops reading when the other
 * side's output is full, until it drains to half. */
void xb_relay_move(struct xb_session *s, struct bufferevent *from, struct bufferevent *to);
/* Decrypts what OpenSSL holds into the upstream input, up to the limit; 0, or the
 * bufferevent event (EOF, error) a failed read stands for, for the caller to report
 * after relaying what came before. */
short xb_relay_drain_tls(struct xb_session *s);
/* Reads what the mail program sent beyond libevent's 4 KiB into the client input, up to
 * the limit; 0, or the bufferevent event (EOF, error) that ended the stream, for the
 * caller to report after relaying what came before. */
short xb_relay_drain_client(struct xb_session *s);

/* session.c, for the relay: a side's callbacks with write_cb as its write callback (NULL:
 * the normal one again), and the upstream read callback run by hand (may free s). */
void xb_sess_set_write_cb(struct xb_session *s, struct bufferevent *bev,
                          void (*write_cb)(struct bufferevent *bev, void *arg));
void xb_sess_up_readable(struct xb_session *s);

#endif
