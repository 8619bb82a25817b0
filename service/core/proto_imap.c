/*
 * IMAP before login: the proxy's own greeting and capabilities, LOGIN and AUTHENTICATE
 * PLAIN from the client, then AUTHENTICATE XOAUTH2 (or OAUTHBEARER) upstream. The client
 * sees its own tag's OK with the server's capabilities, then the relay takes over.
 *
 * Pre-login capabilities are the proxy's own (what it implements itself): the upstream
 * connection opens only once the local password is right, so nothing reaches Google for
 * a wrong one. After login the server's CAPABILITY (AUTH= entries removed) reaches the
 * client, in the tagged OK's code or as an untagged response before it.
 */
#include <string.h>

#include <event2/buffer.h>

#include "core/bufwipe.h"
#include "core/imap_parse.h"
#include "core/sasl.h"
#include "core/session.h"
#include "xoauthbridge/version.h"

#define IMAP_LOCAL_CAPS "IMAP4rev1 SASL-IR ID AUTH=PLAIN"
#define IMAP_UP_TAG     "xb1"
#define IMAP_TLS_TAG    "xb0"
/* Longest capability list relayed after rewriting. */
#define IMAP_CAPS_MAX   4096

static void imap_greet(struct xb_session *s)
{
    xb_sess_reply(s, "* OK [CAPABILITY " IMAP_LOCAL_CAPS "] XOAuth Bridge ready\r\n");
}

static void imap_goodbye(struct xb_session *s, const char *text)
{
    xb_sess_reply(s, "* BYE %s\r\n", text);
}

static void save_tag(struct xb_session *s, struct xb_view tag)
{
    size_t n = tag.len < XB_IMAP_TAG_MAX ? tag.len : XB_IMAP_TAG_MAX;
    memcpy(s->p.imap.tag, tag.p, n);
    s->p.imap.tag[n] = '\0';
}

/* An argument's value as a new secret (unescaped); NULL if malformed or out of memory. */
static struct xb_secret *arg_secret(const struct xb_imap_arg *a)
{
    size_t size = a->raw.len + 1;
    char *tmp = xb_new_array(char, size);
    struct xb_secret *out = NULL;
    if (!tmp)
        return NULL;
    size_t n = xb_imap_arg_value(a, tmp, size);
    if (n != (size_t)-1)
        out = xb_secret_new(tmp, n);
    xb_wipe(tmp, size);
    xb_free(tmp);
    return out;
}

/* Decodes an AUTHENTICATE PLAIN response into the session's credentials. */
static enum xb_step plain_response(struct xb_session *s, struct xb_view b64)
{
    if (xb_sess_take_plain(s, b64))
        return XB_STEP_LOGIN;
    xb_sess_reply(s, "%s BAD Invalid AUTHENTICATE PLAIN response\r\n", s->p.imap.tag);
    return XB_STEP_AGAIN;
}

/* The client's line after "+ " for AUTHENTICATE PLAIN without an initial response. */
static enum xb_step authenticate_line(struct xb_session *s, struct xb_view line)
{
    s->p.imap.in_authenticate = false;
    if (line.len == 1 && line.p[0] == '*') {
        xb_sess_reply(s, "%s BAD AUTHENTICATE cancelled\r\n", s->p.imap.tag);
        return XB_STEP_AGAIN;
    }
    return plain_response(s, line);
}

static void authenticate_too_long(struct xb_session *s)
{
    s->p.imap.in_authenticate = false;
    xb_sess_reply(s, "%s BAD Line too long\r\n", s->p.imap.tag);
}

