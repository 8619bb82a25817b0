#include "core/tokens_oauth.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "core/events.h"
#include "core/http.h"
#include "core/log.h"
#include "platform/platform.h"
#include "core/mem.h"
#include "core/msg.h"
#include "core/oauth.h"
#include "core/store.h"
#include "core/ui.h"

/* A token with less than this left is refreshed rather than handed out. */
#define TOKEN_MARGIN   60
/* Accounts used within this long get their token refreshed before it expires, so a
 * reconnecting client never waits for the network. */
#define AHEAD_IF_USED  3600
#define AHEAD_BEFORE   300
#define BACKOFF_FIRST  5
#define BACKOFF_MAX    300

struct acct_rt;

struct xb_token_req {
    struct oauth_source *src;
    struct acct_rt *rt;
    struct event *ev;              /* delivers the outcome from the loop */
    xb_token_cb *cb;
    void *arg;
    enum xb_err err;
    char why[400];
    struct xb_secret *token;
    struct xb_token_req *next;     /* waiting for the account's refresh */
};

/* Run-time state of one account (not stored). */
struct acct_rt {
    char *email;
    struct xb_http_req *refresh;
    struct xb_token_req *waiters;
    struct event *ahead;
    int64_t retry_after;
    unsigned backoff;
    int64_t last_used;
    struct oauth_source *src;
    struct acct_rt *next;
};

struct oauth_source {
    struct xb_token_source base;
    struct event_base *evbase;
    const struct xb_config *cfg;
    struct xb_store *store;
    struct xb_http *http;
    struct xb_ui *ui;              /* told when a person must act; may be NULL */
    struct acct_rt *accts;
};

static int64_t now(void)
{
    return (int64_t)time(NULL);
}

static void start_refresh(struct acct_rt *rt);

/* --- delivery ---------------------------------------------------------------------------- */

static void req_free(struct xb_token_req *req)
{
    if (!req)
        return;
    if (req->ev)
        event_free(req->ev);
    xb_secret_free(req->token);
    xb_free(req);
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_token_req *req = arg;
    xb_token_cb *cb = req->cb;
    void *cbarg = req->arg;
    enum xb_err err = req->err;
    struct xb_secret *token = req->token;
    char why[sizeof(req->why)];
    memcpy(why, req->why, sizeof(why));
    req->token = NULL;
    req_free(req);
    cb(cbarg, err, token ? token->data : NULL, err == XB_OK ? NULL : why);
    xb_secret_free(token);
}

static void complete(struct xb_token_req *req, enum xb_err err, const char *token, const char *why)
{
    req->err = err;
    snprintf(req->why, sizeof(req->why), "%s", why ? why : "");
    if (token)
        req->token = xb_secret_new(token, strlen(token));
    if (token && !req->token) {
        req->err = XB_ERR_TEMP;
        snprintf(req->why, sizeof(req->why), "out of memory");
    }
    event_active(req->ev, EV_TIMEOUT, 0);
}

static void complete_waiters(struct acct_rt *rt, enum xb_err err, const char *token,
                             const char *why)
{
    struct xb_token_req *w = rt->waiters;
    rt->waiters = NULL;
    while (w) {
        struct xb_token_req *next = w->next;
        w->next = NULL;
        complete(w, err, token, why);
        w = next;
    }
}

/* --- per-account state -------------------------------------------------------------------- */

static void ahead_cb(evutil_socket_t fd, short what, void *arg)
{
    struct acct_rt *rt = arg;
    if (!rt->refresh && now() - rt->last_used < AHEAD_IF_USED) {
        xb_log_debug("refreshing the token of %s ahead of its expiry", rt->email);
        start_refresh(rt);
    }
}

static struct acct_rt *rt_for(struct oauth_source *src, const char *email)
{
    for (struct acct_rt *rt = src->accts; rt; rt = rt->next)
        if (strcmp(rt->email, email) == 0)
            return rt;
    struct acct_rt *rt = xb_new(struct acct_rt);
    if (!rt)
        return NULL;
    rt->src = src;
    rt->email = xb_strdup(email);
    rt->ahead = evtimer_new(src->evbase, ahead_cb, rt);
    if (!rt->email || !rt->ahead) {
        if (rt->ahead)
            event_free(rt->ahead);
        xb_free(rt->email);
        xb_free(rt);
        return NULL;
    }
    rt->next = src->accts;
    src->accts = rt;
    return rt;
}

