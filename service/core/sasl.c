/*
 * SASL payloads. OpenSSL does the base64 arithmetic; this file does the strictness
 * EVP_DecodeBlock lacks (it skips surrounding whitespace, counts padding as zero bytes
 * and does not insist on canonical encodings). Every buffer that held a secret is wiped
 * before it is freed.
 */
#include "core/sasl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Far above any SASL payload (a token is ~2 KiB), far below EVP's int lengths. */
#define XB_BASE64_RAW_MAX ((size_t)16 << 20)
#define XB_SASL_USER_MAX 320
#define XB_SASL_PASSWORD_MAX 1024

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Frees a temporary that may hold secret bytes. */
static void sasl_wipe_free(void *p, size_t len)
{
    if (!p)
        return;
    xb_wipe(p, len);
    xb_free(p);
}

enum xb_err xb_base64_encode(const void *data, size_t len, struct xb_secret **out)
{
    *out = NULL;
    if (len > XB_BASE64_RAW_MAX)
        return XB_ERR_RANGE;
    if (len == 0) {
        *out = xb_secret_new("", 0);
        return *out ? XB_OK : XB_ERR_NOMEM;
    }
    size_t cap = (len + 2) / 3 * 4 + 1; /* EVP_EncodeBlock terminates */
    unsigned char *buf = xb_new_array(unsigned char, cap);
    if (!buf)
        return XB_ERR_NOMEM;
    int n = EVP_EncodeBlock(buf, data, (int)len);
    enum xb_err err = XB_ERR_CRYPTO;
    if (n >= 0 && (size_t)n == cap - 1) {
        *out = xb_secret_new(buf, (size_t)n);
        err = *out ? XB_OK : XB_ERR_NOMEM;
    }
    sasl_wipe_free(buf, cap);
    return err;
}

enum xb_err xb_base64url_encode(const void *data, size_t len, char *out, size_t size)
{
    /* Without padding: 4 characters per 3 bytes, 2 or 3 for the rest. */
    size_t need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
    if (size)
        out[0] = '\0';
    if (need + 1 > size)
        return XB_ERR_RANGE;
    struct xb_secret *b64 = NULL;
    enum xb_err err = xb_base64_encode(data, len, &b64);
    if (err != XB_OK)
        return err;
    for (size_t i = 0; i < need; i++) {
        char c = b64->data[i];
        out[i] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[need] = '\0';
    xb_secret_free(b64);
    return XB_OK;
}

/* Strict RFC 4648 checks: alphabet, length, padding only at the end, and unused bits of
 * the last group zero (so each value has exactly one encoding). Returns the padding
 * count, or -1. */
static int b64_check(struct xb_view b64)
{
    size_t len = b64.len;
    const unsigned char *s = (const unsigned char *)b64.p;
    if (len % 4 != 0)
        return -1;
    int pad = 0;
    if (s[len - 1] == '=')
        pad = s[len - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < len - (size_t)pad; i++) {
        if (b64_value(s[i]) < 0)
            return -1; /* includes an '=' anywhere but the last two places */
    }
    int last = b64_value(s[len - (size_t)pad - 1]);
    if ((pad == 1 && (last & 0x03)) || (pad == 2 && (last & 0x0f)))
        return -1;
    return pad;
}

enum xb_err xb_base64_decode(struct xb_view b64, struct xb_secret **out)
{
    *out = NULL;
    if (b64.len == 0) {
        *out = xb_secret_new("", 0);
        return *out ? XB_OK : XB_ERR_NOMEM;
    }
    if (b64.len > XB_BASE64_RAW_MAX / 3 * 4)
        return XB_ERR_RANGE;
    int pad = b64_check(b64);
    if (pad < 0)
        return XB_ERR_INVAL;
    size_t cap = b64.len / 4 * 3;
    unsigned char *buf = xb_new_array(unsigned char, cap);
    if (!buf)
        return XB_ERR_NOMEM;
    enum xb_err err = XB_ERR_INVAL;
    /* DecodeBlock counts each "=" as a zero byte: the true length is cap - pad. */
    int n = EVP_DecodeBlock(buf, (const unsigned char *)b64.p, (int)b64.len);
    if (n >= 0 && (size_t)n == cap) {
        *out = xb_secret_new(buf, cap - (size_t)pad);
        err = *out ? XB_OK : XB_ERR_NOMEM;
    }
    sasl_wipe_free(buf, cap);
    return err;
}

enum xb_err xb_base64url_decode(struct xb_view b64u, struct xb_secret **out)
{
    *out = NULL;
    if (b64u.len % 4 == 1 || b64u.len > XB_BASE64_RAW_MAX / 3 * 4)
        return XB_ERR_INVAL;
    size_t len = (b64u.len + 3) / 4 * 4;
    char *std = xb_new_array(char, len + 1);
    if (!std)
        return XB_ERR_NOMEM;
    enum xb_err err = XB_ERR_INVAL;
    for (size_t i = 0; i < b64u.len; i++) {
        char c = b64u.p[i];
        if (c == '+' || c == '/' || c == '=')
            goto out; /* not of this alphabet */
        std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    for (size_t i = b64u.len; i < len; i++)
        std[i] = '=';
    err = xb_base64_decode((struct xb_view){ std, len }, out);
out:
    sasl_wipe_free(std, len + 1);
    return err;
}

enum xb_err xb_sasl_plain_decode(struct xb_view b64, struct xb_secret **user,
                                 struct xb_secret **password)
{
    *user = NULL;
    *password = NULL;
    /* Refuse before decoding what could never fit: authzid, authcid, password, 2 NULs. */
    size_t raw_max = 2 * XB_SASL_USER_MAX + XB_SASL_PASSWORD_MAX + 2;
    if (b64.len > (raw_max + 2) / 3 * 4)
        return XB_ERR_RANGE;

