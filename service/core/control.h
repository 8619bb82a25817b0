/*
 * The companion's end of the control channel (docs/pipe-protocol.md): the add-in, the
 * CLI and the tray connect over the per-user pipe (Windows) or Unix socket (POSIX);
 * each connection is a byte stream on the event loop, framed, checked once by
 * pipe_codec.c, dispatched here and answered with the request's id and a status.
 *
 * ENROL runs the browser sign-in (signin.c), one per account: a second ENROL for the
 * same account waits for the same result. SUBSCRIBE makes a connection receive
 * STATE_CHANGED events whenever an account's state changes and FAILURE_REPORTED events.
 * State changes are seen through the front-end interface (ui.h): xb_ctl_ui() is a
 * struct xb_ui that passes everything on to the real front end and also tells the
 * subscribers; the serve loop hands it to the token source and its sign-ins.
 *
 * A malformed request gets an error reply and the connection goes on; a stream that
 * loses its framing (bad magic, a frame over the limit, one cut short) gets an error
 * reply and is closed. No client can hold up another: nothing here blocks.
 */
#ifndef XB_CONTROL_H
#define XB_CONTROL_H

#include <stdint.h>

#include "core/err.h"

struct event_base;
struct bufferevent;
struct xb_config;
struct xb_http;
struct xb_proxy;
struct xb_store;
struct xb_ui;
struct xb_ctl;

/* What the dispatcher works with; all outlive the xb_ctl. http may be NULL (no
 * sign-in, no revocation), ui may be NULL (no front end: only subscribers hear). */
struct xb_ctl_deps {
    struct event_base *base;
    const struct xb_config *cfg;
    struct xb_store *store;
    struct xb_http *http;
    struct xb_ui *ui;
};

enum xb_err xb_ctl_new(const struct xb_ctl_deps *deps, struct xb_ctl **out);
/* The proxy whose bound addresses GET_ENDPOINT hands out; NULL (the default): port 0. */
void xb_ctl_set_proxy(struct xb_ctl *ctl, struct xb_proxy *px);
/* The front end as the core should see it: everything goes to deps->ui, and account
 * state changes also go to the subscribers. Lives as long as the xb_ctl. */
struct xb_ui *xb_ctl_ui(struct xb_ctl *ctl);

/* Opens the platform's endpoint (xb_plat_ctl_listen). Fails, with *errmsg (caller
 * frees) in words, when another companion of this user already serves it. */
enum xb_err xb_ctl_listen(struct xb_ctl *ctl, char **errmsg);
/* The endpoint's name for logs and the ready file; "" before xb_ctl_listen. */
const char *xb_ctl_name(const struct xb_ctl *ctl);

/* Serves one connected stream; the xb_ctl owns it from here (BEV_OPT_CLOSE_ON_FREE). */
void xb_ctl_attach(struct xb_ctl *ctl, struct bufferevent *bev);
/* The same for a connected socket (what the platform's listener hands over). */
void xb_ctl_attach_fd(struct xb_ctl *ctl, intptr_t fd);

/* Starts the browser sign-in of email inside the loop, for a person who asked in the
 * front end (tray "Sign in again", a click on a notification): the same single sign-in
 * per account as ENROL, so a click while the add-in's ENROL is under way opens its page
 * again, and ENROL after a click waits for that sign-in. The outcome is stored and told
 * to the front end (XB_UI_SIGNIN_DONE / _FAILED). An unknown address is enrolled with
 * the google provider once the sign-in works. */
enum xb_err xb_ctl_signin(struct xb_ctl *ctl, const char *email);

/* Closes the endpoint and every connection, cancels sign-ins and revocations. */
/* The person accepts the restart of Outlook the add-in offered (the notification, the
 * CLI): RESTART_OUTLOOK goes to the add-ins, which ask that Outlook to quit, and the
 * companion starts it again once it closed. XB_ERR_NOTFOUND: nothing offered;
 * XB_ERR_TEMP: no add-in listens to be asked. why says it in words. */
enum xb_err xb_ctl_restart_outlook(struct xb_ctl *ctl, char *why, size_t n);

void xb_ctl_shutdown(struct xb_ctl *ctl);
void xb_ctl_free(struct xb_ctl *ctl);

#endif
