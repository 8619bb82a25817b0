/*
 * SASL payloads: decoding what local clients send (PLAIN, LOGIN) and encoding what the
 * proxy sends upstream (XOAUTH2, OAUTHBEARER). Every decoded password and encoded
 * payload is a secret (struct xb_secret): callers free it with xb_secret_free.
 * Base64 is OpenSSL's (EVP_EncodeBlock / EVP_DecodeBlock), strict: bad characters,
 * bad padding or trailing garbage are errors.
 */
#ifndef XB_SASL_H
#define XB_SASL_H

#include "core/err.h"
#include "core/mem.h"
#include "core/parse.h"

/* Standard base64 with padding. Out-parameters are new secrets. */
enum xb_err xb_base64_encode(const void *data, size_t len, struct xb_secret **out);
enum xb_err xb_base64_decode(struct xb_view b64, struct xb_secret **out);
/* base64url without padding (RFC 4648 5; PKCE, local secrets) into out, NUL-terminated:
 * XB_ERR_RANGE if it does not fit. The one base64url encoder of the tree. */
enum xb_err xb_base64url_encode(const void *data, size_t len, char *out, size_t size);
/* base64url without padding (a JWT's parts) decoded, as strictly as xb_base64_decode. */
enum xb_err xb_base64url_decode(struct xb_view b64u, struct xb_secret **out);

/* PLAIN (RFC 4616): base64(authzid NUL authcid NUL passwd). *user is authcid (or authzid
 * when authcid is empty); an authzid different from authcid is XB_ERR_INVAL. Lengths of
 * user <= 320 and password <= 1024, no NULs inside. */
enum xb_err xb_sasl_plain_decode(struct xb_view b64, struct xb_secret **user,
                                 struct xb_secret **password);

/* XOAUTH2: base64("user=" user "\x01auth=Bearer " token "\x01\x01"). */
enum xb_err xb_sasl_xoauth2_encode(const char *user, const char *token, struct xb_secret **out);

/* OAUTHBEARER (RFC 7628): base64("n,a=" user "," "\x01host=" host "\x01port=" port
 * "\x01auth=Bearer " token "\x01\x01"), with ',' and '=' in user escaped as =2C and =3D. */
enum xb_err xb_sasl_oauthbearer_encode(const char *user, const char *host, unsigned port,
                                       const char *token, struct xb_secret **out);

#endif
