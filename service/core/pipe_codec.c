#include "core/pipe_codec.h"

#include <string.h>

/* --- reading --------------------------------------------------------------------------- */

void xb_pipe_rd_init(struct xb_pipe_rd *rd, const void *data, size_t len)
{
    rd->p = data;
    rd->left = data ? len : 0;
    rd->err = false;
}

static const unsigned char *take(struct xb_pipe_rd *rd, size_t n)
{
    if (rd->err || rd->left < n) {
        rd->err = true;
        return NULL;
    }
    const unsigned char *p = rd->p;
    rd->p += n;
    rd->left -= n;
    return p;
}

uint32_t xb_pipe_rd_u32(struct xb_pipe_rd *rd)
{
    const unsigned char *p = take(rd, 4);
    return p ? xb_pipe_get_le32(p) : 0;
}

uint64_t xb_pipe_rd_u64(struct xb_pipe_rd *rd)
{
    const unsigned char *p = take(rd, 8);
    return p ? xb_pipe_get_le64(p) : 0;
}

struct xb_pipe_str xb_pipe_rd_str(struct xb_pipe_rd *rd, uint32_t max)
{
    struct xb_pipe_str s = { "", 0 };
    uint32_t n = xb_pipe_rd_u32(rd);
    if (!rd->err && n > max)
        rd->err = true;
    const unsigned char *p = take(rd, n);
    if (!p)
        return s;
    if (memchr(p, '\0', n) || !xb_pipe_utf8_ok((const char *)p, n)) {
        rd->err = true;
        return s;
    }
    s.p = (const char *)p;
    s.len = n;
    return s;
}

bool xb_pipe_rd_done(const struct xb_pipe_rd *rd)
{
    return !rd->err && rd->left == 0;
}

bool xb_pipe_str_copy(struct xb_pipe_str s, char *buf, size_t size)
{
    if (size == 0)
        return false;
    if (s.len >= size) {
        buf[0] = '\0';
        return false;
    }
    if (s.len)
        memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    return true;
}

