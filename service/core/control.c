/*
 * The control channel's connections: framing on a byte stream, the size and field
 * checks (once, in pipe_codec.c, before dispatch), the dispatch, replies and events.
 * See control.h; the long operations are in control_ops.c.
 */
#include "core/control_int.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "xoauthbridge/version.h"

#include "core/config.h"
#include "core/mem.h"
#include "core/store.h"
#include "platform/platform.h"

#define CTL_MAX_CONNS      64
/* Seconds a frame may take to arrive whole once its first byte is in. */
#define CTL_FRAME_TIMEOUT  10
/* Output a client leaves unread before it is dropped (a subscriber that never reads). */
#define CTL_OUT_MAX        ((size_t)4 * XB_PIPE_FRAME_MAX)

/* --- connections ------------------------------------------------------------------------ */

static void conn_free(struct xb_ctl_conn *c)
{
    struct xb_ctl *ctl = c->ctl;
    xb_ctl_ops_forget_conn(ctl, c);
    xb_list_remove(&ctl->conns, &c->link);
    ctl->nconns--;
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->frame_timer)
        event_free(c->frame_timer);
    if (c->reap)
        event_free(c->reap);
    xb_free(c);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_ctl_conn *c = arg;
    xb_log_debug("control client %lu: closed", c->id);
    conn_free(c);
}

/* Ends the connection now (from the loop, after the current callback). */
static void conn_kill(struct xb_ctl_conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    evtimer_del(c->frame_timer);
    event_active(c->reap, EV_TIMEOUT, 0);
}

/* No more requests: what is queued goes out, then the connection ends. */
static void conn_close_after_flush(struct xb_ctl_conn *c)
{
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    evtimer_del(c->frame_timer);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_kill(c);
}

void xb_ctl_pending_done(struct xb_ctl_conn *c)
{
    if (!c)
        return;
    if (c->pending)
        c->pending--;
    if (c->eof && c->pending == 0 && !c->closing)
        conn_close_after_flush(c);
}

/* --- sending ------------------------------------------------------------------------------ */

struct xb_pipe_reply xb_ctl_reply(uint8_t version, uint16_t op, uint16_t status, uint32_t id)
{
    struct xb_pipe_reply r;
    struct xb_pipe_hdr h = { .version = version, .kind = XB_PIPE_KIND_REPLY, .op = op,
                             .status = status, .id = id };
    xb_pipe_reply_init(&r, &h);
    return r;
}

static void wipe_free_cb(const void *data, size_t len, void *arg)
{
    xb_wipe((void *)(uintptr_t)data, len);
    xb_free((void *)(uintptr_t)data);
}

void xb_ctl_send(struct xb_ctl_conn *c, const struct xb_pipe_reply *r,
                 const struct xb_pipe_account *accounts, bool secret)
{
    size_t len = 0;
    if (!c || c->closing)
        return;
    struct xb_ctl *ctl = c->ctl;
    if (!xb_pipe_reply_encode(r, accounts, ctl->out, sizeof(ctl->out), &len)) {
        /* Only a reply can outgrow a frame (LIST_ACCOUNTS with very many accounts). */
        xb_log_error("control client %lu: the reply to op 0x%04x does not fit in a frame",
                     c->id, (unsigned)r->hdr.op);
        if (r->hdr.status == XB_PIPE_ST_OK)
            xb_ctl_reply_error(c, r->hdr.version, r->hdr.op, r->hdr.id, XB_PIPE_ST_INTERNAL,
                               "the reply would be larger than %u bytes", XB_PIPE_FRAME_MAX);
        goto out;
    }
    struct evbuffer *outbuf = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(outbuf) + len > CTL_OUT_MAX) {
        xb_log_warn("control client %lu does not read what it is sent; disconnecting", c->id);
        conn_kill(c);
        goto out;
    }
    if (secret) {
        unsigned char *copy = xb_new_array(unsigned char, len);
        if (!copy || evbuffer_add_reference(outbuf, copy, len, wipe_free_cb, NULL) != 0) {
            xb_free(copy);
            xb_log_error("control client %lu: out of memory", c->id);
            conn_kill(c);
            goto out;
        }
        memcpy(copy, ctl->out, len);
    } else if (evbuffer_add(outbuf, ctl->out, len) != 0) {
        xb_log_error("control client %lu: out of memory", c->id);
        conn_kill(c);
    }
out:
    if (secret)
        xb_wipe(ctl->out, sizeof(ctl->out));
}

