/*
 * Web proxies for the companion's HTTPS requests (token endpoint, revocation): the
 * syntax of what names one, portable so that the unit tests check it on every build.
 *   - the `web_proxy` setting's URL (docs/config.md): http://[user:password@]host:port;
 *   - Windows' proxy list ("host:port", "http=a:8080;https=b:8443") and bypass list
 *     ("*.example.ac.jp;10.*;<local>"), as Internet Options and WinHTTP store them
 *     (platform/win32/webproxy.c reads them; the decision is made here);
 *   - a proxy named for logs and messages: host:port, never a user name or password.
 * No I/O. Which proxy a request takes is http.c's business (docs/decisions.md).
 */
#ifndef XB_WEBPROXY_H
#define XB_WEBPROXY_H

#include <stdbool.h>
#include <stddef.h>

#define XB_WEBPROXY_URL_MAX 512   /* longest web_proxy URL accepted */

/* Whether url[0..len) is a web_proxy URL: http://host:port, an optional user:password@
 * before the host (percent-encoded as in any URL), an optional "/" after the port,
 * nothing else. On false, why (n bytes) says what is wrong, without quoting a password. */
bool xb_webproxy_url_check(const char *url, size_t len, char *why, size_t n);

/* The proxy of a URL ("http://user:pw@proxy.example:8080/", "proxy.example:8080") as
 * host:port for logs and messages ("proxy.example:8080", "[::1]:3128"): never the user
 * name or password. "(?)" when it cannot be made out. */
void xb_webproxy_name(const char *url, char *out, size_t n);

/* Whether the URL carries a user name (and password) before the host. */
bool xb_webproxy_has_credentials(const char *url);

/* The scheme ("https", in lower case), host ("oauth2.googleapis.com", "[::1]") and
 * port (443 when not written for https, 80 for http) of a request URL; false when it
 * is not scheme://host[:port][/...]. */
bool xb_webproxy_url_parts(const char *url, char *scheme, size_t scheme_n, char *host,
                           size_t host_n, unsigned *port);

/* From a Windows proxy list, the proxy for scheme ("https", "http") as a URL libcurl
 * takes ("http://host:port"): the scheme's own entry ("https=host:port"), else the one
 * entry of a list without "name=" entries; port 80 when the entry has none. Entries are
 * separated by ';' or blanks. false: the list has no proxy for that scheme (only other
 * schemes', or a SOCKS entry, which Windows' own HTTP stack does not use either). */
bool xb_webproxy_pick(const char *list, const char *scheme, char *out, size_t n);

/* Whether a Windows bypass list exempts host (port: the URL's) from the proxy. Entries
 * ('; ' or ',' separated) are host patterns with '*' wildcards, in any case, optionally
 * with "https://" in front (an entry for another scheme does not apply) and ":port"
 * behind; "<local>" is every host name without a dot. */
bool xb_webproxy_bypassed(const char *list, const char *scheme, const char *host,
                          unsigned port);

#endif
