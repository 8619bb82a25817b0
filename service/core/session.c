/*
 * The generic session: sockets, timers, local authentication, tokens, the upstream
 * connection and the relay. Protocol files decide what is said; this file decides when.
 */
#include "core/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/ascii.h"
#include "core/bufwipe.h"
#include "core/events.h"
#include "core/proxy.h"
#include "core/relay.h"
#include "core/sasl.h"
#include "core/store.h"
#include "core/tls.h"
#include "core/tokens.h"
#include "core/ui.h"
#include "platform/platform.h"


static const char *const state_names[] = {
    [XB_SESS_PREAUTH] = "preauth", [XB_SESS_TOKEN] = "token",   [XB_SESS_CONNECT] = "connect",
    [XB_SESS_UPLOGIN] = "uplogin", [XB_SESS_RELAY] = "relay",   [XB_SESS_CLOSING] = "closing",
};

/* Gmail's POP3 recent mode: the user name recent:ADDRESS (reference/gmail.md). */
#define RECENT_PREFIX "recent:"

/* The refusal of a local login. ASCII, as every protocol's reply text must be; the
 * person reads the same in their language in the notification (XB_UI_WRONG_PASSWORD). */
#define XB_LOCAL_REFUSAL "Invalid user name or password. XOAuth Bridge manages this " \
                         "account's password: do not enter your Google password here"

/* The address in recent:ADDRESS (any case), or NULL. */
static const char *recent_address(const char *user)
{
    size_t n = sizeof(RECENT_PREFIX) - 1;
    return strlen(user) > n && xb_ascii_eq_ci(user, n, RECENT_PREFIX) ? user + n : NULL;
}

static void client_read_cb(struct bufferevent *bev, void *arg);
static void client_write_cb(struct bufferevent *bev, void *arg);
static void client_event_cb(struct bufferevent *bev, short what, void *arg);
static void up_read_cb(struct bufferevent *bev, void *arg);
static void up_write_cb(struct bufferevent *bev, void *arg);
static void up_event_cb(struct bufferevent *bev, short what, void *arg);
static void uplogin_input(struct xb_session *s);
static void session_free(struct xb_session *s);
static void close_after_flush(struct xb_session *s);
static void login_refused(struct xb_session *s, enum xb_err err, const char *text);

static int64_t now_sec(struct xb_session *s)
{
    struct timeval tv;
    event_base_gettimeofday_cached(s->px->base, &tv);
    return (int64_t)tv.tv_sec;
}

/* --- logging and state ------------------------------------------------------------ */

void xb_sess_log(struct xb_session *s, enum xb_log_level level, const char *fmt, ...)
{
    if (level > xb_log_get_level())
        return;
    char text[XB_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    xb_log(level, s->id, "%s %s%s%s: %s", s->proto->name, s->peer, s->email ? " " : "",
           s->email ? s->email : "", text);
}

void xb_sess_set_state(struct xb_session *s, enum xb_sess_state state)
{
    if (s->state == state)
        return;
    xb_sess_log(s, XB_LOG_DEBUG, "state %s -> %s", state_names[s->state], state_names[state]);
    s->state = state;
}

const struct xb_config *xb_sess_config(struct xb_session *s)
{
    return s->px->cfg;
}

/* --- output ----------------------------------------------------------------------------- */

void xb_sess_reply_raw(struct xb_session *s, const void *data, size_t len)
{
    if (s->client)
        bufferevent_write(s->client, data, len);
}

void xb_sess_reply(struct xb_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (s->client)
        evbuffer_add_vprintf(bufferevent_get_output(s->client), fmt, ap);
    va_end(ap);
}

void xb_sess_up_send(struct xb_session *s, const void *data, size_t len)
{
    if (s->up)
        bufferevent_write(s->up, data, len);
}

void xb_sess_up_printf(struct xb_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (s->up)
        evbuffer_add_vprintf(bufferevent_get_output(s->up), fmt, ap);
    va_end(ap);
}

const char *xb_sess_peek(struct evbuffer *in, size_t max, size_t *len)
{
    size_t have = evbuffer_get_length(in);
    *len = have < max ? have : max;
    if (*len == 0)
        return "";
    return (const char *)evbuffer_pullup(in, (ev_ssize_t)*len);
}

/* The callbacks each side normally has; the relay swaps the write callback while it
 * waits for a side to drain. */
static void set_normal_callbacks(struct xb_session *s, struct bufferevent *bev)
{
    if (bev == s->client)
        bufferevent_setcb(bev, client_read_cb, client_write_cb, client_event_cb, s);
    else
        bufferevent_setcb(bev, up_read_cb, up_write_cb, up_event_cb, s);
}

/* Keeps the last bytes of what is dropped (the line's end is judged on them). */
static void keep_tail(struct xb_session *s, struct evbuffer *in, size_t upto)
{
    const size_t cap = sizeof(s->discard_tail);
    size_t take = upto < cap ? upto : cap;
    if (s->discard_tail_len + take > cap) {
        size_t drop = s->discard_tail_len + take - cap;
        memmove(s->discard_tail, s->discard_tail + drop, s->discard_tail_len - drop);
        s->discard_tail_len -= drop;
    }
    struct evbuffer_ptr at;
    if (take && evbuffer_ptr_set(in, &at, upto - take, EVBUFFER_PTR_SET) == 0 &&
        evbuffer_copyout_from(in, &at, s->discard_tail + s->discard_tail_len, take) ==
            (ev_ssize_t)take)
        s->discard_tail_len += take;
}

/* Drops input through the end of the over-long line: 1 once that end was seen, 0 while
 * it has not arrived, -1 when the line's end says what follows cannot be dropped. */
static int discard_through_lf(struct xb_session *s, struct evbuffer *in)
{
    struct evbuffer_ptr lf = evbuffer_search(in, "\n", 1, NULL);
    size_t upto = lf.pos < 0 ? evbuffer_get_length(in) : (size_t)lf.pos;
    if (s->discard_end_fatal)
        keep_tail(s, in, upto);
    if (lf.pos < 0) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return 0;
    }
    evbuffer_drain(in, (size_t)lf.pos + 1);
    s->discard_line = false;
    bool fatal = s->discard_end_fatal &&
                 s->discard_end_fatal(s->discard_tail, s->discard_tail_len);
    s->discard_end_fatal = NULL;
    s->discard_tail_len = 0;
    return fatal ? -1 : 1;
}

