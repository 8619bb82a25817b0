/*
 * The events an administrator counts across PCs (docs/deployment.md, "Monitoring"): each
 * has a stable ID and a level, and its text names the account. The companion logs them
 * like any line, with "[event N]" before the text; the Windows tray also writes them to
 * the Event Log (Application, source XOAuthBridge) with that Event ID, through the
 * message table service/front/win32/events.mc (msi.events checks that table, this one
 * and the documented list against each other). The add-in's events reach the Event Log
 * through the companion (ACCOUNT_BRIDGED, REPORT_UNMATCHED).
 *
 * IDs never change meaning; a new event takes a new ID.
 */
#ifndef XB_EVENTS_H
#define XB_EVENTS_H

#include "core/log.h"

enum xb_event_id {
    XB_EV_NONE = 0,
    XB_EV_ERROR = 1,              /* any other error line (as before 0.2) */
    XB_EV_WARNING_LINE = 2,       /* any other warning line, where a command asks for every
                                     line (restore --all-users: no file to read) */
    XB_EV_INFO_LINE = 3,          /* the same for information */
    /* information: 1000-1999 */
    XB_EV_STARTED = 1000,         /* the companion listens (its ports) */
    XB_EV_SIGNED_IN = 1001,       /* EMAIL signed in (who signed in was checked) */
    XB_EV_BRIDGED = 1002,         /* the add-in pointed an Outlook account at the companion */
    XB_EV_RESTORED = 1003,        /* Outlook accounts of EMAIL put back as they were */
    XB_EV_SIGNED_OUT = 1004,      /* EMAIL's tokens removed (logout) */
    XB_EV_RESTORED_ALL = 1005,    /* restore --all-users finished (its summary) */
    /* warning: 2000-2999 */
    XB_EV_NEEDS_SIGNIN = 2000,    /* EMAIL must sign in again */
    XB_EV_TESTING_EXPIRY = 2001,  /* the same, by Google's 7-day limit of "Testing" apps */
    XB_EV_PORTS_MOVED = 2002,     /* the saved ports were taken: listening on others */
    XB_EV_UNMATCHED = 2003,       /* Outlook reported an error the add-in does not know */
    XB_EV_WRONG_ACCOUNT = 2004,   /* a sign-in with another Google account was refused */
    XB_EV_WRONG_PASSWORD = 2005,  /* a mail program sent a password that is not EMAIL's */
    XB_EV_UNTRUSTED = 2006,       /* a server's certificate was refused */
    XB_EV_WEB_PROXY = 2007,       /* the web proxy refused or failed the token request */
    /* error: 3000-3999 */
    XB_EV_CANNOT_START = 3000,    /* the companion cannot start */
    XB_EV_STORE_UNREADABLE = 3001, /* the account store cannot be read */
    XB_EV_PROFILE_NOT_RESTORED = 3002 /* restore --all-users could not put back a user's
                                         accounts (kept, retried at the next run) */
};

struct xb_event_def {
    enum xb_event_id id;
    enum xb_log_level level;      /* ERROR, WARN or INFO: the Event Log's type */
    const char *name;             /* "signed-in": for docs and tests */
};

/* Every event, in ID order; xb_event_def(id) finds one (NULL: no such ID). */
extern const struct xb_event_def xb_event_defs[];
extern const unsigned xb_event_count;
const struct xb_event_def *xb_event_def(unsigned id);

#endif
