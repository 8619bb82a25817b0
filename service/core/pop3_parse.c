/* POP3 command and response lines: stateless, one line at a time, views into the input. */
#include "core/pop3_parse.h"

#include <string.h>

static const struct {
    const char *name;
    enum xb_pop3_verb verb;
} pop3_verbs[] = {
    { "USER", XB_POP3_USER }, { "PASS", XB_POP3_PASS }, { "AUTH", XB_POP3_AUTH },
    { "CAPA", XB_POP3_CAPA }, { "QUIT", XB_POP3_QUIT }, { "APOP", XB_POP3_APOP },
    { "STLS", XB_POP3_STLS }, { "NOOP", XB_POP3_NOOP }, { "RSET", XB_POP3_RSET },
};

enum xb_parse_rc xb_pop3_parse(const char *data, size_t len, size_t line_max,
                               struct xb_pop3_cmd *cmd, size_t *consumed)
{
    struct xb_view line;
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
    struct xb_view rest;
    xb_view_split_space(line, &cmd->name, &rest);
    if (line.len == 0) {
        cmd->error = "empty command";
        return XB_PARSE_BAD;
    }
    bool alpha = cmd->name.len >= 3 && cmd->name.len <= 4;
    for (size_t i = 0; alpha && i < cmd->name.len; i++)
        alpha = xb_is_alpha(cmd->name.p[i]);
    if (!alpha) {
        cmd->error = "bad command keyword";
        return XB_PARSE_BAD;
    }
    for (size_t i = 0; i < sizeof(pop3_verbs) / sizeof(pop3_verbs[0]); i++) {
        if (xb_view_eq_ci(cmd->name, pop3_verbs[i].name)) {
            cmd->verb = pop3_verbs[i].verb;
            break;
        }
    }

    /* arg is kept verbatim: a PASS argument may hold spaces, leading or trailing. */
    cmd->arg = rest;
    struct xb_view tail, extra;
    bool more = xb_view_split_space(rest, &cmd->arg1, &tail);
    /* AUTH takes a mechanism and at most one initial response, single-spaced. */
    if (cmd->verb == XB_POP3_AUTH && more) {
        bool extra_space = xb_view_split_space(tail, &cmd->arg2, &extra);
        if (extra_space || cmd->arg1.len == 0 || cmd->arg2.len == 0) {
            cmd->error = "syntax error in AUTH";
            return XB_PARSE_BAD;
        }
    }
    return XB_PARSE_OK;
}

/* Status text after "+OK"/"-ERR": an optional "[code]", then the human text. */
static void pop3_resp_text(struct xb_view rest, struct xb_pop3_resp *resp)
{
    if (rest.len && rest.p[0] == '[') {
        const char *close = memchr(rest.p, ']', rest.len);
        if (close) {
            resp->code = (struct xb_view){ rest.p + 1, (size_t)(close - rest.p) - 1 };
            size_t used = (size_t)(close - rest.p) + 1;
            if (used < rest.len && rest.p[used] == ' ')
                used++;
            rest = (struct xb_view){ rest.p + used, rest.len - used };
        }
    }
    resp->text = rest;
}

/* Whether line starts with word followed by a space or the end; *rest is after it. */
static bool pop3_starts_word(struct xb_view line, const char *word, struct xb_view *rest)
{
    size_t n = strlen(word);
    if (line.len < n || !xb_view_eq_ci((struct xb_view){ line.p, n }, word))
        return false;
    if (line.len == n) {
        *rest = (struct xb_view){ line.p + n, 0 };
        return true;
    }
    if (line.p[n] != ' ')
        return false;
    *rest = (struct xb_view){ line.p + n + 1, line.len - n - 1 };
    return true;
}

bool xb_pop3_resp_parse(struct xb_view line, struct xb_pop3_resp *resp)
{
    struct xb_view rest;
    memset(resp, 0, sizeof(*resp));
    if (pop3_starts_word(line, "+OK", &rest)) {
        resp->status = XB_POP3_ST_OK;
    } else if (pop3_starts_word(line, "-ERR", &rest)) {
        resp->status = XB_POP3_ST_ERR;
    } else if (pop3_starts_word(line, "+", &rest)) {
        /* A SASL challenge is base64, never an extended code. */
        resp->status = XB_POP3_ST_CONTINUE;
        resp->text = rest;
        return true;
    } else {
        return false;
    }
    pop3_resp_text(rest, resp);
    return true;
}

