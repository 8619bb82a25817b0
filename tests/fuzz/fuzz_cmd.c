/*
 * libFuzzer target: the POP3 or the SMTP command parser (both "KEYWORD args" lines; built
 * twice, as fuzz_pop3 with FUZZ_POP3 and as fuzz_smtp with FUZZ_SMTP) over a client byte
 * stream, fed whole and in pseudo-random chunks; the results must agree and satisfy the
 * header's promises. The first byte picks the line limit. Any failure aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(FUZZ_POP3)
#include "core/pop3_parse.h"
#define NAME       "fuzz_pop3"
#define CMD        struct xb_cmd_line
#define VERB       enum xb_pop3_verb
#define VERB_AUTH  XB_POP3_AUTH
#define SYNTAX     (&xb_pop3_syntax)
#define SEED       0x85ebca6bu
#elif defined(FUZZ_SMTP)
#include "core/smtp_parse.h"
#define NAME       "fuzz_smtp"
#define CMD        struct xb_cmd_line
#define VERB       enum xb_smtp_verb
#define VERB_AUTH  XB_SMTP_AUTH
#define SYNTAX     (&xb_smtp_syntax)
#define SEED       0xc2b2ae35u
#else
#error "define FUZZ_POP3 or FUZZ_SMTP"
#endif

#define MAX_RESULTS 4096

struct result {
    enum xb_parse_rc rc;
    size_t consumed;
    VERB verb;
    size_t name_len, arg_off, arg_len, arg1_len, arg2_off, arg2_len;
};

struct trace {
    struct result r[MAX_RESULTS];
    size_t n;
    bool closed;
};

static void fail(const char *why)
{
    fprintf(stderr, NAME ": %s\n", why);
    abort();
}

static size_t off_in(struct xb_view v, const char *base, size_t len)
{
    if (v.len == 0)
        return 0;
    if (v.p < base || v.len > len || (size_t)(v.p - base) > len - v.len)
        fail("a view points outside the line");
    return (size_t)(v.p - base);
}

/* POP3: 3-4 letters (RFC 1939); SMTP: an Ldh-str of 1-32 (RFC 5321). */
static void check_keyword(struct xb_view name)
{
#if defined(FUZZ_POP3)
    if (name.len < 3 || name.len > 4)
        fail("keyword is not 3-4 bytes at the start");
    for (size_t i = 0; i < name.len; i++) {
        char ch = name.p[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
            fail("keyword not alphabetic");
    }
#else
    if (name.len < 1 || name.len > 32)
        fail("keyword is not 1-32 bytes at the start");
    for (size_t i = 0; i < name.len; i++) {
        char ch = name.p[i];
        bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
        if (!alpha && (i == 0 || !((ch >= '0' && ch <= '9') || ch == '-')))
            fail("keyword is not an Ldh-str");
    }
#endif
}

static void check_ok(const CMD *c, const char *base, size_t consumed,
                     struct result *r)
{
    size_t line = consumed - 1 - (consumed >= 2 && base[consumed - 2] == '\r');
    if (c->name.p != base)
        fail("keyword not at the start");
    check_keyword(c->name);
    r->arg_off = off_in(c->arg, base, line);
    if (c->arg.len && r->arg_off != c->name.len + 1)
        fail("arg does not follow the first space");
    off_in(c->arg1, base, line);
    r->arg2_off = off_in(c->arg2, base, line);
    if (memchr(base, '\0', line) || memchr(base, '\r', line))
        fail("a control character was accepted");
    if (c->verb != VERB_AUTH && c->arg2.len)
        fail("arg2 outside AUTH");
    if (c->arg1.len > c->arg.len || (c->arg1.len && c->arg1.p != c->arg.p))
        fail("arg1 is not the start of arg");
    r->verb = (VERB)c->verb;
    r->name_len = c->name.len;
    r->arg_len = c->arg.len;
    r->arg1_len = c->arg1.len;
    r->arg2_len = c->arg2.len;
}

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void play(const char *data, size_t total, size_t line_max, bool whole, struct trace *t)
{
    size_t base = 0, avail = 0;
    uint32_t seed = SEED ^ (uint32_t)total;
    t->n = 0;
    t->closed = false;
    for (;;) {
        CMD cmd;
        size_t consumed = 0, len = avail - base;
        enum xb_parse_rc rc =
            xb_cmd_line_parse(SYNTAX, data + base, len, line_max, &cmd, &consumed);
        if (rc == XB_PARSE_AGAIN) {
            if (avail == total)
                return;
            size_t chunk = whole ? total : 1 + rng_next(&seed) % 32;
            avail = total - avail < chunk ? total : avail + chunk;
            continue;
        }
        if (rc != XB_PARSE_OK && rc != XB_PARSE_BAD && rc != XB_PARSE_TOO_LONG)
            fail("unexpected result");
        if (consumed > len || (consumed == 0 && rc != XB_PARSE_TOO_LONG))
            fail("bad *consumed");
        if (rc != XB_PARSE_OK && !cmd.error)
            fail("BAD without a reason");
        if (t->n == MAX_RESULTS)
            fail("too many results");
        struct result *r = &t->r[t->n++];
        memset(r, 0, sizeof(*r));
        r->rc = rc;
        r->consumed = consumed;
        if (rc == XB_PARSE_OK)
            check_ok(&cmd, data + base, consumed, r);
        if (consumed == 0) {
            t->closed = true;
            return;
        }
        base += consumed;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct trace whole, piece;
    static const size_t limits[] = { 1024, 16, 255, 4 };
    size_t line_max = limits[size ? data[0] % 4 : 0];
    play((const char *)data, size, line_max, true, &whole);
    play((const char *)data, size, line_max, false, &piece);
    bool same = piece.n <= whole.n && (piece.closed || piece.n == whole.n);
    for (size_t i = 0; same && i < piece.n; i++) {
        const struct result *a = &whole.r[i], *b = &piece.r[i];
        bool last_closed = piece.closed && i + 1 == piece.n;
        same = a->rc == b->rc && a->verb == b->verb && a->name_len == b->name_len &&
               a->arg_off == b->arg_off && a->arg_len == b->arg_len &&
               a->arg1_len == b->arg1_len && a->arg2_off == b->arg2_off &&
               a->arg2_len == b->arg2_len && (last_closed || a->consumed == b->consumed);
    }
    if (!same)
        fail("fed in chunks, the results differ from fed whole");
    return 0;
}
