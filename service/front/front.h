/* The command-line verbs of xoauthbridge and what they share. */
#ifndef XB_FRONT_H
#define XB_FRONT_H

#include <stdbool.h>

struct xb_config;
struct xb_store;

/* What most verbs need: the configuration and, for some, the account store. */
struct xb_cli_env {
    struct xb_config *cfg;
    struct xb_store *store;
};

/* Takes "--config FILE" out of argv (compacting it; *argc shrinks). Loads the config
 * (the file named, else $XB_CONFIG, else built-in defaults) and, if need_store, opens the
 * store. Prints what went wrong to stderr; returns 0 or an exit code. */
int xb_cli_open(int *argc, char **argv, bool need_store, struct xb_cli_env *env);
void xb_cli_close(struct xb_cli_env *env);

/* Interactive verbs (all but serve) log only warnings and errors to the terminal unless
 * --verbose is given; their own output says what happened. */
void xb_cli_set_interactive(bool interactive);

/* Takes "--NAME VALUE" / "--NAME=VALUE" out of argv; NULL if absent. */
const char *xb_cli_take_opt(int *argc, char **argv, const char *name);
/* Takes a flag "--NAME" out of argv. */
bool xb_cli_take_flag(int *argc, char **argv, const char *name);

int xb_cmd_serve(int argc, char **argv);
int xb_cmd_account(int argc, char **argv);
int xb_cmd_secret(int argc, char **argv);
int xb_cmd_token(int argc, char **argv);
int xb_cmd_status(int argc, char **argv);
int xb_cmd_login(int argc, char **argv);
int xb_cmd_logout(int argc, char **argv);

#endif