static void schedule_ahead(struct acct_rt *rt, int64_t expires_in)
{
    int64_t at = expires_in > 2 * AHEAD_BEFORE ? expires_in - AHEAD_BEFORE : expires_in / 2;
    struct timeval tv = { (long)(at > 1 ? at : 1), 0 };
    evtimer_add(rt->ahead, &tv);
}

static void save(struct oauth_source *src)
{
    if (xb_store_save(src->store) != XB_OK)
        xb_log_error("cannot save the account store");
}

/* Records the outcome; tells the front end when the state changed, and asks a person to
 * sign in when that is what it takes (ui.c limits how often). true if it changed. */
static bool set_state(struct oauth_source *src, struct xb_account *acct,
                      enum xb_account_state state, const char *why, enum xb_ui_kind kind)
{
    bool changed = acct->state != state;
    xb_account_set_state(acct, state, why, now());
    if (changed)
        xb_ui_account_changed(src->ui, acct->email, state);
    if (changed && state == XB_ACCT_NEEDS_SIGNIN)
        xb_log_event(kind == XB_UI_TESTING_EXPIRY ? XB_EV_TESTING_EXPIRY : XB_EV_NEEDS_SIGNIN,
                     "%s needs to sign in again%s: %s", acct->email,
                     kind == XB_UI_TESTING_EXPIRY ? " (Google ends the sign-ins of an OAuth "
                     "app in Testing status after 7 days: publish it, or make it Internal)" : "",
                     why ? why : "the sign-in is no longer valid");
    if (state == XB_ACCT_NEEDS_SIGNIN)
        xb_ui_alert(src->ui, kind, acct->email, NULL);
    return changed;
}

/* Google ends the grants of OAuth clients in "Testing" status after 7 days. */
static bool looks_like_testing_expiry(const struct xb_provider *p, const struct xb_account *a)
{
    int64_t age = now() - a->signed_in_at;
    return p && p->kind == XB_PROVIDER_GOOGLE && a->signed_in_at > 0 &&
           age >= 6 * 86400 + 43200 && age <= 8 * 86400;
}

