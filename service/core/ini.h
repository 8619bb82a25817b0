/*
 * The INI tokenizer under config.c: splits text into section headers and key = value
 * lines, with the line number of each. Zero-copy: names and values are views into the
 * caller's text. It knows no section or key; config.c gives them meaning.
 *
 * Syntax: "[name]" headers; "key = value" lines; space and tab trimmed around names and
 * values; blank lines and lines whose first non-blank character is '#' or ';' ignored
 * (there are no trailing comments: '#' inside a value is part of it); a value wrapped in
 * double quotes loses the quotes and keeps its inner spaces; a UTF-8 BOM at the start is
 * skipped; LF or CRLF line ends. Names are letters, digits, '_', '-' and '.'.
 */
#ifndef XB_INI_H
#define XB_INI_H

#include <stddef.h>

#include "core/parse.h"

enum xb_ini_kind {
    XB_INI_END,      /* no more lines */
    XB_INI_SECTION,  /* item.name is the section name, without brackets */
    XB_INI_KEY,      /* item.name = item.value */
    XB_INI_ERROR,    /* item.error says what is wrong with line item.line */
};

struct xb_ini {
    const char *p, *end;
    unsigned line;   /* of the last line returned */
};

struct xb_ini_item {
    unsigned line;
    struct xb_view name;
    struct xb_view value;
    const char *error;   /* static text, for XB_INI_ERROR */
};

void xb_ini_init(struct xb_ini *ini, const char *text, size_t len);

/* The next header or key line. After XB_INI_END or XB_INI_ERROR, callers stop. */
enum xb_ini_kind xb_ini_next(struct xb_ini *ini, struct xb_ini_item *item);

#endif
