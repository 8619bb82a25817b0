/*
 * Changing Outlook's accounts (olprofile.h): the saved copy, bridging, pointing at new
 * ports, and Outlook's password format (putting them back is olrestore.c's). The order
 * of writes is what makes this safe; see olprofile.h before changing any of it.
 */
#include "platform/win32/olprofile.h"

#include <wincrypt.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#define PASSWORD_LEAD 0x02          /* Outlook's first byte before the DPAPI blob */
#define PASSWORD_BLOB_MAX 4096

bool xb_ol_saved_path(enum xb_ol_layout layout, const wchar_t *profile, const wchar_t *id,
                      wchar_t *out, size_t n)
{
    int len = _snwprintf(out, n, L"%ls\\%hs\\%ls\\%ls", XB_OL_SAVED_KEY,
                         xb_ol_layout_name(layout), profile, id);
    if (len < 0 || (size_t)len >= n) {
        if (n)
            out[0] = L'\0';
        return false;
    }
    return true;
}

/* --- passwords ------------------------------------------------------------------------- */

enum xb_err xb_ol_password_encode(const char *password, BYTE *out, DWORD *len)
{
    wchar_t w[XB_OL_STR_MAX];
    int chars = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, password, -1, w,
                                    XB_OL_STR_MAX);
    if (chars <= 0)
        return XB_ERR_INVAL;
    DATA_BLOB in = { (DWORD)chars * sizeof(wchar_t), (BYTE *)w }, blob = { 0, NULL };
    BOOL ok = CryptProtectData(&in, NULL, NULL, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &blob);
    SecureZeroMemory(w, sizeof(w));
    if (!ok)
        return XB_ERR_CRYPTO;
    enum xb_err err = XB_ERR_RANGE;
    if (blob.cbData < *len) {
        out[0] = PASSWORD_LEAD;
        memcpy(out + 1, blob.pbData, blob.cbData);
        *len = blob.cbData + 1;
        err = XB_OK;
    }
    LocalFree(blob.pbData);
    return err;
}

/* --- what bridging changes ----------------------------------------------------------------- */

enum what {
    W_HOST,            /* the companion's address, as a string */
    W_IN_PORT,         /* DWORD */
    W_SMTP_PORT,
    W_IN_USER,         /* string: the incoming user name */
    W_SMTP_USER,       /* string: the SMTP user name */
    W_SECRET,          /* Outlook's password format */
    W_AUTH_USER_PASS,  /* DWORD 1: SMTP_AUTH_USER_PASS (below) */
    W_ZERO,            /* DWORD 0: no TLS, no SPA on loopback */
    W_ZERO_IF_THERE,   /* the same, only if Outlook wrote the value (names unverified) */
    W_ONE,             /* DWORD 1 */
};

struct change {
    const wchar_t *name;
    enum what what;
};

static const struct change pop3_changes[] = {
    { L"POP3 Server", W_HOST },
    { L"POP3 Port", W_IN_PORT },
    { L"POP3 User", W_IN_USER },
    { L"POP3 Password", W_SECRET },
    { L"POP3 Use SSL", W_ZERO },
    { L"POP3 Use SPA", W_ZERO },
    { L"POP3 Secure Connection", W_ZERO_IF_THERE },
};

static const struct change imap_changes[] = {
    { L"IMAP Server", W_HOST },
    { L"IMAP Port", W_IN_PORT },
    { L"IMAP User", W_IN_USER },
    { L"IMAP Password", W_SECRET },
    { L"IMAP Use SSL", W_ZERO },
    { L"IMAP Use SPA", W_ZERO },
    { L"IMAP Secure Connection", W_ZERO_IF_THERE },
};

/* The sending side, for both kinds. "SMTP Auth Method" (PROP_SMTP_AUTH_METHOD) becomes
 * SMTP_AUTH_USER_PASS (1: log on with SMTP User and SMTP Password), whatever it was:
 * SMTP_AUTH_SAME_AS_POP (0) would send the incoming user, which for POP3 recent mode
 * carries recent:, and SMTP_AUTH_RECEIVE_BEFORE_SEND (2, "log on to incoming mail server
 * before sending") sends no AUTH at all, which the companion refuses. */
