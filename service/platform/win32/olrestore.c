/*
 * Putting Outlook's accounts back (olprofile.h): one saved copy written back, read back
 * and compared before it is deleted, and the walk over every saved copy under a root
 * key: this user's HKEY_CURRENT_USER, or another user's hive that `restore --all-users`
 * opened (platform/win32/restore_users.c). The same code for both: only the root differs.
 *
 * In another user's hive the writer is SYSTEM or an administrator, and the hive is the
 * user's to shape: every key written to or deleted is opened and then checked to be
 * exactly root\path (its kernel name), so that a registry link planted in the hive cannot
 * lead a write or a delete out of it; keys are deleted through the handle so checked.
 */
#include "platform/win32/olprofile.h"

#include <string.h>
#include <wchar.h>

/* ntdll's, not in MinGW's headers. KeyNameInformation (3) is a key's full kernel name
 * ("\REGISTRY\USER\<name>\Software\..."); NtDeleteKey deletes the key of a handle. */
#define KEY_NAME_INFORMATION_CLASS 3
LONG NTAPI NtQueryKey(HANDLE key, int info_class, void *info, ULONG length, ULONG *result);
LONG NTAPI NtDeleteKey(HANDLE key);
ULONG NTAPI RtlNtStatusToDosError(LONG status);

#define KEY_NAME_MAX 1024            /* characters of a kernel key name we compare */

/* --- keys that are exactly where they should be ------------------------------------------ */

static bool predefined(HKEY key)
{
    return (ULONG_PTR)key >= (ULONG_PTR)HKEY_CLASSES_ROOT;
}

/* The kernel name of key into out (terminated); false if it does not fit. */
static bool key_name(HKEY key, wchar_t *out, size_t n)
{
    struct {
        ULONG length;                /* bytes of name, no terminator */
        wchar_t name[KEY_NAME_MAX];
    } info;
    ULONG got = 0;
    if (NtQueryKey(key, KEY_NAME_INFORMATION_CLASS, &info, sizeof(info), &got) < 0 ||
        info.length % sizeof(wchar_t) || info.length / sizeof(wchar_t) >= n)
        return false;
    memcpy(out, info.name, info.length);
    out[info.length / sizeof(wchar_t)] = L'\0';
    return true;
}

/* Opens root\path and, unless root is this user's own predefined key, refuses a key whose
 * name is not exactly root's name, a backslash and path: one reached through a link. */
static LONG open_exact(HKEY root, const wchar_t *path, REGSAM access, HKEY *out)
{
    wchar_t want[KEY_NAME_MAX], got[KEY_NAME_MAX];
    LONG rc = RegOpenKeyExW(root, path, 0, access, out);
    if (rc != ERROR_SUCCESS || predefined(root))
        return rc;
    size_t len;
    if (key_name(root, want, ARRAYSIZE(want)) && (len = wcslen(want)) + wcslen(path) + 2 <
        ARRAYSIZE(want) && key_name(*out, got, ARRAYSIZE(got))) {
        want[len] = L'\\';
        memcpy(want + len + 1, path, (wcslen(path) + 1) * sizeof(wchar_t));
        if (_wcsicmp(want, got) == 0)
            return ERROR_SUCCESS;
    }
    RegCloseKey(*out);
    *out = NULL;
    return ERROR_BAD_PATHNAME;
}

/* Deletes the key of a handle opened (and checked) with DELETE access. */
static LONG delete_opened(HKEY key)
{
    LONG status = NtDeleteKey(key);
    return status < 0 ? (LONG)RtlNtStatusToDosError(status) : ERROR_SUCCESS;
}

/* --- restore ------------------------------------------------------------------------------ */

static void set_why(struct xb_ol_why *why, const char *step, LONG error)
{
    if (why) {
        why->step = step;
        why->error = error;
    }
}

/* Whether the value in key is exactly the one in orig (both absent counts). */
static bool same_value(HKEY key, HKEY orig, const wchar_t *name, BYTE *a, BYTE *b, DWORD cap)
{
    DWORD ta = 0, tb = 0, sa = cap, sb = cap;
    LONG ra = RegQueryValueExW(key, name, NULL, &ta, a, &sa);
    LONG rb = RegQueryValueExW(orig, name, NULL, &tb, b, &sb);
    if (ra == ERROR_FILE_NOT_FOUND && rb == ERROR_FILE_NOT_FOUND)
        return true;
    return ra == ERROR_SUCCESS && rb == ERROR_SUCCESS && ta == tb && sa == sb &&
           memcmp(a, b, sa) == 0;
}

