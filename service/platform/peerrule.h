/*
 * Windows' rule for a loopback client of the proxy (platform.h,
 * xb_plat_sock_peer_same_user): serve it only when its process is proven to run as this
 * user; anything the system will not say is a refusal, with the reason (fail closed).
 * Header-only and portable so that the unit tests check the rule on every build; the
 * facts come from win32/peer.c.
 */
#ifndef XB_PEERRULE_H
#define XB_PEERRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What the system said about the program at the other end. */
struct xb_peer_facts {
    bool loopback;              /* the peer address is a loopback address */
    unsigned long pid;          /* owner of the client's end in the TCP table; 0: not found */
    bool self;                  /* pid is this process */
    bool opened;                /* the process could be opened for a query */
    bool access_denied;         /* ... and if not, because access was denied */
    unsigned long error;        /* the system's error otherwise */
    bool token_read;            /* its token's user was read */
    bool same_user;             /* ... and is this process's user */
};

/* 1: this user's own program; 0: refused, why says why. */
static inline int xb_peer_rule(const struct xb_peer_facts *f, char *why, size_t n)
{
    if (!f->loopback) {
        snprintf(why, n, "not a loopback connection");
        return 0;
    }
    if (f->pid == 0) {
        snprintf(why, n, "the connecting program is not in the system's connection table "
                         "(it has gone?)");
        return 0;
    }
    if (f->self)
        return 1;
    if (!f->opened) {
        if (f->access_denied)
            snprintf(why, n, "process %lu belongs to another user", f->pid);
        else
            snprintf(why, n, "cannot look at process %lu (error %lu; it has gone?)", f->pid,
                     f->error);
        return 0;
    }
    if (!f->token_read) {
        snprintf(why, n, "cannot tell which user process %lu runs as (run as administrator, "
                         "or a protected process?)", f->pid);
        return 0;
    }
    if (!f->same_user) {
        snprintf(why, n, "process %lu runs as another user", f->pid);
        return 0;
    }
    return 1;
}

#endif