static enum xb_step do_login(struct xb_session *s, const struct xb_imap_cmd *cmd)
{
    if (cmd->nargs != 2 || cmd->args[0].kind == XB_IMAP_ARG_LIST ||
        cmd->args[1].kind == XB_IMAP_ARG_LIST) {
        xb_sess_reply(s, "%s BAD LOGIN needs a user name and a password\r\n", s->p.imap.tag);
        return XB_STEP_AGAIN;
    }
    struct xb_secret *user = arg_secret(&cmd->args[0]);
    struct xb_secret *pass = arg_secret(&cmd->args[1]);
    if (!user || !pass) {
        xb_secret_free(user);
        xb_secret_free(pass);
        xb_sess_reply(s, "%s BAD Invalid user name or password syntax\r\n", s->p.imap.tag);
        return XB_STEP_AGAIN;
    }
    xb_sess_set_creds(s, user, pass);
    return XB_STEP_LOGIN;
}

static enum xb_step do_authenticate(struct xb_session *s, const struct xb_imap_cmd *cmd)
{
    if (cmd->nargs < 1 || cmd->nargs > 2 || cmd->args[0].kind != XB_IMAP_ARG_ATOM) {
        xb_sess_reply(s, "%s BAD AUTHENTICATE needs a mechanism\r\n", s->p.imap.tag);
        return XB_STEP_AGAIN;
    }
    if (!xb_view_eq_ci(cmd->args[0].raw, "PLAIN")) {
        xb_sess_reply(s, "%s NO Unsupported authentication mechanism (use PLAIN)\r\n",
                      s->p.imap.tag);
        return XB_STEP_AGAIN;
    }
    if (cmd->nargs == 2)
        return plain_response(s, cmd->args[1].raw);
    xb_sess_reply(s, "+ \r\n");
    s->p.imap.in_authenticate = true;
    return XB_STEP_AGAIN;
}

static enum xb_step dispatch(struct xb_session *s, const struct xb_imap_cmd *cmd)
{
    const char *tag = s->p.imap.tag;
    switch (cmd->verb) {
    case XB_IMAP_CAPABILITY:
        xb_sess_reply(s, "* CAPABILITY " IMAP_LOCAL_CAPS "\r\n%s OK CAPABILITY completed\r\n",
                      tag);
        return XB_STEP_AGAIN;
    case XB_IMAP_NOOP:
        xb_sess_reply(s, "%s OK NOOP completed\r\n", tag);
        return XB_STEP_AGAIN;
    case XB_IMAP_LOGOUT:
        xb_sess_reply(s, "* BYE Logging out\r\n%s OK LOGOUT completed\r\n", tag);
        return XB_STEP_CLOSE;
    case XB_IMAP_ID:
        xb_sess_reply(s, "* ID (\"name\" \"XOAuth Bridge\" \"version\" \"" XB_VERSION "\")\r\n"
                         "%s OK ID completed\r\n", tag);
        return XB_STEP_AGAIN;
    case XB_IMAP_LOGIN:
        return do_login(s, cmd);
    case XB_IMAP_AUTHENTICATE:
        return do_authenticate(s, cmd);
    case XB_IMAP_STARTTLS:
        xb_sess_reply(s, "%s BAD STARTTLS is not offered on this loopback port\r\n", tag);
        return XB_STEP_AGAIN;
    case XB_IMAP_ENABLE:
    case XB_IMAP_UNKNOWN:
        break;
    }
    xb_sess_reply(s, "%s BAD Log in first (LOGIN or AUTHENTICATE PLAIN)\r\n", tag);
    return XB_STEP_AGAIN;
}

static enum xb_step imap_client_input(struct xb_session *s, struct evbuffer *in)
{
    struct xb_imap_sess *st = &s->p.imap;
    const struct xb_config *cfg = xb_sess_config(s);
    if (st->in_authenticate)
        return xb_sess_sasl_line(s, in, authenticate_line, authenticate_too_long);

    struct xb_imap_cmd cmd;
    size_t len, consumed = 0;
    const char *data = xb_sess_peek(in, cfg->line_max + cfg->literal_max + 64, &len);
    enum xb_parse_rc rc = xb_imap_parse(&st->parser, data, len, &cmd, &consumed);
    enum xb_step step = XB_STEP_AGAIN;

