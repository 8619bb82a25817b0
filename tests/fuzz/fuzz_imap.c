/*
 * libFuzzer target: the resumable IMAP command parser, differential. The input is one
 * client byte stream; it is parsed fed whole, fed byte by byte and fed in pseudo-random
 * chunks, and every run must give the same results (a run fed in pieces may stop early
 * only at a TOO_LONG that could not skip its line). Invariants of each result are
 * checked as well; any failure aborts, which libFuzzer reports as a crash.
 * The first byte also picks one of a few limit sets, so small limits get exercised.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/imap_parse.h"

#define MAX_RESULTS 4096

struct result {
    enum xb_parse_rc rc;
    size_t consumed;
    size_t tag_off, tag_len, name_off, name_len;
    enum xb_imap_verb verb;
    size_t nargs;
    struct xb_imap_span arg[XB_IMAP_ARGS_MAX];
    const char *error;
};

struct trace {
    struct result r[MAX_RESULTS];
    size_t n;
    bool closed;
};

static const struct xb_imap_limits presets[] = {
    { 1024, 4096, 16384 },
    { 32, 16, 64 },
    { 64, 1000, 100 },
    { 8, 8, 8 },
};

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_imap: %s\n", why);
    abort();
}

static size_t off_of(struct xb_view v, const char *base, size_t len)
{
    if (v.len == 0)
        return 0;
    if (v.p < base || v.len > len || (size_t)(v.p - base) > len - v.len)
        fail("a view points outside the input");
    return (size_t)(v.p - base);
}

/* Checks one final result and appends it to t. */
static void record(struct trace *t, enum xb_parse_rc rc, const struct xb_imap_cmd *cmd,
                   const char *base, size_t len, size_t consumed)
{
    if (t->n == MAX_RESULTS)
        fail("too many results");
    struct result *r = &t->r[t->n++];
    memset(r, 0, sizeof(*r));
    r->rc = rc;
    r->consumed = consumed;
    if (rc == XB_PARSE_LITERAL || rc == XB_PARSE_AGAIN)
        return;
    if (consumed > len || (consumed == 0 && rc != XB_PARSE_TOO_LONG))
        fail("bad *consumed");
    if (consumed && base[consumed - 1] != '\n')
        fail("a command does not end at an LF");
    if (rc != XB_PARSE_OK && !cmd->error)
        fail("BAD or TOO_LONG without a reason");
    r->tag_off = off_of(cmd->tag, base, len);
    r->tag_len = cmd->tag.len;
    r->name_off = off_of(cmd->name, base, len);
    r->name_len = cmd->name.len;
    r->verb = cmd->verb;
    r->error = cmd->error;
    if (cmd->tag.len > XB_IMAP_TAG_MAX || (cmd->tag.len && r->tag_off != 0))
        fail("bad tag");
    if (rc != XB_PARSE_OK)
        return;
    if (cmd->tag.len == 0 || cmd->name.len == 0 || cmd->nargs > XB_IMAP_ARGS_MAX)
        fail("OK without tag or name");
    r->nargs = cmd->nargs;
    for (size_t i = 0; i < cmd->nargs; i++) {
        const struct xb_imap_arg *a = &cmd->args[i];
        static char value[1 << 16];
        r->arg[i] = (struct xb_imap_span){ a->kind, off_of(a->raw, base, len), a->raw.len };
        if (a->raw.len && r->arg[i].off + a->raw.len > consumed)
            fail("an argument lies outside its command");
        if (a->kind == XB_IMAP_ARG_NIL && !xb_view_eq_ci(a->raw, "NIL"))
            fail("NIL that is not NIL");
        if (a->kind == XB_IMAP_ARG_ATOM && a->raw.len == 0)
            fail("empty atom");
        if (a->kind == XB_IMAP_ARG_QUOTED &&
            (memchr(a->raw.p, '\r', a->raw.len) || memchr(a->raw.p, '\n', a->raw.len)))
            fail("CR or LF inside a quoted string");
        if (a->raw.len < sizeof(value) && xb_imap_arg_value(a, value, sizeof(value)) == (size_t)-1)
            fail("an argument's value cannot be copied");
    }
}

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* chunk 0: whole; 1: byte by byte; 2: random chunks. */
static void play(const char *data, size_t total, const struct xb_imap_limits *lim, int mode,
                 struct trace *t)
{
    struct xb_imap_parser p;
    struct xb_imap_cmd cmd;
    size_t base = 0, avail = 0;
    uint32_t seed = 0x9e3779b9u ^ (uint32_t)total;
    xb_imap_parser_init(&p, lim);
    t->n = 0;
    t->closed = false;
    for (size_t guard = 0;; guard++) {
        if (guard > 4 * total + 64)
            fail("the parser does not make progress");
        size_t consumed = 0, len = avail - base;
        size_t acked = p.literals_acked;
        enum xb_parse_rc rc = xb_imap_parse(&p, data + base, len, &cmd, &consumed);
        if (rc == XB_PARSE_AGAIN) {
            if (consumed != 0)
                fail("AGAIN consumed bytes");
            if (avail == total)
                return;
            size_t chunk = mode == 0 ? total : mode == 1 ? 1 : 1 + rng_next(&seed) % 64;
            avail = total - avail < chunk ? total : avail + chunk;
            continue;
        }
        if (rc == XB_PARSE_LITERAL && (consumed != 0 || p.literals_acked != acked + 1))
            fail("LITERAL not counted once");
        record(t, rc, &cmd, data + base, len, consumed);
        if (rc == XB_PARSE_LITERAL)
            continue;
        if (consumed == 0) {
            t->closed = true;
            return;
        }
        base += consumed;
    }
}

static int compare(const struct trace *whole, const struct trace *piece)
{
    if (piece->n > whole->n || (!piece->closed && piece->n != whole->n))
        return 1;
    if (piece->closed && (piece->n == 0 || whole->r[piece->n - 1].rc != XB_PARSE_TOO_LONG))
        return 2;
    for (size_t i = 0; i < piece->n; i++) {
        const struct result *a = &whole->r[i], *b = &piece->r[i];
        bool last_closed = piece->closed && i + 1 == piece->n;
        if (a->rc != b->rc || a->tag_off != b->tag_off || a->tag_len != b->tag_len ||
            a->name_off != b->name_off || a->name_len != b->name_len || a->verb != b->verb ||
            a->nargs != b->nargs || (a->error != b->error && (!a->error || !b->error ||
                                                             strcmp(a->error, b->error))))
            return 3;
        if (!last_closed && a->consumed != b->consumed)
            return 4;
        for (size_t k = 0; k < a->nargs; k++) {
            if (a->arg[k].kind != b->arg[k].kind || a->arg[k].off != b->arg[k].off ||
                a->arg[k].len != b->arg[k].len)
                return 5;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct trace whole, piece;
    const struct xb_imap_limits *lim = &presets[size ? data[0] % 4 : 0];
    play((const char *)data, size, lim, 0, &whole);
    for (int mode = 1; mode <= 2; mode++) {
        play((const char *)data, size, lim, mode, &piece);
        int why = compare(&whole, &piece);
        if (why) {
            fprintf(stderr, "fuzz_imap: fed %s, result differs from fed whole (%d)\n",
                    mode == 1 ? "byte by byte" : "in chunks", why);
            abort();
        }
    }
    return 0;
}
