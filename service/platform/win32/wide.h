/*
 * UTF-8 <-> UTF-16 for calls into Windows: the one place the companion converts whole
 * strings (the add-in's fixed-size buffers in olbridge.c/olprofile.c aside). New strings
 * for the caller to xb_free; NULL when out of memory or, strict, on invalid input.
 */
#ifndef XB_WIN_WIDE_H
#define XB_WIN_WIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

/* strict: refuse invalid UTF-8 (names, paths); else replace it (text to show). extra:
 * room for as many more wide characters after the terminator's place. */
wchar_t *xb_win_to_wide(const char *s, size_t extra, bool strict);
char *xb_win_to_utf8(const wchar_t *w, size_t extra, bool strict);

/* Text shown to the person (tray, notifications): lenient. */
static inline wchar_t *xb_win_wide(const char *s)
{
    return xb_win_to_wide(s, 0, false);
}
static inline char *xb_win_utf8(const wchar_t *w)
{
    return xb_win_to_utf8(w, 0, false);
}

#endif