void xb_sess_discard_line(struct xb_session *s, struct evbuffer *in,
                          bool (*end_fatal)(const char *end, size_t len))
{
    s->discard_line = true;
    s->discard_end_fatal = end_fatal;
    s->discard_tail_len = 0;
    /* Whatever its end says is acted on when the session reads on (client_read_cb). */
    if (discard_through_lf(s, in) < 0)
        s->discard_fatal = true;
}

/* --- timers ---------------------------------------------------------------------------- */

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_session *s = arg;
    switch (s->state) {
    case XB_SESS_PREAUTH:
        xb_sess_log(s, XB_LOG_INFO, "closing: no login within %u s",
                    s->px->cfg->preauth_timeout);
        s->proto->goodbye(s, "Timed out waiting for a login");
        close_after_flush(s);
        return;
    case XB_SESS_TOKEN:
    case XB_SESS_CONNECT:
    case XB_SESS_UPLOGIN:
        xb_sess_log(s, XB_LOG_WARN, "login upstream took longer than %u s (while in %s)",
                    s->px->cfg->login_timeout, state_names[s->state]);
        login_refused(s, XB_ERR_TEMP, "The mail server did not answer in time; try again later");
        return;
    case XB_SESS_CLOSING:
        /* The client does not read its last words: stop waiting. */
        session_free(s);
        return;
    case XB_SESS_RELAY:
        /* Only armed while the upstream drains after the client left. */
        session_free(s);
        return;
    }
}

static void arm_timer(struct xb_session *s, unsigned seconds)
{
    struct timeval tv = { (long)seconds, 0 };
    evtimer_add(s->timer, &tv);
}

/* --- closing ------------------------------------------------------------------------------ */

static void drop_upstream(struct xb_session *s)
{
    if (s->up) {
        bufferevent_free(s->up);
        s->up = NULL;
    }
    if (s->up_early) {
        s->up_early = false;
        s->px->nearly--;
    }
    s->up_tls_upgraded = false; /* the next connection starts in the clear again */
}

static void clear_login(struct xb_session *s)
{
    if (s->token_req) {
        xb_tokens_cancel(s->px->tokens, s->token_req);
        s->token_req = NULL;
    }
    xb_secret_free(s->token);
    s->token = NULL;
    s->token_retried = false;
    s->recent_wanted = s->recent_on = false;
    xb_secret_free(s->user);
    xb_secret_free(s->pass);
    s->user = s->pass = NULL;
    xb_free(s->email);
    s->email = NULL;
    s->provider = NULL;
    s->server = NULL;
}

static void session_free(struct xb_session *s)
{
    xb_sess_log(s, XB_LOG_INFO, "closed");
    clear_login(s);
    drop_upstream(s);
    if (s->client)
        bufferevent_free(s->client);
    if (s->timer)
        event_free(s->timer);
    s->proto->cleanup(s);
    xb_proxy_session_removed(s->px, s);
    xb_free(s);
}

void xb_session_free_now(struct xb_session *s)
{
    session_free(s);
}

/* Flushes what is queued for the client, then frees the session (bounded by a timer). */
static void close_after_flush(struct xb_session *s)
{
    xb_sess_set_state(s, XB_SESS_CLOSING);
    drop_upstream(s);
    bufferevent_disable(s->client, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(s->client)) == 0) {
        session_free(s);
        return;
    }
    bufferevent_setwatermark(s->client, EV_WRITE, 0, 0);
    arm_timer(s, 10);
}

void xb_session_shutdown(struct xb_session *s, const char *why)
{
    if (s->state == XB_SESS_CLOSING)
        return;
    if (s->state != XB_SESS_RELAY)
        s->proto->goodbye(s, why);
    close_after_flush(s);
}

/* --- login: local check, token, upstream ---------------------------------------------------- */

