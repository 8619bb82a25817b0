/*
 * Account verbs: account add/remove/list, secret reset, token set, status.
 * A local secret is printed exactly once, when it is made; only its keyed hash is kept.
 */
#include <stdio.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/acctsvc.h"
#include "core/config.h"
#include "core/mem.h"
#include "core/store.h"
#include "front/front.h"

static struct xb_account *find_or_complain(struct xb_cli_env *env, const char *email)
{
    struct xb_account *acct = xb_store_find(env->store, email);
    if (!acct)
        fprintf(stderr, "xoauthbridge: no account '%s' (see 'xoauthbridge status')\n", email);
    return acct;
}

static void print_secret(const struct xb_secret *secret)
{
    /* The only time this secret is ever shown. */
    printf("%s\n", secret->data);
    fflush(stdout);
}

static int account_add(struct xb_cli_env *env, int argc, char **argv)
{
    const char *provider = xb_cli_take_opt(&argc, argv, "provider");
    if (argc != 2) {
        fprintf(stderr, "usage: xoauthbridge account add EMAIL [--provider NAME] [--config FILE]\n");
        return 2;
    }
    if (!provider)
        provider = "google";
    if (!xb_config_provider(env->cfg, provider)) {
        fprintf(stderr, "xoauthbridge: no provider '%s' in the configuration\n", provider);
        return 1;
    }
    int rc = xb_remote_account_add(argv[1], provider);
    if (rc >= 0 || (rc = xb_cli_own_store(env)) != 0)
        return rc;
    struct xb_secret *secret = NULL;
    char *norm = NULL;
    enum xb_err err = xb_acctsvc_add(env->store, argv[1], provider, &secret, &norm);
    if (err != XB_OK) {
        fprintf(stderr, "xoauthbridge: cannot add '%s': %s\n", argv[1],
                err == XB_ERR_INVAL ? "not a valid e-mail address, or already there"
                                    : "cannot save the account store");
        return 1;
    }
    fprintf(stderr, "Added %s (%s). Its local password, shown only now:\n", norm, provider);
    print_secret(secret);
    xb_secret_free(secret);
    xb_free(norm);
    return 0;
}

/* account remove EMAIL: as the companion's FORGET: Outlook's accounts put back, the
 * account and its tokens deleted, the grant revoked at the provider. */
static int account_remove(struct xb_cli_env *env, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: xoauthbridge account remove EMAIL\n");
        return 2;
    }
    int rc = xb_remote_forget(argv[1]);
    if (rc >= 0 || (rc = xb_cli_own_store(env)) != 0)
        return rc;
    return xb_cli_sign_out(env, argv[1], true);
}

static void format_time(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
#ifdef _WIN32
    if (t <= 0 || gmtime_s(&tm, &tt) != 0)
#else
    if (t <= 0 || !gmtime_r(&tt, &tm))
#endif
        snprintf(buf, size, "never");
    else
        strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm);
}

void xb_cli_print_account(const char *email, const char *provider,
                          enum xb_account_state state, const char *last_error,
                          int64_t last_ok, int64_t last_fail)
{
    char ok[40], fail[40];
    format_time(last_ok, ok, sizeof(ok));
    format_time(last_fail, fail, sizeof(fail));
    printf("%s (%s): ", email, provider);
    switch (state) {
    case XB_ACCT_NEW:
        printf("not signed in yet\n");
        break;
    case XB_ACCT_OK:
        printf("signed in; last success %s\n", ok);
        break;
    case XB_ACCT_NEEDS_SIGNIN:
        printf("needs sign-in: %s (since %s)\n", last_error ? last_error : "unknown", fail);
        break;
    case XB_ACCT_TEMP_ERROR:
        printf("signed in; last attempt failed at %s: %s\n", fail,
               last_error ? last_error : "unknown");
        break;
    }
}

int xb_cmd_status(int argc, char **argv)
{
    struct xb_cli_env env;
    if (xb_cli_open(&argc, argv, true, &env) != 0)
        return 1;
    /* The running companion knows best (it may have changed states since it saved). */
    int rc = xb_remote_status();
    if (rc >= 0) {
        xb_cli_close(&env);
        return rc;
    }
    struct xb_account *a = xb_store_accounts(env.store);
    if (!a)
        printf("No accounts yet. Add one with 'xoauthbridge account add EMAIL'.\n");
    for (; a; a = a->next)
        xb_cli_print_account(a->email, a->provider, a->state, a->last_error, a->last_ok,
                             a->last_fail);
    xb_cli_close(&env);
    return 0;
}

