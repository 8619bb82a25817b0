/*
 * libFuzzer target: the control protocol's codec. The input is a byte stream cut into
 * frames the way the companion cuts it (header check first, then exactly the length it
 * gives); every frame's check (requests as the companion reads them, replies and events
 * as the add-in and the CLI read them) must never read outside the payload, and any
 * frame it accepts must encode back to exactly the same bytes (the format has one
 * spelling per message). The reader must stay in bounds for any sequence of reads, and
 * a failed read must stick. Any failure aborts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pipe_codec.h"

static void fail(const char *why)
{
    fprintf(stderr, "fuzz_pipe: %s\n", why);
    abort();
}

static unsigned char again[XB_PIPE_FRAME_MAX];

/* A reply or an event, as a client reads it: anything accepted encodes back to the same
 * bytes (LIST_ACCOUNTS' accounts read one by one, as clients do). */
static struct xb_pipe_account accounts[XB_PIPE_PAYLOAD_MAX / 32];

static void one_reply(const uint8_t *frame, size_t len, const struct xb_pipe_hdr *h,
                      const unsigned char *payload)
{
    struct xb_pipe_reply r;
    const char *why = NULL;
    bool ok = xb_pipe_reply_parse(h, payload, &r, &why);
    if (ok != (why == NULL))
        fail("reply: verdict and reason disagree");
    if (!ok)
        return;
    uint32_t n = 0, want = r.naccounts;
    struct xb_pipe_reply again_r = r;
    while (xb_pipe_reply_account(&r, &accounts[n])) {
        if (accounts[n].email.len > XB_PIPE_EMAIL_MAX || accounts[n].state > XB_PIPE_STATE_TEMP_ERROR)
            fail("reply: an account over its limits was accepted");
        if (++n > sizeof(accounts) / sizeof(accounts[0]))
            fail("reply: more accounts than a frame can hold");
    }
    if (n != want)
        fail("reply: the accounts read are not the accounts counted");
    size_t m = 0;
    if (!xb_pipe_reply_encode(&again_r, accounts, again, sizeof(again), &m))
        fail("an accepted reply does not encode");
    if (m != len || memcmp(again, frame, len) != 0)
        fail("an accepted reply encodes differently");
}

static void one_frame(const uint8_t *frame, size_t len, const struct xb_pipe_hdr *h)
{
    struct xb_pipe_req r;
    const char *why = NULL;
    /* A copy of exactly the payload: ASan catches a read past its end. */
    unsigned char *payload = malloc(h->len ? h->len : 1);
    if (!payload)
        return;
    memcpy(payload, frame + XB_PIPE_HDR_LEN, h->len);
    if (h->kind == XB_PIPE_KIND_REPLY || h->kind == XB_PIPE_KIND_EVENT) {
        one_reply(frame, len, h, payload);
        free(payload);
        return;
    }
    uint16_t st = xb_pipe_req_parse(h, payload, &r, &why);
    if ((st == XB_PIPE_ST_OK) != (why == NULL))
        fail("status and reason disagree");
    if (st == XB_PIPE_ST_OK) {
        size_t n = 0;
        if (!xb_pipe_req_encode(&r, again, sizeof(again), &n))
            fail("an accepted request does not encode");
        if (n != len || memcmp(again, frame, len) != 0)
            fail("an accepted request encodes differently");
        if (r.email.len > XB_PIPE_EMAIL_MAX || r.provider.len > XB_PIPE_PROVIDER_MAX ||
            r.text.len > XB_PIPE_TEXT_MAX || r.client.len > XB_PIPE_NAME_MAX)
            fail("a field over its limit was accepted");
        if (!xb_pipe_utf8_ok(r.email.p, r.email.len) || memchr(r.email.p, 0, r.email.len))
            fail("a bad string was accepted");
    } else if (st != XB_PIPE_ST_BAD_REQUEST && st != XB_PIPE_ST_UNKNOWN_OP &&
               st != XB_PIPE_ST_VERSION) {
        fail("an unexpected status");
    }
    free(payload);
}

/* The stream, cut as control.c cuts it. */
static void stream(const uint8_t *data, size_t size)
{
    while (size >= XB_PIPE_HDR_LEN) {
        struct xb_pipe_hdr h;
        enum xb_pipe_hdr_check c = xb_pipe_hdr_decode(data, &h);
        if (c != XB_PIPE_HDR_OK) {
            if (c == XB_PIPE_HDR_TOO_LONG && h.len <= XB_PIPE_PAYLOAD_MAX)
                fail("a length in bounds called too long");
            return;   /* framing lost: the companion answers and closes */
        }
        if (h.len > XB_PIPE_PAYLOAD_MAX)
            fail("a length out of bounds passed the check");
        size_t len = XB_PIPE_HDR_LEN + (size_t)h.len;
        if (len > size)
            return;   /* truncated: the companion waits, then answers and closes */
        one_frame(data, len, &h);
        data += len;
        size -= len;
    }
}

/* The first byte picks a sequence of reads over the rest. */
static void reads(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    unsigned program = data[0];
    struct xb_pipe_rd rd;
    xb_pipe_rd_init(&rd, data + 1, size - 1);
    for (int i = 0; i < 8; i++) {
        size_t before = rd.left;
        bool was_err = rd.err;
        switch ((program >> (i % 4 * 2)) & 3) {
        case 0: xb_pipe_rd_u32(&rd); break;
        case 1: xb_pipe_rd_u64(&rd); break;
        case 2: {
            struct xb_pipe_str s = xb_pipe_rd_str(&rd, (uint32_t)(program * 3));
            if (s.len > program * 3u)
                fail("a string over its limit");
            for (uint32_t k = 0; k < s.len; k++)
                if (s.p[k] == '\0')
                    fail("a NUL inside a string");
            break;
        }
        default: {
            char buf[16];
            xb_pipe_str_copy(xb_pipe_rd_str(&rd, XB_PIPE_TEXT_MAX), buf, sizeof(buf));
            break;
        }
        }
        if (was_err && (!rd.err || rd.left != before))
            fail("the error flag did not stick");
        if (rd.left > before)
            fail("the cursor went backwards");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stream(data, size);
    reads(data, size);
    return 0;
}
