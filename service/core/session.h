/*
 * One client connection through the proxy, for any protocol. The generic session owns
 * the sockets, timers, local authentication, the token request, the upstream TLS
 * connection and the byte relay; a protocol descriptor (struct xb_proto, one per
 * protocol, nginx-style) owns what is said on each side before the relay starts.
 *
 *   PREAUTH --(credentials)--> TOKEN --> CONNECT --> UPLOGIN --(ok)--> RELAY
 *      ^                                                |
 *      +------------- (refused: canned error) ---------+           any --> CLOSING
 *
 * Only xb_sess_set_state() changes the state, and it logs every transition by name.
 */
#ifndef XB_SESSION_H
#define XB_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/imap_parse.h"
#include "core/list.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"

struct bufferevent;
struct evbuffer;
struct event;
struct xb_proxy;
struct xb_token_req;

enum xb_sess_state {
    XB_SESS_PREAUTH,          /* talking to the client, waiting for credentials */
    XB_SESS_TOKEN,            /* local login accepted; waiting for an access token */
    XB_SESS_CONNECT,          /* connecting to the upstream server (TCP + TLS) */
    XB_SESS_UPLOGIN,          /* logging in upstream (greeting, EHLO, STARTTLS, AUTH) */
    XB_SESS_RELAY,            /* logged in: bytes flow both ways untouched */
    XB_SESS_CLOSING,          /* flushing the last words to the client, then free */
};

/* What a protocol's client handler asks the session to do next. */
enum xb_step {
    XB_STEP_AGAIN,            /* handled one command; call again (more input may be there) */
    XB_STEP_WAIT,             /* need more input from the client */
    XB_STEP_LOGIN,            /* credentials captured (xb_sess_set_creds): log in */
    XB_STEP_CLOSE,            /* the last reply is queued: flush it and close */
};

/* What a protocol's upstream handler reports after a line from the server. */
enum xb_up {
    XB_UP_MORE,               /* keep reading */
    XB_UP_STARTTLS,           /* the server agreed to STARTTLS: upgrade, then call tls_ready */
    XB_UP_DONE,               /* logged in; the success reply to the client is queued: relay */
    XB_UP_REFUSED,            /* the server refused the token (person must act, or re-fetch) */
    XB_UP_TEMP,               /* temporary failure (server busy, unavailable) */
    XB_UP_BROKEN,             /* the server said something this proxy does not understand */
};

struct xb_session;

struct xb_proto {
    const char *name;         /* "imap", "pop3", "smtp": logs */
    enum xb_proto_id id;
    /* Sets up the protocol's state in s->p at the session's start (may be NULL). */
    void (*init)(struct xb_session *s);
    /* Frees what the protocol's state in s->p holds, when the session ends. */
    void (*cleanup)(struct xb_session *s);
    /* Sends the greeting. */
    void (*greet)(struct xb_session *s);
    /* Handles at most one client command from in (pre-login). Drains what it used. */
    enum xb_step (*client_input)(struct xb_session *s, struct evbuffer *in);
    /* Starts the upstream dialogue once the TCP (and, for implicit TLS, TLS) connection is up,
     * and again after a STARTTLS upgrade. */
    void (*up_start)(struct xb_session *s, bool after_starttls);
    /* Handles one line from the upstream server during login. */
    enum xb_up (*up_line)(struct xb_session *s, struct xb_view line);
    /* Tells the client its login failed: err is XB_ERR_AUTH (credentials or token refused:
     * a person must act) or XB_ERR_TEMP; text is a human sentence. The session then goes
     * back to PREAUTH. */
    void (*login_failed)(struct xb_session *s, enum xb_err err, const char *text);
    /* Says "too many connections" or "shutting down" before a close. */
    void (*goodbye)(struct xb_session *s, const char *text);
};

extern const struct xb_proto xb_proto_imap;
extern const struct xb_proto xb_proto_pop3;
extern const struct xb_proto xb_proto_smtp;

