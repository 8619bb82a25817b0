/*
 * The OAuth 2.0 client's protocol parts (RFC 6749, 7636 PKCE, 7009 revocation,
 * 9207 iss, 8252 native apps): building the authorization URL, and the token endpoint
 * requests and the meaning of their answers. No I/O of its own: requests go through
 * http.h; the interactive sign-in is signin.c, token upkeep tokens_oauth.c.
 */
#ifndef XB_OAUTH_H
#define XB_OAUTH_H

#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/http.h"
#include "core/mem.h"

/* PKCE and state: code_verifier (43 chars base64url of 32 random bytes), its S256
 * code_challenge, and an unguessable state. */
struct xb_pkce {
    char verifier[64];
    char challenge[64];
    char state[64];
    char nonce[64];             /* OpenID Connect: the ID token must carry it back */
};
enum xb_err xb_pkce_new(struct xb_pkce *out);

/* The authorization request URL for provider p with redirect_uri and login_hint (the
 * account's address). Google: access_type=offline, prompt=consent, hd when configured.
 * With identity = id_token: the scopes openid and email (and profile, for a
 * preferred_username) are asked for too, and the nonce is sent. */
char *xb_oauth_auth_url(const struct xb_provider *p, const struct xb_pkce *pkce,
                        const char *redirect_uri, const char *login_hint);

/* What a token endpoint said. */
struct xb_token_result {
    enum xb_err err;            /* XB_OK; XB_ERR_AUTH: a person must sign in again (or the
                                   client is misconfigured); XB_ERR_TEMP: try again later;
                                   XB_ERR_TLS: the endpoint's certificate is not trusted
                                   here (retried later like TEMP; IT must act) */
    struct xb_secret *access_token;
    struct xb_secret *refresh_token;   /* NULL if the response had none */
    struct xb_secret *id_token;        /* OpenID Connect ID token; NULL if none */
    int64_t expires_in;         /* seconds; 3600 when the response did not say */
    char why[256];              /* on failure: in words, never containing a token */
};
void xb_token_result_clear(struct xb_token_result *r);

/* Interprets the token (revoke false) or revocation endpoint's answer (status, JSON
 * body), or a transport failure: what every request of this file hands its callback. */
void xb_oauth_parse_answer(bool revoke, enum xb_err http_err, long status, const char *body,
                           size_t len, const char *http_why, struct xb_token_result *out);

/* cb may take the secrets out of result (setting the fields to NULL); whatever is left
 * is freed after cb returns. */
typedef void xb_oauth_cb(void *arg, struct xb_token_result *result);

/* S256 challenge of a verifier (base64url of SHA-256, no padding); out >= 44 bytes. */
void xb_pkce_challenge(const char *verifier, char *out, size_t size);

/* grant_type=authorization_code with the PKCE verifier. */
struct xb_http_req *xb_oauth_exchange_code(struct xb_http *http, const struct xb_provider *p,
                                           const char *code, const char *redirect_uri,
                                           const char *verifier, xb_oauth_cb *cb, void *arg);
/* grant_type=refresh_token. */
struct xb_http_req *xb_oauth_refresh(struct xb_http *http, const struct xb_provider *p,
                                     const char *refresh_token, xb_oauth_cb *cb, void *arg);
/* RFC 7009 revocation of a refresh token (the provider revokes the whole grant).
 * result->err is XB_OK when the endpoint accepted it, XB_ERR_UNSUPPORTED (still from
 * the loop) when the provider has no revocation endpoint. Like the requests above, a
 * missing value (client ID, URL, token) fails with XB_ERR_INVAL from the loop. */
struct xb_http_req *xb_oauth_revoke(struct xb_http *http, const struct xb_provider *p,
                                    const char *refresh_token, xb_oauth_cb *cb, void *arg);

#endif
