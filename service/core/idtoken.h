/*
 * Who signed in: the OpenID Connect ID token that comes with the code exchange
 * (docs/oauth.md, "Who signed in"). The token arrives straight from the token endpoint
 * over TLS that was verified, which OpenID Connect Core 3.1.3.7 (6) accepts in place of
 * the signature; everything else is checked: issuer, audience (and azp), expiry, issue
 * time, and the nonce this sign-in sent.
 */
#ifndef XB_IDTOKEN_H
#define XB_IDTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/store.h"

#define XB_IDTOKEN_SKEW 300 /* seconds of clock difference allowed on exp and iat */

/* What this sign-in expects. */
struct xb_idtoken_want {
    const struct xb_provider *provider;  /* issuer, client_id, identity_claims, kind */
    const char *nonce;                   /* sent in the authorization request */
    int64_t now;                         /* Unix seconds */
};

/* Who the provider says signed in. */
struct xb_idtoken_who {
    char address[XB_EMAIL_MAX + 1];      /* the first of identity_claims the token has */
    char claim[32];                      /* which claim that was */
    char hd[256];                        /* Google Workspace domain ("": none) */
};

/* XB_OK with *who filled; XB_ERR_AUTH (the token is not for this sign-in, or names
 * nobody), XB_ERR_INVAL (not an ID token) or XB_ERR_NOMEM, with why in words (English,
 * never the token). */
enum xb_err xb_idtoken_read(const char *jwt, const struct xb_idtoken_want *want,
                            struct xb_idtoken_who *who, char *why, size_t n);

#endif
