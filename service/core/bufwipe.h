/*
 * Secrets in libevent's buffers: libevent frees its chains without wiping them, so a
 * local password read from a client, or a token sent upstream, would stay in freed
 * memory. These two keep them out of it.
 */
#ifndef XB_BUFWIPE_H
#define XB_BUFWIPE_H

#include <stddef.h>

struct evbuffer;

/* Overwrites the first n bytes of buf with zeros where they lie, then drains them. */
void xb_evbuffer_wipe_drain(struct evbuffer *buf, size_t n);

/* Appends a copy of data that is wiped and freed as soon as libevent is done with it
 * (written out: the socket, or OpenSSL, which encrypts it in place). -1 if out of memory. */
int xb_evbuffer_add_secret(struct evbuffer *buf, const void *data, size_t len);

#endif
