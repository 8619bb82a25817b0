/*
 * IMAP: the client commands the proxy handles before login (RFC 9051/3501 syntax), and
 * the server responses it reads during its own login upstream. After login the proxy
 * relays bytes and parses nothing.
 *
 * Command parser: resumable. Feed it all unconsumed bytes of the current command each
 * time more arrive (the same bytes again, plus the new ones); it remembers where it was,
 * so byte-by-byte input costs O(n) overall. Synchronising literals ({n}) return
 * XB_PARSE_LITERAL once each, so the session sends "+ ..." exactly once per literal;
 * non-synchronising ones ({n+}, LITERAL+) do not. Views point into the fed bytes.
 */
#ifndef XB_IMAP_PARSE_H
#define XB_IMAP_PARSE_H

#include "core/parse.h"

#define XB_IMAP_ARGS_MAX 8    /* more arguments than this is BAD */
#define XB_IMAP_TAG_MAX  64   /* longer tags are BAD */

enum xb_imap_verb {
    XB_IMAP_UNKNOWN,          /* any other command name (valid syntax) */
    XB_IMAP_CAPABILITY,
    XB_IMAP_NOOP,
    XB_IMAP_LOGOUT,
    XB_IMAP_ID,
    XB_IMAP_LOGIN,
    XB_IMAP_AUTHENTICATE,
    XB_IMAP_STARTTLS,
    XB_IMAP_ENABLE,
};

enum xb_imap_arg_kind {
    XB_IMAP_ARG_ATOM,         /* raw = the atom */
    XB_IMAP_ARG_QUOTED,       /* raw = between the quotes, still escaped (\" and \\) */
    XB_IMAP_ARG_LITERAL,      /* raw = the literal's bytes (any octets except NUL) */
    XB_IMAP_ARG_NIL,          /* the atom NIL */
    XB_IMAP_ARG_LIST,         /* raw = from "(" through ")", nested lists, quoted strings and
                                 literals inside are skipped correctly */
};

struct xb_imap_arg {
    enum xb_imap_arg_kind kind;
    struct xb_view raw;
};

struct xb_imap_cmd {
    struct xb_view tag;       /* set whenever a tag could be read, even on BAD */
    struct xb_view name;      /* the command name as sent */
    enum xb_imap_verb verb;
    size_t nargs;
    struct xb_imap_arg args[XB_IMAP_ARGS_MAX];
    const char *error;        /* on BAD/TOO_LONG: a short English reason, for the BAD line */
    bool close;               /* on TOO_LONG: a LITERAL+ too big is on its way, and its
                                 bytes cannot be told apart from commands: the session
                                 must end (otherwise consumed 0 means: skip the rest of
                                 the line as it arrives) */
};

/* Whether a line's end (without its LF; a CR may end it) announces a LITERAL+ "{n+}". */
bool xb_imap_ends_with_literal_plus(const char *end, size_t len);

struct xb_imap_limits {
    size_t line_max;          /* bytes of command text outside literals */
    size_t literal_max;       /* bytes of one literal */
    size_t command_max;       /* bytes of one whole command, literals included */
};

/* Where an argument lies in the current command: offsets, because the caller may feed
 * the same bytes from a different buffer next time. */
struct xb_imap_span {
    enum xb_imap_arg_kind kind;
    size_t off, len;
};

/* Opaque to callers; in the header so it can live inside a session without allocation. */
struct xb_imap_parser {
    struct xb_imap_limits lim;
    size_t scanned;           /* bytes already known to belong to the current command */
    size_t literals_acked;    /* synchronising literals already answered with "+" */
    size_t need;              /* do not re-parse until this many bytes are there */
    /* private: the state machine's position inside the current command */
    int state;
    int depth;                /* list nesting */
    size_t text;              /* command text outside literals so far (CR LF excluded) */
    size_t tok;               /* offset where the current token (or literal data) starts */
    size_t list_off;          /* offset of the "(" opening the current top-level list */
    size_t lit_size;          /* size announced by {n} (saturated) */
    bool lit_sync;            /* {n} rather than {n+} */
    size_t tag_len;           /* non-zero once a whole tag was read */
    size_t name_off, name_len;
    size_t nargs;
    struct xb_imap_span span[XB_IMAP_ARGS_MAX];
    const char *error;        /* the first error of a BAD command */
};

void xb_imap_parser_init(struct xb_imap_parser *p, const struct xb_imap_limits *lim);

/* Parses one command from data[0..len). On OK/BAD/TOO_LONG the caller acts, drops
 * *consumed bytes and the parser is reset for the next command. On AGAIN/LITERAL
 * *consumed is 0. */
enum xb_parse_rc xb_imap_parse(struct xb_imap_parser *p, const char *data, size_t len,
                               struct xb_imap_cmd *cmd, size_t *consumed);

/* Copies an argument's value into out (unescaping a quoted string) and terminates it.
 * Returns the value's length, or (size_t)-1 if out is too small or the value holds a
 * NUL. NIL gives "". A LIST is copied raw. */
size_t xb_imap_arg_value(const struct xb_imap_arg *a, char *out, size_t size);

/* --- responses (from the upstream server), one line at a time ------------------------ */

enum xb_imap_resp_kind {
    XB_IMAP_RESP_UNTAGGED,    /* "* ..." */
    XB_IMAP_RESP_CONTINUE,    /* "+ ..." (text = the rest, e.g. a base64 SASL challenge) */
    XB_IMAP_RESP_TAGGED,      /* "tag ..." */
};

enum xb_imap_status {
    XB_IMAP_ST_NONE,          /* untagged data such as "* CAPABILITY ..." */
    XB_IMAP_ST_OK,
    XB_IMAP_ST_NO,
    XB_IMAP_ST_BAD,
    XB_IMAP_ST_BYE,
    XB_IMAP_ST_PREAUTH,
};

struct xb_imap_resp {
    enum xb_imap_resp_kind kind;
    struct xb_view tag;       /* TAGGED only */
    enum xb_imap_status status;
    struct xb_view code;      /* inside "[...]" of a status response, e.g. "CAPABILITY IMAP4rev1 ..." */
    struct xb_view text;      /* human text after the code (or the data of untagged non-status
                                 responses, e.g. "CAPABILITY IMAP4rev1 ...") */
};

/* Parses one response line (without CR LF, as xb_line_split gives it). Returns false if
 * it is not a response line at all. A line announcing a literal ({n} at the end) is
 * reported as is; the caller decides (the proxy does not expect literals during login). */
bool xb_imap_resp_parse(struct xb_view line, struct xb_imap_resp *resp);

/* Rewrites a capability list (the part after "CAPABILITY ", space-separated) for the
 * local side: drops every AUTH=..., LOGINDISABLED, STARTTLS, LOGIN-REFERRALS; before
 * login (pre_login) appends AUTH=PLAIN (and STARTTLS if local_starttls) — after login no
 * AUTH= belongs in the list. Writes into out and terminates it; returns the length, or
 * (size_t)-1 if out is too small. */
size_t xb_imap_caps_rewrite(struct xb_view caps, bool pre_login, bool local_starttls, char *out,
                            size_t size);

#endif
