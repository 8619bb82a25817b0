/*
 * Spare upstream connections. While a mail program opens connections one after another
 * (Outlook walks its folders and sends on connections of their own), one upstream
 * connection per protocol is kept ready for the next client: TCP, TLS and the server's
 * greeting are then done before that client connects, and its login goes straight to
 * AUTHENTICATE. A spare is plain TCP + TLS: nothing is written on it until a session
 * takes it and that session's local login has succeeded (docs/proxy.md "Spare
 * connection"). It counts among the proxy's early connections (px->nearly).
 */
#ifndef XB_SPARE_H
#define XB_SPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"

struct bufferevent;
struct event;
struct xb_proxy;

struct xb_spare {
    struct xb_proxy *px;
    enum xb_proto_id id;
    struct bufferevent *bev;           /* NULL: no spare */
    const struct xb_server *srv;       /* where it goes (a pointer into the config) */
    int64_t opened;                    /* seconds */
    bool ready;                        /* TCP (and TLS) up */
    struct event *expire;              /* closes an unused spare */
    int64_t last_client;               /* seconds: when the last client of id came */
};

/* Sets sp up empty; false if out of memory. */
bool xb_spare_init(struct xb_spare *sp, struct xb_proxy *px, enum xb_proto_id id);
/* A client of this protocol came at now: true when it came less than
 * XB_PROXY_EARLY_MAX_AGE s after the one before (clients in a row: worth a spare). */
bool xb_spare_client_came(struct xb_spare *sp, int64_t now);
/* Opens a spare toward srv unless one is open already. */
void xb_spare_open(struct xb_spare *sp, const struct xb_server *srv, int64_t now);
/* The spare, if it goes to srv and is young enough to be used: its connection (its
 * callbacks are the taker's to set; anything the server sent is in its input) and
 * whether it is up yet. NULL otherwise (an unusable spare is closed). */
struct bufferevent *xb_spare_take(struct xb_spare *sp, const struct xb_server *srv,
                                  int64_t now, bool *ready, int64_t *opened);
/* Closes the spare, if any. */
void xb_spare_close(struct xb_spare *sp);
/* Closes it and frees what xb_spare_init made. */
void xb_spare_free(struct xb_spare *sp);

#endif
