#include "pipe_codec.h"

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

void xb_pipe_wr_cstr(struct xb_pipe_wr *w, const char *s)
{
    xb_pipe_wr_str(w, s ? s : "", s ? strlen(s) : 0);
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

uint16_t xb_pipe_req_parse(const struct xb_pipe_hdr *h, const unsigned char *payload,
                           struct xb_pipe_req *out, const char **why)
{
    struct xb_pipe_rd rd;
    memset(out, 0, sizeof(*out));
    out->hdr = *h;
    out->client = out->email = out->provider = out->text = (struct xb_pipe_str){ "", 0 };
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
        break;
    case XB_PIPE_OP_ENROL:
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
        xb_pipe_wr_str(&w, r->email.p, r->email.len);
        xb_pipe_wr_str(&w, r->provider.p, r->provider.len);
        break;
    case XB_PIPE_OP_GET_ENDPOINT:
    case XB_PIPE_OP_RESTORE:
    case XB_PIPE_OP_FORGET:
        xb_pipe_wr_str(&w, r->email.p, r->email.len);
        break;
    case XB_PIPE_OP_REPORT_FAILURE:
        xb_pipe_wr_str(&w, r->email.p, r->email.len);
        xb_pipe_wr_u32(&w, r->protocol);
        xb_pipe_wr_u32(&w, r->code);
        xb_pipe_wr_str(&w, r->text.p, r->text.len);
        break;
    case XB_PIPE_OP_ACCOUNT_BRIDGED:
        xb_pipe_wr_str(&w, r->email.p, r->email.len);
        xb_pipe_wr_u32(&w, r->protocol);
        break;
    default:
        break;
    }
    return xb_pipe_wr_end(&w, frame_len);
}

void xb_pipe_reply_message(const unsigned char *payload, size_t len, char *buf, size_t size)
{
    struct xb_pipe_rd rd;
    xb_pipe_rd_init(&rd, payload, len);
    struct xb_pipe_str s = xb_pipe_rd_str(&rd, XB_PIPE_TEXT_MAX);
    if (rd.err || !xb_pipe_str_copy(s, buf, size)) {
        if (size)
            buf[0] = '\0';
    }
}
