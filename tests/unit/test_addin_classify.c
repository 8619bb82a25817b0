/*
 * The add-in's text decisions (addin/classify.c): which hosts are Gmail's (and
 * Microsoft's, when enabled), and what Outlook's send/receive errors say, from the
 * texts in ../shared/reference/ as Outlook puts them in OnError's description.
 */
#include <stdio.h>
#include <string.h>

#include "classify.h"

#include "xbtest.h"

static void hosts(void)
{
    CHECK_STR(xb_provider_of_host("imap.gmail.com", NULL, false), "google");
    CHECK_STR(xb_provider_of_host("POP.GMAIL.COM", NULL, false), "google");
    CHECK_STR(xb_provider_of_host("smtp.gmail.com.", NULL, false), "google");
    CHECK_STR(xb_provider_of_host("imap.googlemail.com", NULL, false), "google");
    CHECK_STR(xb_provider_of_host("googlemail.com", NULL, false), "google");
    /* Look-alikes are not Gmail. */
    CHECK(xb_provider_of_host("gmail.com.evil.example", NULL, false) == NULL);
    CHECK(xb_provider_of_host("notgmail.com", NULL, false) == NULL);
    CHECK(xb_provider_of_host("imap.example.ac.jp", NULL, false) == NULL);
    CHECK(xb_provider_of_host("", NULL, false) == NULL);
    CHECK(xb_provider_of_host(NULL, NULL, false) == NULL);
    /* Hosts named by policy: exact, any case, spaces around commas. */
    CHECK_STR(xb_provider_of_host("Mail.Example.ac.jp", "imap.x.jp , mail.example.ac.jp", false),
              "google");
    CHECK(xb_provider_of_host("example.ac.jp", "mail.example.ac.jp", false) == NULL);
    /* Microsoft only when enabled. */
    CHECK(xb_provider_of_host("outlook.office365.com", NULL, false) == NULL);
    CHECK_STR(xb_provider_of_host("outlook.office365.com", NULL, true), "microsoft");
    CHECK_STR(xb_provider_of_host("smtp-mail.outlook.com", NULL, true), "microsoft");
}

static void identities(void)
{
    CHECK_STR(xb_ol_identity("taro@gmail.com", "alias@example.jp"), "taro@gmail.com");
    CHECK_STR(xb_ol_identity("taro", "taro@example.ac.jp"), "taro@example.ac.jp");
    CHECK_STR(xb_ol_identity("recent:taro@gmail.com", "x@y"), "taro@gmail.com");
    CHECK_STR(xb_ol_identity("Recent:Taro@Gmail.com", "x@y"), "Taro@Gmail.com");
    CHECK_STR(xb_ol_recent_address("RECENT:hanako@example.ac.jp"), "hanako@example.ac.jp");
    CHECK(xb_ol_recent_address("recent:") == NULL);
    CHECK(xb_ol_recent_address("recent:hanako") == NULL);       /* not an address */
    CHECK(xb_ol_recent_address("recently@example.jp") == NULL);
    CHECK(xb_ol_recent_address(NULL) == NULL);
    CHECK_STR(xb_ol_identity("recent:hanako", "hanako@example.ac.jp"), "hanako@example.ac.jp");
    CHECK_STR(xb_ol_identity("", "hanako@example.ac.jp"), "hanako@example.ac.jp");
}

static void loopback_hosts(void)
{
    CHECK(xb_ol_loopback_host("127.0.0.1"));
    CHECK(xb_ol_loopback_host("127.1.2.254"));
    CHECK(xb_ol_loopback_host("::1"));
    CHECK(xb_ol_loopback_host("LocalHost"));
    CHECK(!xb_ol_loopback_host("10.0.0.1"));
    CHECK(!xb_ol_loopback_host("127.0.0.1.evil.example"));
    CHECK(!xb_ol_loopback_host("127.0.0"));
    CHECK(!xb_ol_loopback_host("127.0.0.256"));
    CHECK(!xb_ol_loopback_host("127.0.0.0001"));
    CHECK(!xb_ol_loopback_host("1270.0.0.1"));
    CHECK(!xb_ol_loopback_host("imap.gmail.com"));
    CHECK(!xb_ol_loopback_host(""));
    CHECK(!xb_ol_loopback_host(NULL));
    CHECK(!xb_ol_loopback_host("::2"));
}

