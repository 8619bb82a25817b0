/*
 * What every protocol parser shares: views into the caller's bytes, results, and the
 * line splitter. Parsers do no I/O and never copy: the caller keeps the bytes it fed
 * until it has acted on the result, then drops *consumed of them.
 */
#ifndef XB_PARSE_H
#define XB_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* A (pointer, length) view into bytes someone else owns; not NUL-terminated. */
struct xb_view {
    const char *p;
    size_t len;
};

#define XB_VIEW_NULL ((struct xb_view){ NULL, 0 })

enum xb_parse_rc {
    XB_PARSE_OK,       /* a whole unit (line, command) was parsed; *consumed bytes are its */
    XB_PARSE_AGAIN,    /* incomplete: feed the same bytes again with more appended */
    XB_PARSE_LITERAL,  /* IMAP: a synchronising literal was announced: send a continuation
                          ("+ ...") to the client, then feed again with more bytes */
    XB_PARSE_BAD,      /* malformed: *consumed skips the bad line (through its LF), the
                          parser is ready for the next one; the result says what was wrong */
    XB_PARSE_TOO_LONG, /* a size limit was hit; *consumed skips what can be skipped (the
                          rest of the line, if its LF is there); 0 means close the session */
};

static inline bool xb_is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Splits v at its first space: *word before it, *rest after it. Returns whether there
 * was a space (a trailing one gives an empty but present rest). */
bool xb_view_split_space(struct xb_view v, struct xb_view *word, struct xb_view *rest);

/* Case-insensitive ASCII comparison of a view with a NUL-terminated string. */
bool xb_view_eq_ci(struct xb_view v, const char *s);

/* Splits one line ending in LF (CRLF or bare LF accepted) off data. On OK, *line is the
 * line without its CR LF and *consumed includes them. A line longer than max bytes
 * (excluding CR LF) is TOO_LONG; *consumed is then through its LF if the LF is in data,
 * else 0. */
enum xb_parse_rc xb_line_split(const char *data, size_t len, size_t max,
                               struct xb_view *line, size_t *consumed);

/* A POP3 or SMTP command line: a keyword, then arguments. Each protocol gives its
 * keyword rule, its verbs and which verb carries "mechanism [initial-response]" (AUTH);
 * the rest (one line, no NUL or CR inside, the splitting) is the same for both. */
struct xb_cmd_verb {
    const char *name;
    int verb;
};
struct xb_cmd_syntax {
    bool (*keyword_ok)(struct xb_view keyword);
    const struct xb_cmd_verb *verbs;
    size_t nverbs;
    int auth;                 /* the verb whose arguments are checked as AUTH's */
};
struct xb_cmd_line {
    struct xb_view name;      /* the keyword as sent */
    int verb;                 /* from the table; 0 (each protocol's "unknown") if not there */
    struct xb_view arg;       /* everything after the first space, verbatim; empty if none */
    struct xb_view arg1;      /* the first word of arg (AUTH: the mechanism) */
    struct xb_view arg2;      /* AUTH: the initial response if present ("=" means empty) */
    const char *error;        /* on BAD/TOO_LONG: a short English reason */
};
enum xb_parse_rc xb_cmd_line_parse(const struct xb_cmd_syntax *syntax, const char *data,
                                   size_t len, size_t line_max, struct xb_cmd_line *cmd,
                                   size_t *consumed);

#endif
