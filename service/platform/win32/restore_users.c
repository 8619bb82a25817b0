/*
 * `restore --all-users` (restore_users.h): every profile's hive through userhives.c,
 * every saved account through olrestore.c; what happened to each profile in the log,
 * in the tally and, for those that failed, in the pending list under HKLM.
 */
#include "platform/win32/restore_users.h"

#include <tlhelp32.h>
#include <sddl.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "core/events.h"
#include "core/log.h"
#include "core/mem.h"
#include "platform/win32/olprofile.h"
#include "platform/win32/wide.h"

#define PARENT_KEY L"SOFTWARE\\XOAuthBridge"
#define PENDING_MAX 1024             /* characters of one pending entry */

struct users_walk {
    struct xb_restore_tally *t;
    xb_user_hive_fn *peek;
    void *peek_ctx;
};

/* One profile while it is restored: names for the log. */
struct profile_ctx {
    const char *dir;
    const char *sid;
};

/* --- the pending list (HKLM) ----------------------------------------------------------- */

static LONG open_pending(REGSAM access, bool create, HKEY *out)
{
    if (create)
        return RegCreateKeyExW(HKEY_LOCAL_MACHINE, XB_RESTORE_PENDING_KEY, 0, NULL, 0,
                               access | KEY_WOW64_64KEY, NULL, out, NULL);
    return RegOpenKeyExW(HKEY_LOCAL_MACHINE, XB_RESTORE_PENDING_KEY, 0,
                         access | KEY_WOW64_64KEY, out);
}

/* What an earlier run wrote for sid, in UTF-8 ("" if nothing). */
static void pending_get(const wchar_t *sid, char *out, size_t n)
{
    wchar_t w[PENDING_MAX + 1];
    DWORD type = 0, size = sizeof(w) - sizeof(wchar_t);
    HKEY key;
    out[0] = '\0';
    memset(w, 0, sizeof(w));
    if (open_pending(KEY_QUERY_VALUE, false, &key) != ERROR_SUCCESS)
        return;
    if (RegQueryValueExW(key, sid, NULL, &type, (BYTE *)w, &size) == ERROR_SUCCESS &&
        type == REG_SZ) {
        char *u = xb_win_utf8(w);
        snprintf(out, n, "%s", u ? u : "");
        xb_free(u);
    }
    RegCloseKey(key);
}

static void pending_set(const wchar_t *sid, const char *dir, const char *what)
{
    char text[PENDING_MAX];
    snprintf(text, sizeof(text), "%s: %s", dir, what);
    wchar_t *w = xb_win_wide(text);
    HKEY key;
    LONG rc = w ? open_pending(KEY_SET_VALUE, true, &key) : ERROR_OUTOFMEMORY;
    if (rc == ERROR_SUCCESS) {
        rc = RegSetValueExW(key, sid, 0, REG_SZ, (const BYTE *)w,
                            (DWORD)((wcslen(w) + 1) * sizeof(wchar_t)));
        RegCloseKey(key);
    }
    if (rc != ERROR_SUCCESS) {
        char err[300];
        xb_win_error_text(rc, err, sizeof(err));
        xb_log_error("cannot note profile %s in HKLM\\SOFTWARE\\XOAuthBridge\\RestorePending: "
                     "%s", dir, err);
    }
    xb_free(w);
}

static void pending_clear(const wchar_t *sid)
{
    HKEY key;
    if (open_pending(KEY_SET_VALUE, false, &key) != ERROR_SUCCESS)
        return;
    RegDeleteValueW(key, sid);
    RegCloseKey(key);
}

/* Entries of profiles that are no longer in ProfileList go; then the key itself, and
 * its parent, if nothing is left in them. */