static void domains(void)
{
    CHECK(xb_domain_allowed(NULL, "taro@gmail.com"));
    CHECK(xb_domain_allowed("", "taro@gmail.com"));
    CHECK(xb_domain_allowed(" , ", "taro@gmail.com"));
    CHECK(xb_domain_allowed("example.ac.jp, gmail.com", "Taro@GMAIL.com"));
    CHECK(!xb_domain_allowed("example.ac.jp", "taro@gmail.com"));
    /* Exact: a subdomain is listed on its own. */
    CHECK(!xb_domain_allowed("example.ac.jp", "taro@mail.example.ac.jp"));
    CHECK(!xb_domain_allowed("example.ac.jp", "taro"));
    CHECK(!xb_domain_allowed("example.ac.jp", "taro@"));
    CHECK(!xb_domain_allowed("example.ac.jp", NULL));
}

/* Outlook's sentences around a server's words (reference/outlook.md), in the English
 * and the Japanese UI ("タスク 'NAME - 受信' はエラー (CODE) を報告しました: '...サーバーの応答: ...'"). */
#define EN_RECV(name, code, said) "Task '" name " - Receiving' reported error (" code ") : " \
    "'Your e-mail server rejected your login. Verify your user name and password for this " \
    "account in Account Settings.  The server responded: " said "'"
#define EN_SEND(name, code, said) "Task '" name " - Sending' reported error (" code ") : " \
    "'Cannot send the message. The server responded: " said "'"
#define JA_RECV(name, code, said) \
    "\xe3\x82\xbf\xe3\x82\xb9\xe3\x82\xaf '" name " - \xe5\x8f\x97\xe4\xbf\xa1' " \
    "\xe3\x81\xaf\xe3\x82\xa8\xe3\x83\xa9\xe3\x83\xbc (" code ") " \
    "\xe3\x82\x92\xe5\xa0\xb1\xe5\x91\x8a\xe3\x81\x97\xe3\x81\xbe\xe3\x81\x97\xe3\x81\x9f: '" \
    "\xe3\x82\xb5\xe3\x83\xbc\xe3\x83\x90\xe3\x83\xbc\xe3\x81\xae\xe5\xbf\x9c\xe7\xad\x94: " said "'"
#define JA_SEND(name, code, said) \
    "\xe3\x82\xbf\xe3\x82\xb9\xe3\x82\xaf '" name " - \xe9\x80\x81\xe4\xbf\xa1' " \
    "\xe3\x81\xaf\xe3\x82\xa8\xe3\x83\xa9\xe3\x83\xbc (" code ") " \
    "\xe3\x82\x92\xe5\xa0\xb1\xe5\x91\x8a\xe3\x81\x97\xe3\x81\xbe\xe3\x81\x97\xe3\x81\x9f: '" \
    "\xe3\x82\xb5\xe3\x83\xbc\xe3\x83\x90\xe3\x83\xbc\xe3\x81\xae\xe5\xbf\x9c\xe7\xad\x94: " said "'"

/* Real servers' words (reference/gmail.md; Microsoft's OAuth page for Exchange Online). */
#define G_POP_WEB   "-ERR [AUTH] Web login required: https://support.google.com/mail/answer/78754"
#define G_POP_BAD   "-ERR [AUTH] Username and password not accepted."
#define G_POP_ASP   "-ERR [AUTH] Application-specific password required"
#define G_POP_LIMIT "-ERR [AUTH] Account exceeded POP command or bandwidth limits (Failure)"
#define G_POP_OFF   "-ERR [SYS/PERM] Your account is not enabled for POP access. Please visit " \
                    "your Gmail settings page and enable your account for POP access."
