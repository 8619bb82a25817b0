/*
 * Where the proxy gets access tokens: "give me a valid access token for account X".
 * The OAuth client implements it (tokens_oauth.c) with refresh ahead of expiry and
 * single-flight per account; the proxy knows only this interface.
 */
#ifndef XB_TOKENS_H
#define XB_TOKENS_H

#include "core/err.h"

struct xb_token_source;
struct xb_token_req;

/* err XB_OK: token is valid for this call only (copy it if needed).
 * XB_ERR_AUTH: a person must sign in again; why says why in words.
 * XB_ERR_TEMP: a passing failure (network, server error); retrying later may work.
 * XB_ERR_NOTFOUND: no such account. */
typedef void xb_token_cb(void *arg, enum xb_err err, const char *token, const char *why);

struct xb_token_source_vt {
    /* Starts getting a token. cb runs exactly once, from the event loop (never inside
     * get itself), unless the request is cancelled first. NULL only when out of memory. */
    struct xb_token_req *(*get)(struct xb_token_source *ts, const char *email, xb_token_cb *cb,
                                void *arg);
    void (*cancel)(struct xb_token_req *req);
    /* The mail server refused this access token: drop it, if it is still the one kept,
     * so that the next get fetches a new one. Sessions refused together with one token
     * therefore cause one refresh, and none drops the fresh token another one brought. */
    void (*invalidate)(struct xb_token_source *ts, const char *email, const char *token);
    /* A login upstream worked / failed for a reason a person must fix (recorded for status). */
    void (*report)(struct xb_token_source *ts, const char *email, enum xb_err err,
                   const char *why);
    void (*free)(struct xb_token_source *ts);
};

struct xb_token_source {
    const struct xb_token_source_vt *vt;
};

static inline struct xb_token_req *xb_tokens_get(struct xb_token_source *ts, const char *email,
                                                 xb_token_cb *cb, void *arg)
{
    return ts->vt->get(ts, email, cb, arg);
}
static inline void xb_tokens_cancel(struct xb_token_source *ts, struct xb_token_req *req)
{
    ts->vt->cancel(req);
}
static inline void xb_tokens_invalidate(struct xb_token_source *ts, const char *email,
                                        const char *token)
{
    ts->vt->invalidate(ts, email, token);
}
static inline void xb_tokens_report(struct xb_token_source *ts, const char *email,
                                    enum xb_err err, const char *why)
{
    ts->vt->report(ts, email, err, why);
}
static inline void xb_tokens_free(struct xb_token_source *ts)
{
    if (ts)
        ts->vt->free(ts);
}

#endif