void xb_ctl_reply_error(struct xb_ctl_conn *c, uint8_t version, uint16_t op, uint32_t id,
                        uint16_t status, const char *fmt, ...)
{
    char msg[XB_PIPE_TEXT_MAX];
    va_list ap;
    if (!c)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (version < XB_PIPE_VERSION_MIN || version > XB_PIPE_VERSION_MAX)
        version = XB_PIPE_VERSION_MAX;
    xb_log_debug("control client %lu: op 0x%04x id %lu: status %u: %s", c->id, (unsigned)op,
                 (unsigned long)id, (unsigned)status, msg);
    struct xb_pipe_reply r = xb_ctl_reply(version, op, status, id);
    r.message = xb_pipe_cstr(msg);
    r.min_version = XB_PIPE_VERSION_MIN;
    r.max_version = XB_PIPE_VERSION_MAX;
    xb_ctl_send(c, &r, NULL, false);
}

uint32_t xb_ctl_wire_state(int state)
{
    switch ((enum xb_account_state)state) {
    case XB_ACCT_NEW: return XB_PIPE_STATE_NEW;
    case XB_ACCT_OK: return XB_PIPE_STATE_OK;
    case XB_ACCT_NEEDS_SIGNIN: return XB_PIPE_STATE_NEEDS_SIGNIN;
    case XB_ACCT_TEMP_ERROR: return XB_PIPE_STATE_TEMP_ERROR;
    }
    return XB_PIPE_STATE_TEMP_ERROR;
}

struct xb_pipe_reply xb_ctl_event(uint16_t op)
{
    struct xb_pipe_reply ev = xb_ctl_reply(XB_PIPE_VERSION_MAX, op, 0, 0);
    ev.hdr.kind = XB_PIPE_KIND_EVENT;
    return ev;
}

unsigned xb_ctl_broadcast(struct xb_ctl *ctl, const struct xb_pipe_reply *ev)
{
    unsigned told = 0;
    XB_LIST_EACH(c, next, &ctl->conns, struct xb_ctl_conn, link) {
        if (!c->subscribed || c->closing)
            continue;
        struct xb_pipe_reply mine = *ev;
        mine.hdr.version = c->version; /* the version SUBSCRIBE was sent in */
        mine.hdr.id = c->sub_id;
        xb_ctl_send(c, &mine, NULL, false);
        told++;
    }
    return told;
}

void xb_ctl_notify_state(struct xb_ctl *ctl, const char *email, uint32_t state,
                         const char *last_error)
{
    xb_log_debug("state of %s: %u; telling subscribers", email, (unsigned)state);
    struct xb_pipe_reply ev = xb_ctl_event(XB_PIPE_OP_STATE_CHANGED);
    ev.email = xb_pipe_cstr(email);
    ev.state = state;
    ev.last_error = xb_pipe_cstr(last_error);
    xb_ctl_broadcast(ctl, &ev);
}

/* --- the front end, as the core sees it ---------------------------------------------------- */

static struct xb_ctl *ctl_from_ui(struct xb_ui *ui)
{
    return (struct xb_ctl *)(void *)((char *)ui - offsetof(struct xb_ctl, ui));
}

static void ui_notify(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                      const char *text)
{
    struct xb_ui *front = ctl_from_ui(ui)->front;
    /* Rate limited already, by xb_ui_notify on this ui. */
    if (front && front->vt->notify)
        front->vt->notify(front, kind, account, text);
}

static void ui_account_changed(struct xb_ui *ui, const char *account,
                               enum xb_account_state state)
{
    struct xb_ctl *ctl = ctl_from_ui(ui);
    xb_ui_account_changed(ctl->front, account, state);
    struct xb_account *a = xb_store_find(ctl->store, account);
    xb_ctl_notify_state(ctl, account, xb_ctl_wire_state(state), a ? a->last_error : NULL);
}

static void ui_log(struct xb_ui *ui, enum xb_log_level level, unsigned event,
                   const char *line)
{
    xb_ui_log_sink(ctl_from_ui(ui)->front, level, event, line);
}

static const struct xb_ui_vt ctl_ui_vt = {
    .notify = ui_notify,
    .account_changed = ui_account_changed,
    .log = ui_log,
};

struct xb_ui *xb_ctl_ui(struct xb_ctl *ctl)
{
    return &ctl->ui;
}

/* --- the simple operations ------------------------------------------------------------ */

