/* SMTP command and reply lines: stateless, one line at a time, views into the input. */
#include "core/smtp_parse.h"

#include <string.h>

#define XB_SMTP_KEYWORD_MAX 32 /* longer than any verb; a longer "keyword" is junk */

static const struct xb_cmd_verb smtp_verbs[] = {
    { "EHLO", XB_SMTP_EHLO }, { "HELO", XB_SMTP_HELO },         { "AUTH", XB_SMTP_AUTH },
    { "STARTTLS", XB_SMTP_STARTTLS }, { "QUIT", XB_SMTP_QUIT }, { "NOOP", XB_SMTP_NOOP },
    { "RSET", XB_SMTP_RSET }, { "MAIL", XB_SMTP_MAIL },         { "RCPT", XB_SMTP_RCPT },
    { "DATA", XB_SMTP_DATA }, { "BDAT", XB_SMTP_BDAT },         { "VRFY", XB_SMTP_VRFY },
    { "HELP", XB_SMTP_HELP },
};

/* Keyword = Ldh-str (RFC 5321): a letter, then letters, digits and hyphens. */
static bool smtp_is_keyword(struct xb_view k)
{
    if (k.len == 0 || k.len > XB_SMTP_KEYWORD_MAX || !xb_is_alpha(k.p[0]))
        return false;
    for (size_t i = 1; i < k.len; i++) {
        char c = k.p[i];
        if (!xb_is_alpha(c) && !(c >= '0' && c <= '9') && c != '-')
            return false;
    }
    return true;
}

const struct xb_cmd_syntax xb_smtp_syntax = {
    smtp_is_keyword, smtp_verbs, sizeof(smtp_verbs) / sizeof(smtp_verbs[0]), XB_SMTP_AUTH };

bool xb_smtp_reply_parse(struct xb_view line, struct xb_smtp_reply_line *reply)
{
    memset(reply, 0, sizeof(*reply));
    if (line.len < 3 || line.p[0] < '2' || line.p[0] > '5')
        return false;
    for (size_t i = 1; i < 3; i++) {
        if (line.p[i] < '0' || line.p[i] > '9')
            return false;
    }
    if (line.len > 3 && line.p[3] != ' ' && line.p[3] != '-')
        return false;
    reply->code = (line.p[0] - '0') * 100 + (line.p[1] - '0') * 10 + (line.p[2] - '0');
    reply->more = line.len > 3 && line.p[3] == '-';
    if (line.len > 3)
        reply->text = (struct xb_view){ line.p + 4, line.len - 4 };
    else
        reply->text = (struct xb_view){ line.p + 3, 0 };
    return true;
}

