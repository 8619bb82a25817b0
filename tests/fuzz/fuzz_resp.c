/*
 * libFuzzer target: server response lines. The input is split with xb_line_split and
 * every line goes through the IMAP, POP3 and SMTP response parsers, the capability
 * rewrite (into a roomy and a tight buffer) and the CAPA/EHLO filters; views and
 * outputs must keep the headers' promises. Any failure aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/imap_parse.h"
#include "core/pop3_parse.h"
#include "core/smtp_parse.h"

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_resp: %s\n", why);
    abort();
}

static void inside(struct xb_view v, struct xb_view line)
{
    if (v.len == 0)
        return;
    if (v.p < line.p || v.len > line.len || (size_t)(v.p - line.p) > line.len - v.len)
        fail("a view points outside the line");
}

/* The rewritten list: single spaces, no dropped capability, AUTH=PLAIN (STARTTLS) last. */
static void check_caps(const char *out, size_t n, bool starttls)
{
    if (strlen(out) != n)
        fail("caps length does not match its terminator");
    const char *tail = starttls ? "AUTH=PLAIN STARTTLS" : "AUTH=PLAIN";
    size_t tn = strlen(tail);
    if (n < tn || memcmp(out + n - tn, tail, tn) != 0 || (n > tn && out[n - tn - 1] != ' '))
        fail("caps do not end with what the proxy offers");
    size_t start = 0, dropped_seen = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && out[i] != ' ')
            continue;
        struct xb_view tok = { out + start, i - start };
        if (tok.len == 0)
            fail("empty capability (double space)");
        for (size_t k = 0; k < tok.len; k++) {
            if ((unsigned char)tok.p[k] < 0x20 || tok.p[k] == 0x7f)
                fail("a control byte in the capabilities");
        }
        if ((tok.len >= 5 && xb_view_eq_ci((struct xb_view){ tok.p, 5 }, "AUTH=")) ||
            xb_view_eq_ci(tok, "STARTTLS") || xb_view_eq_ci(tok, "LOGINDISABLED") ||
            xb_view_eq_ci(tok, "LOGIN-REFERRALS"))
            dropped_seen++;
        start = i + 1;
    }
    if (dropped_seen != (starttls ? 2u : 1u))
        fail("a dropped capability survived");
}

static void one_line(struct xb_view line)
{
    struct xb_imap_resp ir;
    if (xb_imap_resp_parse(line, &ir)) {
        inside(ir.tag, line);
        inside(ir.code, line);
        inside(ir.text, line);
        if ((ir.kind == XB_IMAP_RESP_TAGGED) != (ir.tag.len > 0))
            fail("tag on a response that is not tagged");
        if (ir.kind == XB_IMAP_RESP_TAGGED &&
            (ir.status == XB_IMAP_ST_NONE || ir.status > XB_IMAP_ST_BAD))
            fail("tagged response with a status it cannot have");
        if (ir.kind == XB_IMAP_RESP_CONTINUE && line.p[0] != '+')
            fail("continuation not starting with +");
    }
    static char big[1 << 16];
    char small[24];
    for (int tls = 0; tls <= 1; tls++) {
        size_t n = xb_imap_caps_rewrite(line, true, tls, big, sizeof(big));
        if (n == (size_t)-1)
            fail("caps do not fit a buffer bigger than the line");
        check_caps(big, n, tls);
        size_t m = xb_imap_caps_rewrite(line, true, tls, small, sizeof(small));
        if (m == (size_t)-1 ? (n < sizeof(small) || small[0] != '\0')
                            : (m != n || memcmp(small, big, n + 1) != 0))
            fail("a tight buffer gives a different answer");
    }

    struct xb_pop3_resp pr;
    if (xb_pop3_resp_parse(line, &pr)) {
        inside(pr.code, line);
        inside(pr.text, line);
        if (pr.status == XB_POP3_ST_CONTINUE && pr.code.len)
            fail("a code on a continuation");
    }

    struct xb_smtp_reply_line sr;
    if (xb_smtp_reply_parse(line, &sr)) {
        inside(sr.text, line);
        if (sr.code < 200 || sr.code > 599)
            fail("reply code out of range");
        if (sr.more && (line.len < 4 || line.p[3] != '-'))
            fail("more without a hyphen");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[] = { 8192, 16, 512, 2 };
    size_t max = limits[size ? data[0] % 4 : 0];
    const char *p = (const char *)data;
    while (size) {
        struct xb_view line;
        size_t consumed;
        enum xb_parse_rc rc = xb_line_split(p, size, max, &line, &consumed);
        if (rc == XB_PARSE_AGAIN) {
            /* The last, unterminated line still goes through the parsers. */
            if (size > max + 1)
                fail("AGAIN on more than a line's worth of bytes");
            one_line((struct xb_view){ p, size });
            break;
        }
        if (consumed > size || (rc == XB_PARSE_OK && consumed == 0))
            fail("bad *consumed");
        if (rc == XB_PARSE_OK) {
            if (line.p != p || line.len > max || memchr(line.p, '\n', line.len))
                fail("bad line");
            one_line(line);
        } else if (rc != XB_PARSE_TOO_LONG) {
            fail("unexpected result");
        }
        if (consumed == 0)
            break;
        p += consumed;
        size -= consumed;
    }
    return 0;
}
