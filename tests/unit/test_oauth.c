/*
 * The OAuth client's protocol parts (PKCE, state, authorization URL, forms, what token
 * endpoint answers mean) and the HTTP client under them, against a small evhttp
 * server on loopback in the same event loop (runs natively and under Wine).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "core/config.h"
#include "core/http.h"
#include "core/oauth.h"
#include "platform/platform.h"

#include "xbtest.h"

/* Token texts that must never show up in a message. Both contain "SECRET". */
#define AT "ya29.a0AfB_SECRET-ACCESS-TOKEN-0123456789abcdefghijklmnopqrstuvwxyz"
#define RT "1//0gSECRET-REFRESH-TOKEN-0123456789abcdefghijklmnopqrstuvwxyz_ABCDEF"

static bool has(const char *s, const char *part)
{
    return s && strstr(s, part) != NULL;
}

/* --- PKCE and state ------------------------------------------------------------------ */

/* RFC 7636 Appendix B: this verifier has this S256 challenge. */
static void pkce_rfc7636_appendix_b(void)
{
    char out[64];
    xb_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out, sizeof(out));
    CHECK_STR(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    /* Exactly 44 bytes is enough (43 characters and the terminator). */
    char exact[44];
    xb_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", exact, sizeof(exact));
    CHECK_STR(exact, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    /* Too small: an empty string, never an overrun. */
    char small[20];
    memset(small, 'x', sizeof(small));
    xb_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", small, sizeof(small));
    CHECK_STR(small, "");
}

static bool base64url_only(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static void pkce_and_state_shape_and_uniqueness(void)
{
    enum { N = 200 };
    static struct xb_pkce p[N];
    for (int i = 0; i < N; i++) {
        CHECK(xb_pkce_new(&p[i]) == XB_OK);
        CHECK(strlen(p[i].verifier) == 43);
        CHECK(strlen(p[i].challenge) == 43);
        CHECK(strlen(p[i].state) == 43);
        CHECK(base64url_only(p[i].verifier));
        CHECK(base64url_only(p[i].challenge));
        CHECK(base64url_only(p[i].state));
        char again[64];
        xb_pkce_challenge(p[i].verifier, again, sizeof(again));
        CHECK_STR(p[i].challenge, again);
        CHECK(strcmp(p[i].verifier, p[i].state) != 0);
    }
    int dup = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            dup += strcmp(p[i].verifier, p[j].verifier) == 0 || strcmp(p[i].state, p[j].state) == 0;
    CHECK(dup == 0);
}

/* --- forms and URLs ------------------------------------------------------------------- */

static void url_encode_reserved(void)
{
    char *e = xb_url_encode("AZaz09-._~ !\"#$%&'()*+,/:;<=>?@[\\]^`{|}\x01\xc3\xa9");
    CHECK_STR(e, "AZaz09-._~%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40"
                 "%5B%5C%5D%5E%60%7B%7C%7D%01%C3%A9");
    free(e);
    e = xb_url_encode("");
    CHECK_STR(e, "");
    free(e);
}

static void form_add_encodes_values(void)
{
    struct xb_secret *form = NULL;
    CHECK(xb_form_add(&form, "grant_type", "refresh_token") == XB_OK);
    CHECK_STR(form ? form->data : NULL, "grant_type=refresh_token");
    CHECK(xb_form_add(&form, "refresh_token", "1//a+b/c=d&e f%g") == XB_OK);
    CHECK(xb_form_add(&form, "redirect_uri", "http://127.0.0.1:5000/") == XB_OK);
    CHECK(xb_form_add(&form, "empty", "") == XB_OK);
    CHECK_STR(form ? form->data : NULL,
              "grant_type=refresh_token&refresh_token=1%2F%2Fa%2Bb%2Fc%3Dd%26e%20f%25g"
              "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2F&empty=");
    CHECK(form && form->len == strlen(form->data));
    CHECK(xb_form_add(&form, "x", NULL) == XB_ERR_INVAL);
    xb_secret_free(form);

    /* An empty secret to start with gets no leading '&'. */
    form = xb_secret_new("", 0);
    CHECK(xb_form_add(&form, "a", "b") == XB_OK);
    CHECK_STR(form ? form->data : NULL, "a=b");
    xb_secret_free(form);
}

/* The decoded value of parameter name in url's query (first occurrence), or NULL;
 * *count says how often it occurs. */
static char *query_get(const char *url, const char *name, int *count)
{
    const char *q = strchr(url, '?');
    char *found = NULL;
    *count = 0;
    if (!q)
        return NULL;
    q++;
    size_t nl = strlen(name);
    while (*q) {
        size_t n = strcspn(q, "&");
        if (n > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
            (*count)++;
            if (!found) {
                found = malloc(n + 1);
                size_t o = 0;
                for (size_t i = nl + 1; i < n; i++) {
                    if (q[i] == '%' && i + 2 < n + 1) {
                        char hex[3] = { q[i + 1], q[i + 2], 0 };
                        found[o++] = (char)strtol(hex, NULL, 16);
                        i += 2;
                    } else {
                        found[o++] = q[i];
                    }
                }
                found[o] = '\0';
            }
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return found;
}

static void check_param(const char *url, const char *name, const char *want)
{
    int count = 0;
    char *v = query_get(url, name, &count);
    if (want) {
        CHECK_STR(v, want);
        CHECK(count == 1);
    } else {
        CHECK(v == NULL);
        if (v)
            printf("#   unexpected %s=%s\n", name, v);
    }
    free(v);
}

/* Everything after the first '?' is name=value pairs in encoded form. */
static bool query_encoded(const char *url)
{
    const char *q = strchr(url, '?');
    if (!q)
        return false;
    for (q++; *q; q++) {
        char c = *q;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("-._~%=&", c)))
            return false;
    }
    return true;
}

static struct xb_provider provider(enum xb_provider_kind kind, const char *auth_url)
{
    struct xb_provider p;
    memset(&p, 0, sizeof(p));
    p.kind = kind;
    p.name = (char *)(uintptr_t)"test";
    p.auth_url = (char *)(uintptr_t)auth_url;
    p.token_url = (char *)(uintptr_t)"https://oauth2.example.com/token";
    p.scope = (char *)(uintptr_t)"https://mail.google.com/";
    p.client_id = (char *)(uintptr_t)"123-abc.apps.googleusercontent.com";
    p.client_secret = (char *)(uintptr_t)"GOCSPX-not+so/secret";
    return p;
}

static void auth_url_google_with_hd(void)
{
    struct xb_provider p = provider(XB_PROVIDER_GOOGLE,
                                    "https://accounts.google.com/o/oauth2/v2/auth");
    p.hosted_domain = (char *)(uintptr_t)"example.edu";
    struct xb_pkce pkce;
    CHECK(xb_pkce_new(&pkce) == XB_OK);
    char *url = xb_oauth_auth_url(&p, &pkce, "http://127.0.0.1:49152/", "a.b+tag@example.edu");
    CHECK(url != NULL);
    if (!url)
        return;
    CHECK(strncmp(url, "https://accounts.google.com/o/oauth2/v2/auth?", 45) == 0);
    CHECK(query_encoded(url));
    check_param(url, "response_type", "code");
    check_param(url, "client_id", "123-abc.apps.googleusercontent.com");
    check_param(url, "redirect_uri", "http://127.0.0.1:49152/");
    check_param(url, "scope", "https://mail.google.com/");
    check_param(url, "code_challenge", pkce.challenge);
    check_param(url, "code_challenge_method", "S256");
    check_param(url, "state", pkce.state);
    check_param(url, "login_hint", "a.b+tag@example.edu");
    check_param(url, "access_type", "offline");
    check_param(url, "prompt", "consent");
    check_param(url, "hd", "example.edu");
    /* Neither the verifier nor the client secret leaves in the URL. */
    CHECK(!has(url, pkce.verifier));
    CHECK(!has(url, "GOCSPX"));
    CHECK(!has(url, "client_secret"));
    free(url);

    /* No hd when none is configured; no login_hint when there is none. */
    p.hosted_domain = NULL;
    url = xb_oauth_auth_url(&p, &pkce, "http://127.0.0.1:49152/", NULL);
    CHECK(url != NULL);
    if (url) {
        check_param(url, "hd", NULL);
        check_param(url, "login_hint", NULL);
        check_param(url, "access_type", "offline");
    }
    free(url);
}

static void auth_url_microsoft(void)
{
    struct xb_provider p = provider(XB_PROVIDER_MICROSOFT,
                                    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize");
    p.scope = (char *)(uintptr_t)"https://outlook.office.com/IMAP.AccessAsUser.All "
                                 "https://outlook.office.com/SMTP.Send offline_access";
    p.hosted_domain = (char *)(uintptr_t)"ignored.example";
    struct xb_pkce pkce;
    CHECK(xb_pkce_new(&pkce) == XB_OK);
    char *url = xb_oauth_auth_url(&p, &pkce, "http://127.0.0.1:50000/", "user@contoso.com");
    CHECK(url != NULL);
    if (!url)
        return;
    CHECK(query_encoded(url));
    check_param(url, "scope", "https://outlook.office.com/IMAP.AccessAsUser.All "
                              "https://outlook.office.com/SMTP.Send offline_access");
    CHECK(has(url, "offline_access") && !has(url, "+offline_access")); /* %20, not '+' */
    check_param(url, "login_hint", "user@contoso.com");
    check_param(url, "code_challenge_method", "S256");
    check_param(url, "state", pkce.state);
    check_param(url, "prompt", "select_account");
    check_param(url, "access_type", NULL);
    check_param(url, "hd", NULL);
    free(url);
}

/* identity = id_token: the scopes the ID token needs are added (once), and the nonce. */
static void auth_url_identity(void)
{
    struct xb_provider p = provider(XB_PROVIDER_GOOGLE,
                                    "https://accounts.google.com/o/oauth2/v2/auth");
    p.identity = XB_IDENTITY_ID_TOKEN;
    p.identity_claims = (char *)(uintptr_t)"email";
    struct xb_pkce pkce;
    CHECK(xb_pkce_new(&pkce) == XB_OK);
    CHECK(strlen(pkce.nonce) >= 43 && strcmp(pkce.nonce, pkce.state) != 0);
    char *url = xb_oauth_auth_url(&p, &pkce, "http://127.0.0.1:49152/", "a@example.edu");
    CHECK(url != NULL);
    if (url) {
        check_param(url, "scope", "https://mail.google.com/ openid email");
        check_param(url, "nonce", pkce.nonce);
    }
    free(url);
    /* Already in the configured scope: not twice. A preferred_username needs profile. */
    p.kind = XB_PROVIDER_MICROSOFT;
    p.scope = (char *)(uintptr_t)"openid offline_access https://outlook.office.com/SMTP.Send";
    p.identity_claims = (char *)(uintptr_t)"email preferred_username";
    url = xb_oauth_auth_url(&p, &pkce, "http://127.0.0.1:49152/", NULL);
    CHECK(url != NULL);
    if (url)
        check_param(url, "scope", "openid offline_access https://outlook.office.com/SMTP.Send "
                                  "email profile");
    free(url);
    /* No identity check: nothing added, no nonce. */
    p.identity = XB_IDENTITY_NONE;
    url = xb_oauth_auth_url(&p, &pkce, "http://127.0.0.1:49152/", NULL);
    CHECK(url != NULL);
    if (url) {
        check_param(url, "scope", "openid offline_access https://outlook.office.com/SMTP.Send");
        check_param(url, "nonce", NULL);
    }
    free(url);
}

static void auth_url_custom_with_query(void)
{
    struct xb_provider p = provider(XB_PROVIDER_CUSTOM, "https://idp.example.org/authorize?tenant=a%20b");
    struct xb_pkce pkce;
    CHECK(xb_pkce_new(&pkce) == XB_OK);
    char *url = xb_oauth_auth_url(&p, &pkce, "http://127.0.0.1:1234/", "x@example.org");
    CHECK(url != NULL);
    if (!url)
        return;
    CHECK(strncmp(url, "https://idp.example.org/authorize?tenant=a%20b&response_type=code&", 66) == 0);
    CHECK(strchr(strchr(url, '?') + 1, '?') == NULL);
    check_param(url, "tenant", "a b");
    check_param(url, "client_id", "123-abc.apps.googleusercontent.com");
    check_param(url, "state", pkce.state);
    check_param(url, "access_type", NULL);
    check_param(url, "prompt", NULL);
    free(url);

    /* An auth URL ending in '?' gets no "?&". */
    p.auth_url = (char *)(uintptr_t)"https://idp.example.org/authorize?";
    url = xb_oauth_auth_url(&p, &pkce, "http://127.0.0.1:1234/", NULL);
    CHECK(url && strncmp(url, "https://idp.example.org/authorize?response_type=code&", 53) == 0);
    free(url);
}

/* --- token endpoint answers, as data ---------------------------------------------------- */

struct answer_case {
    const char *name;
    enum xb_err http_err;
    long status;
    const char *body;
    const char *http_why;
    enum xb_err want;
    int64_t expires;          /* checked on success */
    bool refresh;             /* a refresh token expected (success) */
    const char *why_has;      /* on failure: part of the message */
};

#define OKBODY(extra) "{\"access_token\":\"" AT "\"" extra "}"

static const struct answer_case answers[] = {
    { "google refresh", XB_OK, 200,
      OKBODY(",\"expires_in\":3599,\"scope\":\"https://mail.google.com/\",\"token_type\":\"Bearer\""),
      NULL, XB_OK, 3599, false, NULL },
    { "code exchange with refresh token", XB_OK, 200,
      OKBODY(",\"expires_in\":3599,\"refresh_token\":\"" RT "\",\"token_type\":\"Bearer\""),
      NULL, XB_OK, 3599, true, NULL },
    { "token_type lower case", XB_OK, 200, OKBODY(",\"token_type\":\"bearer\",\"expires_in\":60"),
      NULL, XB_OK, 60, false, NULL },
    { "token_type and expires_in missing", XB_OK, 200, OKBODY(""), NULL, XB_OK, 3600, false, NULL },
    { "refresh_token null", XB_OK, 200, OKBODY(",\"refresh_token\":null"), NULL, XB_OK, 3600,
      false, NULL },
    { "expires_in decimal string", XB_OK, 200, OKBODY(",\"expires_in\":\"3599\""), NULL, XB_OK,
      3599, false, NULL },
    { "expires_in fractional", XB_OK, 200, OKBODY(",\"expires_in\":3599.7"), NULL, XB_OK, 3599,
      false, NULL },
    { "expires_in one year", XB_OK, 200, OKBODY(",\"expires_in\":31536000"), NULL, XB_OK,
      31536000, false, NULL },
    { "microsoft style extra fields", XB_OK, 200,
      "{\"token_type\":\"Bearer\",\"scope\":\"https://outlook.office.com/IMAP.AccessAsUser.All\","
      "\"expires_in\":4883,\"ext_expires_in\":4883,\"access_token\":\"" AT "\","
      "\"refresh_token\":\"" RT "\",\"id_token\":\"eyJ0eXAiOiJKV1Qi\"}",
      NULL, XB_OK, 4883, true, NULL },
    /* malformed successes: temporary (nothing says the sign-in is dead) */
    { "expires_in word string", XB_OK, 200, OKBODY(",\"expires_in\":\"an hour\""), NULL,
      XB_ERR_TEMP, 0, false, "malformed (expires_in)" },
    { "expires_in negative", XB_OK, 200, OKBODY(",\"expires_in\":-5"), NULL, XB_ERR_TEMP, 0,
      false, "expires_in" },
    { "expires_in zero", XB_OK, 200, OKBODY(",\"expires_in\":0"), NULL, XB_ERR_TEMP, 0, false,
      "expires_in" },
    { "expires_in huge", XB_OK, 200, OKBODY(",\"expires_in\":1e12"), NULL, XB_ERR_TEMP, 0, false,
      "expires_in" },
    { "expires_in a year and a second", XB_OK, 200, OKBODY(",\"expires_in\":31536001"), NULL,
      XB_ERR_TEMP, 0, false, "expires_in" },
    { "expires_in huge string", XB_OK, 200, OKBODY(",\"expires_in\":\"99999999999999999999\""),
      NULL, XB_ERR_TEMP, 0, false, "expires_in" },
    { "expires_in boolean", XB_OK, 200, OKBODY(",\"expires_in\":true"), NULL, XB_ERR_TEMP, 0,
      false, "expires_in" },
    { "token_type mac", XB_OK, 200, OKBODY(",\"token_type\":\"mac\""), NULL, XB_ERR_TEMP, 0, false,
      "type 'mac', not a Bearer" },
    { "token_type not a string", XB_OK, 200, OKBODY(",\"token_type\":7"), NULL, XB_ERR_TEMP, 0,
      false, "not a Bearer" },
    { "no access_token", XB_OK, 200, "{\"token_type\":\"Bearer\",\"expires_in\":3600}", NULL,
      XB_ERR_TEMP, 0, false, "has no access token" },
    { "access_token a number", XB_OK, 200, "{\"access_token\":42}", NULL, XB_ERR_TEMP, 0, false,
      "has no access token" },
    { "access_token empty", XB_OK, 200, "{\"access_token\":\"\"}", NULL, XB_ERR_TEMP, 0, false,
      "has no access token" },
    { "access_token with a control character", XB_OK, 200,
      "{\"access_token\":\"SECRET\\u0001x\"}", NULL, XB_ERR_TEMP, 0, false,
      "malformed (access_token)" },
    { "access_token with a space", XB_OK, 200, "{\"access_token\":\"SECRET x\"}", NULL,
      XB_ERR_TEMP, 0, false, "malformed (access_token)" },
    { "refresh_token a number", XB_OK, 200, OKBODY(",\"refresh_token\":5"), NULL, XB_ERR_TEMP, 0,
      false, "malformed (refresh_token)" },
    { "JSON array", XB_OK, 200, "[\"" AT "\"]", NULL, XB_ERR_TEMP, 0, false, "not valid JSON" },
    { "JSON string", XB_OK, 200, "\"" AT "\"", NULL, XB_ERR_TEMP, 0, false, "not valid JSON" },
    { "html body", XB_OK, 200, "<html><body>Sign in to the hotel Wi-Fi</body></html>", NULL,
      XB_ERR_TEMP, 0, false, "not valid JSON" },
    { "truncated JSON", XB_OK, 200, "{\"access_token\": \"truncated", NULL, XB_ERR_TEMP, 0, false,
      "not valid JSON" },
    { "empty body", XB_OK, 200, "", NULL, XB_ERR_TEMP, 0, false, "answer is empty" },
    /* OAuth errors: a person must act */
    { "google invalid_grant", XB_OK, 400,
      "{\"error\":\"invalid_grant\",\"error_description\":\"Token has been expired or revoked.\"}",
      NULL, XB_ERR_AUTH, 0, false,
      "the sign-in has expired or was revoked (Token has been expired or revoked.)" },
    { "oidc-provider invalid_grant", XB_OK, 400,
      "{\"error\":\"invalid_grant\",\"error_description\":\"grant request is invalid\"}", NULL,
      XB_ERR_AUTH, 0, false, "expired or was revoked (grant request is invalid)" },
    { "invalid_grant without description, 401", XB_OK, 401, "{\"error\":\"invalid_grant\"}", NULL,
      XB_ERR_AUTH, 0, false, "the sign-in has expired or was revoked" },
    { "invalid_grant echoing the token", XB_OK, 400,
      "{\"error\":\"invalid_grant\",\"error_description\":\"refresh token " RT " is revoked\"}",
      NULL, XB_ERR_AUTH, 0, false, "refresh token [...] is revoked" },
    { "invalid_grant with control characters", XB_OK, 400,
      "{\"error\":\"invalid_grant\",\"error_description\":\"Token\\r\\nhas\\u0001 been\\texpired "
      "\\u00e9t\\u00e9\"}",
      NULL, XB_ERR_AUTH, 0, false, "(Token has been expired t)" },
    { "invalid_client", XB_OK, 401,
      "{\"error\":\"invalid_client\",\"error_description\":\"client authentication failed\"}", NULL,
      XB_ERR_AUTH, 0, false,
      "the OAuth client ID or secret is not accepted: ask your administrator" },
    { "unauthorized_client", XB_OK, 400, "{\"error\":\"unauthorized_client\"}", NULL, XB_ERR_AUTH,
      0, false, "the OAuth client ID or secret is not accepted: ask your administrator" },
    { "invalid_scope", XB_OK, 400,
      "{\"error\":\"invalid_scope\",\"error_description\":\"bad scope\"}", NULL, XB_ERR_AUTH, 0,
      false, "the token endpoint refused the request: invalid_scope (bad scope)" },
    { "invalid_request", XB_OK, 400, "{\"error\":\"invalid_request\"}", NULL, XB_ERR_AUTH, 0,
      false, "refused the request: invalid_request" },
    { "error with an access token too", XB_OK, 400,
      "{\"error\":\"invalid_grant\",\"access_token\":\"" AT "\"}", NULL, XB_ERR_AUTH, 0, false,
      "expired or was revoked" },
    /* temporary */
    { "500 with an OAuth error", XB_OK, 500, "{\"error\":\"internal_failure\"}", NULL,
      XB_ERR_TEMP, 0, false, "server error (HTTP 500: internal_failure)" },
    { "503 html", XB_OK, 503, "<html>Service Unavailable</html>", NULL, XB_ERR_TEMP, 0, false,
      "server error (HTTP 503)" },
    { "502 empty", XB_OK, 502, "", NULL, XB_ERR_TEMP, 0, false, "HTTP 502" },
    { "429", XB_OK, 429, "{\"error\":\"rate_limit_exceeded\"}", NULL, XB_ERR_TEMP, 0, false,
      "busy (HTTP 429)" },
    { "408", XB_OK, 408, "", NULL, XB_ERR_TEMP, 0, false, "HTTP 408" },
    { "404 html page", XB_OK, 404, "<html>Not Found</html>", NULL, XB_ERR_TEMP, 0, false,
      "answered HTTP 404 without an OAuth error" },
    { "403 portal page", XB_OK, 403, "Forbidden", NULL, XB_ERR_TEMP, 0, false, "HTTP 403" },
    { "401 empty object", XB_OK, 401, "{}", NULL, XB_ERR_TEMP, 0, false, "without an OAuth error" },
    { "400 error not a string", XB_OK, 400, "{\"error\":5}", NULL, XB_ERR_TEMP, 0, false,
      "without an OAuth error" },
    { "400 temporarily_unavailable", XB_OK, 400, "{\"error\":\"temporarily_unavailable\"}", NULL,
      XB_ERR_TEMP, 0, false, "temporarily unavailable" },
    { "302 redirect", XB_OK, 302, "", NULL, XB_ERR_TEMP, 0, false, "unexpected HTTP status 302" },
    { "201", XB_OK, 201, OKBODY(""), NULL, XB_ERR_TEMP, 0, false, "unexpected HTTP status 201" },
    { "connection refused", XB_ERR_TEMP, 0, "", "Failed to connect to 127.0.0.1 port 9: Connection refused",
      XB_ERR_TEMP, 0, false, "cannot reach the token endpoint: Failed to connect to 127.0.0.1" },
    { "timeout", XB_ERR_TEMP, 0, "", "Operation timed out after 30001 milliseconds with 0 bytes received",
      XB_ERR_TEMP, 0, false, "Operation timed out" },
    { "transport error without words", XB_ERR_TEMP, 0, "", "", XB_ERR_TEMP, 0, false,
      "cannot reach the token endpoint: no answer" },
    { "body too long", XB_ERR_RANGE, 200, "", "too long", XB_ERR_TEMP, 0, false,
      "answer is too long" },
};

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static void token_answers_as_data(void)
{
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        const struct answer_case *c = &answers[i];
        struct xb_token_result r;
        memset(&r, 0x5a, sizeof(r)); /* the parser sets every field */
        xb_oauth_parse_answer(false, c->http_err, c->status, c->body, strlen(c->body),
                                      c->http_why, &r);
        int before = xbtest_failures;
        CHECK(r.err == c->want);
        CHECK(!has(r.why, "SECRET"));
        CHECK(printable(r.why));
        if (c->want == XB_OK) {
            CHECK_STR(r.access_token ? r.access_token->data : NULL, AT);
            CHECK(r.expires_in == c->expires);
            CHECK((r.refresh_token != NULL) == c->refresh);
            if (c->refresh)
                CHECK_STR(r.refresh_token ? r.refresh_token->data : NULL, RT);
        } else {
            CHECK(r.access_token == NULL && r.refresh_token == NULL);
            CHECK(has(r.why, c->why_has));
        }
        if (xbtest_failures != before)
            printf("#   in case '%s': err %s, why \"%s\"\n", c->name, xb_err_str(r.err), r.why);
        xb_token_result_clear(&r);
        CHECK(r.access_token == NULL && r.refresh_token == NULL);
    }
}

/* A 100 KB description full of control characters, 8-bit bytes and long words. */
static void huge_error_description(void)
{
    size_t cap = 100000;
    char *body = malloc(cap + 200);
    size_t n = (size_t)snprintf(body, 200, "{\"error\":\"invalid_grant\",\"error_description\":\"");
    static const char *const parts[] = { "Token ", "\\u0007", "has\\r\\n", "\\u001b[31m",
                                         "\xc3\xa9", " been ", "\\t", "revoked ", RT, " " };
    for (size_t k = 0; n < cap; k++) {
        const char *p = parts[k % (sizeof(parts) / sizeof(parts[0]))];
        memcpy(body + n, p, strlen(p));
        n += strlen(p);
    }
    memcpy(body + n, "\"}", 3);
    n += 2;
    struct xb_token_result r;
    xb_oauth_parse_answer(false, XB_OK, 400, body, n, NULL, &r);
    CHECK(r.err == XB_ERR_AUTH);
    CHECK(has(r.why, "expired or was revoked (Token has"));
    CHECK(printable(r.why));
    CHECK(!has(r.why, "SECRET"));
    CHECK(!has(r.why, "\x1b") && !has(r.why, "\r"));
    const char *open = strchr(r.why, '(');
    CHECK(open && strlen(open) <= 2 + 120 + 3);
    CHECK(has(r.why, "...)"));
    printf("#   why: %s\n", r.why);
    xb_token_result_clear(&r);

    /* The same through a 500: the error code is cut too. */
    n = (size_t)snprintf(body, 200, "{\"error\":\"");
    memset(body + n, 'e', 5000);
    n += 5000;
    memcpy(body + n, "\"}", 3);
    n += 2;
    xb_oauth_parse_answer(false, XB_OK, 500, body, n, NULL, &r);
    CHECK(r.err == XB_ERR_TEMP);
    CHECK(strlen(r.why) < 120);
    xb_token_result_clear(&r);
    free(body);
}

/* --- the HTTP client and the requests, against a loopback evhttp server ------------------ */

struct server {
    struct event_base *base;
    struct evhttp *http;
    unsigned port;
    int status;               /* what /token and /revoke answer */
    const char *body;
    char path[64];            /* of the last request */
    char form[2048];
    char user_agent[128];
    char accept[64];
    char content_type[96];
    int hits;
};
static struct server S;

static void copy_header(struct evhttp_request *req, const char *name, char *out, size_t size)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    snprintf(out, size, "%s", v ? v : "");
}

static void reply(struct evhttp_request *req, int status, const char *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, body, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, "Test", buf);
    evbuffer_free(buf);
}

