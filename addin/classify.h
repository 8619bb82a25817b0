/*
 * What the add-in decides from text alone: which mail hosts belong to a provider we
 * bridge, and what one of Outlook's send/receive errors (SyncObject OnError: a code
 * and a description) says. Plain C and the C library, no <windows.h>: the unit tests
 * run it on Linux with the texts from ../shared/reference/.
 */
#ifndef XB_ADDIN_CLASSIFY_H
#define XB_ADDIN_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "google" for Gmail's hosts (imap/pop/smtp.gmail.com, any *.gmail.com or
 * *.googlemail.com) and for a host in extra_hosts (comma-separated, exact, any case;
 * may be NULL); "microsoft" for Microsoft 365 / Outlook.com hosts when microsoft is
 * true; NULL otherwise. host is compared without case and without a trailing dot. */
const char *xb_provider_of_host(const char *host, const char *extra_hosts, bool microsoft);

/* Whether email's domain (after the last '@') is in allowed (comma-separated domains,
 * exact, any case, spaces around commas ignored). NULL or empty allowed: every
 * domain. An address without '@' is never allowed by a non-empty list. */
bool xb_domain_allowed(const char *allowed, const char *email);

/* Gmail's POP3 recent mode: a user name recent:ADDRESS (reference/gmail.md). The
 * address it names, or NULL when user is not of that form. */
const char *xb_ol_recent_address(const char *user);

/* The Google account an Outlook account logs in as: its incoming user name when that is
 * an address (recent: taken off), else its Email (which may be an alias). */
const char *xb_ol_identity(const char *user, const char *email);

/* A loopback address as the companion names its listeners: 127.x.y.z (dotted, each part
 * 0..255), ::1 or localhost. The add-in writes no other host into Outlook's accounts. */
bool xb_ol_loopback_host(const char *host);

/* Which way the failing task was going. */
enum xb_ol_dir {
    XB_OL_DIR_UNKNOWN,
    XB_OL_DIR_RECEIVING,
    XB_OL_DIR_SENDING,
};

#define XB_OL_TASK_MAX 256

/* What a failure is about. */
enum xb_ol_cause {
    XB_OL_CAUSE_OTHER,      /* not the login (cannot connect, a dropped connection, a
                               mailbox error, POP turned off): left alone */
    XB_OL_CAUSE_SIGNIN,     /* the server refused the login: for a provider's account
                               OAuth is the fix; for a bridged one, the password Outlook
                               holds or the companion's sign-in */
    XB_OL_CAUSE_TEMPORARY,  /* throttling or a passing server problem, whatever tag it
                               carries ([AUTH] too): no sign-in helps */
};

struct xb_ol_error {
    enum xb_ol_cause cause;
    bool by_code;                 /* no known phrase in the text: the cause is the code's
                                     guess (a refusal so guessed is worth an
                                     administrator's look: a new text) */
    enum xb_ol_dir dir;
    char task[XB_OL_TASK_MAX];    /* the account name in "Task 'NAME - Receiving'", or "" */
};

/* "sign-in", "temporary", "other": for logs. */
const char *xb_ol_cause_name(enum xb_ol_cause cause);

/* Reads an OnError. text is UTF-8 (Outlook's description; any language). Servers' own
 * words decide first (Google's and Microsoft's full phrases, and the companion's); the
 * code decides only when they say nothing: 0x800CCC92 (login rejected) and 0x800CCC18
 * (SPA) are sign-in failures, cannot-connect codes never are. */
void xb_ol_error_classify(uint32_t code, const char *text, struct xb_ol_error *out);

/* Case-insensitive (ASCII) search; true if needle occurs in hay. */
bool xb_ol_contains(const char *hay, const char *needle);

#endif
