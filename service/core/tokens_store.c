/*
 * The plain token source: serves the access token the account store holds, as long as
 * it has not expired. Used when no OAuth client is configured for the provider (tokens
 * put there by hand, tests); the OAuth client's source refreshes instead.
 */
#include "tokens_store.h"

#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "mem.h"
#include "store.h"

/* A token this close to expiry is not handed out: the login would race the clock. */
#define XB_TOKEN_MARGIN 60

struct store_source {
    struct xb_token_source base;
    struct event_base *evbase;
    struct xb_store *store;
};

struct xb_token_req {
    struct store_source *src;
    struct event *ev;
    char *email;
    xb_token_cb *cb;
    void *arg;
};

static void req_free(struct xb_token_req *req)
{
    if (!req)
        return;
    if (req->ev)
        event_free(req->ev);
    xb_free(req->email);
    xb_free(req);
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_token_req *req = arg;
    struct xb_account *acct = xb_store_find(req->src->store, req->email);
    xb_token_cb *cb = req->cb;
    void *cbarg = req->arg;
    const int64_t now = (int64_t)time(NULL);

    if (!acct) {
        req_free(req);
        cb(cbarg, XB_ERR_NOTFOUND, NULL, "No such account");
    } else if (acct->state == XB_ACCT_NEEDS_SIGNIN && !acct->access_token) {
        req_free(req);
        cb(cbarg, XB_ERR_AUTH, NULL,
           acct->last_error ? acct->last_error : "Sign-in needed: sign in to XOAuth Bridge again");
    } else if (!acct->access_token || acct->access_expires - XB_TOKEN_MARGIN <= now) {
        req_free(req);
        cb(cbarg, XB_ERR_AUTH, NULL,
           "The stored access token has expired and no OAuth client is set up to renew it");
    } else {
        /* The token stays owned by the store; the callback copies it. */
        req_free(req);
        cb(cbarg, XB_OK, acct->access_token->data, NULL);
    }
}

static struct xb_token_req *src_get(struct xb_token_source *ts, const char *email,
                                    xb_token_cb *cb, void *arg)
{
    struct store_source *src = (struct store_source *)ts;
    struct xb_token_req *req = xb_new(struct xb_token_req);
    if (!req)
        return NULL;
    req->src = src;
    req->cb = cb;
    req->arg = arg;
    req->email = xb_strdup(email);
    req->ev = evtimer_new(src->evbase, deliver_cb, req);
    if (!req->email || !req->ev) {
        req_free(req);
        return NULL;
    }
    /* Always from the loop, never from inside get(): callers rely on it. */
    event_active(req->ev, EV_TIMEOUT, 0);
    return req;
}

static void src_cancel(struct xb_token_req *req)
{
    req_free(req);
}

static void src_invalidate(struct xb_token_source *ts, const char *email)
{
    struct store_source *src = (struct store_source *)ts;
    struct xb_account *acct = xb_store_find(src->store, email);
    if (!acct || !acct->access_token)
        return;
    xb_secret_free(acct->access_token);
    acct->access_token = NULL;
    acct->access_expires = 0;
    if (xb_store_save(src->store) != XB_OK)
        xb_log_error("cannot save the account store after dropping a refused token");
}

static void src_report(struct xb_token_source *ts, const char *email, enum xb_err err,
                       const char *why)
{
    struct store_source *src = (struct store_source *)ts;
    struct xb_account *acct = xb_store_find(src->store, email);
    if (!acct)
        return;
    enum xb_account_state state = err == XB_OK ? XB_ACCT_OK
                                  : err == XB_ERR_AUTH ? XB_ACCT_NEEDS_SIGNIN
                                                       : XB_ACCT_TEMP_ERROR;
    bool changed = acct->state != state;
    xb_account_set_state(acct, state, why, (int64_t)time(NULL));
    /* Every login succeeding must not cost a disk write: save on changes only. */
    if (changed && xb_store_save(src->store) != XB_OK)
        xb_log_error("cannot save the account store");
}

static void src_free(struct xb_token_source *ts)
{
    xb_free(ts);
}

static const struct xb_token_source_vt store_source_vt = {
    .get = src_get,
    .cancel = src_cancel,
    .invalidate = src_invalidate,
    .report = src_report,
    .free = src_free,
};

struct xb_token_source *xb_tokens_store_new(struct event_base *base, struct xb_store *store)
{
    struct store_source *src = xb_new(struct store_source);
    if (!src)
        return NULL;
    src->base.vt = &store_source_vt;
    src->evbase = base;
    src->store = store;
    return &src->base;
}
