/*
 * HTTP POSTs on the event loop: libcurl's multi interface in its "socket action" form,
 * driven by libevent. curl tells us which sockets to watch (socket callback: one
 * persistent event per socket, its context kept with curl_multi_assign) and when to
 * wake it (timer callback: one timer event); we hand every readiness and timeout back
 * with curl_multi_socket_action and then collect finished transfers.
 *
 * Callers' callbacks run only from our own event callbacks, after curl has returned,
 * so a callback may start, cancel or free anything (even the whole client).
 *
 * Web proxies ([general] web_proxy, docs/decisions.md "Web proxies"): each request is
 * routed before it starts: direct, the configured proxy, or what the system says
 * (platform webproxy.c). A request whose route waits for the system's automatic proxy
 * configuration is parked (not yet in curl) until the platform reports an answer. The
 * route in force is logged when it changes, never with a user name or password, and a
 * failure at a proxy is said in words that name it.
 * Requests carry codes and tokens both ways: neither the form nor the body is logged,
 * and both are wiped before they are freed.
 */
#include "core/http.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <xoauthbridge/version.h>

#include "core/list.h"
#include "core/log.h"
#include "core/webproxy.h"
#include "platform/platform.h"

#define XB_HTTP_DEFAULT_TIMEOUT 30u   /* seconds, when 0 is asked for: never "no limit" */
#define XB_HTTP_CONNECT_TIMEOUT 10u

struct xb_http_sock {
    struct xb_http *http;
    curl_socket_t fd;
    struct event *ev;
    struct xb_list_node link;   /* in http->socks */
};

struct xb_http_req {
    struct xb_http *http;
    CURL *easy;                 /* NULL for xb_http_fail_later */
    struct xb_secret *form;     /* what CURLOPT_POSTFIELDS points into */
    struct curl_slist *headers;
    xb_http_cb *cb;
    void *arg;
    void (*release)(void *arg);
    struct event *fail_ev;      /* a failure reported on the next loop turn */
    enum xb_err fail_err;
    char *body;                 /* may hold tokens: wiped when freed */
    size_t len, cap;
    bool too_big;
    char host[128];             /* for log lines */
    char *url;                  /* kept while the route waits for the system */
    bool waiting;               /* parked: the system's proxy answer is not in yet */
    struct event *wait_ev;      /* ... for at most the request's timeout */
    unsigned port;              /* of the URL, for messages */
    char proxy[128];            /* the route's proxy as host:port; "" direct */
    bool proxy_sure;            /* the proxy certainly applies (not exempted by no_proxy) */
    bool proxy_creds;           /* web_proxy gives a user name and password */
    char why[CURL_ERROR_SIZE + 64];
    char errbuf[CURL_ERROR_SIZE];
    struct xb_list_node link;   /* in http->reqs */
};

struct xb_http {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    char *ca_file;
    unsigned timeout;
    struct xb_list reqs;        /* of struct xb_http_req */
    struct xb_list socks;       /* of struct xb_http_sock */
    struct xb_web_proxy proxy;  /* web_proxy; url is a secret (may hold a password) */
    struct xb_plat_webproxy *wp;/* the system's answers (web_proxy = system) */
    char route[512];            /* the route logged last */
    struct {                    /* the last request that failed at a web proxy */
        char host[128];
        char proxy[128];
        char why[CURL_ERROR_SIZE + 64];
    } refusal;
    int busy;                   /* depth of our own event callbacks on the stack */
    bool dying;                 /* freed from inside a callback: destroy when unwound */
};

/* curl_global_init is not thread-safe in the libcurl versions we build against (before
 * 7.84 it never was): the companion makes its clients on the one loop thread, before
 * any other thread could touch curl. It is never undone: curl lives as long as the
 * process. */
static enum xb_err http_global_init(void)
{
    static bool done;
    if (done)
        return XB_OK;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return XB_ERR_NOMEM;
    done = true;
    return XB_OK;
}

