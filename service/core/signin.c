#include "core/signin.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <openssl/crypto.h>

#include "core/ascii.h"
#include "core/events.h"
#include "core/idtoken.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/msg.h"
#include "platform/platform.h"

struct xb_signin {
    struct event_base *base;
    struct xb_http *http;
    const struct xb_provider *provider;
    char *email;
    struct evhttp *listener;
    struct event *timeout;
    struct event *finish;           /* deferred: the listener is freed outside its callbacks */
    struct xb_http_req *exchange;
    struct evhttp_request *pending; /* the browser's redirect, answered after the exchange */
    struct xb_pkce pkce;
    char redirect_uri[64];
    char *url;
    unsigned timeout_s;
    bool finishing;
    xb_signin_cb *cb;
    void *arg;
    /* Outcome, delivered by finish_cb. */
    enum xb_err err;
    char why[300];
    struct xb_token_result result;
};

/* --- pages --------------------------------------------------------------------------- */

static void html_escape(struct evbuffer *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': evbuffer_add(b, "&lt;", 4); break;
        case '>': evbuffer_add(b, "&gt;", 4); break;
        case '&': evbuffer_add(b, "&amp;", 5); break;
        case '"': evbuffer_add(b, "&quot;", 6); break;
        default: evbuffer_add(b, s, 1); break;
        }
    }
}

static void send_page(struct evhttp_request *req, int code, const char *head, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                           "<meta name=\"viewport\" content=\"width=device-width\"><title>",
                        xb_lang_code(xb_msg_get_lang()));
    html_escape(b, xb_msg(XB_MSG_SIGNIN_PAGE_TITLE));
    evbuffer_add_printf(b, "</title><style>body{font-family:system-ui,sans-serif;max-width:36em;"
                           "margin:4em auto;padding:0 1em;line-height:1.6}h1{font-size:1.4em}"
                           "</style></head><body><h1>");
    html_escape(b, head);
    evbuffer_add_printf(b, "</h1><p>");
    html_escape(b, body);
    evbuffer_add_printf(b, "</p></body></html>\n");
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Bad Request", b);
    evbuffer_free(b);
}

static void send_result_page(struct evhttp_request *req, enum xb_err err, const char *email,
                             const char *why)
{
    char body[600];
    if (err == XB_OK) {
        xb_msg_format(body, sizeof(body), XB_MSG_SIGNIN_OK_BODY, email);
        send_page(req, 200, xb_msg(XB_MSG_SIGNIN_OK_HEAD), body);
    } else {
        xb_msg_format(body, sizeof(body), XB_MSG_SIGNIN_FAIL_BODY, why);
        send_page(req, 400, xb_msg(XB_MSG_SIGNIN_FAIL_HEAD), body);
    }
}

/* --- ending ----------------------------------------------------------------------------- */

static void finish_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_signin *s = arg;
    xb_signin_cb *cb = s->cb;
    void *cbarg = s->arg;
    s->cb = NULL;
    if (cb)
        cb(cbarg, s->err, s->err == XB_OK ? NULL : s->why, &s->result);
    /* The caller may have cancelled (freed) us in the callback: it owns s from here. */
}

/* The result page has been written to the browser: now the listener may go. */
static void page_sent_cb(struct evhttp_request *req, void *arg)
{
    struct xb_signin *s = arg;
    struct timeval now = { 0, 0 };
    evtimer_add(s->finish, &now);
}

/* Ends the sign-in: answers a waiting browser, then (once that page is out, or after a
 * short grace) calls back from the loop; the caller then frees the listener. */
static void finish(struct xb_signin *s, enum xb_err err, const char *why)
{
    if (!s->cb || s->finishing)
        return;
    s->finishing = true;
    s->err = err;
    snprintf(s->why, sizeof(s->why), "%s", why ? why : "");
    struct timeval grace = { 2, 0 };
    if (s->pending) {
        evhttp_request_set_on_complete_cb(s->pending, page_sent_cb, s);
        send_result_page(s->pending, err, s->email, s->why);
        s->pending = NULL;
    } else {
        grace.tv_sec = 0;
    }
    evtimer_del(s->timeout);
    if (err == XB_OK)
        xb_log_info("sign-in of %s completed", s->email);
    else
        xb_log_warn("sign-in of %s failed: %s", s->email, s->why);
    evtimer_add(s->finish, &grace);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_signin *s = arg;
    char why[200];
    xb_msg_format(why, sizeof(why), XB_MSG_SIGNIN_TIMEOUT, (s->timeout_s + 59) / 60);
    finish(s, XB_ERR_TEMP, why);
}

/* The refused grant's answer: logged only (nobody waits for it). */
static void revoked_cb(void *arg, struct xb_token_result *r)
{
    char *who = arg;
    if (r->err == XB_OK)
        xb_log_info("sign-in as %s: the grant given by mistake is revoked", who);
    else
        xb_log_warn("sign-in as %s: cannot revoke the grant given by mistake: %s", who, r->why);
    xb_free(who);
}

