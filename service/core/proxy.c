#include "core/proxy.h"

#include <stdio.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "core/addr.h"
#include "core/ascii.h"
#include "core/events.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/portrange.h"
#include "core/relay.h"
#include "core/tls.h"
#include "core/ui.h"
#include "platform/platform.h"
#include "xoauthbridge/version.h"

/* Bursts of hundreds of clients connecting at once must not be dropped by the kernel. */
#define XB_LISTEN_BACKLOG 1024

static const struct xb_proto *const protos[XB_PROTO__COUNT] = {
    [XB_PROTO_IMAP] = &xb_proto_imap,
    [XB_PROTO_POP3] = &xb_proto_pop3,
    [XB_PROTO_SMTP] = &xb_proto_smtp,
};

/* The heap keeps what bulk transfers freed (xb_plat_init: no trimming on every free,
 * which cost page faults by the thousand per transfer); once no session is left for a
 * while, it goes back to the system, and so do the library pages mapped meanwhile
 * (xb_plat_mem_trim), so an idle companion stays small. */
#define XB_PROXY_TRIM_AFTER 2 /* seconds without a session */

static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
    xb_plat_mem_trim();
    xb_log_debug("no session for %d s: memory given back", XB_PROXY_TRIM_AFTER);
}

enum xb_err xb_proxy_new(struct event_base *base, const struct xb_config *cfg,
                         struct xb_store *store, struct xb_token_source *tokens,
                         struct xb_proxy **out, char **errmsg)
{
    struct xb_proxy *px = xb_new(struct xb_proxy);
    enum xb_err err = XB_ERR_NOMEM;
    if (!px)
        goto out;
    px->base = base;
    px->cfg = cfg;
    px->store = store;
    px->tokens = tokens;
    err = xb_tls_new(cfg->ca_file, &px->tls, errmsg);
    if (err != XB_OK)
        goto out;
    px->trim_ev = evtimer_new(base, trim_cb, px);
    if (!px->trim_ev) {
        err = XB_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < XB_PROTO__COUNT; i++) {
        if (!xb_spare_init(&px->spare[i], px, (enum xb_proto_id)i)) {
            err = XB_ERR_NOMEM;
            goto out;
        }
    }
    px->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (!px->dns) {
        /* No resolver configuration: IP literals still work; names will fail clearly. */
        xb_log_warn("no DNS resolver configuration found; only IP addresses can be reached");
        px->dns = evdns_base_new(base, 0);
    }
    *out = px;
    px = NULL;
    err = XB_OK;
out:
    xb_proxy_free(px);
    return err;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct xb_proxy *px = arg;
    enum xb_proto_id id = XB_PROTO_IMAP;
    for (int i = 0; i < XB_PROTO__COUNT; i++)
        if (px->listeners[i] == l)
            id = (enum xb_proto_id)i;

    char host[64] = "?", peer[80];
    if (sa->sa_family == AF_INET)
        evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
    else if (sa->sa_family == AF_INET6)
        evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
    unsigned port = sa->sa_family == AF_INET ? ntohs(((struct sockaddr_in *)sa)->sin_port)
                    : sa->sa_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)sa)->sin6_port)
                                                : 0;
    snprintf(peer, sizeof(peer), "%s:%u", host, port);
    evutil_make_socket_nonblocking(fd);
    xb_session_start(px, protos[id], (intptr_t)fd, peer);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    /* Out of descriptors, usually: say so and keep listening. */
    int err = EVUTIL_SOCKET_ERROR();
    xb_log_error("accept failed: %s", evutil_socket_error_to_string(err));
}

/* Listens on addr ("host:port"), or on its host and `port` when that is not 0. */
static enum xb_err listen_one(struct xb_proxy *px, enum xb_proto_id id, const char *addr,
                              unsigned port_override, char **errmsg)
{
    struct sockaddr_storage ss;
    int sslen = 0;
    char host[256];
    unsigned port = 0;
    memset(&ss, 0, sizeof(ss));
    if (xb_hostport_parse(addr, host, sizeof(host), &port, true)) {
        if (port_override)
            port = port_override;
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        if (strcmp(host, "localhost") == 0)
            snprintf(host, sizeof(host), "127.0.0.1");
        if (evutil_inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
            sin->sin_family = AF_INET;
            sin->sin_port = htons((unsigned short)port);
            sslen = (int)sizeof(*sin);
        } else if (evutil_inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
            sin6->sin6_family = AF_INET6;
            sin6->sin6_port = htons((unsigned short)port);
            sslen = (int)sizeof(*sin6);
        }
    }
    if (!sslen) {
        xb_errmsg(errmsg, "%s_listen: '%s' is not an IP address and port", protos[id]->name,
                  addr);
        return XB_ERR_INVAL;
    }
    px->listeners[id] = evconnlistener_new_bind(
        px->base, accept_cb, px,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, XB_LISTEN_BACKLOG,
        (struct sockaddr *)&ss, sslen);
    if (!px->listeners[id]) {
        const char *why = evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
        bool v6 = strchr(host, ':') != NULL;
        xb_errmsg(errmsg, "%s_listen: cannot listen on %s%s%s:%u: %s", protos[id]->name,
                  v6 ? "[" : "", host, v6 ? "]" : "", port, why);
        return XB_ERR_NET;
    }
    evconnlistener_set_error_cb(px->listeners[id], accept_error_cb);
    return XB_OK;
}

