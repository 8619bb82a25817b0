/*
 * `xoauthbridge restore --all-users` (platform/win32/restore_users.h): the verb's front,
 * for an administrator at a console and for the uninstaller, which runs it as SYSTEM
 * where nobody reads the console. So every line (each profile's outcome, failures with
 * the profile's folder and Windows' words, the summary) goes to the console and to the
 * Windows Event Log (Application, source XOAuthBridge); the summary also to stdout.
 *
 * Exit codes: 0 every profile done; 1 some profile failed (its saved settings are kept:
 * run it again); 2 usage; 3 it could not run at all (not elevated, no profile list).
 */
#include <stdio.h>

#include "core/events.h"
#include "core/log.h"
#include "core/mem.h"
#include "front/front.h"
#include "front/win32/tray.h"
#include "platform/win32/restore_users.h"

static void both_sinks(void *ctx, enum xb_log_level level, unsigned event, const char *line)
{
    fputs(line, stderr);
    fputc('\n', stderr);
    xb_winlog_write(ctx, level, event, line);
}

struct xb_winlog *xb_cli_events_begin(enum xb_log_level every_from)
{
    struct xb_winlog *wl = NULL;
    if (xb_winlog_open(NULL, 0, 0, &wl) == XB_OK)
        xb_winlog_set_events_from(wl, every_from);
    xb_log_set_sink(both_sinks, wl);
    return wl;
}

void xb_cli_events_end(struct xb_winlog *wl)
{
    xb_log_set_sink(NULL, NULL);
    xb_winlog_close(wl);
}

int xb_cmd_restore_all_users(bool verbose)
{
    struct xb_restore_tally t;
    char *errmsg = NULL;
    int rc;

    /* No file: the Event Log is where an administrator looks across PCs, and SYSTEM's
     * profile folder is not. A missing Event Log source (the MSI removed it before this
     * runs) only costs Event Viewer its formatting: the line is in the event. */
    struct xb_winlog *events = xb_cli_events_begin(XB_LOG_INFO);
    xb_log_set_level(verbose ? XB_LOG_DEBUG : XB_LOG_INFO);

    enum xb_err err = xb_win_restore_all_users(&t, NULL, NULL, &errmsg);
    if (err != XB_OK) {
        xb_log_error("restore --all-users: %s; no profile was restored",
                     errmsg ? errmsg : xb_err_str(err));
        rc = 3;
        goto out;
    }
    const unsigned total = t.profiles_restored + t.profiles_unchanged + t.profiles_skipped +
                           t.profiles_failed;
    char line[512];
    snprintf(line, sizeof(line),
             "restore --all-users: %u profile(s): %u restored, %u with nothing to restore, "
             "%u skipped, %u failed; %u Outlook account(s) put back, %u not",
             total, t.profiles_restored, t.profiles_unchanged, t.profiles_skipped,
             t.profiles_failed, t.accounts_restored, t.accounts_failed);
    if (t.profiles_failed) {
        xb_log_error("%s; the failed profiles keep their saved settings and are listed under "
                     "HKLM\\SOFTWARE\\XOAuthBridge\\RestorePending: run `xoauthbridge restore "
                     "--all-users` again", line);
        rc = 1;
    } else {
        rc = 0;
    }
    xb_log_event(XB_EV_RESTORED_ALL, "%s", line);
    printf("%s\n", line);
out:
    xb_cli_events_end(events);
    xb_free(errmsg);
    return rc;
}