void xb_sess_set_creds(struct xb_session *s, struct xb_secret *user, struct xb_secret *pass)
{
    xb_secret_free(s->user);
    xb_secret_free(s->pass);
    s->user = user;
    s->pass = pass;
}

const char *xb_sess_sasl_mech(struct xb_session *s)
{
    return s->provider && s->provider->sasl == XB_SASL_OAUTHBEARER ? "OAUTHBEARER" : "XOAUTH2";
}

struct xb_secret *xb_sess_sasl_ir(struct xb_session *s)
{
    struct xb_secret *out = NULL;
    char user[sizeof(RECENT_PREFIX) + XB_EMAIL_MAX];
    if (!s->token || !s->email)
        return NULL;
    /* Recent mode rides on the user name, as with a password (docs/proxy.md). */
    snprintf(user, sizeof(user), "%s%s", s->recent_on ? RECENT_PREFIX : "", s->email);
    if (s->provider->sasl == XB_SASL_OAUTHBEARER)
        xb_sasl_oauthbearer_encode(user, s->server->host, s->server->port, s->token->data,
                                   &out);
    else
        xb_sasl_xoauth2_encode(user, s->token->data, &out);
    return out;
}

enum xb_parse_rc xb_sess_client_line(struct xb_session *s, struct evbuffer *in,
                                     struct xb_view *line, size_t *consumed)
{
    size_t len;
    const char *data = xb_sess_peek(in, s->px->cfg->line_max + 2, &len);
    *consumed = 0;
    return xb_line_split(data, len, s->px->cfg->line_max, line, consumed);
}

enum xb_step xb_sess_sasl_line(struct xb_session *s, struct evbuffer *in,
                               enum xb_step (*handle)(struct xb_session *s, struct xb_view line),
                               void (*too_long)(struct xb_session *s))
{
    struct xb_view line;
    size_t consumed;
    enum xb_parse_rc rc = xb_sess_client_line(s, in, &line, &consumed);
    enum xb_step step = XB_STEP_AGAIN;
    if (rc == XB_PARSE_AGAIN)
        return XB_STEP_WAIT;
    if (rc != XB_PARSE_OK) {
        too_long(s);
        if (consumed == 0) {
            xb_sess_discard_line(s, in, NULL);
            return XB_STEP_WAIT;
        }
    } else {
        step = handle(s, line);
    }
    xb_evbuffer_wipe_drain(in, consumed); /* the handler copied what it needed from line */
    return step;
}

enum xb_step xb_sess_command(struct xb_session *s, struct evbuffer *in,
                             const struct xb_cmd_syntax *syntax,
                             void (*bad)(struct xb_session *s, enum xb_parse_rc rc,
                                         const char *why),
                             enum xb_step (*dispatch)(struct xb_session *s,
                                                      const struct xb_cmd_line *cmd))
{
    size_t len, consumed = 0;
    size_t max = s->px->cfg->line_max;
    const char *data = xb_sess_peek(in, max + 2, &len);
    enum xb_step step = XB_STEP_AGAIN;
    struct xb_cmd_line cmd;

    switch (xb_cmd_line_parse(syntax, data, len, max, &cmd, &consumed)) {
    case XB_PARSE_AGAIN:
    case XB_PARSE_LITERAL:
        return XB_STEP_WAIT;
    case XB_PARSE_BAD:
        bad(s, XB_PARSE_BAD, cmd.error ? cmd.error : "Syntax error");
        break;
    case XB_PARSE_TOO_LONG:
        bad(s, XB_PARSE_TOO_LONG, cmd.error ? cmd.error : "Syntax error");
        if (consumed == 0) {
            xb_sess_discard_line(s, in, NULL);
            return XB_STEP_WAIT;
        }
        break;
    case XB_PARSE_OK:
        step = dispatch(s, &cmd);
        break;
    }
    xb_evbuffer_wipe_drain(in, consumed); /* PASS, AUTH: the password is in it */
    return step;
}

bool xb_sess_take_plain(struct xb_session *s, struct xb_view b64)
{
    struct xb_secret *user = NULL, *pass = NULL;
    if (b64.len == 1 && b64.p[0] == '=')
        b64.len = 0; /* RFC 4959/5034/4954: "=" is an empty initial response */
    if (xb_sasl_plain_decode(b64, &user, &pass) != XB_OK)
        return false;
    xb_sess_set_creds(s, user, pass);
    return true;
}

void xb_sess_up_auth(struct xb_session *s, const char *command)
{
    struct xb_secret *ir = xb_sess_sasl_ir(s);
    if (!ir)
        return; /* out of memory: the login timer ends the attempt */
    /* The whole line in one buffer, so that it goes out as one TLS record and one write
     * (libevent writes each buffer chain with its own SSL_write: three before). */
    const char *mech = xb_sess_sasl_mech(s);
    size_t clen = strlen(command), mlen = strlen(mech);
    size_t len = clen + 1 + mlen + 1 + ir->len + 2;
    char *line = xb_new_array(char, len);
    if (line && s->up) {
        memcpy(line, command, clen);
        line[clen] = ' ';
        memcpy(line + clen + 1, mech, mlen);
        line[clen + 1 + mlen] = ' ';
        memcpy(line + clen + mlen + 2, ir->data, ir->len);
        memcpy(line + len - 2, "\r\n", 2);
        xb_evbuffer_add_secret(bufferevent_get_output(s->up), line, len);
    }
    if (line) {
        xb_wipe(line, len);
        xb_free(line);
    }
    xb_secret_free(ir);
}