#define G_POP_TEMP  "-ERR [SYS/TEMP] Temporary system problem. Please try again later."
#define G_IMAP_WEB  "NO [ALERT] Please log in via your web browser: " \
                    "https://support.google.com/mail/accounts/answer/78754 (Failure)"
#define G_IMAP_BAD  "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"
#define G_IMAP_ASP  "NO [ALERT] Application-specific password required: " \
                    "https://support.google.com/accounts/answer/185833 (Failure)"
#define G_IMAP_MANY "NO [ALERT] Too many simultaneous connections. (Failure)"
#define G_IMAP_OVER "* BYE [OVERQUOTA] Account exceeded command or bandwidth limits."
#define G_SMTP_WEB  "534-5.7.14 Please log in via your web browser and then try again. " \
                    "534 5.7.14 https://support.google.com/mail/answer/78754"
#define G_SMTP_ASP  "534-5.7.9 Application-specific password required. Learn more at " \
                    "https://support.google.com/mail/?p=InvalidSecondFactor"
#define G_SMTP_BAD  "535-5.7.8 Username and Password not accepted. For more information, go " \
                    "to 535 5.7.8 https://support.google.com/mail/?p=BadCredentials - gsmtp"
#define G_SMTP_MANY "454 4.7.0 Too many login attempts, please try again later. - gsmtp"
#define G_SMTP_DAY  "550-5.4.5 Daily user sending limit exceeded. 550 5.4.5 " \
                    "https://support.google.com/a/answer/166852 - gsmtp"
#define G_SMTP_LATE "421-4.7.0 Try again later, closing connection. (EHLO)"
#define M_IMAP      "A01 NO AUTHENTICATE failed."
#define M_POP       "-ERR Authentication failure: unknown user name or bad password."
#define M_SMTP      "535 5.7.3 Authentication unsuccessful"
/* The companion's own answers (docs/troubleshooting.md "The sentences"). */
#define X_SECRET    "-ERR [AUTH] Invalid user name or password. XOAuth Bridge manages this " \
                    "account's password: do not enter your Google password here"
#define X_SIGNIN    "NO [AUTHENTICATIONFAILED] not signed in: sign in to XOAuth Bridge for " \
                    "this account"
#define X_TEMP      "-ERR [SYS/TEMP] The mail server is temporarily unavailable; try again later"
#define X_SMTP_TEMP "454 4.7.0 The mail server did not answer in time; try again later"

#define CONNECT_EN "Task 'taro@gmail.com - Receiving' reported error (0x800CCC0E) : 'Outlook " \
                   "cannot connect to your incoming (POP3) e-mail server. If you continue to " \
                   "receive this message, contact your server administrator or Internet " \
                   "service provider (ISP).'"
#define DROPPED_JA "\xe3\x82\xbf\xe3\x82\xb9\xe3\x82\xaf 'taro@gmail.com - \xe9\x80\x81\xe4\xbf\xa1' " \
                   "\xe3\x81\xaf\xe3\x82\xa8\xe3\x83\xa9\xe3\x83\xbc (0x800CCC0F) " \
                   "\xe3\x82\x92\xe5\xa0\xb1\xe5\x91\x8a\xe3\x81\x97\xe3\x81\xbe\xe3\x81\x97\xe3\x81\x9f: " \
                   "'\xe3\x82\xb5\xe3\x83\xbc\xe3\x83\x90\xe3\x83\xbc\xe3\x81\xb8\xe3\x81\xae\xe6\x8e\xa5" \
                   "\xe7\xb6\x9a\xe3\x81\x8c\xe4\xb8\xad\xe6\x96\xad\xe3\x81\x95\xe3\x82\x8c\xe3\x81\xbe" \
                   "\xe3\x81\x97\xe3\x81\x9f\xe3\x80\x82 535 5.7.8'"

#define S XB_OL_CAUSE_SIGNIN
#define T XB_OL_CAUSE_TEMPORARY
#define O XB_OL_CAUSE_OTHER
#define R XB_OL_DIR_RECEIVING
#define W XB_OL_DIR_SENDING