/* Protocol state that lives in the session (no allocation per protocol). */
struct xb_imap_sess {
    struct xb_imap_parser parser;
    char tag[XB_IMAP_TAG_MAX + 1];     /* the client's tag of the pending login */
    bool in_authenticate;              /* waiting for the client's AUTHENTICATE PLAIN line */
    bool greeted;                      /* upstream greeting seen */
    bool got_challenge;                /* upstream sent a SASL error challenge */
    char *up_caps;                     /* rewritten untagged CAPABILITY from upstream */
};

struct xb_pop3_sess {
    struct xb_secret *user;            /* from USER, until PASS */
    bool in_auth;                      /* waiting for the AUTH PLAIN response line */
    bool greeted;
    bool sent_stls;
    bool got_challenge;
};

struct xb_smtp_sess {
    char helo[256];                    /* the client's EHLO/HELO domain, sent upstream too */
    bool ehlo_done;
    enum { XB_SMTP_AUTH_NONE, XB_SMTP_AUTH_PLAIN, XB_SMTP_AUTH_LOGIN_USER,
           XB_SMTP_AUTH_LOGIN_PASS } auth;
    enum { XB_SMTP_UP_GREETING, XB_SMTP_UP_EHLO, XB_SMTP_UP_STARTTLS, XB_SMTP_UP_AUTH,
           XB_SMTP_UP_AUTH_FINAL } up;
    struct xb_secret *login_user;      /* AUTH LOGIN: the user name, until the password */
    bool got_challenge;
};

struct xb_session {
    struct xb_proxy *px;
    const struct xb_proto *proto;
    unsigned long id;                  /* log tag [cN] */
    enum xb_sess_state state;
    struct bufferevent *client;
    struct bufferevent *up;
    struct event *timer;               /* pre-login silence, login and connect deadlines */
    char peer[64];                     /* client address, for logs */
    int64_t last_client, last_up;      /* seconds of the last bytes from each side */
    bool up_tls_upgraded;              /* STARTTLS upstream done */
    bool relay_paused;                 /* one side waits for the other's output to drain */
    bool up_dry;                       /* relay: the last upstream read found the socket empty */
    bool up_draining;                  /* client gone; writing its last bytes upstream */
    /* s->up was opened at accept, before any login (docs/proxy.md "Early upstream
     * connection"): nothing is written on it until a local login succeeds and takes it. */
    bool up_early;
    bool up_early_ready;               /* ... and its TCP (and TLS) connection is up */
    const struct xb_server *early_server;
    int64_t early_at;                  /* seconds: when it was opened */
    bool discard_line;                 /* dropping the rest of an over-long client line */
    /* ... and whether its end may not be dropped (IMAP: it announces a LITERAL+, whose
     * bytes would follow as if they were commands): judged on its last bytes. */
    bool (*discard_end_fatal)(const char *end, size_t len);
    char discard_tail[32];
    size_t discard_tail_len;
    bool discard_fatal;                /* it did: the session must end */

    struct xb_secret *user;            /* local credentials, until checked */
    struct xb_secret *pass;
    char *email;                       /* the account, once the local secret checked out */
    const struct xb_provider *provider;
    const struct xb_server *server;
    struct xb_token_req *token_req;
    struct xb_secret *token;           /* access token for this login attempt */
    bool token_retried;                /* the mail server refused one token: a fresh one is
                                          being tried (at most once per login) */
    bool recent_wanted;                /* POP3 login as recent:ADDRESS (Gmail's recent mode) */
    bool recent_on;                    /* this attempt sends user=recent:ADDRESS upstream */

    union {
        struct xb_imap_sess imap;
        struct xb_pop3_sess pop3;
        struct xb_smtp_sess smtp;
    } p;

    struct xb_list_node link;          /* the proxy's list, for shutdown */
};

/* For protocol handlers --------------------------------------------------------------- */

void xb_sess_set_state(struct xb_session *s, enum xb_sess_state state);
void xb_sess_log(struct xb_session *s, enum xb_log_level level, const char *fmt, ...)
    XB_PRINTF(3, 4);