static void server_cb(struct evhttp_request *req, void *arg)
{
    const char *uri = evhttp_request_get_uri(req);
    snprintf(S.path, sizeof(S.path), "%s", uri);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n >= sizeof(S.form))
        n = sizeof(S.form) - 1;
    evbuffer_copyout(in, S.form, n);
    S.form[n] = '\0';
    copy_header(req, "User-Agent", S.user_agent, sizeof(S.user_agent));
    copy_header(req, "Accept", S.accept, sizeof(S.accept));
    copy_header(req, "Content-Type", S.content_type, sizeof(S.content_type));
    S.hits++;
    /* Back to the test before the client can see an answer. */
    event_base_loopbreak(S.base);
    if (strcmp(uri, "/hang") == 0)
        return;  /* never answered; freed with its connection */
    if (strcmp(uri, "/big") == 0) {
        size_t big = XB_HTTP_BODY_MAX + 4096;
        char *body = malloc(big);
        memset(body, 'x', big);
        reply(req, 200, body, big);
        free(body);
    } else if (strcmp(uri, "/echo") == 0) {
        reply(req, 201, S.form, strlen(S.form));
    } else {
        reply(req, S.status, S.body, strlen(S.body));
    }
}

static void expire_cb(evutil_socket_t fd, short what, void *arg)
{
    *(bool *)arg = true;
}

