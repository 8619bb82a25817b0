#include "platform/platform.h"

#include <windows.h>
#include <shellapi.h>

#include "core/mem.h"
#include "platform/win32/wide.h"

static wchar_t *widen(const char *s)
{
    return xb_win_to_wide(s, 0, true);
}

enum xb_err xb_plat_open_url(const char *command, const char *url)
{
    wchar_t *wurl = widen(url);
    wchar_t *wcmd = command && *command ? widen(command) : NULL;
    enum xb_err err = XB_ERR_NOMEM;
    if (!wurl || (command && *command && !wcmd))
        goto out;
    /* Only http(s) URLs ever reach the shell: it would start anything else too. */
    if (_wcsnicmp(wurl, L"https://", 8) != 0 && _wcsnicmp(wurl, L"http://", 7) != 0) {
        err = XB_ERR_INVAL;
        goto out;
    }
    HINSTANCE h = ShellExecuteW(NULL, L"open", wcmd ? wcmd : wurl, wcmd ? wurl : NULL, NULL,
                                SW_SHOWNORMAL);
    err = (INT_PTR)h > 32 ? XB_OK : XB_ERR_IO;
out:
    xb_free(wurl);
    xb_free(wcmd);
    return err;
}

const char *xb_plat_ui_language(void)
{
    static char tag[LOCALE_NAME_MAX_LENGTH];
    wchar_t name[LOCALE_NAME_MAX_LENGTH];
    LANGID lang = GetUserDefaultUILanguage();
    if (LCIDToLocaleName(MAKELCID(lang, SORT_DEFAULT), name, LOCALE_NAME_MAX_LENGTH, 0) > 0 &&
        WideCharToMultiByte(CP_UTF8, 0, name, -1, tag, (int)sizeof(tag), NULL, NULL) > 0)
        return tag;
    return PRIMARYLANGID(lang) == LANG_JAPANESE ? "ja-JP" : "en-US";
}
