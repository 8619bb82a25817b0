/*
 * The control operations that take time or touch secrets: ENROL (the browser sign-in,
 * one per account, every asker waiting for the same result), GET_ENDPOINT (a new local
 * secret: made here, sent once, only its hash kept), REPORT_FAILURE, RESTORE/FORGET
 * (tokens deleted here at once, the grant revoked at the provider, then the answer).
 */
#include "core/control_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/acctsvc.h"
#include "core/config.h"
#include "core/events.h"
#include "core/http.h"
#include "core/mem.h"
#include "core/oauth.h"
#include "core/proxy.h"
#include "core/signin.h"
#include "core/store.h"
#include "platform/platform.h"

/* Sign-ins at once (each opens a browser page and a loopback listener). */
#define CTL_MAX_SIGNINS 4

struct xb_enrol {
    struct xb_ctl *ctl;
    char email[XB_PIPE_EMAIL_MAX + 1];        /* normalised */
    char provider[XB_PIPE_PROVIDER_MAX + 1];
    struct xb_signin *si;
    struct xb_ctl_waiter *waiters;
    struct xb_enrol *next;
};

struct xb_revoke {
    struct xb_ctl *ctl;
    struct xb_ctl_waiter w;
    struct xb_http_req *req;
    char email[XB_PIPE_EMAIL_MAX + 1];
    struct xb_revoke *next;
};

static struct xb_ctl_waiter *waiter_new(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    struct xb_ctl_waiter *w = xb_new(struct xb_ctl_waiter);
    if (w) {
        w->conn = c;
        w->id = r->hdr.id;
        w->op = r->hdr.op;
        w->version = r->hdr.version;
        c->pending++;
    }
    return w;
}

/* Copies an e-mail field (checked by the codec) and finds its account after a store
 * refresh; answers NOT_FOUND itself when there is none. */
static struct xb_account *find_or_answer(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    char email[XB_PIPE_EMAIL_MAX + 1];
    xb_pipe_str_copy(r->email, email, sizeof(email));
    struct xb_account *a = xb_store_find(c->ctl->store, email);
    if (!a)
        xb_ctl_reply_error(c, r->hdr.version, r->hdr.op, r->hdr.id, XB_PIPE_ST_NOT_FOUND,
                           "no account '%s'", email);
    return a;
}

/* --- ENROL ------------------------------------------------------------------------------- */

static void enrol_answer(struct xb_enrol *e, uint16_t status, bool created, const char *why)
{
    while (e->waiters) {
        struct xb_ctl_waiter *w = e->waiters;
        e->waiters = w->next;
        if (w->conn && status == XB_PIPE_ST_OK) {
            struct xb_pipe_reply rep = xb_ctl_reply(w->version, w->op, status, w->id);
            rep.email = xb_pipe_cstr(e->email);
            rep.created = created ? 1 : 0;
            xb_ctl_send(w->conn, &rep, NULL, false);
        } else if (w->conn) {
            xb_ctl_reply_error(w->conn, w->version, w->op, w->id, status, "%s", why);
        }
        xb_ctl_pending_done(w->conn);
        xb_free(w);
    }
}

static void enrol_unlink(struct xb_enrol *e)
{
    struct xb_ctl *ctl = e->ctl;
    for (struct xb_enrol **pp = &ctl->enrols; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            ctl->nenrols--;
            break;
        }
    }
}

/* The sign-in ended: store the tokens (enrolling the account if it is new), then answer
 * everyone who asked. */