static const struct change smtp_changes[] = {
    { L"SMTP Server", W_HOST },
    { L"SMTP Port", W_SMTP_PORT },
    { L"SMTP Use Auth", W_ONE },
    { L"SMTP Auth Method", W_AUTH_USER_PASS },
    { L"SMTP User", W_SMTP_USER },
    { L"SMTP Password", W_SECRET },
    { L"SMTP Use SSL", W_ZERO },
    { L"SMTP Use SPA", W_ZERO_IF_THERE },
    { L"SMTP Secure Connection", W_ZERO_IF_THERE },
};

static bool value_exists(HKEY key, const wchar_t *name, DWORD *type)
{
    return RegQueryValueExW(key, name, NULL, type, NULL, NULL) == ERROR_SUCCESS;
}

/* A string in the type Outlook used for this value (REG_BINARY UTF-16LE and NUL when
 * the value is new). */
static LONG write_str(HKEY key, const wchar_t *name, const char *utf8)
{
    wchar_t w[XB_OL_STR_MAX];
    DWORD type = REG_BINARY;
    int chars = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w, XB_OL_STR_MAX);
    if (chars <= 0)
        return ERROR_INVALID_DATA;
    if (!value_exists(key, name, &type) || (type != REG_SZ && type != REG_EXPAND_SZ))
        type = REG_BINARY;
    return RegSetValueExW(key, name, 0, type, (const BYTE *)w, (DWORD)chars * sizeof(wchar_t));
}

static LONG write_dword(HKEY key, const wchar_t *name, DWORD v)
{
    return RegSetValueExW(key, name, 0, REG_DWORD, (const BYTE *)&v, sizeof(v));
}

/* --- the saved copy -------------------------------------------------------------------------- */

/* Copies every value of from into to, as it is. */
static LONG copy_values(HKEY from, HKEY to)
{
    DWORD max_name = 0, max_data = 0;
    LONG rc = RegQueryInfoKeyW(from, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &max_name,
                               &max_data, NULL, NULL);
    if (rc != ERROR_SUCCESS)
        return rc;
    wchar_t *name = HeapAlloc(GetProcessHeap(), 0, (max_name + 1) * sizeof(wchar_t));
    BYTE *data = HeapAlloc(GetProcessHeap(), 0, max_data + 1);
    if (!name || !data) {
        rc = ERROR_OUTOFMEMORY;
        goto out;
    }
    for (DWORD i = 0;; i++) {
        DWORD n = max_name + 1, size = max_data + 1, type = 0;
        rc = RegEnumValueW(from, i, name, &n, NULL, &type, data, &size);
        if (rc == ERROR_NO_MORE_ITEMS) {
            rc = ERROR_SUCCESS;
            break;
        }
        if (rc != ERROR_SUCCESS)
            break;
        rc = RegSetValueExW(to, name, 0, type, data, size);
        if (rc != ERROR_SUCCESS)
            break;
    }
out:
    if (name)
        HeapFree(GetProcessHeap(), 0, name);
    if (data)
        HeapFree(GetProcessHeap(), 0, data);
    return rc;
}

/* The names a bridge of this account writes, as a REG_MULTI_SZ. */
static bool touched_names(HKEY account, enum xb_ol_kind kind, wchar_t *out, size_t n,
                          DWORD *bytes)
{
    const struct change *sets[2] = { kind == XB_OL_POP3 ? pop3_changes : imap_changes,
                                     smtp_changes };
    const size_t counts[2] = { kind == XB_OL_POP3 ? ARRAYSIZE(pop3_changes)
                                                  : ARRAYSIZE(imap_changes),
                               ARRAYSIZE(smtp_changes) };
    size_t at = 0;
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < counts[s]; i++) {
            const struct change *c = &sets[s][i];
            if (c->what == W_ZERO_IF_THERE && !value_exists(account, c->name, NULL))
                continue;
            size_t len = wcslen(c->name) + 1;
            if (at + len + 1 > n)
                return false;
            memcpy(out + at, c->name, len * sizeof(wchar_t));
            at += len;
        }
    }
    out[at++] = L'\0';
    *bytes = (DWORD)(at * sizeof(wchar_t));
    return true;
}

