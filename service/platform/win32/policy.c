/*
 * Group Policy values as they are in the registry: HKLM or HKCU
 * \Software\Policies\XOAuthBridge (XB_POLICY_KEY). Only reading and converting to UTF-8
 * happens here; what a value means, its range and which hive wins is the core's
 * (config_policy.c), so that it is tested on every platform.
 */
#include "platform/platform.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include <windows.h>

#include "core/mem.h"
#include "platform/win32/wide.h"
#include "xoauthbridge/names.h"

/* Policy texts are short (the longest allowed is 2047 characters); anything far longer
 * is refused before it is allocated. */
#define SZ_BYTES_MAX (64u * 1024u)

static wchar_t *widen_ascii(const char *s)
{
    size_t n = strlen(s);
    wchar_t *w = xb_new_array(wchar_t, n + 1);
    if (w) {
        for (size_t i = 0; i < n; i++)
            w[i] = (wchar_t)(unsigned char)s[i];
    }
    return w;
}

static enum xb_err read_sz(HKEY key, const wchar_t *wname, DWORD bytes, char **out)
{
    enum xb_err err = XB_ERR_NOMEM;
    DWORD type = 0;
    /* Room for a terminator the registry does not promise. */
    wchar_t *w = xb_new_array(wchar_t, bytes / sizeof(wchar_t) + 1);
    char *s = NULL;
    if (!w)
        goto out;
    if (RegQueryValueExW(key, wname, NULL, &type, (BYTE *)w, &bytes) != ERROR_SUCCESS ||
        type != REG_SZ) {
        err = XB_ERR_IO; /* changed under us: try again next start */
        goto out;
    }
    w[bytes / sizeof(wchar_t)] = L'\0';
    if (!(s = xb_win_utf8(w))) {
        err = XB_ERR_INVAL;
        goto out;
    }
    *out = s;
    err = XB_OK;
out:
    if (w) {
        SecureZeroMemory(w, bytes);
        xb_free(w);
    }
    return err;
}

enum xb_err xb_plat_policy_read(enum xb_policy_hive hive, const char *name,
                                struct xb_policy_raw *out)
{
    enum xb_err err = XB_ERR_NOTFOUND;
    HKEY key = NULL;
    DWORD type = 0, bytes = 0;
    wchar_t *wkey = widen_ascii(XB_POLICY_KEY);
    wchar_t *wname = widen_ascii(name);

    memset(out, 0, sizeof(*out));
    if (!wkey || !wname) {
        err = XB_ERR_NOMEM;
        goto out;
    }
    /* Software\Policies is shared between the 32- and 64-bit views: no WOW64 flag. */
    if (RegOpenKeyExW(hive == XB_POLICY_MACHINE ? HKEY_LOCAL_MACHINE : HKEY_CURRENT_USER, wkey,
                      0, KEY_QUERY_VALUE, &key) != ERROR_SUCCESS)
        goto out;
    LONG rc = RegQueryValueExW(key, wname, NULL, &type, NULL, &bytes);
    if (rc != ERROR_SUCCESS && rc != ERROR_MORE_DATA)
        goto out;
    out->type = (unsigned)type;
    err = XB_OK;
    if (type == REG_DWORD) {
        DWORD v = 0;
        bytes = sizeof(v);
        if (RegQueryValueExW(key, wname, NULL, &type, (BYTE *)&v, &bytes) != ERROR_SUCCESS ||
            type != REG_DWORD || bytes != sizeof(v))
            err = XB_ERR_IO;
        out->dword = (uint32_t)v;
    } else if (type == REG_SZ) {
        err = bytes > SZ_BYTES_MAX ? XB_ERR_RANGE : read_sz(key, wname, bytes, &out->sz);
    }
out:
    if (key)
        RegCloseKey(key);
    xb_free(wkey);
    xb_free(wname);
    return err;
}

enum xb_err xb_plat_policy_list(enum xb_policy_hive hive, const char *subkey,
                                void (*each)(void *ctx, const char *name, const char *text),
                                void *ctx)
{
    enum xb_err err = XB_ERR_NOMEM;
    HKEY key = NULL;
    char path[256];
    snprintf(path, sizeof(path), "%s\\%s", XB_POLICY_KEY, subkey);
    wchar_t *wkey = widen_ascii(path);
    if (!wkey)
        return XB_ERR_NOMEM;
    err = XB_ERR_NOTFOUND;
    if (RegOpenKeyExW(hive == XB_POLICY_MACHINE ? HKEY_LOCAL_MACHINE : HKEY_CURRENT_USER, wkey,
                      0, KEY_QUERY_VALUE, &key) != ERROR_SUCCESS)
        goto out;
    err = XB_OK;
    for (DWORD i = 0;; i++) {
        wchar_t name[256];
        DWORD nlen = ARRAYSIZE(name), type = 0, bytes = 0;
        LONG rc = RegEnumValueW(key, i, name, &nlen, NULL, &type, NULL, &bytes);
        if (rc == ERROR_NO_MORE_ITEMS)
            break;
        if (rc != ERROR_SUCCESS || type != REG_SZ || bytes > SZ_BYTES_MAX)
            continue; /* a name over 255 characters, another type, too long */
        char *text = NULL;
        char *uname = xb_win_utf8(name);
        enum xb_err e = uname ? read_sz(key, name, bytes, &text) : XB_ERR_NOMEM;
        if (e == XB_OK)
            each(ctx, uname, text);
        xb_free(uname);
        xb_free_str_secret(text);
        if (e == XB_ERR_NOMEM) {
            err = e;
            break;
        }
    }
out:
    if (key)
        RegCloseKey(key);
    xb_free(wkey);
    return err;
}
