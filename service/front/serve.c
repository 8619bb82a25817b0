/*
 * The serve loop: the proxy, the token source and the OAuth client on one libevent loop.
 * `xoauthbridge serve` runs it in the foreground with the console front end (the POSIX
 * daemon); the Windows tray runs the same xb_serve_run on a worker thread with its own
 * front end (front/win32/). Clean shutdown on SIGINT/SIGTERM or xb_serve_stop:
 * listeners close, every session gets a goodbye line, then the loop ends.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "front/front.h"
#include "core/events.h"
#include "core/config.h"
#include "core/control.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/proxy.h"
#include "core/store.h"
#include "core/http.h"
#include "core/tokens_oauth.h"
#include "core/ui.h"
#include "platform/platform.h"

#define STOP_GRACE_S 2

void xb_serve_stop(struct xb_serve *sv)
{
    struct timeval grace = { STOP_GRACE_S, 0 };
    xb_ctl_shutdown(sv->ctl);   /* cancels the sign-ins under way too */
    xb_proxy_shutdown(sv->px);
    /* Sessions flush their goodbye lines; whatever is left after the grace is cut. */
    event_base_loopexit(sv->base, &grace);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    xb_log_info("signal %d: shutting down", (int)sig);
    xb_serve_stop(arg);
}

enum xb_err xb_serve_pause(struct xb_serve *sv, bool pause, char **errmsg)
{
    *errmsg = NULL;
    if (pause == sv->paused)
        return XB_OK;
    if (pause) {
        xb_proxy_close_listeners(sv->px);
        sv->paused = true;
        xb_log_info("paused: not accepting connections");
        return XB_OK;
    }
    enum xb_err err = xb_proxy_listen(sv->px, errmsg);
    if (err != XB_OK) {
        xb_proxy_close_listeners(sv->px); /* all or nothing */
        return err;
    }
    sv->paused = false;
    xb_log_info("resumed: accepting connections");
    return XB_OK;
}

/* Writes {"imap":"127.0.0.1:1143",...,"control":"/run/user/1000/xoauthbridge.sock"}
 * for scripts and tests that asked for port 0. */
static int write_ready_file(struct xb_proxy *px, struct xb_ctl *ctl, const char *path)
{
    cJSON *o = cJSON_CreateObject();
    char addr[128];
    for (int i = 0; i < XB_PROTO__COUNT; i++) {
        xb_proxy_listen_addr(px, (enum xb_proto_id)i, addr, sizeof(addr));
        if (addr[0])
            cJSON_AddStringToObject(o, xb_proto_name((enum xb_proto_id)i), addr);
    }
    cJSON_AddStringToObject(o, "control", xb_ctl_name(ctl));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return -1;
    int rc = xb_plat_file_replace(path, text, strlen(text)) == XB_OK ? 0 : -1;
    cJSON_free(text);
    return rc;
}

