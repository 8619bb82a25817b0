/*
 * Hosts and Outlook's error texts (classify.h). The texts are Google's (they reach the
 * description after "The server responded:") and Outlook's own, in English and
 * Japanese; the codes are Outlook's (reference/outlook.md).
 */
#include "classify.h"

#include <string.h>

#include "core/ascii.h"

static bool eq_nocase(const char *a, size_t alen, const char *b, size_t blen)
{
    return strlen(b) == blen && xb_ascii_eq_ci(a, alen, b);
}

/* host (len bytes) is domain or a name under it. */
static bool under(const char *host, size_t len, const char *domain)
{
    size_t d = strlen(domain);
    if (eq_nocase(host, len, domain, d))
        return true;
    return len > d + 1 && host[len - d - 1] == '.' && eq_nocase(host + len - d, d, domain, d);
}

bool xb_ol_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!hay)
        return false;
    if (n == 0)
        return true;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && xb_ascii_lower(hay[i]) == xb_ascii_lower(needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

static bool in_list(const char *host, size_t len, const char *list)
{
    while (list && *list) {
        while (*list == ' ' || *list == ',')
            list++;
        const char *end = list;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > list && last[-1] == ' ')
            last--;
        if (last > list && eq_nocase(host, len, list, (size_t)(last - list)))
            return true;
        list = end;
    }
    return false;
}

bool xb_domain_allowed(const char *allowed, const char *email)
{
    const char *p = allowed;
    while (p && (*p == ' ' || *p == ','))
        p++;
    if (!p || !*p)
        return true;
    const char *at = email ? strrchr(email, '@') : NULL;
    if (!at || !at[1])
        return false;
    return in_list(at + 1, strlen(at + 1), allowed);
}

const char *xb_provider_of_host(const char *host, const char *extra_hosts, bool microsoft)
{
    static const char *const google[] = { "gmail.com", "googlemail.com" };
    static const char *const ms[] = { "outlook.office365.com", "smtp.office365.com",
                                      "outlook.office.com", "outlook.com" };
    if (!host)
        return NULL;
    size_t len = strlen(host);
    while (len && host[len - 1] == '.')
        len--;
    if (len == 0)
        return NULL;
    for (size_t i = 0; i < sizeof(google) / sizeof(google[0]); i++) {
        if (under(host, len, google[i]))
            return "google";
    }
    if (in_list(host, len, extra_hosts))
        return "google";
    for (size_t i = 0; microsoft && i < sizeof(ms) / sizeof(ms[0]); i++) {
        if (under(host, len, ms[i]))
            return "microsoft";
    }
    return NULL;
}

/* --- accounts ------------------------------------------------------------------------------ */

const char *xb_ol_recent_address(const char *user)
{
    static const char prefix[] = "recent:";
    const size_t n = sizeof(prefix) - 1;
    if (!user || strlen(user) <= n || !xb_ascii_eq_ci(user, n, prefix))
        return NULL;
    return strchr(user + n, '@') ? user + n : NULL;
}

const char *xb_ol_identity(const char *user, const char *email)
{
    const char *recent = xb_ol_recent_address(user);
    if (recent)
        return recent;
    return user && strchr(user, '@') ? user : email;
}

bool xb_ol_loopback_host(const char *host)
{
    if (!host)
        return false;
    if (strcmp(host, "::1") == 0 || xb_ascii_streq_ci(host, "localhost"))
        return true;
    unsigned part[4], n = 0;
    const char *p = host;
    for (; n < 4; n++) {
        unsigned v = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*p++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return false;
        part[n] = v;
        if (n < 3 && *p++ != '.')
            return false;
    }
    return *p == '\0' && part[0] == 127;
}

/* --- OnError ------------------------------------------------------------------------------ */

#define E_LOGIN_REJECTED  0x800CCC92u /* "Your e-mail server rejected your login" */
#define E_SPA_FAILED      0x800CCC18u /* Secure Password Authentication failed */
#define E_CANNOT_CONNECT  0x800CCC0Eu /* "cannot connect to your ... server" */
#define E_CONN_DROPPED    0x800CCC0Fu /* "the connection to the server was interrupted" */
#define E_SSL_FAILED      0x800CCC1Au /* "your server does not support the connection
                                         encryption type" */

/* Passing trouble, whatever response code carries it: Gmail tags its POP throttling
 * [AUTH] ("-ERR [AUTH] Account exceeded POP command or bandwidth limits"), so these
 * are looked for before any sign-in words. Gmail's, Microsoft's, and the companion's
 * own temporary answers ([SYS/TEMP], [UNAVAILABLE], 454 4.7.0). */
static const char *const temporary_words[] = {
    "Account exceeded",                       /* POP and IMAP bandwidth/command limits */
    "bandwidth limits",
    "Too many simultaneous connections",
    "[OVERQUOTA]",
    "[THROTTLED]",
    "Too many login attempts",                /* SMTP 454 4.7.0 */
    "Try again later",                        /* SMTP 421 4.7.0 */
    "Daily user sending limit exceeded",      /* SMTP 550 5.4.5: a day's quota, not login */
    "[SYS/TEMP]",
    "[UNAVAILABLE]",
    "Temporary System Problem",
    "temporarily unavailable",
    "did not answer in time",
    "454 4.7.0",
};

