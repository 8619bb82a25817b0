/*
 * Secrets in libevent's buffers (core/bufwipe.c): a password drained from a client's
 * input is overwritten where it lay, not only dropped; a secret sent upstream goes out
 * whole and in order with what surrounds it.
 */
#include <string.h>

#include <event2/buffer.h>

#include "core/bufwipe.h"

#include "xbtest.h"

static void drained_bytes_are_wiped(void)
{
    struct evbuffer *in = evbuffer_new();
    static const char line[] = "a1 LOGIN taro@example.jp s3cr3t-local\r\n";
    evbuffer_add(in, line, strlen(line));
    evbuffer_add(in, "a2 NOOP\r\n", 9);
    struct evbuffer_iovec v;
    CHECK(evbuffer_peek(in, (ev_ssize_t)strlen(line), NULL, &v, 1) >= 1);
    const unsigned char *where = v.iov_base; /* the chain stays: "a2 NOOP" is in it */
    CHECK(v.iov_len >= strlen(line));
    xb_evbuffer_wipe_drain(in, strlen(line));
    int zeros = 1;
    for (size_t i = 0; i < strlen(line); i++)
        zeros &= where[i] == 0;
    CHECK(zeros);
    char rest[16] = "";
    CHECK(evbuffer_remove(in, rest, sizeof(rest) - 1) == 9);
    CHECK(memcmp(rest, "a2 NOOP\r\n", 9) == 0);
    /* Across several chains, and more than there is. */
    for (int i = 0; i < 5; i++) {
        struct evbuffer *part = evbuffer_new();
        evbuffer_add(part, "secret", 6);
        evbuffer_add_buffer(in, part);
        evbuffer_free(part);
    }
    xb_evbuffer_wipe_drain(in, 100);
    CHECK(evbuffer_get_length(in) == 0);
    evbuffer_free(in);
}

static void secrets_go_out_whole(void)
{
    struct evbuffer *out = evbuffer_new();
    evbuffer_add(out, "AUTH XOAUTH2 ", 13);
    CHECK(xb_evbuffer_add_secret(out, "dXNlcj1h", 8) == 0);
    evbuffer_add(out, "\r\n", 2);
    CHECK(xb_evbuffer_add_secret(out, "", 0) == 0);
    char got[64] = "";
    CHECK(evbuffer_remove(out, got, sizeof(got) - 1) == 23);
    CHECK(memcmp(got, "AUTH XOAUTH2 dXNlcj1h\r\n", 23) == 0);
    evbuffer_free(out);
}

XBTEST_MAIN(XBTEST(drained_bytes_are_wiped), XBTEST(secrets_go_out_whole))
