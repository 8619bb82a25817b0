/*
 * IMAP command parser: a byte-level state machine whose whole state lives in struct
 * xb_imap_parser, so each call resumes where the last one stopped (p->scanned) and
 * byte-by-byte input costs O(n). Every decision depends only on the bytes up to the one
 * being looked at, so a command gives the same results however it is split. Positions
 * are offsets from the start of the command: the caller may refeed the same bytes from
 * another buffer. Views are made from them only when a command is complete.
 */
#include "core/imap_parse.h"

#include <stdint.h>
#include <string.h>

#define XB_IMAP_DEPTH_MAX 8   /* ID lists nest one level; anything deeper is abuse */

enum imap_state {
    ST_TAG = 0,      /* reading the tag; 0 so that a zeroed parser starts here */
    ST_NAME_START,   /* after "tag SP": the command name must start */
    ST_NAME,
    ST_ARG_START,    /* after SP (or inside a list): an argument must start */
    ST_LIST_FIRST,   /* after "(": an element or ")" */
    ST_ATOM,
    ST_QUOTED,
    ST_QUOTED_ESC,   /* after a backslash inside a quoted string */
    ST_LIT_OPEN,     /* after "{": the first digit */
    ST_LIT_DIGITS,
    ST_LIT_CLOSE,    /* after "{n+": "}" */
    ST_LIT_EOL,      /* after "}": CR or LF */
    ST_LIT_LF,       /* after "}" CR: LF */
    ST_LITERAL,      /* literal data: p->lit_size bytes from p->tok */
    ST_AFTER_ARG,    /* after an argument: SP, ")" inside a list, or the line end */
    ST_EOL_LF,       /* after the final CR: LF */
    ST_SKIP,         /* after an error: everything up to the next LF */
};

static const struct {
    const char *name;
    enum xb_imap_verb verb;
} imap_verbs[] = {
    { "CAPABILITY", XB_IMAP_CAPABILITY },
    { "NOOP", XB_IMAP_NOOP },
    { "LOGOUT", XB_IMAP_LOGOUT },
    { "ID", XB_IMAP_ID },
    { "LOGIN", XB_IMAP_LOGIN },
    { "AUTHENTICATE", XB_IMAP_AUTHENTICATE },
    { "STARTTLS", XB_IMAP_STARTTLS },
    { "ENABLE", XB_IMAP_ENABLE },
};

/* ATOM-CHAR (RFC 9051): printable ASCII except atom-specials. */
static bool imap_is_atom_char(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7f)
        return false;
    return !strchr("(){%*\"\\]", c);
}

/* Tags are ASTRING-CHARs (ATOM-CHAR or "]") except "+". */
static bool imap_is_tag_char(unsigned char c)
{
    return c != '+' && (imap_is_atom_char(c) || c == ']');
}

/* Arguments other than strings: ASTRING-CHARs plus the LIST wildcards, so that commands
 * the proxy does not interpret (valid syntax, unknown verb) still parse. */
static bool imap_is_arg_char(unsigned char c)
{
    return imap_is_atom_char(c) || c == ']' || c == '%' || c == '*';
}

void xb_imap_parser_init(struct xb_imap_parser *p, const struct xb_imap_limits *lim)
{
    memset(p, 0, sizeof(*p));
    p->lim = *lim;
}

/* Ready for the next command, same limits. */
static void imap_reset(struct xb_imap_parser *p)
{
    struct xb_imap_limits lim = p->lim;
    xb_imap_parser_init(p, &lim);
}

static enum xb_imap_verb imap_verb_of(struct xb_view name)
{
    for (size_t i = 0; i < sizeof(imap_verbs) / sizeof(imap_verbs[0]); i++) {
        if (xb_view_eq_ci(name, imap_verbs[i].name))
            return imap_verbs[i].verb;
    }
    return XB_IMAP_UNKNOWN;
}

static struct xb_view imap_view(const char *data, size_t off, size_t len)
{
    return (struct xb_view){ data + off, len };
}

/* Fills cmd from the parser's offsets, for any final result. */
static void imap_fill(const struct xb_imap_parser *p, const char *data, struct xb_imap_cmd *cmd,
                      bool with_args)
{
    if (p->tag_len)
        cmd->tag = imap_view(data, 0, p->tag_len);
    if (p->name_len) {
        cmd->name = imap_view(data, p->name_off, p->name_len);
        cmd->verb = imap_verb_of(cmd->name);
    }
    if (!with_args)
        return;
    cmd->nargs = p->nargs;
    for (size_t i = 0; i < p->nargs; i++) {
        cmd->args[i].kind = p->span[i].kind;
        cmd->args[i].raw = imap_view(data, p->span[i].off, p->span[i].len);
    }
}

