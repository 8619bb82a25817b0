/*
 * Reading Outlook's accounts from the registry (olprofile.h): the three layouts, the
 * default profile, and a scan that survives keys vanishing and values of the wrong
 * type or size. Nothing here writes.
 */
#include "platform/win32/olprofile.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* Longest registry string we read, in bytes: Outlook's values are short. */
#define STR_BYTES_MAX 2048

static const wchar_t *const roots[XB_OL_LAYOUTS] = {
    [XB_OL_2010] = L"Software\\Microsoft\\Windows NT\\CurrentVersion\\"
                   L"Windows Messaging Subsystem\\Profiles",
    [XB_OL_2013] = L"Software\\Microsoft\\Office\\15.0\\Outlook\\Profiles",
    [XB_OL_2016] = L"Software\\Microsoft\\Office\\16.0\\Outlook\\Profiles",
};

/* Where DefaultProfile lives: the Outlook key from 2013, the Profiles key before. */
static const wchar_t *const default_keys[XB_OL_LAYOUTS] = {
    [XB_OL_2010] = L"Software\\Microsoft\\Windows NT\\CurrentVersion\\"
                   L"Windows Messaging Subsystem\\Profiles",
    [XB_OL_2013] = L"Software\\Microsoft\\Office\\15.0\\Outlook",
    [XB_OL_2016] = L"Software\\Microsoft\\Office\\16.0\\Outlook",
};

const char *xb_ol_layout_name(enum xb_ol_layout layout)
{
    static const char *const names[XB_OL_LAYOUTS] = { "2010", "2013", "2016" };
    return (unsigned)layout < XB_OL_LAYOUTS ? names[layout] : "?";
}

enum xb_ol_layout xb_ol_layout_for_version(const char *version)
{
    unsigned major = 0;
    for (const char *p = version; p && *p >= '0' && *p <= '9' && major < 1000; p++)
        major = major * 10 + (unsigned)(*p - '0');
    if (major >= 16)
        return XB_OL_2016;
    return major == 15 ? XB_OL_2013 : XB_OL_2010;
}

bool xb_ol_account_path(enum xb_ol_layout layout, const wchar_t *profile, const wchar_t *id,
                        wchar_t *out, size_t n)
{
    int len = _snwprintf(out, n, L"%ls\\%ls\\%ls\\%ls", roots[layout], profile,
                         XB_OL_ACCOUNTS_KEY, id);
    if (len < 0 || (size_t)len >= n) {
        if (n)
            out[0] = L'\0';
        return false;
    }
    return true;
}

/* --- values ------------------------------------------------------------------------------ */

bool xb_ol_read_str(HKEY key, const wchar_t *name, char *out, size_t n, DWORD *type)
{
    union {
        BYTE b[STR_BYTES_MAX + 2];
        wchar_t w[(STR_BYTES_MAX + 2) / sizeof(wchar_t)];
    } v;
    DWORD t = 0, size = STR_BYTES_MAX;
    out[0] = '\0';
    if (RegQueryValueExW(key, name, NULL, &t, v.b, &size) != ERROR_SUCCESS)
        return false;
    if (t != REG_BINARY && t != REG_SZ && t != REG_EXPAND_SZ)
        return false;
    if (size % sizeof(wchar_t) != 0)
        return false;
    /* Terminated or not, with any number of trailing NULs. */
    size_t chars = size / sizeof(wchar_t);
    v.w[chars] = L'\0';
    chars = wcslen(v.w);
    if (type)
        *type = t;
    if (chars == 0)
        return true;
    if (n > INT_MAX)
        return false;
    int got = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, v.w, (int)chars, out,
                                  (int)n - 1, NULL, NULL);
    if (got <= 0) {
        out[0] = '\0';
        return false;
    }
    out[got] = '\0';
    return true;
}

bool xb_ol_read_dword(HKEY key, const wchar_t *name, DWORD *out)
{
    DWORD t = 0, v = 0, size = sizeof(v);
    if (RegQueryValueExW(key, name, NULL, &t, (BYTE *)&v, &size) != ERROR_SUCCESS ||
        t != REG_DWORD || size != sizeof(v))
        return false;
    *out = v;
    return true;
}

bool xb_ol_default_profile(enum xb_ol_layout layout, wchar_t *out, size_t n)
{
    HKEY key;
    char name[XB_OL_PROFILE_MAX * 4];
    bool ok = false;
    out[0] = L'\0';
    if (RegOpenKeyExW(HKEY_CURRENT_USER, default_keys[layout], 0, KEY_QUERY_VALUE, &key) !=
        ERROR_SUCCESS)
        return false;
    if (xb_ol_read_str(key, L"DefaultProfile", name, sizeof(name), NULL) && name[0])
        ok = MultiByteToWideChar(CP_UTF8, 0, name, -1, out, (int)n) > 0;
    RegCloseKey(key);
    if (!ok && n)
        out[0] = L'\0';
    return ok;
}

/* --- the scan ------------------------------------------------------------------------------ */

/* The state of our saved copy of an account (olbridge.c owns the key; reading it here
 * lets a scan say which accounts are bridged). */