int xb_serve_run(struct xb_cli_env *env, const struct xb_serve_hooks *hooks)
{
    struct xb_serve sv = { .cfg = env->cfg, .store = env->store, .ui = hooks->ui };
    struct event *sigint = NULL, *sigterm = NULL;
    char *errmsg = NULL;
    bool started = false;
    int rc = 1;

    sv.base = event_base_new();
    if (sv.base)
        xb_http_new_config(sv.base, sv.cfg, &sv.http);
    sv.tokens = sv.http ? xb_tokens_oauth_new(sv.base, sv.cfg, sv.store, sv.http) : NULL;
    if (!sv.tokens) {
        xb_log_error("out of memory");
        goto out;
    }
    /* The control channel (the add-in, the CLI) hears of every state change through
     * the ui it wraps; it is opened before the proxy listens, so that a second
     * companion of this user stops here, with words that say so. */
    struct xb_ctl_deps deps = { .base = sv.base, .cfg = sv.cfg, .store = sv.store,
                                .http = sv.http, .ui = hooks->ui };
    if (xb_ctl_new(&deps, &sv.ctl) != XB_OK) {
        xb_log_error("out of memory");
        goto out;
    }
    sv.ui = xb_ctl_ui(sv.ctl);
    xb_tokens_oauth_set_ui(sv.tokens, sv.ui);
    if (xb_proxy_new(sv.base, sv.cfg, sv.store, sv.tokens, &sv.px, &errmsg) == XB_OK) {
        xb_ctl_set_proxy(sv.ctl, sv.px);
        xb_proxy_set_ui(sv.px, sv.ui);
        if (xb_ctl_listen(sv.ctl, &errmsg) != XB_OK) {
            xb_log_event(XB_EV_CANNOT_START, "cannot start: %s",
                         errmsg ? errmsg : "cannot open the control channel");
            xb_ui_alert(sv.ui, XB_UI_PROBLEM, NULL, errmsg ? errmsg : "cannot open the "
                        "control channel");
            goto out;
        }
        /* The companion is the store's one writer while it runs: the CLI goes through
         * the control channel just opened, and a command that cannot reach it finds the
         * store locked instead of saving over the companion's changes. */
        if (xb_store_lock(sv.store, 0, &errmsg) != XB_OK) {
            xb_log_event(XB_EV_CANNOT_START, "cannot start: %s",
                         errmsg ? errmsg : "cannot lock the account store");
            xb_ui_alert(sv.ui, XB_UI_PROBLEM, NULL, errmsg ? errmsg : "cannot lock the "
                        "account store");
            goto out;
        }
    }
    if (!sv.px || xb_proxy_listen(sv.px, &errmsg) != XB_OK) {
        xb_log_event(XB_EV_CANNOT_START, "cannot start: %s",
                     errmsg ? errmsg : "cannot start the proxy");
        xb_ui_alert(sv.ui, XB_UI_PROBLEM, NULL, errmsg ? errmsg : "cannot start the proxy");
        goto out;
    }
    sigint = evsignal_new(sv.base, SIGINT, signal_cb, &sv);
    sigterm = evsignal_new(sv.base, SIGTERM, signal_cb, &sv);
    if (!sigint || !sigterm || evsignal_add(sigint, NULL) || evsignal_add(sigterm, NULL)) {
        xb_log_error("cannot install signal handlers");
        goto out;
    }
    if (hooks->ready_file && write_ready_file(sv.px, sv.ctl, hooks->ready_file) != 0) {
        xb_log_error("cannot write the ready file '%s'", hooks->ready_file);
        goto out;
    }
    if (hooks->started && hooks->started(hooks->arg, &sv) != 0)
        goto out;
    started = true;
    if (xb_plat_harden_gap())
        xb_log_warn("%s", xb_plat_harden_gap());
    xb_log_info("ready");
    event_base_dispatch(sv.base);
    xb_log_info("stopped");
    rc = 0;
out:
    if (started && hooks->stopping)
        hooks->stopping(hooks->arg, &sv);
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    if (sv.ctl)
        xb_ctl_shutdown(sv.ctl);   /* no request reaches the proxy from here on */
    xb_proxy_free(sv.px);
    xb_tokens_free(sv.tokens);
    xb_ctl_free(sv.ctl);           /* after everything that may tell sv.ui */
    xb_http_free(sv.http);
    if (sv.base)
        event_base_free(sv.base);
    xb_free(errmsg);
    return rc;
}

int xb_cmd_serve(int argc, char **argv)
{
    struct xb_cli_env env;
    FILE *logf = NULL;
    struct xb_ui *ui = NULL;
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
        logf = xb_plat_log_open(env.cfg->log_file);
        if (!logf) {
            fprintf(stderr, "xoauthbridge: cannot open the log file '%s'\n", env.cfg->log_file);
            goto out;
        }
    }
    ui = xb_ui_console_new(logf ? logf : stderr);
    if (!ui) {
        fprintf(stderr, "xoauthbridge: out of memory\n");
        goto out;
    }
    xb_log_set_sink(xb_ui_log_sink, ui);
    struct xb_serve_hooks hooks = { .ui = ui, .ready_file = ready };
    rc = xb_serve_run(&env, &hooks);
out:
    xb_log_set_sink(NULL, NULL);
    xb_ui_console_free(ui);
    if (logf)
        fclose(logf);
    xb_cli_close(&env);
    return rc;
}
