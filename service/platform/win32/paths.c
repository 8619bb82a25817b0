#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "core/mem.h"
#include "platform/win32/wide.h"

enum xb_err xb_plat_default_state_dir(char **out)
{
    static const char leaf[] = "\\XOAuthBridge";
    *out = NULL;
    /* The wide variable: the narrow one would be in the ANSI code page. */
    const wchar_t *base = _wgetenv(L"LOCALAPPDATA");
    if (!base || !base[0])
        return XB_ERR_NOTFOUND;
    char *s = xb_win_to_utf8(base, sizeof(leaf), true);
    if (!s)
        return XB_ERR_NOTFOUND;
    size_t len = strlen(s);
    if (len && s[len - 1] == '\\')
        len--;
    memcpy(s + len, leaf, sizeof(leaf));
    *out = s;
    return XB_OK;
}

enum xb_err xb_plat_default_config_file(char **out)
{
    static const char leaf[] = "\\xoauthbridge.conf";
    char *dir = NULL;
    *out = NULL;
    enum xb_err err = xb_plat_default_state_dir(&dir);
    if (err != XB_OK)
        return err;
    size_t n = strlen(dir) + sizeof(leaf);
    char *s = xb_new_array(char, n);
    if (s)
        snprintf(s, n, "%s%s", dir, leaf);
    xb_free(dir);
    *out = s;
    return s ? XB_OK : XB_ERR_NOMEM;
}