/* The login did not work: tell the client, forget this attempt, accept another. */
static void login_refused(struct xb_session *s, enum xb_err err, const char *text)
{
    drop_upstream(s);
    s->proto->login_failed(s, err, text);
    clear_login(s);
    evtimer_del(s->timer);
    xb_sess_set_state(s, XB_SESS_PREAUTH);
    arm_timer(s, s->px->cfg->preauth_timeout);
    bufferevent_enable(s->client, EV_READ);
    /* Commands the client sent meanwhile are still waiting. */
    if (evbuffer_get_length(bufferevent_get_input(s->client)))
        client_read_cb(s->client, s);
}

/* Opens s->up toward srv (TCP, and TLS for implicit TLS); false if it could not start. */
static bool open_upstream(struct xb_session *s, const struct xb_server *srv)
{
    s->up = xb_proxy_connect(s->px, srv, up_read_cb, up_write_cb, up_event_cb, s);
    if (!s->up)
        return false;
    xb_sess_log(s, XB_LOG_DEBUG, "connecting to %s:%u (%s)%s", srv->host, srv->port,
                srv->tls == XB_TLS_IMPLICIT ? "TLS" : "STARTTLS",
                s->up_early ? " early, before the login" : "");
    return true;
}

static void log_connected(struct xb_session *s)
{
    char how[64];
    xb_tls_describe(bufferevent_openssl_get_ssl(s->up), how, sizeof(how));
    xb_sess_log(s, XB_LOG_DEBUG, "upstream connection up (%s)", how);
}

/* Early upstream connection: at accept, toward the server the last login of this
 * protocol went to, so that TCP, TLS (resumed) and the server's greeting happen while
 * the mail program reads the greeting and sends its login; a spare made for this
 * client (spare.h) has done all of that already. Nothing is written on it before a
 * local login succeeds (connect_upstream takes it then); a refused local login or a
 * client that leaves closes it at once. A client that comes soon after the last one
 * of its protocol gets a spare made for the client after it. */
static void early_upstream(struct xb_session *s)
{
    struct xb_proxy *px = s->px;
    enum xb_proto_id id = s->proto->id;
    int64_t now = now_sec(s);
    bool in_a_row = xb_spare_client_came(&px->spare[id], now);

    const struct xb_server *srv = xb_proxy_early_server(px, id, s->peer, now);
    if (!srv)
        return;
    s->up_early = true;
    s->early_server = srv;
    bool ready = false;
    int64_t opened = now;
    s->up = xb_spare_take(&px->spare[id], srv, now, &ready, &opened);
    if (s->up) {
        set_normal_callbacks(s, s->up);
        s->up_early_ready = ready;
        s->early_at = opened;
        xb_sess_log(s, XB_LOG_DEBUG, "took the spare connection to %s:%u%s", srv->host,
                    srv->port, ready ? "" : " (still connecting)");
    } else {
        s->up_early_ready = false;
        s->early_at = now;
        px->nearly++;
        if (!open_upstream(s, srv)) {
            drop_upstream(s);
            return;
        }
    }
    if (in_a_row && px->nearly < px->cfg->max_sessions)
        xb_spare_open(&px->spare[id], srv, now);
}

/* An event on an early connection nobody has taken yet: up, or gone (silently: the
 * login, if one comes, connects again and reports what fails then). */
static void early_event(struct xb_session *s, short what)
{
    if (what & BEV_EVENT_CONNECTED) {
        xb_plat_sock_nodelay(bufferevent_getfd(s->up));
        s->up_early_ready = true;
        log_connected(s);
        return;
    }
    bool failed = (what & BEV_EVENT_ERROR) != 0 || !s->up_early_ready;
    xb_sess_log(s, XB_LOG_DEBUG, "early upstream connection %s", failed ? "failed" : "closed");
    ERR_clear_error();
    if (failed)
        xb_proxy_upstream_result(s->px, s->proto->id, s->early_server, false, now_sec(s));
    drop_upstream(s);
}

static void connect_upstream(struct xb_session *s)
{
    const struct xb_server *srv = s->server;

    xb_sess_set_state(s, XB_SESS_CONNECT);
    if (s->up && s->up_early) {
        bool take = s->early_server == srv && now_sec(s) - s->early_at <= XB_PROXY_EARLY_MAX_AGE;
        s->up_early = false;
        s->px->nearly--;
        if (take && s->up_early_ready) {
            xb_sess_log(s, XB_LOG_DEBUG, "taking the early connection to %s:%u", srv->host,
                        srv->port);
            xb_sess_set_state(s, XB_SESS_UPLOGIN);
            s->proto->up_start(s, false);
            if (s->up && evbuffer_get_length(bufferevent_get_input(s->up)))
                uplogin_input(s);
            return;
        }
        if (take)
            return; /* still connecting: up_event_cb goes on from CONNECTED as usual */
        drop_upstream(s);
    }
    if (!open_upstream(s, srv)) {
        xb_sess_log(s, XB_LOG_WARN, "cannot connect to %s:%u", srv->host, srv->port);
        login_refused(s, XB_ERR_TEMP, "Cannot reach the mail server; try again later");
    }
}