/* The tokens are not for this account: revoke what was granted (the refresh token ends
 * the whole grant; the access token when there is no refresh token), keep nothing. */
static void revoke_grant(struct xb_signin *s, struct xb_token_result *r, const char *who)
{
    struct xb_secret *t = r->refresh_token ? r->refresh_token : r->access_token;
    char *copy = xb_strdup(who);
    if (t && copy && s->provider->revoke_url &&
        xb_oauth_revoke(s->http, s->provider, t->data, revoked_cb, copy))
        copy = NULL;
    xb_free(copy);
    xb_token_result_clear(r);
}

/* Who signed in must be the account asked for (docs/oauth.md, "Who signed in"). false
 * with why (in the person's language when it is their mistake) otherwise. */
static bool identity_ok(struct xb_signin *s, struct xb_token_result *r, char *why, size_t n)
{
    const struct xb_provider *p = s->provider;
    struct xb_idtoken_who who;
    if (p->identity != XB_IDENTITY_ID_TOKEN)
        return true;
    if (!r->id_token) {
        snprintf(why, n, "the provider sent no ID token: cannot tell who signed in");
        return false;
    }
    struct xb_idtoken_want want = { .provider = p, .nonce = s->pkce.nonce, .now = time(NULL) };
    if (xb_idtoken_read(r->id_token->data, &want, &who, why, n) != XB_OK)
        return false;
    if (!xb_ascii_streq_ci(who.address, s->email)) {
        xb_log_event(XB_EV_WRONG_ACCOUNT, "sign-in of %s refused: the provider says %s "
                     "signed in (claim %s)", s->email, who.address, who.claim);
        xb_msg_format(why, n, XB_MSG_SIGNIN_WRONG_ACCOUNT, who.address, s->email, s->email);
        return false;
    }
    if (p->hosted_domain && *p->hosted_domain && !xb_ascii_streq_ci(who.hd, p->hosted_domain)) {
        xb_log_event(XB_EV_WRONG_ACCOUNT, "sign-in of %s refused: Workspace domain '%s', "
                     "not '%s'", s->email, who.hd, p->hosted_domain);
        xb_msg_format(why, n, XB_MSG_SIGNIN_WRONG_DOMAIN, who.address, p->hosted_domain,
                      p->hosted_domain);
        return false;
    }
    xb_log_info("sign-in of %s: the provider confirms who signed in (claim %s)", s->email,
                who.claim);
    return true;
}

static void exchange_cb(void *arg, struct xb_token_result *r)
{
    struct xb_signin *s = arg;
    char why[300];
    s->exchange = NULL;
    if (r->err == XB_OK && !identity_ok(s, r, why, sizeof(why))) {
        /* Nothing of this grant is kept: not stored, revoked at the provider. */
        revoke_grant(s, r, s->email);
        finish(s, XB_ERR_AUTH, why);
        return;
    }
    if (r->err == XB_OK) {
        s->result = *r;
        memset(r, 0, sizeof(*r)); /* we keep the secrets */
        finish(s, XB_OK, NULL);
    } else {
        finish(s, r->err, r->why);
    }
}

/* --- the redirect ---------------------------------------------------------------------- */

/* RFC 9207: when the provider names itself, it must be the one we sent the user to:
 * the configured issuer, else the origin of the authorization endpoint. */
static bool issuer_ok(const struct xb_provider *p, const char *iss)
{
    if (p->issuer)
        return strcmp(iss, p->issuer) == 0;
    const char *auth = p->auth_url;
    const char *host = strstr(auth, "://");
    if (!host)
        return false;
    size_t origin = (size_t)(host + 3 - auth) + strcspn(host + 3, "/?#");
    return strncmp(iss, auth, origin) == 0 && (iss[origin] == '\0' || iss[origin] == '/');
}

/* Handles the browser's redirect (state already checked); returns after starting the
 * exchange or finishing with an error. */
static void redirect(struct xb_signin *s, struct evhttp_request *req, struct evkeyvalq *params)
{
    const char *iss = evhttp_find_header(params, "iss");
    const char *error = evhttp_find_header(params, "error");
    const char *code = evhttp_find_header(params, "code");
    char why[300];

    s->pending = req;
    if (iss && !issuer_ok(s->provider, iss)) {
        finish(s, XB_ERR_AUTH, "the answer came from an unexpected issuer (mix-up attack?)");
    } else if (error) {
        if (strcmp(error, "access_denied") == 0)
            snprintf(why, sizeof(why), "%s", xb_msg(XB_MSG_SIGNIN_DENIED));
        else
            snprintf(why, sizeof(why), "the provider answered '%.60s'", error);
        finish(s, XB_ERR_AUTH, why);
    } else if (!code || !*code) {
        finish(s, XB_ERR_AUTH, "the provider sent no authorization code");
    } else {
        /* Answer the browser once the code is exchanged, so the page tells the truth. */
        s->exchange = xb_oauth_exchange_code(s->http, s->provider, code, s->redirect_uri,
                                             s->pkce.verifier, exchange_cb, s);
        if (!s->exchange)
            finish(s, XB_ERR_TEMP, "out of memory");
    }
}

