/*
 * The control protocol's codec (pipe_proto.h, core/pipe_codec.c) from data: frames
 * written out byte by byte in hex, each with what the header check and the request
 * check must say. Then the writer, strings and UTF-8, and round trips of every op.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pipe_codec.h"

#include "xbtest.h"

/* "58 42 01 ..." -> bytes; spaces and '|' are for the eye. Returns the length. */
static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    int half = -1;
    for (; *hex; hex++) {
        int v;
        if (*hex >= '0' && *hex <= '9')
            v = *hex - '0';
        else if (*hex >= 'a' && *hex <= 'f')
            v = *hex - 'a' + 10;
        else if (*hex >= 'A' && *hex <= 'F')
            v = *hex - 'A' + 10;
        else
            continue;
        if (half < 0) {
            half = v;
        } else if (n < cap) {
            out[n++] = (unsigned char)(half << 4 | v);
            half = -1;
        }
    }
    return n;
}

/* Header fields of every case below: magic | version kind | op | status | id | length. */
struct frame_case {
    const char *name;
    const char *hex;
    enum xb_pipe_hdr_check check;
    uint16_t status;           /* of xb_pipe_req_parse, when the header is OK */
};

static const struct frame_case frame_cases[] = {
    { "hello", "5842 0101 0100 0000 01000000 0b000000 01000000 01000000 00000000"
               "  ", XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },   /* 12 bytes, says 11 */
    { "hello exact", "5842 0101 0100 0000 01000000 0c000000 01000000 02000000 00000000",
      XB_PIPE_HDR_OK, XB_PIPE_ST_OK },
    { "hello with a name", "5842 0101 0100 0000 01000000 0f000000 01000000 01000000"
                           " 03000000 636c69", XB_PIPE_HDR_OK, XB_PIPE_ST_OK },
    { "hello min > max", "5842 0101 0100 0000 01000000 0c000000 02000000 01000000 00000000",
      XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "hello name with a control", "5842 0101 0100 0000 01000000 0d000000 01000000 01000000"
                                   " 01000000 07", XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "hello in a future version", "5842 0901 0100 0000 01000000 0c000000 01000000 09000000"
                                   " 00000000", XB_PIPE_HDR_OK, XB_PIPE_ST_OK },
    { "list", "5842 0101 0200 0000 02000000 00000000", XB_PIPE_HDR_OK, XB_PIPE_ST_OK },
    { "list with a stray byte", "5842 0101 0200 0000 02000000 01000000 00",
      XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "list version 0", "5842 0001 0200 0000 02000000 00000000", XB_PIPE_HDR_OK,
      XB_PIPE_ST_VERSION },
    { "list version 2", "5842 0201 0200 0000 02000000 00000000", XB_PIPE_HDR_OK,
      XB_PIPE_ST_VERSION },
    { "a reply sent as request", "5842 0102 0200 0000 02000000 00000000", XB_PIPE_HDR_OK,
      XB_PIPE_ST_BAD_REQUEST },
    { "an event sent as request", "5842 0103 0180 0000 02000000 00000000", XB_PIPE_HDR_OK,
      XB_PIPE_ST_BAD_REQUEST },
    { "kind 0", "5842 0100 0200 0000 02000000 00000000", XB_PIPE_HDR_OK,
      XB_PIPE_ST_BAD_REQUEST },
    { "request with a status", "5842 0101 0200 0100 02000000 00000000", XB_PIPE_HDR_OK,
      XB_PIPE_ST_BAD_REQUEST },
    { "unknown op", "5842 0101 6300 0000 03000000 00000000", XB_PIPE_HDR_OK,
      XB_PIPE_ST_UNKNOWN_OP },
    { "event op as request", "5842 0101 0180 0000 03000000 00000000", XB_PIPE_HDR_OK,
      XB_PIPE_ST_UNKNOWN_OP },
    { "op 0", "5842 0101 0000 0000 03000000 00000000", XB_PIPE_HDR_OK, XB_PIPE_ST_UNKNOWN_OP },
    { "enrol", "5842 0101 0300 0000 04000000 0d000000 05000000 61406222636f 00000000",
      XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },  /* '"' is fine, but 6 bytes for 5 */
    { "enrol a@b.c", "5842 0101 0300 0000 04000000 0d000000 05000000 6140622e63 00000000",
      XB_PIPE_HDR_OK, XB_PIPE_ST_OK },
    { "enrol with provider", "5842 0101 0300 0000 04000000 13000000 05000000 6140622e63"
                             " 06000000 676f6f676c65", XB_PIPE_HDR_OK, XB_PIPE_ST_OK },
    { "enrol without the provider field", "5842 0101 0300 0000 04000000 09000000 05000000"
                                          " 6140622e63", XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "enrol truncated string", "5842 0101 0300 0000 04000000 09000000 0a000000 6140622e63",
      XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "enrol empty address", "5842 0101 0300 0000 04000000 08000000 00000000 00000000",
      XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "enrol address with a space", "5842 0101 0300 0000 04000000 0d000000 05000000 6120622e63"
                                    " 00000000", XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "string length 2^32-1", "5842 0101 0400 0000 05000000 08000000 ffffffff 61626364",
      XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "endpoint", "5842 0101 0400 0000 05000000 09000000 05000000 6140622e63", XB_PIPE_HDR_OK,
      XB_PIPE_ST_OK },
    { "endpoint, NUL in the address", "5842 0101 0400 0000 05000000 09000000 05000000"
                                      " 6140002e63", XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "endpoint, overlong UTF-8", "5842 0101 0400 0000 05000000 09000000 05000000 c0af40622e",
      XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "endpoint, Japanese address", "5842 0101 0400 0000 05000000 16000000 11000000"
                                    " e697a5e69cac 40 6578616d706c652e6a70 00", XB_PIPE_HDR_OK,
      XB_PIPE_ST_BAD_REQUEST },  /* a stray byte after the string */
    { "endpoint, Japanese address exact", "5842 0101 0400 0000 05000000 15000000 11000000"
                                          " e697a5e69cac 40 6578616d706c652e6a70",
      XB_PIPE_HDR_OK, XB_PIPE_ST_OK },
    { "report", "5842 0101 0500 0000 06000000 23000000 05000000 6140622e63 02000000 92cc0c80"
                " 0e000000 4c6f67696e206661696c65640d0a", XB_PIPE_HDR_OK, XB_PIPE_ST_OK },
    { "report, protocol 4", "5842 0101 0500 0000 06000000 15000000 05000000 6140622e63"
                            " 04000000 00000000 00000000", XB_PIPE_HDR_OK,
      XB_PIPE_ST_BAD_REQUEST },
    { "report without text", "5842 0101 0500 0000 06000000 11000000 05000000 6140622e63"
                             " 01000000 00000000", XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "restore", "5842 0101 0600 0000 07000000 09000000 05000000 6140622e63", XB_PIPE_HDR_OK,
      XB_PIPE_ST_OK },
    { "forget", "5842 0101 0700 0000 08000000 09000000 05000000 6140622e63", XB_PIPE_HDR_OK,
      XB_PIPE_ST_OK },
    { "subscribe", "5842 0101 0800 0000 09000000 00000000", XB_PIPE_HDR_OK, XB_PIPE_ST_OK },
    { "bridged", "5842 0101 0900 0000 0a000000 0d000000 05000000 6140622e63 02000000",
      XB_PIPE_HDR_OK, XB_PIPE_ST_OK },
    { "bridged, protocol 9", "5842 0101 0900 0000 0a000000 0d000000 05000000 6140622e63"
                             " 09000000", XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "subscribe with payload", "5842 0101 0800 0000 09000000 04000000 00000000",
      XB_PIPE_HDR_OK, XB_PIPE_ST_BAD_REQUEST },
    { "wrong magic", "5843 0101 0200 0000 02000000 00000000", XB_PIPE_HDR_BAD_MAGIC, 0 },
    { "magic big-endian", "4258 0101 0200 0000 02000000 00000000", XB_PIPE_HDR_BAD_MAGIC, 0 },
    { "HTTP", "4745 5420 2f20 4854 5450 2f31 2e31 0d0a", XB_PIPE_HDR_BAD_MAGIC, 0 },
    { "longest payload", "5842 0101 0200 0000 02000000 f0ff0100", XB_PIPE_HDR_OK,
      XB_PIPE_ST_BAD_REQUEST },   /* LIST with 131056 payload bytes (zeros) */
    { "one byte too long", "5842 0101 0200 0000 02000000 f1ff0100", XB_PIPE_HDR_TOO_LONG, 0 },
    { "length 2^32-1", "5842 0101 0200 0000 02000000 ffffffff", XB_PIPE_HDR_TOO_LONG, 0 },
};