static void token_cb(void *arg, enum xb_err err, const char *token, const char *why)
{
    struct xb_session *s = arg;
    s->token_req = NULL;
    if (err != XB_OK) {
        xb_sess_log(s, XB_LOG_WARN, "no access token: %s", why ? why : xb_err_str(err));
        login_refused(s, err == XB_ERR_TEMP ? XB_ERR_TEMP : XB_ERR_AUTH,
                      why ? why : "Sign-in needed: open XOAuth Bridge and sign in again");
        return;
    }
    s->token = xb_secret_new(token, strlen(token));
    if (!s->token) {
        login_refused(s, XB_ERR_TEMP, "Out of memory");
        return;
    }
    connect_upstream(s);
}

/* Credentials are in s->user / s->pass: check them locally, then fetch a token. Nothing
 * reaches the upstream server unless the local secret is right. */
static void start_login(struct xb_session *s)
{
    struct xb_account *acct = NULL;
    const char *recent = recent_address(s->user->data);
    const char *name = recent ? recent : s->user->data;
    /* An account enrolled or re-signed-in by the CLI meanwhile counts at once. */
    xb_store_refresh(s->px->store);
    enum xb_err err = xb_store_check_secret(s->px->store, name, s->pass->data, s->pass->len,
                                            &acct);
    /* The user name is not a secret; the password never appears in a log. */
    if (err != XB_OK) {
        xb_sess_log(s, XB_LOG_WARN, "local login refused for '%.64s': wrong user name or password",
                    s->user->data);
        /* An account of ours with a password that is not its secret: most often one
         * typed into Outlook's password prompt. Say so where the person looks. */
        struct xb_account *known = xb_store_find(s->px->store, name);
        if (known && xb_ui_alert(s->px->ui, XB_UI_WRONG_PASSWORD, known->email, NULL))
            xb_log_event(XB_EV_WRONG_PASSWORD, "%s: a mail program logged in with a password "
                         "that is not this account's (typed into Outlook's prompt?)",
                         known->email);
        xb_proxy_local_refused(s->px, s->peer, now_sec(s));
        login_refused(s, XB_ERR_AUTH, XB_LOCAL_REFUSAL);
        return;
    }
    if (recent && s->proto->id == XB_PROTO_POP3) {
        s->recent_wanted = true;
        s->recent_on = !xb_proxy_no_recent(s->px, acct->email);
        if (!s->recent_on)
            xb_sess_log(s, XB_LOG_DEBUG, "POP3 recent mode asked for; not sent: the mail "
                        "server did not take it before");
    }
    const struct xb_provider *prov = xb_config_provider_for(s->px->cfg, acct->provider, acct->email);
    const struct xb_server *srv = prov && prov->server[s->proto->id].host
                                      ? &prov->server[s->proto->id] : NULL;
    s->email = xb_strdup(acct->email);
    if (!s->email) {
        login_refused(s, XB_ERR_TEMP, "Out of memory");
        return;
    }
    if (!srv) {
        xb_sess_log(s, XB_LOG_ERROR, "provider '%s' has no %s server configured",
                    acct->provider, s->proto->name);
        login_refused(s, XB_ERR_TEMP, "This account's provider has no server for this protocol");
        return;
    }
    s->provider = prov;
    s->server = srv;
    xb_secret_free(s->pass);
    s->pass = NULL;

    xb_sess_log(s, XB_LOG_INFO, "local login accepted; logging in to %s:%u", srv->host,
                srv->port);
    xb_sess_set_state(s, XB_SESS_TOKEN);
    bufferevent_disable(s->client, EV_READ);
    evtimer_del(s->timer);
    arm_timer(s, s->px->cfg->login_timeout);
    s->token_req = xb_tokens_get(s->px->tokens, s->email, token_cb, s);
    if (!s->token_req)
        login_refused(s, XB_ERR_TEMP, "Out of memory");
}

/* --- the relay (relay.c moves the bytes) ----------------------------------------------------- */

void xb_sess_set_write_cb(struct xb_session *s, struct bufferevent *bev,
                          void (*write_cb)(struct bufferevent *bev, void *arg))
{
    if (!write_cb) {
        set_normal_callbacks(s, bev);
        return;
    }
    bufferevent_setcb(bev, bev == s->client ? client_read_cb : up_read_cb, write_cb,
                      bev == s->client ? client_event_cb : up_event_cb, s);
}

void xb_sess_up_readable(struct xb_session *s)
{
    up_read_cb(s->up, s);
}

static void start_relay(struct xb_session *s)
{
    evtimer_del(s->timer);
    clear_login(s);
    xb_sess_set_state(s, XB_SESS_RELAY);
    s->last_client = s->last_up = now_sec(s);
    xb_relay_start(s);
}

/* --- client side --------------------------------------------------------------------------- */