/* Runs the loop until *counter reaches want or ms pass; true if it did. */
static bool run_until(const int *counter, int want, int ms)
{
    bool expired = false;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    struct event *t = evtimer_new(S.base, expire_cb, &expired);
    evtimer_add(t, &tv);
    while (*counter < want && !expired)
        event_base_loop(S.base, EVLOOP_ONCE);
    event_free(t);
    return *counter >= want;
}

static void run_for(int ms)
{
    int never = 0;
    run_until(&never, 1, ms);
}

static bool server_start(void)
{
    if (xb_plat_init() != 0)
        return false;
    S.base = event_base_new();
    S.http = S.base ? evhttp_new(S.base) : NULL;
    if (!S.http)
        return false;
    evhttp_set_gencb(S.http, server_cb, NULL);
    evhttp_set_allowed_methods(S.http, EVHTTP_REQ_POST);
    struct evhttp_bound_socket *h = evhttp_bind_socket_with_handle(S.http, "127.0.0.1", 0);
    if (!h)
        return false;
    struct sockaddr_in sin;
#ifdef _WIN32
    int sl = sizeof(sin);
#else
    socklen_t sl = sizeof(sin);
#endif
    if (getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&sin, &sl) != 0)
        return false;
    S.port = ntohs(sin.sin_port);
    return true;
}