static void refresh_cb(void *arg, struct xb_token_result *r)
{
    struct acct_rt *rt = arg;
    struct oauth_source *src = rt->src;
    rt->refresh = NULL;
    struct xb_account *acct = xb_store_find(src->store, rt->email);
    if (!acct) {
        complete_waiters(rt, XB_ERR_NOTFOUND, NULL, "the account was removed");
        return;
    }
    const struct xb_provider *p = xb_config_provider_for(src->cfg, acct->provider, acct->email);

    if (r->err == XB_OK) {
        xb_log_info("refreshed the access token of %s (valid %lld s)", rt->email,
                    (long long)r->expires_in);
        xb_account_set_tokens(acct, r->refresh_token, r->access_token, now() + r->expires_in);
        r->refresh_token = r->access_token = NULL;
        set_state(src, acct, XB_ACCT_OK, NULL, XB_UI_SIGNIN_NEEDED);
        save(src);
        rt->backoff = 0;
        rt->retry_after = 0;
        schedule_ahead(rt, r->expires_in);
        complete_waiters(rt, XB_OK, acct->access_token->data, NULL);
        return;
    }

    char why[400];
    if (r->err == XB_ERR_AUTH) {
        bool testing = looks_like_testing_expiry(p, acct);
        if (testing)
            snprintf(why, sizeof(why), "%s; %s", r->why, xb_msg(XB_MSG_TESTING_EXPIRY));
        else
            snprintf(why, sizeof(why), "%s", r->why);
        xb_log_warn("%s needs to sign in again: %s", rt->email, why);
        /* The grant is gone: keep nothing that pretends otherwise. */
        xb_secret_free(acct->refresh_token);
        xb_secret_free(acct->access_token);
        acct->refresh_token = acct->access_token = NULL;
        acct->access_expires = 0;
        set_state(src, acct, XB_ACCT_NEEDS_SIGNIN, why,
                  testing ? XB_UI_TESTING_EXPIRY : XB_UI_SIGNIN_NEEDED);
        save(src);
        evtimer_del(rt->ahead);
        complete_waiters(rt, XB_ERR_AUTH, NULL, why);
        return;
    }

    rt->backoff = rt->backoff ? (rt->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : rt->backoff * 2)
                              : BACKOFF_FIRST;
    rt->retry_after = now() + rt->backoff;
    snprintf(why, sizeof(why), "cannot renew the access token now (%s); retrying in %u s",
             r->why, rt->backoff);
    xb_log_warn("%s: %s", rt->email, why);
    if (set_state(src, acct, XB_ACCT_TEMP_ERROR, why, XB_UI_SIGNIN_NEEDED))
        save(src);
    if (r->err == XB_ERR_TLS && p) {
        char host[128];
        xb_http_url_host(p->token_url, host, sizeof(host));
        xb_ui_untrusted(src->ui, rt->email, host, r->why);
    }
    /* A web proxy in the way is for IT to fix, as an untrusted certificate is. */
    if (r->err == XB_ERR_TEMP && p) {
        char host[128], proxy[128], proxy_why[320];
        xb_http_url_host(p->token_url, host, sizeof(host));
        if (xb_http_proxy_failure(src->http, host, proxy, sizeof(proxy), proxy_why,
                                  sizeof(proxy_why)) &&
            xb_ui_alert(src->ui, XB_UI_WEB_PROXY, proxy, proxy_why))
            xb_log_event(XB_EV_WEB_PROXY, "%s: %s", rt->email, proxy_why);
    }
    complete_waiters(rt, XB_ERR_TEMP, NULL, why);
}

static void start_refresh(struct acct_rt *rt)
{
    struct oauth_source *src = rt->src;
    struct xb_account *acct = xb_store_find(src->store, rt->email);
    const struct xb_provider *p = acct ? xb_config_provider_for(src->cfg, acct->provider, acct->email)
                                         : NULL;
    if (!acct || !acct->refresh_token || !p || !p->client_id) {
        complete_waiters(rt, XB_ERR_AUTH, NULL, "cannot renew the token: not signed in");
        return;
    }
    rt->refresh = xb_oauth_refresh(src->http, p, acct->refresh_token->data, refresh_cb, rt);
    if (!rt->refresh)
        complete_waiters(rt, XB_ERR_TEMP, NULL, "out of memory");
}

/* --- the interface ---------------------------------------------------------------------------- */

static struct xb_token_req *src_get(struct xb_token_source *ts, const char *email,
                                    xb_token_cb *cb, void *arg)
{
    struct oauth_source *src = (struct oauth_source *)ts;
    struct xb_token_req *req = xb_new(struct xb_token_req);
    struct acct_rt *rt = rt_for(src, email);
    if (!req || !rt || !(req->ev = evtimer_new(src->evbase, deliver_cb, req))) {
        req_free(req);
        return NULL;
    }
    req->src = src;
    req->rt = rt;
    req->cb = cb;
    req->arg = arg;
    rt->last_used = now();

    struct xb_account *acct = xb_store_find(src->store, email);
    const struct xb_provider *p = acct ? xb_config_provider_for(src->cfg, acct->provider, acct->email)
                                         : NULL;
    char why[400];
    if (!acct) {
        complete(req, XB_ERR_NOTFOUND, NULL, "no such account");
    } else if (acct->access_token && acct->access_expires - TOKEN_MARGIN > now()) {
        complete(req, XB_OK, acct->access_token->data, NULL);
        /* In use: keep it fresh from now on. */
        if (!evtimer_pending(rt->ahead, NULL))
            schedule_ahead(rt, acct->access_expires - now());
    } else if (!acct->refresh_token) {
        snprintf(why, sizeof(why), "%s",
                 acct->state == XB_ACCT_NEEDS_SIGNIN && acct->last_error
                     ? acct->last_error
                     : "not signed in: sign in to XOAuth Bridge for this account");
        complete(req, XB_ERR_AUTH, NULL, why);
        /* A mail program is waiting for an account nobody signed in: ask for it. */
        xb_ui_alert(src->ui, XB_UI_SIGNIN_NEEDED, acct->email, NULL);
    } else if (!p || !p->client_id) {
        snprintf(why, sizeof(why), "no OAuth client ID is configured for provider '%s': ask "
                 "your administrator", acct->provider);
        complete(req, XB_ERR_AUTH, NULL, why);
        xb_ui_alert(src->ui, XB_UI_PROBLEM, acct->email, why);
    } else if (rt->retry_after > now() && !rt->refresh) {
        snprintf(why, sizeof(why), "%s", acct->last_error ? acct->last_error
                                                             : "the token service is failing");
        complete(req, XB_ERR_TEMP, NULL, why);
    } else {
        req->next = rt->waiters;
        rt->waiters = req;
        if (!rt->refresh)
            start_refresh(rt);
    }
    return req;
}