static void client_read_cb(struct bufferevent *bev, void *arg)
{
    struct xb_session *s = arg;
    s->last_client = now_sec(s);
    if (s->state == XB_SESS_RELAY) {
        short ended = xb_relay_drain_client(s);
        xb_relay_move(s, s->client, s->up);
        if (ended)
            client_event_cb(bev, ended, s); /* may free s: nothing after this */
        return;
    }
    if (s->state != XB_SESS_PREAUTH)
        return; /* input waits in the buffer until the login is decided */

    struct evbuffer *in = bufferevent_get_input(bev);
    if (s->discard_line) {
        int d = discard_through_lf(s, in);
        if (d == 0)
            return;
        s->discard_fatal = s->discard_fatal || d < 0;
    }
    if (s->discard_fatal) {
        xb_sess_log(s, XB_LOG_WARN, "an over-long line announced data that cannot be "
                    "skipped: closing");
        s->proto->goodbye(s, "The command is too long");
        close_after_flush(s);
        return;
    }
    for (;;) {
        enum xb_step step = s->proto->client_input(s, in);
        switch (step) {
        case XB_STEP_AGAIN:
            if (s->state != XB_SESS_PREAUTH)
                return;
            /* A command was handled: the client is alive. */
            evtimer_del(s->timer);
            arm_timer(s, s->px->cfg->preauth_timeout);
            if (evbuffer_get_length(in) == 0)
                return;
            continue;
        case XB_STEP_WAIT:
            return;
        case XB_STEP_LOGIN:
            start_login(s);
            return;
        case XB_STEP_CLOSE:
            close_after_flush(s);
            return;
        }
    }
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct xb_session *s = arg;
    if (what & BEV_EVENT_TIMEOUT) {
        /* Relay idle timeout on the client side: only idle if the server is quiet too. */
        if (s->state == XB_SESS_RELAY &&
            now_sec(s) - s->last_up < (int64_t)s->px->cfg->idle_timeout) {
            bufferevent_enable(bev, EV_READ);
            return;
        }
        xb_sess_log(s, XB_LOG_INFO, "idle for %u s: closing", s->px->cfg->idle_timeout);
        session_free(s);
        return;
    }
    if (s->state == XB_SESS_CLOSING && (what & BEV_EVENT_ERROR) == 0 && (what & BEV_EVENT_EOF) == 0)
        return;
    xb_sess_log(s, XB_LOG_DEBUG, "client %s", what & BEV_EVENT_EOF ? "closed" : "connection error");
    if (s->state == XB_SESS_RELAY && s->up && !s->relay_paused &&
        evbuffer_get_length(bufferevent_get_output(s->up)) > 0) {
        /* Let the server have what the client sent before leaving (a LOGOUT, a QUIT),
         * then close; up_write_cb frees the session once that is written. */
        bufferevent_free(s->client);
        s->client = NULL;
        s->up_draining = true;
        bufferevent_disable(s->up, EV_READ);
        arm_timer(s, 10);
        return;
    }
    session_free(s);
}

/* Client output drained while closing: done. */
static void client_write_cb(struct bufferevent *bev, void *arg)
{
    struct xb_session *s = arg;
    if (s->state == XB_SESS_CLOSING)
        session_free(s);
}

/* --- upstream side ------------------------------------------------------------------------- */

static void upgrade_starttls(struct xb_session *s)
{
    SSL *ssl = xb_tls_ssl_new(s->px->tls, s->server->host, s->server->port);
    struct bufferevent *tls = ssl ? bufferevent_openssl_filter_new(
                                        s->px->base, s->up, ssl, BUFFEREVENT_SSL_CONNECTING,
                                        BEV_OPT_CLOSE_ON_FREE)
                                  : NULL;
    if (!tls) {
        if (ssl)
            SSL_free(ssl);
        login_refused(s, XB_ERR_TEMP, "Out of memory");
        return;
    }
    s->up = tls;
    s->up_tls_upgraded = true;
    xb_sess_set_state(s, XB_SESS_CONNECT);
    set_normal_callbacks(s, s->up);
    bufferevent_setwatermark(s->up, EV_READ, 0, XB_RELAY_HIGH);
    bufferevent_enable(s->up, EV_READ | EV_WRITE);
}

static void up_write_cb(struct bufferevent *bev, void *arg)
{
    struct xb_session *s = arg;
    if (s->up_draining)
        session_free(s);
}

/* The mail server refused the access token. An access token can be refused while the
 * grant is fine (revoked alone, a server-side reset, clock skew): drop it, get a fresh
 * one (a refresh, or the one another session's refresh is bringing) and log in again, in
 * this same client session, once. Only a refused refresh makes the account need a
 * sign-in (tokens_oauth.c); a fresh token refused too is the mail server refusing the
 * account, reported with its words, and never retried in a loop (the fresh token is kept:
 * the grant is fine, and the next login costs one refresh, not two). The login timer armed
 * at the local login bounds all of it. words: the server's refusal, for the log. */
