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

#include "core/acctsvc.h"
#include "core/config.h"
#include "core/http.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/msg.h"
#include "core/oauth.h"
#include "core/signin.h"
#include "core/store.h"
#include "front/front.h"
#include "platform/platform.h"
#include "xoauthbridge/pipe_proto.h"

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
    char email[XB_PIPE_EMAIL_MAX + 1] = "";
    struct xb_cli_env env;
    struct wait w = { 0 };
    struct xb_http *http = NULL;
    struct xb_signin *si = NULL;
    struct xb_secret *secret = NULL;
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
    if (rc >= 0 || (rc = xb_cli_own_store(&env)) != 0)
        goto out;
    rc = 1;
    struct xb_account *acct = xb_store_find(env.store, argv[1]);
    if (!provider_name)
        provider_name = acct ? acct->provider : "google";
    const struct xb_provider *p = xb_config_provider_for(env.cfg, provider_name, argv[1]);
    if (!p) {
        fprintf(stderr, "xoauthbridge: no provider '%s' in the configuration\n", provider_name);
        goto out;
    }
    if (!p->client_id) {
        fprintf(stderr, "xoauthbridge: provider '%s' has no client_id: your organisation's "
                        "OAuth client must be configured first (docs/config.md)\n", p->name);
        goto out;
    }
    char *norm = NULL;
    if (xb_store_email_normalize(argv[1], &norm) != XB_OK) {
        fprintf(stderr, "xoauthbridge: '%s' is not a valid e-mail address\n", argv[1]);
        goto out;
    }
    snprintf(email, sizeof(email), "%s", norm);
    xb_free(norm);

    w.base = event_base_new();
    if (!w.base || xb_http_new_config(w.base, env.cfg, &http) != XB_OK ||
        xb_signin_start(w.base, http, env.cfg, p, email, signin_done, &w, &si) != XB_OK) {
        fprintf(stderr, "xoauthbridge: cannot start the sign-in\n");
        goto out;
    }
    xb_msg_print(stderr, XB_MSG_SIGNIN_OPENING, email);
    xb_msg_print(stderr, XB_MSG_SIGNIN_VISIT, xb_signin_url(si));
    while (!w.done && event_base_dispatch(w.base) == 0)
        ;
    if (w.err != XB_OK) {
        xb_msg_print(stderr, XB_MSG_SIGNIN_FAILED, w.why);
        goto out;
    }

    bool created = false;
    enum xb_err err = xb_acctsvc_signed_in(env.store, email, p->name, &w.result, &created,
                                           &secret);
    if (err != XB_OK) {
        fprintf(stderr, "xoauthbridge: %s\n", err == XB_ERR_IO ? "cannot save the account store"
                                                               : "cannot make a local password");
        goto out;
    }
    xb_msg_print(stderr, XB_MSG_SIGNIN_DONE, email);
    if (secret) {
        xb_msg_print(stderr, XB_MSG_SECRET_SHOWN_ONCE, email);
        printf("%s\n", secret->data);
    }
    rc = 0;
out:
    xb_secret_free(secret);
    xb_token_result_clear(&w.result);
    xb_signin_cancel(si);
    xb_http_free(http);
    if (w.base)
        event_base_free(w.base);
    xb_cli_close(&env);
    return rc;
}

int xb_cli_sign_out(struct xb_cli_env *env, const char *who, bool forget)
{
    struct wait w = { 0 };
    struct xb_http *http = NULL;
    struct xb_secret *grant = NULL;
    int rc = 1;

    struct xb_account *acct = xb_store_find(env->store, who);
    if (!acct) {
        fprintf(stderr, "xoauthbridge: no account '%s'\n", who);
        return 1;
    }
    char email[XB_PIPE_EMAIL_MAX + 1], provider[XB_PIPE_PROVIDER_MAX + 1];
    snprintf(email, sizeof(email), "%s", acct->email);
    snprintf(provider, sizeof(provider), "%s", acct->provider);
    /* As the companion's RESTORE and FORGET: Outlook's accounts first, then the tokens
     * here, then the grant at the provider; an Outlook account that cannot be put back
     * keeps everything, to be tried again. */
    unsigned restored = 0, failed = 0;
    enum xb_err err = xb_acctsvc_sign_out(env->store, email, forget, &grant, &restored, &failed);
    if (restored)
        printf("%u Outlook account(s) put back as they were for %s\n", restored, email);
    if (err == XB_ERR_IO && failed) {
        fprintf(stderr, "xoauthbridge: %u Outlook account(s) of %s could not be put back; "
                        "nothing was changed: try again\n", failed, email);
        goto out;
    }
    if (err != XB_OK) {
        fprintf(stderr, "xoauthbridge: cannot save the account store\n");
        goto out;
    }
    const struct xb_provider *p = xb_config_provider_for(env->cfg, provider, email);
    if (grant && p) {
        w.base = event_base_new();
        struct xb_http_req *req = NULL;
        if (w.base && xb_http_new_config(w.base, env->cfg, &http) == XB_OK)
            req = xb_oauth_revoke(http, p, grant->data, revoke_done, &w);
        if (req)
            while (!w.done && event_base_dispatch(w.base) == 0)
                ;
        else {
            snprintf(w.why, sizeof(w.why), "cannot send the request");
            w.err = XB_ERR_TEMP;
        }
        if (w.err != XB_OK)
            xb_msg_print(stderr, XB_MSG_LOGOUT_REVOKE_FAILED, w.why);
    }
    if (!forget)
        xb_msg_print(stderr, XB_MSG_LOGOUT_DONE, email);
    rc = 0;
out:
    xb_secret_free(grant);
    xb_http_free(http);
    if (w.base)
        event_base_free(w.base);
    return rc;
}

int xb_cmd_logout(int argc, char **argv)
{
    struct xb_cli_env env;
    int rc = 1;

    if (xb_cli_open(&argc, argv, true, &env) != 0)
        return 1;
    if (argc != 2) {
        fprintf(stderr, "usage: xoauthbridge logout EMAIL [--config FILE]\n");
        rc = 2;
        goto out;
    }
    rc = xb_remote_logout(argv[1]);
    if (rc < 0 && (rc = xb_cli_own_store(&env)) == 0)
        rc = xb_cli_sign_out(&env, argv[1], false);
out:
    xb_cli_close(&env);
    return rc;
}
