/* POP3 command and response lines: stateless, one line at a time, views into the input. */
#include "core/pop3_parse.h"

#include <string.h>

static const struct xb_cmd_verb pop3_verbs[] = {
    { "USER", XB_POP3_USER }, { "PASS", XB_POP3_PASS }, { "AUTH", XB_POP3_AUTH },
    { "CAPA", XB_POP3_CAPA }, { "QUIT", XB_POP3_QUIT }, { "APOP", XB_POP3_APOP },
    { "STLS", XB_POP3_STLS }, { "NOOP", XB_POP3_NOOP }, { "RSET", XB_POP3_RSET },
};

/* 3 or 4 letters (RFC 1939 3). */
static bool pop3_is_keyword(struct xb_view k)
{
    bool ok = k.len >= 3 && k.len <= 4;
    for (size_t i = 0; ok && i < k.len; i++)
        ok = xb_is_alpha(k.p[i]);
    return ok;
}

const struct xb_cmd_syntax xb_pop3_syntax = {
    pop3_is_keyword, pop3_verbs, sizeof(pop3_verbs) / sizeof(pop3_verbs[0]), XB_POP3_AUTH };

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

