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

/* --- OnError ------------------------------------------------------------------------------ */

#define E_LOGIN_REJECTED  0x800CCC92u /* "Your e-mail server rejected your login" */
#define E_POP3_RESPONSE   0x800CCC90u /* the POP3 server answered -ERR */
#define E_SPA_FAILED      0x800CCC18u /* Secure Password Authentication failed */
#define E_SMTP_RESPONSE   0x800CCC78u /* the SMTP server answered 5xx (unverified) */
#define E_SMTP_AUTH       0x800CCC7Du /* SMTP authentication not supported (unverified) */

/* Google's words for "passwords are off": any of these means OAuth is the fix. */
static const char *const google_refusals[] = {
    "Web login required",
    "log in via your web browser",
    "Application-specific password required",
    "AUTHENTICATIONFAILED",
    "Invalid credentials",
    "Username and Password not accepted",
    "5.7.14",
    "5.7.9",
    "5.7.8",
    "534-5.7",
    "535-5.7",
    "[AUTH]",
};

/* Outlook's task words; the English and the Japanese UI. */
static const char *const sending_words[] = { "Sending", "\xe9\x80\x81\xe4\xbf\xa1" /* 送信 */ };
static const char *const receiving_words[] = { "Receiving",
                                               "\xe5\x8f\x97\xe4\xbf\xa1" /* 受信 */ };

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
            if (any(word, sending_words, sizeof(sending_words) / sizeof(sending_words[0])))
                out->dir = XB_OL_DIR_SENDING;
            else if (any(word, receiving_words,
                         sizeof(receiving_words) / sizeof(receiving_words[0])))
                out->dir = XB_OL_DIR_RECEIVING;
            return;
        }
        open = close;
    }
}

void xb_ol_error_classify(uint32_t code, const char *text, struct xb_ol_error *out)
{
    memset(out, 0, sizeof(*out));
    if (!text)
        text = "";
    parse_task(text, out);
    const bool google = any(text, google_refusals,
                            sizeof(google_refusals) / sizeof(google_refusals[0]));
    switch (code) {
    case E_LOGIN_REJECTED:
    case E_SPA_FAILED:
        out->signin = true;
        break;
    case E_POP3_RESPONSE:
    case E_SMTP_RESPONSE:
    case E_SMTP_AUTH:
    default:
        /* A server's answer: only Google's words say it is about the password. */
        out->signin = google;
        break;
    }
    if (out->dir == XB_OL_DIR_UNKNOWN && (xb_ol_contains(text, "SMTP") ||
                                          xb_ol_contains(text, "535") ||
                                          xb_ol_contains(text, "534")))
        out->dir = XB_OL_DIR_SENDING;
}
