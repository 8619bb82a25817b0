/* SASL codecs: strict base64, PLAIN decoding, XOAUTH2 and OAUTHBEARER encoding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sasl.h"

#include "xbtest.h"

static struct xb_view V(const char *s)
{
    return (struct xb_view){ s, strlen(s) };
}

/* Decodes b64 and returns the error; *out gets the bytes (caller frees) on success. */
static enum xb_err dec(const char *b64, struct xb_secret **out)
{
    return xb_base64_decode(V(b64), out);
}

static void base64_rfc4648_vectors(void)
{
    static const char *const vec[][2] = {
        { "", "" },         { "f", "Zg==" },        { "fo", "Zm8=" },
        { "foo", "Zm9v" },  { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        struct xb_secret *s = NULL;
        CHECK(xb_base64_encode(vec[i][0], strlen(vec[i][0]), &s) == XB_OK);
        CHECK_STR(s ? s->data : NULL, vec[i][1]);
        CHECK(s && s->len == strlen(vec[i][1]));
        xb_secret_free(s);
        s = NULL;
        CHECK(dec(vec[i][1], &s) == XB_OK);
        CHECK_STR(s ? s->data : NULL, vec[i][0]);
        CHECK(s && s->len == strlen(vec[i][0]));
        xb_secret_free(s);
    }
}

static void base64_binary_round_trips(void)
{
    unsigned char raw[300];
    uint32_t x = 12345;
    for (size_t len = 0; len <= sizeof(raw); len += (len < 20 ? 1 : 37)) {
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            raw[i] = (unsigned char)(x >> 16);
        }
        struct xb_secret *enc = NULL, *back = NULL;
        CHECK(xb_base64_encode(raw, len, &enc) == XB_OK);
        CHECK(enc && enc->len == (len + 2) / 3 * 4);
        CHECK(enc && xb_base64_decode((struct xb_view){ enc->data, enc->len }, &back) == XB_OK);
        CHECK(back && back->len == len && memcmp(back->data, raw, len) == 0);
        xb_secret_free(enc);
        xb_secret_free(back);
    }
    /* NULs decode as data: the secret's len counts them. */
    struct xb_secret *s = NULL;
    CHECK(dec("AAAA", &s) == XB_OK && s && s->len == 3 && memcmp(s->data, "\0\0\0", 4) == 0);
    xb_secret_free(s);
}

static void base64_rejects_bad_input(void)
{
    static const char *const bad[] = {
        "Zg=",       /* length not a multiple of 4 */
        "Zg",        /* padding missing */
        "Z",         "Zm9vY",
        "Zg==Zg==",  /* padding in the middle */
        "Z===",      /* three pad characters */
        "====",      "=Zg=",
        "Zh==",      /* non-zero bits under the padding: not the canonical encoding */
        "Zm9=",
        " Zg=",      /* EVP_DecodeBlock would skip this whitespace */
        "Zg==\n",    "Zm9v\r\n",  "Zm 9v",
        "Zm9_",      /* base64url alphabet */
        "Zm9-",      "Zm9v!AAA",  "Zm\x80v",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xb_secret *s = (struct xb_secret *)&s; /* must come back NULL */
        enum xb_err err = dec(bad[i], &s);
        if (err != XB_ERR_INVAL)
            printf("#   accepted bad base64 \"%s\"\n", bad[i]);
        CHECK(err == XB_ERR_INVAL && s == NULL);
    }
    struct xb_secret *s = NULL;
    CHECK(xb_base64_decode((struct xb_view){ "Zm9v\0AAA", 8 }, &s) == XB_ERR_INVAL && !s);
}

static void base64_size_limits(void)
{
    struct xb_secret *s = NULL;
    size_t big = (size_t)32 << 20;
    CHECK(xb_base64_encode("", big, &s) == XB_ERR_RANGE && !s); /* refused before reading */
    CHECK(xb_base64_decode((struct xb_view){ "", big }, &s) == XB_ERR_RANGE && !s);
}

