/* What every protocol parser shares: view comparison and the line splitter. */
#include "core/parse.h"

#include <string.h>

#include "core/ascii.h"

bool xb_view_eq_ci(struct xb_view v, const char *s)
{
    return xb_ascii_eq_ci(v.p, v.len, s);
}

enum xb_parse_rc xb_line_split(const char *data, size_t len, size_t max,
                               struct xb_view *line, size_t *consumed)
{
    *line = XB_VIEW_NULL;
    *consumed = 0;
    if (len == 0)
        return XB_PARSE_AGAIN;
    /* Look no further than a valid line could reach (max bytes, CR, LF): without an LF
     * in that window the line is already too long, and a peer streaming bytes without
     * an LF costs at most O(max) per call. */
    size_t window = len;
    if (max < (size_t)-1 - 2 && window > max + 2)
        window = max + 2;
    const char *lf = memchr(data, '\n', window);
    if (!lf) {
        if (len <= max || (len == max + 1 && data[max] == '\r'))
            return XB_PARSE_AGAIN; /* the LF may still come */
        /* Too long whether or not its LF is further on: skip through it if it is in
         * data, else the caller has to give up on the stream. */
        lf = memchr(data + window, '\n', len - window);
        if (lf)
            *consumed = (size_t)(lf - data) + 1;
        return XB_PARSE_TOO_LONG;
    }
    size_t n = (size_t)(lf - data);
    *consumed = n + 1;
    if (n > 0 && data[n - 1] == '\r')
        n--;
    if (n > max)
        return XB_PARSE_TOO_LONG;
    line->p = data;
    line->len = n;
    return XB_PARSE_OK;
}

bool xb_view_split_space(struct xb_view v, struct xb_view *word, struct xb_view *rest)
{
    const char *sp = v.len ? memchr(v.p, ' ', v.len) : NULL;
    if (!sp) {
        *word = v;
        *rest = XB_VIEW_NULL;
        return false;
    }
    size_t n = (size_t)(sp - v.p);
    *word = (struct xb_view){ v.p, n };
    *rest = (struct xb_view){ sp + 1, v.len - n - 1 };
    return true;
}

enum xb_parse_rc xb_cmd_line_parse(const struct xb_cmd_syntax *syntax, const char *data,
                                   size_t len, size_t line_max, struct xb_cmd_line *cmd,
                                   size_t *consumed)
{
    struct xb_view line, rest, tail, extra;
    memset(cmd, 0, sizeof(*cmd));
    enum xb_parse_rc rc = xb_line_split(data, len, line_max, &line, consumed);
    if (rc == XB_PARSE_TOO_LONG)
        cmd->error = "line too long";
    if (rc != XB_PARSE_OK)
        return rc;
    /* A CR or NUL inside the line would reach logs or the upstream server. */
    if (memchr(line.p, '\0', line.len) || memchr(line.p, '\r', line.len)) {
        cmd->error = "control character in command";
        return XB_PARSE_BAD;
    }
    xb_view_split_space(line, &cmd->name, &rest);
    if (line.len == 0) {
        cmd->error = "empty command";
        return XB_PARSE_BAD;
    }
    if (!syntax->keyword_ok(cmd->name)) {
        cmd->error = "bad command keyword";
        return XB_PARSE_BAD;
    }
    for (size_t i = 0; i < syntax->nverbs; i++) {
        if (xb_view_eq_ci(cmd->name, syntax->verbs[i].name)) {
            cmd->verb = syntax->verbs[i].verb;
            break;
        }
    }
    /* arg is kept verbatim: a POP3 PASS argument may hold spaces, leading or trailing. */
    cmd->arg = rest;
    bool more = xb_view_split_space(rest, &cmd->arg1, &tail);
    /* AUTH takes a mechanism and at most one initial response, single-spaced. */
    if (cmd->verb == syntax->auth && more) {
        bool extra_space = xb_view_split_space(tail, &cmd->arg2, &extra);
        if (extra_space || cmd->arg1.len == 0 || cmd->arg2.len == 0) {
            cmd->error = "syntax error in AUTH";
            return XB_PARSE_BAD;
        }
    }
    return XB_PARSE_OK;
}
