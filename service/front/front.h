/* The command-line verbs of xoauthbridge and what they share. */
#ifndef XB_FRONT_H
#define XB_FRONT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"
#include "core/store.h"

struct event_base;
struct xb_config;
struct xb_ctl;
struct xb_http;
struct xb_proxy;
struct xb_store;
struct xb_token_source;
struct xb_ui;

/* What most verbs need: the configuration and, for some, the account store. */
struct xb_cli_env {
    struct xb_config *cfg;
    struct xb_store *store;
    bool store_unreadable;   /* xb_cli_load failed at the store (not the configuration) */
};

/* Takes "--config FILE" out of argv (compacting it; *argc shrinks). Loads the config
 * (the file named, else $XB_CONFIG, else the platform's per-user file when it exists
 * (Windows), else built-in defaults), applies Group Policy over it (config_policy.h)
 * and, if need_store, opens the store. Prints what went wrong to stderr; returns 0 or
 * an exit code. */
int xb_cli_open(int *argc, char **argv, bool need_store, struct xb_cli_env *env);
/* The same without printing: *errmsg (caller frees) says what went wrong (the tray
 * shows it in a window). */
int xb_cli_load(int *argc, char **argv, bool need_store, struct xb_cli_env *env,
                char **errmsg);
void xb_cli_close(struct xb_cli_env *env);

/* Interactive verbs (all but serve) log only warnings and errors to the terminal unless
 * --verbose is given; their own output says what happened. */
void xb_cli_set_interactive(bool interactive);

/* Takes "--NAME VALUE" / "--NAME=VALUE" out of argv; NULL if absent. */
const char *xb_cli_take_opt(int *argc, char **argv, const char *name);
/* Takes a flag "--NAME" out of argv. */
bool xb_cli_take_flag(int *argc, char **argv, const char *name);

/* A running serve loop: the proxy and what it needs, for the front ends that add to it
 * (the console daemon, the Windows tray). All of it belongs to the loop's thread. */
struct xb_serve {
    struct xb_config *cfg;
    struct xb_store *store;
    struct event_base *base;
    struct xb_http *http;
    struct xb_token_source *tokens;
    struct xb_proxy *px;
    struct xb_ui *ui;                  /* where notifications go: the control channel's
                                          wrapper around the hooks' ui (control.h) */
    struct xb_ctl *ctl;                /* the control channel (add-in, CLI) */
    bool paused;                       /* listeners closed by xb_serve_pause */
};

struct xb_serve_hooks {
    struct xb_ui *ui;                  /* told when a person must act (ui.h) */
    const char *ready_file;            /* JSON with the bound addresses, for tests */
    /* On the loop's thread once the proxy listens, before the loop runs; a non-zero
     * return stops the start (rc 1). */
    int (*started)(void *arg, struct xb_serve *sv);
    /* On the loop's thread after the loop ended, before anything is freed. */
    void (*stopping)(void *arg, struct xb_serve *sv);
    void *arg;
};

/* Runs the proxy on a new event loop until xb_serve_stop or SIGINT/SIGTERM; the caller
 * keeps env (config, store) and the log sink. Returns the exit code: 0 after a clean
 * stop, 1 when it could not start (logged). */
int xb_serve_run(struct xb_cli_env *env, const struct xb_serve_hooks *hooks);
/* The clean stop of SIGTERM: listeners close, sessions get their goodbye, the loop
 * ends after a short grace. Loop thread. */
void xb_serve_stop(struct xb_serve *sv);
/* Pause: close the listeners (mail programs get "connection refused" at once; live
 * sessions go on). Resume: listen again on the configured addresses. */
enum xb_err xb_serve_pause(struct xb_serve *sv, bool pause, char **errmsg);


/* ui_console.c: the console daemon's front end: notifications and state changes become
 * log lines, log lines go to logf (stderr or the configured log_file). */
struct xb_ui *xb_ui_console_new(FILE *logf);
void xb_ui_console_free(struct xb_ui *ui);

/* ctlcli.c: status, login, logout, secret reset, account add, account remove and token
 * set through the running companion of this user (control channel), which is the one
 * writer of the store while it runs. Each returns -1 when none answers (the verb then works
 * on the store itself), else the exit code, having printed what the verb prints. */
int xb_remote_status(void);
int xb_remote_login(const char *email, const char *provider, unsigned timeout_s);
int xb_remote_logout(const char *email);
/* `restart-outlook`: accepts the restart of Outlook the add-in offered. */
int xb_remote_restart_outlook(void);
int xb_remote_secret_reset(const char *email);
int xb_remote_account_add(const char *email, const char *provider);
int xb_remote_forget(const char *email);
/* access and refresh (may be NULL) stay the caller's. */
int xb_remote_token_set(const char *email, const struct xb_secret *access,
                        const struct xb_secret *refresh, long expires_in);

/* Without a companion: this command becomes the store's one writer (xb_store_lock,
 * waiting a few seconds for another command). 0, or the exit code after the reason was
 * printed (the companion holds it: its control channel did not answer). */
int xb_cli_own_store(struct xb_cli_env *env);
/* logout (forget false) and account remove (forget true) on the store itself
 * (xb_acctsvc_sign_out, then the grant revoked at the provider); the exit code. */
int xb_cli_sign_out(struct xb_cli_env *env, const char *email, bool forget);

/* accounts.c: one line of `status`. */
void xb_cli_print_account(const char *email, const char *provider,
                          enum xb_account_state state, const char *last_error,
                          int64_t last_ok, int64_t last_fail);

int xb_cmd_serve(int argc, char **argv);
int xb_cmd_config(int argc, char **argv);
#ifdef _WIN32
int xb_cmd_tray(int argc, char **argv);
int xb_cmd_autostart(int argc, char **argv);
/* restore --all-users (front/win32/restoreall.c): the exit code. */
int xb_cmd_restore_all_users(bool verbose);
/* A command's lines to standard error and its events (core/events.h), errors and every
 * line at least as bad as every_from to the Event Log too (front/win32/restoreall.c): for
 * what the uninstaller runs, where nobody reads the console. */
struct xb_winlog;
struct xb_winlog *xb_cli_events_begin(enum xb_log_level every_from);
void xb_cli_events_end(struct xb_winlog *wl);
#endif
int xb_cmd_account(int argc, char **argv);
int xb_cmd_secret(int argc, char **argv);
int xb_cmd_token(int argc, char **argv);
int xb_cmd_status(int argc, char **argv);
int xb_cmd_login(int argc, char **argv);
int xb_cmd_logout(int argc, char **argv);
int xb_cmd_restore(int argc, char **argv);
int xb_cmd_restart_outlook(int argc, char **argv);

#endif
