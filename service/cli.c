/*
 * xoauthbridge's command line: a table of verbs (front/ implements them). Each verb
 * parses its own arguments and returns an exit code. --help and the usage lines are
 * English, for administrators and scripts; what a person reads after a verb ran comes
 * from the message tables (core/msg_*.c).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "xoauthbridge/names.h"
#include "xoauthbridge/version.h"

#include "core/msg.h"
#include "front/front.h"
#include "platform/platform.h"

struct xb_cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct xb_cli_cmd commands[] = {
    { "serve", xb_cmd_serve, "run the local IMAP/POP3/SMTP proxy in the foreground" },
    { "login", xb_cmd_login, "EMAIL [--provider NAME]: sign in with the browser" },
    { "logout", xb_cmd_logout, "EMAIL: revoke the sign-in and delete its tokens" },
    { "restore", xb_cmd_restore, "EMAIL | --all: put Outlook's accounts back as they were\n"
      "               before the add-in bridged them; --all-users: in every local\n"
      "               user's profile (Windows, an administrator or SYSTEM)" },
    { "restart-outlook", xb_cmd_restart_outlook, "restart Outlook now, as offered after its "
      "accounts were\n               bridged (Outlook reads them when it starts)" },
    { "status", xb_cmd_status, "show each account's state in words" },
    { "account", xb_cmd_account, "add EMAIL [--provider NAME] | remove EMAIL | list" },
    { "secret", xb_cmd_secret, "reset EMAIL: make a new local password for an account" },
    { "token", xb_cmd_token, "set EMAIL: store tokens read from standard input" },
    { "config", xb_cmd_config, "show the configuration in force (file and Group Policy)" },
#ifdef _WIN32
    { "tray", xb_cmd_tray, "[--lang en|ja]: the notification-area companion (the default);\n"
      "               to a running one: --signin EMAIL | --pause | --resume | --quit" },
    { "autostart", xb_cmd_autostart, "on|off|status: start at Windows sign-in (this user)" },
#endif
    { "version", cmd_version, "print the version and the libraries in use" },
    { "help", cmd_help, "show this help" },
};

static int cmd_version(int argc, char **argv)
{
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    printf("%s %s (%s)\n", XB_EXE_NAME, XB_VERSION, xb_plat_name());
    printf("  %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("  libcurl %s (%s)\n", cv->version, cv->ssl_version ? cv->ssl_version : "no TLS");
    printf("  libevent %s\n", event_get_version());
    printf("  cJSON %s\n", cJSON_Version());
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "%s %s: OAuth2 sign-in for mail clients that only know passwords.\n"
            "\n"
            "Usage: %s COMMAND [ARGS]\n"
            "\n"
            "Commands:\n",
            XB_PRODUCT_NAME, XB_VERSION, XB_EXE_NAME);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Options:\n"
            "  --config FILE  the configuration file (default: $XB_CONFIG, else built-in defaults)\n"
            "  --verbose      log informational lines too (commands other than serve)\n"
            "  --version      same as 'version'\n"
            "  --help         same as 'help'\n");
}

static int cmd_help(int argc, char **argv)
{
    usage(stdout);
    return 0;
}

int xb_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    xb_msg_set_lang(xb_lang_from_tag(xb_plat_ui_language()));
    const char *verb = argv[1];
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "-V") == 0)
        verb = "version";
    else if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)
        verb = "help";

    xb_cli_set_interactive(strcmp(verb, "serve") != 0 && strcmp(verb, "tray") != 0);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(verb, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "%s: unknown command '%s' (try '%s --help')\n", XB_EXE_NAME, argv[1],
            XB_EXE_NAME);
    return 2;
}
