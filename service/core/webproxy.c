/*
 * Web proxy syntax: see webproxy.h. Every check works on (pointer, length) views of the
 * text it was given; nothing is allocated.
 */
#include "core/webproxy.h"

#include <stdio.h>
#include <string.h>

#include "core/addr.h"
#include "core/ascii.h"

#define HOSTPORT_MAX 300

static bool starts_ci(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && xb_ascii_eq_ci(s, n, prefix);
}

/* "name://" somewhere in s[0..len) (s need not end there). */
static bool has_scheme(const char *s, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/')
            return i > 0;
    }
    return false;
}

/* host:port as xb_hostport_parse takes it (a NUL-terminated copy). */
static bool hostport_ok(const char *s, size_t len)
{
    char buf[HOSTPORT_MAX], host[HOSTPORT_MAX];
    unsigned port;
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return xb_hostport_parse(buf, host, sizeof(host), &port, false);
}

bool xb_webproxy_url_check(const char *url, size_t len, char *why, size_t n)
{
    static const char http[] = "http://";
    const size_t plen = sizeof(http) - 1;
    if (len > XB_WEBPROXY_URL_MAX) {
        snprintf(why, n, "longer than %d characters", XB_WEBPROXY_URL_MAX);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f) {
            snprintf(why, n, "contains a blank or a control character");
            return false;
        }
    }
    if (!starts_ci(url, len, http)) {
        if (starts_ci(url, len, "https://"))
            snprintf(why, n, "an HTTPS proxy (https://) is not supported: give the proxy as "
                             "http://host:port (the connection to the server is TLS through "
                             "the proxy's tunnel all the same)");
        else if (has_scheme(url, len))
            snprintf(why, n, "only http:// proxies are supported (no SOCKS)");
        else
            snprintf(why, n, "not a proxy URL");
        return false;
    }
    const char *auth = url + plen;
    size_t alen = len - plen;
    if (alen && auth[alen - 1] == '/')
        alen--;                                  /* "http://proxy:8080/" */
    if (memchr(auth, '/', alen) || memchr(auth, '?', alen) || memchr(auth, '#', alen)) {
        snprintf(why, n, "a proxy URL has no path: write http://host:port");
        return false;
    }
    const char *at = memchr(auth, '@', alen);
    if (at) {
        if (memchr(at + 1, '@', alen - (size_t)(at + 1 - auth))) {
            snprintf(why, n, "more than one '@': write an '@' in the user name or password "
                             "as %%40");
            return false;
        }
        if (at == auth || auth[0] == ':') {
            snprintf(why, n, "the user name before '@' is empty");
            return false;
        }
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    if (!hostport_ok(auth, alen)) {
        snprintf(why, n, "after http:// comes the proxy's host name or address and a port "
                         "from 1 to 65535 (host:port)");
        return false;
    }
    return true;
}

/* The authority of a URL or of a bare host:port: [start, end) without "scheme://", the
 * path, or the user information. */
static void authority(const char *url, const char **start, size_t *len)
{
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    size_t n = strcspn(s, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '@')
            at = s + i;
    }
    if (at) {
        n -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    *start = s;
    *len = n;
}

void xb_webproxy_name(const char *url, char *out, size_t n)
{
    const char *s;
    size_t len;
    if (!url) {
        snprintf(out, n, "(?)");
        return;
    }
    authority(url, &s, &len);
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            len = 0;
            break;
        }
    }
    if (len == 0 || len > HOSTPORT_MAX)
        snprintf(out, n, "(?)");
    else
        snprintf(out, n, "%.*s", (int)len, s);
}

bool xb_webproxy_has_credentials(const char *url)
{
    if (!url)
        return false;
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    size_t n = strcspn(s, "/?#");
    return memchr(s, '@', n) != NULL;
}

bool xb_webproxy_url_parts(const char *url, char *scheme, size_t scheme_n, char *host,
                           size_t host_n, unsigned *port)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep || sep == url || (size_t)(sep - url) >= scheme_n)
        return false;
    size_t sl = (size_t)(sep - url);
    for (size_t i = 0; i < sl; i++)
        scheme[i] = xb_ascii_lower(url[i]);
    scheme[sl] = '\0';
    const char *a;
    size_t alen;
    authority(url, &a, &alen);
    const char *h = a, *colon = NULL;
    size_t hlen = alen;
    if (alen && a[0] == '[') {
        const char *rb = memchr(a, ']', alen);
        if (!rb)
            return false;
        hlen = (size_t)(rb - a) + 1;
        if (hlen < alen) {
            if (a[hlen] != ':')
                return false;
            colon = a + hlen;
        }
    } else {
        colon = memchr(a, ':', alen);
        if (colon)
            hlen = (size_t)(colon - a);
    }
    unsigned p = strcmp(scheme, "https") == 0 ? 443 : 80;
    if (colon) {
        size_t digits = alen - (size_t)(colon + 1 - a);
        p = 0;
        if (digits == 0 || digits > 5)
            return false;
        for (size_t i = 0; i < digits; i++) {
            if (!xb_ascii_is_digit(colon[1 + i]))
                return false;
            p = p * 10 + (unsigned)(colon[1 + i] - '0');
        }
        if (p == 0 || p > 65535)
            return false;
    }
    if (hlen == 0 || hlen >= host_n)
        return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = p;
    return true;
}