static void enrol_done(void *arg, enum xb_err err, const char *why, struct xb_token_result *res)
{
    struct xb_enrol *e = arg;
    struct xb_ctl *ctl = e->ctl;
    uint16_t status = XB_PIPE_ST_OK;
    bool created = false;
    char msg[XB_PIPE_TEXT_MAX] = "";

    enrol_unlink(e);
    if (err != XB_OK) {
        status = err == XB_ERR_AUTH ? XB_PIPE_ST_AUTH_NEEDED
                 : err == XB_ERR_TEMP ? XB_PIPE_ST_TEMP
                                      : XB_PIPE_ST_INTERNAL;
        snprintf(msg, sizeof(msg), "%s", why && *why ? why : xb_err_str(err));
        goto answer;
    }
    err = xb_acctsvc_signed_in(ctl->store, e->email, e->provider, res, &created, NULL);
    if (err != XB_OK) {
        status = XB_PIPE_ST_INTERNAL;
        snprintf(msg, sizeof(msg), err == XB_ERR_IO ? "cannot save the account store"
                                                    : "cannot enrol '%s'", e->email);
        goto answer;
    }
    xb_ui_account_changed(&ctl->ui, e->email, XB_ACCT_OK);
answer:
    /* A person acted in the browser: the front end answers, as to a click. */
    if (status == XB_PIPE_ST_OK)
        xb_log_event(XB_EV_SIGNED_IN, "%s signed in", e->email);
    if (status == XB_PIPE_ST_OK)
        xb_ui_alert(&ctl->ui, XB_UI_SIGNIN_DONE, e->email, NULL);
    else
        xb_ui_alert(&ctl->ui, XB_UI_SIGNIN_FAILED, e->email, msg);
    enrol_answer(e, status, created, msg);
    xb_signin_cancel(e->si);   /* ours from the callback on (signin.c) */
    xb_free(e);
}

/* The sign-in of norm under way, or a new one (want: a provider name, or "" for the
 * account's, else google). XB_PIPE_ST_OK with *out (and *started when it is new), or the
 * status to answer with and why. One sign-in per account, whoever asks: the add-in's
 * ENROL, the CLI's login, the tray's "Sign in again" (xb_ctl_signin). */
static uint16_t enrol_find_or_start(struct xb_ctl *ctl, const char *norm, const char *want,
                                    struct xb_enrol **out, bool *started, char *why, size_t n)
{
    *out = NULL;
    *started = false;
    for (struct xb_enrol *e = ctl->enrols; e; e = e->next) {
        if (strcmp(e->email, norm) == 0) {
            *out = e;
            return XB_PIPE_ST_OK;
        }
    }
    struct xb_account *a = xb_store_find(ctl->store, norm);
    const char *pname = want[0] ? want : a ? a->provider : "google";
    const struct xb_provider *p = xb_config_provider_for(ctl->cfg, pname, norm);
    if (a && want[0] && strcmp(a->provider, want) != 0) {
        snprintf(why, n, "%s is enrolled with provider '%s'", norm, a->provider);
        return XB_PIPE_ST_BAD_REQUEST;
    }
    if (!p) {
        snprintf(why, n, "no provider '%s' in the configuration", pname);
        return XB_PIPE_ST_NOT_FOUND;
    }
    if (!p->client_id) {
        snprintf(why, n, "provider '%s' has no client_id: the organisation's OAuth client "
                 "must be configured first", p->name);
        return XB_PIPE_ST_INTERNAL;
    }
    if (!ctl->http) {
        snprintf(why, n, "this companion cannot sign in");
        return XB_PIPE_ST_INTERNAL;
    }
    if (ctl->nenrols >= CTL_MAX_SIGNINS) {
        snprintf(why, n, "%u sign-ins are under way already", ctl->nenrols);
        return XB_PIPE_ST_TEMP;
    }
    struct xb_enrol *e = xb_new(struct xb_enrol);
    if (!e) {
        snprintf(why, n, "out of memory");
        return XB_PIPE_ST_INTERNAL;
    }
    e->ctl = ctl;
    snprintf(e->email, sizeof(e->email), "%s", norm);
    snprintf(e->provider, sizeof(e->provider), "%s", p->name);
    /* The callback runs from the loop, never from inside the start. */
    if (xb_signin_start(ctl->base, ctl->http, ctl->cfg, p, e->email, enrol_done, e, &e->si) !=
        XB_OK) {
        xb_free(e);
        snprintf(why, n, "cannot start the sign-in");
        return XB_PIPE_ST_INTERNAL;
    }
    e->next = ctl->enrols;
    ctl->enrols = e;
    ctl->nenrols++;
    *out = e;
    *started = true;
    return XB_PIPE_ST_OK;
}