/* --- request bookkeeping ------------------------------------------------------------ */

static void req_link(struct xb_http *http, struct xb_http_req *req)
{
    xb_list_push(&http->reqs, &req->link);
}

static void req_unlink(struct xb_http_req *req)
{
    xb_list_remove(&req->http->reqs, &req->link);
}

/* Detaches req from curl and the loop and frees it; no callback. */
static void req_free(struct xb_http_req *req)
{
    if (!req)
        return;
    if (req->easy) {
        curl_multi_remove_handle(req->http->multi, req->easy);
        curl_easy_cleanup(req->easy);
    }
    if (req->fail_ev)
        event_free(req->fail_ev);
    if (req->wait_ev)
        event_free(req->wait_ev);
    xb_free(req->url);
    curl_slist_free_all(req->headers);
    xb_secret_free(req->form);
    if (req->body) {
        xb_wipe(req->body, req->cap);
        xb_free(req->body);
    }
    xb_free(req);
}

/* Every request ends without its callback; its owner's release runs. */
static void drop_requests(struct xb_http *http)
{
    while (http->reqs.first) {
        struct xb_http_req *req = XB_LIST_FIRST(&http->reqs, struct xb_http_req, link);
        req_unlink(req);
        if (req->release)
            req->release(req->arg);
        req_free(req);
    }
}

static void http_destroy(struct xb_http *http)
{
    drop_requests(http);
    /* Cleanup closes cached connections and tells the socket callback; whatever socket
     * contexts are left after it are freed here. */
    if (http->multi)
        curl_multi_cleanup(http->multi);
    while (http->socks.first) {
        struct xb_http_sock *sock = XB_LIST_FIRST(&http->socks, struct xb_http_sock, link);
        xb_list_remove(&http->socks, &sock->link);
        event_free(sock->ev);
        xb_free(sock);
    }
    if (http->timer)
        event_free(http->timer);
    xb_plat_webproxy_free(http->wp);
    xb_free_str_secret(http->proxy.url);
    xb_free(http->ca_file);
    xb_free(http);
}

/* Our event callbacks bracket their work with these: a client freed by a caller's
 * callback is destroyed only when the stack has unwound out of it. */
static void http_enter(struct xb_http *http)
{
    http->busy++;
}

static void http_leave(struct xb_http *http)
{
    if (--http->busy == 0 && http->dying)
        http_destroy(http);
}

/* Runs the caller's callback once and frees the request. */
static void req_finish(struct xb_http_req *req, enum xb_err err, long status, const char *why)
{
    if (req->easy)
        curl_multi_remove_handle(req->http->multi, req->easy);
    req_unlink(req);
    /* The form may hold a code or refresh token: gone as soon as it is sent. */
    xb_secret_free(req->form);
    req->form = NULL;
    const char *body = req->body ? req->body : "";
    req->cb(req->arg, err, status, err == XB_OK ? body : "", err == XB_OK ? req->len : 0,
            why ? why : "");
    req_free(req);
}

/* --- curl callbacks ------------------------------------------------------------------ */

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct xb_http_req *req = userp;
    size_t n = size * nmemb;   /* curl promises size == 1 */
    if (n > XB_HTTP_BODY_MAX || req->len + n > XB_HTTP_BODY_MAX) {
        req->too_big = true;
        return 0;              /* anything but n aborts with CURLE_WRITE_ERROR */
    }
    if (req->len + n + 1 > req->cap) {
        size_t cap = req->cap ? req->cap * 2 : 4096;
        while (cap < req->len + n + 1)
            cap *= 2;
        if (cap > XB_HTTP_BODY_MAX + 1)
            cap = XB_HTTP_BODY_MAX + 1;
        /* No realloc: the old block may hold a token and must be wiped. */
        char *body = xb_new_array(char, cap);
        if (!body)
            return 0;
        if (req->body) {
            memcpy(body, req->body, req->len);
            xb_wipe(req->body, req->cap);
            xb_free(req->body);
        }
        req->body = body;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    req->body[req->len] = '\0';
    return n;
}