/* Puts back the values named in saved's Touched from orig, then checks them all. */
static enum xb_err put_back(HKEY account, HKEY saved, HKEY orig, struct xb_ol_why *why)
{
    wchar_t names[XB_OL_NAMES_MAX];
    DWORD type = 0, size = sizeof(names) - 2 * sizeof(wchar_t);
    BYTE *a = NULL, *b = NULL;
    enum xb_err err = XB_ERR_IO;
    const DWORD cap = 64 * 1024;

    memset(names, 0, sizeof(names));
    LONG rc = RegQueryValueExW(saved, L"Touched", NULL, &type, (BYTE *)names, &size);
    if (rc != ERROR_SUCCESS || type != REG_MULTI_SZ) {
        set_why(why, "read the saved copy's Touched", rc ? rc : ERROR_INVALID_DATA);
        return XB_ERR_INVAL;
    }
    a = HeapAlloc(GetProcessHeap(), 0, cap);
    b = HeapAlloc(GetProcessHeap(), 0, cap);
    if (!a || !b) {
        set_why(why, "allocate", ERROR_OUTOFMEMORY);
        err = XB_ERR_NOMEM;
        goto out;
    }
    for (const wchar_t *p = names; *p; p += wcslen(p) + 1) {
        DWORD t = 0, n = cap;
        rc = RegQueryValueExW(orig, p, NULL, &t, a, &n);
        if (rc == ERROR_SUCCESS)
            rc = RegSetValueExW(account, p, 0, t, a, n);
        else if (rc == ERROR_FILE_NOT_FOUND) {
            rc = RegDeleteValueW(account, p);
            if (rc == ERROR_FILE_NOT_FOUND)
                rc = ERROR_SUCCESS;
        }
        if (rc != ERROR_SUCCESS) {
            set_why(why, "write a value back", rc);
            goto out;
        }
    }
    RegFlushKey(account);
    for (const wchar_t *p = names; *p; p += wcslen(p) + 1) {
        if (!same_value(account, orig, p, a, b, cap)) {
            set_why(why, "read back a value (it differs from the saved one)", ERROR_SUCCESS);
            goto out;
        }
    }
    err = XB_OK;
out:
    if (a)
        HeapFree(GetProcessHeap(), 0, a);
    if (b)
        HeapFree(GetProcessHeap(), 0, b);
    return err;
}

/* Deletes path's parents up to XB_PRODUCT_KEY, while they hold nothing. */
static void delete_empty_parents(HKEY root, wchar_t *path)
{
    static const size_t stop = sizeof("Software\\XOAuthBridge") - 1;
    for (;;) {
        wchar_t *slash = wcsrchr(path, L'\\');
        if (!slash || (size_t)(slash - path) < stop)
            return;
        *slash = L'\0';
        HKEY key;
        DWORD subkeys = 1, values = 1;
        if (open_exact(root, path, KEY_READ | DELETE, &key) != ERROR_SUCCESS)
            return;
        LONG rc = RegQueryInfoKeyW(key, NULL, NULL, NULL, &subkeys, NULL, NULL, &values, NULL,
                                   NULL, NULL, NULL);
        if (rc == ERROR_SUCCESS && !subkeys && !values)
            rc = delete_opened(key);
        else
            rc = ERROR_DIR_NOT_EMPTY;
        RegCloseKey(key);
        if (rc != ERROR_SUCCESS)
            return;
    }
}