LONG xb_ol_set_state(HKEY saved, enum xb_ol_saved state)
{
    LONG rc = write_dword(saved, L"State", (DWORD)state);
    if (rc == ERROR_SUCCESS)
        RegFlushKey(saved);
    return rc;
}

static bool in_names(const wchar_t *names, const wchar_t *name)
{
    for (const wchar_t *p = names; *p; p += wcslen(p) + 1) {
        if (_wcsicmp(p, name) == 0)
            return true;
    }
    return false;
}

/* A copy made by an older version lacks names this one writes (e.g. "SMTP Auth
 * Method"): their values in the account are still Outlook's own (we never wrote them),
 * so they go into Original as they are (or absent), then into Touched. Original first:
 * an interruption before Touched leaves the old, whole copy. */
static LONG extend_copy(HKEY account, HKEY saved, enum xb_ol_kind kind)
{
    wchar_t have[XB_OL_NAMES_MAX], want[XB_OL_NAMES_MAX], merged[XB_OL_NAMES_MAX];
    DWORD type = 0, size = sizeof(have) - 2 * sizeof(wchar_t), want_bytes = 0;
    HKEY orig = NULL;
    BYTE *data = NULL;
    size_t at = 0;
    LONG rc;

    memset(have, 0, sizeof(have));
    if (RegQueryValueExW(saved, L"Touched", NULL, &type, (BYTE *)have, &size) !=
            ERROR_SUCCESS || type != REG_MULTI_SZ)
        return ERROR_INVALID_DATA;
    if (!touched_names(account, kind, want, ARRAYSIZE(want), &want_bytes))
        return ERROR_INSUFFICIENT_BUFFER;
    rc = RegOpenKeyExW(saved, L"Original", 0, KEY_READ | KEY_SET_VALUE, &orig);
    if (rc != ERROR_SUCCESS)
        return rc;
    const DWORD cap = 64 * 1024;
    if (!(data = HeapAlloc(GetProcessHeap(), 0, cap))) {
        rc = ERROR_OUTOFMEMORY;
        goto out;
    }
    for (const wchar_t *p = have; *p; p += wcslen(p) + 1) {
        size_t len = wcslen(p) + 1;
        if (at + len + 1 > ARRAYSIZE(merged)) {
            rc = ERROR_INSUFFICIENT_BUFFER;
            goto out;
        }
        memcpy(merged + at, p, len * sizeof(wchar_t));
        at += len;
    }
    const size_t old_at = at;
    for (const wchar_t *p = want; *p; p += wcslen(p) + 1) {
        if (in_names(have, p))
            continue;
        DWORD t = 0, n = cap;
        rc = RegQueryValueExW(account, p, NULL, &t, data, &n);
        if (rc == ERROR_SUCCESS)
            rc = RegSetValueExW(orig, p, 0, t, data, n);
        else if (rc == ERROR_FILE_NOT_FOUND) {
            rc = RegDeleteValueW(orig, p);
            if (rc == ERROR_FILE_NOT_FOUND)
                rc = ERROR_SUCCESS;
        }
        size_t len = wcslen(p) + 1;
        if (rc == ERROR_SUCCESS && at + len + 1 > ARRAYSIZE(merged))
            rc = ERROR_INSUFFICIENT_BUFFER;
        if (rc != ERROR_SUCCESS)
            goto out;
        memcpy(merged + at, p, len * sizeof(wchar_t));
        at += len;
    }
    rc = ERROR_SUCCESS;
    if (at == old_at)
        goto out; /* nothing new */
    merged[at++] = L'\0';
    RegFlushKey(orig);
    rc = RegSetValueExW(saved, L"Touched", 0, REG_MULTI_SZ, (const BYTE *)merged,
                        (DWORD)(at * sizeof(wchar_t)));
out:
    if (data)
        HeapFree(GetProcessHeap(), 0, data);
    RegCloseKey(orig);
    return rc;
}

