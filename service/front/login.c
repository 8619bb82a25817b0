/*
 * login EMAIL: the browser sign-in from the command line; enrols the account first if
 * it is new (and then prints its local password, once).
 * logout EMAIL: revokes the grant at the provider and deletes the tokens here; the
 * account and its local password stay, so a later login restores it as it was.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "front.h"
#include "platform/platform.h"
#include "core/config.h"
#include "core/http.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/msg.h"
#include "core/oauth.h"
#include "core/signin.h"
#include "core/store.h"

struct wait {
    struct event_base *base;
    bool done;
    enum xb_err err;
    char why[400];
    struct xb_token_result result;
};

static void signin_done(void *arg, enum xb_err err, const char *why, struct xb_token_result *r)
{
    struct wait *w = arg;
    w->done = true;
    w->err = err;
    snprintf(w->why, sizeof(w->why), "%s", why ? why : "");
    if (err == XB_OK) {
        w->result = *r;
        memset(r, 0, sizeof(*r));
    }
    event_base_loopbreak(w->base);
}

static void revoke_done(void *arg, struct xb_token_result *r)
{
    struct wait *w = arg;
    w->done = true;
    w->err = r->err;
    snprintf(w->why, sizeof(w->why), "%s", r->why);
    event_base_loopbreak(w->base);
}

int xb_cmd_login(int argc, char **argv)
{
    struct xb_cli_env env;
    struct wait w = { 0 };
    struct xb_http *http = NULL;
    struct xb_signin *si = NULL;
    struct xb_secret *secret = NULL;
    bool created = false;
    int rc = 1;

    const char *provider_name = xb_cli_take_opt(&argc, argv, "provider");
    if (xb_cli_open(&argc, argv, true, &env) != 0)
        return 1;
    if (argc != 2) {
        fprintf(stderr, "usage: xoauthbridge login EMAIL [--provider NAME] [--config FILE]\n");
        rc = 2;
        goto out;
    }
    /* A running companion signs in itself (and tells the add-in and the tray). */
    rc = xb_remote_login(argv[1], provider_name, env.cfg->signin_timeout);
    if (rc >= 0)
        goto out;
    rc = 1;
    struct xb_account *acct = xb_store_find(env.store, argv[1]);
    if (!provider_name)
        provider_name = acct ? acct->provider : "google";
    const struct xb_provider *p = xb_config_provider(env.cfg, provider_name);
    if (!p) {
        fprintf(stderr, "xoauthbridge: no provider '%s' in the configuration\n", provider_name);
        goto out;
    }
    if (!p->client_id) {
        fprintf(stderr, "xoauthbridge: provider '%s' has no client_id: your organisation's "
                        "OAuth client must be configured first (docs/config.md)\n", p->name);
        goto out;
    }
    if (!acct) {
        if (xb_store_add(env.store, argv[1], p->name, &acct) != XB_OK) {
            fprintf(stderr, "xoauthbridge: '%s' is not a valid e-mail address\n", argv[1]);
            goto out;
        }
        created = true;
    }

    w.base = event_base_new();
    if (!w.base || xb_http_new(w.base, env.cfg->ca_file, env.cfg->connect_timeout, &http) != XB_OK ||
        xb_signin_start(w.base, http, env.cfg, p, acct->email, signin_done, &w, &si) != XB_OK) {
        fprintf(stderr, "xoauthbridge: cannot start the sign-in\n");
        goto out;
    }
    xb_msg_print(stderr, XB_MSG_SIGNIN_OPENING, acct->email);
    xb_msg_print(stderr, XB_MSG_SIGNIN_VISIT, xb_signin_url(si));
    while (!w.done && event_base_dispatch(w.base) == 0)
        ;
    if (w.err != XB_OK) {
        xb_msg_print(stderr, XB_MSG_SIGNIN_FAILED, w.why);
        goto out;
    }

    int64_t now = (int64_t)time(NULL);
    xb_account_set_tokens(acct, w.result.refresh_token, w.result.access_token,
                          now + w.result.expires_in);
    w.result.refresh_token = w.result.access_token = NULL;
    acct->signed_in_at = now;
    xb_account_set_state(acct, XB_ACCT_OK, NULL, now);
    if (created && xb_store_new_secret(env.store, acct, &secret) != XB_OK) {
        fprintf(stderr, "xoauthbridge: cannot make a local password\n");
        goto out;
    }
    if (xb_store_save(env.store) != XB_OK) {
        fprintf(stderr, "xoauthbridge: cannot save the account store\n");
        goto out;
    }
    created = false;
    xb_msg_print(stderr, XB_MSG_SIGNIN_DONE, acct->email);
    if (secret) {
        xb_msg_print(stderr, XB_MSG_SECRET_SHOWN_ONCE, acct->email);
        printf("%s\n", secret->data);
    }
    rc = 0;
