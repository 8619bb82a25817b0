/*
 * How the core talks to the person at the machine (stunnel's swappable front end):
 * a tiny interface that the Windows tray and the console daemon implement. The core
 * never touches a window; it says "this account needs you, for this reason" and the
 * front end decides how that looks (a balloon, a log line).
 *
 * Prompts are rate limited here, in the core, so every front end gets the same rule:
 * at most one notification per cause per account per hour (XB_UI_REPEAT). Answers to
 * the person's own action (XB_UI_SIGNIN_DONE, XB_UI_SIGNIN_FAILED) are not limited: a
 * click deserves a reply every time.
 *
 * Threads: the core calls these from its event loop's thread only. An implementation
 * that shows things on another thread (the tray) hands them over itself.
 */
#ifndef XB_UI_H
#define XB_UI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
#include "core/store.h"

#define XB_UI_REPEAT 3600 /* seconds between two notifications of one cause for one account */

/* Why the core wants attention. The front end picks the title, the icon and what a
 * click does from the kind; the text is already in the user's language. */
enum xb_ui_kind {
    XB_UI_SIGNIN_NEEDED,   /* not signed in, or the grant is gone: the fix is to sign in */
    XB_UI_TESTING_EXPIRY,  /* the same, caused by Google's 7-day limit for "Testing" clients */
    XB_UI_OUTLOOK_FAILURE, /* Outlook reported a failed sign-in (the add-in, over the pipe) */
    XB_UI_SIGNIN_DONE,     /* the person's sign-in worked (not rate limited) */
    XB_UI_OUTLOOK_BRIDGED, /* the add-in pointed an account at us: restart Outlook */
    XB_UI_SIGNIN_FAILED,   /* the person's sign-in did not work (not rate limited) */
    XB_UI_PROBLEM,         /* the companion itself cannot work (e.g. a port is taken) */
    XB_UI_UNTRUSTED,       /* a server's certificate was refused (account: the server) */
    XB_UI_WRONG_PASSWORD,  /* a mail program sent a password that is not the account's
                              local secret (often typed into Outlook's prompt) */
    XB_UI_RECENT_MODE,     /* the mail server did not take POP3 recent mode with OAuth */
    XB_UI_PORTS_TAKEN,     /* the ports Outlook's accounts point at are held by another
                              program (detail: which, when the system says) */
    XB_UI_RESTART_OUTLOOK, /* Outlook must restart to read its accounts: a click restarts
                              it (not rate limited: it answers the person's sign-in) */
    XB_UI_WEB_PROXY,       /* a web proxy refused the token request or could not be
                              reached (account: the proxy, host:port; detail: why) */
    XB_UI_KIND__COUNT
};

struct xb_ui;

struct xb_ui_vt {
    /* Show text (one paragraph, the user's language) about account (may be NULL). */
    void (*notify)(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                   const char *text);
    /* An account's state changed (or was first seen): update menus and icons. */
    void (*account_changed)(struct xb_ui *ui, const char *account,
                            enum xb_account_state state);
    /* A finished log line (as xb_log_sink_fn); NULL: the front end logs elsewhere. */
    void (*log)(struct xb_ui *ui, enum xb_log_level level, unsigned event, const char *line);
};

struct ui_recent; /* ui.c's memory of what was shown when */

/* Implementations embed this and call xb_ui_init / xb_ui_cleanup. */
struct xb_ui {
    const struct xb_ui_vt *vt;
    struct ui_recent *recent;
};

void xb_ui_init(struct xb_ui *ui, const struct xb_ui_vt *vt);
void xb_ui_cleanup(struct xb_ui *ui);

/* Every call below accepts ui == NULL (no front end: nothing is shown). */

/* Passes the notification on unless one of the same kind for the same account went
 * out less than XB_UI_REPEAT seconds ago (see above). true if it was passed on. */
bool xb_ui_notify(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                  const char *text);
/* The same with the clock given (tests). */
bool xb_ui_notify_at(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                     const char *text, int64_t now);

/* Notifies with the standard text for kind from the message tables, for example
 * "taro@example.jp needs you to sign in again ...". detail fills XB_UI_SIGNIN_FAILED,
 * XB_UI_UNTRUSTED and XB_UI_PROBLEM (English detail from a server or the system); else
 * unused. */
bool xb_ui_alert(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                 const char *detail);

/* A server's certificate was refused for email's connection to host: the notification
 * XB_UI_UNTRUSTED (with the system's own words when it has them, else why) and, as often
 * as it goes out (once an hour per server), Event Log warning 2006. */
void xb_ui_untrusted(struct xb_ui *ui, const char *email, const char *host, const char *why);

void xb_ui_account_changed(struct xb_ui *ui, const char *account,
                           enum xb_account_state state);

/* An xb_log_sink_fn that hands lines to ctx, a struct xb_ui whose vt->log is set:
 * xb_log_set_sink(xb_ui_log_sink, ui). Called from any thread that logs. */
void xb_ui_log_sink(void *ctx, enum xb_log_level level, unsigned event, const char *line);

/* "signin-needed", "testing-expiry", ... for logs and tests. */
const char *xb_ui_kind_name(enum xb_ui_kind kind);

#endif