static const struct {
    uint32_t code;
    const char *text;
    enum xb_ol_cause cause;
    enum xb_ol_dir dir;
} table[] = {
    /* Gmail refusing a password: OAuth is the fix. */
    { 0x800CCC92u, EN_RECV("taro@gmail.com", "0x800CCC92", G_POP_WEB), S, R },
    { 0x800CCC92u, JA_RECV("taro@gmail.com", "0x800CCC92", G_POP_WEB), S, R },
    { 0x800CCC90u, EN_RECV("taro@gmail.com", "0x800CCC90", G_POP_BAD), S, R },
    { 0x800CCC90u, JA_RECV("taro@gmail.com", "0x800CCC90", G_POP_ASP), S, R },
    { 0x800CCCD1u, EN_RECV("Hanako", "0x800CCCD1", G_IMAP_WEB), S, R },
    { 0x800CCCD1u, JA_RECV("Hanako", "0x800CCCD1", G_IMAP_BAD), S, R },
    { 0x800CCCD1u, EN_RECV("Hanako", "0x800CCCD1", G_IMAP_ASP), S, R },
    { 0x800CCC78u, EN_SEND("hanako@example.ac.jp", "0x800CCC78", G_SMTP_WEB), S, W },
    { 0x800CCC78u, JA_SEND("hanako@example.ac.jp", "0x800CCC78", G_SMTP_ASP), S, W },
    { 0x800CCC78u, EN_SEND("hanako@example.ac.jp", "0x800CCC78", G_SMTP_BAD), S, W },
    /* Microsoft 365. */
    { 0x800CCCD1u, EN_RECV("work", "0x800CCCD1", M_IMAP), S, R },
    { 0x800CCC90u, JA_RECV("work", "0x800CCC90", M_POP), S, R },
    { 0x800CCC78u, EN_SEND("work", "0x800CCC78", M_SMTP), S, W },
    /* Throttling and passing trouble, even tagged [AUTH] or with the login-rejected code. */
    { 0x800CCC92u, EN_RECV("taro@gmail.com", "0x800CCC92", G_POP_LIMIT), T, R },
    { 0x800CCC92u, JA_RECV("taro@gmail.com", "0x800CCC92", G_POP_LIMIT), T, R },
    { 0x800CCC90u, EN_RECV("taro@gmail.com", "0x800CCC90", G_POP_TEMP), T, R },
    { 0x800CCCD1u, EN_RECV("Hanako", "0x800CCCD1", G_IMAP_MANY), T, R },
    { 0x800CCCD1u, JA_RECV("Hanako", "0x800CCCD1", G_IMAP_OVER), T, R },
    { 0x800CCC78u, EN_SEND("hanako@example.ac.jp", "0x800CCC78", G_SMTP_MANY), T, W },
    { 0x800CCC78u, JA_SEND("hanako@example.ac.jp", "0x800CCC78", G_SMTP_DAY), T, W },
    { 0x800CCC78u, EN_SEND("hanako@example.ac.jp", "0x800CCC78", G_SMTP_LATE), T, W },
    /* POP turned off: no sign-in changes that. */
    { 0x800CCC92u, EN_RECV("taro@gmail.com", "0x800CCC92", G_POP_OFF), O, R },
    { 0x800CCC90u, JA_RECV("taro@gmail.com", "0x800CCC90", G_POP_OFF), O, R },
    /* The companion, for a bridged account. */
    { 0x800CCC92u, EN_RECV("taro@gmail.com", "0x800CCC92", X_SECRET), S, R },
    { 0x800CCC92u, JA_RECV("taro@gmail.com", "0x800CCC92", X_SECRET), S, R },
    { 0x800CCCD1u, EN_RECV("Hanako", "0x800CCCD1", X_SIGNIN), S, R },
    { 0x800CCC92u, EN_RECV("taro@gmail.com", "0x800CCC92", X_TEMP), T, R },
    { 0x800CCC78u, JA_SEND("taro@gmail.com", "0x800CCC78", X_SMTP_TEMP), T, W },
    /* Cannot connect, connection dropped: left alone whatever the text holds. */
    { 0x800CCC0Eu, CONNECT_EN, O, R },
    { 0x800CCC0Fu, DROPPED_JA, O, W },
    /* Outlook's login-rejected code without the server's words; a POP3 error that is
     * not about the login; a bare [AUTH] proves nothing. */
    { 0x800CCC92u, "Task 'taro@gmail.com - Receiving' reported error (0x800CCC92)", S, R },
    { 0x800CCC18u, "", S, XB_OL_DIR_UNKNOWN },
    { 0x800CCC90u, "The server responded: -ERR mailbox locked", O, XB_OL_DIR_UNKNOWN },
    { 0x800CCC90u, "The server responded: -ERR [AUTH] something new", O, XB_OL_DIR_UNKNOWN },
};