    struct xb_secret *raw = NULL;
    enum xb_err err = xb_base64_decode(b64, &raw);
    if (err != XB_OK)
        return err;

    err = XB_ERR_INVAL;
    const char *p = raw->data, *end = raw->data + raw->len;
    const char *nul1 = memchr(p, '\0', raw->len);
    const char *nul2 = nul1 ? memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1)) : NULL;
    if (!nul2 || memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)))
        goto out; /* exactly two NULs: no NUL inside any field */

    struct xb_view authzid = { p, (size_t)(nul1 - p) };
    struct xb_view authcid = { nul1 + 1, (size_t)(nul2 - nul1 - 1) };
    struct xb_view passwd = { nul2 + 1, (size_t)(end - nul2 - 1) };
    if (authcid.len == 0)
        authcid = authzid; /* some clients put the login in authzid only */
    else if (authzid.len && (authzid.len != authcid.len ||
                             memcmp(authzid.p, authcid.p, authcid.len) != 0))
        goto out; /* acting as someone else is not something the proxy offers */
    if (authcid.len == 0 || passwd.len == 0)
        goto out;
    if (authcid.len > XB_SASL_USER_MAX || passwd.len > XB_SASL_PASSWORD_MAX) {
        err = XB_ERR_RANGE;
        goto out;
    }
    err = XB_ERR_NOMEM;
    *user = xb_secret_new(authcid.p, authcid.len);
    *password = xb_secret_new(passwd.p, passwd.len);
    if (!*user || !*password) {
        xb_secret_free(*user);
        xb_secret_free(*password);
        *user = *password = NULL;
        goto out;
    }
    err = XB_OK;
out:
    xb_secret_free(raw);
    return err;
}

/* A growable-once buffer for building a payload: exact size computed up front. */
struct sasl_buf {
    char *p;
    size_t len, cap;
};

static void sasl_put(struct sasl_buf *b, const char *s, size_t n)
{
    /* Sizes were computed from the same pieces; a mismatch is a bug, not input. */
    if (b->cap - b->len < n)
        abort();
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sasl_puts(struct sasl_buf *b, const char *s)
{
    sasl_put(b, s, strlen(s));
}

/* Fields are framed by \x01 (and, for OAUTHBEARER's gs2 header, by ','): a field may not
 * hold control characters that would forge another field. */
static bool sasl_field_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f || n >= max)
            return false;
    }
    return true;
}