static unsigned char big[XB_PIPE_FRAME_MAX + 64];

static void frames_from_data(void)
{
    for (size_t i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
        const struct frame_case *fc = &frame_cases[i];
        memset(big, 0, sizeof(big));
        size_t n = unhex(fc->hex, big, sizeof(big));
        struct xb_pipe_hdr h;
        CHECK(n >= XB_PIPE_HDR_LEN);
        enum xb_pipe_hdr_check check = xb_pipe_hdr_decode(big, &h);
        if (check != fc->check)
            printf("#   case '%s': header check %d, want %d\n", fc->name, check, fc->check);
        CHECK(check == fc->check);
        if (check != XB_PIPE_HDR_OK)
            continue;
        /* The payload as the server sees it: exactly h.len bytes after the header (the
         * cases that say more than they carry are zero-filled, as by a short frame). */
        struct xb_pipe_req r;
        const char *why = "?";
        uint16_t st = xb_pipe_req_parse(&h, big + XB_PIPE_HDR_LEN, &r, &why);
        if (st != fc->status)
            printf("#   case '%s': status %u (%s), want %u\n", fc->name, st, why ? why : "",
                   fc->status);
        CHECK(st == fc->status);
        CHECK((st == XB_PIPE_ST_OK) == (why == NULL));
        CHECK(r.hdr.id == h.id && r.hdr.op == h.op);
    }
}