/* --- Windows' lists ------------------------------------------------------------------ */

/* The next entry of a list separated by any of seps: [*p, *p + *len), or false at the end. */
static bool next_entry(const char **cur, const char *seps, const char **p, size_t *len)
{
    const char *s = *cur;
    while (*s && strchr(seps, *s))
        s++;
    if (!*s)
        return false;
    size_t n = strcspn(s, seps);
    *p = s;
    *len = n;
    *cur = s + n;
    return true;
}

bool xb_webproxy_pick(const char *list, const char *scheme, char *out, size_t n)
{
    const char *cur = list ? list : "", *e, *chosen = NULL, *plain = NULL;
    size_t elen, clen = 0, plen = 0, slen = strlen(scheme);
    while (next_entry(&cur, "; \t\r\n", &e, &elen)) {
        const char *eq = memchr(e, '=', elen);
        if (!eq) {
            if (!plain) {
                plain = e;
                plen = elen;
            }
        } else if ((size_t)(eq - e) == slen && xb_ascii_eq_ci(e, slen, scheme) && !chosen) {
            chosen = eq + 1;
            clen = elen - slen - 1;
        }
    }
    if (!chosen) {
        chosen = plain;
        clen = plen;
    }
    if (!chosen)
        return false;
    /* "http://proxy:8080" and "https://proxy:8080" are written too: the proxy is spoken
     * to in HTTP either way (Windows' own stack does the same). */
    if (starts_ci(chosen, clen, "http://")) {
        chosen += 7;
        clen -= 7;
    } else if (starts_ci(chosen, clen, "https://")) {
        chosen += 8;
        clen -= 8;
    }
    while (clen && chosen[clen - 1] == '/')
        clen--;
    char hp[HOSTPORT_MAX];
    bool has_port = false;
    if (clen && chosen[0] == '[') {
        const char *rb = memchr(chosen, ']', clen);
        has_port = rb && (size_t)(rb - chosen) + 1 < clen && rb[1] == ':';
    } else {
        has_port = memchr(chosen, ':', clen) != NULL;
    }
    int w = snprintf(hp, sizeof(hp), "%.*s%s", (int)clen, chosen, has_port ? "" : ":80");
    if (w < 0 || (size_t)w >= sizeof(hp) || !hostport_ok(hp, (size_t)w))
        return false;
    w = snprintf(out, n, "http://%s", hp);
    return w > 0 && (size_t)w < n;
}

/* pattern[0..plen) with '*' wildcards against s, in any ASCII case. */
static bool glob_ci(const char *pat, size_t plen, const char *s, size_t slen)
{
    size_t p = 0, i = 0, star = (size_t)-1, mark = 0;
    while (i < slen) {
        if (p < plen && pat[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < plen && xb_ascii_lower(pat[p]) == xb_ascii_lower(s[i])) {
            p++;
            i++;
        } else if (star != (size_t)-1) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

bool xb_webproxy_bypassed(const char *list, const char *scheme, const char *host,
                          unsigned port)
{
    const char *cur = list ? list : "", *e;
    size_t elen, hlen = strlen(host);
    while (next_entry(&cur, "; ,\t\r\n", &e, &elen)) {
        if (xb_ascii_eq_ci(e, elen, "<local>")) {
            /* An intranet name: no dot, and not an address. */
            if (hlen && !memchr(host, '.', hlen) && host[0] != '[' && !memchr(host, ':', hlen))
                return true;
            continue;
        }
        const char *sep = NULL;
        for (size_t i = 0; i + 2 < elen; i++) {
            if (e[i] == ':' && e[i + 1] == '/' && e[i + 2] == '/') {
                sep = e + i;
                break;
            }
        }
        if (sep) {
            size_t sl = (size_t)(sep - e);
            if (sl != strlen(scheme) || !xb_ascii_eq_ci(e, sl, scheme))
                continue;                            /* an entry for another scheme */
            elen -= sl + 3;
            e = sep + 3;
        }
        /* ":port" behind a name, an IPv4 address or a bracketed IPv6 address. */
        size_t d = elen;
        while (d && xb_ascii_is_digit(e[d - 1]))
            d--;
        if (d && d < elen && e[d - 1] == ':' &&
            (e[0] == '[' ? d >= 2 && e[d - 2] == ']' : !memchr(e, ':', d - 1))) {
            unsigned want = 0;
            for (size_t i = d; i < elen && want <= 65535; i++)
                want = want * 10 + (unsigned)(e[i] - '0');
            if (want != port)
                continue;
            elen = d - 1;
        }
        if (elen && glob_ci(e, elen, host, hlen))
            return true;
    }
    return false;
}