static void imap_add_arg(struct xb_imap_parser *p, enum xb_imap_arg_kind kind, size_t off,
                         size_t len)
{
    /* ST_ARG_START refused the argument before it began if there was no room. */
    if (p->nargs < XB_IMAP_ARGS_MAX)
        p->span[p->nargs++] = (struct xb_imap_span){ kind, off, len };
}

static void imap_end_atom(struct xb_imap_parser *p, const char *data, size_t end)
{
    if (p->depth > 0)
        return; /* list elements are part of the list's raw view */
    struct xb_view v = imap_view(data, p->tok, end - p->tok);
    imap_add_arg(p, xb_view_eq_ci(v, "NIL") ? XB_IMAP_ARG_NIL : XB_IMAP_ARG_ATOM, p->tok,
                 v.len);
}

/* A final result: fill cmd, reset the parser for the next command. */
static enum xb_parse_rc imap_done(struct xb_imap_parser *p, enum xb_parse_rc rc,
                                  const char *data, struct xb_imap_cmd *cmd, size_t end,
                                  size_t *consumed)
{
    imap_fill(p, data, cmd, rc == XB_PARSE_OK);
    if (rc != XB_PARSE_OK)
        cmd->error = p->error;
    *consumed = end;
    imap_reset(p);
    return rc;
}

bool xb_imap_ends_with_literal_plus(const char *end, size_t len)
{
    size_t i = len;
    if (i > 0 && end[i - 1] == '\r')
        i--;
    if (i < 4 || end[i - 1] != '}' || end[i - 2] != '+')
        return false;
    i -= 2;
    size_t digits = 0;
    while (i > 0 && end[i - 1] >= '0' && end[i - 1] <= '9') {
        i--;
        digits++;
    }
    return digits > 0 && i > 0 && end[i - 1] == '{';
}

/* Whether the line ending with the LF at offset lf announces a LITERAL+ ("{n+}"). */
static bool imap_line_announces_nonsync(const char *data, size_t lf)
{
    return xb_imap_ends_with_literal_plus(data, lf);
}

/* A limit was hit at offset i: skip through the line's LF if it is already there (only
 * then can the session answer and go on), else the session must close. It must close
 * too if that line announces a LITERAL+, whose bytes follow and cannot be told apart
 * from commands. */
static enum xb_parse_rc imap_too_long(struct xb_imap_parser *p, const char *data, size_t len,
                                      size_t i, const char *why, struct xb_imap_cmd *cmd,
                                      size_t *consumed)
{
    const char *lf = memchr(data + i, '\n', len - i);
    size_t end = lf ? (size_t)(lf - data) + 1 : 0;
    bool nonsync = lf && imap_line_announces_nonsync(data, end - 1);
    p->error = why;
    enum xb_parse_rc rc = imap_done(p, XB_PARSE_TOO_LONG, data, cmd, nonsync ? 0 : end,
                                    consumed);
    cmd->close = nonsync;
    return rc;
}

static void imap_open_list(struct xb_imap_parser *p, size_t i)
{
    if (p->depth == 0)
        p->list_off = i;
    p->depth++;
    p->state = ST_LIST_FIRST;
}

static void imap_close_list(struct xb_imap_parser *p, size_t i)
{
    p->depth--;
    if (p->depth == 0)
        imap_add_arg(p, XB_IMAP_ARG_LIST, p->list_off, i + 1 - p->list_off);
    p->state = ST_AFTER_ARG;
}

enum xb_parse_rc xb_imap_parse(struct xb_imap_parser *p, const char *data, size_t len,
                               struct xb_imap_cmd *cmd, size_t *consumed)
{
    memset(cmd, 0, sizeof(*cmd));
    *consumed = 0;
    if (len < p->scanned)
        imap_reset(p); /* the caller broke the contract: start this command over */
    if (len < p->need)
        return XB_PARSE_AGAIN;