/* Makes the saved copy (or keeps the one there) and marks it "saving". */
static enum xb_err save_originals(HKEY account, const struct xb_ol_account *a,
                                  const struct xb_ol_endpoint *ep, HKEY *saved_out)
{
    wchar_t path[512], names[XB_OL_NAMES_MAX];
    HKEY saved = NULL, orig = NULL;
    DWORD disp = 0, bytes = 0;
    enum xb_err err = XB_ERR_IO;

    if (!xb_ol_saved_path(a->layout, a->profile, a->id, path, ARRAYSIZE(path)))
        return XB_ERR_RANGE;
    if (RegCreateKeyExW(HKEY_CURRENT_USER, path, 0, NULL, 0, KEY_ALL_ACCESS, NULL, &saved,
                        &disp) != ERROR_SUCCESS)
        return XB_ERR_IO;
    DWORD state = 0;
    if (disp == REG_OPENED_EXISTING_KEY && xb_ol_read_dword(saved, L"State", &state) &&
        state >= XB_OL_SAVED_SAVING && state <= XB_OL_SAVED_RESTORING) {
        /* Originals are saved once: what the account holds now may be ours. Names this
         * version writes that an older one did not are added to the copy first. */
        if (extend_copy(account, saved, a->kind) != ERROR_SUCCESS ||
            xb_ol_set_state(saved, XB_OL_SAVED_SAVING) != ERROR_SUCCESS)
            goto out;
        *saved_out = saved;
        return XB_OK;
    }
    /* A fresh copy (or a stray key without a state, which never held a finished one). */
    RegDeleteTreeW(saved, NULL);
    if (RegCreateKeyExW(saved, L"Original", 0, NULL, 0, KEY_ALL_ACCESS, NULL, &orig, NULL) !=
        ERROR_SUCCESS)
        goto out;
    if (copy_values(account, orig) != ERROR_SUCCESS)
        goto out;
    RegFlushKey(orig);
    if (!touched_names(account, a->kind, names, ARRAYSIZE(names), &bytes)) {
        err = XB_ERR_RANGE;
        goto out;
    }
    wchar_t w[XB_OL_STR_MAX];
    wchar_t prov[16];
    if (MultiByteToWideChar(CP_UTF8, 0, ep->email, -1, w, XB_OL_STR_MAX) <= 0 ||
        MultiByteToWideChar(CP_UTF8, 0, ep->provider ? ep->provider : "google", -1, prov,
                            ARRAYSIZE(prov)) <= 0)
        goto out;
    if (RegSetValueExW(saved, L"Touched", 0, REG_MULTI_SZ, (const BYTE *)names, bytes) !=
            ERROR_SUCCESS ||
        RegSetValueExW(saved, L"Email", 0, REG_SZ, (const BYTE *)w,
                       (DWORD)(wcslen(w) + 1) * sizeof(wchar_t)) != ERROR_SUCCESS ||
        RegSetValueExW(saved, L"Provider", 0, REG_SZ, (const BYTE *)prov,
                       (DWORD)(wcslen(prov) + 1) * sizeof(wchar_t)) != ERROR_SUCCESS ||
        write_dword(saved, L"Kind", (DWORD)a->kind) != ERROR_SUCCESS)
        goto out;
    /* The state goes last: a copy with a state is a whole copy. */
    if (xb_ol_set_state(saved, XB_OL_SAVED_SAVING) != ERROR_SUCCESS)
        goto out;
    RegCloseKey(orig);
    *saved_out = saved;
    return XB_OK;
out:
    if (orig)
        RegCloseKey(orig);
    RegDeleteTreeW(saved, NULL);
    RegCloseKey(saved);
    RegDeleteKeyW(HKEY_CURRENT_USER, path);
    return err;
}

