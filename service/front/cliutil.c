#include "front/front.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/config_policy.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/store.h"
#include "platform/platform.h"

static bool cli_interactive;

void xb_cli_set_interactive(bool interactive)
{
    cli_interactive = interactive;
}

static void remove_args(int *argc, char **argv, int at, int n)
{
    for (int i = at; i + n <= *argc; i++)
        argv[i] = argv[i + n];
    *argc -= n;
}

const char *xb_cli_take_opt(int *argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
            continue;
        if (a[2 + n] == '=') {
            remove_args(argc, argv, i, 1);
            return a + 3 + n;
        }
        if (a[2 + n] == '\0' && i + 1 < *argc) {
            const char *v = argv[i + 1];
            remove_args(argc, argv, i, 2);
            return v;
        }
    }
    return NULL;
}

bool xb_cli_take_flag(int *argc, char **argv, const char *name)
{
    for (int i = 1; i < *argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, name) == 0) {
            remove_args(argc, argv, i, 1);
            return true;
        }
    }
    return false;
}

int xb_cli_load(int *argc, char **argv, bool need_store, struct xb_cli_env *env,
                char **errmsg)
{
    enum xb_err err;
    char *default_file = NULL;
    int rc = 1;
    memset(env, 0, sizeof(*env));
    *errmsg = NULL;

    const char *path = xb_cli_take_opt(argc, argv, "config");
    bool verbose = xb_cli_take_flag(argc, argv, "verbose");
    bool quiet = cli_interactive && !verbose;
    /* Loading logs too (policy values applied): keep interactive verbs quiet already. */
    if (quiet && xb_log_get_level() > XB_LOG_WARN)
        xb_log_set_level(XB_LOG_WARN);
    if (!path)
        path = getenv("XB_CONFIG");
    /* Windows: the per-user file, when there is one; POSIX has no implicit file. */
    if (!path && xb_plat_default_config_file(&default_file) == XB_OK) {
        struct xb_file_stamp st;
        if (xb_plat_file_stamp(default_file, &st) == XB_OK)
            path = default_file;
    }
    if (path)
        err = xb_config_load(path, &env->cfg, errmsg);
    else
        err = xb_config_new_default(&env->cfg);
    if (err == XB_OK)
        err = xb_config_apply_policy(env->cfg, NULL, NULL, NULL, NULL);
    if (err != XB_OK) {
        if (!*errmsg)
            xb_errmsg(errmsg, "%s", xb_err_str(err));
        goto out;
    }
    enum xb_log_level level = env->cfg->log_level;
    if (quiet && level > XB_LOG_WARN)
        level = XB_LOG_WARN;
    xb_log_set_level(level);
    if (need_store) {
        err = xb_store_open(env->cfg->state_dir, &env->store, errmsg);
        if (err != XB_OK) {
            if (!*errmsg)
                xb_errmsg(errmsg, "%s", xb_err_str(err));
            env->store_unreadable = err != XB_ERR_NOMEM;
            goto out;
        }
    }
    rc = 0;
out:
    if (rc != 0)
        xb_cli_close(env);
    xb_free(default_file);
    return rc;
}

int xb_cli_open(int *argc, char **argv, bool need_store, struct xb_cli_env *env)
{
    char *errmsg = NULL;
    int rc = xb_cli_load(argc, argv, need_store, env, &errmsg);
    if (rc != 0)
        fprintf(stderr, "xoauthbridge: %s\n", errmsg ? errmsg : "out of memory");
    xb_free(errmsg);
    return rc;
}

/* How long a command waits for another command that holds the store. */
#define OWN_STORE_WAIT_MS 5000

int xb_cli_own_store(struct xb_cli_env *env)
{
    char *errmsg = NULL;
    if (xb_store_lock(env->store, OWN_STORE_WAIT_MS, &errmsg) == XB_OK)
        return 0;
    fprintf(stderr, "xoauthbridge: %s; nothing was changed\n", errmsg ? errmsg : "out of memory");
    xb_free(errmsg);
    return 1;
}

void xb_cli_close(struct xb_cli_env *env)
{
    xb_store_free(env->store);
    xb_config_free(env->cfg);
    env->store = NULL;
    env->cfg = NULL;
}