    size_t i = p->scanned;
    while (i < len) {
        if (p->state == ST_LITERAL) {
            size_t end = p->tok + p->lit_size;
            if (len < end)
                break;
            if (p->lit_size && memchr(data + p->tok, '\0', p->lit_size)) {
                /* Recover after the literal: the client sends all of it regardless. */
                p->error = "NUL byte in literal";
                p->state = ST_SKIP;
            } else {
                if (p->depth == 0)
                    imap_add_arg(p, XB_IMAP_ARG_LITERAL, p->tok, p->lit_size);
                p->state = ST_AFTER_ARG;
            }
            i = end;
            continue;
        }

        unsigned char c = (unsigned char)data[i];
        if (i >= p->lim.command_max)
            return imap_too_long(p, data, len, i, "command too long", cmd, consumed);
        if (c != '\r' && c != '\n' && ++p->text > p->lim.line_max)
            return imap_too_long(p, data, len, i, "line too long", cmd, consumed);
        if (c == '\0' && p->state != ST_SKIP) {
            p->error = "NUL byte in command";
            p->state = ST_SKIP;
        }

#define FAIL(why)                                                                          \
    do {                                                                                   \
        p->error = (why);                                                                  \
        p->state = ST_SKIP;                                                                \
        goto redo; /* the failing byte may be the LF that ends the skip */                 \
    } while (0)

    redo:
        switch (p->state) {
        case ST_TAG:
            if (c == ' ' || c == '\r' || c == '\n') {
                if (i == 0)
                    FAIL(c == ' ' ? "missing tag" : "empty command");
                p->tag_len = i;
                if (c != ' ')
                    FAIL("missing command name");
                p->state = ST_NAME_START;
            } else if (!imap_is_tag_char(c)) {
                FAIL("invalid character in tag");
            } else if (i + 1 > XB_IMAP_TAG_MAX) {
                FAIL("tag too long");
            }
            break;

        case ST_NAME_START:
            if (!imap_is_atom_char(c))
                FAIL("missing command name");
            p->name_off = i;
            p->state = ST_NAME;
            break;

        case ST_NAME:
            if (imap_is_atom_char(c))
                break;
            p->name_len = i - p->name_off;
            if (c == ' ')
                p->state = ST_ARG_START;
            else if (c == '\r')
                p->state = ST_EOL_LF;
            else if (c == '\n')
                return imap_done(p, XB_PARSE_OK, data, cmd, i + 1, consumed);
            else
                FAIL("invalid character in command name");
            break;

        case ST_LIST_FIRST:
            if (c == ')') {
                imap_close_list(p, i);
                break;
            }
            p->state = ST_ARG_START;
            goto redo;

        case ST_ARG_START:
            if (p->depth == 0 && p->nargs == XB_IMAP_ARGS_MAX)
                FAIL("too many arguments");
            p->tok = i;
            if (c == '"') {
                p->state = ST_QUOTED;
            } else if (c == '{') {
                p->lit_size = 0;
                p->state = ST_LIT_OPEN;
            } else if (c == '(') {
                if (p->depth == XB_IMAP_DEPTH_MAX)
                    FAIL("lists nested too deeply");
                imap_open_list(p, i);
            } else if (imap_is_arg_char(c)) {
                p->state = ST_ATOM;
            } else {
                FAIL(c == ' ' || c == '\r' || c == '\n' || c == ')' ? "missing argument"
                                                                    : "invalid argument");
            }
            break;

        case ST_ATOM:
            if (imap_is_arg_char(c))
                break;
            imap_end_atom(p, data, i);
            p->state = ST_AFTER_ARG;
            goto redo;

        case ST_QUOTED:
            if (c == '"') {
                if (p->depth == 0)
                    imap_add_arg(p, XB_IMAP_ARG_QUOTED, p->tok + 1, i - p->tok - 1);
                p->state = ST_AFTER_ARG;
            } else if (c == '\\') {
                p->state = ST_QUOTED_ESC;
            } else if (c == '\r' || c == '\n') {
                FAIL("unterminated quoted string");
            }
            break;

        case ST_QUOTED_ESC:
            if (c != '"' && c != '\\')
                FAIL("bad escape in quoted string");
            p->state = ST_QUOTED;
            break;

        case ST_LIT_OPEN:
        case ST_LIT_DIGITS:
            if (c >= '0' && c <= '9') {
                unsigned d = c - '0';
                /* Saturate: any size this big is refused at the LF anyway. */
                p->lit_size = p->lit_size > (SIZE_MAX - d) / 10 ? SIZE_MAX
                                                                : p->lit_size * 10 + d;
                p->state = ST_LIT_DIGITS;
            } else if (p->state == ST_LIT_DIGITS && (c == '+' || c == '}')) {
                p->lit_sync = c == '}';
                p->state = c == '}' ? ST_LIT_EOL : ST_LIT_CLOSE;
            } else {
                FAIL("bad literal size");
            }
            break;

        case ST_LIT_CLOSE:
            if (c != '}')
                FAIL("bad literal size");
            p->state = ST_LIT_EOL;
            break;

        case ST_LIT_EOL:
        case ST_LIT_LF:
            if (c == '\r' && p->state == ST_LIT_EOL) {
                p->state = ST_LIT_LF;
            } else if (c == '\n') {
                /* The announcement is complete: only now is its size judged, so the
                 * result does not depend on how the line was split. */
                size_t start = i + 1;
                if (p->lit_size > p->lim.literal_max ||
                    p->lit_size > p->lim.command_max - start) {
                    /* A synchronising literal has not been sent yet: the line can be
                     * answered and skipped. A non-synchronising one is on its way and
                     * cannot be told apart from commands: the session must close. */
                    p->error = "literal too big";
                    bool nonsync = !p->lit_sync;
                    enum xb_parse_rc rc = imap_done(p, XB_PARSE_TOO_LONG, data, cmd,
                                                    nonsync ? 0 : start, consumed);
                    cmd->close = nonsync;
                    return rc;
                }
                p->tok = start;
                p->state = ST_LITERAL;
                if (p->lit_sync) {
                    p->literals_acked++;
                    p->scanned = start;
                    p->need = start; /* the next call goes on even without new bytes */
                    return XB_PARSE_LITERAL;
                }
            } else {
                FAIL("literal size must end the line");
            }
            break;

        case ST_AFTER_ARG:
            if (c == ' ') {
                p->state = ST_ARG_START;
            } else if (c == ')' && p->depth > 0) {
                imap_close_list(p, i);
            } else if ((c == '\r' || c == '\n') && p->depth > 0) {
                FAIL("unterminated list");
            } else if (c == '\r') {
                p->state = ST_EOL_LF;
            } else if (c == '\n') {
                return imap_done(p, XB_PARSE_OK, data, cmd, i + 1, consumed);
            } else {
                FAIL("expected a space between arguments");
            }
            break;

        case ST_EOL_LF:
            if (c != '\n')
                FAIL("CR not followed by LF");
            return imap_done(p, XB_PARSE_OK, data, cmd, i + 1, consumed);

        case ST_SKIP:
            if (c == '\n')
                return imap_done(p, XB_PARSE_BAD, data, cmd, i + 1, consumed);
            break;

        default: /* ST_LITERAL is handled above the switch */
            FAIL("internal parser state");
        }
#undef FAIL
        i++;
    }