void xb_ctl_op_enrol(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    struct xb_ctl *ctl = c->ctl;
    const struct xb_pipe_hdr *h = &r->hdr;
    char email[XB_PIPE_EMAIL_MAX + 1], want[XB_PIPE_PROVIDER_MAX + 1], why[300] = "";
    char *norm = NULL;
    struct xb_enrol *e = NULL;
    bool started = false;

    xb_pipe_str_copy(r->email, email, sizeof(email));
    xb_pipe_str_copy(r->provider, want, sizeof(want));
    if (xb_store_email_normalize(email, &norm) != XB_OK) {
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_BAD_REQUEST,
                           "'%s' is not a valid e-mail address", email);
        goto out;
    }
    uint16_t st = enrol_find_or_start(ctl, norm, want, &e, &started, why, sizeof(why));
    if (st != XB_PIPE_ST_OK) {
        xb_ctl_reply_error(c, h->version, h->op, h->id, st, "%s", why);
        goto out;
    }
    struct xb_ctl_waiter *w = waiter_new(c, r);
    if (!w) {
        /* The sign-in goes on; whoever else waits for it gets the answer. */
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_INTERNAL, "out of memory");
        goto out;
    }
    w->next = e->waiters;
    e->waiters = w;
    if (started)
        xb_log_info("control client %lu: sign-in of %s started", c->id, e->email);
    else
        xb_log_info("control client %lu: waits for the sign-in of %s under way", c->id, norm);
out:
    xb_free(norm);
}

enum xb_err xb_ctl_signin(struct xb_ctl *ctl, const char *email)
{
    char *norm = NULL;
    char why[300] = "";
    struct xb_enrol *e = NULL;
    bool started = false;

    if (!ctl || xb_store_email_normalize(email, &norm) != XB_OK) {
        xb_ui_alert(ctl ? &ctl->ui : NULL, XB_UI_SIGNIN_FAILED, email,
                    "not a valid e-mail address");
        return XB_ERR_INVAL;
    }
    uint16_t st = enrol_find_or_start(ctl, norm, "", &e, &started, why, sizeof(why));
    enum xb_err err = XB_OK;
    if (st != XB_PIPE_ST_OK) {
        xb_log_warn("cannot sign in %s: %s", norm, why);
        xb_ui_alert(&ctl->ui, XB_UI_SIGNIN_FAILED, norm, why);
        err = st == XB_PIPE_ST_TEMP ? XB_ERR_TEMP : XB_ERR_INVAL;
    } else if (started) {
        xb_log_info("sign-in of %s started from the notification area", norm);
    } else {
        /* Someone asked already (the add-in, the CLI, an earlier click): the person
         * probably lost the page; show it again. */
        xb_log_info("sign-in of %s is already waiting: opening its page again", norm);
        if (xb_plat_open_url(ctl->cfg->browser, xb_signin_url(e->si)) != XB_OK)
            xb_log_warn("could not open a browser for the sign-in of %s", norm);
    }
    xb_free(norm);
    return err;
}

/* --- GET_ENDPOINT -------------------------------------------------------------------------- */

/* The proxy's loopback address and ports into host and ports[]; false (and an answer
 * TEMP sent) when nothing listens: paused (tray), and port 0 must never end up in a mail
 * program's settings. */
static bool listening_ports(struct xb_ctl_conn *c, const struct xb_pipe_req *r, char *host,
                            size_t size, uint32_t ports[XB_PROTO__COUNT])
{
    struct xb_ctl *ctl = c->ctl;
    bool listening = false;
    host[0] = '\0';
    for (int i = 0; i < XB_PROTO__COUNT; i++) {
        char bound[XB_PIPE_HOST_MAX];
        unsigned port = 0;
        if (ctl->px &&
            xb_proxy_listen_port(ctl->px, (enum xb_proto_id)i, bound, sizeof(bound), &port) &&
            !host[0])
            snprintf(host, size, "%s", bound);
        ports[i] = port;
        listening = listening || port != 0;
    }
    if (ctl->px && !listening) {
        xb_ctl_reply_error(c, r->hdr.version, r->hdr.op, r->hdr.id, XB_PIPE_ST_TEMP,
                           "the proxy is not listening now (paused?)");
        return false;
    }
    if (!host[0])
        snprintf(host, size, "127.0.0.1");
    return true;
}