/* Queue bytes to the client / to the upstream server. */
void xb_sess_reply(struct xb_session *s, const char *fmt, ...) XB_PRINTF(2, 3);
void xb_sess_reply_raw(struct xb_session *s, const void *data, size_t len);
void xb_sess_up_send(struct xb_session *s, const void *data, size_t len);
void xb_sess_up_printf(struct xb_session *s, const char *fmt, ...) XB_PRINTF(2, 3);

/* For an over-long line: drops it through its LF, now if the LF is buffered, else as the
 * rest arrives. The handler has already answered. end_fatal (may be NULL) judges the
 * line's last bytes: true (IMAP: it announced a LITERAL+, whose bytes follow as if they
 * were commands) ends the session. */
void xb_sess_discard_line(struct xb_session *s, struct evbuffer *in,
                          bool (*end_fatal)(const char *end, size_t len));

/* Splits one client line (up to line_max) off in: XB_PARSE_OK with *line and *consumed
 * (drain it after use), XB_PARSE_AGAIN, or XB_PARSE_TOO_LONG (see xb_line_split). */
enum xb_parse_rc xb_sess_client_line(struct xb_session *s, struct evbuffer *in,
                                     struct xb_view *line, size_t *consumed);

/* One POP3 or SMTP command from in: parsed with syntax; a malformed or over-long line is
 * answered with bad(s, rc, why) and dropped (through its end, as it arrives); a good one
 * goes to dispatch. Returns what dispatch returned, XB_STEP_WAIT, or XB_STEP_AGAIN. */
enum xb_step xb_sess_command(struct xb_session *s, struct evbuffer *in,
                             const struct xb_cmd_syntax *syntax,
                             void (*bad)(struct xb_session *s, enum xb_parse_rc rc,
                                         const char *why),
                             enum xb_step (*dispatch)(struct xb_session *s,
                                                      const struct xb_cmd_line *cmd));

/* Reads the client's SASL response line (after a "+ " or "334 " continuation) and hands
 * it to handle; an over-long one goes to too_long instead (which answers) and is dropped.
 * Returns what handle returned, XB_STEP_WAIT for more input, or XB_STEP_AGAIN. */
enum xb_step xb_sess_sasl_line(struct xb_session *s, struct evbuffer *in,
                               enum xb_step (*handle)(struct xb_session *s, struct xb_view line),
                               void (*too_long)(struct xb_session *s));

/* Decodes a SASL PLAIN response (base64; "=" is empty) into the session's credentials.
 * False if it is malformed: the caller answers with its protocol's error. */
bool xb_sess_take_plain(struct xb_session *s, struct xb_view b64);

/* Sends "<command> <MECH> <initial response>\r\n" upstream, e.g. command "AUTH" or
 * "xb1 AUTHENTICATE". The payload is a secret: it is wiped once queued. */
void xb_sess_up_auth(struct xb_session *s, const char *command);

/* Takes the local credentials (the session frees them). */
void xb_sess_set_creds(struct xb_session *s, struct xb_secret *user, struct xb_secret *pass);

/* The SASL initial response to send upstream for this login (XOAUTH2 or OAUTHBEARER
 * per provider), as base64; NULL when out of memory. The caller frees it. */
struct xb_secret *xb_sess_sasl_ir(struct xb_session *s);
/* The SASL mechanism name for the upstream AUTH command. */
const char *xb_sess_sasl_mech(struct xb_session *s);

const struct xb_config *xb_sess_config(struct xb_session *s);

/* Peeks at up to max contiguous bytes of in (for parsers); *len gets how many. */
const char *xb_sess_peek(struct evbuffer *in, size_t max, size_t *len);

/* For the proxy -------------------------------------------------------------------------- */

/* Takes ownership of fd (an accepted client socket). */
void xb_session_start(struct xb_proxy *px, const struct xb_proto *proto, intptr_t fd,
                      const char *peer);
/* Ends a session now (proxy shutdown): a goodbye line, then close. */
void xb_session_shutdown(struct xb_session *s, const char *why);
/* Frees a session at once, whatever it was doing (proxy teardown). */
void xb_session_free_now(struct xb_session *s);

#endif
