/*
 * `xoauthbridge restore --all-users`: the Outlook accounts the add-in bridged, put back
 * in every local user's profile (docs/addin.md, "Restore"; docs/deployment.md, "Roll
 * back or uninstall"). For an administrator, and for the uninstaller, which runs it as
 * SYSTEM (often at startup, when nobody is signed in).
 *
 * Each profile's hive is opened by userhives.c (signed-in users in place, the others
 * loaded from NTUSER.DAT) and restored by olrestore.c exactly as `restore --all` does
 * in the user's own HKCU: written back, read back, compared, and only then the saved
 * copy deleted. Nothing needs the user's DPAPI key: the saved bytes go back as they are.
 *
 * A profile that could not be restored (its hive locked or damaged, a value that would
 * not go back) keeps its saved copies, is logged with its folder and Windows' words,
 * and is listed under HKLM\SOFTWARE\XOAuthBridge\RestorePending (value: the SID, data:
 * the folder and what failed) until a later run restores it. Every run tries every
 * profile, so the next run is the retry; the list tells an administrator which PCs
 * still need one, and it outlives the uninstallation.
 */
#ifndef XB_RESTORE_USERS_H
#define XB_RESTORE_USERS_H

#include "core/err.h"
#include "platform/win32/userhives.h"

#define XB_RESTORE_PENDING_KEY L"SOFTWARE\\XOAuthBridge\\RestorePending"

struct xb_restore_tally {
    unsigned profiles_restored;      /* had saved accounts; every one is back */
    unsigned profiles_unchanged;     /* nothing saved: nothing to do */
    unsigned profiles_skipped;       /* no hive to open (no NTUSER.DAT, not a SID) */
    unsigned profiles_failed;        /* hive not opened, or an account not back: kept */
    unsigned accounts_restored;
    unsigned accounts_failed;
};

/* Restores every profile (logging each one), filling *t. peek (NULL in the program) is
 * called with each opened hive after its restore and before it is unloaded: the tests'
 * way to look into a hive under Wine, whose RegUnLoadKey drops what was written to it.
 * XB_OK once every profile was tried (t says how each went); otherwise *errmsg says
 * why nothing was. */
enum xb_err xb_win_restore_all_users(struct xb_restore_tally *t, xb_user_hive_fn *peek,
                                     void *peek_ctx, char **errmsg);

#endif
