/*
 * libFuzzer target: the SASL codecs. Decoding must be strict (whatever decodes encodes
 * back to exactly the input), encoding must round-trip, PLAIN must agree with a simple
 * reference reading of RFC 4616, and the XOAUTH2/OAUTHBEARER encoders must produce
 * exactly the documented layout or refuse. Any failure aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sasl.h"

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_sasl: %s\n", why);
    abort();
}

static void strict_decode(const char *data, size_t size)
{
    struct xb_secret *raw = NULL, *again = NULL;
    if (xb_base64_decode((struct xb_view){ data, size }, &raw) != XB_OK)
        return;
    if (!raw || xb_base64_encode(raw->data, raw->len, &again) != XB_OK || !again)
        fail("decoded bytes do not encode");
    if (again->len != size || memcmp(again->data, data, size) != 0)
        fail("accepted a non-canonical encoding");
    xb_secret_free(raw);
    xb_secret_free(again);
}

static void round_trip(const char *data, size_t size)
{
    struct xb_secret *b64 = NULL, *back = NULL;
    if (xb_base64_encode(data, size, &b64) != XB_OK || !b64)
        fail("encode failed");
    if (b64->len != (size + 2) / 3 * 4 || strlen(b64->data) != b64->len)
        fail("encoded length");
    if (xb_base64_decode((struct xb_view){ b64->data, b64->len }, &back) != XB_OK || !back)
        fail("own encoding does not decode");
    if (back->len != size || memcmp(back->data, data, size) != 0)
        fail("round trip changed the bytes");
    xb_secret_free(back);

    /* PLAIN on these raw bytes, against a reference reading. */
    struct xb_secret *u = NULL, *p = NULL;
    enum xb_err err = xb_sasl_plain_decode((struct xb_view){ b64->data, b64->len }, &u, &p);
    const char *n1 = memchr(data, '\0', size);
    const char *n2 = n1 ? memchr(n1 + 1, '\0', size - (size_t)(n1 + 1 - data)) : NULL;
    bool shape = n2 && !memchr(n2 + 1, '\0', size - (size_t)(n2 + 1 - data));
    enum xb_err want = XB_ERR_INVAL;
    struct xb_view zid = { 0 }, cid = { 0 }, pw = { 0 };
    if (shape) {
        zid = (struct xb_view){ data, (size_t)(n1 - data) };
        cid = (struct xb_view){ n1 + 1, (size_t)(n2 - n1 - 1) };
        pw = (struct xb_view){ n2 + 1, size - (size_t)(n2 + 1 - data) };
        if (cid.len == 0)
            cid = zid;
        bool same = zid.len == 0 || (zid.len == cid.len && !memcmp(zid.p, cid.p, cid.len));
        if (same && cid.len && pw.len)
            want = cid.len > 320 || pw.len > 1024 ? XB_ERR_RANGE : XB_OK;
    }
    if (b64->len > (2 * 320 + 1024 + 2 + 2) / 3 * 4)
        want = XB_ERR_RANGE;
    if (err != want)
        fail("PLAIN disagrees with the reference");
    if (err == XB_OK && (!u || !p || u->len != cid.len || memcmp(u->data, cid.p, cid.len) ||
                         p->len != pw.len || memcmp(p->data, pw.p, pw.len)))
        fail("PLAIN returned the wrong fields");
    if (err != XB_OK && (u || p))
        fail("PLAIN left secrets behind on error");
    xb_secret_free(u);
    xb_secret_free(p);
    xb_secret_free(b64);
}

static bool field_ok(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

/* user NUL token NUL host: C strings cut from the input. */
static void encoders(const char *data, size_t size)
{
    char buf[4096];
    if (size < 2 || size >= sizeof(buf))
        return;
    unsigned port = ((unsigned char)data[0] << 8 | (unsigned char)data[1]) % 70000;
    memcpy(buf, data + 2, size - 2);
    buf[size - 2] = '\0';
    const char *user = buf, *token = user + strlen(user);
    if (token < buf + size - 2)
        token++;
    const char *host = token + strlen(token);
    if (host < buf + size - 2)
        host++;

    struct xb_secret *out = NULL, *raw = NULL;
    char want[8192];
    enum xb_err err = xb_sasl_xoauth2_encode(user, token, &out);
    bool valid = *user && *token && field_ok(user) && field_ok(token) && strlen(user) <= 320;
    if ((err == XB_OK) != valid)
        fail("XOAUTH2 accepted or refused the wrong fields");
    if (err == XB_OK) {
        int n = snprintf(want, sizeof(want), "user=%s\001auth=Bearer %s\001\001", user, token);
        if (xb_base64_decode((struct xb_view){ out->data, out->len }, &raw) != XB_OK ||
            raw->len != (size_t)n || memcmp(raw->data, want, (size_t)n))
            fail("XOAUTH2 layout");
    }
    xb_secret_free(out);
    xb_secret_free(raw);
    out = raw = NULL;

    err = xb_sasl_oauthbearer_encode(user, host, port, token, &out);
    valid = *host && *token && port >= 1 && port <= 65535 && field_ok(user) &&
            field_ok(host) && field_ok(token) && strlen(user) <= 320 && strlen(host) <= 255;
    if ((err == XB_OK) != valid)
        fail("OAUTHBEARER accepted or refused the wrong fields");
    if (err == XB_OK) {
        char esc[1024];
        size_t e = 0;
        for (const char *s = user; *s; s++) {
            const char *rep = *s == ',' ? "=2C" : *s == '=' ? "=3D" : NULL;
            if (rep) {
                memcpy(esc + e, rep, 3);
                e += 3;
            } else {
                esc[e++] = *s;
            }
        }
        esc[e] = '\0';
        int n = *user ? snprintf(want, sizeof(want), "n,a=%s,\001host=%s\001port=%u\001auth=Bearer %s\001\001",
                                 esc, host, port, token)
                      : snprintf(want, sizeof(want), "n,,\001host=%s\001port=%u\001auth=Bearer %s\001\001",
                                 host, port, token);
        if (xb_base64_decode((struct xb_view){ out->data, out->len }, &raw) != XB_OK ||
            raw->len != (size_t)n || memcmp(raw->data, want, (size_t)n))
            fail("OAUTHBEARER layout");
    }
    xb_secret_free(out);
    xb_secret_free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    strict_decode(s, size);
    round_trip(s, size);
    encoders(s, size);
    return 0;
}
