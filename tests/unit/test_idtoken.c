/*
 * Who signed in (core/idtoken.c): ID tokens written here as a provider would issue
 * them, then each claim wrong in turn. The signature is not checked (the token comes
 * straight from the token endpoint over verified TLS, idtoken.h), so any bytes do.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/idtoken.h"
#include "core/sasl.h"

#include "xbtest.h"

#define NOW 1765000000
#define CLIENT "123-abc.apps.googleusercontent.com"
#define NONCE "n-0S6_WzA2Mj"
#define TID "9188040d-6c67-4c5b-b112-36a304b66dad"

static char jwt[8192];

/* header.claims.signature, base64url without padding. */
static const char *make(const char *header, const char *claims, const char *sig)
{
    char h[2048], c[4096];
    CHECK(xb_base64url_encode(header, strlen(header), h, sizeof(h)) == XB_OK);
    CHECK(xb_base64url_encode(claims, strlen(claims), c, sizeof(c)) == XB_OK);
    snprintf(jwt, sizeof(jwt), "%s.%s.%s", h, c, sig);
    return jwt;
}

static const char *token(const char *claims)
{
    return make("{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", claims, "c2lnbmF0dXJl");
}

static struct xb_provider google(void)
{
    struct xb_provider p;
    memset(&p, 0, sizeof(p));
    p.kind = XB_PROVIDER_GOOGLE;
    p.issuer = (char *)(uintptr_t)"https://accounts.google.com";
    p.client_id = (char *)(uintptr_t)CLIENT;
    p.identity = XB_IDENTITY_ID_TOKEN;
    p.identity_claims = (char *)(uintptr_t)"email";
    return p;
}

static enum xb_err read_as(const struct xb_provider *p, const char *t, struct xb_idtoken_who *who,
                           char *why, size_t n)
{
    struct xb_idtoken_want want = { .provider = p, .nonce = NONCE, .now = NOW };
    return xb_idtoken_read(t, &want, who, why, n);
}

/* Google's claims with one part given. */
#define G(extra) "{\"iss\":\"https://accounts.google.com\",\"aud\":\"" CLIENT "\"," \
                 "\"exp\":1765003600,\"iat\":1765000000,\"nonce\":\"" NONCE "\"," \
                 "\"sub\":\"110169484474386276334\"" extra "}"

static void google_tokens(void)
{
    struct xb_provider p = google();
    struct xb_idtoken_who who;
    char why[300];

    CHECK(read_as(&p, token(G(",\"email\":\"Taro@Example.ac.jp\",\"email_verified\":true,"
                              "\"hd\":\"example.ac.jp\"")), &who, why, sizeof(why)) == XB_OK);
    CHECK_STR(who.address, "Taro@Example.ac.jp");
    CHECK_STR(who.claim, "email");
    CHECK_STR(who.hd, "example.ac.jp");
    CHECK_STR(why, "");

    /* Google's short issuer; email_verified as a string; azp = us with one audience. */
    CHECK(read_as(&p, token("{\"iss\":\"accounts.google.com\",\"aud\":\"" CLIENT "\",\"azp\":\""
                            CLIENT "\",\"exp\":1765003600,\"nonce\":\"" NONCE "\","
                            "\"email\":\"a@gmail.com\",\"email_verified\":\"true\"}"),
                  &who, why, sizeof(why)) == XB_OK);
    CHECK_STR(who.hd, "");

    /* Expiry: inside the clock skew still good, past it refused. */
    CHECK(read_as(&p, token("{\"iss\":\"https://accounts.google.com\",\"aud\":\"" CLIENT "\","
                            "\"exp\":1764999800,\"nonce\":\"" NONCE "\",\"email\":\"a@b\","
                            "\"email_verified\":true}"), &who, why, sizeof(why)) == XB_OK);
    CHECK(read_as(&p, token("{\"iss\":\"https://accounts.google.com\",\"aud\":\"" CLIENT "\","
                            "\"exp\":1764999600,\"nonce\":\"" NONCE "\",\"email\":\"a@b\","
                            "\"email_verified\":true}"), &who, why, sizeof(why)) == XB_ERR_AUTH);
    CHECK(strstr(why, "expired") != NULL);
    CHECK(who.address[0] == '\0');
}