void xb_ctl_op_endpoint(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    struct xb_ctl *ctl = c->ctl;
    const struct xb_pipe_hdr *h = &r->hdr;
    struct xb_secret *secret = NULL;
    char host[XB_PIPE_HOST_MAX];
    uint32_t ports[XB_PROTO__COUNT];

    struct xb_account *a = find_or_answer(c, r);
    if (!a || !listening_ports(c, r, host, sizeof(host), ports))
        return;
    char email[XB_PIPE_EMAIL_MAX + 1];
    snprintf(email, sizeof(email), "%s", a->email);
    enum xb_err err = xb_acctsvc_new_secret(ctl->store, email, &secret);
    if (err != XB_OK) {
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_INTERNAL,
                           err == XB_ERR_IO ? "cannot save the account store"
                                            : "cannot make a local secret");
        goto out;
    }
    struct xb_pipe_reply rep = xb_ctl_reply(h->version, h->op, XB_PIPE_ST_OK, h->id);
    rep.host = xb_pipe_cstr(host);
    rep.imap = ports[XB_PROTO_IMAP];
    rep.pop3 = ports[XB_PROTO_POP3];
    rep.smtp = ports[XB_PROTO_SMTP];
    rep.user = xb_pipe_cstr(email);
    rep.secret = (struct xb_pipe_str){ secret->data, (uint32_t)secret->len };
    xb_ctl_send(c, &rep, NULL, true);
out:
    xb_secret_free(secret);
}

/* --- GET_PORTS, CHECK_SECRET: what the add-in compares with Outlook's settings ------------- */

void xb_ctl_op_ports(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    const struct xb_pipe_hdr *h = &r->hdr;
    char host[XB_PIPE_HOST_MAX];
    uint32_t ports[XB_PROTO__COUNT];
    if (!listening_ports(c, r, host, sizeof(host), ports))
        return;
    struct xb_pipe_reply rep = xb_ctl_reply(h->version, h->op, XB_PIPE_ST_OK, h->id);
    rep.host = xb_pipe_cstr(host);
    rep.imap = ports[XB_PROTO_IMAP];
    rep.pop3 = ports[XB_PROTO_POP3];
    rep.smtp = ports[XB_PROTO_SMTP];
    xb_ctl_send(c, &rep, NULL, false);
}

/* The password Outlook holds is compared by keyed hash, in constant time, as a login
 * would be; only "it is" or "it is not" goes back. */
void xb_ctl_op_check_secret(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    const struct xb_pipe_hdr *h = &r->hdr;
    struct xb_account *a = find_or_answer(c, r);
    if (!a)
        return;
    char email[XB_PIPE_EMAIL_MAX + 1];
    snprintf(email, sizeof(email), "%s", a->email);
    struct xb_secret *given = xb_secret_new(r->secret.p, r->secret.len);
    if (!given) {
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_INTERNAL, "out of memory");
        return;
    }
    bool current = xb_store_check_secret(c->ctl->store, email, given->data, given->len,
                                         NULL) == XB_OK;
    xb_secret_free(given);
    xb_log_info("control client %lu: the password Outlook holds for %s is %s", c->id, email,
                current ? "the current local secret" : "not the local secret");
    struct xb_pipe_reply rep = xb_ctl_reply(h->version, h->op, XB_PIPE_ST_OK, h->id);
    rep.current = current;
    xb_ctl_send(c, &rep, NULL, false);
}

/* --- ACCOUNT_ADD, SET_TOKENS: the CLI's `account add` and `token set` ------------------- */