/* req->why for a transfer that failed with rc; true when it failed at the web proxy
 * itself (the proxy refused the tunnel, or could not be reached), which a person at
 * the organisation has to fix. The words name the proxy as host:port only. */
static bool describe_failure(struct xb_http_req *req, CURLcode rc, long connect_code)
{
    const char *what = req->errbuf[0] ? req->errbuf : curl_easy_strerror(rc);
    const char *px = req->proxy;
    char target[160];
    snprintf(target, sizeof(target), "%s:%u", req->host, req->port);
    if (!px[0]) {
        snprintf(req->why, sizeof(req->why), "%s", what);
        return false;
    }
    /* 407 is the proxy's own "who are you"; some proxies (tinyproxy) say 401. */
    if (connect_code == 407 || connect_code == 401) {
        if (req->proxy_creds)
            snprintf(req->why, sizeof(req->why), "the web proxy %.100s did not accept the user "
                     "name and password of web_proxy (HTTP %ld)", px, connect_code);
        else
            snprintf(req->why, sizeof(req->why), "the web proxy %.100s asks for a user name and "
                     "password (HTTP %ld); give them in web_proxy", px, connect_code);
        return true;
    }
    if (connect_code >= 300) {
        snprintf(req->why, sizeof(req->why), "the web proxy %.100s refused the connection to %.100s "
                 "(HTTP %ld)", px, target, connect_code);
        return true;
    }
    if (rc == CURLE_COULDNT_RESOLVE_PROXY) {
        snprintf(req->why, sizeof(req->why), "cannot find the web proxy %.100s: its name does "
                 "not resolve", px);
        return true;
    }
    if (!req->proxy_sure) {
        snprintf(req->why, sizeof(req->why), "%.150s (the environment names the web proxy "
                 "%.60s unless no_proxy exempts %.40s)", what, px, req->host);
        return false;
    }
    if (connect_code == 0 && rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(req->why, sizeof(req->why), "no answer from the web proxy %.100s for the "
                 "connection to %.100s (%s)", px, target, curl_easy_strerror(rc));
        return true;
    }
    if (connect_code == 0 && (rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR ||
                              rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING)) {
        snprintf(req->why, sizeof(req->why), "cannot connect to the web proxy %.100s (%s)", px,
                 curl_easy_strerror(rc));
        return true;
    }
    snprintf(req->why, sizeof(req->why), "%.180s (through the web proxy %.100s)", what, px);
    return false;
}

/* Remembers (or forgets) that the last request to req's host failed at a web proxy. */
static void note_refusal(struct xb_http *http, const struct xb_http_req *req, bool at_proxy)
{
    if (at_proxy) {
        snprintf(http->refusal.host, sizeof(http->refusal.host), "%s", req->host);
        snprintf(http->refusal.proxy, sizeof(http->refusal.proxy), "%s", req->proxy);
        snprintf(http->refusal.why, sizeof(http->refusal.why), "%s", req->why);
    } else if (strcmp(http->refusal.host, req->host) == 0) {
        http->refusal.host[0] = '\0';
    }
}