static void header_bytes_are_little_endian(void)
{
    unsigned char b[XB_PIPE_HDR_LEN], again[XB_PIPE_HDR_LEN];
    unhex("58 42 01 02 34 12 78 56 f0 de bc 9a 04 00 00 00", b, sizeof(b));
    struct xb_pipe_hdr h;
    CHECK(xb_pipe_hdr_decode(b, &h) == XB_PIPE_HDR_OK);
    CHECK(h.version == 1 && h.kind == 2 && h.op == 0x1234 && h.status == 0x5678);
    CHECK(h.id == 0x9abcdef0u && h.len == 4);
    xb_pipe_hdr_encode(&h, again);
    CHECK(memcmp(b, again, sizeof(b)) == 0);

    unsigned char n[8];
    xb_pipe_put_le64(n, 0x0102030405060708ull);
    CHECK(n[0] == 8 && n[7] == 1 && xb_pipe_get_le64(n) == 0x0102030405060708ull);
    xb_pipe_put_le32(n, 0xfffffffeu);
    CHECK(n[0] == 0xfe && n[3] == 0xff && xb_pipe_get_le32(n) == 0xfffffffeu);
}

static void reader_is_sticky(void)
{
    unsigned char b[16];
    size_t n = unhex("03000000 616263 01000000", b, sizeof(b));
    struct xb_pipe_rd rd;
    xb_pipe_rd_init(&rd, b, n);
    struct xb_pipe_str s = xb_pipe_rd_str(&rd, 10);
    CHECK(s.len == 3 && memcmp(s.p, "abc", 3) == 0);
    CHECK(xb_pipe_rd_u32(&rd) == 1);
    CHECK(xb_pipe_rd_done(&rd));
    CHECK(xb_pipe_rd_u32(&rd) == 0 && rd.err);    /* past the end */
    CHECK(xb_pipe_rd_str(&rd, 10).len == 0 && !xb_pipe_rd_done(&rd));

    xb_pipe_rd_init(&rd, b, n);
    s = xb_pipe_rd_str(&rd, 2);                    /* over its limit */
    CHECK(rd.err && s.len == 0);
    CHECK(xb_pipe_rd_u32(&rd) == 0);               /* and stays failed */
    xb_pipe_rd_init(&rd, b, 6);
    CHECK(xb_pipe_rd_u64(&rd) == 0 && rd.err);

    char buf[4];
    CHECK(xb_pipe_str_copy((struct xb_pipe_str){ "abc", 3 }, buf, sizeof(buf)));
    CHECK_STR(buf, "abc");
    CHECK(!xb_pipe_str_copy((struct xb_pipe_str){ "abcd", 4 }, buf, sizeof(buf)));
    CHECK_STR(buf, "");
}