static void src_cancel(struct xb_token_req *req)
{
    struct acct_rt *rt = req->rt;
    for (struct xb_token_req **pp = &rt->waiters; *pp; pp = &(*pp)->next) {
        if (*pp == req) {
            *pp = req->next;
            break;
        }
    }
    req_free(req);
}

static void src_invalidate(struct xb_token_source *ts, const char *email, const char *token)
{
    struct oauth_source *src = (struct oauth_source *)ts;
    struct xb_account *acct = xb_store_find(src->store, email);
    size_t len = strlen(token);
    if (!acct || !acct->access_token || acct->access_token->len != len ||
        CRYPTO_memcmp(acct->access_token->data, token, len) != 0)
        return; /* already replaced by a fresh one */
    xb_log_info("the mail server refused the access token of %s: dropping it", email);
    xb_secret_free(acct->access_token);
    acct->access_token = NULL;
    acct->access_expires = 0;
    save(src);
}

static void src_report(struct xb_token_source *ts, const char *email, enum xb_err err,
                       const char *why)
{
    struct oauth_source *src = (struct oauth_source *)ts;
    struct xb_account *acct = xb_store_find(src->store, email);
    if (!acct)
        return;
    enum xb_account_state state = err == XB_OK ? XB_ACCT_OK
                                  : err == XB_ERR_AUTH ? XB_ACCT_NEEDS_SIGNIN
                                                       : XB_ACCT_TEMP_ERROR;
    /* A successful login must not cost a disk write: save on changes only. */
    if (set_state(src, acct, state, why, XB_UI_SIGNIN_NEEDED))
        save(src);
}

static void src_free(struct xb_token_source *ts)
{
    struct oauth_source *src = (struct oauth_source *)ts;
    while (src->accts) {
        struct acct_rt *rt = src->accts;
        src->accts = rt->next;
        if (rt->refresh)
            xb_http_cancel(rt->refresh);
        while (rt->waiters) {
            struct xb_token_req *w = rt->waiters;
            rt->waiters = w->next;
            req_free(w);
        }
        event_free(rt->ahead);
        xb_free(rt->email);
        xb_free(rt);
    }
    xb_free(src);
}

static const struct xb_token_source_vt oauth_source_vt = {
    .get = src_get,
    .cancel = src_cancel,
    .invalidate = src_invalidate,
    .report = src_report,
    .free = src_free,
};

void xb_tokens_oauth_set_ui(struct xb_token_source *ts, struct xb_ui *ui)
{
    if (ts)
        ((struct oauth_source *)ts)->ui = ui;
}

struct xb_token_source *xb_tokens_oauth_new(struct event_base *base,
                                            const struct xb_config *cfg,
                                            struct xb_store *store, struct xb_http *http)
{
    struct oauth_source *src = xb_new(struct oauth_source);
    if (!src)
        return NULL;
    src->base.vt = &oauth_source_vt;
    src->evbase = base;
    src->cfg = cfg;
    src->store = store;
    src->http = http;
    return &src->base;
}