static void check_done(struct xb_http *http)
{
    CURLMsg *msg;
    int left;
    while (!http->dying && (msg = curl_multi_info_read(http->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        struct xb_http_req *req = (struct xb_http_req *)(void *)priv;
        CURLcode rc = msg->data.result;
        long status = 0;
        curl_off_t usec = 0;
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(req->easy, CURLINFO_TOTAL_TIME_T, &usec);
        long ms = (long)(usec / 1000);
        if (rc == CURLE_OK) {
            note_refusal(http, req, false);
            xb_log_debug("http: POST to %s: HTTP %ld, %lu bytes in %ld ms", req->host, status,
                         (unsigned long)req->len, ms);
            req_finish(req, XB_OK, status, NULL);
        } else if (req->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
            note_refusal(http, req, false);
            snprintf(req->why, sizeof(req->why), "the answer from %s is longer than %d KiB",
                     req->host, XB_HTTP_BODY_MAX / 1024);
            xb_log_debug("http: POST to %s: %s", req->host, req->why);
            req_finish(req, XB_ERR_RANGE, status, req->why);
        } else {
            long connect_code = 0;
            curl_easy_getinfo(req->easy, CURLINFO_HTTP_CONNECTCODE, &connect_code);
            note_refusal(http, req, describe_failure(req, rc, connect_code));
            xb_log_debug("http: POST to %s failed after %ld ms: %s", req->host, ms, req->why);
            /* A certificate this system does not trust is not "try again": somebody
             * must act (the log line of tlstrust.c says why). */
            req_finish(req, rc == CURLE_PEER_FAILED_VERIFICATION ? XB_ERR_TLS : XB_ERR_TEMP, 0,
                       req->why);
        }
    }
}

static void sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_http *http = arg;
    int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
                ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running = 0;
    http_enter(http);
    curl_multi_socket_action(http->multi, (curl_socket_t)fd, flags, &running);
    check_done(http);
    http_leave(http);
}

static void timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_http *http = arg;
    int running = 0;
    http_enter(http);
    curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(http);
    http_leave(http);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what curl asks, or stop watching it. */
static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct xb_http *http = userp;
    struct xb_http_sock *sock = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sock) {
            curl_multi_assign(http->multi, fd, NULL);
            xb_list_remove(&http->socks, &sock->link);
            event_free(sock->ev);
            xb_free(sock);
        }
        return 0;
    }
    short kind = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
    if (!sock) {
        sock = xb_new(struct xb_http_sock);
        if (!sock)
            return -1;
        sock->http = http;
        sock->fd = fd;
        sock->ev = event_new(http->base, (evutil_socket_t)fd, kind, sock_event_cb, http);
        if (!sock->ev) {
            xb_free(sock);
            return -1;
        }
        xb_list_push(&http->socks, &sock->link);
        curl_multi_assign(http->multi, fd, sock);
    } else {
        event_del(sock->ev);
        event_assign(sock->ev, http->base, (evutil_socket_t)fd, kind, sock_event_cb, http);
    }
    return event_add(sock->ev, NULL) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: one timer; curl is never called back from inside itself,
 * a zero timeout fires on the next loop turn. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct xb_http *http = userp;
    if (timeout_ms < 0) {
        evtimer_del(http->timer);
        return 0;
    }
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    return evtimer_add(http->timer, &tv) == 0 ? 0 : -1;
}

/* --- routes: web_proxy ------------------------------------------------------------------ */

/* Logs the route when it differs from the one logged last (names, never a password). */
static void note_route(struct xb_http *http, const char *route)
{
    if (strcmp(http->route, route) == 0)
        return;
    snprintf(http->route, sizeof(http->route), "%s", route);
    xb_log_info("web proxy: %s", route);
}

/* Sets how req reaches its server. XB_ERR_AGAIN: the system's answer is not in yet;
 * XB_ERR_UNSUPPORTED: libcurl refused an option (why set). */