static void op_hello(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    uint32_t lo = r->min_version > XB_PIPE_VERSION_MIN ? r->min_version : XB_PIPE_VERSION_MIN;
    uint32_t hi = r->max_version < XB_PIPE_VERSION_MAX ? r->max_version : XB_PIPE_VERSION_MAX;
    char server[XB_PIPE_NAME_MAX];
    if (lo > hi) {
        xb_ctl_reply_error(c, XB_PIPE_VERSION_MIN, r->hdr.op, r->hdr.id, XB_PIPE_ST_VERSION,
                           "no common protocol version (client %lu-%lu, companion %u-%u)",
                           (unsigned long)r->min_version, (unsigned long)r->max_version,
                           XB_PIPE_VERSION_MIN, XB_PIPE_VERSION_MAX);
        return;
    }
    c->version = (uint8_t)hi;
    xb_log_info("control client %lu: %.*s, protocol version %u", c->id, (int)r->client.len,
                r->client.p, (unsigned)hi);
    snprintf(server, sizeof(server), "xoauthbridge %s (%s)", XB_VERSION, xb_plat_name());
    struct xb_pipe_reply rep = xb_ctl_reply(c->version, r->hdr.op, XB_PIPE_ST_OK, r->hdr.id);
    rep.version = hi;
    rep.min_version = XB_PIPE_VERSION_MIN;
    rep.max_version = XB_PIPE_VERSION_MAX;
    rep.server = xb_pipe_cstr(server);
    xb_ctl_send(c, &rep, NULL, false);
}

static void op_list(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    struct xb_ctl *ctl = c->ctl;
    struct xb_pipe_reply rep = xb_ctl_reply(r->hdr.version, r->hdr.op, XB_PIPE_ST_OK, r->hdr.id);
    for (struct xb_account *a = xb_store_accounts(ctl->store); a; a = a->next)
        rep.naccounts++;
    struct xb_pipe_account *list = xb_new_array(struct xb_pipe_account, rep.naccounts + 1);
    if (!list) {
        xb_ctl_reply_error(c, r->hdr.version, r->hdr.op, r->hdr.id, XB_PIPE_ST_INTERNAL,
                           "out of memory");
        return;
    }
    uint32_t i = 0;
    for (struct xb_account *a = xb_store_accounts(ctl->store); a; a = a->next, i++) {
        list[i] = (struct xb_pipe_account){
            .email = xb_pipe_cstr(a->email), .provider = xb_pipe_cstr(a->provider),
            .state = xb_ctl_wire_state(a->state), .last_error = xb_pipe_cstr(a->last_error),
            .last_ok = a->last_ok > 0 ? (uint64_t)a->last_ok : 0,
            .last_fail = a->last_fail > 0 ? (uint64_t)a->last_fail : 0 };
    }
    xb_ctl_send(c, &rep, list, false);
    xb_free(list);
}

static void op_subscribe(struct xb_ctl_conn *c, const struct xb_pipe_req *r)
{
    c->subscribed = true;
    c->sub_id = r->hdr.id;
    xb_log_debug("control client %lu: subscribed to state changes", c->id);
    struct xb_pipe_reply rep = xb_ctl_reply(r->hdr.version, r->hdr.op, XB_PIPE_ST_OK, r->hdr.id);
    xb_ctl_send(c, &rep, NULL, false);
}

/* --- framing and dispatch ---------------------------------------------------------------- */

