#include "core/bufwipe.h"

#include <string.h>

#include <event2/buffer.h>

#include "core/mem.h"

void xb_evbuffer_wipe_drain(struct evbuffer *buf, size_t n)
{
    size_t left = n;
    struct evbuffer_iovec v[8];
    /* The first chains holding the n bytes, written over in place. */
    while (left) {
        int got = evbuffer_peek(buf, (ev_ssize_t)left, NULL, v, 8);
        if (got <= 0)
            break;
        size_t done = 0;
        for (int i = 0; i < got && i < 8 && done < left; i++) {
            size_t k = v[i].iov_len < left - done ? v[i].iov_len : left - done;
            xb_wipe(v[i].iov_base, k);
            done += k;
        }
        evbuffer_drain(buf, done);
        left -= done;
        if (!done)
            break;
    }
    if (left)
        evbuffer_drain(buf, left);
}

static void wipe_free(const void *data, size_t len, void *arg)
{
    (void)arg;
    xb_wipe((void *)(uintptr_t)data, len);
    xb_free((void *)(uintptr_t)data);
}

int xb_evbuffer_add_secret(struct evbuffer *buf, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    unsigned char *copy = xb_new_array(unsigned char, len);
    if (!copy)
        return -1;
    memcpy(copy, data, len);
    if (evbuffer_add_reference(buf, copy, len, wipe_free, NULL) != 0) {
        wipe_free(copy, len, NULL);
        return -1;
    }
    return 0;
}