/* A port nothing listens on: bound by a second server, which is then freed. */
static unsigned closed_port(void)
{
    struct evhttp *other = evhttp_new(S.base);
    struct evhttp_bound_socket *h = evhttp_bind_socket_with_handle(other, "127.0.0.1", 0);
    unsigned port = 0;
    struct sockaddr_in sin;
#ifdef _WIN32
    int sl = sizeof(sin);
#else
    socklen_t sl = sizeof(sin);
#endif
    if (h && getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&sin, &sl) == 0)
        port = ntohs(sin.sin_port);
    evhttp_free(other);
    return port;
}

static char token_url[96], revoke_url[96], big_url[96], hang_url[96], echo_url[96];

static struct xb_provider loop_provider(void)
{
    snprintf(token_url, sizeof(token_url), "http://127.0.0.1:%u/token", S.port);
    snprintf(revoke_url, sizeof(revoke_url), "http://127.0.0.1:%u/revoke", S.port);
    snprintf(big_url, sizeof(big_url), "http://127.0.0.1:%u/big", S.port);
    snprintf(hang_url, sizeof(hang_url), "http://127.0.0.1:%u/hang", S.port);
    snprintf(echo_url, sizeof(echo_url), "http://127.0.0.1:%u/echo", S.port);
    struct xb_provider p = provider(XB_PROVIDER_CUSTOM, "http://127.0.0.1/auth");
    p.token_url = token_url;
    p.revoke_url = revoke_url;
    return p;
}

