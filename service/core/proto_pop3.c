/*
 * POP3 before login: USER/PASS and AUTH PLAIN (inline or two-step) from the client, AUTH
 * XOAUTH2 (or OAUTHBEARER) upstream with an initial response (RFC 5034). APOP is refused
 * with a clear message: the proxy's greeting carries no timestamp, so clients that follow
 * RFC 1939 never try it. After login nothing changes: POP3 stays POP3.
 */
#include <string.h>

#include <event2/buffer.h>

#include "core/pop3_parse.h"
#include "core/sasl.h"
#include "core/session.h"

static void pop3_greet(struct xb_session *s)
{
    xb_sess_reply(s, "+OK XOAuth Bridge POP3 ready\r\n");
}

static void pop3_goodbye(struct xb_session *s, const char *text)
{
    xb_sess_reply(s, "-ERR [SYS/TEMP] %s\r\n", text);
}

static enum xb_step plain_response(struct xb_session *s, struct xb_view b64)
{
    if (xb_sess_take_plain(s, b64))
        return XB_STEP_LOGIN;
    xb_sess_reply(s, "-ERR Invalid AUTH PLAIN response\r\n");
    return XB_STEP_AGAIN;
}

static struct xb_secret *view_secret(struct xb_view v)
{
    return xb_secret_new(v.p, v.len);
}

static enum xb_step auth_line(struct xb_session *s, struct xb_view line)
{
    s->p.pop3.in_auth = false;
    if (line.len == 1 && line.p[0] == '*') {
        xb_sess_reply(s, "-ERR AUTH cancelled\r\n");
        return XB_STEP_AGAIN;
    }
    return plain_response(s, line);
}

static void auth_too_long(struct xb_session *s)
{
    s->p.pop3.in_auth = false;
    xb_sess_reply(s, "-ERR Line too long\r\n");
}

static enum xb_step dispatch(struct xb_session *s, const struct xb_cmd_line *cmd)
{
    struct xb_pop3_sess *st = &s->p.pop3;
    switch ((enum xb_pop3_verb)cmd->verb) {
    case XB_POP3_CAPA:
        xb_sess_reply(s, "+OK Capability list follows\r\n"
                         "USER\r\nSASL PLAIN\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nTOP\r\nUIDL\r\n"
                         "IMPLEMENTATION XOAuth-Bridge\r\n.\r\n");
        return XB_STEP_AGAIN;
    case XB_POP3_USER:
        if (!cmd->arg.len) {
            xb_sess_reply(s, "-ERR USER needs a user name\r\n");
            return XB_STEP_AGAIN;
        }
        xb_secret_free(st->user);
        st->user = view_secret(cmd->arg);
        xb_sess_reply(s, st->user ? "+OK Send your password\r\n" : "-ERR [SYS/TEMP] Out of memory\r\n");
        return XB_STEP_AGAIN;
    case XB_POP3_PASS: {
        if (!st->user) {
            xb_sess_reply(s, "-ERR Send USER first\r\n");
            return XB_STEP_AGAIN;
        }
        struct xb_secret *pass = view_secret(cmd->arg);
        if (!pass) {
            xb_sess_reply(s, "-ERR [SYS/TEMP] Out of memory\r\n");
            return XB_STEP_AGAIN;
        }
        xb_sess_set_creds(s, st->user, pass);
        st->user = NULL;
        return XB_STEP_LOGIN;
    }
    case XB_POP3_AUTH:
        if (!cmd->arg1.len) {
            xb_sess_reply(s, "+OK Supported mechanisms follow\r\nPLAIN\r\n.\r\n");
            return XB_STEP_AGAIN;
        }
        if (!xb_view_eq_ci(cmd->arg1, "PLAIN")) {
            xb_sess_reply(s, "-ERR Unsupported mechanism (use PLAIN)\r\n");
            return XB_STEP_AGAIN;
        }
        if (cmd->arg2.len)
            return plain_response(s, cmd->arg2);
        st->in_auth = true;
        xb_sess_reply(s, "+ \r\n");
        return XB_STEP_AGAIN;
    case XB_POP3_APOP:
        xb_sess_reply(s, "-ERR APOP is not supported here; use USER and PASS\r\n");
        return XB_STEP_AGAIN;
    case XB_POP3_QUIT:
        xb_sess_reply(s, "+OK Bye\r\n");
        return XB_STEP_CLOSE;
    case XB_POP3_STLS:
        xb_sess_reply(s, "-ERR STLS is not offered on this loopback port\r\n");
        return XB_STEP_AGAIN;
    case XB_POP3_NOOP:
    case XB_POP3_RSET:
    case XB_POP3_UNKNOWN:
        break;
    }
    xb_sess_reply(s, "-ERR Log in first (USER/PASS or AUTH PLAIN)\r\n");
    return XB_STEP_AGAIN;
}