static void each_check_fails_once(void)
{
    struct xb_provider p = google();
    struct xb_idtoken_who who;
    char why[300];
    static const struct {
        const char *claims;
        const char *why;
    } bad[] = {
        { "{\"iss\":\"https://evil.example\",\"aud\":\"" CLIENT "\",\"exp\":1765003600,"
          "\"nonce\":\"" NONCE "\",\"email\":\"a@b\",\"email_verified\":true}",
          "another issuer (https://evil.example)" },
        { "{\"aud\":\"" CLIENT "\",\"exp\":1765003600,\"nonce\":\"" NONCE "\","
          "\"email\":\"a@b\",\"email_verified\":true}", "another issuer (none)" },
        { G(",\"aud\":\"someone-else\"") /* a second aud key: cJSON takes the first */,
          NULL },
        { "{\"iss\":\"https://accounts.google.com\",\"aud\":\"other-client\","
          "\"exp\":1765003600,\"nonce\":\"" NONCE "\",\"email\":\"a@b\","
          "\"email_verified\":true}", "another client" },
        { "{\"iss\":\"https://accounts.google.com\",\"aud\":[\"" CLIENT "\",\"x\"],"
          "\"exp\":1765003600,\"nonce\":\"" NONCE "\",\"email\":\"a@b\","
          "\"email_verified\":true}", "another client" },      /* several audiences, no azp */
        { "{\"iss\":\"https://accounts.google.com\",\"aud\":\"" CLIENT "\",\"azp\":\"x\","
          "\"exp\":1765003600,\"nonce\":\"" NONCE "\",\"email\":\"a@b\","
          "\"email_verified\":true}", "another client" },
        { "{\"iss\":\"https://accounts.google.com\",\"aud\":\"" CLIENT "\","
          "\"nonce\":\"" NONCE "\",\"email\":\"a@b\",\"email_verified\":true}", "expired" },
        { "{\"iss\":\"https://accounts.google.com\",\"aud\":\"" CLIENT "\",\"exp\":\"soon\","
          "\"nonce\":\"" NONCE "\",\"email\":\"a@b\",\"email_verified\":true}", "expired" },
        { "{\"iss\":\"https://accounts.google.com\",\"aud\":\"" CLIENT "\",\"exp\":1765003600,"
          "\"iat\":1765001000,\"nonce\":\"" NONCE "\",\"email\":\"a@b\","
          "\"email_verified\":true}", "from the future" },
        { "{\"iss\":\"https://accounts.google.com\",\"aud\":\"" CLIENT "\",\"exp\":1765003600,"
          "\"nonce\":\"another\",\"email\":\"a@b\",\"email_verified\":true}", "nonce" },
        { "{\"iss\":\"https://accounts.google.com\",\"aud\":\"" CLIENT "\",\"exp\":1765003600,"
          "\"email\":\"a@b\",\"email_verified\":true}", "nonce" },
        { G(",\"email_verified\":true"), "names no address (claims: email)" },
        { G(",\"email\":\"\",\"email_verified\":true"), "names no address" },
        { G(",\"email\":\"a@b\",\"email_verified\":false"), "not verified the address a@b" },
        { G(",\"email\":\"a@b\",\"email_verified\":\"false\""), "not verified" },
        { G(",\"email\":\"a@b\""), "not verified" },         /* Google always says it */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum xb_err err = read_as(&p, token(bad[i].claims), &who, why, sizeof(why));
        if (!bad[i].why) {
            CHECK(err == XB_ERR_AUTH); /* no address either: refused all the same */
            continue;
        }
        if (err != XB_ERR_AUTH || !strstr(why, bad[i].why))
            printf("#   row %zu: %d '%s', want '%s'\n", i, (int)err, why, bad[i].why);
        CHECK(err == XB_ERR_AUTH && strstr(why, bad[i].why) != NULL);
    }
    /* No issuer configured (the configuration refuses that for a custom provider): no
     * issuer can match. */
    struct xb_provider custom = google();
    custom.kind = XB_PROVIDER_CUSTOM;
    custom.issuer = NULL;
    CHECK(read_as(&custom, token(G(",\"email\":\"a@b\",\"email_verified\":true")), &who, why,
                  sizeof(why)) == XB_ERR_AUTH);
    /* A custom provider that does not say email_verified: the address counts. */
    custom.issuer = (char *)(uintptr_t)"https://accounts.google.com";
    CHECK(read_as(&custom, token(G(",\"email\":\"a@b\"")), &who, why, sizeof(why)) == XB_OK);
}

