/*
 * Runs one OAuth request through the companion's own client (oauth.c over http.c on an
 * event loop) and prints the outcome as one line of JSON, for the integration tests:
 *
 *   xb_oauth_probe refresh|revoke TOKEN_URL_OR_REVOKE_URL CLIENT_ID CLIENT_SECRET TOKEN [TIMEOUT]
 *
 *   {"op":"refresh","err":"OK","ok":true,"expires_in":3600,"has_refresh":true,"why":"","seconds":0.012}
 *
 * An empty CLIENT_SECRET sends none. TIMEOUT is the whole request's limit in seconds
 * (default 10). The output never holds a token: with XB_OAUTH_PROBE_TOKEN_FILE set, a new
 * access token is written to that file (mode 0600) so a test can use it. XB_CA_FILE
 * adds a CA file for https. The client's debug log goes to standard error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>

#include "core/config.h"
#include "core/http.h"
#include "core/log.h"
#include "core/oauth.h"
#include "platform/platform.h"

struct probe {
    bool done;
    bool revoke;
    double started;
    const char *token_file;
    struct event_base *base;
};

static const char *const err_names[XB_ERR__COUNT] = {
    [XB_OK] = "OK",
    [XB_ERR_NOMEM] = "NOMEM",
    [XB_ERR_INVAL] = "INVAL",
    [XB_ERR_RANGE] = "RANGE",
    [XB_ERR_IO] = "IO",
    [XB_ERR_NET] = "NET",
    [XB_ERR_TLS] = "TLS",
    [XB_ERR_AUTH] = "AUTH",
    [XB_ERR_TEMP] = "TEMP",
    [XB_ERR_NOTFOUND] = "NOTFOUND",
    [XB_ERR_CRYPTO] = "CRYPTO",
    [XB_ERR_UNSUPPORTED] = "UNSUPPORTED",
    [XB_ERR_AGAIN] = "AGAIN",
};

static double now_s(void)
{
    struct timeval tv;
    evutil_gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* why is printable ASCII (oauth.c sees to it); JSON needs '"' and '\' escaped. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static bool write_token(const char *path, const struct xb_secret *token)
{
    return xb_plat_file_replace(path, token->data, token->len) == XB_OK;
}

static void done_cb(void *arg, struct xb_token_result *r)
{
    struct probe *p = arg;
    p->done = true;
    bool saved = false;
    if (r->err == XB_OK && r->access_token && p->token_file)
        saved = write_token(p->token_file, r->access_token);
    const char *name = (unsigned)r->err < XB_ERR__COUNT ? err_names[r->err] : "?";
    printf("{\"op\":\"%s\",\"err\":\"%s\",\"ok\":%s,\"expires_in\":%lld,\"has_refresh\":%s,"
           "\"token_saved\":%s,\"why\":",
           p->revoke ? "revoke" : "refresh", name, r->err == XB_OK ? "true" : "false",
           (long long)(r->err == XB_OK && !p->revoke ? r->expires_in : 0),
           r->refresh_token ? "true" : "false", saved ? "true" : "false");
    print_json_string(r->why);
    printf(",\"seconds\":%.3f}\n", now_s() - p->started);
    fflush(stdout);
    event_base_loopexit(p->base, NULL);
}

static int usage(void)
{
    fprintf(stderr, "usage: xb_oauth_probe refresh|revoke TOKEN_URL_OR_REVOKE_URL CLIENT_ID "
                    "CLIENT_SECRET TOKEN [TIMEOUT]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7)
        return usage();
    bool revoke = strcmp(argv[1], "revoke") == 0;
    if (!revoke && strcmp(argv[1], "refresh") != 0)
        return usage();
    unsigned timeout = 10;
    if (argc == 7) {
        char *end = NULL;
        long t = strtol(argv[6], &end, 10);
        if (!end || *end || t < 1 || t > 600)
            return usage();
        timeout = (unsigned)t;
    }
    if (xb_plat_init() != 0)
        return 1;
    xb_log_set_level(XB_LOG_DEBUG);

    struct xb_provider prov;
    memset(&prov, 0, sizeof(prov));
    prov.name = (char *)(uintptr_t)"probe";
    prov.kind = XB_PROVIDER_CUSTOM;
    prov.client_id = argv[3];
    prov.client_secret = argv[4][0] ? argv[4] : NULL;
    if (revoke)
        prov.revoke_url = argv[2];
    else
        prov.token_url = argv[2];

    struct probe p = { .revoke = revoke, .token_file = getenv("XB_OAUTH_PROBE_TOKEN_FILE") };
    struct xb_http *http = NULL;
    p.base = event_base_new();
    if (!p.base || xb_http_new(p.base, getenv("XB_CA_FILE"), timeout, &http) != XB_OK) {
        fprintf(stderr, "xb_oauth_probe: cannot set up the event loop or the HTTP client\n");
        return 1;
    }
    p.started = now_s();
    struct xb_http_req *req = revoke ? xb_oauth_revoke(http, &prov, argv[5], done_cb, &p)
                                     : xb_oauth_refresh(http, &prov, argv[5], done_cb, &p);
    if (!req) {
        fprintf(stderr, "xb_oauth_probe: out of memory\n");
        return 1;
    }
    event_base_dispatch(p.base);
    xb_http_free(http);
    event_base_free(p.base);
    if (!p.done) {
        fprintf(stderr, "xb_oauth_probe: the loop ended without a callback\n");
        return 1;
    }
    return 0;
}