int xb_cmd_account(int argc, char **argv)
{
    struct xb_cli_env env;
    int rc;
    if (xb_cli_open(&argc, argv, true, &env) != 0)
        return 1;
    if (argc >= 2 && strcmp(argv[1], "add") == 0) {
        rc = account_add(&env, argc - 1, argv + 1);
    } else if (argc >= 2 && strcmp(argv[1], "remove") == 0) {
        rc = account_remove(&env, argc - 1, argv + 1);
    } else if (argc == 2 && strcmp(argv[1], "list") == 0) {
        for (struct xb_account *a = xb_store_accounts(env.store); a; a = a->next)
            printf("%s %s %s\n", a->email, a->provider, xb_account_state_name(a->state));
        rc = 0;
    } else {
        fprintf(stderr, "usage: xoauthbridge account add|remove|list ...\n");
        rc = 2;
    }
    xb_cli_close(&env);
    return rc;
}

int xb_cmd_secret(int argc, char **argv)
{
    struct xb_cli_env env;
    if (xb_cli_open(&argc, argv, true, &env) != 0)
        return 1;
    int rc = 2;
    if (argc == 3 && strcmp(argv[1], "reset") == 0) {
        rc = xb_remote_secret_reset(argv[2]);
        if (rc < 0 && (rc = xb_cli_own_store(&env)) == 0) {
            struct xb_secret *secret = NULL;
            enum xb_err err = find_or_complain(&env, argv[2])
                                  ? xb_acctsvc_new_secret(env.store, argv[2], &secret)
                                  : XB_ERR_NOTFOUND;
            if (err == XB_OK)
                print_secret(secret);
            else if (err != XB_ERR_NOTFOUND)
                fprintf(stderr, "xoauthbridge: cannot save the account store in %s\n",
                        env.cfg->state_dir);
            xb_secret_free(secret);
            rc = err == XB_OK ? 0 : 1;
        }
    } else {
        fprintf(stderr, "usage: xoauthbridge secret reset EMAIL\n");
    }
    xb_cli_close(&env);
    return rc;
}

/* Reads one line from stdin into a new secret (without the line end). */
static struct xb_secret *read_line_secret(void)
{
    char buf[8192];
    if (!fgets(buf, sizeof(buf), stdin))
        return NULL;
    size_t n = strcspn(buf, "\r\n");
    struct xb_secret *s = n ? xb_secret_new(buf, n) : NULL;
    xb_wipe(buf, sizeof(buf));
    return s;
}

/* token set EMAIL [--expires-in SECONDS]: access token on the first line of stdin, an
 * optional refresh token on the second. For manual setups and tests. */
int xb_cmd_token(int argc, char **argv)
{
    struct xb_cli_env env;
    const char *expires = xb_cli_take_opt(&argc, argv, "expires-in");
    if (xb_cli_open(&argc, argv, true, &env) != 0)
        return 1;
    int rc = 2;
    if (argc != 3 || strcmp(argv[1], "set") != 0) {
        fprintf(stderr, "usage: xoauthbridge token set EMAIL [--expires-in SECONDS] < tokens\n");
        goto out;
    }
    char *end = NULL;
    long secs = expires ? strtol(expires, &end, 10) : 3600;
    if (expires && (*end || secs <= 0)) {
        fprintf(stderr, "xoauthbridge: --expires-in wants a positive number of seconds\n");
        goto out;
    }
    rc = 1;
    struct xb_secret *access = read_line_secret();
    struct xb_secret *refresh = read_line_secret();
    if (!access) {
        fprintf(stderr, "xoauthbridge: no access token on standard input\n");
        xb_secret_free(refresh);
        goto out;
    }
    rc = xb_remote_token_set(argv[2], access, refresh, secs);
    if (rc < 0 && (rc = xb_cli_own_store(&env)) == 0) {
        rc = 1;
        if (find_or_complain(&env, argv[2])) {
            enum xb_err err = xb_acctsvc_set_tokens(env.store, argv[2], access, refresh, secs);
            access = refresh = NULL;   /* taken in every case */
            if (err != XB_OK)
                fprintf(stderr, "xoauthbridge: cannot save the account store in %s\n",
                        env.cfg->state_dir);
            rc = err == XB_OK ? 0 : 1;
        }
    }
    xb_secret_free(access);
    xb_secret_free(refresh);
out:
    xb_cli_close(&env);
    return rc;
}
