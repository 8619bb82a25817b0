#include "core/addr.h"

#include <string.h>

#include "core/ascii.h"
#include "core/config.h"
#include "core/parse.h"


bool xb_addr_ipv4(const char *s, size_t len, unsigned char out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < len && xb_ascii_is_digit(s[i]) && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
            return false;
        out[part] = (unsigned char)v;
    }
    return i == len;
}

static int hex_value(char c)
{
    if (xb_ascii_is_digit(c))
        return c - '0';
    c = xb_ascii_lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

bool xb_addr_ipv6(const char *s, size_t len, unsigned char out[16])
{
    unsigned char buf[16];
    size_t n = 0, i = 0;
    long gap = -1; /* where "::" stands */
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (len == 0 || s[0] == ':') {
        return false;
    }
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ':')
            j++;
        if (j == len && memchr(s + i, '.', len - i)) {
            if (n > 12 || !xb_addr_ipv4(s + i, len - i, buf + n))
                return false;
            n += 4;
            break;
        }
        if (j == i || j - i > 4 || n >= 16)
            return false;
        unsigned v = 0;
        for (size_t k = i; k < j; k++) {
            int h = hex_value(s[k]);
            if (h < 0)
                return false;
            v = v * 16 + (unsigned)h;
        }
        buf[n++] = (unsigned char)(v >> 8);
        buf[n++] = (unsigned char)v;
        if (j == len)
            break;
        i = j + 1;
        if (i < len && s[i] == ':') {
            if (gap >= 0)
                return false;
            gap = (long)n;
            i++;
        } else if (i == len) {
            return false; /* a single trailing colon */
        }
    }
    if (gap < 0 ? n != 16 : n == 16)
        return false; /* eight groups, or "::" standing for at least one */
    memset(out, 0, 16);
    size_t head = gap < 0 ? n : (size_t)gap, tail = n - head;
    memcpy(out, buf, head);
    memcpy(out + 16 - tail, buf + head, tail);
    return true;
}

bool xb_addr_is_loopback(const char *h, size_t len)
{
    static const unsigned char v6_loop[16] = { [15] = 1 };
    static const unsigned char v4_mapped[12] = { [10] = 0xff, [11] = 0xff };
    unsigned char a[16];
    if (xb_ascii_eq_ci(h, len, "localhost"))
        return true;
    if (xb_addr_ipv4(h, len, a))
        return a[0] == 127;
    if (xb_addr_ipv6(h, len, a))
        return memcmp(a, v6_loop, 16) == 0 || (memcmp(a, v4_mapped, 12) == 0 && a[12] == 127);
    return false;
}

/* A DNS name or an IPv4 address: letters, digits, '-', '_', '.'; all-numeric must be IPv4. */
static bool valid_hostname(const char *h, size_t len)
{
    bool numeric = true;
    if (len == 0 || len > 253 || h[0] == '.' || h[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = xb_ascii_lower(h[i]);
        if (!xb_ascii_is_digit(c) && c != '.')
            numeric = false;
        if (!xb_ascii_is_digit(c) && !(c >= 'a' && c <= 'z') && c != '-' && c != '_' && c != '.')
            return false;
    }
    unsigned char a[4];
    return !numeric || xb_addr_ipv4(h, len, a);
}

bool xb_hostport_parse(const char *s, char *host, size_t host_size, unsigned *port,
                             bool allow_port0)
{
    if (!s || !host || host_size == 0 || !port)
        return false;
    const char *h, *p;
    size_t hlen;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        unsigned char a[16];
        if (!rb || rb[1] != ':')
            return false;
        h = s + 1;
        hlen = (size_t)(rb - h);
        if (!xb_addr_ipv6(h, hlen, a))
            return false;
        p = rb + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return false;
        h = s;
        hlen = (size_t)(colon - s);
        if (!valid_hostname(h, hlen))
            return false;
        p = colon + 1;
    }
    unsigned v = 0;
    size_t digits = 0;
    for (; xb_ascii_is_digit(p[digits]) && digits < 6; digits++)
        v = v * 10 + (unsigned)(p[digits] - '0');
    if (digits == 0 || p[digits] != '\0' || (v < 1 && !allow_port0) || v > 65535 ||
        hlen >= host_size)
        return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = v;
    return true;
}

bool xb_addr_url_ok(const char *url, size_t len)
{
    size_t skip;
    bool plain = false;
    if (len > 8 && xb_ascii_eq_ci(url, 8, "https://")) {
        skip = 8;
    } else if (len > 7 && xb_ascii_eq_ci(url, 7, "http://")) {
        skip = 7;
        plain = true;
    } else {
        return false;
    }
    size_t end = skip;
    while (end < len && url[end] != '/' && url[end] != '?' && url[end] != '#')
        end++;
    const char *auth = url + skip;
    size_t alen = end - skip;
    if (alen == 0 || memchr(auth, '@', alen) || memchr(url, ' ', len) ||
        memchr(url, '\t', len))
        return false;
    if (!plain)
        return true;
    const char *h = auth;
    size_t hlen = alen;
    if (h[0] == '[') {
        const char *rb = memchr(h, ']', alen);
        if (!rb)
            return false;
        h++;
        hlen = (size_t)(rb - h);
    } else {
        const char *colon = memchr(h, ':', alen);
        if (colon)
            hlen = (size_t)(colon - h);
    }
    return xb_addr_is_loopback(h, hlen);
}