static void utf8_vectors(void)
{
    static const char *const good[] = { "", "abc", "c3a9", "e697a5e69cac", "f09d849e",
                                        "efbfbf", "f48fbfbf", "7f" };
    static const char *const bad[] = { "c3", "e080 80", "c0af", "c180", "eda080", "edbfbf",
                                       "f4908080", "f8888080 80", "ff", "80", "e6 97",
                                       "e697 41" };
    unsigned char b[16];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t n = unhex(good[i], b, sizeof(b));
        if (good[i][0] == 'a')
            n = strlen(good[i]), memcpy(b, good[i], n);
        CHECK(xb_pipe_utf8_ok((const char *)b, n));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = unhex(bad[i], b, sizeof(b));
        if (xb_pipe_utf8_ok((const char *)b, n))
            printf("#   accepted bad UTF-8 %s\n", bad[i]);
        CHECK(!xb_pipe_utf8_ok((const char *)b, n));
    }
}

static void writer_exact_bytes_and_limits(void)
{
    unsigned char buf[64], want[64];
    struct xb_pipe_hdr h = { .version = 1, .kind = XB_PIPE_KIND_REPLY, .op = 4, .status = 0,
                             .id = 0x01020304 };
    struct xb_pipe_wr w;
    size_t len = 0;
    xb_pipe_wr_begin(&w, buf, sizeof(buf), &h);
    xb_pipe_wr_str(&w, "host", 4);
    xb_pipe_wr_u32(&w, 143);
    xb_pipe_wr_u64(&w, 0x1122334455667788ull);
    xb_pipe_wr_str(&w, "", 0);
    CHECK(xb_pipe_wr_end(&w, &len));
    size_t n = unhex("5842 0102 0400 0000 04030201 18000000 | 04000000 686f7374 | 8f000000"
                     "| 8877665544332211 | 00000000", want, sizeof(want));
    CHECK(len == n && memcmp(buf, want, n) == 0);

    /* Too small: the error sticks and no frame comes out. */
    xb_pipe_wr_begin(&w, buf, 20, &h);
    xb_pipe_wr_u32(&w, 1);
    xb_pipe_wr_u32(&w, 2);
    xb_pipe_wr_u32(&w, 3);
    CHECK(w.err && !xb_pipe_wr_end(&w, &len) && len == 0);
    xb_pipe_wr_begin(&w, buf, 8, &h);
    CHECK(w.err);

    /* A reply larger than a frame fails even in a larger buffer. */
    static unsigned char huge[2 * XB_PIPE_FRAME_MAX];
    static char text[XB_PIPE_TEXT_MAX];
    memset(text, 'x', sizeof(text));
    xb_pipe_wr_begin(&w, huge, sizeof(huge), &h);
    for (int i = 0; i < 70; i++)
        xb_pipe_wr_str(&w, text, sizeof(text));
    CHECK(w.err && !xb_pipe_wr_end(&w, &len));

}

static struct xb_pipe_str S(const char *s)
{
    return (struct xb_pipe_str){ s, (uint32_t)strlen(s) };
}

