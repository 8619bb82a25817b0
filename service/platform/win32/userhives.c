/*
 * Every local user's registry hive (userhives.h): ProfileList, the privileges, loading
 * and unloading NTUSER.DAT under a temporary name, and the clean-up of one left loaded.
 */
#include "platform/win32/userhives.h"

#include <sddl.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "core/log.h"
#include "core/mem.h"
#include "platform/win32/wide.h"

#define PROFILE_LIST_A "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
#define PROFILE_LIST L"" PROFILE_LIST_A
#define PROFILES_MAX 10000          /* more than any PC has */
#define NAME_MAX_CHARS 256          /* a SID, or a name under HKEY_USERS */
#define UNLOAD_TRIES 20             /* 2 s: a virus scanner may still hold a key open */

void xb_win_error_text(LONG error, char *out, size_t n)
{
    wchar_t w[256];
    DWORD len = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                               (DWORD)error, 0, w, ARRAYSIZE(w), NULL);
    while (len && (w[len - 1] == L'\r' || w[len - 1] == L'\n' || w[len - 1] == L' '))
        w[--len] = L'\0';
    char *text = len ? xb_win_utf8(w) : NULL;
    snprintf(out, n, "%s%s(error %ld)", text ? text : "", text ? " " : "", (long)error);
    xb_free(text);
}

/* Both privileges that RegLoadKey and RegUnLoadKey need, enabled in this process's
 * token; ERROR_NOT_ALL_ASSIGNED when the token does not hold them (not elevated). */
static LONG enable_privileges(void)
{
    static const wchar_t *const names[2] = { SE_BACKUP_NAME, SE_RESTORE_NAME };
    struct {
        DWORD count;
        LUID_AND_ATTRIBUTES privs[2];
    } tp;
    HANDLE token;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token))
        return (LONG)GetLastError();
    tp.count = 2;
    LONG rc = ERROR_SUCCESS;
    for (int i = 0; i < 2 && rc == ERROR_SUCCESS; i++) {
        tp.privs[i].Attributes = SE_PRIVILEGE_ENABLED;
        if (!LookupPrivilegeValueW(NULL, names[i], &tp.privs[i].Luid))
            rc = (LONG)GetLastError();
    }
    if (rc == ERROR_SUCCESS) {
        /* Succeeds with ERROR_NOT_ALL_ASSIGNED when some privilege is not held. */
        if (!AdjustTokenPrivileges(token, FALSE, (TOKEN_PRIVILEGES *)&tp, 0, NULL, NULL))
            rc = (LONG)GetLastError();
        else
            rc = (LONG)GetLastError();
    }
    CloseHandle(token);
    return rc;
}

static bool is_ours(const wchar_t *name)
{
    return _wcsnicmp(name, XB_HIVE_TEMP_PREFIX, wcslen(XB_HIVE_TEMP_PREFIX)) == 0;
}

/* Unloads name from HKEY_USERS, waiting a little for handles others still hold. */
static LONG unload(const wchar_t *name)
{
    LONG rc = ERROR_SUCCESS;
    for (int i = 0; i < UNLOAD_TRIES; i++) {
        rc = RegUnLoadKeyW(HKEY_USERS, name);
        if (rc != ERROR_ACCESS_DENIED)
            break;
        Sleep(100);
    }
    return rc;
}

/* A hive of ours left loaded by a run that died: its user cannot sign in while it is. */
static void unload_leftovers(void)
{
    wchar_t name[NAME_MAX_CHARS], mine[64];
    _snwprintf(mine, ARRAYSIZE(mine), L"%ls%lu.", XB_HIVE_TEMP_PREFIX,
               (unsigned long)GetCurrentProcessId());
    mine[ARRAYSIZE(mine) - 1] = L'\0';
    for (DWORD i = 0; i < PROFILES_MAX;) {
        DWORD n = ARRAYSIZE(name);
        LONG rc = RegEnumKeyExW(HKEY_USERS, i, name, &n, NULL, NULL, NULL, NULL);
        if (rc == ERROR_MORE_DATA) {
            i++;
            continue;
        }
        if (rc != ERROR_SUCCESS)
            break;
        if (!is_ours(name) || _wcsnicmp(name, mine, wcslen(mine)) == 0) {
            i++;
            continue;
        }
        char *u = xb_win_utf8(name), text[300];
        rc = unload(name);
        if (rc == ERROR_SUCCESS) {
            xb_log_info("unloaded HKEY_USERS\\%s, a user's hive an earlier run left loaded",
                        u ? u : "?");
        } else {
            xb_win_error_text(rc, text, sizeof(text));
            xb_log_error("cannot unload HKEY_USERS\\%s, a user's hive an earlier run left "
                         "loaded: %s; that user may not be able to sign in until Windows "
                         "restarts", u ? u : "?", text);
            i++; /* still there: go past it */
        }
        xb_free(u);
    }
}

