/*
 * xoauthbridge serve: the proxy in the foreground (the POSIX daemon front end; on
 * Windows the tray front end runs the same core). Clean shutdown on SIGINT/SIGTERM:
 * listeners close, every session gets a goodbye line, then the loop ends.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "front.h"
#include "core/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/proxy.h"
#include "core/store.h"
#include "core/http.h"
#include "core/tokens_oauth.h"
#include "platform/platform.h"

struct serve_ctx {
    struct event_base *base;
    struct xb_http *http;
    struct xb_proxy *px;
    FILE *logf;
};

static void file_sink(void *ctx, enum xb_log_level level, const char *line)
{
    FILE *f = ctx;
    fputs(line, f);
    fputc('\n', f);
    fflush(f);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct serve_ctx *sc = arg;
    struct timeval grace = { 2, 0 };
    xb_log_info("signal %d: shutting down", (int)sig);
    xb_proxy_shutdown(sc->px);
    /* Sessions flush their goodbye lines; whatever is left after the grace is cut. */
    event_base_loopexit(sc->base, &grace);
}

/* Writes {"imap":"127.0.0.1:1143",...} for scripts and tests that asked for port 0. */
static int write_ready_file(struct xb_proxy *px, const char *path)
{
    static const char *const names[XB_PROTO__COUNT] = { "imap", "pop3", "smtp" };
    cJSON *o = cJSON_CreateObject();
    char addr[128];
    for (int i = 0; i < XB_PROTO__COUNT; i++) {
        xb_proxy_listen_addr(px, (enum xb_proto_id)i, addr, sizeof(addr));
        if (addr[0])
            cJSON_AddStringToObject(o, names[i], addr);
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return -1;
    int rc = xb_plat_file_replace(path, text, strlen(text)) == XB_OK ? 0 : -1;
    cJSON_free(text);
    return rc;
}

int xb_cmd_serve(int argc, char **argv)
{
    struct xb_cli_env env;
    struct serve_ctx sc = { 0 };
    struct xb_token_source *tokens = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    char *errmsg = NULL;
    int rc = 1;

    const char *ready = xb_cli_take_opt(&argc, argv, "ready-file");
    if (xb_cli_open(&argc, argv, true, &env) != 0)
        return 1;
    if (argc > 1) {
        fprintf(stderr, "xoauthbridge serve: unexpected argument '%s'\n", argv[1]);
        xb_cli_close(&env);
        return 2;
    }
    if (env.cfg->log_file) {
        sc.logf = fopen(env.cfg->log_file, "a");
        if (!sc.logf) {
            fprintf(stderr, "xoauthbridge: cannot open the log file '%s'\n", env.cfg->log_file);
            goto out;
        }
        xb_log_set_sink(file_sink, sc.logf);
    }

    sc.base = event_base_new();
    if (sc.base)
        xb_http_new(sc.base, env.cfg->ca_file, env.cfg->connect_timeout, &sc.http);
    tokens = sc.http ? xb_tokens_oauth_new(sc.base, env.cfg, env.store, sc.http) : NULL;
    if (!tokens) {
        xb_log_error("out of memory");
        goto out;
    }
    if (xb_proxy_new(sc.base, env.cfg, env.store, tokens, &sc.px, &errmsg) != XB_OK ||
        xb_proxy_listen(sc.px, &errmsg) != XB_OK) {
        xb_log_error("%s", errmsg ? errmsg : "cannot start the proxy");
        goto out;
    }
    sigint = evsignal_new(sc.base, SIGINT, signal_cb, &sc);
    sigterm = evsignal_new(sc.base, SIGTERM, signal_cb, &sc);
    if (!sigint || !sigterm || evsignal_add(sigint, NULL) || evsignal_add(sigterm, NULL)) {
        xb_log_error("cannot install signal handlers");
        goto out;
    }
    if (ready && write_ready_file(sc.px, ready) != 0) {
        xb_log_error("cannot write the ready file '%s'", ready);
        goto out;
    }
    xb_log_info("ready");
    event_base_dispatch(sc.base);
    xb_log_info("stopped");
    rc = 0;
out:
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    xb_proxy_free(sc.px);
    xb_tokens_free(tokens);
    xb_http_free(sc.http);
    if (sc.base)
        event_base_free(sc.base);
    xb_free(errmsg);
    xb_log_set_sink(NULL, NULL);
    if (sc.logf)
        fclose(sc.logf);
    xb_cli_close(&env);
    return rc;
}
