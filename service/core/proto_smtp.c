/*
 * SMTP submission before AUTH: EHLO/HELO with the proxy's own extension list, AUTH PLAIN
 * and AUTH LOGIN (inline and multi-step) from the client; upstream implicit TLS (465) or
 * STARTTLS (587, EHLO replayed after it), then AUTH XOAUTH2 (or OAUTHBEARER).
 *
 * The client never sends EHLO again after AUTH (RFC 4954), so what it learns before is
 * all it knows: the proxy offers a conservative set every submission server supports
 * (PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, SIZE) and nothing it cannot relay.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/sasl.h"
#include "core/session.h"
#include "core/smtp_parse.h"

/* "Username:" and "Password:" for AUTH LOGIN. */
#define SMTP_LOGIN_USER "334 VXNlcm5hbWU6\r\n"
#define SMTP_LOGIN_PASS "334 UGFzc3dvcmQ6\r\n"

static void smtp_greet(struct xb_session *s)
{
    xb_sess_reply(s, "220 localhost ESMTP XOAuth Bridge ready\r\n");
}

static void smtp_goodbye(struct xb_session *s, const char *text)
{
    xb_sess_reply(s, "421 4.3.2 %s\r\n", text);
}

static enum xb_step plain_response(struct xb_session *s, struct xb_view b64)
{
    if (xb_sess_take_plain(s, b64))
        return XB_STEP_LOGIN;
    xb_sess_reply(s, "501 5.5.2 Invalid AUTH PLAIN response\r\n");
    return XB_STEP_AGAIN;
}

/* AUTH LOGIN: the user name line. */
static enum xb_step login_user(struct xb_session *s, struct xb_view b64)
{
    struct xb_secret *user = NULL;
    if (xb_base64_decode(b64, &user) != XB_OK || user->len == 0 || memchr(user->data, 0, user->len)) {
        xb_secret_free(user);
        s->p.smtp.auth = XB_SMTP_AUTH_NONE;
        xb_sess_reply(s, "501 5.5.2 Invalid AUTH LOGIN user name\r\n");
        return XB_STEP_AGAIN;
    }
    xb_secret_free(s->p.smtp.login_user);
    s->p.smtp.login_user = user;
    s->p.smtp.auth = XB_SMTP_AUTH_LOGIN_PASS;
    xb_sess_reply(s, SMTP_LOGIN_PASS);
    return XB_STEP_AGAIN;
}

static enum xb_step login_pass(struct xb_session *s, struct xb_view b64)
{
    struct xb_secret *pass = NULL;
    s->p.smtp.auth = XB_SMTP_AUTH_NONE;
    if (xb_base64_decode(b64, &pass) != XB_OK || memchr(pass->data, 0, pass->len)) {
        xb_secret_free(pass);
        xb_sess_reply(s, "501 5.5.2 Invalid AUTH LOGIN password\r\n");
        return XB_STEP_AGAIN;
    }
    xb_sess_set_creds(s, s->p.smtp.login_user, pass);
    s->p.smtp.login_user = NULL;
    return XB_STEP_LOGIN;
}

/* A line in the middle of AUTH (after a 334). */
static enum xb_step auth_line(struct xb_session *s, struct xb_view line)
{
    if (line.len == 1 && line.p[0] == '*') {
        s->p.smtp.auth = XB_SMTP_AUTH_NONE;
        xb_sess_reply(s, "501 5.7.0 Authentication cancelled\r\n");
        return XB_STEP_AGAIN;
    }
    switch (s->p.smtp.auth) {
    case XB_SMTP_AUTH_PLAIN:
        s->p.smtp.auth = XB_SMTP_AUTH_NONE;
        return plain_response(s, line);
    case XB_SMTP_AUTH_LOGIN_USER:
        return login_user(s, line);
    case XB_SMTP_AUTH_LOGIN_PASS:
        return login_pass(s, line);
    case XB_SMTP_AUTH_NONE:
        break;
    }
    return XB_STEP_AGAIN;
}

static void auth_too_long(struct xb_session *s)
{
    s->p.smtp.auth = XB_SMTP_AUTH_NONE;
    xb_sess_reply(s, "500 5.5.6 Line too long\r\n");
}

