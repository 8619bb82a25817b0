/*
 * SMTP / submission (RFC 5321, 4954, 3207): client command lines before AUTH and
 * server reply lines during the proxy's own login upstream. Stateless: one line at a time.
 */
#ifndef XB_SMTP_PARSE_H
#define XB_SMTP_PARSE_H

#include "core/parse.h"

enum xb_smtp_verb {
    XB_SMTP_UNKNOWN,
    XB_SMTP_EHLO,
    XB_SMTP_HELO,
    XB_SMTP_AUTH,
    XB_SMTP_STARTTLS,
    XB_SMTP_QUIT,
    XB_SMTP_NOOP,
    XB_SMTP_RSET,
    XB_SMTP_MAIL,
    XB_SMTP_RCPT,
    XB_SMTP_DATA,
    XB_SMTP_BDAT,
    XB_SMTP_VRFY,
    XB_SMTP_HELP,
};

/* Command lines (parse.h's xb_cmd_line_parse, verb an enum xb_smtp_verb): keywords are
 * case-insensitive Ldh-str of at most 32 characters. */
extern const struct xb_cmd_syntax xb_smtp_syntax;

struct xb_smtp_reply_line {
    int code;                 /* 200..599 */
    bool more;                /* "250-..." : more lines of this reply follow */
    struct xb_view text;      /* after the code and separator */
};

/* One reply line without CR LF; false if it does not start with three digits (2-5 first)
 * followed by ' ', '-' or the end of the line. */
bool xb_smtp_reply_parse(struct xb_view line, struct xb_smtp_reply_line *reply);

#endif