static enum xb_ol_saved saved_state(enum xb_ol_layout layout, const wchar_t *profile,
                                    const wchar_t *id, char *provider, size_t n)
{
    wchar_t path[512];
    HKEY key;
    DWORD state = XB_OL_SAVED_NONE;
    if (!xb_ol_saved_path(layout, profile, id, path, sizeof(path) / sizeof(path[0])))
        return XB_OL_SAVED_NONE;
    if (RegOpenKeyExW(HKEY_CURRENT_USER, path, 0, KEY_QUERY_VALUE, &key) != ERROR_SUCCESS)
        return XB_OL_SAVED_NONE;
    if (!xb_ol_read_dword(key, L"State", &state) || state > XB_OL_SAVED_RESTORING)
        state = XB_OL_SAVED_SAVING; /* a copy without a readable state: treat as unfinished */
    xb_ol_read_str(key, L"Provider", provider, n, NULL);
    RegCloseKey(key);
    return (enum xb_ol_saved)state;
}

/* One account key; false if it is not a POP3 or IMAP account (or vanished). */
static bool read_account(HKEY accounts, enum xb_ol_layout layout, const wchar_t *profile,
                         const wchar_t *id, struct xb_ol_account *a)
{
    HKEY key;
    char clsid[64];
    if (RegOpenKeyExW(accounts, id, 0, KEY_QUERY_VALUE, &key) != ERROR_SUCCESS)
        return false;
    memset(a, 0, sizeof(*a));
    bool ok = xb_ol_read_str(key, L"clsid", clsid, sizeof(clsid), NULL);
    if (ok && _stricmp(clsid, "{ED475411-B0D6-11D2-8C3B-00104B2A6676}") == 0)
        a->kind = XB_OL_POP3;
    else if (ok && _stricmp(clsid, "{ED475412-B0D6-11D2-8C3B-00104B2A6676}") == 0)
        a->kind = XB_OL_IMAP;
    else
        ok = false;
    if (ok) {
        const bool pop = a->kind == XB_OL_POP3;
        a->layout = layout;
        wcsncpy(a->profile, profile, XB_OL_PROFILE_MAX - 1);
        wcsncpy(a->id, id, XB_OL_ID_MAX - 1);
        xb_ol_read_str(key, L"Account Name", a->name, sizeof(a->name), NULL);
        xb_ol_read_str(key, L"Email", a->email, sizeof(a->email), NULL);
        xb_ol_read_str(key, pop ? L"POP3 Server" : L"IMAP Server", a->server,
                       sizeof(a->server), NULL);
        xb_ol_read_str(key, pop ? L"POP3 User" : L"IMAP User", a->user, sizeof(a->user), NULL);
        xb_ol_read_str(key, L"SMTP Server", a->smtp_server, sizeof(a->smtp_server), NULL);
        if (!xb_ol_read_dword(key, pop ? L"POP3 Port" : L"IMAP Port", &a->port))
            a->port = 0;
        if (!xb_ol_read_dword(key, L"SMTP Port", &a->smtp_port))
            a->smtp_port = 0;
        a->has_password = RegQueryValueExW(key, pop ? L"POP3 Password" : L"IMAP Password", NULL,
                                           NULL, NULL, NULL) == ERROR_SUCCESS;
        a->saved = saved_state(layout, profile, id, a->saved_provider,
                               sizeof(a->saved_provider));
    }
    RegCloseKey(key);
    return ok;
}

static unsigned scan_profile(HKEY profiles, enum xb_ol_layout layout, const wchar_t *profile,
                             xb_ol_each_fn *fn, void *ctx)
{
    wchar_t path[XB_OL_PROFILE_MAX + 64], id[XB_OL_ID_MAX];
    HKEY accounts;
    unsigned seen = 0;
    int len = _snwprintf(path, sizeof(path) / sizeof(path[0]), L"%ls\\%ls", profile,
                         XB_OL_ACCOUNTS_KEY);
    if (len < 0 || (size_t)len >= sizeof(path) / sizeof(path[0]))
        return 0;
    if (RegOpenKeyExW(profiles, path, 0, KEY_READ, &accounts) != ERROR_SUCCESS)
        return 0;
    /* An index that outlives the key simply ends the walk (ERROR_NO_MORE_ITEMS or an
     * error: either way, nothing half-read is passed on). */
    for (DWORD i = 0; i < 10000; i++) {
        DWORD n = XB_OL_ID_MAX;
        LONG rc = RegEnumKeyExW(accounts, i, id, &n, NULL, NULL, NULL, NULL);
        if (rc == ERROR_MORE_DATA)
            continue; /* not one of Outlook's 8-digit ids */
        if (rc != ERROR_SUCCESS)
            break;
        struct xb_ol_account a;
        if (read_account(accounts, layout, profile, id, &a)) {
            seen++;
            fn(ctx, &a);
        }
    }
    RegCloseKey(accounts);
    return seen;
}

unsigned xb_ol_scan(enum xb_ol_layout layout, const wchar_t *profile, xb_ol_each_fn *fn,
                    void *ctx)
{
    HKEY profiles;
    unsigned seen = 0;
    if ((unsigned)layout >= XB_OL_LAYOUTS)
        return 0;
    if (RegOpenKeyExW(HKEY_CURRENT_USER, roots[layout], 0, KEY_READ, &profiles) !=
        ERROR_SUCCESS)
        return 0;
    if (profile) {
        seen = scan_profile(profiles, layout, profile, fn, ctx);
    } else {
        wchar_t name[XB_OL_PROFILE_MAX];
        for (DWORD i = 0; i < 1000; i++) {
            DWORD n = XB_OL_PROFILE_MAX;
            LONG rc = RegEnumKeyExW(profiles, i, name, &n, NULL, NULL, NULL, NULL);
            if (rc == ERROR_MORE_DATA)
                continue;
            if (rc != ERROR_SUCCESS)
                break;
            seen += scan_profile(profiles, layout, name, fn, ctx);
        }
    }
    RegCloseKey(profiles);
    return seen;
}