void xb_ctl_op_account_add(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    struct xb_ctl *ctl = c->ctl;
    const struct xb_pipe_hdr *h = &r->hdr;
    char email[XB_PIPE_EMAIL_MAX + 1], provider[XB_PIPE_PROVIDER_MAX + 1];
    struct xb_secret *secret = NULL;
    char *norm = NULL;

    xb_pipe_str_copy(r->email, email, sizeof(email));
    xb_pipe_str_copy(r->provider, provider, sizeof(provider));
    if (!provider[0])
        snprintf(provider, sizeof(provider), "google");
    if (!xb_config_provider(ctl->cfg, provider)) {
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_NOT_FOUND,
                           "no provider '%s' in the configuration", provider);
        return;
    }
    enum xb_err err = xb_acctsvc_add(ctl->store, email, provider, &secret, &norm);
    if (err != XB_OK) {
        xb_ctl_reply_error(c, h->version, h->op, h->id,
                           err == XB_ERR_INVAL ? XB_PIPE_ST_BAD_REQUEST : XB_PIPE_ST_INTERNAL,
                           err == XB_ERR_INVAL ? "not a valid e-mail address, or already there"
                                               : "cannot save the account store");
        return;
    }
    xb_ui_account_changed(&ctl->ui, norm, XB_ACCT_NEW);
    struct xb_pipe_reply rep = xb_ctl_reply(h->version, h->op, XB_PIPE_ST_OK, h->id);
    rep.email = xb_pipe_cstr(norm);
    rep.secret = (struct xb_pipe_str){ secret->data, (uint32_t)secret->len };
    xb_ctl_send(c, &rep, NULL, true);
    xb_secret_free(secret);
    xb_free(norm);
}

void xb_ctl_op_set_tokens(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    struct xb_ctl *ctl = c->ctl;
    const struct xb_pipe_hdr *h = &r->hdr;
    char email[XB_PIPE_EMAIL_MAX + 1];

    struct xb_account *a = find_or_answer(c, r);
    if (!a)
        return;
    snprintf(email, sizeof(email), "%s", a->email);
    struct xb_secret *access = xb_secret_new(r->access.p, r->access.len);
    struct xb_secret *refresh = r->refresh.len ? xb_secret_new(r->refresh.p, r->refresh.len) : NULL;
    if (!access || (r->refresh.len && !refresh)) {
        xb_secret_free(access);
        xb_secret_free(refresh);
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_INTERNAL, "out of memory");
        return;
    }
    if (xb_acctsvc_set_tokens(ctl->store, email, access, refresh, (int64_t)r->expires_in) !=
        XB_OK) {
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_INTERNAL,
                           "cannot save the account store");
        return;
    }
    xb_ui_account_changed(&ctl->ui, email, XB_ACCT_OK);
    struct xb_pipe_reply rep = xb_ctl_reply(h->version, h->op, XB_PIPE_ST_OK, h->id);
    xb_ctl_send(c, &rep, NULL, false);
}

/* --- REPORT_FAILURE ------------------------------------------------------------------------ */

void xb_ctl_op_report(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    struct xb_ctl *ctl = c->ctl;
    const struct xb_pipe_hdr *h = &r->hdr;
    char email[XB_PIPE_EMAIL_MAX + 1], text[XB_PIPE_TEXT_MAX + 1];

    xb_pipe_str_copy(r->email, email, sizeof(email));
    xb_pipe_str_copy(r->text, text, sizeof(text));
    /* Outlook's words, not a secret; the log escapes control characters. */
    xb_log_warn("control client %lu reports a %s failure for %s%s: code 0x%08lx: %s", c->id,
                xb_pipe_proto_name(r->protocol), email,
                xb_store_find(ctl->store, email) ? "" : " (not bridged)",
                (unsigned long)r->code, text);
    /* Rate limited per account (ui.c): Outlook retries every few minutes. */
    xb_ui_alert(&ctl->ui, XB_UI_OUTLOOK_FAILURE, email, NULL);
    struct xb_pipe_reply ev = xb_ctl_event(XB_PIPE_OP_FAILURE_REPORTED);
    ev.email = xb_pipe_cstr(email);
    ev.protocol = r->protocol;
    ev.code = r->code;
    ev.text = xb_pipe_cstr(text);
    xb_ctl_broadcast(ctl, &ev);
    struct xb_pipe_reply rep = xb_ctl_reply(h->version, h->op, XB_PIPE_ST_OK, h->id);
    xb_ctl_send(c, &rep, NULL, false);
}

