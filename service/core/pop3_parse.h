/*
 * POP3 (RFC 1939, 2449, 5034): client command lines before login and server response
 * lines during the proxy's own login upstream. Stateless: one line at a time.
 */
#ifndef XB_POP3_PARSE_H
#define XB_POP3_PARSE_H

#include "core/parse.h"

enum xb_pop3_verb {
    XB_POP3_UNKNOWN,
    XB_POP3_USER,
    XB_POP3_PASS,
    XB_POP3_AUTH,
    XB_POP3_CAPA,
    XB_POP3_QUIT,
    XB_POP3_APOP,
    XB_POP3_STLS,
    XB_POP3_NOOP,
    XB_POP3_RSET,
};

/* Command lines (parse.h's xb_cmd_line_parse, verb an enum xb_pop3_verb): keywords are
 * case-insensitive and 3-4 letters; an empty line or a non-alphabetic keyword is BAD. */
extern const struct xb_cmd_syntax xb_pop3_syntax;

enum xb_pop3_status {
    XB_POP3_ST_OK,            /* "+OK ..." */
    XB_POP3_ST_ERR,           /* "-ERR ..." */
    XB_POP3_ST_CONTINUE,      /* "+ ..." (SASL challenge; text = base64) */
};

struct xb_pop3_resp {
    enum xb_pop3_status status;
    struct xb_view code;      /* RFC 2449 extended code inside "[...]" ("AUTH", "SYS/TEMP"), if any */
    struct xb_view text;      /* the rest */
};

/* One response line without CR LF; false if it is not a POP3 status line. */
bool xb_pop3_resp_parse(struct xb_view line, struct xb_pop3_resp *resp);

#endif
