/*
 * The add-in's text decisions (addin/classify.c): which hosts are Gmail's (and
 * Microsoft's, when enabled), and what Outlook's send/receive errors say, from the
 * texts in ../shared/reference/ as Outlook puts them in OnError's description.
 */
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

static void errors(void)
{
    struct xb_ol_error e;

    /* POP3, Google's "Web login required" (reference/gmail.md) in Outlook's sentence. */
    xb_ol_error_classify(0x800CCC92u,
        "Task 'taro@gmail.com - Receiving' reported error (0x800CCC92) : 'Your e-mail "
        "server rejected your login. Verify your user name and password for this account "
        "in Account Settings.  The server responded: -ERR [AUTH] Web login required: "
        "https://support.google.com/mail/answer/78754'", &e);
    CHECK(e.signin);
    CHECK(e.dir == XB_OL_DIR_RECEIVING);
    CHECK_STR(e.task, "taro@gmail.com");

    /* IMAP alert, with a code Outlook uses for server responses. */
    xb_ol_error_classify(0x800CCCD1u,
        "Task 'Work - Gmail - Receiving' reported error (0x800CCCD1) : 'The server "
        "responded: NO [ALERT] Please log in via your web browser: "
        "https://support.google.com/mail/accounts/answer/78754 (Failure)'", &e);
    CHECK(e.signin);
    CHECK_STR(e.task, "Work - Gmail"); /* the last " - " splits */

    /* SMTP. */
    xb_ol_error_classify(0x800CCC78u,
        "Task 'hanako@example.ac.jp - Sending' reported error (0x800CCC78) : 'Cannot "
        "send the message. The server responded: 534-5.7.9 Application-specific password "
        "required.'", &e);
    CHECK(e.signin);
    CHECK(e.dir == XB_OL_DIR_SENDING);
    CHECK_STR(e.task, "hanako@example.ac.jp");

    /* Japanese Outlook. */
    xb_ol_error_classify(0x800CCC92u,
        "\xe3\x82\xbf\xe3\x82\xb9\xe3\x82\xaf 'taro@gmail.com - \xe5\x8f\x97\xe4\xbf\xa1' "
        "\xe3\x81\xa7\xe3\x82\xa8\xe3\x83\xa9\xe3\x83\xbc (0x800CCC92)", &e);
    CHECK(e.signin);
    CHECK(e.dir == XB_OL_DIR_RECEIVING);
    CHECK_STR(e.task, "taro@gmail.com");

    /* Not about the password: cannot connect, a dropped connection, a mailbox error. */
    xb_ol_error_classify(0x800CCC0Eu,
        "Task 'taro@gmail.com - Receiving' reported error (0x800CCC0E) : 'Outlook "
        "cannot connect to your incoming (POP3) e-mail server.'", &e);
    CHECK(!e.signin);
    CHECK_STR(e.task, "taro@gmail.com");
    xb_ol_error_classify(0x800CCC90u, "The server responded: -ERR mailbox locked", &e);
    CHECK(!e.signin);
    CHECK_STR(e.task, "");
    xb_ol_error_classify(0x800CCC90u, "The server responded: -ERR [AUTH] Web login required",
                         &e);
    CHECK(e.signin);

    /* Odd input: nothing read past the end, nothing claimed. */
    xb_ol_error_classify(0, "", &e);
    CHECK(!e.signin && e.task[0] == '\0' && e.dir == XB_OL_DIR_UNKNOWN);
    xb_ol_error_classify(0, NULL, &e);
    CHECK(!e.signin);
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
        { "Outlook's OnError texts", errors },
    };
    return xbtest_run(cases, sizeof(cases) / sizeof(cases[0]));
}
