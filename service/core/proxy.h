/*
 * The proxy: loopback listeners for IMAP, POP3 and SMTP on one libevent loop, the list
 * of live sessions, and what every session needs (config, store, token source, TLS).
 */
#ifndef XB_PROXY_H
#define XB_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/bufferevent.h>

#include "core/config.h"
#include "core/err.h"
#include "core/session.h"
#include "core/spare.h"

struct event_base;
struct evconnlistener;
struct evdns_base;
struct xb_store;
struct xb_tls;
struct xb_ui;
struct xb_token_source;

#define XB_PROXY_NO_RECENT_MAX 32
/* Early upstream connections (docs/proxy.md "Early upstream connection"): client
 * addresses whose local login was refused lately, remembered for XB_PROXY_EARLY_QUIET s;
 * the same pause for a protocol whose upstream failed. */
#define XB_PROXY_REFUSED_MAX 8
#define XB_PROXY_EARLY_QUIET 60
/* An early or spare connection older than this (seconds) is not used (the server may be
 * about to drop a connection that has not logged in): a fresh one is made instead. */
#define XB_PROXY_EARLY_MAX_AGE 10

struct xb_proxy {
    struct event_base *base;
    struct evdns_base *dns;
    const struct xb_config *cfg;
    struct xb_store *store;
    struct xb_token_source *tokens;
    struct xb_tls *tls;
    struct xb_ui *ui;                  /* who to tell about refused certificates; may be NULL */
    struct evconnlistener *listeners[XB_PROTO__COUNT];
    unsigned nsessions;
    unsigned long next_id;
    struct xb_list sessions;           /* of struct xb_session, newest first */
    /* Accounts whose mail server did not take POP3 recent mode with OAuth (session.c):
     * their logins go without the prefix from then on. Oldest replaced when full. */
    char *no_recent[XB_PROXY_NO_RECENT_MAX];
    unsigned no_recent_next;
    struct event *trim_ev;             /* gives the heap back once no session is left */
    /* Early upstream connections: the server of the last login that worked, per
     * protocol (a pointer into cfg), how many are open, and when they may start again. */
    const struct xb_server *early_server[XB_PROTO__COUNT];
    int64_t early_off_until[XB_PROTO__COUNT];
    unsigned nearly;                   /* early connections, spares included */
    struct xb_spare spare[XB_PROTO__COUNT];
    struct { char addr[64]; int64_t until; } refused[XB_PROXY_REFUSED_MAX];
    unsigned refused_next;
};

enum xb_err xb_proxy_new(struct event_base *base, const struct xb_config *cfg,
                         struct xb_store *store, struct xb_token_source *tokens,
                         struct xb_proxy **out, char **errmsg);
/* Who hears of problems only the person or IT can fix (a refused certificate). */
void xb_proxy_set_ui(struct xb_proxy *px, struct xb_ui *ui);
/* Binds the configured listeners; *errmsg names the one that failed and why. */
enum xb_err xb_proxy_listen(struct xb_proxy *px, char **errmsg);
/* Closes the listeners only (pause: new connections are refused, sessions go on);
 * xb_proxy_listen opens them again. */
void xb_proxy_close_listeners(struct xb_proxy *px);
/* Closes the listeners and ends every session with a goodbye line. */
void xb_proxy_shutdown(struct xb_proxy *px);
void xb_proxy_free(struct xb_proxy *px);

/* The address a listener is bound to, as host (no brackets) and port; false if it is
 * off (host "", port 0). */
bool xb_proxy_listen_port(struct xb_proxy *px, enum xb_proto_id id, char *host, size_t size,
                          unsigned *port);
/* The same as one string ("127.0.0.1:1143"), for logs and tests; "" if off. */
void xb_proxy_listen_addr(struct xb_proxy *px, enum xb_proto_id proto, char *buf, size_t size);

/* POP3 recent mode that the mail server did not take for email (see session.c). */
bool xb_proxy_no_recent(const struct xb_proxy *px, const char *email);
void xb_proxy_set_no_recent(struct xb_proxy *px, const char *email);

/* Early upstream connections. The server to connect to for a new client of protocol id
 * at address peer ("host:port") before it logs in, or NULL: only after a login to it
 * worked, not while that upstream fails, not for an address whose local login was
 * refused lately, at most max_sessions at a time, and never with early_connections
 * off. now: seconds. */
const struct xb_server *xb_proxy_early_server(const struct xb_proxy *px, enum xb_proto_id id,
                                              const char *peer, int64_t now);
/* The result of a connection to srv for protocol id (a login that worked; or a
 * connection or TLS failure, which pauses early connections). */
void xb_proxy_upstream_result(struct xb_proxy *px, enum xb_proto_id id,
                              const struct xb_server *srv, bool ok, int64_t now);
/* A new connection toward srv (TCP, and TLS with the host name verified for implicit
 * TLS), connecting, with these callbacks; NULL if it could not be started. */
struct bufferevent *xb_proxy_connect(struct xb_proxy *px, const struct xb_server *srv,
                                     bufferevent_data_cb readcb, bufferevent_data_cb writecb,
                                     bufferevent_event_cb eventcb, void *arg);
/* A local login from peer was refused. */
void xb_proxy_local_refused(struct xb_proxy *px, const char *peer, int64_t now);

/* Called by sessions. */
void xb_proxy_session_added(struct xb_proxy *px, struct xb_session *s);
void xb_proxy_session_removed(struct xb_proxy *px, struct xb_session *s);

#endif