/* What an OAuth callback saw. */
struct got {
    int calls;
    bool inside;              /* ran before the starting call returned */
    enum xb_err err;
    char why[256];
    int64_t expires;
    bool refresh;
    char at[160];
    struct xb_http **free_http;   /* free this client in the callback */
    struct xb_http **retry_http;  /* start one more refresh from the callback */
};
static bool g_returned;

static void oauth_cb(void *arg, struct xb_token_result *r);

static void oauth_cb(void *arg, struct xb_token_result *r)
{
    struct got *g = arg;
    g->calls++;
    g->inside = g->inside || !g_returned;
    g->err = r->err;
    snprintf(g->why, sizeof(g->why), "%s", r->why);
    g->expires = r->expires_in;
    g->refresh = r->refresh_token != NULL;
    snprintf(g->at, sizeof(g->at), "%s", r->access_token ? r->access_token->data : "");
    if (r->refresh_token) {
        /* The callback may keep a secret: take it out. */
        xb_secret_free(r->refresh_token);
        r->refresh_token = NULL;
    }
    if (g->free_http && *g->free_http) {
        xb_http_free(*g->free_http);
        *g->free_http = NULL;
    }
    if (g->retry_http && g->calls == 1) {
        struct xb_provider p = loop_provider();
        CHECK(xb_oauth_refresh(*g->retry_http, &p, "again", oauth_cb, g) != NULL);
    }
}