static void microsoft_tenants(void)
{
    struct xb_provider p = google();
    struct xb_idtoken_who who;
    char why[300];
    p.kind = XB_PROVIDER_MICROSOFT;
    p.issuer = NULL; /* the multi-tenant endpoint */
    p.identity_claims = (char *)(uintptr_t)"email preferred_username";
#define M(iss, tid, extra) "{\"iss\":\"" iss "\",\"tid\":\"" tid "\",\"aud\":\"" CLIENT "\"," \
                           "\"exp\":1765003600,\"nonce\":\"" NONCE "\"" extra "}"
    CHECK(read_as(&p, token(M("https://login.microsoftonline.com/" TID "/v2.0", TID,
                              ",\"preferred_username\":\"hanako@contoso.ac.jp\"")),
                  &who, why, sizeof(why)) == XB_OK);
    CHECK_STR(who.address, "hanako@contoso.ac.jp");
    CHECK_STR(who.claim, "preferred_username");
    /* email, when the tenant sends it, comes first. */
    CHECK(read_as(&p, token(M("https://login.microsoftonline.com/" TID "/v2.0", TID,
                              ",\"email\":\"h@contoso.jp\",\"preferred_username\":\"x@y\"")),
                  &who, why, sizeof(why)) == XB_OK);
    CHECK_STR(who.claim, "email");
    /* The issuer must name the token's own tenant, and a tenant id is a GUID. */
    CHECK(read_as(&p, token(M("https://login.microsoftonline.com/00000000-0000-0000-0000-"
                              "000000000000/v2.0", TID, ",\"preferred_username\":\"a@b\"")),
                  &who, why, sizeof(why)) == XB_ERR_AUTH);
    CHECK(read_as(&p, token(M("https://login.microsoftonline.com/evil/v2.0/x", "evil/v2.0/x",
                              ",\"preferred_username\":\"a@b\"")),
                  &who, why, sizeof(why)) == XB_ERR_AUTH);
    CHECK(read_as(&p, token("{\"iss\":\"https://login.microsoftonline.com//v2.0\",\"aud\":\""
                            CLIENT "\",\"exp\":1765003600,\"nonce\":\"" NONCE "\","
                            "\"preferred_username\":\"a@b\"}"), &who, why, sizeof(why)) ==
          XB_ERR_AUTH);
#undef M
}

static void malformed(void)
{
    struct xb_provider p = google();
    struct xb_idtoken_who who;
    char why[300];
    const char *good = G(",\"email\":\"a@b\",\"email_verified\":true");
    CHECK(read_as(&p, make("{\"alg\":\"none\"}", good, "x"), &who, why, sizeof(why)) ==
          XB_ERR_INVAL);
    CHECK(read_as(&p, make("{\"alg\":\"RS256\"}", good, ""), &who, why, sizeof(why)) ==
          XB_ERR_INVAL);                                   /* no signature at all */
    CHECK(read_as(&p, make("{\"typ\":\"JWT\"}", good, "x"), &who, why, sizeof(why)) ==
          XB_ERR_INVAL);                                   /* no alg */
    CHECK(read_as(&p, make("[1]", good, "x"), &who, why, sizeof(why)) == XB_ERR_INVAL);
    CHECK(read_as(&p, make("{\"alg\":\"RS256\"}", "\"just a string\"", "x"), &who, why,
                  sizeof(why)) == XB_ERR_INVAL);
    CHECK(read_as(&p, "a.b", &who, why, sizeof(why)) == XB_ERR_INVAL);
    CHECK(read_as(&p, "a.b.c.d", &who, why, sizeof(why)) == XB_ERR_INVAL);
    CHECK(read_as(&p, "eyJ!.eyJ.c", &who, why, sizeof(why)) == XB_ERR_INVAL);
    CHECK(read_as(&p, "", &who, why, sizeof(why)) == XB_ERR_INVAL);
    CHECK(read_as(&p, NULL, &who, why, sizeof(why)) == XB_ERR_INVAL);
    CHECK(strstr(why, "malformed") != NULL);
    /* base64url, not base64: '+' '/' '=' are refused. */
    char h[64];
    CHECK(xb_base64url_encode("{\"alg\":\"RS256\"}", 15, h, sizeof(h)) == XB_OK);
    char bad[8192];
    snprintf(bad, sizeof(bad), "%s=.%s", h, strchr(token(good), '.') + 1);
    CHECK(read_as(&p, bad, &who, why, sizeof(why)) == XB_ERR_INVAL);
}

XBTEST_MAIN(XBTEST(google_tokens), XBTEST(each_check_fails_once), XBTEST(microsoft_tenants),
            XBTEST(malformed))