static bool same_str(struct xb_pipe_str a, struct xb_pipe_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void every_op_round_trips(void)
{
    static char long_email[XB_PIPE_EMAIL_MAX + 2];
    memset(long_email, 'a', sizeof(long_email) - 1);
    long_email[10] = '@';
    long_email[XB_PIPE_EMAIL_MAX] = '\0';          /* exactly the limit */
    struct xb_pipe_req reqs[] = {
        { .hdr.op = XB_PIPE_OP_HELLO, .min_version = 1, .max_version = 3, .client = S("addin x86") },
        { .hdr.op = XB_PIPE_OP_LIST_ACCOUNTS },
        { .hdr.op = XB_PIPE_OP_ENROL, .email = S("taro@example.jp"), .provider = S("google") },
        { .hdr.op = XB_PIPE_OP_ENROL, .email = S(long_email), .provider = S("") },
        { .hdr.op = XB_PIPE_OP_GET_ENDPOINT, .email = S("taro@example.jp") },
        { .hdr.op = XB_PIPE_OP_REPORT_FAILURE, .email = S("taro@example.jp"),
          .protocol = XB_PIPE_PROTO_POP3, .code = 0x800ccc90u,
          .text = S("ログオンに失敗しました\r\n") },
        { .hdr.op = XB_PIPE_OP_REPORT_UNMATCHED, .email = S("taro@example.jp"),
          .protocol = XB_PIPE_PROTO_SMTP, .code = 0x800ccc78u, .text = S("new words") },
        { .hdr.op = XB_PIPE_OP_RESTORE, .email = S("a@b") },
        { .hdr.op = XB_PIPE_OP_FORGET, .email = S("a@b") },
        { .hdr.op = XB_PIPE_OP_SUBSCRIBE },
        { .hdr.op = XB_PIPE_OP_ACCOUNT_BRIDGED, .email = S("taro@example.jp"),
          .protocol = XB_PIPE_PROTO_IMAP },
        { .hdr.op = XB_PIPE_OP_CHECK_SECRET, .email = S("taro@example.jp"),
          .secret = S("my google pässword") },
        { .hdr.op = XB_PIPE_OP_CHECK_SECRET, .email = S("taro@example.jp"), .secret = S("") },
        { .hdr.op = XB_PIPE_OP_GET_PORTS },
        { .hdr.op = XB_PIPE_OP_RESTART_NOW },
        { .hdr.op = XB_PIPE_OP_OFFER_RESTART, .pid = 4242,
          .program = S("C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"),
          .profile = S("Outlook") },
    };
    unsigned char buf[1024];
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        struct xb_pipe_req *q = &reqs[i], back;
        size_t len = 0;
        const char *why = NULL;
        struct xb_pipe_hdr h;
        q->hdr.version = 1;
        q->hdr.kind = XB_PIPE_KIND_REQUEST;
        q->hdr.id = (uint32_t)(1000 + i);
        CHECK(xb_pipe_req_encode(q, buf, sizeof(buf), &len));
        CHECK(xb_pipe_hdr_decode(buf, &h) == XB_PIPE_HDR_OK && h.len + XB_PIPE_HDR_LEN == len);
        CHECK(xb_pipe_req_parse(&h, buf + XB_PIPE_HDR_LEN, &back, &why) == XB_PIPE_ST_OK);
        CHECK(back.hdr.id == q->hdr.id && back.min_version == q->min_version &&
              back.max_version == q->max_version && back.protocol == q->protocol &&
              back.code == q->code);
        CHECK(same_str(back.client, q->client) && same_str(back.email, q->email) &&
              same_str(back.provider, q->provider) && same_str(back.text, q->text));
        CHECK(same_str(back.secret, q->secret) && back.pid == q->pid &&
              same_str(back.program, q->program) && same_str(back.profile, q->profile));
        /* Every shorter prefix of the payload is refused, none read past its end. */
        for (uint32_t cut = 0; cut < h.len; cut++) {
            struct xb_pipe_hdr hc = h;
            hc.len = cut;
            unsigned char *copy = malloc(cut ? cut : 1);
            memcpy(copy, buf + XB_PIPE_HDR_LEN, cut);
            CHECK(xb_pipe_req_parse(&hc, copy, &back, &why) == XB_PIPE_ST_BAD_REQUEST);
            free(copy);
        }
    }
    /* One byte over the address limit. */
    long_email[XB_PIPE_EMAIL_MAX] = 'a';
    struct xb_pipe_req over = { .hdr = { 1, XB_PIPE_KIND_REQUEST, XB_PIPE_OP_GET_ENDPOINT, 0, 1, 0 },
                                .email = S(long_email) };
    size_t len = 0;
    const char *why = NULL;
    struct xb_pipe_hdr h;
    struct xb_pipe_req back;
    CHECK(xb_pipe_req_encode(&over, buf, sizeof(buf), &len));
    xb_pipe_hdr_decode(buf, &h);
    CHECK(xb_pipe_req_parse(&h, buf + XB_PIPE_HDR_LEN, &back, &why) == XB_PIPE_ST_BAD_REQUEST);
}