/* What a raw HTTP callback saw. */
struct hgot {
    int calls;
    bool inside;
    enum xb_err err;
    long status;
    char body[256];
    size_t len;
    char why[256];
};

static void http_cb(void *arg, enum xb_err err, long status, const char *body, size_t len,
                    const char *why)
{
    struct hgot *h = arg;
    h->calls++;
    h->inside = h->inside || !g_returned;
    h->err = err;
    h->status = status;
    h->len = len;
    snprintf(h->body, sizeof(h->body), "%s", body);
    snprintf(h->why, sizeof(h->why), "%s", why);
}

static struct xb_http *client(unsigned timeout)
{
    struct xb_http *http = NULL;
    CHECK(xb_http_new(S.base, NULL, timeout, &http) == XB_OK);
    return http;
}

static void http_refresh_round_trip(void)
{
    struct xb_http *http = client(10);
    struct xb_provider p = loop_provider();
    struct got g = { 0 };
    S.status = 200;
    S.body = OKBODY(",\"expires_in\":3599,\"refresh_token\":\"" RT "\",\"token_type\":\"Bearer\"");
    g_returned = false;
    struct xb_http_req *req = xb_oauth_refresh(http, &p, "1//rt+/=&x", oauth_cb, &g);
    g_returned = true;
    CHECK(req != NULL);
    CHECK(g.calls == 0);
    CHECK(run_until(&g.calls, 1, 5000));
    CHECK(!g.inside);
    CHECK(g.err == XB_OK);
    CHECK_STR(g.at, AT);
    CHECK(g.expires == 3599);
    CHECK(g.refresh);
    CHECK_STR(S.path, "/token");
    CHECK_STR(S.form, "grant_type=refresh_token&refresh_token=1%2F%2Frt%2B%2F%3D%26x"
                      "&client_id=123-abc.apps.googleusercontent.com"
                      "&client_secret=GOCSPX-not%2Bso%2Fsecret");
    CHECK(strncmp(S.user_agent, "XOAuthBridge/", 13) == 0 && strlen(S.user_agent) > 13);
    CHECK_STR(S.accept, "application/json");
    CHECK_STR(S.content_type, "application/x-www-form-urlencoded");
    run_for(50);
    CHECK(g.calls == 1);
    xb_http_free(http);
}

static void http_refresh_without_client_secret(void)
{
    struct xb_http *http = client(10);
    struct xb_provider p = loop_provider();
    S.status = 200;
    S.body = OKBODY("");
    for (int i = 0; i < 2; i++) {
        struct got g = { 0 };
        p.client_secret = i == 0 ? NULL : (char *)(uintptr_t)"";
        g_returned = true;
        CHECK(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g) != NULL);
        CHECK(run_until(&g.calls, 1, 5000));
        CHECK(g.err == XB_OK && g.expires == 3600 && !g.refresh);
        CHECK_STR(S.form, "grant_type=refresh_token&refresh_token=rt"
                          "&client_id=123-abc.apps.googleusercontent.com");
    }
    xb_http_free(http);
}

static void http_exchange_code_form(void)
{
    struct xb_http *http = client(10);
    struct xb_provider p = loop_provider();
    struct got g = { 0 };
    S.status = 200;
    S.body = OKBODY(",\"refresh_token\":\"" RT "\",\"expires_in\":3600");
    g_returned = false;
    CHECK(xb_oauth_exchange_code(http, &p, "4/0AbCd-ef_gh", "http://127.0.0.1:5555/",
                                 "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", oauth_cb, &g) != NULL);
    g_returned = true;
    CHECK(run_until(&g.calls, 1, 5000));
    CHECK(!g.inside);
    CHECK(g.err == XB_OK && g.refresh);
    CHECK_STR(S.form, "grant_type=authorization_code&code=4%2F0AbCd-ef_gh"
                      "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2F"
                      "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
                      "&client_id=123-abc.apps.googleusercontent.com"
                      "&client_secret=GOCSPX-not%2Bso%2Fsecret");
    xb_http_free(http);
}