static enum xb_err req_route(struct xb_http_req *req)
{
    struct xb_http *http = req->http;
    CURL *e = req->easy;
    CURLcode rc = CURLE_OK;
    char route[sizeof(http->route)] = "";
    bool via = false, direct = false;
    req->proxy[0] = '\0';
    req->proxy_sure = true;
    req->proxy_creds = false;
#define SET(opt, val) \
    do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
    switch (http->proxy.mode) {
    case XB_WEB_PROXY_DIRECT:
        snprintf(route, sizeof(route), "direct (web_proxy = direct)");
        direct = true;
        break;
    case XB_WEB_PROXY_URL:
        xb_webproxy_name(http->proxy.url, req->proxy, sizeof(req->proxy));
        req->proxy_creds = xb_webproxy_has_credentials(http->proxy.url);
        snprintf(route, sizeof(route), "%s (web_proxy%s)", req->proxy,
                 req->proxy_creds ? ", with a user name and password" : "");
        SET(CURLOPT_PROXY, http->proxy.url);
        via = true;
        break;
    case XB_WEB_PROXY_SYSTEM: {
        struct xb_webproxy_answer a;
        if (xb_plat_webproxy_find(http->wp, req->url, &a) == XB_ERR_AGAIN)
            return XB_ERR_AGAIN;
        if (a.how == XB_WEBPROXY_VIA) {
            xb_webproxy_name(a.proxy, req->proxy, sizeof(req->proxy));
            snprintf(route, sizeof(route), "%s (%.300s)", req->proxy, a.source);
            SET(CURLOPT_PROXY, a.proxy);
            via = true;
            /* Windows signs in to a proxy with the user's logon (Negotiate, NTLM); a
             * libcurl with SSPI can too. Ours has none yet (docs/decisions.md). */
            if (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_SSPI) {
                SET(CURLOPT_PROXYAUTH, (long)(CURLAUTH_NEGOTIATE | CURLAUTH_NTLM));
                SET(CURLOPT_PROXYUSERPWD, ":");
            }
        } else if (a.how == XB_WEBPROXY_ENV) {
            /* libcurl reads the environment itself: no proxy option is set. */
            snprintf(req->proxy, sizeof(req->proxy), "%.120s", a.proxy);
            req->proxy_sure = a.sure;
            if (a.proxy[0])
                snprintf(route, sizeof(route), "%.120s (%.300s)", a.proxy, a.source);
            else
                snprintf(route, sizeof(route), "direct (%.300s)", a.source);
            SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
        } else {
            snprintf(route, sizeof(route), "direct (%.300s)", a.source);
            direct = true;
        }
        break;
    }
    }
    if (via) {
        /* The proxy's own setting counts for every host: the environment's no_proxy
         * is not asked. A tunnel (CONNECT) always, so that a form with a refresh token
         * never goes to a proxy in clear, even to an http:// test server. */
        SET(CURLOPT_NOPROXY, "");
        SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
        if (req->proxy_creds)
            SET(CURLOPT_PROXYAUTH, (long)CURLAUTH_ANY);
    } else if (direct) {
        /* Direct, whatever the environment says (libcurl would read it). */
        SET(CURLOPT_PROXY, "");
        SET(CURLOPT_NOPROXY, "*");
    }
#undef SET
    note_route(http, route);
    if (rc != CURLE_OK) {
        snprintf(req->why, sizeof(req->why), "libcurl cannot use the web proxy setting: %s",
                 curl_easy_strerror(rc));
        return XB_ERR_UNSUPPORTED;
    }
    return XB_OK;
}

static bool req_fail_later(struct xb_http_req *req, enum xb_err err, const char *why);

static void wait_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_http_req *req = arg;
    struct xb_http *http = req->http;
    (void)fd;
    (void)what;
    http_enter(http);
    snprintf(req->why, sizeof(req->why), "the system's automatic proxy configuration gave "
             "no answer within %u s", http->timeout);
    req->waiting = false;
    req_finish(req, XB_ERR_TEMP, 0, req->why);
    http_leave(http);
}

/* Routes req and hands it to curl, or parks it until the system has answered (for at
 * most the request's timeout). What goes wrong fails the request from the loop. false
 * only when not even that can be arranged (out of memory). */
