/*
 * The interactive sign-in (RFC 8252): a one-shot redirect listener on 127.0.0.1 with an
 * ephemeral port, the provider's consent page in the system browser (PKCE S256, state,
 * login_hint), the code exchanged for tokens, a small result page in the user's
 * language, then the listener closes. Requests that are not the awaited redirect get an
 * error page and do not end the wait; a wrong iss or a failed exchange ends it.
 */
#ifndef XB_SIGNIN_H
#define XB_SIGNIN_H

#include "core/config.h"
#include "core/err.h"
#include "core/oauth.h"

struct event_base;
struct xb_http;
struct xb_signin;

/* err XB_OK: result holds the tokens (the callback may take them). Otherwise why says
 * what went wrong in words (XB_ERR_AUTH: refused/declined; XB_ERR_TEMP: timeout, network). */
typedef void xb_signin_cb(void *arg, enum xb_err err, const char *why,
                          struct xb_token_result *result);

enum xb_err xb_signin_start(struct event_base *base, struct xb_http *http,
                            const struct xb_config *cfg, const struct xb_provider *provider,
                            const char *email, xb_signin_cb *cb, void *arg,
                            struct xb_signin **out);
/* The authorization URL (for "open this address" when no browser opened). */
const char *xb_signin_url(const struct xb_signin *s);
void xb_signin_cancel(struct xb_signin *s);

#endif