static void set_helo(struct xb_session *s, struct xb_view domain)
{
    size_t n = domain.len < sizeof(s->p.smtp.helo) - 1 ? domain.len : sizeof(s->p.smtp.helo) - 1;
    /* Only what a domain or address literal may contain goes upstream. */
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = domain.p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-' || c == '[' || c == ']' || c == ':' || c == '_')
            s->p.smtp.helo[j++] = c;
    }
    s->p.smtp.helo[j] = '\0';
}

static enum xb_step do_auth(struct xb_session *s, const struct xb_cmd_line *cmd)
{
    if (!s->p.smtp.ehlo_done) {
        xb_sess_reply(s, "503 5.5.1 Send EHLO first\r\n");
        return XB_STEP_AGAIN;
    }
    struct xb_view ir = cmd->arg2;
    bool has_ir = ir.len > 0;
    if (has_ir && ir.len == 1 && ir.p[0] == '=')
        ir.len = 0;
    if (xb_view_eq_ci(cmd->arg1, "PLAIN")) {
        if (has_ir)
            return plain_response(s, ir);
        s->p.smtp.auth = XB_SMTP_AUTH_PLAIN;
        xb_sess_reply(s, "334 \r\n");
        return XB_STEP_AGAIN;
    }
    if (xb_view_eq_ci(cmd->arg1, "LOGIN")) {
        if (has_ir)
            return login_user(s, ir);
        s->p.smtp.auth = XB_SMTP_AUTH_LOGIN_USER;
        xb_sess_reply(s, SMTP_LOGIN_USER);
        return XB_STEP_AGAIN;
    }
    xb_sess_reply(s, "504 5.5.4 Unsupported mechanism (use PLAIN or LOGIN)\r\n");
    return XB_STEP_AGAIN;
}

static enum xb_step dispatch(struct xb_session *s, const struct xb_cmd_line *cmd)
{
    switch ((enum xb_smtp_verb)cmd->verb) {
    case XB_SMTP_EHLO:
    case XB_SMTP_HELO:
        if (!cmd->arg1.len) {
            xb_sess_reply(s, "501 5.5.4 %s needs a domain\r\n",
                          cmd->verb == XB_SMTP_EHLO ? "EHLO" : "HELO");
            return XB_STEP_AGAIN;
        }
        set_helo(s, cmd->arg1);
        s->p.smtp.ehlo_done = true;
        if (cmd->verb == XB_SMTP_HELO)
            xb_sess_reply(s, "250 localhost\r\n");
        else
            xb_sess_reply(s, "250-localhost\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                             "250-ENHANCEDSTATUSCODES\r\n250-SIZE\r\n250 AUTH PLAIN LOGIN\r\n");
        return XB_STEP_AGAIN;
    case XB_SMTP_AUTH:
        return do_auth(s, cmd);
    case XB_SMTP_QUIT:
        xb_sess_reply(s, "221 2.0.0 Bye\r\n");
        return XB_STEP_CLOSE;
    case XB_SMTP_NOOP:
        xb_sess_reply(s, "250 2.0.0 OK\r\n");
        return XB_STEP_AGAIN;
    case XB_SMTP_RSET:
        xb_sess_reply(s, "250 2.0.0 Reset\r\n");
        return XB_STEP_AGAIN;
    case XB_SMTP_STARTTLS:
        xb_sess_reply(s, "454 4.7.0 STARTTLS is not offered on this loopback port\r\n");
        return XB_STEP_AGAIN;
    case XB_SMTP_MAIL:
    case XB_SMTP_RCPT:
    case XB_SMTP_DATA:
    case XB_SMTP_BDAT:
        xb_sess_reply(s, "530 5.7.0 Authentication required\r\n");
        return XB_STEP_AGAIN;
    case XB_SMTP_VRFY:
        xb_sess_reply(s, "252 2.5.0 Cannot verify before AUTH\r\n");
        return XB_STEP_AGAIN;
    case XB_SMTP_HELP:
        xb_sess_reply(s, "214 2.0.0 XOAuth Bridge: EHLO, AUTH PLAIN or LOGIN, then as usual\r\n");
        return XB_STEP_AGAIN;
    case XB_SMTP_UNKNOWN:
        break;
    }
    xb_sess_reply(s, "500 5.5.1 Command not recognized\r\n");
    return XB_STEP_AGAIN;
}

static void bad_command(struct xb_session *s, enum xb_parse_rc rc, const char *why)
{
    xb_sess_reply(s, rc == XB_PARSE_BAD ? "500 5.5.2 %s\r\n" : "500 5.5.6 %s\r\n", why);
}

static enum xb_step smtp_client_input(struct xb_session *s, struct evbuffer *in)
{
    if (s->p.smtp.auth != XB_SMTP_AUTH_NONE)
        return xb_sess_sasl_line(s, in, auth_line, auth_too_long);
    return xb_sess_command(s, in, &xb_smtp_syntax, bad_command, dispatch);
}

static void smtp_login_failed(struct xb_session *s, enum xb_err err, const char *text)
{
    if (err == XB_ERR_TEMP)
        xb_sess_reply(s, "454 4.7.0 %s\r\n", text);
    else
        xb_sess_reply(s, "535 5.7.8 %s\r\n", text);
    s->p.smtp.up = XB_SMTP_UP_GREETING;
    s->p.smtp.got_challenge = false;
}

/* --- upstream ------------------------------------------------------------------------- */

static void send_ehlo(struct xb_session *s)
{
    xb_sess_up_printf(s, "EHLO %s\r\n", s->p.smtp.helo[0] ? s->p.smtp.helo : "localhost");
    s->p.smtp.up = XB_SMTP_UP_EHLO;
}

static void smtp_up_start(struct xb_session *s, bool after_starttls)
{
    s->p.smtp.got_challenge = false;
    if (after_starttls)
        send_ehlo(s); /* RFC 3207: forget everything, start with EHLO again */
    else
        s->p.smtp.up = XB_SMTP_UP_GREETING;
}

static void send_auth(struct xb_session *s)
{
    xb_sess_up_auth(s, "AUTH");
    s->p.smtp.up = XB_SMTP_UP_AUTH;
}

static enum xb_up smtp_up_line(struct xb_session *s, struct xb_view line)
{
    struct xb_smtp_sess *st = &s->p.smtp;
    struct xb_smtp_reply_line r;
    if (!xb_smtp_reply_parse(line, &r))
        return XB_UP_BROKEN;
    if (r.more)
        return XB_UP_MORE; /* act on the last line of a reply */

