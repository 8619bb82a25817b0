/*
 * Web proxy syntax (core/webproxy.c): the web_proxy URL, a proxy's name for logs (never
 * its password), request URLs taken apart, and Windows' proxy and bypass lists as
 * Internet Options and WinHTTP store them (the decision platform/win32/webproxy.c uses).
 */
#include <stdio.h>
#include <string.h>

#include "core/webproxy.h"

#include "xbtest.h"

static bool url_ok(const char *url)
{
    char why[256];
    return xb_webproxy_url_check(url, strlen(url), why, sizeof(why));
}

static void proxy_urls(void)
{
    CHECK(url_ok("http://proxy.example.ac.jp:8080"));
    CHECK(url_ok("http://proxy.example.ac.jp:8080/"));
    CHECK(url_ok("HTTP://10.1.2.3:3128"));
    CHECK(url_ok("http://[2001:db8::1]:3128"));
    CHECK(url_ok("http://alice:s%3Acret@proxy:8080"));
    CHECK(url_ok("http://alice@proxy:8080"));
    CHECK(!url_ok("proxy:8080"));
    CHECK(!url_ok("http://proxy"));
    CHECK(!url_ok("http://proxy:0"));
    CHECK(!url_ok("http://proxy:65536"));
    CHECK(!url_ok("http://proxy:8080/path"));
    CHECK(!url_ok("http://proxy:8080?x"));
    CHECK(!url_ok("http://pro xy:8080"));
    CHECK(!url_ok("http://a@b@proxy:8080"));
    CHECK(!url_ok("http://:pw@proxy:8080"));
    CHECK(!url_ok("https://proxy:8080"));
    CHECK(!url_ok("socks5h://proxy:1080"));
    CHECK(!url_ok("http://"));
    /* A view: only len bytes count, whatever follows. */
    char why[256];
    CHECK(xb_webproxy_url_check("http://p:1XYZ", 10, why, sizeof(why)));
    CHECK(!xb_webproxy_url_check("http://p:1", 8, why, sizeof(why)));
    /* The reason never carries the password. */
    CHECK(!xb_webproxy_url_check("http://u:TopSecret@p", 20, why, sizeof(why)));
    CHECK(strstr(why, "TopSecret") == NULL);
}

static void names_without_passwords(void)
{
    char out[64];
    xb_webproxy_name("http://alice:TopSecret@proxy.example:8080/", out, sizeof(out));
    CHECK_STR(out, "proxy.example:8080");
    xb_webproxy_name("proxy.example:8080", out, sizeof(out));
    CHECK_STR(out, "proxy.example:8080");
    xb_webproxy_name("http://[::1]:3128", out, sizeof(out));
    CHECK_STR(out, "[::1]:3128");
    xb_webproxy_name("http://a:b@", out, sizeof(out));
    CHECK_STR(out, "(?)");
    xb_webproxy_name(NULL, out, sizeof(out));
    CHECK_STR(out, "(?)");
    CHECK(xb_webproxy_has_credentials("http://alice:x@proxy:1"));
    CHECK(xb_webproxy_has_credentials("alice@proxy:1"));
    CHECK(!xb_webproxy_has_credentials("http://proxy:1/a@b"));
    CHECK(!xb_webproxy_has_credentials(NULL));
}

static void request_urls(void)
{
    char scheme[16], host[64];
    unsigned port = 0;
    CHECK(xb_webproxy_url_parts("https://oauth2.googleapis.com/token", scheme, sizeof(scheme),
                                host, sizeof(host), &port));
    CHECK_STR(scheme, "https");
    CHECK_STR(host, "oauth2.googleapis.com");
    CHECK(port == 443);
    CHECK(xb_webproxy_url_parts("HTTP://127.0.0.1:3000/token", scheme, sizeof(scheme), host,
                                sizeof(host), &port));
    CHECK_STR(scheme, "http");
    CHECK(port == 3000);
    CHECK(xb_webproxy_url_parts("https://[::1]:8443", scheme, sizeof(scheme), host,
                                sizeof(host), &port));
    CHECK_STR(host, "[::1]");
    CHECK(port == 8443);
    CHECK(!xb_webproxy_url_parts("oauth2.googleapis.com", scheme, sizeof(scheme), host,
                                 sizeof(host), &port));
    CHECK(!xb_webproxy_url_parts("https://h:99999/", scheme, sizeof(scheme), host,
                                 sizeof(host), &port));
    CHECK(!xb_webproxy_url_parts("https://:443/", scheme, sizeof(scheme), host, sizeof(host),
                                 &port));
}

