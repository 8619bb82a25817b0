/*
 * `xoauthbridge restore EMAIL | --all | --all-users`: puts Outlook's accounts back as they
 * were before the add-in bridged them (byte for byte, from the copy it saved), for one
 * address or for all, in this user's profiles. Works without a running companion (it is
 * the same user's registry) and touches nothing else: the sign-in and its tokens stay
 * (`logout` removes those, and puts the Outlook accounts back too). `--all-users` (an
 * administrator, Windows only: front/win32/restoreall.c) does `--all` in every local
 * user's profile. The uninstaller runs `restore --all` as the person who uninstalls,
 * then `restore --all-users` as SYSTEM.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/events.h"
#include "core/log.h"
#include "front/front.h"
#include "platform/platform.h"

int xb_cmd_restore(int argc, char **argv)
{
    unsigned restored = 0, failed = 0;
    bool verbose = false;
    /* The global options mean nothing here (no store, no configuration): drop them. */
    int n = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            i++;
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else
            argv[n++] = argv[i];
    }
    argc = n;
    if (argc != 2 || argv[1][0] == '\0' ||
        (argv[1][0] == '-' && strcmp(argv[1], "--all") != 0 &&
         strcmp(argv[1], "--all-users") != 0)) {
        fprintf(stderr, "usage: xoauthbridge restore EMAIL | --all | --all-users\n");
        return 2;
    }
    if (strcmp(argv[1], "--all-users") == 0) {
#ifdef _WIN32
        return xb_cmd_restore_all_users(verbose);
#else
        (void)verbose;
        fprintf(stderr, "xoauthbridge: restore --all-users is for Outlook's profiles on "
                        "Windows; there is nothing to put back here\n");
        return 2;
#endif
    }
    const char *email = strcmp(argv[1], "--all") == 0 ? NULL : argv[1];
#ifdef _WIN32
    /* The uninstaller runs this as the person: what it did is an event, as the
     * companion's restore is. */
    struct xb_winlog *events = xb_cli_events_begin(XB_LOG_ERROR);
#endif
    enum xb_err err = xb_plat_outlook_restore(email, &restored, &failed);
    if (restored)
        xb_log_event(XB_EV_RESTORED, "%s: %u Outlook account(s) put back as they were "
                     "(restore)", email ? email : "this user", restored);
    if (failed) {
        fprintf(stderr, "xoauthbridge: %u Outlook account(s) could not be put back (%s); "
                        "their saved settings are kept: run this again\n",
                failed, xb_err_str(err));
    }
#ifdef _WIN32
    xb_cli_events_end(events);
#endif
    printf("%u Outlook account(s) put back as they were%s%s\n", restored,
           email ? " for " : "", email ? email : "");
    return failed ? 1 : 0;
}

/* `xoauthbridge restart-outlook`: what a click on the companion's "Restart Outlook now"
 * notification does, for a helpdesk on the telephone or a script. */
int xb_cmd_restart_outlook(int argc, char **argv)
{
    struct xb_cli_env env;
    if (xb_cli_open(&argc, argv, false, &env) != 0)
        return 1;
    int rc = 2;
    if (argc != 1)
        fprintf(stderr, "usage: xoauthbridge restart-outlook\n");
    else
        rc = xb_remote_restart_outlook();
    xb_cli_close(&env);
    return rc;
}
