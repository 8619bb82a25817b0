#include "platform/win32/wide.h"

#include <stdint.h>

#include <windows.h>

#include "core/mem.h"

wchar_t *xb_win_to_wide(const char *s, size_t extra, bool strict)
{
    DWORD flags = strict ? MB_ERR_INVALID_CHARS : 0;
    int n = s ? MultiByteToWideChar(CP_UTF8, flags, s, -1, NULL, 0) : 0;
    if (n <= 0 || extra > SIZE_MAX / sizeof(wchar_t) - (size_t)n)
        return NULL;
    wchar_t *w = xb_new_array(wchar_t, (size_t)n + extra);
    if (w && MultiByteToWideChar(CP_UTF8, flags, s, -1, w, n) != n) {
        xb_free(w);
        w = NULL;
    }
    return w;
}

char *xb_win_to_utf8(const wchar_t *w, size_t extra, bool strict)
{
    DWORD flags = strict ? WC_ERR_INVALID_CHARS : 0;
    int n = w ? WideCharToMultiByte(CP_UTF8, flags, w, -1, NULL, 0, NULL, NULL) : 0;
    if (n <= 0 || extra > SIZE_MAX - (size_t)n)
        return NULL;
    char *s = xb_new_array(char, (size_t)n + extra);
    if (s && WideCharToMultiByte(CP_UTF8, flags, w, -1, s, n, NULL, NULL) != n) {
        xb_free(s);
        s = NULL;
    }
    return s;
}