/* The subkey names of ProfileList, collected first (fn may take long). */
static LONG list_profiles(wchar_t (**out)[NAME_MAX_CHARS], size_t *count)
{
    HKEY list;
    *out = NULL;
    *count = 0;
    LONG rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, PROFILE_LIST, 0, KEY_READ | KEY_WOW64_64KEY,
                            &list);
    if (rc != ERROR_SUCCESS)
        return rc;
    DWORD subkeys = 0;
    rc = RegQueryInfoKeyW(list, NULL, NULL, NULL, &subkeys, NULL, NULL, NULL, NULL, NULL, NULL,
                          NULL);
    if (rc == ERROR_SUCCESS && subkeys > PROFILES_MAX)
        rc = ERROR_INVALID_DATA;
    wchar_t (*names)[NAME_MAX_CHARS] = NULL;
    if (rc == ERROR_SUCCESS && subkeys &&
        !(names = xb_calloc_array(subkeys, sizeof(*names))))
        rc = ERROR_OUTOFMEMORY;
    size_t n = 0;
    for (DWORD i = 0; rc == ERROR_SUCCESS && n < subkeys; i++) {
        DWORD len = NAME_MAX_CHARS;
        LONG e = RegEnumKeyExW(list, i, names[n], &len, NULL, NULL, NULL, NULL);
        if (e == ERROR_NO_MORE_ITEMS)
            break;
        if (e == ERROR_MORE_DATA)
            continue; /* not a SID */
        if (e != ERROR_SUCCESS)
            rc = e;
        else
            n++;
    }
    RegCloseKey(list);
    if (rc != ERROR_SUCCESS) {
        xb_free(names);
        return rc;
    }
    *out = names;
    *count = n;
    return ERROR_SUCCESS;
}

/* ProfileImagePath of one profile, expanded; false if it has none. */
static bool profile_dir(const wchar_t *sid, wchar_t *out, size_t n)
{
    wchar_t key[NAME_MAX_CHARS + 128], raw[MAX_PATH + 1];
    DWORD type = 0, size = sizeof(raw) - sizeof(wchar_t);
    HKEY k;
    out[0] = L'\0';
    _snwprintf(key, ARRAYSIZE(key), L"%ls\\%ls", PROFILE_LIST, sid);
    key[ARRAYSIZE(key) - 1] = L'\0';
    memset(raw, 0, sizeof(raw));
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, key, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &k) !=
        ERROR_SUCCESS)
        return false;
    LONG rc = RegQueryValueExW(k, L"ProfileImagePath", NULL, &type, (BYTE *)raw, &size);
    RegCloseKey(k);
    if (rc != ERROR_SUCCESS || (type != REG_SZ && type != REG_EXPAND_SZ) || !raw[0])
        return false;
    DWORD got = ExpandEnvironmentStringsW(raw, out, (DWORD)n);
    if (!got || got > n) {
        out[0] = L'\0';
        return false;
    }
    size_t len = wcslen(out);
    while (len && out[len - 1] == L'\\')
        out[--len] = L'\0';
    return len > 0;
}

/* The system's own accounts: LocalSystem, LocalService, NetworkService. */
static bool is_system_sid(const wchar_t *sid)
{
    return _wcsicmp(sid, L"S-1-5-18") == 0 || _wcsicmp(sid, L"S-1-5-19") == 0 ||
           _wcsicmp(sid, L"S-1-5-20") == 0;
}

static bool is_sid(const wchar_t *text)
{
    PSID sid = NULL;
    if (!ConvertStringSidToSidW(text, &sid))
        return false;
    LocalFree(sid);
    return true;
}