static void dispatch(struct xb_ctl_conn *c, const struct xb_pipe_hdr *h,
                     const unsigned char *payload)
{
    struct xb_pipe_req r;
    const char *why = NULL;
    uint16_t st = xb_pipe_req_parse(h, payload, &r, &why);
    if (st != XB_PIPE_ST_OK) {
        xb_log_warn("control client %lu: op 0x%04x id %lu refused: %s", c->id, (unsigned)h->op,
                    (unsigned long)h->id, why);
        xb_ctl_reply_error(c, h->version, h->op, h->id, st, "%s", why);
        return;
    }
    /* Another process (the CLI of an older version) may have changed the store. */
    xb_store_refresh(c->ctl->store);
    switch (h->op) {
    case XB_PIPE_OP_HELLO: op_hello(c, &r); break;
    case XB_PIPE_OP_LIST_ACCOUNTS: op_list(c, &r); break;
    case XB_PIPE_OP_ENROL: xb_ctl_op_enrol(c, &r); break;
    case XB_PIPE_OP_GET_ENDPOINT: xb_ctl_op_endpoint(c, &r); break;
    case XB_PIPE_OP_REPORT_FAILURE: xb_ctl_op_report(c, &r); break;
    case XB_PIPE_OP_REPORT_UNMATCHED: xb_ctl_op_unmatched(c, &r); break;
    case XB_PIPE_OP_RESTORE: xb_ctl_op_restore(c, &r, false); break;
    case XB_PIPE_OP_FORGET: xb_ctl_op_restore(c, &r, true); break;
    case XB_PIPE_OP_SUBSCRIBE: op_subscribe(c, &r); break;
    case XB_PIPE_OP_ACCOUNT_BRIDGED: xb_ctl_op_bridged(c, &r); break;
    case XB_PIPE_OP_ACCOUNT_ADD: xb_ctl_op_account_add(c, &r); break;
    case XB_PIPE_OP_SET_TOKENS: xb_ctl_op_set_tokens(c, &r); break;
    case XB_PIPE_OP_GET_PORTS: xb_ctl_op_ports(c, &r); break;
    case XB_PIPE_OP_CHECK_SECRET: xb_ctl_op_check_secret(c, &r); break;
    case XB_PIPE_OP_OFFER_RESTART: xb_ctl_op_offer_restart(c, &r); break;
    case XB_PIPE_OP_RESTART_NOW: xb_ctl_op_restart_now(c, &r); break;
    default:
        /* xb_pipe_req_parse knows every op listed here and refuses the rest. */
        xb_ctl_reply_error(c, h->version, h->op, h->id, XB_PIPE_ST_UNKNOWN_OP,
                           "unknown operation");
        break;
    }
}

/* The stream cannot be read any further: say why (to the id, if the header got that
 * far), then close. */
static void framing_lost(struct xb_ctl_conn *c, const struct xb_pipe_hdr *h, const char *why)
{
    xb_log_warn("control client %lu: %s; closing the connection", c->id, why);
    xb_ctl_reply_error(c, h ? h->version : XB_PIPE_VERSION_MAX, h ? h->op : 0, h ? h->id : 0,
                       XB_PIPE_ST_BAD_REQUEST, "%s", why);
    conn_close_after_flush(c);
}

/* Whether the input holds a complete header; fills *h from it (unchecked). */
static bool peek_header(struct xb_ctl_conn *c, struct xb_pipe_hdr *h,
                        enum xb_pipe_hdr_check *check)
{
    unsigned char hb[XB_PIPE_HDR_LEN];
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (evbuffer_get_length(in) < XB_PIPE_HDR_LEN)
        return false;
    evbuffer_copyout(in, hb, sizeof(hb));
    *check = xb_pipe_hdr_decode(hb, h);
    return true;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct xb_ctl_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct xb_pipe_hdr h;
    enum xb_pipe_hdr_check check = XB_PIPE_HDR_OK;
    while (!c->closing) {
        size_t have = evbuffer_get_length(in);
        if (have == 0) {
            evtimer_del(c->frame_timer);
            return;
        }
        bool got = peek_header(c, &h, &check);
        if (got && check != XB_PIPE_HDR_OK)
            goto bad;
        if (!got || have < XB_PIPE_HDR_LEN + (size_t)h.len) {
            if (!evtimer_pending(c->frame_timer, NULL)) {
                struct timeval tv = { CTL_FRAME_TIMEOUT, 0 };
                evtimer_add(c->frame_timer, &tv);
            }
            return;
        }
        evtimer_del(c->frame_timer);
        size_t len = XB_PIPE_HDR_LEN + (size_t)h.len;
        const unsigned char *frame = evbuffer_pullup(in, (ev_ssize_t)len);
        if (!frame) {
            xb_log_error("control client %lu: out of memory", c->id);
            conn_kill(c);
            return;
        }
        dispatch(c, &h, frame + XB_PIPE_HDR_LEN);
        evbuffer_drain(in, len);
    }
    return;
bad:
    if (check == XB_PIPE_HDR_BAD_MAGIC)
        framing_lost(c, NULL, "not a control frame (wrong magic number)");
    else
        framing_lost(c, &h, "frame longer than the protocol allows");
}