static void up_refused(struct xb_session *s, const char *words)
{
    if (s->recent_on) {
        /* Perhaps the prefix, not the token: the same token without it, at once. */
        xb_sess_log(s, XB_LOG_INFO, "upstream refused the login in POP3 recent mode (%s); "
                    "trying without recent:", words);
        s->recent_on = false;
        drop_upstream(s);
        connect_upstream(s);
        return;
    }
    if (!s->token_retried) {
        xb_tokens_invalidate(s->px->tokens, s->email, s->token->data);
        xb_sess_log(s, XB_LOG_INFO, "upstream refused the access token (%s); getting a "
                    "fresh one and logging in again", words);
        drop_upstream(s);
        xb_secret_free(s->token);
        s->token = NULL;
        s->token_retried = true;
        s->recent_on = s->recent_wanted && !xb_proxy_no_recent(s->px, s->email);
        xb_sess_set_state(s, XB_SESS_TOKEN);
        s->token_req = xb_tokens_get(s->px->tokens, s->email, token_cb, s);
        if (!s->token_req)
            login_refused(s, XB_ERR_TEMP, "Out of memory");
        return;
    }
    xb_sess_log(s, XB_LOG_WARN, "upstream refused a fresh access token too: %s", words);
    char why[300];
    snprintf(why, sizeof(why), "the mail server refused the account even with a fresh "
             "access token: %s", words);
    xb_tokens_report(s->px->tokens, s->email, XB_ERR_AUTH, why);
    login_refused(s, XB_ERR_AUTH,
                  "The mail server refused the account even with a fresh token: IMAP or POP "
                  "may be off for it, or sign in to XOAuth Bridge again with this address");
}

/* The login worked only without recent:. Never dropped in silence: the log and the
 * person are told once (the next logins go without it at once). */
static void recent_not_taken(struct xb_session *s)
{
    xb_proxy_set_no_recent(s->px, s->email);
    xb_sess_log(s, XB_LOG_WARN, "the mail server did not take POP3 recent mode (recent:%s) "
                "with OAuth: logged in without it; this computer now downloads as in normal "
                "mode (mail another computer downloaded is not offered again)", s->email);
    xb_ui_alert(s->px->ui, XB_UI_RECENT_MODE, s->email, NULL);
}

/* The upstream login dialogue, one line at a time. */
static void uplogin_input(struct xb_session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->up);
    while (s->state == XB_SESS_UPLOGIN && s->up) {
        size_t len, consumed = 0;
        struct xb_view line;
        const char *data = xb_sess_peek(in, s->px->cfg->line_max + 2, &len);
        enum xb_parse_rc rc = xb_line_split(data, len, s->px->cfg->line_max, &line, &consumed);
        if (rc == XB_PARSE_AGAIN)
            return;
        if (rc != XB_PARSE_OK) {
            xb_sess_log(s, XB_LOG_WARN, "upstream sent an over-long line during login");
            login_refused(s, XB_ERR_TEMP, "The mail server sent an unexpected answer");
            return;
        }
        /* Server lines during login carry no secret (only what we send does); the
         * words are kept for the log, the line's view dies with the drain. */
        char words[201];
        snprintf(words, sizeof(words), "%.*s", (int)(line.len > 200 ? 200 : line.len), line.p);
        xb_sess_log(s, XB_LOG_DEBUG, "upstream: %s", words);
        enum xb_up r = s->proto->up_line(s, line);
        evbuffer_drain(in, consumed);
        switch (r) {
        case XB_UP_MORE:
            break;
        case XB_UP_STARTTLS:
            upgrade_starttls(s);
            return;
        case XB_UP_DONE:
            xb_sess_log(s, XB_LOG_INFO, "logged in upstream; relaying");
            xb_tokens_report(s->px->tokens, s->email, XB_OK, NULL);
            xb_proxy_upstream_result(s->px, s->proto->id, s->server, true, now_sec(s));
            if (s->recent_wanted && !s->recent_on && !xb_proxy_no_recent(s->px, s->email))
                recent_not_taken(s);
            start_relay(s);
            return;
        case XB_UP_REFUSED:
            up_refused(s, words);
            return;
        case XB_UP_TEMP:
            login_refused(s, XB_ERR_TEMP, "The mail server is temporarily unavailable; try again later");
            return;
        case XB_UP_BROKEN:
            /* Server text, not a secret; the log escapes control characters. */
            xb_sess_log(s, XB_LOG_WARN, "unexpected upstream line during login: %s", words);
            login_refused(s, XB_ERR_TEMP, "The mail server sent an unexpected answer");
            return;
        }
    }
}

static void up_read_cb(struct bufferevent *bev, void *arg)
{
    struct xb_session *s = arg;
    s->last_up = now_sec(s);
    if (s->state == XB_SESS_RELAY) {
        short ended = xb_relay_drain_tls(s);
        xb_relay_move(s, s->up, s->client);
        if (ended)
            up_event_cb(bev, ended, s); /* may free s: nothing after this */
        return;
    }
    if (s->state == XB_SESS_UPLOGIN)
        uplogin_input(s);
}