static void http_refresh_errors(void)
{
    struct xb_http *http = client(10);
    struct xb_provider p = loop_provider();
    static const struct {
        int status;
        const char *body;
        enum xb_err want;
        const char *why;
    } cases[] = {
        { 400, "{\"error\":\"invalid_grant\",\"error_description\":\"grant request is invalid\"}",
          XB_ERR_AUTH, "the sign-in has expired or was revoked (grant request is invalid)" },
        { 401, "{\"error\":\"invalid_client\"}", XB_ERR_AUTH, "ask your administrator" },
        { 500, "{\"error\":\"internal_failure\"}", XB_ERR_TEMP, "HTTP 500" },
        { 200, "{\"access_token\": \"truncated", XB_ERR_TEMP, "not valid JSON" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct got g = { 0 };
        S.status = cases[i].status;
        S.body = cases[i].body;
        g_returned = true;
        CHECK(xb_oauth_refresh(http, &p, RT, oauth_cb, &g) != NULL);
        CHECK(run_until(&g.calls, 1, 5000));
        CHECK(g.err == cases[i].want);
        CHECK(has(g.why, cases[i].why));
        CHECK(!has(g.why, "SECRET"));
        CHECK(g.at[0] == '\0');
    }
    xb_http_free(http);
}

static void http_revoke(void)
{
    struct xb_http *http = client(10);
    struct xb_provider p = loop_provider();
    static const struct {
        int status;
        const char *body;
        enum xb_err want;
        const char *why;
    } cases[] = {
        { 200, "", XB_OK, "" },
        { 200, "{}", XB_OK, "" },
        { 400, "{\"error\":\"unsupported_token_type\"}", XB_ERR_AUTH,
          "the revocation endpoint refused the request: unsupported_token_type" },
        { 401, "{\"error\":\"invalid_client\"}", XB_ERR_AUTH, "client ID or secret" },
        { 503, "", XB_ERR_TEMP, "the revocation endpoint had a server error (HTTP 503)" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct got g = { 0 };
        S.status = cases[i].status;
        S.body = cases[i].body;
        g_returned = false;
        CHECK(xb_oauth_revoke(http, &p, RT, oauth_cb, &g) != NULL);
        g_returned = true;
        CHECK(run_until(&g.calls, 1, 5000));
        CHECK(!g.inside);
        CHECK(g.err == cases[i].want);
        CHECK(has(g.why, cases[i].why));
        CHECK_STR(S.path, "/revoke");
        CHECK(strncmp(S.form, "token=1%2F%2F0gSECRET-REFRESH-TOKEN-", 36) == 0);
        CHECK(has(S.form, "&token_type_hint=refresh_token"
                          "&client_id=123-abc.apps.googleusercontent.com"
                          "&client_secret=GOCSPX-not%2Bso%2Fsecret"));
    }
    xb_http_free(http);
}

/* No revocation endpoint, missing values: one callback, from the loop, nothing sent. */
static void http_fail_before_sending(void)
{
    struct xb_http *http = client(10);
    struct xb_provider p = loop_provider();
    p.revoke_url = NULL;
    int hits = S.hits;
    struct got g = { 0 };
    g_returned = false;
    struct xb_http_req *req = xb_oauth_revoke(http, &p, RT, oauth_cb, &g);
    g_returned = true;
    CHECK(req != NULL);
    CHECK(g.calls == 0);
    CHECK(run_until(&g.calls, 1, 5000));
    CHECK(!g.inside);
    CHECK(g.err == XB_ERR_UNSUPPORTED);
    CHECK(has(g.why, "has no revocation endpoint"));

    struct got g2 = { 0 };
    g_returned = false;
    CHECK(xb_oauth_refresh(http, &p, NULL, oauth_cb, &g2) != NULL);
    g_returned = true;
    CHECK(run_until(&g2.calls, 1, 5000));
    CHECK(!g2.inside && g2.err == XB_ERR_INVAL);

    struct got g3 = { 0 };
    p.client_id = NULL;
    CHECK(xb_oauth_exchange_code(http, &p, "c", "http://127.0.0.1:1/", "v", oauth_cb, &g3) != NULL);
    CHECK(run_until(&g3.calls, 1, 5000));
    CHECK(g3.err == XB_ERR_INVAL && has(g3.why, "client ID"));

    /* Cancelled before the loop turns: no callback, nothing leaks (ASan). */
    struct got g4 = { 0 };
    p = loop_provider();
    p.revoke_url = NULL;
    xb_http_cancel(xb_oauth_revoke(http, &p, RT, oauth_cb, &g4));
    run_for(50);
    CHECK(g4.calls == 0);
    CHECK(S.hits == hits);
    xb_http_free(http);
}

static void http_post_form_direct(void)
{
    struct xb_http *http = client(10);
    struct xb_secret *form = NULL;
    CHECK(xb_form_add(&form, "a", "b c") == XB_OK);
    CHECK(xb_form_add(&form, "d", "\xc3\xa9") == XB_OK);
    snprintf(echo_url, sizeof(echo_url), "http://127.0.0.1:%u/echo", S.port);
    struct hgot h = { 0 };
    g_returned = false;
    CHECK(xb_http_post_form(http, echo_url, form, http_cb, &h) != NULL);
    g_returned = true;
    CHECK(run_until(&h.calls, 1, 5000));
    CHECK(!h.inside);
    CHECK(h.err == XB_OK && h.status == 201);
    CHECK_STR(h.body, "a=b%20c&d=%C3%A9");
    CHECK(h.len == strlen("a=b%20c&d=%C3%A9"));
    xb_http_free(http);
}

static void put_env(const char *name, const char *value)
{
#ifdef _WIN32
    _putenv_s(name, value ? value : "");
#else
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
#endif
}

/* web_proxy: direct ignores the proxy the environment names (libcurl would read it on
 * any system); a configured proxy that does not answer is named in the failure, without
 * its password, and remembered as a failure at the proxy. */
static void http_web_proxy(void)
{
    static const char *const vars[] = { "http_proxy", "all_proxy", "ALL_PROXY" };
    struct xb_http *http = client(10);
    struct xb_web_proxy direct = { XB_WEB_PROXY_DIRECT, NULL };
    loop_provider();                                        /* echo_url */
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        put_env(vars[i], "http://127.0.0.1:1");
    CHECK(xb_http_set_proxy(http, &direct) == XB_OK);
    struct hgot h = { 0 };
    CHECK(xb_http_post_form(http, echo_url, xb_secret_new("a=b", 3), http_cb, &h) != NULL);
    CHECK(run_until(&h.calls, 1, 5000));
    CHECK(h.err == XB_OK && h.status == 201);
    if (h.err != XB_OK)
        printf("#   direct: %s\n", h.why);
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        put_env(vars[i], NULL);

    char url[] = "http://alice:Secret1@127.0.0.1:1";
    struct xb_web_proxy via = { XB_WEB_PROXY_URL, url };
    CHECK(xb_http_set_proxy(http, &via) == XB_OK);
    memset(url, 'x', sizeof(url) - 1);                      /* the client keeps a copy */
    struct hgot h2 = { 0 };
    CHECK(xb_http_post_form(http, echo_url, xb_secret_new("a=b", 3), http_cb, &h2) != NULL);
    CHECK(run_until(&h2.calls, 1, 5000));
    CHECK(h2.err == XB_ERR_TEMP);
    CHECK(has(h2.why, "cannot connect to the web proxy 127.0.0.1:1"));
    CHECK(!has(h2.why, "Secret1") && !has(h2.why, "alice"));
    char proxy[128] = "", why[320] = "";
    CHECK(xb_http_proxy_failure(http, "127.0.0.1", proxy, sizeof(proxy), why, sizeof(why)));
    CHECK_STR(proxy, "127.0.0.1:1");
    CHECK(!xb_http_proxy_failure(http, "example.org", proxy, sizeof(proxy), why, sizeof(why)));

    /* Direct again: the request gets through and the failure is forgotten. */
    CHECK(xb_http_set_proxy(http, &direct) == XB_OK);
    struct hgot h3 = { 0 };
    CHECK(xb_http_post_form(http, echo_url, xb_secret_new("a=b", 3), http_cb, &h3) != NULL);
    CHECK(run_until(&h3.calls, 1, 5000));
    CHECK(h3.err == XB_OK);
    CHECK(!xb_http_proxy_failure(http, "127.0.0.1", proxy, sizeof(proxy), why, sizeof(why)));
    struct xb_web_proxy bad = { XB_WEB_PROXY_URL, NULL };
    CHECK(xb_http_set_proxy(http, &bad) == XB_ERR_INVAL);
    xb_http_free(http);
}

static void http_body_cap(void)
{
    struct xb_http *http = client(10);
    struct xb_provider p = loop_provider();
    struct hgot h = { 0 };
    g_returned = true;
    CHECK(xb_http_post_form(http, big_url, xb_secret_new("x=1", 3), http_cb, &h) != NULL);
    CHECK(run_until(&h.calls, 1, 5000));
    CHECK(h.err == XB_ERR_RANGE);
    CHECK(h.len == 0 && h.body[0] == '\0');
    CHECK(has(h.why, "longer than 256 KiB"));

    struct got g = { 0 };
    p.token_url = big_url;
    CHECK(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g) != NULL);
    CHECK(run_until(&g.calls, 1, 5000));
    CHECK(g.err == XB_ERR_TEMP && has(g.why, "too long"));
    xb_http_free(http);
}

static double now_s(void)
{
    struct timeval tv;
    evutil_gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void http_timeout_and_unreachable(void)
{
    struct xb_http *http = client(1);
    struct xb_provider p = loop_provider();
    p.token_url = hang_url;
    struct got g = { 0 };
    double t0 = now_s();
    CHECK(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g) != NULL);
    CHECK(run_until(&g.calls, 1, 5000));
    double took = now_s() - t0;
    CHECK(g.err == XB_ERR_TEMP);
    CHECK(has(g.why, "cannot reach the token endpoint") && has(g.why, "timed out"));
    CHECK(took > 0.8 && took < 3.0);
    printf("#   timed out after %.2f s: %s\n", took, g.why);

    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/token", closed_port());
    p.token_url = url;
    struct got g2 = { 0 };
    CHECK(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g2) != NULL);
    CHECK(run_until(&g2.calls, 1, 5000));
    CHECK(g2.err == XB_ERR_TEMP);
    CHECK(has(g2.why, "cannot reach the token endpoint"));
    printf("#   unreachable: %s\n", g2.why);

    /* Only http and https. */
    struct got g3 = { 0 };
    p.token_url = (char *)(uintptr_t)"ftp://127.0.0.1/token";
    CHECK(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g3) != NULL);
    CHECK(run_until(&g3.calls, 1, 5000));
    CHECK(g3.err == XB_ERR_TEMP);
    xb_http_free(http);
}