enum xb_err xb_ol_restore(HKEY root, enum xb_ol_layout layout, const wchar_t *profile,
                          const wchar_t *id, struct xb_ol_why *why)
{
    wchar_t path[512], orig_path[512 + 16], acct[512];
    HKEY saved = NULL, orig = NULL, account = NULL;

    set_why(why, "", ERROR_SUCCESS);
    if (!xb_ol_saved_path(layout, profile, id, path, ARRAYSIZE(path)) ||
        !xb_ol_account_path(layout, profile, id, acct, ARRAYSIZE(acct))) {
        set_why(why, "make the key's path (too long)", ERROR_BUFFER_OVERFLOW);
        return XB_ERR_RANGE;
    }
    _snwprintf(orig_path, ARRAYSIZE(orig_path), L"%ls\\Original", path);
    orig_path[ARRAYSIZE(orig_path) - 1] = L'\0';
    LONG rc = open_exact(root, path, KEY_ALL_ACCESS, &saved);
    if (rc != ERROR_SUCCESS) {
        set_why(why, "open the saved copy", rc);
        return rc == ERROR_FILE_NOT_FOUND ? XB_ERR_NOTFOUND : XB_ERR_IO;
    }
    rc = open_exact(root, orig_path, KEY_READ | DELETE, &orig);
    if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND) {
        set_why(why, "open the saved copy's Original", rc);
        goto failed;
    }
    DWORD state = 0;
    enum xb_err err = XB_OK;
    if (!xb_ol_read_dword(saved, L"State", &state)) {
        /* Never a whole copy (the state is written last): nothing was changed yet. */
        goto forget;
    }
    if (!orig) {
        set_why(why, "open the saved copy's Original", ERROR_FILE_NOT_FOUND);
        err = XB_ERR_INVAL;
        goto out;
    }
    rc = xb_ol_set_state(saved, XB_OL_SAVED_RESTORING);
    if (rc != ERROR_SUCCESS) {
        set_why(why, "mark the saved copy as restoring", rc);
        goto failed;
    }
    rc = open_exact(root, acct, KEY_READ | KEY_SET_VALUE, &account);
    if (rc == ERROR_FILE_NOT_FOUND)
        goto forget; /* the person removed the account from Outlook: nothing to put back */
    if (rc != ERROR_SUCCESS) {
        set_why(why, "open the Outlook account", rc);
        goto failed;
    }
    err = put_back(account, saved, orig, why);
    if (err != XB_OK)
        goto out;
forget:
    /* Original, then the copy itself: through the handles checked above. A key under
     * either that we did not write makes the delete fail, and the copy stays. */
    rc = orig ? delete_opened(orig) : ERROR_SUCCESS;
    if (rc == ERROR_SUCCESS)
        rc = delete_opened(saved);
    if (rc != ERROR_SUCCESS) {
        set_why(why, "delete the saved copy", rc);
        goto failed;
    }
    RegCloseKey(saved);
    saved = NULL;
    delete_empty_parents(root, path);
    goto out;
failed:
    err = XB_ERR_IO;
out:
    if (account)
        RegCloseKey(account);
    if (orig)
        RegCloseKey(orig);
    if (saved)
        RegCloseKey(saved);
    return err;
}

/* --- walking the saved copies --------------------------------------------------------------- */

typedef void saved_fn(void *ctx, enum xb_ol_layout layout, const wchar_t *profile,
                      const wchar_t *id, HKEY saved);

/* A key that is not there is an empty list; any other error is not (fail closed: a
 * hive that cannot be read must not pass for one with nothing saved). */
static LONG open_listed(HKEY parent, const wchar_t *name, HKEY *out)
{
    LONG rc = RegOpenKeyExW(parent, name, 0, KEY_READ, out);
    if (rc != ERROR_SUCCESS)
        *out = NULL;
    return rc;
}

/* Calls fn for each saved copy under root. Keys are collected first: fn may delete
 * them. Returns ERROR_SUCCESS, or the first error met while listing (*step says where):
 * what could be listed is still visited. */
static LONG each_saved(HKEY root, saved_fn *fn, void *ctx, const char **step)
{
    enum { MAX = 256 };
    static const wchar_t *const layouts[XB_OL_LAYOUTS] = { L"2010", L"2013", L"2016" };
    struct item {
        enum xb_ol_layout layout;
        wchar_t profile[XB_OL_PROFILE_MAX];
        wchar_t id[XB_OL_ID_MAX];
    };
    LONG first = ERROR_SUCCESS;
    struct item *items = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, MAX * sizeof(*items));
    size_t count = 0;
    *step = "";
    if (!items) {
        *step = "allocate";
        return ERROR_OUTOFMEMORY;
    }