bool xb_pipe_utf8_ok(const char *str, size_t len)
{
    const unsigned char *p = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* --- writing --------------------------------------------------------------------------- */

void xb_pipe_wr_begin(struct xb_pipe_wr *w, void *buf, size_t cap, const struct xb_pipe_hdr *h)
{
    w->buf = buf;
    w->cap = cap < XB_PIPE_FRAME_MAX ? cap : XB_PIPE_FRAME_MAX;
    w->len = 0;
    w->err = !buf || w->cap < XB_PIPE_HDR_LEN;
    if (w->err)
        return;
    xb_pipe_hdr_encode(h, w->buf);   /* the length is patched in by xb_pipe_wr_end */
    w->len = XB_PIPE_HDR_LEN;
}

static unsigned char *room(struct xb_pipe_wr *w, size_t n)
{
    if (w->err || w->cap - w->len < n) {
        w->err = true;
        return NULL;
    }
    unsigned char *p = w->buf + w->len;
    w->len += n;
    return p;
}

void xb_pipe_wr_u32(struct xb_pipe_wr *w, uint32_t v)
{
    unsigned char *p = room(w, 4);
    if (p)
        xb_pipe_put_le32(p, v);
}

void xb_pipe_wr_u64(struct xb_pipe_wr *w, uint64_t v)
{
    unsigned char *p = room(w, 8);
    if (p)
        xb_pipe_put_le64(p, v);
}

void xb_pipe_wr_str(struct xb_pipe_wr *w, const char *s, size_t len)
{
    if (len > XB_PIPE_PAYLOAD_MAX) {
        w->err = true;
        return;
    }
    xb_pipe_wr_u32(w, (uint32_t)len);
    unsigned char *p = room(w, len);
    if (p && len)
        memcpy(p, s, len);
}

bool xb_pipe_wr_end(struct xb_pipe_wr *w, size_t *frame_len)
{
    *frame_len = 0;
    if (w->err)
        return false;
    xb_pipe_put_le32(w->buf + 12, (uint32_t)(w->len - XB_PIPE_HDR_LEN));
    *frame_len = w->len;
    return true;
}

/* --- requests -------------------------------------------------------------------------- */

/* An address as the store will see it: printable, no spaces; the store checks the rest. */
static bool email_ok(struct xb_pipe_str s)
{
    if (s.len == 0)
        return false;
    for (uint32_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c <= 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

static bool name_ok(struct xb_pipe_str s)
{
    for (uint32_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/* Every string field "" rather than NULL: callers may print any of them. */
#define EMPTY { "", 0 }
static const struct xb_pipe_req empty_req = {
    .client = EMPTY, .email = EMPTY, .provider = EMPTY, .text = EMPTY, .access = EMPTY,
    .refresh = EMPTY,
};
static const struct xb_pipe_reply empty_reply = {
    .message = EMPTY, .server = EMPTY, .email = EMPTY, .host = EMPTY, .user = EMPTY,
    .secret = EMPTY, .note = EMPTY, .last_error = EMPTY, .text = EMPTY,
};
#undef EMPTY

void xb_pipe_reply_init(struct xb_pipe_reply *r, const struct xb_pipe_hdr *h)
{
    *r = empty_reply;
    r->hdr = *h;
}

uint16_t xb_pipe_req_parse(const struct xb_pipe_hdr *h, const unsigned char *payload,
                           struct xb_pipe_req *out, const char **why)
{
    struct xb_pipe_rd rd;
    *out = empty_req;
    out->hdr = *h;
    *why = NULL;

    if (h->kind != XB_PIPE_KIND_REQUEST) {
        *why = "not a request (wrong frame kind)";
        return XB_PIPE_ST_BAD_REQUEST;
    }
    if (h->status != 0) {
        *why = "a request carries status 0";
        return XB_PIPE_ST_BAD_REQUEST;
    }
    /* HELLO's layout is frozen: it is understood in every version, so that two ends
     * that speak different versions can still find a common one. */
    if (h->op != XB_PIPE_OP_HELLO &&
        (h->version < XB_PIPE_VERSION_MIN || h->version > XB_PIPE_VERSION_MAX)) {
        *why = "protocol version not supported";
        return XB_PIPE_ST_VERSION;
    }
    xb_pipe_rd_init(&rd, payload, h->len);
    switch (h->op) {
    case XB_PIPE_OP_HELLO:
        out->min_version = xb_pipe_rd_u32(&rd);
        out->max_version = xb_pipe_rd_u32(&rd);
        out->client = xb_pipe_rd_str(&rd, XB_PIPE_NAME_MAX);
        if (!rd.err && (!name_ok(out->client) || out->min_version > out->max_version))
            rd.err = true;
        break;
    case XB_PIPE_OP_LIST_ACCOUNTS:
    case XB_PIPE_OP_SUBSCRIBE:
    case XB_PIPE_OP_GET_PORTS:
    case XB_PIPE_OP_RESTART_NOW:
        break;
    case XB_PIPE_OP_CHECK_SECRET:
        out->email = xb_pipe_rd_str(&rd, XB_PIPE_EMAIL_MAX);
        out->secret = xb_pipe_rd_str(&rd, XB_PIPE_SECRET_MAX);
        if (!rd.err && !email_ok(out->email))
            rd.err = true;
        break;
    case XB_PIPE_OP_OFFER_RESTART:
        out->pid = xb_pipe_rd_u32(&rd);
        out->program = xb_pipe_rd_str(&rd, XB_PIPE_PATH_MAX);
        out->profile = xb_pipe_rd_str(&rd, XB_PIPE_NAME_MAX);
        if (!rd.err && (out->pid == 0 || !out->program.len || !name_ok(out->program) ||
                        !name_ok(out->profile)))
            rd.err = true;
        break;
    case XB_PIPE_OP_ENROL:
    case XB_PIPE_OP_ACCOUNT_ADD:
        out->email = xb_pipe_rd_str(&rd, XB_PIPE_EMAIL_MAX);
        out->provider = xb_pipe_rd_str(&rd, XB_PIPE_PROVIDER_MAX);
        if (!rd.err && (!email_ok(out->email) || !name_ok(out->provider)))
            rd.err = true;
        break;
    case XB_PIPE_OP_GET_ENDPOINT:
    case XB_PIPE_OP_RESTORE:
    case XB_PIPE_OP_FORGET:
        out->email = xb_pipe_rd_str(&rd, XB_PIPE_EMAIL_MAX);
        if (!rd.err && !email_ok(out->email))
            rd.err = true;
        break;
    case XB_PIPE_OP_REPORT_FAILURE:
    case XB_PIPE_OP_REPORT_UNMATCHED:
        out->email = xb_pipe_rd_str(&rd, XB_PIPE_EMAIL_MAX);
        out->protocol = xb_pipe_rd_u32(&rd);
        out->code = xb_pipe_rd_u32(&rd);
        out->text = xb_pipe_rd_str(&rd, XB_PIPE_TEXT_MAX);
        if (!rd.err && (!email_ok(out->email) || out->protocol > XB_PIPE_PROTO_SMTP))
            rd.err = true;
        break;
    case XB_PIPE_OP_ACCOUNT_BRIDGED:
        out->email = xb_pipe_rd_str(&rd, XB_PIPE_EMAIL_MAX);
        out->protocol = xb_pipe_rd_u32(&rd);
        if (!rd.err && (!email_ok(out->email) || out->protocol > XB_PIPE_PROTO_SMTP))
            rd.err = true;
        break;
    case XB_PIPE_OP_SET_TOKENS:
        out->email = xb_pipe_rd_str(&rd, XB_PIPE_EMAIL_MAX);
        out->access = xb_pipe_rd_str(&rd, XB_PIPE_TOKEN_MAX);
        out->refresh = xb_pipe_rd_str(&rd, XB_PIPE_TOKEN_MAX);
        out->expires_in = xb_pipe_rd_u32(&rd);
        if (!rd.err && (!email_ok(out->email) || !email_ok(out->access) ||
                        (out->refresh.len && !email_ok(out->refresh)) || out->expires_in == 0))
            rd.err = true;
        break;
    default:
        *why = "unknown operation";
        return XB_PIPE_ST_UNKNOWN_OP;
    }
    if (!xb_pipe_rd_done(&rd)) {
        *why = rd.err ? "malformed or truncated fields" : "unexpected bytes after the fields";
        return XB_PIPE_ST_BAD_REQUEST;
    }
    return XB_PIPE_ST_OK;
}

bool xb_pipe_req_encode(const struct xb_pipe_req *r, void *buf, size_t cap, size_t *frame_len)
{
    struct xb_pipe_wr w;
    xb_pipe_wr_begin(&w, buf, cap, &r->hdr);
    switch (r->hdr.op) {
    case XB_PIPE_OP_HELLO:
        xb_pipe_wr_u32(&w, r->min_version);
        xb_pipe_wr_u32(&w, r->max_version);
        xb_pipe_wr_str(&w, r->client.p, r->client.len);
        break;
    case XB_PIPE_OP_ENROL:
    case XB_PIPE_OP_ACCOUNT_ADD:
        xb_pipe_wr_str(&w, r->email.p, r->email.len);
        xb_pipe_wr_str(&w, r->provider.p, r->provider.len);
        break;
    case XB_PIPE_OP_SET_TOKENS:
        xb_pipe_wr_str(&w, r->email.p, r->email.len);
        xb_pipe_wr_str(&w, r->access.p, r->access.len);
        xb_pipe_wr_str(&w, r->refresh.p, r->refresh.len);
        xb_pipe_wr_u32(&w, r->expires_in);
        break;
    case XB_PIPE_OP_GET_ENDPOINT:
    case XB_PIPE_OP_RESTORE:
    case XB_PIPE_OP_FORGET:
        xb_pipe_wr_str(&w, r->email.p, r->email.len);
        break;
    case XB_PIPE_OP_REPORT_FAILURE:
    case XB_PIPE_OP_REPORT_UNMATCHED:
        xb_pipe_wr_str(&w, r->email.p, r->email.len);
        xb_pipe_wr_u32(&w, r->protocol);
        xb_pipe_wr_u32(&w, r->code);
        xb_pipe_wr_str(&w, r->text.p, r->text.len);
        break;
    case XB_PIPE_OP_ACCOUNT_BRIDGED:
        xb_pipe_wr_str(&w, r->email.p, r->email.len);
        xb_pipe_wr_u32(&w, r->protocol);
        break;
    case XB_PIPE_OP_CHECK_SECRET:
        xb_pipe_wr_str(&w, r->email.p, r->email.len);
        xb_pipe_wr_str(&w, r->secret.p, r->secret.len);
        break;
    case XB_PIPE_OP_OFFER_RESTART:
        xb_pipe_wr_u32(&w, r->pid);
        xb_pipe_wr_str(&w, r->program.p, r->program.len);
        xb_pipe_wr_str(&w, r->profile.p, r->profile.len);
        break;
    default:
        break;
    }
    return xb_pipe_wr_end(&w, frame_len);
}

/* --- replies and events --------------------------------------------------------------- */

const char *xb_pipe_proto_name(uint32_t protocol)
{
    switch (protocol) {
    case XB_PIPE_PROTO_IMAP: return "IMAP";
    case XB_PIPE_PROTO_POP3: return "POP3";
    case XB_PIPE_PROTO_SMTP: return "SMTP";
    default: return "mail";
    }
}

struct xb_pipe_str xb_pipe_cstr(const char *s)
{
    struct xb_pipe_str v = { "", 0 };
    if (s) {
        v.p = s;
        v.len = (uint32_t)strlen(s);
    }
    return v;
}

static void rd_account(struct xb_pipe_rd *rd, struct xb_pipe_account *a)
{
    a->email = xb_pipe_rd_str(rd, XB_PIPE_EMAIL_MAX);
    a->provider = xb_pipe_rd_str(rd, XB_PIPE_PROVIDER_MAX);
    a->state = xb_pipe_rd_u32(rd);
    a->last_error = xb_pipe_rd_str(rd, XB_PIPE_TEXT_MAX);
    a->last_ok = xb_pipe_rd_u64(rd);
    a->last_fail = xb_pipe_rd_u64(rd);
    if (!rd->err && (!email_ok(a->email) || !name_ok(a->provider) ||
                     a->state > XB_PIPE_STATE_TEMP_ERROR))
        rd->err = true;
}

static bool port_ok(uint32_t port)
{
    return port <= 65535u;
}

/* An OK reply's fields. */
static void rd_ok_reply(struct xb_pipe_rd *rd, struct xb_pipe_reply *r, const char **why)
{
    switch (r->hdr.op) {
    case XB_PIPE_OP_HELLO:
        r->version = xb_pipe_rd_u32(rd);
        r->min_version = xb_pipe_rd_u32(rd);
        r->max_version = xb_pipe_rd_u32(rd);
        r->server = xb_pipe_rd_str(rd, XB_PIPE_NAME_MAX);
        if (!rd->err && (!name_ok(r->server) || r->min_version > r->max_version ||
                         r->version < r->min_version || r->version > r->max_version))
            rd->err = true;
        break;
    case XB_PIPE_OP_LIST_ACCOUNTS: {
        r->naccounts = xb_pipe_rd_u32(rd);
        r->accounts = *rd;
        /* Every account is checked now; the caller reads them again, knowing they hold. */
        struct xb_pipe_account a;
        for (uint32_t i = 0; i < r->naccounts && !rd->err; i++)
            rd_account(rd, &a);
        break;
    }
    case XB_PIPE_OP_ENROL:
        r->email = xb_pipe_rd_str(rd, XB_PIPE_EMAIL_MAX);
        r->created = xb_pipe_rd_u32(rd);
        if (!rd->err && (!email_ok(r->email) || r->created > 1))
            rd->err = true;
        break;
    case XB_PIPE_OP_GET_ENDPOINT:
        r->host = xb_pipe_rd_str(rd, XB_PIPE_HOST_MAX);
        r->imap = xb_pipe_rd_u32(rd);
        r->pop3 = xb_pipe_rd_u32(rd);
        r->smtp = xb_pipe_rd_u32(rd);
        r->user = xb_pipe_rd_str(rd, XB_PIPE_EMAIL_MAX);
        r->secret = xb_pipe_rd_str(rd, XB_PIPE_SECRET_MAX);
        if (!rd->err && (!email_ok(r->host) || !email_ok(r->user) || !email_ok(r->secret) ||
                         !port_ok(r->imap) || !port_ok(r->pop3) || !port_ok(r->smtp)))
            rd->err = true;
        break;
    case XB_PIPE_OP_GET_PORTS:
        r->host = xb_pipe_rd_str(rd, XB_PIPE_HOST_MAX);
        r->imap = xb_pipe_rd_u32(rd);
        r->pop3 = xb_pipe_rd_u32(rd);
        r->smtp = xb_pipe_rd_u32(rd);
        if (!rd->err && (!email_ok(r->host) || !port_ok(r->imap) || !port_ok(r->pop3) ||
                         !port_ok(r->smtp)))
            rd->err = true;
        break;
    case XB_PIPE_OP_CHECK_SECRET:
        r->current = xb_pipe_rd_u32(rd);
        if (!rd->err && r->current > 1)
            rd->err = true;
        break;
    case XB_PIPE_OP_RESTORE:
    case XB_PIPE_OP_FORGET:
        r->note = xb_pipe_rd_str(rd, XB_PIPE_TEXT_MAX);
        break;
    case XB_PIPE_OP_ACCOUNT_ADD:
        r->email = xb_pipe_rd_str(rd, XB_PIPE_EMAIL_MAX);
        r->secret = xb_pipe_rd_str(rd, XB_PIPE_SECRET_MAX);
        if (!rd->err && (!email_ok(r->email) || !email_ok(r->secret)))
            rd->err = true;
        break;
    case XB_PIPE_OP_REPORT_FAILURE:
    case XB_PIPE_OP_REPORT_UNMATCHED:
    case XB_PIPE_OP_SUBSCRIBE:
    case XB_PIPE_OP_ACCOUNT_BRIDGED:
    case XB_PIPE_OP_SET_TOKENS:
    case XB_PIPE_OP_OFFER_RESTART:
    case XB_PIPE_OP_RESTART_NOW:
        break;
    default:
        *why = "a reply to an unknown operation";
        rd->err = true;
        break;
    }
}

static void rd_event(struct xb_pipe_rd *rd, struct xb_pipe_reply *r, const char **why)
{
    switch (r->hdr.op) {
    case XB_PIPE_OP_STATE_CHANGED:
        r->email = xb_pipe_rd_str(rd, XB_PIPE_EMAIL_MAX);
        r->state = xb_pipe_rd_u32(rd);
        r->last_error = xb_pipe_rd_str(rd, XB_PIPE_TEXT_MAX);
        if (!rd->err && (!email_ok(r->email) || r->state > XB_PIPE_STATE_REMOVED))
            rd->err = true;
        break;
    case XB_PIPE_OP_FAILURE_REPORTED:
        r->email = xb_pipe_rd_str(rd, XB_PIPE_EMAIL_MAX);
        r->protocol = xb_pipe_rd_u32(rd);
        r->code = xb_pipe_rd_u32(rd);
        r->text = xb_pipe_rd_str(rd, XB_PIPE_TEXT_MAX);
        if (!rd->err && (!email_ok(r->email) || r->protocol > XB_PIPE_PROTO_SMTP))
            rd->err = true;
        break;
    case XB_PIPE_OP_RESTART_OUTLOOK:
        r->pid = xb_pipe_rd_u32(rd);
        if (!rd->err && r->pid == 0)
            rd->err = true;
        break;
    default:
        *why = "an unknown event";
        rd->err = true;
        break;
    }
}

bool xb_pipe_reply_parse(const struct xb_pipe_hdr *h, const unsigned char *payload,
                         struct xb_pipe_reply *out, const char **why)
{
    struct xb_pipe_rd rd;
    xb_pipe_reply_init(out, h);
    *why = NULL;

    xb_pipe_rd_init(&rd, payload, h->len);
    bool frozen = h->kind == XB_PIPE_KIND_REPLY &&
                  (h->status != XB_PIPE_ST_OK || h->op == XB_PIPE_OP_HELLO);
    if (h->kind != XB_PIPE_KIND_REPLY && h->kind != XB_PIPE_KIND_EVENT) {
        *why = "neither a reply nor an event";
        return false;
    }
    if (!frozen && (h->version < XB_PIPE_VERSION_MIN || h->version > XB_PIPE_VERSION_MAX)) {
        *why = "protocol version not spoken";
        return false;
    }
    if (h->kind == XB_PIPE_KIND_EVENT) {
        if (h->status != 0) {
            *why = "an event carries status 0";
            return false;
        }
        rd_event(&rd, out, why);
    } else if (h->status != XB_PIPE_ST_OK) {
        if (h->status > XB_PIPE_ST_INTERNAL) {
            *why = "an unknown status";
            return false;
        }
        out->message = xb_pipe_rd_str(&rd, XB_PIPE_TEXT_MAX);
        if (h->status == XB_PIPE_ST_VERSION) {
            out->min_version = xb_pipe_rd_u32(&rd);
            out->max_version = xb_pipe_rd_u32(&rd);
            if (!rd.err && out->min_version > out->max_version)
                rd.err = true;
        }
    } else {
        rd_ok_reply(&rd, out, why);
    }
    if (!xb_pipe_rd_done(&rd)) {
        if (!*why)
            *why = rd.err ? "malformed or truncated fields" : "unexpected bytes after the fields";
        return false;
    }
    return true;
}

bool xb_pipe_reply_account(struct xb_pipe_reply *r, struct xb_pipe_account *out)
{
    if (r->hdr.op != XB_PIPE_OP_LIST_ACCOUNTS || r->naccounts == 0 || r->accounts.err)
        return false;
    rd_account(&r->accounts, out);
    r->naccounts--;
    return !r->accounts.err;
}

void xb_pipe_wr_account(struct xb_pipe_wr *w, const struct xb_pipe_account *a)
{
    xb_pipe_wr_str(w, a->email.p, a->email.len);
    xb_pipe_wr_str(w, a->provider.p, a->provider.len);
    xb_pipe_wr_u32(w, a->state);
    xb_pipe_wr_str(w, a->last_error.p, a->last_error.len);
    xb_pipe_wr_u64(w, a->last_ok);
    xb_pipe_wr_u64(w, a->last_fail);
}

void xb_pipe_wr_reply(struct xb_pipe_wr *w, const struct xb_pipe_reply *r)
{
#define STR(f) xb_pipe_wr_str(w, r->f.p, r->f.len)
    if (r->hdr.kind == XB_PIPE_KIND_EVENT) {
        switch (r->hdr.op) {
        case XB_PIPE_OP_STATE_CHANGED:
            STR(email);
            xb_pipe_wr_u32(w, r->state);
            STR(last_error);
            break;
        case XB_PIPE_OP_FAILURE_REPORTED:
            STR(email);
            xb_pipe_wr_u32(w, r->protocol);
            xb_pipe_wr_u32(w, r->code);
            STR(text);
            break;
        case XB_PIPE_OP_RESTART_OUTLOOK:
            xb_pipe_wr_u32(w, r->pid);
            break;
        default:
            break;
        }
        return;
    }
    if (r->hdr.status != XB_PIPE_ST_OK) {
        STR(message);
        if (r->hdr.status == XB_PIPE_ST_VERSION) {
            xb_pipe_wr_u32(w, r->min_version);
            xb_pipe_wr_u32(w, r->max_version);
        }
        return;
    }
    switch (r->hdr.op) {
    case XB_PIPE_OP_HELLO:
        xb_pipe_wr_u32(w, r->version);
        xb_pipe_wr_u32(w, r->min_version);
        xb_pipe_wr_u32(w, r->max_version);
        STR(server);
        break;
    case XB_PIPE_OP_LIST_ACCOUNTS:
        xb_pipe_wr_u32(w, r->naccounts);
        break;
    case XB_PIPE_OP_ENROL:
        STR(email);
        xb_pipe_wr_u32(w, r->created);
        break;
    case XB_PIPE_OP_GET_ENDPOINT:
        STR(host);
        xb_pipe_wr_u32(w, r->imap);
        xb_pipe_wr_u32(w, r->pop3);
        xb_pipe_wr_u32(w, r->smtp);
        STR(user);
        STR(secret);
        break;
    case XB_PIPE_OP_RESTORE:
    case XB_PIPE_OP_FORGET:
        STR(note);
        break;
    case XB_PIPE_OP_ACCOUNT_ADD:
        STR(email);
        STR(secret);
        break;
    case XB_PIPE_OP_GET_PORTS:
        STR(host);
        xb_pipe_wr_u32(w, r->imap);
        xb_pipe_wr_u32(w, r->pop3);
        xb_pipe_wr_u32(w, r->smtp);
        break;
    case XB_PIPE_OP_CHECK_SECRET:
        xb_pipe_wr_u32(w, r->current);
        break;
    default:
        break;
    }
#undef STR
}

bool xb_pipe_reply_encode(const struct xb_pipe_reply *r, const struct xb_pipe_account *accounts,
                          void *buf, size_t cap, size_t *frame_len)
{
    struct xb_pipe_wr w;
    xb_pipe_wr_begin(&w, buf, cap, &r->hdr);
    xb_pipe_wr_reply(&w, r);
    if (r->hdr.kind == XB_PIPE_KIND_REPLY && r->hdr.status == XB_PIPE_ST_OK &&
        r->hdr.op == XB_PIPE_OP_LIST_ACCOUNTS)
        for (uint32_t i = 0; i < r->naccounts; i++)
            xb_pipe_wr_account(&w, &accounts[i]);
    return xb_pipe_wr_end(&w, frame_len);
}