    switch (st->up) {
    case XB_SMTP_UP_GREETING:
        if (r.code != 220)
            return XB_UP_TEMP;
        send_ehlo(s);
        return XB_UP_MORE;
    case XB_SMTP_UP_EHLO:
        if (r.code != 250)
            return r.code >= 500 ? XB_UP_BROKEN : XB_UP_TEMP;
        if (s->server->tls == XB_TLS_STARTTLS && !s->up_tls_upgraded) {
            xb_sess_up_printf(s, "STARTTLS\r\n");
            st->up = XB_SMTP_UP_STARTTLS;
        } else {
            send_auth(s);
        }
        return XB_UP_MORE;
    case XB_SMTP_UP_STARTTLS:
        return r.code == 220 ? XB_UP_STARTTLS : XB_UP_TEMP;
    case XB_SMTP_UP_AUTH:
    case XB_SMTP_UP_AUTH_FINAL:
        break;
    }

    if (r.code == 334) {
        /* The SASL error challenge: answer empty, the final 535 follows. */
        st->got_challenge = true;
        st->up = XB_SMTP_UP_AUTH_FINAL;
        xb_sess_up_send(s, "\r\n", 2);
        return XB_UP_MORE;
    }
    if (r.code == 235) {
        xb_sess_reply_raw(s, line.p, line.len);
        xb_sess_reply_raw(s, "\r\n", 2);
        return XB_UP_DONE;
    }
    if (r.code >= 400 && r.code < 500 && !st->got_challenge)
        return XB_UP_TEMP;
    return XB_UP_REFUSED;
}

static void smtp_cleanup(struct xb_session *s)
{
    xb_secret_free(s->p.smtp.login_user);
    s->p.smtp.login_user = NULL;
}

const struct xb_proto xb_proto_smtp = {
    .name = "smtp",
    .id = XB_PROTO_SMTP,
    .cleanup = smtp_cleanup,
    .greet = smtp_greet,
    .client_input = smtp_client_input,
    .up_start = smtp_up_start,
    .up_line = smtp_up_line,
    .login_failed = smtp_login_failed,
    .goodbye = smtp_goodbye,
};
