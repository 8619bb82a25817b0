/*
 * Every local user's registry hive, for a tool an administrator (or SYSTEM, in the
 * uninstaller) runs: the profiles Windows lists in ProfileList, each user's hive opened
 * where it already is (HKEY_USERS\<SID>: the user is signed in) or loaded from their
 * NTUSER.DAT under a temporary name of ours, handed to the caller, and unloaded again.
 *
 * Loading needs SeBackupPrivilege and SeRestorePrivilege enabled in the token; the walk
 * enables them and refuses to start without them. A hive is loaded under
 * HKEY_USERS\XOAuthBridge.restore.<pid>.<n>; one left behind by a run that died (a hive
 * stays loaded until it is unloaded or Windows restarts, and its user could not sign in
 * meanwhile) is unloaded by the next walk before anything else.
 */
#ifndef XB_USERHIVES_H
#define XB_USERHIVES_H

#include <windows.h>

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define XB_HIVE_TEMP_PREFIX L"XOAuthBridge.restore."

enum xb_hive_status {
    XB_HIVE_OPEN,       /* root is the user's hive, open for reading and writing */
    XB_HIVE_SKIPPED,    /* nothing to open: no profile folder, no NTUSER.DAT, not a SID */
    XB_HIVE_FAILED,     /* the hive is there but could not be opened: why and error say */
};

struct xb_user_hive {
    const wchar_t *sid;
    const wchar_t *profile_dir;      /* ProfileImagePath, expanded ("" if none) */
    const wchar_t *file;             /* profile_dir\NTUSER.DAT ("" if none) */
    enum xb_hive_status status;
    HKEY root;                       /* XB_HIVE_OPEN only; the walk closes it */
    bool signed_in;                  /* root is HKEY_USERS\<sid>, which Windows loaded */
    const char *why;                 /* SKIPPED, FAILED: what, in words ("load the hive") */
    LONG error;                      /* FAILED: the Windows error code */
};

/* Called once for each profile in ProfileList but the system's own (S-1-5-18, -19,
 * -20), with the hive open (or why not). After fn returns, a hive the walk loaded is
 * unloaded; failing that is logged (it stays loaded until the next walk or restart). */
typedef void xb_user_hive_fn(void *ctx, const struct xb_user_hive *h);

/* XB_OK once every profile was handed to fn; otherwise nothing was (*errmsg, for the
 * caller to free, says why: the privileges are not held, ProfileList cannot be read). */
enum xb_err xb_user_hives_walk(xb_user_hive_fn *fn, void *ctx, char **errmsg);

/* Windows' text for an error code, in UTF-8, with the number: "Access is denied.
 * (error 5)". */
void xb_win_error_text(LONG error, char *out, size_t n);

#endif