/* Said once every listener is up (a slot of a port range may be tried and given up). */
static void log_listening(struct xb_proxy *px)
{
    char buf[300], all[400] = "";
    for (int i = 0; i < XB_PROTO__COUNT; i++) {
        if (!px->listeners[i])
            continue;
        xb_proxy_listen_addr(px, (enum xb_proto_id)i, buf, sizeof(buf));
        xb_log_info("%s: listening on %s", protos[i]->name, buf);
        size_t n = strlen(all);
        snprintf(all + n, sizeof(all) - n, "%s%s %s", n ? ", " : "", protos[i]->name, buf);
    }
    xb_log_event(XB_EV_STARTED, "XOAuth Bridge %s listens: %s", XB_VERSION, all);
}

/* One slot of the port range (portrange.h): the listeners that are on, in the order
 * IMAP, POP3, SMTP, on consecutive ports; all or none. */
static bool listen_slot(struct xb_proxy *px, const struct xb_listen *const cfg[],
                        unsigned first, char **why)
{
    unsigned port = first;
    for (int i = 0; i < XB_PROTO__COUNT; i++) {
        if (!cfg[i]->addr)
            continue;
        if (listen_one(px, (enum xb_proto_id)i, cfg[i]->addr, port++, why) != XB_OK) {
            xb_proxy_close_listeners(px);
            return false;
        }
    }
    return true;
}

/* The ports this user's Outlook accounts point at are held by something else: whoever
 * holds them would receive the local secret at the next send/receive (to no avail:
 * secrets work only here, and only for this user's programs, but the person must know).
 * Says who holds them, when the system tells, in the log and to the person. */
static void ports_taken(struct xb_proxy *px, unsigned first, unsigned width, const char *why)
{
    char holder[200] = "";
    unsigned port = first;
    for (; port < first + width && !holder[0]; port++) {
        if (!xb_plat_port_holder(port, holder, sizeof(holder)))
            holder[0] = '\0';
    }
    char detail[400];
    if (holder[0])
        snprintf(detail, sizeof(detail), "port %u is held by %s", port - 1, holder);
    else
        snprintf(detail, sizeof(detail), "%s", why ? why : "taken");
    xb_log_event(XB_EV_PORTS_MOVED, "the ports used last time (from %u) are taken now: %s; "
                 "listening on others in %u..%u, and the add-in points Outlook's accounts at "
                 "them", first, detail, px->cfg->port_range_start, px->cfg->port_range_end);
    xb_ui_alert(px->ui, XB_UI_PORTS_TAKEN, NULL, detail);
}

static enum xb_err listen_in_range(struct xb_proxy *px, const struct xb_listen *const cfg[],
                                   unsigned width, char **errmsg)
{
    const struct xb_config *c = px->cfg;
    unsigned nslots = xb_portrange_slots(c, width);
    bool saved;
    unsigned first = xb_portrange_first_slot(c, width, &saved);
    for (unsigned k = 0; k < nslots; k++) {
        unsigned slot = (first + k) % nslots;
        char *why = NULL;
        bool ok = listen_slot(px, cfg, xb_portrange_port(c, width, slot), &why);
        if (!ok && saved && k == 0)
            ports_taken(px, xb_portrange_port(c, width, slot), width, why);
        else if (!ok)
            xb_log_debug("ports from %u are taken (%s)", xb_portrange_port(c, width, slot),
                         why ? why : "");
        xb_free(why);
        if (ok) {
            if (!saved || k != 0)
                xb_portrange_save(c, width, slot);
            log_listening(px);
            return XB_OK;
        }
    }
    xb_errmsg(errmsg, "port_range_start/port_range_end: every port of %u..%u is taken (%u "
              "users' worth of %u ports): widen the range", c->port_range_start,
              c->port_range_end, nslots, width);
    return XB_ERR_NET;
}

