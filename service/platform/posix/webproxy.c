/*
 * web_proxy = system on POSIX: the environment. libcurl reads it by itself when a
 * request sets no proxy, which is what http.c does for `system`: <scheme>_proxy
 * (https_proxy, then HTTPS_PROXY; for http:// only http_proxy), else all_proxy, then
 * ALL_PROXY, and no_proxy, then NO_PROXY. This file only says what the environment
 * names, in libcurl's order, for the log and for messages; it decides nothing.
 */
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ascii.h"
#include "core/mem.h"
#include "core/webproxy.h"

struct xb_plat_webproxy {
    int unused;
};

enum xb_err xb_plat_webproxy_new(struct event_base *base, xb_plat_webproxy_ready_fn *ready,
                                 void *arg, struct xb_plat_webproxy **out)
{
    (void)base;
    (void)ready;
    (void)arg;
    *out = xb_new(struct xb_plat_webproxy);
    return *out ? XB_OK : XB_ERR_NOMEM;
}

void xb_plat_webproxy_free(struct xb_plat_webproxy *wp)
{
    xb_free(wp);
}

/* The first of names that is set (empty counts: libcurl then uses no proxy). */
static const char *first_set(const char *const *names, const char **which)
{
    for (; *names; names++) {
        const char *v = getenv(*names);
        if (v) {
            *which = *names;
            return v;
        }
    }
    return NULL;
}

enum xb_err xb_plat_webproxy_find(struct xb_plat_webproxy *wp, const char *url,
                                  struct xb_webproxy_answer *out)
{
    static const char *const https_names[] = { "https_proxy", "HTTPS_PROXY", "all_proxy",
                                               "ALL_PROXY", NULL };
    /* libcurl never reads HTTP_PROXY: a CGI program gets it from a request header. */
    static const char *const http_names[] = { "http_proxy", "all_proxy", "ALL_PROXY", NULL };
    static const char *const no_names[] = { "no_proxy", "NO_PROXY", NULL };
    bool https = url && strlen(url) >= 8 && xb_ascii_eq_ci(url, 8, "https://");
    const char *which = NULL, *nwhich = NULL;
    const char *proxy = first_set(https ? https_names : http_names, &which);
    const char *no = first_set(no_names, &nwhich);
    (void)wp;

    memset(out, 0, sizeof(*out));
    out->how = XB_WEBPROXY_ENV;
    if (!proxy || !*proxy) {
        snprintf(out->source, sizeof(out->source), "the environment names no proxy%s%s",
                 which ? " (" : "", which ? which : "");
        if (which)
            snprintf(out->source + strlen(out->source),
                     sizeof(out->source) - strlen(out->source), " is empty)");
        return XB_OK;
    }
    if (no && strcmp(no, "*") == 0) {
        snprintf(out->source, sizeof(out->source), "the environment: %s=* turns %s off",
                 nwhich, which);
        return XB_OK;
    }
    xb_webproxy_name(proxy, out->proxy, sizeof(out->proxy));
    out->sure = !no || !*no;
    /* The lists of no_proxy are host names, not secrets; shortened for the log. */
    if (out->sure)
        snprintf(out->source, sizeof(out->source), "the environment (%s)", which);
    else
        snprintf(out->source, sizeof(out->source), "the environment (%s; %s=%.120s)", which,
                 nwhich, no);
    return XB_OK;
}
