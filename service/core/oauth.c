/*
 * The OAuth 2.0 client's protocol parts: PKCE and state, the authorization URL, the
 * token and revocation requests, and what their answers mean. The one decision that
 * matters most is XB_ERR_AUTH ("a person must sign in again": the caller may drop the
 * refresh token) versus XB_ERR_TEMP ("try again later"): AUTH only for an OAuth error
 * the server stated in proper form, anything unclear is TEMP.
 *
 * Everything the server says that ends up in a message is reduced to printable ASCII,
 * cut short, and stripped of token-like words, so a server that echoes a token cannot
 * put it into a log line.
 */
#include "core/oauth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "core/ascii.h"
#include "core/json.h"
#include "core/log.h"
#include "core/sasl.h"
#include "platform/platform.h"

#define XB_PKCE_RANDOM_BYTES 32           /* 43 base64url characters (RFC 7636 4.1) */
#define XB_EXPIRES_DEFAULT 3600
#define XB_EXPIRES_MAX (365LL * 24 * 3600) /* a year: longer is not an access token's lifetime */
#define XB_SERVER_TEXT_MAX 120            /* characters of error_description kept */
#define XB_SERVER_CODE_MAX 40             /* characters of an error code kept */
#define XB_SERVER_WORD_MAX 40             /* a longer "word" may be a token: dropped */

/* --- PKCE and state ------------------------------------------------------------------ */

void xb_pkce_challenge(const char *verifier, char *out, size_t size)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (size)
        out[0] = '\0';
    if (EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL) == 1)
        xb_base64url_encode(md, mdlen, out, size);
}

static enum xb_err random_string(char *out, size_t size)
{
    unsigned char raw[XB_PKCE_RANDOM_BYTES];
    enum xb_err err = xb_plat_random(raw, sizeof(raw));
    if (err == XB_OK)
        xb_base64url_encode(raw, sizeof(raw), out, size);
    xb_wipe(raw, sizeof(raw));
    return err;
}

enum xb_err xb_pkce_new(struct xb_pkce *out)
{
    memset(out, 0, sizeof(*out));
    enum xb_err err = random_string(out->verifier, sizeof(out->verifier));
    if (err == XB_OK)
        err = random_string(out->state, sizeof(out->state));
    if (err == XB_OK)
        err = random_string(out->nonce, sizeof(out->nonce));
    if (err == XB_OK) {
        xb_pkce_challenge(out->verifier, out->challenge, sizeof(out->challenge));
        if (!out->challenge[0])
            err = XB_ERR_CRYPTO;
    }
    if (err != XB_OK)
        xb_wipe(out, sizeof(*out));
    return err;
}

/* --- the authorization URL -------------------------------------------------------------- */

struct strbuf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void sb_add(struct strbuf *sb, const char *s)
{
    size_t n = strlen(s);
    if (sb->failed)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *p = xb_realloc_array(sb->p, cap, 1);
        if (!p) {
            sb->failed = true;
            return;
        }
        sb->p = p;
        sb->cap = cap;
    }
    memcpy(sb->p + sb->len, s, n + 1);
    sb->len += n;
}

/* Appends "<sep>name=<value, percent-encoded>"; sep is '?' or '&' as the URL needs. */
static void sb_param(struct strbuf *sb, const char *name, const char *value)
{
    if (sb->failed)
        return;
    char *enc = xb_url_encode(value);
    if (!enc) {
        sb->failed = true;
        return;
    }
    const char *q = memchr(sb->p, '?', sb->len);
    char last = sb->len ? sb->p[sb->len - 1] : '\0';
    sb_add(sb, !q ? "?" : (last == '?' || last == '&') ? "" : "&");
    sb_add(sb, name);
    sb_add(sb, "=");
    sb_add(sb, enc);
    xb_free(enc);
}

/* Whether the space-separated list has word. */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p += len;
    }
    return false;
}