    switch (rc) {
    case XB_PARSE_AGAIN:
        return XB_STEP_WAIT;
    case XB_PARSE_LITERAL:
        xb_sess_reply(s, "+ Ready for literal data\r\n");
        return XB_STEP_WAIT;
    case XB_PARSE_BAD:
    case XB_PARSE_TOO_LONG:
        xb_sess_reply(s, "%.*s BAD %s\r\n", cmd.tag.len ? (int)cmd.tag.len : 1,
                      cmd.tag.len ? cmd.tag.p : "*", cmd.error ? cmd.error : "Syntax error");
        if (cmd.close) {
            /* A LITERAL+ we will not take is arriving: its bytes would be read as
             * commands. The only safe answer is to end the session. */
            xb_sess_reply(s, "* BYE The literal is too big for this server\r\n");
            return XB_STEP_CLOSE;
        }
        if (consumed == 0) {
            /* Its end has not arrived yet: drop the rest as it comes, unless that end
             * announces a LITERAL+ (then the session ends: client_read_cb). */
            struct xb_imap_limits lim = st->parser.lim;
            xb_imap_parser_init(&st->parser, &lim);
            xb_sess_discard_line(s, in, xb_imap_ends_with_literal_plus);
            return XB_STEP_WAIT;
        }
        evbuffer_drain(in, consumed);
        return XB_STEP_AGAIN;
    case XB_PARSE_OK:
        save_tag(s, cmd.tag);
        step = dispatch(s, &cmd);
        break;
    }
    /* The views pointed into in: drain only after dispatch copied what it needed; LOGIN
     * carries the password: wiped, not only drained. */
    xb_evbuffer_wipe_drain(in, consumed);
    return step;
}

static void imap_login_failed(struct xb_session *s, enum xb_err err, const char *text)
{
    xb_sess_reply(s, "%s NO [%s] %s\r\n", s->p.imap.tag,
                  err == XB_ERR_TEMP ? "UNAVAILABLE" : "AUTHENTICATIONFAILED", text);
    s->p.imap.greeted = false;
    s->p.imap.got_challenge = false;
    xb_free(s->p.imap.up_caps);
    s->p.imap.up_caps = NULL;
}

/* --- upstream ------------------------------------------------------------------------- */

/* The base64 payload goes as the SASL-IR atom (RFC 4959); Gmail and Dovecot take it. */
static void send_authenticate(struct xb_session *s)
{
    xb_sess_up_auth(s, IMAP_UP_TAG " AUTHENTICATE");
}

/* A new connection (after_starttls false: also a second login after a refused token)
 * starts from the greeting and forgets the last server's capabilities. */
static void imap_up_start(struct xb_session *s, bool after_starttls)
{
    s->p.imap.greeted = after_starttls;
    s->p.imap.got_challenge = false;
    if (after_starttls) {
        send_authenticate(s); /* no new greeting after STARTTLS */
        return;
    }
    xb_free(s->p.imap.up_caps);
    s->p.imap.up_caps = NULL;
}

static char *rewrite_caps(struct xb_view caps)
{
    char *out = xb_new_array(char, IMAP_CAPS_MAX);
    if (out && xb_imap_caps_rewrite(caps, false, false, out, IMAP_CAPS_MAX) == (size_t)-1) {
        xb_free(out);
        out = NULL;
    }
    return out;
}

static bool view_starts_ci(struct xb_view v, const char *prefix, struct xb_view *rest)
{
    size_t n = strlen(prefix);
    if (v.len < n || !xb_view_eq_ci((struct xb_view){ v.p, n }, prefix))
        return false;
    rest->p = v.p + n;
    rest->len = v.len - n;
    return true;
}

static enum xb_up logged_in(struct xb_session *s, const struct xb_imap_resp *r)
{
    struct xb_view caps;
    char *rewritten = NULL;
    if (r->code.len && view_starts_ci(r->code, "CAPABILITY ", &caps))
        rewritten = rewrite_caps(caps);
    else if (s->p.imap.up_caps)
        xb_sess_reply(s, "* CAPABILITY %s\r\n", s->p.imap.up_caps);