/* --- replies and events ------------------------------------------------------------------ */

static struct xb_pipe_reply reply(uint8_t kind, uint16_t op, uint16_t status)
{
    struct xb_pipe_reply r;
    struct xb_pipe_hdr h = { .version = 1, .kind = kind, .op = op, .status = status, .id = 7 };
    xb_pipe_reply_init(&r, &h);
    return r;
}

static bool same_reply(const struct xb_pipe_reply *a, const struct xb_pipe_reply *b)
{
    return a->hdr.op == b->hdr.op && a->hdr.status == b->hdr.status && a->hdr.id == b->hdr.id &&
           same_str(a->message, b->message) && a->min_version == b->min_version &&
           a->max_version == b->max_version && a->version == b->version &&
           same_str(a->server, b->server) && a->naccounts == b->naccounts &&
           same_str(a->email, b->email) && a->created == b->created &&
           same_str(a->host, b->host) && same_str(a->user, b->user) &&
           same_str(a->secret, b->secret) && a->imap == b->imap && a->pop3 == b->pop3 &&
           a->smtp == b->smtp && same_str(a->note, b->note) && a->state == b->state &&
           same_str(a->last_error, b->last_error) && a->protocol == b->protocol &&
           a->code == b->code && same_str(a->text, b->text) && a->current == b->current &&
           a->pid == b->pid;
}