/* The configured scope, plus what the identity check needs (allocated; "" for none). */
static char *request_scope(const struct xb_provider *p)
{
    const char *base = p->scope ? p->scope : "";
    const char *extra[3] = { NULL, NULL, NULL };
    if (p->identity == XB_IDENTITY_ID_TOKEN) {
        extra[0] = "openid";
        extra[1] = "email";
        if (has_word(p->identity_claims, "preferred_username"))
            extra[2] = "profile";
    }
    size_t len = strlen(base) + 1;
    for (int i = 0; i < 3; i++)
        len += extra[i] ? strlen(extra[i]) + 1 : 0;
    char *out = xb_new_array(char, len);
    if (!out)
        return NULL;
    snprintf(out, len, "%s", base);
    for (int i = 0; i < 3; i++) {
        if (extra[i] && !has_word(base, extra[i])) {
            size_t at = strlen(out);
            snprintf(out + at, len - at, "%s%s", at ? " " : "", extra[i]);
        }
    }
    return out;
}

char *xb_oauth_auth_url(const struct xb_provider *p, const struct xb_pkce *pkce,
                        const char *redirect_uri, const char *login_hint)
{
    if (!p || !p->auth_url || !p->client_id || !pkce || !redirect_uri)
        return NULL;
    struct strbuf sb = { 0 };
    sb_add(&sb, p->auth_url);
    sb_param(&sb, "response_type", "code");
    sb_param(&sb, "client_id", p->client_id);
    sb_param(&sb, "redirect_uri", redirect_uri);
    char *scope = request_scope(p);
    if (!scope)
        sb.failed = true;
    else if (*scope)
        sb_param(&sb, "scope", scope);
    xb_free(scope);
    if (p->identity == XB_IDENTITY_ID_TOKEN)
        sb_param(&sb, "nonce", pkce->nonce);
    sb_param(&sb, "code_challenge", pkce->challenge);
    sb_param(&sb, "code_challenge_method", "S256");
    sb_param(&sb, "state", pkce->state);
    if (login_hint && *login_hint)
        sb_param(&sb, "login_hint", login_hint);
    switch (p->kind) {
    case XB_PROVIDER_GOOGLE:
        /* offline: a refresh token; consent: a new one even if the user agreed before. */
        sb_param(&sb, "access_type", "offline");
        sb_param(&sb, "prompt", "consent");
        if (p->hosted_domain && *p->hosted_domain)
            sb_param(&sb, "hd", p->hosted_domain);
        break;
    case XB_PROVIDER_MICROSOFT:
        /* Refresh tokens come from the offline_access scope; let the user pick the
         * account rather than reuse whichever is signed in. */
        sb_param(&sb, "prompt", "select_account");
        break;
    case XB_PROVIDER_CUSTOM:
        break;
    }
    if (sb.failed) {
        xb_free(sb.p);
        return NULL;
    }
    return sb.p;
}

/* --- answers -------------------------------------------------------------------------- */

void xb_token_result_clear(struct xb_token_result *r)
{
    if (!r)
        return;
    xb_secret_free(r->access_token);
    xb_secret_free(r->refresh_token);
    xb_secret_free(r->id_token);
    r->access_token = r->refresh_token = r->id_token = NULL;
}

/* Server text for a message: printable ASCII only, whitespace collapsed, words longer
 * than XB_SERVER_WORD_MAX (which could be a token echoed back) replaced by "[...]",
 * cut after max characters. */
static void server_text(const char *in, size_t max, char *out, size_t size)
{
    size_t o = 0;
    bool space = false, cut = false;
    if (size < 8) {
        if (size)
            out[0] = '\0';
        return;
    }
    if (max > size - 4)
        max = size - 4;    /* room for "..." and the terminator */
    while (in && *in && !cut) {
        unsigned char c = (unsigned char)*in;
        if (c <= 0x20 || c >= 0x7f) {
            space = o > 0;
            in++;
            continue;
        }
        size_t n = 0;
        while (in[n] && (unsigned char)in[n] > 0x20 && (unsigned char)in[n] < 0x7f)
            n++;
        const char *word = in;
        size_t wl = n;
        if (n > XB_SERVER_WORD_MAX) {
            word = "[...]";
            wl = 5;
        }
        in += n;
        if (o + (space ? 1 : 0) + wl > max) {
            cut = true;
            /* Keep what fits of a short word; a long one was replaced anyway. */
            if (space && o < max)
                out[o++] = ' ';
            size_t fit = max > o ? max - o : 0;
            if (fit > wl)
                fit = wl;
            memcpy(out + o, word, fit);
            o += fit;
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (space)
            out[o++] = ' ';
        memcpy(out + o, word, wl);
        o += wl;
        space = false;
    }
    out[o] = '\0';
}

static void set_why(struct xb_token_result *r, const char *fmt, ...) XB_PRINTF(2, 3);

static void set_why(struct xb_token_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
}

/* A token goes into SASL strings and forms: visible ASCII only (RFC 6750 b64token is
 * stricter still). */
static bool token_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* expires_in: a positive number of seconds up to a year; a decimal string is accepted
 * too (older Microsoft endpoints sent one). */
static bool parse_expires(const cJSON *v, int64_t *out)
{
    if (!v) {
        *out = XB_EXPIRES_DEFAULT;
        return true;
    }
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= 1 && d <= (double)XB_EXPIRES_MAX))
            return false;
        *out = (int64_t)d;
        return true;
    }
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        size_t n = strlen(s);
        if (n == 0 || n > 12 || strspn(s, "0123456789") != n)
            return false;
        errno = 0;
        long long x = strtoll(s, NULL, 10);
        if (errno || x < 1 || x > XB_EXPIRES_MAX)
            return false;
        *out = x;
        return true;
    }
    return false;
}