static void pending_tidy(void)
{
    HKEY key;
    if (open_pending(KEY_QUERY_VALUE | KEY_SET_VALUE, false, &key) != ERROR_SUCCESS)
        return;
    wchar_t name[256], path[384];
    for (DWORD i = 0;;) {
        DWORD n = ARRAYSIZE(name);
        if (RegEnumValueW(key, i, name, &n, NULL, NULL, NULL, NULL) != ERROR_SUCCESS)
            break;
        HKEY prof;
        _snwprintf(path, ARRAYSIZE(path),
                   L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\%ls", name);
        path[ARRAYSIZE(path) - 1] = L'\0';
        LONG rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY,
                                &prof);
        if (rc == ERROR_SUCCESS) {
            RegCloseKey(prof);
            i++;
        } else if (rc != ERROR_FILE_NOT_FOUND || RegDeleteValueW(key, name) != ERROR_SUCCESS) {
            i++;
        }
    }
    DWORD values = 1, subkeys = 1;
    RegQueryInfoKeyW(key, NULL, NULL, NULL, &subkeys, NULL, NULL, &values, NULL, NULL, NULL,
                     NULL);
    RegCloseKey(key);
    if (values || subkeys)
        return;
    RegDeleteKeyExW(HKEY_LOCAL_MACHINE, XB_RESTORE_PENDING_KEY, KEY_WOW64_64KEY, 0);
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, PARENT_KEY, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY,
                      &key) != ERROR_SUCCESS)
        return;
    values = subkeys = 1;
    RegQueryInfoKeyW(key, NULL, NULL, NULL, &subkeys, NULL, NULL, &values, NULL, NULL, NULL,
                     NULL);
    RegCloseKey(key);
    if (!values && !subkeys)
        RegDeleteKeyExW(HKEY_LOCAL_MACHINE, PARENT_KEY, KEY_WOW64_64KEY, 0);
}

/* --- Outlook running for a signed-in user ---------------------------------------------- */

/* Whether the process runs as the user sid (string form). */
static bool process_of(DWORD pid, const wchar_t *sid)
{
    bool yes = false;
    HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid), token = NULL;
    if (!p)
        return false;
    union {
        TOKEN_USER user;
        BYTE bytes[256];
    } info;
    DWORD n = 0;
    wchar_t *text = NULL;
    if (OpenProcessToken(p, TOKEN_QUERY, &token) &&
        GetTokenInformation(token, TokenUser, &info, sizeof(info), &n) &&
        ConvertSidToStringSidW(info.user.User.Sid, &text)) {
        yes = _wcsicmp(text, sid) == 0;
        LocalFree(text);
    }
    if (token)
        CloseHandle(token);
    CloseHandle(p);
    return yes;
}

/* The id of an OUTLOOK.EXE of that user, 0 if none is seen. */
static DWORD outlook_of(const wchar_t *sid)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    PROCESSENTRY32W pe;
    DWORD found = 0;
    if (snap == INVALID_HANDLE_VALUE)
        return 0;
    pe.dwSize = sizeof(pe);
    for (BOOL ok = Process32FirstW(snap, &pe); ok && !found; ok = Process32NextW(snap, &pe)) {
        if (_wcsicmp(pe.szExeFile, L"OUTLOOK.EXE") == 0 && process_of(pe.th32ProcessID, sid))
            found = pe.th32ProcessID;
    }
    CloseHandle(snap);
    return found;
}

/* --- one profile ------------------------------------------------------------------------ */

static void account_done(void *ctx, const struct xb_ol_restored *r)
{
    const struct profile_ctx *pc = ctx;
    char err[300];
    if (!r->id) {
        xb_win_error_text(r->why.error, err, sizeof(err));
        xb_log_error("profile %s (%s): cannot %s: %s; the saved settings that could not be "
                     "listed are kept", pc->dir, pc->sid, r->why.step, err);
        return;
    }
    char *profile = xb_win_utf8(r->profile), *id = xb_win_utf8(r->id);
    if (r->err == XB_OK) {
        xb_log_info("profile %s (%s): Outlook %s profile \"%s\", account %s (%s): put back as "
                    "it was", pc->dir, pc->sid, xb_ol_layout_name(r->layout),
                    profile ? profile : "?", id ? id : "?", r->email);
    } else {
        if (r->why.error != ERROR_SUCCESS)
            xb_win_error_text(r->why.error, err, sizeof(err));
        else
            snprintf(err, sizeof(err), "%s", xb_err_str(r->err));
        xb_log_error("profile %s (%s): Outlook %s profile \"%s\", account %s (%s): not put "
                     "back: cannot %s: %s; its saved settings are kept", pc->dir, pc->sid,
                     xb_ol_layout_name(r->layout), profile ? profile : "?", id ? id : "?",
                     r->email, r->why.step, err);
    }
    xb_free(profile);
    xb_free(id);
}

