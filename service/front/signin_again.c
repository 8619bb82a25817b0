/*
 * "Sign in again" inside the running serve loop: the tray's menu item and a click on a
 * notification end up here. The browser sign-in of signin.c, then the tokens go into
 * the store exactly as `xoauthbridge login` puts them there, and the front end hears how
 * it went. One sign-in per account: asking again opens the same page again.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "front.h"
#include "core/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/signin.h"
#include "core/store.h"
#include "core/store_doc.h"
#include "core/ui.h"
#include "platform/platform.h"

#define DEFAULT_PROVIDER "google" /* enrolling an unknown address: Gmail is why we exist */

struct xb_serve_signin {
    struct xb_serve *sv;
    struct xb_signin *si;
    char *email;                 /* as the person gave it; the store normalises */
    struct xb_serve_signin *next;
};

static void unlink_free(struct xb_serve_signin *g)
{
    for (struct xb_serve_signin **pp = &g->sv->signins; *pp; pp = &(*pp)->next) {
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    }
    xb_signin_cancel(g->si);
    xb_free(g->email);
    xb_free(g);
}

/* Stores the tokens; false (and *why) if the store would not take them. */
static bool keep_tokens(struct xb_serve *sv, const char *email, const char *provider,
                        struct xb_token_result *r, const char **why)
{
    /* Looked up again: the store may have been reloaded while the browser was open. */
    struct xb_account *acct = xb_store_find(sv->store, email);
    bool created = false;
    if (!acct) {
        if (xb_store_add(sv->store, email, provider, &acct) != XB_OK) {
            *why = "not a valid e-mail address";
            return false;
        }
        created = true;
    }
    int64_t now = (int64_t)time(NULL);
    xb_account_set_tokens(acct, r->refresh_token, r->access_token, now + r->expires_in);
    r->refresh_token = r->access_token = NULL;
    acct->signed_in_at = now;
    enum xb_account_state before = created ? XB_ACCT_NEW : acct->state;
    xb_account_set_state(acct, XB_ACCT_OK, NULL, now);
    if (xb_store_save(sv->store) != XB_OK) {
        *why = "cannot save the account store";
        return false;
    }
    if (before != XB_ACCT_OK)
        xb_ui_account_changed(sv->ui, acct->email, XB_ACCT_OK);
    return true;
}

static void done_cb(void *arg, enum xb_err err, const char *why, struct xb_token_result *r)
{
    struct xb_serve_signin *g = arg;
    struct xb_serve *sv = g->sv;
    const struct xb_account *acct = xb_store_find(sv->store, g->email);
    const char *provider = acct ? acct->provider : DEFAULT_PROVIDER;
    const char *fail = NULL;

    if (err == XB_OK && !keep_tokens(sv, g->email, provider, r, &fail))
        err = XB_ERR_IO;
    else if (err != XB_OK)
        fail = why && *why ? why : xb_err_str(err);
    if (err == XB_OK) {
        xb_log_info("signed in again: %s", g->email);
        xb_ui_alert(sv->ui, XB_UI_SIGNIN_DONE, g->email, NULL);
    } else {
        xb_log_warn("sign-in of %s did not work: %s", g->email, fail);
        xb_ui_alert(sv->ui, XB_UI_SIGNIN_FAILED, g->email, fail);
    }
    unlink_free(g); /* frees the sign-in, which also wipes what is left of r */
}

enum xb_err xb_serve_signin(struct xb_serve *sv, const char *email)
{
    const struct xb_account *acct = xb_store_find(sv->store, email);
    const char *provider = acct ? acct->provider : DEFAULT_PROVIDER;
    const struct xb_provider *p = xb_config_provider(sv->cfg, provider);

    for (struct xb_serve_signin *g = sv->signins; g; g = g->next) {
        if (xb_store_email_matches(g->email, email)) {
            xb_log_info("sign-in of %s is already waiting: opening its page again", email);
            if (xb_plat_open_url(sv->cfg->browser, xb_signin_url(g->si)) != XB_OK)
                xb_log_warn("could not open a browser for the sign-in of %s", email);
            return XB_OK;
        }
    }
    if (!p || !p->client_id) {
        char why[200];
        snprintf(why, sizeof(why), "no OAuth client ID is configured for provider '%s': ask "
                 "your administrator", provider);
        xb_log_warn("cannot sign in %s: %s", email, why);
        xb_ui_alert(sv->ui, XB_UI_SIGNIN_FAILED, email, why);
        return XB_ERR_INVAL;
    }
    if (!sv->http)
        return XB_ERR_UNSUPPORTED;
    struct xb_serve_signin *g = xb_new(struct xb_serve_signin);
    if (!g || !(g->email = xb_strdup(acct ? acct->email : email))) {
        xb_free(g);
        return XB_ERR_NOMEM;
    }
    g->sv = sv;
    enum xb_err err = xb_signin_start(sv->base, sv->http, sv->cfg, p, g->email, done_cb, g,
                                      &g->si);
    if (err != XB_OK) {
        xb_log_warn("cannot start the sign-in of %s: %s", email, xb_err_str(err));
        xb_ui_alert(sv->ui, XB_UI_SIGNIN_FAILED, email, xb_err_str(err));
        xb_free(g->email);
        xb_free(g);
        return err;
    }
    g->next = sv->signins;
    sv->signins = g;
    return XB_OK;
}

void xb_serve_signin_cancel_all(struct xb_serve *sv)
{
    while (sv->signins)
        unlink_free(sv->signins);
}