    if (p->state == ST_LITERAL) {
        p->scanned = p->tok;
        p->need = p->tok + p->lit_size;
    } else {
        p->scanned = len;
        p->need = len + 1;
    }
    return XB_PARSE_AGAIN;
}

size_t xb_imap_arg_value(const struct xb_imap_arg *a, char *out, size_t size)
{
    size_t n = 0;
    if (a->kind == XB_IMAP_ARG_NIL) {
        if (size == 0)
            return (size_t)-1;
        out[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < a->raw.len; i++) {
        char c = a->raw.p[i];
        if (a->kind == XB_IMAP_ARG_QUOTED && c == '\\' && i + 1 < a->raw.len)
            c = a->raw.p[++i];
        if (c == '\0' || n + 1 >= size)
            goto fail;
        out[n++] = c;
    }
    if (size == 0)
        return (size_t)-1;
    out[n] = '\0';
    return n;
fail:
    if (size > 0)
        out[0] = '\0';
    return (size_t)-1;
}

/* --- responses ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    enum xb_imap_status status;
} imap_statuses[] = {
    { "OK", XB_IMAP_ST_OK },   { "NO", XB_IMAP_ST_NO },           { "BAD", XB_IMAP_ST_BAD },
    { "BYE", XB_IMAP_ST_BYE }, { "PREAUTH", XB_IMAP_ST_PREAUTH },
};

/* Splits v at its first space: *word before it, *rest after it (empty if none). */
static void imap_split(struct xb_view v, struct xb_view *word, struct xb_view *rest)
{
    const char *sp = v.len ? memchr(v.p, ' ', v.len) : NULL;
    if (!sp) {
        *word = v;
        *rest = (struct xb_view){ v.p ? v.p + v.len : NULL, 0 };
        return;
    }
    size_t n = (size_t)(sp - v.p);
    *word = (struct xb_view){ v.p, n };
    *rest = (struct xb_view){ sp + 1, v.len - n - 1 };
}

bool xb_imap_resp_parse(struct xb_view line, struct xb_imap_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (line.len == 0)
        return false;
    if (line.p[0] == '+') {
        /* "+" alone is tolerated: some servers send it for an empty challenge. */
        if (line.len > 1 && line.p[1] != ' ')
            return false;
        size_t skip = line.len > 1 ? 2 : 1;
        resp->kind = XB_IMAP_RESP_CONTINUE;
        resp->text = (struct xb_view){ line.p + skip, line.len - skip };
        return true;
    }

    struct xb_view rest;
    if (line.p[0] == '*') {
        if (line.len < 2 || line.p[1] != ' ')
            return false;
        resp->kind = XB_IMAP_RESP_UNTAGGED;
        rest = (struct xb_view){ line.p + 2, line.len - 2 };
    } else {
        imap_split(line, &resp->tag, &rest);
        if (resp->tag.len == 0 || resp->tag.len > XB_IMAP_TAG_MAX || resp->tag.len == line.len)
            return false;
        for (size_t i = 0; i < resp->tag.len; i++) {
            if (!imap_is_tag_char((unsigned char)resp->tag.p[i]))
                return false;
        }
        resp->kind = XB_IMAP_RESP_TAGGED;
    }

    struct xb_view word, after;
    imap_split(rest, &word, &after);
    for (size_t i = 0; i < sizeof(imap_statuses) / sizeof(imap_statuses[0]); i++) {
        if (xb_view_eq_ci(word, imap_statuses[i].name)) {
            resp->status = imap_statuses[i].status;
            break;
        }
    }
    if (resp->status == XB_IMAP_ST_NONE) {
        if (resp->kind == XB_IMAP_RESP_TAGGED)
            return false; /* a tagged response always carries OK, NO or BAD */
        resp->text = rest; /* untagged data: "CAPABILITY ...", "3 EXISTS" ... */
        return true;
    }
    if (resp->kind == XB_IMAP_RESP_TAGGED && resp->status > XB_IMAP_ST_BAD)
        return false; /* BYE and PREAUTH are untagged only */

    if (after.len && after.p[0] == '[') {
        const char *close = memchr(after.p, ']', after.len);
        if (close) {
            size_t used = (size_t)(close - after.p) + 1;
            resp->code = (struct xb_view){ after.p + 1, used - 2 };
            if (used < after.len && after.p[used] == ' ')
                used++;
            after = (struct xb_view){ after.p + used, after.len - used };
        }
    }
    resp->text = after;
    return true;
}

/* Appends a space-separated token; false (and nothing written) if out is too small. */
static bool imap_caps_append(char *out, size_t size, size_t *n, const char *tok, size_t len)
{
    size_t sep = *n ? 1 : 0;
    if (size - *n < sep + len + 1)
        return false;
    if (sep)
        out[(*n)++] = ' ';
    memcpy(out + *n, tok, len);
    *n += len;
    return true;
}

size_t xb_imap_caps_rewrite(struct xb_view caps, bool pre_login, bool local_starttls, char *out,
                            size_t size)
{
    static const char *const dropped[] = { "LOGINDISABLED", "STARTTLS", "LOGIN-REFERRALS" };
    size_t n = 0;
    if (size == 0)
        return (size_t)-1;
    out[0] = '\0';
    struct xb_view rest = caps, tok;
    while (rest.len) {
        imap_split(rest, &tok, &rest);
        if (tok.len == 0)
            continue; /* repeated spaces */
        bool keep = !(tok.len >= 5 && xb_view_eq_ci((struct xb_view){ tok.p, 5 }, "AUTH="));
        /* A capability is an atom: one holding control bytes (a NUL, a CR) is not passed
         * on, so the result is a clean C string and a clean line. */
        for (size_t i = 0; keep && i < tok.len; i++)
            keep = (unsigned char)tok.p[i] >= 0x20 && tok.p[i] != 0x7f;
        for (size_t i = 0; keep && i < sizeof(dropped) / sizeof(dropped[0]); i++)
            keep = !xb_view_eq_ci(tok, dropped[i]);
        if (keep && !imap_caps_append(out, size, &n, tok.p, tok.len))
            goto fail;
    }
    if (pre_login && !imap_caps_append(out, size, &n, "AUTH=PLAIN", 10))
        goto fail;
    if (pre_login && local_starttls && !imap_caps_append(out, size, &n, "STARTTLS", 8))
        goto fail;
    out[n] = '\0';
    return n;
fail:
    out[0] = '\0';
    return (size_t)-1;
}