#define FIRST(what, rc)                                                                       \
    do {                                                                                      \
        if (first == ERROR_SUCCESS) {                                                         \
            first = (rc);                                                                     \
            *step = (what);                                                                   \
        }                                                                                     \
    } while (0)
    for (int l = 0; l < XB_OL_LAYOUTS; l++) {
        wchar_t path[256];
        HKEY lk;
        _snwprintf(path, ARRAYSIZE(path), L"%ls\\%ls", XB_OL_SAVED_KEY, layouts[l]);
        path[ARRAYSIZE(path) - 1] = L'\0';
        LONG rc = open_listed(root, path, &lk);
        if (rc != ERROR_SUCCESS) {
            if (rc != ERROR_FILE_NOT_FOUND)
                FIRST("open the saved copies' key", rc);
            continue;
        }
        wchar_t prof[XB_OL_PROFILE_MAX];
        for (DWORD i = 0;; i++) {
            DWORD n = XB_OL_PROFILE_MAX;
            rc = RegEnumKeyExW(lk, i, prof, &n, NULL, NULL, NULL, NULL);
            if (rc == ERROR_MORE_DATA)
                continue; /* longer than any profile name the add-in saves under */
            if (rc != ERROR_SUCCESS) {
                if (rc != ERROR_NO_MORE_ITEMS)
                    FIRST("list the saved profiles", rc);
                break;
            }
            HKEY pk;
            rc = open_listed(lk, prof, &pk);
            if (rc != ERROR_SUCCESS) {
                FIRST("open a saved profile", rc);
                continue;
            }
            for (DWORD j = 0;; j++) {
                if (count == MAX) {
                    /* The rest waits for the next run, which says so too. */
                    FIRST("list the saved copies (more than 256 at once)", ERROR_MORE_DATA);
                    break;
                }
                DWORD m = XB_OL_ID_MAX;
                rc = RegEnumKeyExW(pk, j, items[count].id, &m, NULL, NULL, NULL, NULL);
                if (rc == ERROR_MORE_DATA)
                    continue;
                if (rc != ERROR_SUCCESS) {
                    if (rc != ERROR_NO_MORE_ITEMS)
                        FIRST("list the saved accounts", rc);
                    break;
                }
                items[count].layout = (enum xb_ol_layout)l;
                memcpy(items[count].profile, prof, sizeof(prof)); /* same size, terminated */
                count++;
            }
            RegCloseKey(pk);
        }
        RegCloseKey(lk);
    }
    for (size_t i = 0; i < count; i++) {
        wchar_t path[512];
        HKEY saved;
        if (!xb_ol_saved_path(items[i].layout, items[i].profile, items[i].id, path,
                              ARRAYSIZE(path)))
            continue;
        LONG rc = RegOpenKeyExW(root, path, 0, KEY_READ, &saved);
        if (rc != ERROR_SUCCESS) {
            if (rc != ERROR_FILE_NOT_FOUND)
                FIRST("open a saved copy", rc);
            continue;
        }
        fn(ctx, items[i].layout, items[i].profile, items[i].id, saved);
        RegCloseKey(saved);
    }
#undef FIRST
    HeapFree(GetProcessHeap(), 0, items);
    return first;
}

struct restore_walk {
    HKEY root;
    const char *email;           /* NULL: all */
    bool unfinished_only;        /* recovery: only copies not in state "bridged" */
    unsigned restored, failed;
    xb_ol_restored_fn *fn;
    void *ctx;
};

static void restore_one(void *ctx, enum xb_ol_layout layout, const wchar_t *profile,
                        const wchar_t *id, HKEY saved)
{
    struct restore_walk *rw = ctx;
    char email[XB_OL_STR_MAX];
    if (!xb_ol_read_str(saved, L"Email", email, sizeof(email), NULL))
        email[0] = '\0';
    if (rw->email && _stricmp(email, rw->email) != 0)
        return;
    if (rw->unfinished_only) {
        DWORD state = 0;
        if (xb_ol_read_dword(saved, L"State", &state) && state == XB_OL_SAVED_BRIDGED)
            return;
    }
    struct xb_ol_restored r = { .layout = layout, .profile = profile, .id = id,
                                .email = email };
    r.err = xb_ol_restore(rw->root, layout, profile, id, &r.why);
    if (r.err == XB_OK)
        rw->restored++;
    else
        rw->failed++;
    if (rw->fn)
        rw->fn(rw->ctx, &r);
}

static void restore_walk(struct restore_walk *rw)
{
    const char *step = "";
    LONG rc = each_saved(rw->root, restore_one, rw, &step);
    if (rc != ERROR_SUCCESS) {
        /* Copies that could not even be listed: one failure, so that nobody takes the
         * hive for restored. */
        rw->failed++;
        struct xb_ol_restored r = { .profile = NULL, .id = NULL, .email = "",
                                    .err = XB_ERR_IO, .why = { step, rc } };
        if (rw->fn)
            rw->fn(rw->ctx, &r);
    }
}

enum xb_err xb_ol_restore_email(HKEY root, const char *email, unsigned *restored,
                                unsigned *failed, xb_ol_restored_fn *fn, void *ctx)
{
    struct restore_walk rw = { .root = root, .email = email, .fn = fn, .ctx = ctx };
    restore_walk(&rw);
    if (restored)
        *restored = rw.restored;
    if (failed)
        *failed = rw.failed;
    return rw.failed ? XB_ERR_IO : XB_OK;
}

unsigned xb_ol_recover(void)
{
    struct restore_walk rw = { .root = HKEY_CURRENT_USER, .unfinished_only = true };
    restore_walk(&rw);
    return rw.restored;
}