    if (rewritten)
        xb_sess_reply(s, "%s OK [CAPABILITY %s] %.*s\r\n", s->p.imap.tag, rewritten,
                      (int)r->text.len, r->text.p);
    else if (r->code.len && !view_starts_ci(r->code, "CAPABILITY ", &caps))
        xb_sess_reply(s, "%s OK [%.*s] %.*s\r\n", s->p.imap.tag, (int)r->code.len, r->code.p,
                      (int)r->text.len, r->text.p);
    else
        xb_sess_reply(s, "%s OK %.*s\r\n", s->p.imap.tag, (int)r->text.len, r->text.p);
    xb_free(rewritten);
    return XB_UP_DONE;
}

static enum xb_up imap_up_line(struct xb_session *s, struct xb_view line)
{
    struct xb_imap_sess *st = &s->p.imap;
    struct xb_imap_resp r;
    struct xb_view rest;

    if (!xb_imap_resp_parse(line, &r))
        return XB_UP_BROKEN;

    if (!st->greeted) {
        if (r.kind != XB_IMAP_RESP_UNTAGGED)
            return XB_UP_BROKEN;
        if (r.status == XB_IMAP_ST_BYE)
            return XB_UP_TEMP;
        if (r.status != XB_IMAP_ST_OK)
            return XB_UP_BROKEN;
        st->greeted = true;
        if (s->server->tls == XB_TLS_STARTTLS && !s->up_tls_upgraded)
            xb_sess_up_printf(s, IMAP_TLS_TAG " STARTTLS\r\n");
        else
            send_authenticate(s);
        return XB_UP_MORE;
    }

    switch (r.kind) {
    case XB_IMAP_RESP_CONTINUE:
        /* A challenge after our initial response is the SASL error (RFC 7628 3.2.3): answer
         * with an empty line and the server ends the exchange with NO. */
        st->got_challenge = true;
        xb_sess_up_send(s, "\r\n", 2);
        return XB_UP_MORE;
    case XB_IMAP_RESP_UNTAGGED:
        if (r.status == XB_IMAP_ST_BYE)
            return XB_UP_TEMP;
        if (r.status == XB_IMAP_ST_NONE && view_starts_ci(r.text, "CAPABILITY ", &rest)) {
            xb_free(st->up_caps);
            st->up_caps = rewrite_caps(rest);
        }
        return XB_UP_MORE;
    case XB_IMAP_RESP_TAGGED:
        break;
    }

    if (xb_view_eq_ci(r.tag, IMAP_TLS_TAG))
        return r.status == XB_IMAP_ST_OK ? XB_UP_STARTTLS : XB_UP_TEMP;
    if (!xb_view_eq_ci(r.tag, IMAP_UP_TAG))
        return XB_UP_BROKEN;
    if (r.status == XB_IMAP_ST_OK)
        return logged_in(s, &r);
    if (r.status == XB_IMAP_ST_NO) {
        if (!st->got_challenge && (xb_view_eq_ci(r.code, "UNAVAILABLE") ||
                                   xb_view_eq_ci(r.code, "SERVERBUG")))
            return XB_UP_TEMP;
        return XB_UP_REFUSED;
    }
    return XB_UP_BROKEN;
}

static void imap_init(struct xb_session *s)
{
    const struct xb_config *cfg = xb_sess_config(s);
    struct xb_imap_limits lim = { cfg->line_max, cfg->literal_max,
                                  cfg->line_max + cfg->literal_max };
    xb_imap_parser_init(&s->p.imap.parser, &lim);
}

static void imap_cleanup(struct xb_session *s)
{
    xb_free(s->p.imap.up_caps);
    s->p.imap.up_caps = NULL;
}

const struct xb_proto xb_proto_imap = {
    .name = "imap",
    .id = XB_PROTO_IMAP,
    .init = imap_init,
    .cleanup = imap_cleanup,
    .greet = imap_greet,
    .client_input = imap_client_input,
    .up_start = imap_up_start,
    .up_line = imap_up_line,
    .login_failed = imap_login_failed,
    .goodbye = imap_goodbye,
};