static void up_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct xb_session *s = arg;

    if (s->up_early) {
        early_event(s, what);
        return;
    }
    if (what & BEV_EVENT_CONNECTED) {
        xb_plat_sock_nodelay(bufferevent_getfd(s->up));
        log_connected(s);
        xb_sess_set_state(s, XB_SESS_UPLOGIN);
        s->proto->up_start(s, s->up_tls_upgraded);
        if (evbuffer_get_length(bufferevent_get_input(s->up)))
            uplogin_input(s);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (s->state == XB_SESS_RELAY &&
            now_sec(s) - s->last_client < (int64_t)s->px->cfg->idle_timeout) {
            bufferevent_enable(bev, EV_READ);
            return;
        }
        xb_sess_log(s, XB_LOG_INFO, "idle for %u s: closing", s->px->cfg->idle_timeout);
        session_free(s);
        return;
    }

    /* EOF or error. */
    if (s->state == XB_SESS_RELAY) {
        xb_sess_log(s, XB_LOG_INFO, "upstream %s", what & BEV_EVENT_EOF ? "closed the connection"
                                                                          : "connection failed");
        /* Deliver whatever the server sent last, then close: the client sees the end of
         * the stream exactly where the server stopped, never a made-up success. */
        if (evbuffer_get_length(bufferevent_get_input(s->up)))
            evbuffer_add_buffer(bufferevent_get_output(s->client), bufferevent_get_input(s->up));
        close_after_flush(s);
        return;
    }

    char why[256] = "connection closed";
    bool untrusted = false;
    unsigned long ssl_err = bufferevent_get_openssl_error(bev);
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    int dns_err = bufferevent_socket_get_dns_error(bev);
    if (dns_err)
        snprintf(why, sizeof(why), "cannot resolve %s: %s", s->server->host,
                 evutil_gai_strerror(dns_err));
    else if (ssl && (ssl_err || SSL_get_verify_result(ssl) != X509_V_OK || !SSL_is_init_finished(ssl))) {
        xb_tls_describe_error(ssl, ssl_err, why, sizeof(why));
        untrusted = SSL_get_verify_result(ssl) != X509_V_OK;
    }
    else if (what & BEV_EVENT_ERROR)
        snprintf(why, sizeof(why), "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    ERR_clear_error();
    xb_proxy_upstream_result(s->px, s->proto->id, s->server, false, now_sec(s));
    xb_sess_log(s, XB_LOG_WARN, "upstream %s:%u failed while in %s: %s", s->server->host,
                s->server->port, state_names[s->state], why);
    /* Not the person's to fix, and retrying will not help: say who can (IT). */
    if (untrusted) {
        xb_ui_untrusted(s->px->ui, s->email, s->server->host, why);
    }
    login_refused(s, XB_ERR_TEMP, "Cannot reach the mail server securely; try again later");
}

/* --- start ---------------------------------------------------------------------------------- */

void xb_session_start(struct xb_proxy *px, const struct xb_proto *proto, intptr_t fd,
                      const char *peer)
{
    struct xb_session *s = xb_new(struct xb_session);
    if (!s) {
        evutil_closesocket((evutil_socket_t)fd);
        return;
    }
    s->px = px;
    s->proto = proto;
    s->id = ++px->next_id;
    snprintf(s->peer, sizeof(s->peer), "%s", peer);
    s->client = bufferevent_socket_new(px->base, (evutil_socket_t)fd, BEV_OPT_CLOSE_ON_FREE);
    s->timer = evtimer_new(px->base, timer_cb, s);
    if (!s->client || !s->timer) {
        if (!s->client)
            evutil_closesocket((evutil_socket_t)fd);
        if (s->client)
            bufferevent_free(s->client);
        if (s->timer)
            event_free(s->timer);
        xb_free(s);
        return;
    }
    xb_proxy_session_added(px, s);
    xb_plat_sock_nodelay((intptr_t)fd);
    set_normal_callbacks(s, s->client);
    bufferevent_setwatermark(s->client, EV_READ, 0, px->cfg->line_max + px->cfg->literal_max + 64);
    if (proto->init)
        proto->init(s);
    xb_sess_log(s, XB_LOG_INFO, "connected");

    if (px->nsessions > px->cfg->max_sessions) {
        xb_sess_log(s, XB_LOG_WARN, "refused: %u sessions is the maximum", px->cfg->max_sessions);
        proto->goodbye(s, "Too many connections; try again later");
        close_after_flush(s);
        return;
    }
    /* A loopback port does not say who connects: on a shared machine it may be a program
     * of another user, trying this user's local secret. */
    unsigned long owner = 0;
    char why[160] = "";
    int same = px->cfg->same_user_only
                   ? xb_plat_sock_peer_same_user(fd, &owner, why, sizeof(why)) : 1;
    if (same < 0)
        xb_sess_log(s, XB_LOG_DEBUG, "cannot tell which user the connecting program runs as");
    if (same == 0) {
        xb_sess_log(s, XB_LOG_WARN, "refused: %s; this companion serves only programs proven "
                    "to run as its own user", why);
        proto->goodbye(s, "This XOAuth Bridge belongs to another user of this computer");
        close_after_flush(s);
        return;
    }
    proto->greet(s);
    arm_timer(s, px->cfg->preauth_timeout);
    bufferevent_enable(s->client, EV_READ | EV_WRITE);
    early_upstream(s);
}