static bool req_go(struct xb_http_req *req)
{
    struct xb_http *http = req->http;
    enum xb_err err = req_route(req);
    if (err == XB_ERR_AGAIN) {
        if (req->waiting)
            return true;
        struct timeval tv = { (long)http->timeout, 0 };
        req->waiting = true;
        req->wait_ev = evtimer_new(http->base, wait_event_cb, req);
        return req->wait_ev && evtimer_add(req->wait_ev, &tv) == 0;
    }
    req->waiting = false;
    if (req->wait_ev) {
        event_free(req->wait_ev);
        req->wait_ev = NULL;
    }
    if (err != XB_OK) {
        char why[sizeof(req->why)];
        memcpy(why, req->why, sizeof(why));
        return req_fail_later(req, XB_ERR_TEMP, why);
    }
    /* The transfer starts from the timer curl sets now, on the next loop turn. */
    if (curl_multi_add_handle(http->multi, req->easy) != CURLM_OK)
        return req_fail_later(req, XB_ERR_TEMP, "libcurl cannot start the request");
    return true;
}

/* The platform has an answer from the system's automatic proxy configuration: the
 * requests waiting for one try again (none finishes here: failures come later). */
static void proxy_ready(void *arg)
{
    struct xb_http *http = arg;
    http_enter(http);
    XB_LIST_EACH(req, next, &http->reqs, struct xb_http_req, link) {
        if (req->waiting && !req_go(req)) {
            xb_log_error("http: out of memory: a request to %s was dropped", req->host);
            req_unlink(req);
            if (req->release)
                req->release(req->arg);
            req_free(req);
        }
    }
    http_leave(http);
}

/* --- public -------------------------------------------------------------------------- */

enum xb_err xb_http_new(struct event_base *base, const char *ca_file, unsigned timeout,
                        struct xb_http **out)
{
    *out = NULL;
    enum xb_err err = http_global_init();
    if (err != XB_OK)
        return err;
    struct xb_http *http = xb_new(struct xb_http);
    err = XB_ERR_NOMEM;
    if (!http)
        goto out;
    http->base = base;
    http->timeout = timeout ? timeout : XB_HTTP_DEFAULT_TIMEOUT;
    if (ca_file && *ca_file && !(http->ca_file = xb_strdup(ca_file)))
        goto out;
    http->timer = evtimer_new(base, timer_event_cb, http);
    http->multi = curl_multi_init();
    if (!http->timer || !http->multi)
        goto out;
    /* web_proxy's default until xb_http_set_proxy says otherwise. */
    http->proxy.mode = XB_WEB_PROXY_SYSTEM;
    if ((err = xb_plat_webproxy_new(base, proxy_ready, http, &http->wp)) != XB_OK)
        goto out;
    err = XB_ERR_NOMEM;
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http);
    *out = http;
    http = NULL;
    err = XB_OK;
out:
    if (http)
        http_destroy(http);
    return err;
}

enum xb_err xb_http_new_config(struct event_base *base, const struct xb_config *cfg,
                               struct xb_http **out)
{
    enum xb_err err = xb_http_new(base, cfg->ca_file, cfg->connect_timeout, out);
    if (err == XB_OK && (err = xb_http_set_proxy(*out, &cfg->web_proxy)) != XB_OK) {
        xb_http_free(*out);
        *out = NULL;
    }
    return err;
}

void xb_http_free(struct xb_http *http)
{
    if (!http)
        return;
    if (http->busy) {
        /* Inside one of our callbacks: requests go now (without callbacks), the rest
         * when the stack has unwound. */
        drop_requests(http);
        http->dying = true;
        return;
    }
    http_destroy(http);
}

enum xb_err xb_http_set_proxy(struct xb_http *http, const struct xb_web_proxy *proxy)
{
    char *url = NULL;
    if (proxy->mode == XB_WEB_PROXY_URL && (!proxy->url || !(url = xb_strdup(proxy->url))))
        return proxy->url ? XB_ERR_NOMEM : XB_ERR_INVAL;
    xb_free_str_secret(http->proxy.url);
    http->proxy.mode = proxy->mode;
    http->proxy.url = url;
    return XB_OK;
}