static void every_reply_and_event_round_trips(void)
{
    struct xb_pipe_account accts[3] = {
        { S("taro@example.jp"), S("google"), S(""), XB_PIPE_STATE_OK, 1700000000u, 0 },
        { S("hanako@example.ac.jp"), S("google"), S("invalid_grant: 期限切れ"),
          XB_PIPE_STATE_NEEDS_SIGNIN, 1700000000u, 1700000100u },
        { S("x@y"), S("microsoft"), S(""), XB_PIPE_STATE_NEW, 0, 0 },
    };
    struct xb_pipe_reply r[24];
    size_t n = 0;
    r[n] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_HELLO, 0);
    r[n].version = 1, r[n].min_version = 1, r[n].max_version = 2;
    r[n++].server = S("xoauthbridge 0.1.0 (windows x64)");
    r[n] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_LIST_ACCOUNTS, 0);
    r[n++].naccounts = 3;
    r[n++] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_LIST_ACCOUNTS, 0);     /* none */
    r[n] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_ENROL, 0);
    r[n].email = S("taro@example.jp"), r[n++].created = 1;
    r[n] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_GET_ENDPOINT, 0);
    r[n].host = S("127.0.0.1"), r[n].imap = 1143, r[n].pop3 = 0, r[n].smtp = 1587;
    r[n].user = S("recent:taro@example.jp"), r[n++].secret = S("Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4");
    r[n] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_RESTORE, 0);
    r[n++].note = S("the provider did not answer");
    r[n++] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_FORGET, 0);
    r[n++] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_SUBSCRIBE, 0);
    r[n++] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_REPORT_FAILURE, 0);
    r[n++] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_REPORT_UNMATCHED, 0);
    r[n++] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_ACCOUNT_BRIDGED, 0);
    r[n] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_ENROL, XB_PIPE_ST_AUTH_NEEDED);
    r[n++].message = S("access was not granted on the consent page");
    r[n] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_GET_ENDPOINT, XB_PIPE_ST_VERSION);
    r[n].message = S("protocol version not supported"), r[n].min_version = 1;
    r[n++].max_version = 1;
    r[n] = reply(XB_PIPE_KIND_EVENT, XB_PIPE_OP_STATE_CHANGED, 0);
    r[n].email = S("taro@example.jp"), r[n].state = XB_PIPE_STATE_REMOVED;
    r[n++].last_error = S("");
    r[n] = reply(XB_PIPE_KIND_EVENT, XB_PIPE_OP_FAILURE_REPORTED, 0);
    r[n].email = S("taro@example.jp"), r[n].protocol = XB_PIPE_PROTO_SMTP;
    r[n].code = 0x800ccc78u, r[n++].text = S("送信エラー");
    r[n] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_GET_PORTS, 0);
    r[n].host = S("127.0.0.1"), r[n].imap = 1143, r[n].pop3 = 1110, r[n++].smtp = 0;
    r[n] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_CHECK_SECRET, 0);
    r[n++].current = 1;
    r[n++] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_CHECK_SECRET, 0);
    r[n++] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_OFFER_RESTART, 0);
    r[n++] = reply(XB_PIPE_KIND_REPLY, XB_PIPE_OP_RESTART_NOW, 0);
    r[n] = reply(XB_PIPE_KIND_EVENT, XB_PIPE_OP_RESTART_OUTLOOK, 0);
    r[n++].pid = 4242;

    static unsigned char buf[4096];
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *why = NULL;
        struct xb_pipe_hdr h;
        struct xb_pipe_reply back;
        CHECK(xb_pipe_reply_encode(&r[i], accts, buf, sizeof(buf), &len));
        CHECK(xb_pipe_hdr_decode(buf, &h) == XB_PIPE_HDR_OK && h.len + XB_PIPE_HDR_LEN == len);
        CHECK(xb_pipe_reply_parse(&h, buf + XB_PIPE_HDR_LEN, &back, &why));
        CHECK(why == NULL);
        CHECK(same_reply(&back, &r[i]));
        if (r[i].hdr.op == XB_PIPE_OP_LIST_ACCOUNTS && r[i].hdr.status == 0) {
            struct xb_pipe_account a;
            uint32_t k = 0;
            while (xb_pipe_reply_account(&back, &a)) {
                CHECK(same_str(a.email, accts[k].email) && same_str(a.provider, accts[k].provider) &&
                      same_str(a.last_error, accts[k].last_error) && a.state == accts[k].state &&
                      a.last_ok == accts[k].last_ok && a.last_fail == accts[k].last_fail);
                k++;
            }
            CHECK(k == r[i].naccounts);
        }
        /* Every shorter payload is refused without reading past its end, and so is one
         * byte more. */
        for (uint32_t cut = 0; cut < h.len; cut++) {
            struct xb_pipe_hdr hc = h;
            hc.len = cut;
            unsigned char *copy = malloc(cut ? cut : 1);
            memcpy(copy, buf + XB_PIPE_HDR_LEN, cut);
            CHECK(!xb_pipe_reply_parse(&hc, copy, &back, &why) && why != NULL);
            free(copy);
        }
        struct xb_pipe_hdr hx = h;
        hx.len++;
        buf[len] = 0;
        CHECK(!xb_pipe_reply_parse(&hx, buf + XB_PIPE_HDR_LEN, &back, &why));
    }
}

/* Replies written out byte by byte from docs/pipe-protocol.md, and broken ones. */
struct reply_case {
    const char *name;
    const char *hex;
    bool ok;
};