static void parse_success(const cJSON *json, const char *ep, struct xb_token_result *out)
{
    const char *at = json_str(json, "access_token");
    if (!at || !*at) {
        set_why(out, "the %s's answer has no access token", ep);
        return;
    }
    if (!token_ok(at)) {
        set_why(out, "the %s's answer is malformed (access_token)", ep);
        return;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(json, "token_type");
    if (type && !(cJSON_IsString(type) && xb_ascii_streq_ci(type->valuestring, "bearer"))) {
        char text[48];
        server_text(cJSON_IsString(type) ? type->valuestring : "(not a string)", 24, text,
                    sizeof(text));
        set_why(out, "the %s issued a token of type '%s', not a Bearer token", ep, text);
        return;
    }
    int64_t expires = 0;
    if (!parse_expires(cJSON_GetObjectItemCaseSensitive(json, "expires_in"), &expires)) {
        set_why(out, "the %s's answer is malformed (expires_in)", ep);
        return;
    }
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(json, "refresh_token");
    if (rt && !cJSON_IsNull(rt) && !(cJSON_IsString(rt) && token_ok(rt->valuestring))) {
        set_why(out, "the %s's answer is malformed (refresh_token)", ep);
        return;
    }
    const char *idt = json_str(json, "id_token");
    out->access_token = xb_secret_new(at, strlen(at));
    if (cJSON_IsString(rt))
        out->refresh_token = xb_secret_new(rt->valuestring, strlen(rt->valuestring));
    if (idt)
        out->id_token = xb_secret_new(idt, strlen(idt));
    if (!out->access_token || (cJSON_IsString(rt) && !out->refresh_token) ||
        (idt && !out->id_token)) {
        xb_token_result_clear(out);
        out->err = XB_ERR_NOMEM;
        set_why(out, "out of memory");
        return;
    }
    out->expires_in = expires;
    out->err = XB_OK;
}

/* An HTTP error status: whatever the body says in OAuth's words (RFC 6749 5.2). */
static void parse_error(const cJSON *json, long status, const char *ep,
                        struct xb_token_result *out)
{
    char code[XB_SERVER_CODE_MAX + 8] = "", desc[XB_SERVER_TEXT_MAX + 8] = "";
    char desc_part[sizeof(desc) + 4] = "";
    server_text(json_str(json, "error"), XB_SERVER_CODE_MAX, code, sizeof(code));
    server_text(json_str(json, "error_description"), XB_SERVER_TEXT_MAX, desc, sizeof(desc));
    if (desc[0])
        snprintf(desc_part, sizeof(desc_part), " (%s)", desc);

    if (status == 429 || status == 408) {
        set_why(out, "the %s is busy (HTTP %ld); trying again later", ep, status);
    } else if (status >= 500 && status <= 599) {
        set_why(out, "the %s had a server error (HTTP %ld%s%s)", ep, status,
                code[0] ? ": " : "", code);
    } else if (status >= 400 && status <= 499) {
        if (!code[0]) {
            /* Not an OAuth answer (a proxy's or portal's page, a wrong URL): nothing
             * says the sign-in is dead, so never AUTH, which would drop it. */
            set_why(out, "the %s answered HTTP %ld without an OAuth error", ep, status);
        } else if (strcmp(code, "invalid_grant") == 0) {
            out->err = XB_ERR_AUTH;
            set_why(out, "the sign-in has expired or was revoked%s", desc_part);
        } else if (strcmp(code, "invalid_client") == 0 ||
                   strcmp(code, "unauthorized_client") == 0) {
            out->err = XB_ERR_AUTH;
            set_why(out, "the OAuth client ID or secret is not accepted: ask your "
                         "administrator%s", desc_part);
        } else if (strcmp(code, "temporarily_unavailable") == 0 ||
                   strcmp(code, "server_error") == 0) {
            set_why(out, "the %s is temporarily unavailable (%s)", ep, code);
        } else {
            out->err = XB_ERR_AUTH;
            set_why(out, "the %s refused the request: %s%s", ep, code, desc_part);
        }
    } else {
        set_why(out, "the %s answered with unexpected HTTP status %ld", ep, status);
    }
}

void xb_oauth_parse_answer(bool revoke, enum xb_err http_err, long status, const char *body,
                           size_t len, const char *http_why, struct xb_token_result *out)
{
    const char *ep = revoke ? "revocation endpoint" : "token endpoint";
    memset(out, 0, sizeof(*out));
    out->err = XB_ERR_TEMP;
    if (http_err == XB_ERR_RANGE) {
        set_why(out, "the %s's answer is too long", ep);
        return;
    }
    if (http_err != XB_OK) {
        char text[210];   /* a failure at a web proxy names it and the server */
        server_text(http_why, 200, text, sizeof(text));
        if (http_err == XB_ERR_TLS) {
            /* Somebody must act (IT: TLS inspection, a missing root): not a sign-in. */
            out->err = XB_ERR_TLS;
            set_why(out, "the %s's certificate is not trusted: %s", ep, text[0] ? text : "?");
        } else if (http_err == XB_ERR_TEMP || http_err == XB_ERR_NET) {
            set_why(out, "cannot reach the %s: %s", ep, text[0] ? text : "no answer");
        } else {
            /* Found before sending (no revocation endpoint, bad arguments). */
            out->err = http_err;
            set_why(out, "%s", text[0] ? text : xb_err_str(http_err));
        }
        return;
    }
    cJSON *json = body && len ? cJSON_ParseWithLength(body, len) : NULL;
    if (json && !cJSON_IsObject(json)) {
        xb_json_free(json);
        json = NULL;
    }
    if (status == 200 && revoke) {
        out->err = XB_OK;  /* RFC 7009 2.2: the body carries nothing */
    } else if (status == 200) {
        if (!json)
            set_why(out, len ? "the %s's answer is not valid JSON" : "the %s's answer is empty",
                    ep);
        else
            parse_success(json, ep, out);
    } else {
        parse_error(json, status, ep, out);
    }
    xb_json_free(json);
}

/* --- requests ------------------------------------------------------------------------- */

struct oauth_call {
    xb_oauth_cb *cb;
    void *arg;
    bool revoke;
};

static void call_release(void *arg)
{
    xb_free(arg);
}

static void call_done(void *arg, enum xb_err err, long status, const char *body, size_t len,
                      const char *why)
{
    struct oauth_call *call = arg;
    struct xb_token_result r;
    xb_oauth_parse_answer(call->revoke, err, status, body, len, why, &r);
    if (r.err != XB_OK)
        xb_log_debug("oauth: %s: %s", call->revoke ? "revocation" : "token request", r.why);
    call->cb(call->arg, &r);
    xb_token_result_clear(&r);
    xb_free(call);
}

/* Sends form to url, or, when why is set, fails with err on the next loop turn. */
static struct xb_http_req *call_start(struct xb_http *http, const char *url,
                                      struct xb_secret *form, enum xb_err err, const char *why,
                                      bool revoke, xb_oauth_cb *cb, void *arg)
{
    struct oauth_call *call = xb_new(struct oauth_call);
    struct xb_http_req *req = NULL;
    if (!call) {
        xb_secret_free(form);
        return NULL;
    }
    call->cb = cb;
    call->arg = arg;
    call->revoke = revoke;
    if (why) {
        xb_secret_free(form);
        req = xb_http_fail_later(http, err, why, call_done, call);
    } else {
        req = xb_http_post_form(http, url, form, call_done, call);
    }
    if (!req) {
        xb_free(call);
        return NULL;
    }
    xb_http_set_release(req, call_release);
    return req;
}

/* The client's credentials in the body (client_secret_post, RFC 6749 2.3.1): Google
 * and Microsoft take them there; the secret only when one is configured. */
static enum xb_err add_client(struct xb_secret **form, const struct xb_provider *p)
{
    enum xb_err err = xb_form_add(form, "client_id", p->client_id);
    if (err == XB_OK && p->client_secret && *p->client_secret)
        err = xb_form_add(form, "client_secret", p->client_secret);
    return err;
}

/* Checks what every request needs; returns a reason when something is missing. */
static const char *check_provider(const struct xb_provider *p, const char *url,
                                  const char *what)
{
    if (!p)
        return "no provider";
    if (!p->client_id || !*p->client_id)
        return "no OAuth client ID is configured";
    if (!url || !*url)
        return what;
    return NULL;
}

static struct xb_http_req *form_start(struct xb_http *http, const char *url,
                                      struct xb_secret *form, enum xb_err err, bool revoke,
                                      xb_oauth_cb *cb, void *arg)
{
    if (err == XB_ERR_INVAL)
        return call_start(http, url, form, XB_ERR_INVAL, "a required value is missing",
                          revoke, cb, arg);
    if (err != XB_OK) {
        xb_secret_free(form);
        return NULL;
    }
    return call_start(http, url, form, XB_OK, NULL, revoke, cb, arg);
}

struct xb_http_req *xb_oauth_exchange_code(struct xb_http *http, const struct xb_provider *p,
                                           const char *code, const char *redirect_uri,
                                           const char *verifier, xb_oauth_cb *cb, void *arg)
{
    const char *url = p ? p->token_url : NULL;
    const char *bad = check_provider(p, url, "no token endpoint is configured");
    if (bad)
        return call_start(http, NULL, NULL, XB_ERR_INVAL, bad, false, cb, arg);
    struct xb_secret *form = NULL;
    enum xb_err err = xb_form_add(&form, "grant_type", "authorization_code");
    if (err == XB_OK)
        err = xb_form_add(&form, "code", code);
    /* The very redirect_uri of the authorization request (RFC 6749 4.1.3). */
    if (err == XB_OK)
        err = xb_form_add(&form, "redirect_uri", redirect_uri);
    if (err == XB_OK)
        err = xb_form_add(&form, "code_verifier", verifier);
    if (err == XB_OK)
        err = add_client(&form, p);
    return form_start(http, url, form, err, false, cb, arg);
}

struct xb_http_req *xb_oauth_refresh(struct xb_http *http, const struct xb_provider *p,
                                     const char *refresh_token, xb_oauth_cb *cb, void *arg)
{
    const char *url = p ? p->token_url : NULL;
    const char *bad = check_provider(p, url, "no token endpoint is configured");
    if (bad)
        return call_start(http, NULL, NULL, XB_ERR_INVAL, bad, false, cb, arg);
    struct xb_secret *form = NULL;
    enum xb_err err = xb_form_add(&form, "grant_type", "refresh_token");
    if (err == XB_OK)
        err = xb_form_add(&form, "refresh_token", refresh_token);
    if (err == XB_OK)
        err = add_client(&form, p);
    return form_start(http, url, form, err, false, cb, arg);
}

struct xb_http_req *xb_oauth_revoke(struct xb_http *http, const struct xb_provider *p,
                                    const char *refresh_token, xb_oauth_cb *cb, void *arg)
{
    const char *url = p ? p->revoke_url : NULL;
    if (p && (!url || !*url)) {
        char why[200];
        snprintf(why, sizeof(why), "the provider '%s' has no revocation endpoint",
                 p->name ? p->name : "");
        return call_start(http, NULL, NULL, XB_ERR_UNSUPPORTED, why, true, cb, arg);
    }
    const char *bad = check_provider(p, url, "no revocation endpoint is configured");
    if (bad)
        return call_start(http, NULL, NULL, XB_ERR_INVAL, bad, true, cb, arg);
    struct xb_secret *form = NULL;
    enum xb_err err = xb_form_add(&form, "token", refresh_token);
    if (err == XB_OK)
        err = xb_form_add(&form, "token_type_hint", "refresh_token");
    /* RFC 7009 2.1: confidential clients authenticate here too (oidc-provider insists). */
    if (err == XB_OK)
        err = add_client(&form, p);
    return form_start(http, url, form, err, true, cb, arg);
}