enum xb_err xb_proxy_listen(struct xb_proxy *px, char **errmsg)
{
    const struct xb_listen *cfg[XB_PROTO__COUNT];
    for (int i = 0; i < XB_PROTO__COUNT; i++)
        cfg[i] = &px->cfg->listen[i];
    if (px->cfg->local_starttls) {
        /* Accepted by the config for forward compatibility, but there is no local
         * certificate to offer yet: refuse rather than silently run without it. */
        xb_errmsg(errmsg, "%s", "local_starttls = yes is not supported by this version: the "
                            "loopback side is plain text (docs/proxy.md); remove the key");
        return XB_ERR_UNSUPPORTED;
    }
    unsigned width = 0;
    for (int i = 0; i < XB_PROTO__COUNT; i++)
        width += cfg[i]->addr != NULL;
    if (xb_portrange_slots(px->cfg, width))
        return listen_in_range(px, cfg, width, errmsg);
    if (!px->cfg->port_range_on && (px->cfg->port_range_start || px->cfg->port_range_end))
        xb_log_info("port range %u..%u is turned off (port_range = no, or the policy \"Local "
                    "port range\" Disabled): listening on the [proxy] *_listen ports",
                    px->cfg->port_range_start, px->cfg->port_range_end);
    else if (px->cfg->port_range_start || px->cfg->port_range_end)
        /* Only by policy (the file's own mistakes stop at parsing): one end set alone,
         * or a range that holds no slot. */
        xb_log_warn("port range %u..%u (port_range_start, port_range_end) holds no slot of "
                    "%u ports, or one end is not set: listening on the [proxy] *_listen ports",
                    px->cfg->port_range_start, px->cfg->port_range_end, width);
    for (int i = 0; i < XB_PROTO__COUNT; i++) {
        if (!cfg[i]->addr)
            continue;
        enum xb_err err = listen_one(px, (enum xb_proto_id)i, cfg[i]->addr, 0, errmsg);
        if (err != XB_OK)
            return err;
    }
    log_listening(px);
    return XB_OK;
}

bool xb_proxy_listen_port(struct xb_proxy *px, enum xb_proto_id id, char *host, size_t size,
                          unsigned *port)
{
    struct sockaddr_storage ss;
    ev_socklen_t len = sizeof(ss);
    host[0] = '\0';
    *port = 0;
    if (!px->listeners[id] ||
        getsockname(evconnlistener_get_fd(px->listeners[id]), (struct sockaddr *)&ss, &len) != 0)
        return false;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        evutil_inet_ntop(AF_INET, &sin->sin_addr, host, size);
        *port = ntohs(sin->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, host, size);
        *port = ntohs(sin6->sin6_port);
    }
    return *port != 0;
}