static void frame_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_ctl_conn *c = arg;
    struct xb_pipe_hdr h;
    enum xb_pipe_hdr_check check;
    bool whole = peek_header(c, &h, &check) && check == XB_PIPE_HDR_OK;
    framing_lost(c, whole ? &h : NULL, "truncated frame: the rest did not arrive in time");
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    struct xb_ctl_conn *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_kill(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct xb_ctl_conn *c = arg;
    if (what & BEV_EVENT_EOF) {
        /* Half closed: answer what was asked, then go. */
        c->eof = true;
        read_cb(bev, c);
        if (c->closing)
            return;
        if (evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
            struct xb_pipe_hdr h;
            enum xb_pipe_hdr_check check;
            bool whole = peek_header(c, &h, &check);
            framing_lost(c, whole ? &h : NULL,
                         "truncated frame: the connection ended inside it");
            return;
        }
        bufferevent_disable(bev, EV_READ);
        if (c->pending == 0)
            conn_close_after_flush(c);
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        conn_kill(c);
}

void xb_ctl_attach(struct xb_ctl *ctl, struct bufferevent *bev)
{
    struct xb_ctl_conn *c = NULL;
    if (ctl->nconns >= CTL_MAX_CONNS) {
        xb_log_warn("control channel: %u clients connected already; refusing another",
                    ctl->nconns);
        goto fail;
    }
    c = xb_new(struct xb_ctl_conn);
    if (!c || !(c->frame_timer = evtimer_new(ctl->base, frame_timeout_cb, c)) ||
        !(c->reap = evtimer_new(ctl->base, reap_cb, c))) {
        xb_log_error("control channel: out of memory");
        goto fail;
    }
    c->ctl = ctl;
    c->bev = bev;
    c->id = ++ctl->next_id;
    c->version = XB_PIPE_VERSION_MAX;
    xb_list_push(&ctl->conns, &c->link);
    ctl->nconns++;
    /* A partial frame never exceeds one frame; reading pauses beyond two. */
    bufferevent_setwatermark(bev, EV_READ, 0, 2 * XB_PIPE_FRAME_MAX);
    bufferevent_setcb(bev, read_cb, write_cb, event_cb, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    xb_log_debug("control client %lu: connected", c->id);
    return;
fail:
    if (c) {
        if (c->frame_timer)
            event_free(c->frame_timer);
        xb_free(c);
    }
    bufferevent_free(bev);
}

void xb_ctl_attach_fd(struct xb_ctl *ctl, intptr_t fd)
{
    evutil_socket_t s = (evutil_socket_t)fd;
    evutil_make_socket_nonblocking(s);
    evutil_make_socket_closeonexec(s);
    struct bufferevent *bev = bufferevent_socket_new(ctl->base, s, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        xb_log_error("control channel: out of memory");
        evutil_closesocket(s);
        return;
    }
    xb_ctl_attach(ctl, bev);
}

static void accept_cb(void *arg, intptr_t fd)
{
    xb_ctl_attach_fd(arg, fd);
}

/* --- life cycle ----------------------------------------------------------------------- */

enum xb_err xb_ctl_new(const struct xb_ctl_deps *deps, struct xb_ctl **out)
{
    struct xb_ctl *ctl = xb_new(struct xb_ctl);
    *out = NULL;
    if (!ctl)
        return XB_ERR_NOMEM;
    ctl->base = deps->base;
    ctl->cfg = deps->cfg;
    ctl->store = deps->store;
    ctl->http = deps->http;
    ctl->front = deps->ui;
    xb_ui_init(&ctl->ui, &ctl_ui_vt);
    *out = ctl;
    return XB_OK;
}

void xb_ctl_set_proxy(struct xb_ctl *ctl, struct xb_proxy *px)
{
    ctl->px = px;
}

enum xb_err xb_ctl_listen(struct xb_ctl *ctl, char **errmsg)
{
    enum xb_err err = xb_plat_ctl_listen(ctl->base, accept_cb, ctl, &ctl->plat, errmsg);
    if (err == XB_OK)
        xb_log_info("control channel: listening on %s", xb_plat_ctl_name(ctl->plat));
    return err;
}

const char *xb_ctl_name(const struct xb_ctl *ctl)
{
    return ctl->plat ? xb_plat_ctl_name(ctl->plat) : "";
}

void xb_ctl_shutdown(struct xb_ctl *ctl)
{
    if (!ctl)
        return;
    if (ctl->plat) {
        xb_plat_ctl_close(ctl->plat);
        ctl->plat = NULL;
    }
    xb_ctl_ops_cancel(ctl);
    XB_LIST_EACH(c, next, &ctl->conns, struct xb_ctl_conn, link)
        conn_close_after_flush(c);
}

void xb_ctl_free(struct xb_ctl *ctl)
{
    if (!ctl)
        return;
    xb_ctl_shutdown(ctl);
    while (ctl->conns.first)
        conn_free(XB_LIST_FIRST(&ctl->conns, struct xb_ctl_conn, link));
    xb_ui_cleanup(&ctl->ui);
    xb_free(ctl);
}