bool xb_http_proxy_failure(const struct xb_http *http, const char *host, char *proxy,
                           size_t proxy_size, char *why, size_t why_size)
{
    if (!http || !http->refusal.host[0] || strcmp(http->refusal.host, host) != 0)
        return false;
    snprintf(proxy, proxy_size, "%s", http->refusal.proxy);
    snprintf(why, why_size, "%s", http->refusal.why);
    return true;
}

static void fail_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_http_req *req = arg;
    struct xb_http *http = req->http;
    http_enter(http);
    req_finish(req, req->fail_err, 0, req->why);
    http_leave(http);
}

static struct xb_http_req *req_new(struct xb_http *http, xb_http_cb *cb, void *arg)
{
    if (!http || http->dying)
        return NULL;
    struct xb_http_req *req = xb_new(struct xb_http_req);
    if (!req)
        return NULL;
    req->http = http;
    req->cb = cb;
    req->arg = arg;
    return req;
}

/* Reports err on the next loop turn; false when out of memory. */
static bool req_fail_later(struct xb_http_req *req, enum xb_err err, const char *why)
{
    req->fail_err = err;
    snprintf(req->why, sizeof(req->why), "%s", why);
    req->fail_ev = evtimer_new(req->http->base, fail_event_cb, req);
    struct timeval now = { 0, 0 };
    return req->fail_ev && evtimer_add(req->fail_ev, &now) == 0;
}

struct xb_http_req *xb_http_fail_later(struct xb_http *http, enum xb_err err,
                                       const char *why, xb_http_cb *cb, void *arg)
{
    struct xb_http_req *req = req_new(http, cb, arg);
    if (!req)
        return NULL;
    if (!req_fail_later(req, err, why ? why : xb_err_str(err))) {
        req_free(req);
        return NULL;
    }
    req_link(http, req);
    return req;
}

/* The URL's host, for log lines only. */
/* libcurl makes a TLS context per connection and calls this before the connection's SSL
 * exists: the host to check goes into the context's parameters (which the SSL copies),
 * and the system judges the chain (platform tlstrust.c) as it does for the mail servers.
 * libcurl checks the host name again itself. Runs only while req's transfer connects. */
static CURLcode ssl_ctx_cb(CURL *easy, void *sslctx, void *arg)
{
    struct xb_http_req *req = arg;
    SSL_CTX *ctx = sslctx;
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    char host[sizeof(req->host)];
    size_t n = strlen(req->host);
    (void)easy;
    /* An IPv6 literal comes bracketed from the URL. */
    if (n > 2 && req->host[0] == '[' && req->host[n - 1] == ']')
        snprintf(host, sizeof(host), "%.*s", (int)(n - 2), req->host + 1);
    else
        snprintf(host, sizeof(host), "%s", req->host);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1 &&
        X509_VERIFY_PARAM_set1_host(param, host, 0) != 1)
        return CURLE_SSL_CERTPROBLEM;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    xb_plat_tls_trust(ctx);
    return CURLE_OK;
}

void xb_http_url_host(const char *url, char *out, size_t size)
{
    snprintf(out, size, "(bad URL)");
    CURLU *u = curl_url();
    char *host = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        snprintf(out, size, "%s", host);
    curl_free(host);
    curl_url_cleanup(u);
}

struct xb_http_req *xb_http_post_form(struct xb_http *http, const char *url,
                                      struct xb_secret *form, xb_http_cb *cb, void *arg)
{
    struct xb_http_req *req = form ? req_new(http, cb, arg) : NULL;
    if (!req) {
        xb_secret_free(form);
        return NULL;
    }
    req->form = form;
    xb_http_url_host(url, req->host, sizeof(req->host));
    char scheme[16], host[sizeof(req->host)];
    if (!xb_webproxy_url_parts(url, scheme, sizeof(scheme), host, sizeof(host), &req->port))
        req->port = 0;
    req->easy = curl_easy_init();
    if (!req->easy)
        goto fail;
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (!h)
        goto fail;
    req->headers = h;
    /* No "Expect: 100-continue" round trip for longer forms. */
    if (!(h = curl_slist_append(req->headers, "Expect:")))
        goto fail;
    req->headers = h;