/* Internet Options' "Proxy server" list: one proxy for all, or one per scheme. */
static void windows_proxy_lists(void)
{
    char out[128];
    CHECK(xb_webproxy_pick("proxy.example:8080", "https", out, sizeof(out)));
    CHECK_STR(out, "http://proxy.example:8080");
    CHECK(xb_webproxy_pick("http=a.example:80;https=b.example:8443;ftp=c:21", "https", out,
                           sizeof(out)));
    CHECK_STR(out, "http://b.example:8443");
    CHECK(xb_webproxy_pick("HTTPS=b.example:8443", "https", out, sizeof(out)));
    CHECK_STR(out, "http://b.example:8443");
    /* Only another scheme's proxy, or SOCKS: none for https. */
    CHECK(!xb_webproxy_pick("http=a.example:80", "https", out, sizeof(out)));
    CHECK(!xb_webproxy_pick("socks=s.example:1080", "https", out, sizeof(out)));
    /* No port: 80, as Windows. URL forms are written too. */
    CHECK(xb_webproxy_pick("proxy.example", "https", out, sizeof(out)));
    CHECK_STR(out, "http://proxy.example:80");
    CHECK(xb_webproxy_pick("https=http://b.example:3128/", "https", out, sizeof(out)));
    CHECK_STR(out, "http://b.example:3128");
    CHECK(xb_webproxy_pick("[2001:db8::1]:3128", "https", out, sizeof(out)));
    CHECK_STR(out, "http://[2001:db8::1]:3128");
    /* WinHTTP's answer from a script: a list, the first counts. */
    CHECK(xb_webproxy_pick("p1.example:8080; p2.example:8080", "http", out, sizeof(out)));
    CHECK_STR(out, "http://p1.example:8080");
    CHECK(!xb_webproxy_pick("", "https", out, sizeof(out)));
    CHECK(!xb_webproxy_pick(NULL, "https", out, sizeof(out)));
    CHECK(!xb_webproxy_pick("bad_host!:80", "https", out, sizeof(out)));
}

/* "Do not use proxy server for addresses beginning with" and "Bypass for local addresses". */
static void windows_bypass_lists(void)
{
    const char *list = "*.example.ac.jp;10.*; intranet ,<local>;https://secure.example:8443;"
                       "http://plain.example";
    CHECK(xb_webproxy_bypassed(list, "https", "mail.example.ac.jp", 443));
    CHECK(xb_webproxy_bypassed(list, "https", "MAIL.Example.AC.JP", 443));
    CHECK(!xb_webproxy_bypassed(list, "https", "example.ac.jp", 443));
    CHECK(xb_webproxy_bypassed(list, "https", "10.1.2.3", 443));
    CHECK(!xb_webproxy_bypassed(list, "https", "110.1.2.3", 443));
    CHECK(xb_webproxy_bypassed(list, "https", "intranet", 443));
    /* <local>: any name without a dot, never an address. */
    CHECK(xb_webproxy_bypassed(list, "https", "wiki", 443));
    CHECK(!xb_webproxy_bypassed("<local>", "https", "[::1]", 443));
    CHECK(!xb_webproxy_bypassed("<local>", "https", "oauth2.googleapis.com", 443));
    /* Scheme and port, when an entry names them. */
    CHECK(xb_webproxy_bypassed(list, "https", "secure.example", 8443));
    CHECK(!xb_webproxy_bypassed(list, "https", "secure.example", 443));
    CHECK(!xb_webproxy_bypassed(list, "https", "plain.example", 443));
    CHECK(xb_webproxy_bypassed(list, "http", "plain.example", 80));
    CHECK(!xb_webproxy_bypassed(list, "https", "oauth2.googleapis.com", 443));
    CHECK(xb_webproxy_bypassed("*", "https", "oauth2.googleapis.com", 443));
    CHECK(xb_webproxy_bypassed("127.0.0.1:3000", "http", "127.0.0.1", 3000));
    CHECK(!xb_webproxy_bypassed("127.0.0.1:3000", "http", "127.0.0.1", 3001));
    CHECK(xb_webproxy_bypassed("[::1]", "https", "[::1]", 443));
    CHECK(!xb_webproxy_bypassed(NULL, "https", "x", 443));
    CHECK(!xb_webproxy_bypassed("", "https", "x", 443));
}

XBTEST_MAIN(XBTEST(proxy_urls), XBTEST(names_without_passwords), XBTEST(request_urls),
            XBTEST(windows_proxy_lists), XBTEST(windows_bypass_lists))
