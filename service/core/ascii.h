/*
 * ASCII case for protocol words, host names, e-mail addresses and keys: never the C
 * locale's. Header-only, so that the add-in (xbshared's neighbour inside Outlook) uses
 * the same few lines as the companion.
 */
#ifndef XB_ASCII_H
#define XB_ASCII_H

#include <stdbool.h>
#include <stddef.h>

static inline char xb_ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static inline bool xb_ascii_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* a[0..alen) equals the NUL-terminated b, ignoring ASCII case. */
static inline bool xb_ascii_eq_ci(const char *a, size_t alen, const char *b)
{
    size_t i = 0;
    for (; i < alen; i++) {
        if (!b[i] || xb_ascii_lower(a[i]) != xb_ascii_lower(b[i]))
            return false;
    }
    return b[i] == '\0';
}

/* Both NUL-terminated. */
static inline bool xb_ascii_streq_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (xb_ascii_lower(*a) != xb_ascii_lower(*b))
            return false;
    }
    return *a == *b;
}

#endif