/* --- REPORT_UNMATCHED: words of Outlook the add-in does not know ------------------------ */

void xb_ctl_op_unmatched(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    const struct xb_pipe_hdr *h = &r->hdr;
    char email[XB_PIPE_EMAIL_MAX + 1], text[XB_PIPE_TEXT_MAX + 1];

    xb_pipe_str_copy(r->email, email, sizeof(email));
    xb_pipe_str_copy(r->text, text, sizeof(text));
    /* No notification: nothing for the person to do. The add-in sends one per account
     * per Outlook start; the log escapes control characters. */
    xb_log_event(XB_EV_UNMATCHED, "%s: Outlook reported a %s error whose words this version "
                 "does not know (code 0x%08lx): %s", email, xb_pipe_proto_name(r->protocol),
                 (unsigned long)r->code, text);
    struct xb_pipe_reply rep = xb_ctl_reply(h->version, h->op, XB_PIPE_ST_OK, h->id);
    xb_ctl_send(c, &rep, NULL, false);
}

/* --- ACCOUNT_BRIDGED ------------------------------------------------------------------------ */

void xb_ctl_op_bridged(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    struct xb_ctl *ctl = c->ctl;
    const struct xb_pipe_hdr *h = &r->hdr;
    char email[XB_PIPE_EMAIL_MAX + 1];

    xb_pipe_str_copy(r->email, email, sizeof(email));
    xb_log_event(XB_EV_BRIDGED, "%s: Outlook's %s account now goes through the companion%s "
                 "(the add-in, control client %lu)", email, xb_pipe_proto_name(r->protocol),
                 xb_store_find(ctl->store, email) ? "" : " (no such account here)", c->id);
    xb_ui_alert(&ctl->ui, XB_UI_OUTLOOK_BRIDGED, email, NULL);
    struct xb_pipe_reply rep = xb_ctl_reply(h->version, h->op, XB_PIPE_ST_OK, h->id);
    xb_ctl_send(c, &rep, NULL, false);
}

/* --- OFFER_RESTART, RESTART_NOW: Outlook reads its accounts when it starts --------------- */

/* How long a restart waits for Outlook to close (a draft may ask to be saved first). */
#define RESTART_WAIT_S 120

void xb_ctl_op_offer_restart(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    struct xb_ctl *ctl = c->ctl;
    const struct xb_pipe_hdr *h = &r->hdr;
    char program[XB_PIPE_PATH_MAX + 1], profile[XB_PIPE_NAME_MAX + 1], why[200];

    xb_pipe_str_copy(r->program, program, sizeof(program));
    xb_pipe_str_copy(r->profile, profile, sizeof(profile));
    /* Only the Outlook that runs as that process is ever started again, with a profile
     * name that fits on its command line. */
    enum xb_err err = XB_ERR_INVAL;
    if (strchr(profile, '"') || strchr(program, '"'))
        snprintf(why, sizeof(why), "a quote in the program or profile name");
    else
        err = xb_plat_outlook_check(r->pid, program, why, sizeof(why));
    if (err != XB_OK) {
        xb_log_warn("control client %lu offers a restart of Outlook that is refused: %s", c->id,
                    why);
        xb_ctl_reply_error(c, h->version, h->op, h->id,
                           err == XB_ERR_UNSUPPORTED ? XB_PIPE_ST_INTERNAL
                                                     : XB_PIPE_ST_BAD_REQUEST,
                           "%s", why);
        return;
    }
    ctl->restart.pending = true;
    ctl->restart.pid = r->pid;
    snprintf(ctl->restart.program, sizeof(ctl->restart.program), "%s", program);
    snprintf(ctl->restart.profile, sizeof(ctl->restart.profile), "%s", profile);
    xb_log_info("control client %lu: Outlook (process %lu, profile '%s') needs a restart to "
                "read its accounts: offered to the person", c->id, (unsigned long)r->pid,
                profile);
    xb_ui_alert(&ctl->ui, XB_UI_RESTART_OUTLOOK, NULL, NULL);
    struct xb_pipe_reply rep = xb_ctl_reply(h->version, h->op, XB_PIPE_ST_OK, h->id);
    xb_ctl_send(c, &rep, NULL, false);
}