static void errors(void)
{
    struct xb_ol_error e;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        xb_ol_error_classify(table[i].code, table[i].text, &e);
        if (e.cause != table[i].cause || e.dir != table[i].dir) {
            fprintf(stderr, "row %zu: cause %s (want %s), dir %d (want %d): %s\n", i,
                    xb_ol_cause_name(e.cause), xb_ol_cause_name(table[i].cause), (int)e.dir,
                    (int)table[i].dir, table[i].text);
        }
        CHECK(e.cause == table[i].cause);
        CHECK(e.dir == table[i].dir);
    }

    /* Known words decide; unknown words leave the code to guess, and say so (the
     * companion's Event Log warning 2003). */
    xb_ol_error_classify(0x800CCC92u, JA_RECV("taro@gmail.com", "0x800CCC92", G_POP_WEB), &e);
    CHECK(!e.by_code);
    xb_ol_error_classify(0x800CCC92u, "Your account is not allowed to sign in today", &e);
    CHECK(e.by_code && e.cause == XB_OL_CAUSE_SIGNIN);
    xb_ol_error_classify(0x800CCC90u, "The server responded: -ERR mailbox locked", &e);
    CHECK(e.by_code && e.cause == XB_OL_CAUSE_OTHER); /* no refusal: not reported */
    xb_ol_error_classify(0x800CCC0Eu, "anything", &e);
    CHECK(!e.by_code); /* cannot connect: no login was refused */

    /* The task names the account; the last " - " splits. */
    xb_ol_error_classify(0x800CCCD1u, EN_RECV("Work - Gmail", "0x800CCCD1", G_IMAP_WEB), &e);
    CHECK_STR(e.task, "Work - Gmail");
    xb_ol_error_classify(0x800CCC92u, JA_RECV("taro@gmail.com", "0x800CCC92", G_POP_WEB), &e);
    CHECK_STR(e.task, "taro@gmail.com");
    xb_ol_error_classify(0x800CCC90u, "The server responded: -ERR mailbox locked", &e);
    CHECK_STR(e.task, "");

    /* Odd input: nothing read past the end, nothing claimed. */
    xb_ol_error_classify(0, "", &e);
    CHECK(e.cause == XB_OL_CAUSE_OTHER && e.task[0] == '\0' && e.dir == XB_OL_DIR_UNKNOWN);
    xb_ol_error_classify(0, NULL, &e);
    CHECK(e.cause == XB_OL_CAUSE_OTHER);
    xb_ol_error_classify(0, "Task 'unterminated - Sending", &e);
    CHECK_STR(e.task, "");
    char longname[600];
    memset(longname, 'a', sizeof(longname));
    memcpy(longname, "'", 1);
    memcpy(longname + 500, " - Sending'", 11);
    longname[511] = '\0';
    xb_ol_error_classify(0x800CCC92u, longname, &e);
    CHECK(strlen(e.task) == XB_OL_TASK_MAX - 1);
    CHECK(e.dir == XB_OL_DIR_SENDING);
}

int main(void)
{
    static const struct xbtest_case cases[] = {
        { "Gmail and Microsoft hosts", hosts },
        { "allowed domains", domains },
        { "which Google account", identities },
        { "loopback hosts", loopback_hosts },
        { "Outlook's OnError texts", errors },
    };
    return xbtest_run(cases, sizeof(cases) / sizeof(cases[0]));
}