static void http_cancel_and_free(void)
{
    struct xb_http *http = client(10);
    struct xb_provider p = loop_provider();
    S.status = 200;
    S.body = OKBODY("");

    /* Cancelled at once. */
    struct got g = { 0 };
    xb_http_cancel(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g));
    run_for(100);
    CHECK(g.calls == 0);

    /* Cancelled after the server has answered, before the client has read it. */
    int hits = S.hits;
    struct xb_http_req *req = xb_oauth_refresh(http, &p, "rt", oauth_cb, &g);
    CHECK(run_until(&S.hits, hits + 1, 5000));
    xb_http_cancel(req);
    run_for(200);
    CHECK(g.calls == 0);

    /* Freed with requests pending (two hanging, one answered): no callbacks. */
    struct hgot h = { 0 };
    p.token_url = hang_url;
    CHECK(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g) != NULL);
    CHECK(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g) != NULL);
    CHECK(xb_http_post_form(http, echo_url, xb_secret_new("a=b", 3), http_cb, &h) != NULL);
    hits = S.hits;
    run_until(&S.hits, hits + 3, 2000);
    xb_http_free(http);
    run_for(200);
    CHECK(g.calls == 0 && h.calls == 0);
}

/* A callback may free the client (the other request never calls back) or start a new
 * request on it. */
static void http_callback_reentry(void)
{
    struct xb_http *http = client(10);
    struct xb_provider p = loop_provider();
    S.status = 200;
    S.body = OKBODY("");
    struct got g = { 0 };
    g.free_http = &http;
    CHECK(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g) != NULL);
    CHECK(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g) != NULL);
    CHECK(run_until(&g.calls, 1, 5000));
    CHECK(http == NULL);
    run_for(200);
    CHECK(g.calls == 1);

    http = client(10);
    struct got g2 = { 0 };
    g2.retry_http = &http;
    CHECK(xb_oauth_refresh(http, &p, "rt", oauth_cb, &g2) != NULL);
    CHECK(run_until(&g2.calls, 2, 5000));
    CHECK(g2.err == XB_OK);
    CHECK_STR(S.form, "grant_type=refresh_token&refresh_token=again"
                      "&client_id=123-abc.apps.googleusercontent.com"
                      "&client_secret=GOCSPX-not%2Bso%2Fsecret");
    xb_http_free(http);
}

static void http_server_start(void)
{
    if (!server_start()) {
        printf("Bail out! cannot start the loopback HTTP server\n");
        exit(1);
    }
    CHECK(S.port != 0);
}

static void http_server_stop(void)
{
    evhttp_free(S.http);
    event_base_free(S.base);
    memset(&S, 0, sizeof(S));
}

XBTEST_MAIN(XBTEST(pkce_rfc7636_appendix_b), XBTEST(pkce_and_state_shape_and_uniqueness),
            XBTEST(url_encode_reserved), XBTEST(form_add_encodes_values),
            XBTEST(auth_url_google_with_hd), XBTEST(auth_url_microsoft),
            XBTEST(auth_url_custom_with_query), XBTEST(auth_url_identity),
            XBTEST(token_answers_as_data),
            XBTEST(huge_error_description),
            XBTEST(http_server_start),
            XBTEST(http_web_proxy),
            XBTEST(http_refresh_round_trip),
            XBTEST(http_refresh_without_client_secret),
            XBTEST(http_exchange_code_form),
            XBTEST(http_refresh_errors),
            XBTEST(http_revoke),
            XBTEST(http_fail_before_sending),
            XBTEST(http_post_form_direct),
            XBTEST(http_body_cap),
            XBTEST(http_timeout_and_unreachable),
            XBTEST(http_cancel_and_free),
            XBTEST(http_callback_reentry),
            XBTEST(http_server_stop))