enum xb_err xb_ctl_restart_outlook(struct xb_ctl *ctl, char *why, size_t n)
{
    if (!ctl->restart.pending) {
        snprintf(why, n, "no restart of Outlook is waiting");
        return XB_ERR_NOTFOUND;
    }
    struct xb_pipe_reply ev = xb_ctl_event(XB_PIPE_OP_RESTART_OUTLOOK);
    ev.pid = ctl->restart.pid;
    if (xb_ctl_broadcast(ctl, &ev) == 0) {
        snprintf(why, n, "the add-in is not listening: close Outlook and start it again");
        return XB_ERR_TEMP;
    }
    ctl->restart.pending = false;
    xb_log_info("restarting Outlook (process %lu): asked it to quit; starting it again once "
                "it has closed", (unsigned long)ctl->restart.pid);
    enum xb_err err = xb_plat_outlook_relaunch(ctl->restart.pid, ctl->restart.program,
                                               ctl->restart.profile, RESTART_WAIT_S);
    if (err != XB_OK) {
        snprintf(why, n, "cannot watch Outlook to start it again (%s): start it yourself",
                 xb_err_str(err));
        xb_log_warn("%s", why);
        return err;
    }
    snprintf(why, n, "Outlook closes and starts again");
    return XB_OK;
}

void xb_ctl_op_restart_now(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    const struct xb_pipe_hdr *h = &r->hdr;
    char why[200];
    enum xb_err err = xb_ctl_restart_outlook(c->ctl, why, sizeof(why));
    if (err != XB_OK) {
        xb_ctl_reply_error(c, h->version, h->op, h->id,
                           err == XB_ERR_NOTFOUND ? XB_PIPE_ST_NOT_FOUND : XB_PIPE_ST_TEMP,
                           "%s", why);
        return;
    }
    struct xb_pipe_reply rep = xb_ctl_reply(h->version, h->op, XB_PIPE_ST_OK, h->id);
    xb_ctl_send(c, &rep, NULL, false);
}

/* --- RESTORE / FORGET ----------------------------------------------------------------------- */

static void revoke_answer(const struct xb_ctl_waiter *w, const char *note)
{
    if (!w->conn)
        return;
    struct xb_pipe_reply rep = xb_ctl_reply(w->version, w->op, XB_PIPE_ST_OK, w->id);
    rep.note = xb_pipe_cstr(note);
    xb_ctl_send(w->conn, &rep, NULL, false);
}

static void revoke_done(void *arg, struct xb_token_result *res)
{
    struct xb_revoke *rv = arg;
    struct xb_ctl *ctl = rv->ctl;
    for (struct xb_revoke **pp = &ctl->revokes; *pp; pp = &(*pp)->next) {
        if (*pp == rv) {
            *pp = rv->next;
            break;
        }
    }
    if (res->err == XB_OK)
        xb_log_info("revoked the grant of %s at the provider", rv->email);
    else
        xb_log_warn("could not revoke the grant of %s at the provider: %s", rv->email,
                    res->why[0] ? res->why : xb_err_str(res->err));
    revoke_answer(&rv->w, res->err == XB_OK ? ""
                               : res->why[0] ? res->why : xb_err_str(res->err));
    xb_ctl_pending_done(rv->w.conn);
    xb_free(rv);
}