static void bad_command(struct xb_session *s, enum xb_parse_rc rc, const char *why)
{
    xb_sess_reply(s, "-ERR %s\r\n", why);
}

static enum xb_step pop3_client_input(struct xb_session *s, struct evbuffer *in)
{
    if (s->p.pop3.in_auth)
        return xb_sess_sasl_line(s, in, auth_line, auth_too_long);
    return xb_sess_command(s, in, &xb_pop3_syntax, bad_command, dispatch);
}

static void pop3_login_failed(struct xb_session *s, enum xb_err err, const char *text)
{
    xb_sess_reply(s, "-ERR [%s] %s\r\n", err == XB_ERR_TEMP ? "SYS/TEMP" : "AUTH", text);
    s->p.pop3.greeted = false;
    s->p.pop3.sent_stls = false;
    s->p.pop3.got_challenge = false;
}

/* --- upstream ------------------------------------------------------------------------- */

static void send_auth(struct xb_session *s)
{
    xb_sess_up_auth(s, "AUTH"); /* RFC 5034: with the initial response */
}

/* A new connection (after_starttls false: also a second login after a refused token)
 * starts the dialogue from the greeting; after STLS it goes on with the AUTH. */
static void pop3_up_start(struct xb_session *s, bool after_starttls)
{
    s->p.pop3.greeted = after_starttls;
    s->p.pop3.got_challenge = false;
    if (after_starttls)
        send_auth(s);
    else
        s->p.pop3.sent_stls = false;
}

static enum xb_up pop3_up_line(struct xb_session *s, struct xb_view line)
{
    struct xb_pop3_sess *st = &s->p.pop3;
    struct xb_pop3_resp r;
    if (!xb_pop3_resp_parse(line, &r))
        return XB_UP_BROKEN;

    if (!st->greeted) {
        if (r.status != XB_POP3_ST_OK)
            return XB_UP_TEMP;
        st->greeted = true;
        if (s->server->tls == XB_TLS_STARTTLS && !s->up_tls_upgraded) {
            st->sent_stls = true;
            xb_sess_up_printf(s, "STLS\r\n");
        } else {
            send_auth(s);
        }
        return XB_UP_MORE;
    }
    if (st->sent_stls && !s->up_tls_upgraded)
        return r.status == XB_POP3_ST_OK ? XB_UP_STARTTLS : XB_UP_TEMP;

    switch (r.status) {
    case XB_POP3_ST_CONTINUE:
        st->got_challenge = true;
        xb_sess_up_send(s, "\r\n", 2);
        return XB_UP_MORE;
    case XB_POP3_ST_OK:
        xb_sess_reply_raw(s, line.p, line.len);
        xb_sess_reply_raw(s, "\r\n", 2);
        return XB_UP_DONE;
    case XB_POP3_ST_ERR:
        break;
    }
    if (!st->got_challenge && (xb_view_eq_ci(r.code, "SYS/TEMP") || xb_view_eq_ci(r.code, "IN-USE") ||
                               xb_view_eq_ci(r.code, "LOGIN-DELAY")))
        return XB_UP_TEMP;
    return XB_UP_REFUSED;
}

static void pop3_cleanup(struct xb_session *s)
{
    xb_secret_free(s->p.pop3.user);
    s->p.pop3.user = NULL;
}

const struct xb_proto xb_proto_pop3 = {
    .name = "pop3",
    .id = XB_PROTO_POP3,
    .cleanup = pop3_cleanup,
    .greet = pop3_greet,
    .client_input = pop3_client_input,
    .up_start = pop3_up_start,
    .up_line = pop3_up_line,
    .login_failed = pop3_login_failed,
    .goodbye = pop3_goodbye,
};