/* --- bridge ------------------------------------------------------------------------------- */

static LONG apply(HKEY account, const struct change *c, const struct xb_ol_endpoint *ep,
                  const BYTE *pw, DWORD pwlen)
{
    switch (c->what) {
    case W_HOST:
        return write_str(account, c->name, ep->host);
    case W_IN_PORT:
        return write_dword(account, c->name, ep->in_port);
    case W_SMTP_PORT:
        return write_dword(account, c->name, ep->smtp_port);
    case W_IN_USER:
        return write_str(account, c->name, ep->in_user ? ep->in_user : ep->user);
    case W_SMTP_USER:
        return write_str(account, c->name, ep->user);
    case W_SECRET:
        return RegSetValueExW(account, c->name, 0, REG_BINARY, pw, pwlen);
    case W_AUTH_USER_PASS:
        return write_dword(account, c->name, 1);
    case W_ZERO_IF_THERE:
        if (!value_exists(account, c->name, NULL))
            return ERROR_SUCCESS;
        /* fall through */
    case W_ZERO:
        return write_dword(account, c->name, 0);
    case W_ONE:
        return write_dword(account, c->name, 1);
    }
    return ERROR_INVALID_PARAMETER;
}

enum xb_err xb_ol_bridge(const struct xb_ol_account *a, const struct xb_ol_endpoint *ep)
{
    wchar_t acct[512];
    BYTE pw[PASSWORD_BLOB_MAX];
    DWORD pwlen = sizeof(pw);
    HKEY account = NULL, saved = NULL;

    if (!xb_ol_account_path(a->layout, a->profile, a->id, acct, ARRAYSIZE(acct)))
        return XB_ERR_RANGE;
    enum xb_err err = xb_ol_password_encode(ep->secret, pw, &pwlen);
    if (err != XB_OK)
        return err;
    if (RegOpenKeyExW(HKEY_CURRENT_USER, acct, 0, KEY_READ | KEY_SET_VALUE, &account) !=
        ERROR_SUCCESS) {
        err = XB_ERR_NOTFOUND;
        goto out;
    }
    err = save_originals(account, a, ep, &saved);
    if (err != XB_OK)
        goto out;
    const struct change *sets[2] = { a->kind == XB_OL_POP3 ? pop3_changes : imap_changes,
                                     smtp_changes };
    const size_t counts[2] = { a->kind == XB_OL_POP3 ? ARRAYSIZE(pop3_changes)
                                                     : ARRAYSIZE(imap_changes),
                               ARRAYSIZE(smtp_changes) };
    for (int s = 0; s < 2 && err == XB_OK; s++) {
        for (size_t i = 0; i < counts[s]; i++) {
            if (apply(account, &sets[s][i], ep, pw, pwlen) != ERROR_SUCCESS) {
                err = XB_ERR_IO;
                break;
            }
        }
    }
    RegFlushKey(account);
    if (err == XB_OK && xb_ol_set_state(saved, XB_OL_SAVED_BRIDGED) != ERROR_SUCCESS)
        err = XB_ERR_IO;
    if (err != XB_OK) {
        /* Never leave it half-written: back to the originals. */
        RegCloseKey(saved);
        saved = NULL;
        xb_ol_restore(HKEY_CURRENT_USER, a->layout, a->profile, a->id, NULL);
    }
out:
    SecureZeroMemory(pw, sizeof(pw));
    if (saved)
        RegCloseKey(saved);
    if (account)
        RegCloseKey(account);
    return err;
}

/* --- ports that moved, passwords Outlook holds ------------------------------------------------- */