    CURL *e = req->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
    SET(CURLOPT_PRIVATE, (char *)req);
    SET(CURLOPT_ERRORBUFFER, req->errbuf);
    SET(CURLOPT_URL, url);
    /* http:// reaches only loopback hosts: the config refuses other http URLs. */
    SET(CURLOPT_PROTOCOLS_STR, "https,http");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT, (long)http->timeout);
    SET(CURLOPT_CONNECTTIMEOUT,
        (long)(http->timeout < XB_HTTP_CONNECT_TIMEOUT ? http->timeout : XB_HTTP_CONNECT_TIMEOUT));
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    /* The same trust decision as the mail servers' (ssl_ctx_cb); ca_file only adds. */
    if (http->ca_file)
        SET(CURLOPT_CAINFO, http->ca_file);
    SET(CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
    SET(CURLOPT_SSL_CTX_DATA, req);
    SET(CURLOPT_USERAGENT, "XOAuthBridge/" XB_VERSION);
    SET(CURLOPT_HTTPHEADER, req->headers);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)form->len);
    SET(CURLOPT_POSTFIELDS, form->data);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)XB_HTTP_BODY_MAX);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_WRITEDATA, req);
#undef SET
    if (rc != CURLE_OK) {
        /* An option this libcurl lacks: still one callback, from the loop. */
        char why[CURL_ERROR_SIZE + 32];
        snprintf(why, sizeof(why), "libcurl cannot do it: %s", curl_easy_strerror(rc));
        curl_easy_cleanup(req->easy);
        req->easy = NULL;
        if (!req_fail_later(req, XB_ERR_TEMP, why))
            goto fail;
        req_link(http, req);
        return req;
    }
    if (!(req->url = xb_strdup(url)) || !req_go(req))
        goto fail;
    req_link(http, req);
    return req;
fail:
    req_free(req);
    return NULL;
}

void xb_http_set_release(struct xb_http_req *req, void (*release)(void *arg))
{
    if (req)
        req->release = release;
}

void xb_http_cancel(struct xb_http_req *req)
{
    if (!req)
        return;
    req_unlink(req);
    if (req->release)
        req->release(req->arg);
    req_free(req);
}

/* --- forms and URLs ------------------------------------------------------------------ */

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static size_t encoded_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += unreserved((unsigned char)*s) ? 1 : 3;
    return n;
}

static char *encode_into(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (unreserved(c)) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    *out = '\0';
    return out;
}

char *xb_url_encode(const char *value)
{
    size_t n = encoded_len(value);
    char *out = xb_new_array(char, n + 1);
    if (out)
        encode_into(out, value);
    return out;
}

enum xb_err xb_form_add(struct xb_secret **form, const char *name, const char *value)
{
    if (!form || !name || !value)
        return XB_ERR_INVAL;
    size_t old = *form ? (*form)->len : 0;
    size_t nl = encoded_len(name), vl = encoded_len(value);
    /* Each part is at most 3 x a string that exists in memory: no overflow in practice,
     * but checked anyway. */
    if (nl > XB_HTTP_BODY_MAX || vl > ((size_t)64 << 20) || old > ((size_t)64 << 20))
        return XB_ERR_RANGE;
    size_t len = old + (old ? 1 : 0) + nl + 1 + vl;
    char *buf = xb_new_array(char, len + 1);
    if (!buf)
        return XB_ERR_NOMEM;
    char *p = buf;
    if (old) {
        memcpy(p, (*form)->data, old);
        p += old;
        *p++ = '&';
    }
    p = encode_into(p, name);
    *p++ = '=';
    encode_into(p, value);
    struct xb_secret *s = xb_secret_new(buf, len);
    xb_wipe(buf, len + 1);
    xb_free(buf);
    if (!s)
        return XB_ERR_NOMEM;
    xb_secret_free(*form);
    *form = s;
    return XB_OK;
}