void xb_ctl_op_restore(struct xb_ctl_conn *c, const struct xb_pipe_req *r, bool forget)
{
    struct xb_ctl *ctl = c->ctl;
    const struct xb_pipe_hdr *h = &r->hdr;
    struct xb_secret *token = NULL;
    struct xb_revoke *rv = NULL;
    unsigned restored = 0, failed = 0;

    struct xb_account *a = find_or_answer(c, r);
    if (!a)
        return;
    char email[XB_PIPE_EMAIL_MAX + 1], provider[XB_PIPE_PROVIDER_MAX + 1];
    snprintf(email, sizeof(email), "%s", a->email);
    snprintf(provider, sizeof(provider), "%s", a->provider);
    rv = xb_new(struct xb_revoke);
    if (!rv) {
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_INTERNAL, "out of memory");
        return;
    }
    enum xb_err err = xb_acctsvc_sign_out(ctl->store, email, forget, &token, &restored, &failed);
    if (err == XB_ERR_IO && failed) {
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_INTERNAL,
                           "cannot put back %u Outlook account(s); try again", failed);
        goto out;
    }
    if (err != XB_OK) {
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_INTERNAL,
                           "cannot save the account store");
        goto out;
    }
    if (restored)
        xb_log_event(XB_EV_RESTORED, "%s: %u Outlook account(s) put back as they were",
                     email, restored);
    if (forget) {
        xb_log_event(XB_EV_SIGNED_OUT, "%s signed out: its tokens are removed here", email);
        xb_ctl_notify_state(ctl, email, XB_PIPE_STATE_REMOVED, NULL);
    } else
        xb_ui_account_changed(&ctl->ui, email, XB_ACCT_NEW);
    const struct xb_provider *p = xb_config_provider_for(ctl->cfg, provider, email);
    if (!token || !p || !ctl->http) {
        if (token && (!p || !ctl->http))
            xb_log_warn("the grant of %s is not revoked at the provider: %s", email,
                        p ? "this companion cannot make requests" : "its provider is gone");
        revoke_answer(&(struct xb_ctl_waiter){ .conn = c, .id = h->id, .op = h->op,
                                               .version = h->version }, "");
        goto out;
    }
    rv->ctl = ctl;
    rv->w = (struct xb_ctl_waiter){ .conn = c, .id = h->id, .op = h->op, .version = h->version };
    snprintf(rv->email, sizeof(rv->email), "%s", email);
    c->pending++;
    rv->next = ctl->revokes;
    ctl->revokes = rv;
    /* The callback runs from the loop, never from inside this call. */
    rv->req = xb_oauth_revoke(ctl->http, p, token->data, revoke_done, rv);
    if (!rv->req) {
        ctl->revokes = rv->next;
        c->pending--;
        revoke_answer(&rv->w, "cannot send the revocation request");
        xb_free(rv);
    }
    rv = NULL;
out:
    xb_free(rv);
    xb_secret_free(token);
}

/* --- connections leaving, shutdown ------------------------------------------------------------ */

void xb_ctl_ops_forget_conn(struct xb_ctl *ctl, struct xb_ctl_conn *c)
{
    for (struct xb_enrol *e = ctl->enrols; e; e = e->next) {
        for (struct xb_ctl_waiter *w = e->waiters; w; w = w->next) {
            if (w->conn == c)
                w->conn = NULL;
        }
    }
    for (struct xb_revoke *rv = ctl->revokes; rv; rv = rv->next) {
        if (rv->w.conn == c)
            rv->w.conn = NULL;
    }
}

void xb_ctl_ops_cancel(struct xb_ctl *ctl)
{
    while (ctl->enrols) {
        struct xb_enrol *e = ctl->enrols;
        ctl->enrols = e->next;
        ctl->nenrols--;
        enrol_answer(e, XB_PIPE_ST_TEMP, false, "the companion is shutting down");
        xb_signin_cancel(e->si);
        xb_free(e);
    }
    while (ctl->revokes) {
        struct xb_revoke *rv = ctl->revokes;
        ctl->revokes = rv->next;
        xb_http_cancel(rv->req);
        revoke_answer(&rv->w, "the companion shut down before the provider answered");
        xb_ctl_pending_done(rv->w.conn);
        xb_free(rv);
    }
}