static void restore_profile(void *ctx, const struct xb_user_hive *h)
{
    struct users_walk *uw = ctx;
    struct xb_restore_tally *t = uw->t;
    char *sid = xb_win_utf8(h->sid), *dir = xb_win_utf8(h->profile_dir);
    char *file = xb_win_utf8(h->file), before[PENDING_MAX], what[PENDING_MAX], err[300];
    struct profile_ctx pc = { dir && dir[0] ? dir : "(no folder)", sid ? sid : "?" };

    pending_get(h->sid, before, sizeof(before));
    if (before[0])
        xb_log_info("profile %s (%s): not restored by an earlier run (%s): trying again",
                    pc.dir, pc.sid, before);
    switch (h->status) {
    case XB_HIVE_SKIPPED:
        t->profiles_skipped++;
        xb_log_info("profile %s (%s): skipped: %s", pc.dir, pc.sid, h->why);
        pending_clear(h->sid);
        break;
    case XB_HIVE_FAILED:
        t->profiles_failed++;
        xb_win_error_text(h->error, err, sizeof(err));
        snprintf(what, sizeof(what), "cannot %s %s: %s", h->why, file ? file : "?", err);
        xb_log_event(XB_EV_PROFILE_NOT_RESTORED, "profile %s (%s): %s; its Outlook accounts "
                     "are not put back (their saved settings stay in the hive): the next "
                     "`xoauthbridge restore --all-users` tries again", pc.dir, pc.sid, what);
        pending_set(h->sid, pc.dir, what);
        break;
    case XB_HIVE_OPEN: {
        DWORD outlook = h->signed_in ? outlook_of(h->sid) : 0;
        unsigned restored = 0, failed = 0;
        xb_ol_restore_email(h->root, NULL, &restored, &failed, account_done, &pc);
        if (uw->peek)
            uw->peek(uw->peek_ctx, h);
        t->accounts_restored += restored;
        t->accounts_failed += failed;
        if (failed) {
            t->profiles_failed++;
            snprintf(what, sizeof(what), "%u Outlook account(s) not put back (see the log)",
                     failed);
            xb_log_event(XB_EV_PROFILE_NOT_RESTORED, "profile %s (%s): %u Outlook account(s) "
                         "put back, %u not (their saved settings are kept): the next "
                         "`xoauthbridge restore --all-users` tries again", pc.dir, pc.sid,
                         restored, failed);
            pending_set(h->sid, pc.dir, what);
        } else {
            if (restored) {
                t->profiles_restored++;
                xb_log_event(XB_EV_RESTORED, "profile %s (%s): %u Outlook account(s) put "
                             "back%s", pc.dir, pc.sid, restored,
                             h->signed_in ? " (signed in: in place)" : "");
            } else {
                t->profiles_unchanged++;
                xb_log_debug("profile %s (%s): nothing to put back", pc.dir, pc.sid);
            }
            pending_clear(h->sid);
        }
        if (restored && outlook)
            xb_log_warn("profile %s (%s): Outlook is running for this user (process %lu): it "
                        "uses the accounts put back from its next start; ask the person to "
                        "restart Outlook", pc.dir, pc.sid, (unsigned long)outlook);
        break;
    }
    }
    xb_free(sid);
    xb_free(dir);
    xb_free(file);
}

enum xb_err xb_win_restore_all_users(struct xb_restore_tally *t, xb_user_hive_fn *peek,
                                     void *peek_ctx, char **errmsg)
{
    struct users_walk uw = { .t = t, .peek = peek, .peek_ctx = peek_ctx };
    memset(t, 0, sizeof(*t));
    enum xb_err err = xb_user_hives_walk(restore_profile, &uw, errmsg);
    if (err == XB_OK)
        pending_tidy();
    return err;
}