void xb_proxy_listen_addr(struct xb_proxy *px, enum xb_proto_id id, char *buf, size_t size)
{
    char host[64];
    unsigned port;
    buf[0] = '\0';
    if (xb_proxy_listen_port(px, id, host, sizeof(host), &port))
        snprintf(buf, size, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

void xb_proxy_session_added(struct xb_proxy *px, struct xb_session *s)
{
    xb_list_push(&px->sessions, &s->link);
    px->nsessions++;
    if (px->trim_ev)
        evtimer_del(px->trim_ev);
}

void xb_proxy_session_removed(struct xb_proxy *px, struct xb_session *s)
{
    xb_list_remove(&px->sessions, &s->link);
    px->nsessions--;
    if (px->nsessions == 0 && px->trim_ev) {
        struct timeval tv = { XB_PROXY_TRIM_AFTER, 0 };
        evtimer_add(px->trim_ev, &tv);
    }
}

void xb_proxy_close_listeners(struct xb_proxy *px)
{
    for (int i = 0; i < XB_PROTO__COUNT; i++) {
        if (px->listeners[i]) {
            evconnlistener_free(px->listeners[i]);
            px->listeners[i] = NULL;
        }
    }
}

void xb_proxy_shutdown(struct xb_proxy *px)
{
    xb_proxy_close_listeners(px);
    for (int i = 0; i < XB_PROTO__COUNT; i++)
        xb_spare_close(&px->spare[i]);
    XB_LIST_EACH(s, next, &px->sessions, struct xb_session, link)
        xb_session_shutdown(s, "XOAuth Bridge is shutting down");
}

void xb_proxy_set_ui(struct xb_proxy *px, struct xb_ui *ui)
{
    px->ui = ui;
}

bool xb_proxy_no_recent(const struct xb_proxy *px, const char *email)
{
    for (unsigned i = 0; i < XB_PROXY_NO_RECENT_MAX; i++) {
        if (px->no_recent[i] && xb_ascii_streq_ci(px->no_recent[i], email))
            return true;
    }
    return false;
}

void xb_proxy_set_no_recent(struct xb_proxy *px, const char *email)
{
    if (xb_proxy_no_recent(px, email))
        return;
    char *copy = xb_strdup(email);
    if (!copy)
        return; /* the next login probes again: no harm */
    unsigned i = px->no_recent_next++ % XB_PROXY_NO_RECENT_MAX;
    xb_free(px->no_recent[i]);
    px->no_recent[i] = copy;
}

void xb_proxy_free(struct xb_proxy *px)
{
    if (!px)
        return;
    for (unsigned i = 0; i < XB_PROXY_NO_RECENT_MAX; i++)
        xb_free(px->no_recent[i]);
    xb_proxy_shutdown(px);
    /* Sessions still flushing their last words are ended now. */
    while (px->sessions.first)
        xb_session_free_now(XB_LIST_FIRST(&px->sessions, struct xb_session, link));
    for (int i = 0; i < XB_PROTO__COUNT; i++)
        xb_spare_free(&px->spare[i]);
    if (px->dns)
        evdns_base_free(px->dns, 0);
    xb_tls_free(px->tls);
    if (px->trim_ev)
        event_free(px->trim_ev);
    xb_free(px);
}

/* The address of "host:port" without the port (the port changes with every connection). */
static size_t addr_len(const char *peer)
{
    const char *colon = strrchr(peer, ':');
    return colon ? (size_t)(colon - peer) : strlen(peer);
}

static bool refused_lately(const struct xb_proxy *px, const char *peer, int64_t now)
{
    size_t n = addr_len(peer);
    for (unsigned i = 0; i < XB_PROXY_REFUSED_MAX; i++)
        if (px->refused[i].until > now && strlen(px->refused[i].addr) == n &&
            memcmp(px->refused[i].addr, peer, n) == 0)
            return true;
    return false;
}

const struct xb_server *xb_proxy_early_server(const struct xb_proxy *px, enum xb_proto_id id,
                                              const char *peer, int64_t now)
{
    if (!px->cfg->early_connections || !px->early_server[id] ||
        px->early_off_until[id] > now || px->nearly >= px->cfg->max_sessions ||
        refused_lately(px, peer, now))
        return NULL;
    return px->early_server[id];
}

void xb_proxy_upstream_result(struct xb_proxy *px, enum xb_proto_id id,
                              const struct xb_server *srv, bool ok, int64_t now)
{
    if (ok) {
        px->early_server[id] = srv;
        px->early_off_until[id] = 0;
    } else {
        px->early_off_until[id] = now + XB_PROXY_EARLY_QUIET;
    }
}

struct bufferevent *xb_proxy_connect(struct xb_proxy *px, const struct xb_server *srv,
                                     bufferevent_data_cb readcb, bufferevent_data_cb writecb,
                                     bufferevent_event_cb eventcb, void *arg)
{
    struct bufferevent *bev;
    if (srv->tls == XB_TLS_IMPLICIT) {
        SSL *ssl = xb_tls_ssl_new(px->tls, srv->host, srv->port);
        if (!ssl)
            return NULL;
        bev = bufferevent_openssl_socket_new(px->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE);
    } else {
        bev = bufferevent_socket_new(px->base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev)
        return NULL;
    bufferevent_setcb(bev, readcb, writecb, eventcb, arg);
    bufferevent_setwatermark(bev, EV_READ, 0, XB_RELAY_HIGH);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect_hostname(bev, px->dns, AF_UNSPEC, srv->host,
                                            (int)srv->port) != 0) {
        bufferevent_free(bev);
        return NULL;
    }
    return bev;
}

void xb_proxy_local_refused(struct xb_proxy *px, const char *peer, int64_t now)
{
    unsigned i = px->refused_next++ % XB_PROXY_REFUSED_MAX;
    size_t n = addr_len(peer);
    if (n >= sizeof(px->refused[i].addr))
        n = sizeof(px->refused[i].addr) - 1;
    memcpy(px->refused[i].addr, peer, n);
    px->refused[i].addr[n] = '\0';
    px->refused[i].until = now + XB_PROXY_EARLY_QUIET;
}