static void xoauth2_google_example(void)
{
    struct xb_secret *s = NULL;
    CHECK(xb_sasl_xoauth2_encode("someuser@example.com",
                                 "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", &s) == XB_OK);
    CHECK_STR(s ? s->data : NULL,
              "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
              "YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
    xb_secret_free(s);
}

static void xoauth2_rejects_bad_fields(void)
{
    struct xb_secret *s = NULL;
    CHECK(xb_sasl_xoauth2_encode(NULL, "t", &s) == XB_ERR_INVAL && !s);
    CHECK(xb_sasl_xoauth2_encode("u", NULL, &s) == XB_ERR_INVAL && !s);
    CHECK(xb_sasl_xoauth2_encode("", "t", &s) == XB_ERR_INVAL && !s);
    CHECK(xb_sasl_xoauth2_encode("u", "", &s) == XB_ERR_INVAL && !s);
    /* A \x01 would let a field forge the next one. */
    CHECK(xb_sasl_xoauth2_encode("u\001auth=Bearer x", "t", &s) == XB_ERR_INVAL && !s);
    CHECK(xb_sasl_xoauth2_encode("u", "t\001\001", &s) == XB_ERR_INVAL && !s);
    CHECK(xb_sasl_xoauth2_encode("u", "t\r\n", &s) == XB_ERR_INVAL && !s);
    char longuser[400];
    memset(longuser, 'a', sizeof(longuser) - 1);
    longuser[sizeof(longuser) - 1] = '\0';
    CHECK(xb_sasl_xoauth2_encode(longuser, "t", &s) == XB_ERR_INVAL && !s);
}

static void oauthbearer_rfc7628_example(void)
{
    struct xb_secret *s = NULL;
    CHECK(xb_sasl_oauthbearer_encode("user@example.com", "server.example.com", 143,
                                     "vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==", &s) == XB_OK);
    CHECK_STR(s ? s->data : NULL,
              "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9"
              "QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2c9PQEB");
    xb_secret_free(s);
}

static void oauthbearer_escapes_and_empty_user(void)
{
    struct xb_secret *s = NULL, *raw = NULL;
    CHECK(xb_sasl_oauthbearer_encode("a=b,c", "imap.gmail.com", 993, "tok", &s) == XB_OK);
    CHECK(s && xb_base64_decode((struct xb_view){ s->data, s->len }, &raw) == XB_OK);
    CHECK_STR(raw ? raw->data : NULL,
              "n,a=a=3Db=2Cc,\001host=imap.gmail.com\001port=993\001auth=Bearer tok\001\001");
    xb_secret_free(s);
    xb_secret_free(raw);
    s = raw = NULL;
    CHECK(xb_sasl_oauthbearer_encode("", "h", 1, "t", &s) == XB_OK);
    CHECK_STR(s ? s->data : NULL, "biwsAWhvc3Q9aAFwb3J0PTEBYXV0aD1CZWFyZXIgdAEB");
    xb_secret_free(s);
    s = NULL;
    CHECK(xb_sasl_oauthbearer_encode("u", "h", 0, "t", &s) == XB_ERR_INVAL && !s);
    CHECK(xb_sasl_oauthbearer_encode("u", "h", 65536, "t", &s) == XB_ERR_INVAL && !s);
    CHECK(xb_sasl_oauthbearer_encode("u", "", 993, "t", &s) == XB_ERR_INVAL && !s);
    CHECK(xb_sasl_oauthbearer_encode("u", "h\001port=1", 993, "t", &s) == XB_ERR_INVAL && !s);
    CHECK(xb_sasl_oauthbearer_encode("u", "h", 993, "", &s) == XB_ERR_INVAL && !s);
}

/* Runs PLAIN on the base64 of raw[0..len) and checks the outcome. */
static void plain_case(const char *raw, size_t len, enum xb_err want, const char *user,
                       const char *password)
{
    struct xb_secret *b64 = NULL, *u = (struct xb_secret *)&b64, *p = u;
    CHECK(xb_base64_encode(raw, len, &b64) == XB_OK);
    if (!b64)
        return;
    enum xb_err err = xb_sasl_plain_decode((struct xb_view){ b64->data, b64->len }, &u, &p);
    if (err != want)
        printf("#   PLAIN %s: got %s, want %s\n", b64->data, xb_err_str(err), xb_err_str(want));
    CHECK(err == want);
    if (want == XB_OK && user) {
        CHECK_STR(u ? u->data : NULL, user);
        CHECK_STR(p ? p->data : NULL, password);
    } else if (want == XB_OK) {
        CHECK(u && p);
    } else {
        CHECK(u == NULL && p == NULL);
    }
    xb_secret_free(u);
    xb_secret_free(p);
    xb_secret_free(b64);
}

/* "\0" user "\0" password with the given lengths, around the limits. */
static void plain_sized(size_t user_len, size_t pw_len, enum xb_err want)
{
    char raw[2048];
    size_t n = 0;
    raw[n++] = '\0';
    memset(raw + n, 'u', user_len);
    n += user_len;
    raw[n++] = '\0';
    memset(raw + n, 'p', pw_len);
    n += pw_len;
    plain_case(raw, n, want, NULL, NULL);
}

#define PLAIN(lit, want, user, pw) plain_case(lit, sizeof(lit) - 1, want, user, pw)

static void plain_decoding(void)
{
    PLAIN("\0tim\0tanstaaftanstaaf", XB_OK, "tim", "tanstaaftanstaaf"); /* RFC 4616 */
    PLAIN("user@x\0user@x\0p w", XB_OK, "user@x", "p w");               /* same authzid */
    PLAIN("user@x\0\0secret", XB_OK, "user@x", "secret");                /* authzid only */
    PLAIN("Ursel\0Kurt\0xipj3plmq", XB_ERR_INVAL, NULL, NULL);          /* RFC 4616: proxying */
    PLAIN("User@x\0user@x\0pw", XB_ERR_INVAL, NULL, NULL);              /* differs in case */
    PLAIN("\0tim tanstaaf", XB_ERR_INVAL, NULL, NULL);                  /* one NUL */
    PLAIN("tim", XB_ERR_INVAL, NULL, NULL);                             /* no NUL */
    PLAIN("\0tim\0pass\0word", XB_ERR_INVAL, NULL, NULL);               /* NUL in password */
    PLAIN("\0tim\0", XB_ERR_INVAL, NULL, NULL);                         /* empty password */
    PLAIN("\0\0pw", XB_ERR_INVAL, NULL, NULL);                          /* no user at all */
    PLAIN("", XB_ERR_INVAL, NULL, NULL);                                /* empty response */

    plain_sized(320, 5, XB_OK);
    plain_sized(321, 5, XB_ERR_RANGE);
    plain_sized(5, 1024, XB_OK);
    plain_sized(5, 1025, XB_ERR_RANGE);
}

static void plain_rejects_bad_base64_and_size(void)
{
    struct xb_secret *u = NULL, *p = NULL;
    CHECK(xb_sasl_plain_decode(V("AHRpbQB0YW5zdGFhZnRhbnN0YWFm"), &u, &p) == XB_OK);
    CHECK_STR(u ? u->data : NULL, "tim");
    xb_secret_free(u);
    xb_secret_free(p);
    u = p = NULL;
    CHECK(xb_sasl_plain_decode(V("AHRpbQB0YW5zdGFhZnRhbnN0YWFm="), &u, &p) == XB_ERR_INVAL);
    CHECK(xb_sasl_plain_decode(V("AHRpbQB0YW5zdGFhZnRhbnN0YW*m"), &u, &p) == XB_ERR_INVAL);
    CHECK(xb_sasl_plain_decode(V("="), &u, &p) == XB_ERR_INVAL);
    CHECK(!u && !p);
    static char huge[4096];
    memset(huge, 'A', sizeof(huge) - 1);
    CHECK(xb_sasl_plain_decode(V(huge), &u, &p) == XB_ERR_RANGE && !u && !p);
}

XBTEST_MAIN(XBTEST(base64_rfc4648_vectors), XBTEST(base64_binary_round_trips),
            XBTEST(base64_rejects_bad_input), XBTEST(base64_size_limits),
            XBTEST(xoauth2_google_example), XBTEST(xoauth2_rejects_bad_fields),
            XBTEST(oauthbearer_rfc7628_example), XBTEST(oauthbearer_escapes_and_empty_user),
            XBTEST(plain_decoding), XBTEST(plain_rejects_bad_base64_and_size))