enum xb_err xb_ol_repoint(const struct xb_ol_account *a, const char *host, DWORD in_port,
                          DWORD smtp_port)
{
    wchar_t acct[512], path[512];
    HKEY account = NULL, saved = NULL;
    DWORD state = 0;
    enum xb_err err = XB_ERR_NOTFOUND;
    const bool pop = a->kind == XB_OL_POP3;

    if (!xb_ol_account_path(a->layout, a->profile, a->id, acct, ARRAYSIZE(acct)) ||
        !xb_ol_saved_path(a->layout, a->profile, a->id, path, ARRAYSIZE(path)))
        return XB_ERR_RANGE;
    if (RegOpenKeyExW(HKEY_CURRENT_USER, path, 0, KEY_QUERY_VALUE, &saved) != ERROR_SUCCESS)
        return XB_ERR_NOTFOUND;
    if (!xb_ol_read_dword(saved, L"State", &state) || state != XB_OL_SAVED_BRIDGED)
        goto out;
    err = XB_ERR_IO;
    if (RegOpenKeyExW(HKEY_CURRENT_USER, acct, 0, KEY_READ | KEY_SET_VALUE, &account) !=
        ERROR_SUCCESS)
        goto out;
    /* Every one of these names is in Touched since the account was bridged: a restore
     * puts Outlook's own values back whatever is written here. */
    if (write_str(account, pop ? L"POP3 Server" : L"IMAP Server", host) == ERROR_SUCCESS &&
        write_dword(account, pop ? L"POP3 Port" : L"IMAP Port", in_port) == ERROR_SUCCESS &&
        write_str(account, L"SMTP Server", host) == ERROR_SUCCESS &&
        write_dword(account, L"SMTP Port", smtp_port) == ERROR_SUCCESS)
        err = XB_OK;
    RegFlushKey(account);
out:
    if (account)
        RegCloseKey(account);
    RegCloseKey(saved);
    return err;
}

enum xb_err xb_ol_password_read(const struct xb_ol_account *a, const wchar_t *name, char *out,
                                size_t n)
{
    wchar_t acct[512];
    BYTE raw[PASSWORD_BLOB_MAX];
    DWORD size = sizeof(raw), type = 0;
    HKEY account;
    enum xb_err err = XB_ERR_NOTFOUND;

    if (n)
        out[0] = '\0';
    if (!xb_ol_account_path(a->layout, a->profile, a->id, acct, ARRAYSIZE(acct)))
        return XB_ERR_RANGE;
    if (RegOpenKeyExW(HKEY_CURRENT_USER, acct, 0, KEY_QUERY_VALUE, &account) != ERROR_SUCCESS)
        return XB_ERR_NOTFOUND;
    LONG rc = RegQueryValueExW(account, name, NULL, &type, raw, &size);
    RegCloseKey(account);
    if (rc != ERROR_SUCCESS)
        return rc == ERROR_FILE_NOT_FOUND ? XB_ERR_NOTFOUND : XB_ERR_IO;
    /* 0x02 and a DPAPI blob (Outlook 2013 and later); Outlook 2010 may leave the lead
     * byte out, which a blob never starts with. */
    DATA_BLOB in = { size, raw }, plain = { 0, NULL };
    if (type != REG_BINARY || size < 2)
        return XB_ERR_INVAL;
    if (raw[0] == PASSWORD_LEAD) {
        in.pbData++;
        in.cbData--;
    }
    if (!CryptUnprotectData(&in, NULL, NULL, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN, &plain)) {
        SecureZeroMemory(raw, sizeof(raw));
        return XB_ERR_CRYPTO;
    }
    SecureZeroMemory(raw, sizeof(raw));
    err = XB_ERR_INVAL;
    const wchar_t *w = (const wchar_t *)(void *)plain.pbData;
    size_t chars = plain.cbData / sizeof(wchar_t);
    while (chars && w[chars - 1] == L'\0')
        chars--;
    if (plain.cbData % sizeof(wchar_t) == 0 && chars < (size_t)INT_MAX) {
        int len = chars ? WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, w, (int)chars,
                                              out, (int)(n ? n - 1 : 0), NULL, NULL)
                        : 0;
        if (chars == 0 || len > 0) {
            out[len] = '\0';
            err = XB_OK;
        }
    }
    SecureZeroMemory(plain.pbData, plain.cbData);
    LocalFree(plain.pbData);
    return err;
}

