/*
 * The proxy: loopback listeners for IMAP, POP3 and SMTP on one libevent loop, the list
 * of live sessions, and what every session needs (config, store, token source, TLS).
 */
#ifndef XB_PROXY_H
#define XB_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/err.h"
#include "core/session.h"

struct event_base;
struct evconnlistener;
struct evdns_base;
struct xb_store;
struct xb_tls;
struct xb_ui;
struct xb_token_source;

#define XB_PROXY_NO_RECENT_MAX 32

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

/* Called by sessions. */
void xb_proxy_session_added(struct xb_proxy *px, struct xb_session *s);
void xb_proxy_session_removed(struct xb_proxy *px, struct xb_session *s);

#endif