/* Encodes b's bytes as a new secret and wipes b. */
static enum xb_err sasl_finish(struct sasl_buf *b, struct xb_secret **out)
{
    enum xb_err err = xb_base64_encode(b->p, b->len, out);
    sasl_wipe_free(b->p, b->cap);
    b->p = NULL;
    return err;
}

enum xb_err xb_sasl_xoauth2_encode(const char *user, const char *token, struct xb_secret **out)
{
    *out = NULL;
    if (!user || !token || !*user || !*token)
        return XB_ERR_INVAL;
    if (!sasl_field_ok(user, XB_SASL_USER_MAX) || !sasl_field_ok(token, XB_BASE64_RAW_MAX / 2))
        return XB_ERR_INVAL;
    static const char pre[] = "user=", mid[] = "\001auth=Bearer ", post[] = "\001\001";
    struct sasl_buf b = { NULL, 0, 0 };
    b.cap = sizeof(pre) - 1 + strlen(user) + sizeof(mid) - 1 + strlen(token) + sizeof(post) - 1;
    b.p = xb_new_array(char, b.cap);
    if (!b.p)
        return XB_ERR_NOMEM;
    sasl_puts(&b, pre);
    sasl_puts(&b, user);
    sasl_puts(&b, mid);
    sasl_puts(&b, token);
    sasl_puts(&b, post);
    return sasl_finish(&b, out);
}

enum xb_err xb_sasl_oauthbearer_encode(const char *user, const char *host, unsigned port,
                                       const char *token, struct xb_secret **out)
{
    *out = NULL;
    if (!user || !host || !token || !*host || !*token || port == 0 || port > 65535)
        return XB_ERR_INVAL;
    if (!sasl_field_ok(user, XB_SASL_USER_MAX) || !sasl_field_ok(host, 255) ||
        !sasl_field_ok(token, XB_BASE64_RAW_MAX / 2))
        return XB_ERR_INVAL;

    size_t user_len = 0; /* after escaping */
    for (const char *s = user; *s; s++)
        user_len += (*s == ',' || *s == '=') ? 3 : 1;
    char portbuf[8];
    int pn = snprintf(portbuf, sizeof(portbuf), "%u", port);
    if (pn <= 0 || (size_t)pn >= sizeof(portbuf))
        return XB_ERR_INVAL;

    /* gs2 header "n,a=user," or, without a user, "n,," (RFC 5801: no empty saslname). */
    static const char host_pre[] = "\001host=", port_pre[] = "\001port=",
                      auth_pre[] = "\001auth=Bearer ", post[] = "\001\001";
    struct sasl_buf b = { NULL, 0, 0 };
    b.cap = (*user ? 4 + user_len + 1 : 3) + sizeof(host_pre) - 1 + strlen(host) +
            sizeof(port_pre) - 1 + (size_t)pn + sizeof(auth_pre) - 1 + strlen(token) +
            sizeof(post) - 1;
    b.p = xb_new_array(char, b.cap);
    if (!b.p)
        return XB_ERR_NOMEM;
    if (*user) {
        sasl_puts(&b, "n,a=");
        for (const char *s = user; *s; s++) {
            if (*s == ',')
                sasl_puts(&b, "=2C");
            else if (*s == '=')
                sasl_puts(&b, "=3D");
            else
                sasl_put(&b, s, 1);
        }
        sasl_puts(&b, ",");
    } else {
        sasl_puts(&b, "n,,");
    }
    sasl_puts(&b, host_pre);
    sasl_puts(&b, host);
    sasl_puts(&b, port_pre);
    sasl_put(&b, portbuf, (size_t)pn);
    sasl_puts(&b, auth_pre);
    sasl_puts(&b, token);
    sasl_puts(&b, post);
    return sasl_finish(&b, out);
}
