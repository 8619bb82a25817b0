#include "core/acctsvc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/oauth.h"
#include "core/store.h"
#include "platform/platform.h"

enum xb_err xb_acctsvc_signed_in(struct xb_store *st, const char *email, const char *provider,
                                 struct xb_token_result *res, bool *created,
                                 struct xb_secret **secret)
{
    struct xb_account *a;
    enum xb_err err;

    *created = false;
    if (secret)
        *secret = NULL;
    /* An account enrolled or changed by another process meanwhile counts. */
    xb_store_refresh(st);
    a = xb_store_find(st, email);
    if (!a) {
        if ((err = xb_store_add(st, email, provider, &a)) != XB_OK)
            return err;
        *created = true;
        if (secret && (err = xb_store_new_secret(st, a, secret)) != XB_OK)
            goto undo;
    }
    int64_t now = (int64_t)time(NULL);
    xb_account_set_tokens(a, res->refresh_token, res->access_token, now + res->expires_in);
    res->refresh_token = res->access_token = NULL;
    a->signed_in_at = now;
    xb_account_set_state(a, XB_ACCT_OK, NULL, now);
    if ((err = xb_store_save(st)) != XB_OK) {
        err = XB_ERR_IO;
        goto undo;
    }
    xb_log_info("%s %s", *created ? "enrolled and signed in" : "signed in again", a->email);
    return XB_OK;
undo:
    if (*created)
        xb_store_remove(st, email);   /* nothing half-enrolled stays */
    *created = false;
    if (secret) {
        xb_secret_free(*secret);
        *secret = NULL;
    }
    return err;
}

enum xb_err xb_acctsvc_sign_out(struct xb_store *st, const char *email, bool forget,
                                struct xb_secret **grant, unsigned *restored, unsigned *failed)
{
    *grant = NULL;
    *restored = *failed = 0;
    xb_store_refresh(st);
    struct xb_account *a = xb_store_find(st, email);
    if (!a)
        return XB_ERR_NOTFOUND;
    char norm[330];
    snprintf(norm, sizeof(norm), "%s", a->email);

    /* Outlook first: its accounts would not work without the tokens anyway. */
    xb_plat_outlook_restore(norm, restored, failed);
    if (*restored)
        xb_log_info("put back the settings of %u Outlook account(s) of %s", *restored, norm);
    if (*failed) {
        xb_log_error("cannot put back %u Outlook account(s) of %s; the saved settings and the "
                     "sign-in are kept, to be tried again", *failed, norm);
        return XB_ERR_IO;
    }
    struct xb_secret *refresh = a->refresh_token;
    a->refresh_token = NULL;
    if (forget) {
        xb_store_remove(st, norm);
    } else {
        xb_secret_free(a->access_token);
        a->access_token = NULL;
        a->access_expires = 0;
        xb_account_set_state(a, XB_ACCT_NEW, NULL, (int64_t)time(NULL));
    }
    if (xb_store_save(st) != XB_OK) {
        /* What is on disk still has the grant: keep it in memory too, to be tried again. */
        a = forget ? NULL : xb_store_find(st, norm);
        if (a)
            a->refresh_token = refresh;
        else
            xb_secret_free(refresh);
        return XB_ERR_IO;
    }
    xb_log_info("%s %s", forget ? "forgot" : "deleted the tokens of", norm);
    *grant = refresh;
    return XB_OK;
}

enum xb_err xb_acctsvc_add(struct xb_store *st, const char *email, const char *provider,
                           struct xb_secret **secret, char **norm)
{
    struct xb_account *a = NULL;
    *secret = NULL;
    *norm = NULL;
    xb_store_refresh(st);
    enum xb_err err = xb_store_add(st, email, provider, &a);
    if (err != XB_OK)
        return err;
    if (!(*norm = xb_strdup(a->email)) || (err = xb_store_new_secret(st, a, secret)) != XB_OK ||
        (err = xb_store_save(st)) != XB_OK) {
        xb_store_remove(st, email);
        xb_secret_free(*secret);
        *secret = NULL;
        xb_free(*norm);
        *norm = NULL;
        return err == XB_ERR_NOMEM ? err : XB_ERR_IO;
    }
    xb_log_info("enrolled %s (%s), not signed in yet", a->email, provider);
    return XB_OK;
}

enum xb_err xb_acctsvc_new_secret(struct xb_store *st, const char *email,
                                  struct xb_secret **secret)
{
    unsigned char old_hash[XB_SECRET_HASH_LEN];
    *secret = NULL;
    xb_store_refresh(st);
    struct xb_account *a = xb_store_find(st, email);
    if (!a)
        return XB_ERR_NOTFOUND;
    bool had = a->has_secret;
    memcpy(old_hash, a->secret_hash, sizeof(old_hash));
    enum xb_err err = xb_store_new_secret(st, a, secret);
    if (err == XB_OK && (err = xb_store_save(st)) != XB_OK) {
        /* The old secret stays the valid one: mail programs keep working. */
        a = xb_store_find(st, email);
        if (a) {
            memcpy(a->secret_hash, old_hash, sizeof(old_hash));
            a->has_secret = had;
        }
        xb_secret_free(*secret);
        *secret = NULL;
        err = XB_ERR_IO;
    }
    xb_wipe(old_hash, sizeof(old_hash));
    if (err == XB_OK)
        xb_log_info("made a new local secret for %s", email);
    return err;
}

enum xb_err xb_acctsvc_set_tokens(struct xb_store *st, const char *email,
                                  struct xb_secret *access, struct xb_secret *refresh,
                                  int64_t expires_in)
{
    xb_store_refresh(st);
    struct xb_account *a = xb_store_find(st, email);
    if (!a) {
        xb_secret_free(access);
        xb_secret_free(refresh);
        return XB_ERR_NOTFOUND;
    }
    int64_t now = (int64_t)time(NULL);
    xb_account_set_tokens(a, refresh, access, now + expires_in);
    xb_account_set_state(a, XB_ACCT_OK, NULL, now);
    if (xb_store_save(st) != XB_OK)
        return XB_ERR_IO;
    xb_log_info("stored tokens given by hand for %s", a->email);
    return XB_OK;
}