/* Refusals that no sign-in changes: the protocol is off for the account or domain. */
static const char *const not_signin_words[] = {
    "[SYS/PERM]",                             /* "Your account is not enabled for POP access" */
    "not enabled for POP access",
    "POP access is disabled",
    "not enabled for IMAP",
};

/* The server refused the login. Google's phrases (reference/gmail.md), Microsoft 365's
 * ("AUTHENTICATE failed.", "Authentication failure: unknown user name or bad password.",
 * "535 5.7.3 Authentication unsuccessful"), the IMAP response code, and the
 * companion's own refusals (the secret Outlook holds, or a sign-in it needs). Full
 * phrases and enhanced status codes only: a bare [AUTH] proves nothing. */
static const char *const signin_words[] = {
    "Web login required",
    "log in via your web browser",
    "Application-specific password required",
    "Invalid credentials",
    "Username and Password not accepted",
    "5.7.14",
    "5.7.9",
    "5.7.8",
    "[AUTHENTICATIONFAILED]",
    "AUTHENTICATE failed",
    "unknown user name or bad password",
    "5.7.3 Authentication unsuccessful",
    "Invalid user name or password",          /* the companion: not the secret it gave */
    "sign in to XOAuth Bridge",
    "the sign-in has expired or was revoked",
};

/* Outlook's task words; the English and the Japanese UI. */
static const char *const sending_words[] = { "Sending", "\xe9\x80\x81\xe4\xbf\xa1" /* 送信 */ };
static const char *const receiving_words[] = { "Receiving",
                                               "\xe5\x8f\x97\xe4\xbf\xa1" /* 受信 */ };

#define ANY(text, words) any((text), (words), sizeof(words) / sizeof((words)[0]))

static bool any(const char *text, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (xb_ol_contains(text, words[i]))
            return true;
    }
    return false;
}

/* "Task 'NAME - Receiving' reported error ...": the first quoted part that has " - "
 * in it names the account and the direction, in any UI language. */
static void parse_task(const char *text, struct xb_ol_error *out)
{
    for (const char *open = strchr(text, '\''); open; open = strchr(open + 1, '\'')) {
        const char *close = strchr(open + 1, '\'');
        if (!close)
            return;
        const char *dash = NULL;
        for (const char *p = open + 1; p + 3 <= close; p++) {
            if (p[0] == ' ' && p[1] == '-' && p[2] == ' ')
                dash = p; /* the last one: account names may contain " - " */
        }
        if (dash) {
            size_t len = (size_t)(dash - (open + 1));
            if (len >= sizeof(out->task))
                len = sizeof(out->task) - 1;
            memcpy(out->task, open + 1, len);
            out->task[len] = '\0';
            char word[64];
            size_t wl = (size_t)(close - (dash + 3));
            if (wl >= sizeof(word))
                wl = sizeof(word) - 1;
            memcpy(word, dash + 3, wl);
            word[wl] = '\0';
            if (ANY(word, sending_words))
                out->dir = XB_OL_DIR_SENDING;
            else if (ANY(word, receiving_words))
                out->dir = XB_OL_DIR_RECEIVING;
            return;
        }
        open = close;
    }
}

const char *xb_ol_cause_name(enum xb_ol_cause cause)
{
    switch (cause) {
    case XB_OL_CAUSE_SIGNIN:
        return "sign-in";
    case XB_OL_CAUSE_TEMPORARY:
        return "temporary";
    case XB_OL_CAUSE_OTHER:
        break;
    }
    return "other";
}

static enum xb_ol_cause cause_of(uint32_t code, const char *text, bool *by_code)
{
    *by_code = false;
    switch (code) {
    case E_CANNOT_CONNECT:
    case E_CONN_DROPPED:
    case E_SSL_FAILED:
        return XB_OL_CAUSE_OTHER; /* no login was refused */
    default:
        break;
    }
    if (ANY(text, temporary_words))
        return XB_OL_CAUSE_TEMPORARY;
    if (ANY(text, not_signin_words))
        return XB_OL_CAUSE_OTHER;
    if (ANY(text, signin_words))
        return XB_OL_CAUSE_SIGNIN;
    /* The server's words are not there (or not known): Outlook's code says it. */
    *by_code = true;
    return code == E_LOGIN_REJECTED || code == E_SPA_FAILED ? XB_OL_CAUSE_SIGNIN
                                                            : XB_OL_CAUSE_OTHER;
}

void xb_ol_error_classify(uint32_t code, const char *text, struct xb_ol_error *out)
{
    memset(out, 0, sizeof(*out));
    if (!text)
        text = "";
    parse_task(text, out);
    out->cause = cause_of(code, text, &out->by_code);
    if (out->dir == XB_OL_DIR_UNKNOWN && (xb_ol_contains(text, "SMTP") ||
                                          xb_ol_contains(text, "535") ||
                                          xb_ol_contains(text, "534")))
        out->dir = XB_OL_DIR_SENDING;
}