out:
    if (created)
        xb_store_remove(env.store, argv[1]); /* nothing half-enrolled stays behind (unsaved) */
    xb_secret_free(secret);
    xb_token_result_clear(&w.result);
    xb_signin_cancel(si);
    xb_http_free(http);
    if (w.base)
        event_base_free(w.base);
    xb_cli_close(&env);
    return rc;
}

int xb_cmd_logout(int argc, char **argv)
{
    struct xb_cli_env env;
    struct wait w = { 0 };
    struct xb_http *http = NULL;
    int rc = 1;

    if (xb_cli_open(&argc, argv, true, &env) != 0)
        return 1;
    if (argc != 2) {
        fprintf(stderr, "usage: xoauthbridge logout EMAIL [--config FILE]\n");
        rc = 2;
        goto out;
    }
    rc = xb_remote_logout(argv[1]);
    if (rc >= 0)
        goto out;
    rc = 1;
    struct xb_account *acct = xb_store_find(env.store, argv[1]);
    if (!acct) {
        fprintf(stderr, "xoauthbridge: no account '%s'\n", argv[1]);
        goto out;
    }
    /* As the companion's RESTORE: Outlook's accounts first (they would not work without
     * the tokens anyway); a failure keeps everything, to be tried again. */
    unsigned restored = 0, failed = 0;
    xb_plat_outlook_restore(acct->email, &restored, &failed);
    if (failed) {
        fprintf(stderr, "xoauthbridge: %u Outlook account(s) of %s could not be put back; "
                        "nothing was changed: try again\n", failed, acct->email);
        goto out;
    }
    if (restored)
        printf("%u Outlook account(s) put back as they were for %s\n", restored, acct->email);
    const struct xb_provider *p = xb_config_provider(env.cfg, acct->provider);
    if (acct->refresh_token && p) {
        w.base = event_base_new();
        struct xb_http_req *req = NULL;
        if (w.base && xb_http_new(w.base, env.cfg->ca_file, env.cfg->connect_timeout, &http) == XB_OK)
            req = xb_oauth_revoke(http, p, acct->refresh_token->data, revoke_done, &w);
        if (req)
            while (!w.done && event_base_dispatch(w.base) == 0)
                ;
        else {
            snprintf(w.why, sizeof(w.why), "cannot send the request");
            w.err = XB_ERR_TEMP;
        }
        if (w.err != XB_OK) {
            xb_msg_print(stderr, XB_MSG_LOGOUT_REVOKE_FAILED, w.why);
        }
    }
    xb_secret_free(acct->refresh_token);
    xb_secret_free(acct->access_token);
    acct->refresh_token = acct->access_token = NULL;
    acct->access_expires = 0;
    acct->state = XB_ACCT_NEW;
    if (xb_store_save(env.store) != XB_OK) {
        fprintf(stderr, "xoauthbridge: cannot save the account store\n");
        goto out;
    }
    xb_msg_print(stderr, XB_MSG_LOGOUT_DONE, acct->email);
    rc = 0;
out:
    xb_http_free(http);
    if (w.base)
        event_base_free(w.base);
    xb_cli_close(&env);
    return rc;
}