static void request_cb(struct evhttp_request *req, void *arg)
{
    struct xb_signin *s = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq params;

    /* favicon.ico and anything else: not ours, and not the end of the wait. */
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || !path || strcmp(path, "/") != 0 ||
        !query) {
        evhttp_send_error(req, HTTP_NOTFOUND, NULL);
        return;
    }
    if (evhttp_parse_query_str(query, &params) != 0) {
        evhttp_send_error(req, HTTP_BADREQUEST, NULL);
        return;
    }
    const char *state = evhttp_find_header(&params, "state");
    /* Compared in constant time: the state is what a page elsewhere would have to guess. */
    size_t want = strlen(s->pkce.state);
    bool state_ok = state && strlen(state) == want &&
                    CRYPTO_memcmp(state, s->pkce.state, want) == 0;
    if (!state_ok || s->pending || s->exchange || s->finishing) {
        xb_log_warn("sign-in of %s: ignored a request to the redirect listener with a wrong "
                    "or repeated state", s->email);
        send_page(req, 400, xb_msg(XB_MSG_SIGNIN_FAIL_HEAD), xb_msg(XB_MSG_SIGNIN_WRONG_LINK));
    } else {
        redirect(s, req, &params);
    }
    evhttp_clear_headers(&params);
}

/* --- start / cancel ------------------------------------------------------------------------ */

enum xb_err xb_signin_start(struct event_base *base, struct xb_http *http,
                            const struct xb_config *cfg, const struct xb_provider *provider,
                            const char *email, xb_signin_cb *cb, void *arg,
                            struct xb_signin **out)
{
    struct xb_signin *s = xb_new(struct xb_signin);
    enum xb_err err = XB_ERR_NOMEM;
    if (!s)
        return err;
    s->base = base;
    s->http = http;
    s->provider = provider;
    s->cb = cb;
    s->arg = arg;
    s->timeout_s = cfg->signin_timeout;
    s->email = xb_strdup(email);
    s->listener = evhttp_new(base);
    s->timeout = evtimer_new(base, timeout_cb, s);
    s->finish = evtimer_new(base, finish_cb, s);
    if (!s->email || !s->listener || !s->timeout || !s->finish)
        goto fail;
    if ((err = xb_pkce_new(&s->pkce)) != XB_OK)
        goto fail;

    /* Loopback only, an ephemeral port, GET only, small requests. */
    evhttp_set_allowed_methods(s->listener, EVHTTP_REQ_GET);
    evhttp_set_max_headers_size(s->listener, 16384);
    evhttp_set_max_body_size(s->listener, 0);
    evhttp_set_timeout(s->listener, 30);
    evhttp_set_gencb(s->listener, request_cb, s);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(s->listener, "127.0.0.1", 0);
    if (!bound) {
        err = XB_ERR_NET;
        goto fail;
    }
    struct sockaddr_in sin;
    ev_socklen_t len = sizeof(sin);
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &len) != 0) {
        err = XB_ERR_NET;
        goto fail;
    }
    snprintf(s->redirect_uri, sizeof(s->redirect_uri), "http://127.0.0.1:%u/",
             (unsigned)ntohs(sin.sin_port));
    s->url = xb_oauth_auth_url(provider, &s->pkce, s->redirect_uri, email);
    if (!s->url) {
        err = XB_ERR_NOMEM;
        goto fail;
    }
    struct timeval tv = { (long)s->timeout_s, 0 };
    evtimer_add(s->timeout, &tv);
    xb_log_info("sign-in of %s: waiting on %s", email, s->redirect_uri);
    if (xb_plat_open_url(cfg->browser, s->url) != XB_OK)
        xb_log_warn("could not open a browser; the address must be opened by hand");
    *out = s;
    return XB_OK;
fail:
    xb_signin_cancel(s);
    return err;
}

const char *xb_signin_url(const struct xb_signin *s)
{
    return s->url;
}

void xb_signin_cancel(struct xb_signin *s)
{
    if (!s)
        return;
    if (s->exchange)
        xb_http_cancel(s->exchange);
    if (s->pending)
        evhttp_send_error(s->pending, HTTP_SERVUNAVAIL, NULL);
    if (s->listener)
        evhttp_free(s->listener);
    if (s->timeout)
        event_free(s->timeout);
    if (s->finish)
        event_free(s->finish);
    xb_token_result_clear(&s->result);
    xb_wipe(&s->pkce, sizeof(s->pkce));
    xb_free(s->url);
    xb_free(s->email);
    xb_free(s);
}