static const struct reply_case reply_cases[] = {
    { "enrol reply", "5842 0102 0300 0000 05000000 0d000000 05000000 6140622e 63 01000000", true },
    { "enrol created 2", "5842 0102 0300 0000 05000000 0d000000 05000000 6140622e 63 02000000",
      false },
    { "error reply", "5842 0102 0400 0400 05000000 06000000 02000000 6e6f", true },
    { "error reply in any version", "5842 0902 0400 0400 05000000 06000000 02000000 6e6f", true },
    { "ok reply in a version not spoken", "5842 0902 0800 0000 05000000 00000000", false },
    { "unknown status", "5842 0102 0400 0900 05000000 06000000 02000000 6e6f", false },
    { "version error", "5842 0102 0400 0300 05000000 0c000000 00000000 01000000 02000000", true },
    { "version error min > max", "5842 0102 0400 0300 05000000 0c000000 00000000 02000000 01000000",
      false },
    { "endpoint", "5842 0102 0400 0000 05000000 22000000 03000000 6c6f63"
      " 77040000 00000000 33060000 04000000 61406263 03000000 736563", true },
    { "endpoint port over 65535", "5842 0102 0400 0000 05000000 22000000 03000000 6c6f63"
      " 77040000 00000000 00000100 04000000 61406263 03000000 736563", false },
    { "endpoint secret with a space", "5842 0102 0400 0000 05000000 22000000 03000000 6c6f63"
      " 77040000 00000000 33060000 04000000 61406263 03000000 732063", false },
    { "list, state 9", "5842 0102 0200 0000 05000000 2d000000 01000000 03000000 614062"
      " 06000000 676f6f676c65 09000000 00000000 0000000000000000 0000000000000000", false },
    { "list, one", "5842 0102 0200 0000 05000000 2d000000 01000000 03000000 614062"
      " 06000000 676f6f676c65 01000000 00000000 0000000000000000 0000000000000000", true },
    { "list says two, has one", "5842 0102 0200 0000 05000000 2d000000 02000000 03000000 614062"
      " 06000000 676f6f676c65 01000000 00000000 0000000000000000 0000000000000000", false },
    { "state event", "5842 0103 0180 0000 09000000 0f000000 03000000 614062 04000000 00000000",
      true },
    { "state event with a status", "5842 0103 0180 0100 09000000 0f000000 03000000 614062"
      " 04000000 00000000", false },
    { "state event, state 5", "5842 0103 0180 0000 09000000 0f000000 03000000 614062 05000000"
      " 00000000", false },
    { "unknown event", "5842 0103 0480 0000 09000000 00000000", false },
    { "restart event", "5842 0103 0380 0000 09000000 04000000 92100000", true },
    { "restart event, pid 0", "5842 0103 0380 0000 09000000 04000000 00000000", false },
    { "check secret, current 2", "5842 0102 0c00 0000 05000000 04000000 02000000", false },
    { "a request is no reply", "5842 0101 0200 0000 05000000 00000000", false },
    { "reply to an unknown op", "5842 0102 7700 0000 05000000 00000000", false },
};

static void replies_from_data(void)
{
    for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
        const struct reply_case *c = &reply_cases[i];
        unsigned char frame[512];
        size_t n = unhex(c->hex, frame, sizeof(frame));
        struct xb_pipe_hdr h;
        struct xb_pipe_reply r;
        const char *why = NULL;
        bool framed = n >= XB_PIPE_HDR_LEN && xb_pipe_hdr_decode(frame, &h) == XB_PIPE_HDR_OK &&
                      h.len == n - XB_PIPE_HDR_LEN;
        bool ok = framed && xb_pipe_reply_parse(&h, frame + XB_PIPE_HDR_LEN, &r, &why);
        if (ok != c->ok)
            printf("#   reply case '%s': parse says %s (%s)\n", c->name, ok ? "ok" : "refused",
                   why ? why : framed ? "-" : "not framed");
        CHECK(ok == c->ok);
    }
}

XBTEST_MAIN(XBTEST(frames_from_data), XBTEST(header_bytes_are_little_endian),
            XBTEST(reader_is_sticky), XBTEST(utf8_vectors),
            XBTEST(writer_exact_bytes_and_limits), XBTEST(every_op_round_trips),
            XBTEST(every_reply_and_event_round_trips), XBTEST(replies_from_data))