/* Loads the hive file under a name of ours, hands it to fn, unloads it. */
static void visit_loaded(struct xb_user_hive *h, unsigned seq, xb_user_hive_fn *fn, void *ctx)
{
    wchar_t name[64];
    _snwprintf(name, ARRAYSIZE(name), L"%ls%lu.%u", XB_HIVE_TEMP_PREFIX,
               (unsigned long)GetCurrentProcessId(), seq);
    name[ARRAYSIZE(name) - 1] = L'\0';
    LONG rc = RegLoadKeyW(HKEY_USERS, name, h->file);
    if (rc != ERROR_SUCCESS) {
        /* Wine leaves an empty key behind when the file is not a hive; on Windows nothing
         * is there and this does nothing. */
        RegUnLoadKeyW(HKEY_USERS, name);
        h->status = XB_HIVE_FAILED;
        h->why = "load the hive";
        h->error = rc;
        fn(ctx, h);
        return;
    }
    rc = RegOpenKeyExW(HKEY_USERS, name, 0, KEY_ALL_ACCESS, &h->root);
    if (rc != ERROR_SUCCESS) {
        h->root = NULL;
        h->status = XB_HIVE_FAILED;
        h->why = "open the loaded hive";
        h->error = rc;
    }
    fn(ctx, h);
    /* Every handle into the hive is closed before it can be unloaded: fn's (olrestore.c
     * closes each key it opens) and this one. */
    if (h->root)
        RegCloseKey(h->root);
    h->root = NULL;
    rc = unload(name);
    if (rc != ERROR_SUCCESS) {
        char *file = xb_win_utf8(h->file), *n8 = xb_win_utf8(name), text[300];
        xb_win_error_text(rc, text, sizeof(text));
        xb_log_error("cannot unload %s (loaded as HKEY_USERS\\%s): %s; what was written is "
                     "in the hive, but its user may not be able to sign in until the next "
                     "`restore --all-users` unloads it or Windows restarts",
                     file ? file : "?", n8 ? n8 : "?", text);
        xb_free(file);
        xb_free(n8);
    }
}

static void visit_profile(const wchar_t *sid, unsigned seq, xb_user_hive_fn *fn, void *ctx)
{
    wchar_t dir[MAX_PATH], file[MAX_PATH + 16];
    struct xb_user_hive h = { .sid = sid, .profile_dir = dir, .file = file,
                              .status = XB_HIVE_SKIPPED };
    dir[0] = file[0] = L'\0';
    bool has_dir = profile_dir(sid, dir, ARRAYSIZE(dir));
    if (!is_sid(sid)) {
        /* "<SID>.bak": Windows' copy of the entry of a profile it could not load. */
        h.why = "not a SID (a backup entry Windows made?)";
        fn(ctx, &h);
        return;
    }
    if (!has_dir) {
        h.why = "no profile folder (ProfileImagePath)";
        fn(ctx, &h);
        return;
    }
    _snwprintf(file, ARRAYSIZE(file), L"%ls\\NTUSER.DAT", dir);
    file[ARRAYSIZE(file) - 1] = L'\0';

    /* Signed in: Windows has the hive loaded as HKEY_USERS\<SID>; it is used there. */
    LONG rc = RegOpenKeyExW(HKEY_USERS, sid, 0, KEY_ALL_ACCESS, &h.root);
    if (rc == ERROR_SUCCESS) {
        h.status = XB_HIVE_OPEN;
        h.signed_in = true;
        fn(ctx, &h);
        RegCloseKey(h.root);
        return;
    }
    h.root = NULL;
    if (rc != ERROR_FILE_NOT_FOUND) {
        h.status = XB_HIVE_FAILED;
        h.why = "open the signed-in user's hive";
        h.error = rc;
        fn(ctx, &h);
        return;
    }
    DWORD attrs = GetFileAttributesW(file);
    if (attrs == INVALID_FILE_ATTRIBUTES) {
        rc = (LONG)GetLastError();
        if (rc == ERROR_FILE_NOT_FOUND || rc == ERROR_PATH_NOT_FOUND) {
            h.why = "no NTUSER.DAT";
            fn(ctx, &h);
            return;
        }
        /* Anything else (access denied, a disk that is not there): try the load, which
         * says what is wrong. */
    }
    h.status = XB_HIVE_OPEN;
    visit_loaded(&h, seq, fn, ctx);
}

enum xb_err xb_user_hives_walk(xb_user_hive_fn *fn, void *ctx, char **errmsg)
{
    char text[300];
    *errmsg = NULL;
    LONG rc = enable_privileges();
    if (rc != ERROR_SUCCESS) {
        xb_win_error_text(rc, text, sizeof(text));
        xb_errmsg(errmsg, "it needs an administrator's elevated rights or SYSTEM: cannot "
                          "enable SeBackupPrivilege and SeRestorePrivilege (%s)", text);
        return XB_ERR_AUTH;
    }
    unload_leftovers();
    wchar_t (*sids)[NAME_MAX_CHARS] = NULL;
    size_t count = 0;
    rc = list_profiles(&sids, &count);
    if (rc != ERROR_SUCCESS) {
        xb_win_error_text(rc, text, sizeof(text));
        xb_errmsg(errmsg, "cannot read the list of profiles (HKLM\\%s): %s", PROFILE_LIST_A,
                  text);
        return XB_ERR_IO;
    }
    for (size_t i = 0; i < count; i++) {
        if (!is_system_sid(sids[i]))
            visit_profile(sids[i], (unsigned)i, fn, ctx);
    }
    xb_free(sids);
    return XB_OK;
}
