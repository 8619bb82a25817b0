#include "core/spare.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "core/log.h"
#include "core/proxy.h"
#include "core/tls.h"
#include "platform/platform.h"

static void expire_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_spare *sp = arg;
    xb_log_debug("spare %s connection to %s:%u unused for %d s: closed", xb_proto_name(sp->id),
                 sp->srv->host, sp->srv->port, XB_PROXY_EARLY_MAX_AGE);
    xb_spare_close(sp);
}

/* Up, or gone. A failure pauses early connections as any failed upstream does; the
 * next login connects again and reports what fails then. */
static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct xb_spare *sp = arg;
    if (what & BEV_EVENT_CONNECTED) {
        char how[64];
        xb_plat_sock_nodelay(bufferevent_getfd(bev));
        sp->ready = true;
        xb_tls_describe(bufferevent_openssl_get_ssl(bev), how, sizeof(how));
        xb_log_debug("spare %s connection to %s:%u up (%s)", xb_proto_name(sp->id),
                     sp->srv->host, sp->srv->port, how);
        return;
    }
    bool failed = (what & BEV_EVENT_ERROR) != 0 || !sp->ready;
    xb_log_debug("spare %s connection to %s:%u %s", xb_proto_name(sp->id), sp->srv->host,
                 sp->srv->port, failed ? "failed" : "closed by the server");
    ERR_clear_error();
    if (failed) {
        struct timeval tv;
        event_base_gettimeofday_cached(sp->px->base, &tv);
        xb_proxy_upstream_result(sp->px, sp->id, sp->srv, false, (int64_t)tv.tv_sec);
    }
    xb_spare_close(sp);
}

bool xb_spare_init(struct xb_spare *sp, struct xb_proxy *px, enum xb_proto_id id)
{
    *sp = (struct xb_spare){ .px = px, .id = id };
    sp->expire = evtimer_new(px->base, expire_cb, sp);
    return sp->expire != NULL;
}

bool xb_spare_client_came(struct xb_spare *sp, int64_t now)
{
    /* Whole seconds: a difference under 10 means less than 10 s. */
    bool in_a_row = sp->last_client && now - sp->last_client < XB_PROXY_EARLY_MAX_AGE;
    sp->last_client = now;
    return in_a_row;
}

void xb_spare_open(struct xb_spare *sp, const struct xb_server *srv, int64_t now)
{
    if (sp->bev || !sp->expire)
        return;
    /* The greeting the server sends waits in the input: no read callback. */
    sp->bev = xb_proxy_connect(sp->px, srv, NULL, NULL, event_cb, sp);
    if (!sp->bev)
        return;
    sp->srv = srv;
    sp->opened = now;
    sp->ready = false;
    sp->px->nearly++;
    struct timeval tv = { XB_PROXY_EARLY_MAX_AGE, 0 };
    evtimer_add(sp->expire, &tv);
    xb_log_debug("spare %s connection to %s:%u opening", xb_proto_name(sp->id), srv->host,
                 srv->port);
}

struct bufferevent *xb_spare_take(struct xb_spare *sp, const struct xb_server *srv,
                                  int64_t now, bool *ready, int64_t *opened)
{
    if (!sp->bev)
        return NULL;
    if (sp->srv != srv || now - sp->opened > XB_PROXY_EARLY_MAX_AGE) {
        xb_spare_close(sp);
        return NULL;
    }
    struct bufferevent *bev = sp->bev;
    *ready = sp->ready;
    *opened = sp->opened;
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    sp->bev = NULL;
    evtimer_del(sp->expire);
    return bev; /* still counted in px->nearly: the taker's early connection now */
}

void xb_spare_close(struct xb_spare *sp)
{
    if (!sp->bev)
        return;
    bufferevent_free(sp->bev);
    sp->bev = NULL;
    sp->px->nearly--;
    evtimer_del(sp->expire);
}

void xb_spare_free(struct xb_spare *sp)
{
    xb_spare_close(sp);
    if (sp->expire) {
        event_free(sp->expire);
        sp->expire = NULL;
    }
}
