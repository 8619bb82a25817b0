/*
 * The ID token's claims (idtoken.h). cJSON parses, OpenSSL decodes base64; this file
 * only decides. Every failure says which check failed, never a claim's raw bytes beyond
 * an address or an issuer (which are what a person or an admin needs to see).
 */
#include "core/idtoken.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/ascii.h"
#include "core/json.h"
#include "core/mem.h"
#include "core/parse.h"
#include "core/sasl.h"

#define JWT_MAX (64 * 1024)
/* Google's ID tokens name either form (Google's OpenID Connect documentation). */
#define GOOGLE_ISSUER_SHORT "accounts.google.com"
/* Microsoft's multi-tenant endpoint: the issuer names the user's tenant. */
#define MICROSOFT_ISSUER_FMT "https://login.microsoftonline.com/%s/v2.0"

static const char *str_claim(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* A JWT part (base64url JSON object), or NULL. */
static cJSON *part(const char *p, size_t len)
{
    struct xb_secret *raw = NULL;
    if (xb_base64url_decode((struct xb_view){ p, len }, &raw) != XB_OK)
        return NULL;
    cJSON *obj = cJSON_ParseWithLength(raw->data, raw->len);
    xb_secret_free(raw);
    if (obj && !cJSON_IsObject(obj)) {
        xb_json_free(obj);
        obj = NULL;
    }
    return obj;
}

/* Tenant ids are GUIDs: nothing else may go into the issuer we build from one. */
static bool tenant_ok(const char *tid)
{
    size_t n = strlen(tid);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = xb_ascii_lower(tid[i]);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-'))
            return false;
    }
    return true;
}

static bool issuer_ok(const struct xb_provider *p, const cJSON *claims, const char *iss)
{
    if (p->issuer)
        return strcmp(iss, p->issuer) == 0 ||
               (p->kind == XB_PROVIDER_GOOGLE && strcmp(iss, GOOGLE_ISSUER_SHORT) == 0);
    if (p->kind == XB_PROVIDER_MICROSOFT) {
        const char *tid = str_claim(claims, "tid");
        char want[160];
        if (!tid || !tenant_ok(tid))
            return false;
        snprintf(want, sizeof(want), MICROSOFT_ISSUER_FMT, tid);
        return strcmp(iss, want) == 0;
    }
    return false; /* the configuration refuses id_token without an issuer */
}

static bool audience_ok(const cJSON *claims, const char *client_id)
{
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
    const char *azp = str_claim(claims, "azp");
    bool ours = false;
    int n = 0;
    if (cJSON_IsString(aud) && aud->valuestring) {
        ours = strcmp(aud->valuestring, client_id) == 0;
        n = 1;
    } else if (cJSON_IsArray(aud)) {
        const cJSON *a;
        cJSON_ArrayForEach(a, aud) {
            n++;
            if (cJSON_IsString(a) && a->valuestring && strcmp(a->valuestring, client_id) == 0)
                ours = true;
        }
    }
    /* More than one audience: the token must have been issued to us (azp). */
    if (!ours || (n > 1 && !azp))
        return false;
    return !azp || strcmp(azp, client_id) == 0;
}

static bool number_claim(const cJSON *claims, const char *name, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

/* email_verified: a boolean, or (some providers) the string "true"/"false". */
static int verified(const cJSON *claims)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, "email_verified");
    if (!v)
        return -1;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? 1 : 0;
    if (cJSON_IsString(v) && v->valuestring)
        return strcmp(v->valuestring, "true") == 0 ? 1 : 0;
    return 0;
}

/* The first of the space-separated claims that the token has as a non-empty string. */
static const char *address_claim(const cJSON *claims, const char *names, char *which, size_t n)
{
    const char *p = names;
    while (p && *p) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len && len < n) {
            memcpy(which, p, len);
            which[len] = '\0';
            const char *v = str_claim(claims, which);
            if (v && *v)
                return v;
        }
        p += len;
    }
    which[0] = '\0';
    return NULL;
}

enum xb_err xb_idtoken_read(const char *jwt, const struct xb_idtoken_want *want,
                            struct xb_idtoken_who *who, char *why, size_t n)
{
    const struct xb_provider *p = want->provider;
    cJSON *header = NULL, *claims = NULL;
    enum xb_err err = XB_ERR_INVAL;

    memset(who, 0, sizeof(*who));
    snprintf(why, n, "the provider's ID token is malformed");
    size_t len = jwt ? strlen(jwt) : 0;
    const char *dot1 = jwt ? memchr(jwt, '.', len) : NULL;
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - jwt)) : NULL;
    if (!jwt || len > JWT_MAX || !dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - jwt)))
        return XB_ERR_INVAL;
    header = part(jwt, (size_t)(dot1 - jwt));
    claims = part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (!header || !claims)
        goto out;
    /* Signed, as OpenID Connect requires (the TLS channel vouches for who signed it). */
    const char *alg = str_claim(header, "alg");
    if (!alg || !*alg || xb_ascii_streq_ci(alg, "none") || dot2[1] == '\0')
        goto out;

    err = XB_ERR_AUTH;
    const char *iss = str_claim(claims, "iss");
    if (!iss || !issuer_ok(p, claims, iss)) {
        snprintf(why, n, "the ID token comes from another issuer (%.100s)", iss ? iss : "none");
        goto out;
    }
    if (!p->client_id || !audience_ok(claims, p->client_id)) {
        snprintf(why, n, "the ID token was issued to another client");
        goto out;
    }
    int64_t exp = 0, iat = 0;
    if (!number_claim(claims, "exp", &exp) || exp + XB_IDTOKEN_SKEW < want->now) {
        snprintf(why, n, "the ID token has expired (is this computer's clock right?)");
        goto out;
    }
    if (number_claim(claims, "iat", &iat) && iat > want->now + XB_IDTOKEN_SKEW) {
        snprintf(why, n, "the ID token is from the future (is this computer's clock right?)");
        goto out;
    }
    const char *nonce = str_claim(claims, "nonce");
    if (!want->nonce || !nonce || strcmp(nonce, want->nonce) != 0) {
        snprintf(why, n, "the ID token does not answer this sign-in (nonce)");
        goto out;
    }
    const char *addr = address_claim(claims, p->identity_claims ? p->identity_claims : "email",
                                     who->claim, sizeof(who->claim));
    if (!addr) {
        snprintf(why, n, "the ID token names no address (claims: %.60s)",
                 p->identity_claims ? p->identity_claims : "email");
        goto out;
    }
    if (strlen(addr) > XB_EMAIL_MAX) {
        snprintf(why, n, "the ID token's address is too long");
        goto out;
    }
    if (strcmp(who->claim, "email") == 0) {
        int v = verified(claims);
        if (v == 0 || (v < 0 && p->kind == XB_PROVIDER_GOOGLE)) {
            snprintf(why, n, "the provider has not verified the address %s", addr);
            goto out;
        }
    }
    snprintf(who->address, sizeof(who->address), "%s", addr);
    const char *hd = str_claim(claims, "hd");
    if (hd)
        snprintf(who->hd, sizeof(who->hd), "%s", hd);
    why[0] = '\0';
    err = XB_OK;
out:
    xb_json_free(header);
    xb_json_free(claims);
    return err;
}
