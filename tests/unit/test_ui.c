/*
 * The front-end interface (core/ui.h): the once-per-cause-per-account-per-hour rule,
 * the standard texts in both languages, the log sink adapter, and the token source
 * telling the front end when an account needs a person (tokens_oauth.c).
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "core/config.h"
#include "core/http.h"
#include "core/mem.h"
#include "core/msg.h"
#include "core/store.h"
#include "core/tokens.h"
#include "core/tokens_oauth.h"
#include "core/ui.h"

#include "store_fixture.h"
#include "xbtest.h"

struct fake_ui {
    struct xb_ui base;
    int notes, changes, lines;
    enum xb_ui_kind kind;
    char account[128];
    char text[1024];
    enum xb_account_state state;
    char line[256];
};

static void fake_notify(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                        const char *text)
{
    struct fake_ui *f = (struct fake_ui *)ui;
    f->notes++;
    f->kind = kind;
    snprintf(f->account, sizeof(f->account), "%s", account ? account : "(none)");
    snprintf(f->text, sizeof(f->text), "%s", text);
}

static void fake_changed(struct xb_ui *ui, const char *account, enum xb_account_state state)
{
    struct fake_ui *f = (struct fake_ui *)ui;
    f->changes++;
    f->state = state;
    snprintf(f->account, sizeof(f->account), "%s", account);
}

static void fake_log(struct xb_ui *ui, enum xb_log_level level, unsigned event,
                     const char *line)
{
    (void)event;
    struct fake_ui *f = (struct fake_ui *)ui;
    f->lines++;
    snprintf(f->line, sizeof(f->line), "%s", line);
}

static const struct xb_ui_vt fake_vt = {
    .notify = fake_notify, .account_changed = fake_changed, .log = fake_log,
};

static void fake_init(struct fake_ui *f)
{
    memset(f, 0, sizeof(*f));
    xb_ui_init(&f->base, &fake_vt);
}

static void once_per_cause_per_account_per_hour(void)
{
    struct fake_ui f;
    fake_init(&f);
    const int64_t t0 = 1700000000;
    CHECK(xb_ui_notify_at(&f.base, XB_UI_SIGNIN_NEEDED, "a@example.jp", "x", t0));
    CHECK(!xb_ui_notify_at(&f.base, XB_UI_SIGNIN_NEEDED, "a@example.jp", "x", t0 + 1));
    CHECK(!xb_ui_notify_at(&f.base, XB_UI_SIGNIN_NEEDED, "a@example.jp", "x",
                           t0 + XB_UI_REPEAT - 1));
    /* Another account, another cause: each has its own hour. */
    CHECK(xb_ui_notify_at(&f.base, XB_UI_SIGNIN_NEEDED, "b@example.jp", "x", t0 + 2));
    CHECK(xb_ui_notify_at(&f.base, XB_UI_OUTLOOK_FAILURE, "a@example.jp", "x", t0 + 3));
    CHECK(xb_ui_notify_at(&f.base, XB_UI_PROBLEM, NULL, "x", t0 + 4));
    CHECK(!xb_ui_notify_at(&f.base, XB_UI_PROBLEM, NULL, "x", t0 + 5));
    CHECK(f.notes == 4);
    /* After the hour, again once. */
    CHECK(xb_ui_notify_at(&f.base, XB_UI_SIGNIN_NEEDED, "a@example.jp", "x", t0 + XB_UI_REPEAT));
    CHECK(!xb_ui_notify_at(&f.base, XB_UI_SIGNIN_NEEDED, "a@example.jp", "x",
                           t0 + XB_UI_REPEAT + 10));
    CHECK(f.notes == 5);
    /* A clock that jumped back does not silence a cause for good. */
    CHECK(xb_ui_notify_at(&f.base, XB_UI_SIGNIN_NEEDED, "a@example.jp", "x", t0 - 86400));
    xb_ui_cleanup(&f.base);
}

static void answers_to_a_click_are_not_limited(void)
{
    struct fake_ui f;
    fake_init(&f);
    for (int i = 0; i < 3; i++) {
        CHECK(xb_ui_notify_at(&f.base, XB_UI_SIGNIN_FAILED, "a@example.jp", "x", 100 + i));
        CHECK(xb_ui_notify_at(&f.base, XB_UI_SIGNIN_DONE, "a@example.jp", "x", 100 + i));
    }
    CHECK(f.notes == 6);
    xb_ui_cleanup(&f.base);
}

static void many_accounts_stay_bounded(void)
{
    struct fake_ui f;
    fake_init(&f);
    char email[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(email, sizeof(email), "user%d@example.jp", i);
        CHECK(xb_ui_notify_at(&f.base, XB_UI_SIGNIN_NEEDED, email, "x", 1000 + i));
    }
    /* The newest are still remembered. */
    CHECK(!xb_ui_notify_at(&f.base, XB_UI_SIGNIN_NEEDED, "user999@example.jp", "x", 2000));
    CHECK(f.notes == 1000);
    xb_ui_cleanup(&f.base);
}

static void standard_texts_in_both_languages(void)
{
    struct fake_ui f;
    fake_init(&f);
    xb_msg_set_lang(XB_LANG_JA);
    CHECK(xb_ui_alert(&f.base, XB_UI_SIGNIN_NEEDED, "taro@example.ac.jp", NULL));
    CHECK(strstr(f.text, "taro@example.ac.jp") && strstr(f.text, "サインイン"));
    CHECK(xb_ui_alert(&f.base, XB_UI_SIGNIN_FAILED, "taro@example.ac.jp", "timeout"));
    CHECK(strstr(f.text, "timeout") && strstr(f.text, "もう一度"));
    xb_msg_set_lang(XB_LANG_EN);
    CHECK(xb_ui_alert(&f.base, XB_UI_OUTLOOK_FAILURE, "hanako@example.ac.jp", NULL));
    CHECK_STR(f.account, "hanako@example.ac.jp");
    CHECK(f.kind == XB_UI_OUTLOOK_FAILURE && strstr(f.text, "Outlook could not sign in"));
    CHECK(xb_ui_alert(&f.base, XB_UI_PROBLEM, NULL, "imap_listen: cannot listen"));
    CHECK(strstr(f.text, "imap_listen: cannot listen") != NULL);
    CHECK_STR(xb_ui_kind_name(XB_UI_TESTING_EXPIRY), "testing-expiry");
    xb_ui_cleanup(&f.base);
}

static void null_ui_and_log_sink(void)
{
    CHECK(!xb_ui_notify(NULL, XB_UI_SIGNIN_NEEDED, "a@b.jp", "x"));
    CHECK(!xb_ui_alert(NULL, XB_UI_SIGNIN_NEEDED, "a@b.jp", NULL));
    xb_ui_account_changed(NULL, "a@b.jp", XB_ACCT_OK);
    xb_ui_cleanup(NULL);

    struct fake_ui f;
    fake_init(&f);
    xb_log_set_sink(xb_ui_log_sink, &f.base);
    xb_log_warn("hello %s", "sink");
    xb_log_set_sink(NULL, NULL);
    CHECK(f.lines == 1 && strstr(f.line, "warn hello sink") != NULL);
    xb_ui_cleanup(&f.base);
}

/* The token source asks for a sign-in when an account's grant is gone, tells the front
 * end about state changes, and the rate limit keeps repeated failures to one prompt. */
static void token_source_asks_for_signin(void)
{
    struct fake_ui f;
    struct xb_config *cfg = NULL;
    struct xb_store *st = NULL;
    struct xb_http *http = NULL;
    struct xb_account *acct = NULL;
    char *msg = NULL;
    fake_init(&f);
    CHECK(setup() == 0);
    struct event_base *base = event_base_new();
    CHECK(base != NULL);
    CHECK(xb_config_new_default(&cfg) == XB_OK);
    CHECK(xb_store_open(test_dir, &st, &msg) == XB_OK);
    CHECK(xb_store_add(st, "taro@example.ac.jp", "google", &acct) == XB_OK);
    CHECK(xb_http_new(base, NULL, 5, &http) == XB_OK);
    struct xb_token_source *ts = xb_tokens_oauth_new(base, cfg, st, http);
    CHECK(ts != NULL);
    if (!ts || !acct)
        goto out;
    xb_tokens_oauth_set_ui(ts, &f.base);

    xb_account_set_state(acct, XB_ACCT_OK, NULL, 1);
    /* The mail server refused the token, twice: one state change, one prompt. */
    xb_tokens_report(ts, "taro@example.ac.jp", XB_ERR_AUTH, "refused");
    xb_tokens_report(ts, "taro@example.ac.jp", XB_ERR_AUTH, "refused");
    CHECK(f.changes == 1 && f.state == XB_ACCT_NEEDS_SIGNIN);
    CHECK(f.notes == 1 && f.kind == XB_UI_SIGNIN_NEEDED);
    CHECK_STR(f.account, "taro@example.ac.jp");
    /* A login that works again: a change, no prompt. */
    xb_tokens_report(ts, "taro@example.ac.jp", XB_OK, NULL);
    CHECK(f.changes == 2 && f.state == XB_ACCT_OK && f.notes == 1);
    /* Still within the hour: failing again does not prompt again. */
    xb_tokens_report(ts, "taro@example.ac.jp", XB_ERR_AUTH, "refused");
    CHECK(f.changes == 3 && f.notes == 1);
    xb_tokens_free(ts);
out:
    xb_http_free(http);
    xb_store_free(st);
    xb_config_free(cfg);
    xb_free(msg);
    if (base)
        event_base_free(base);
    xb_ui_cleanup(&f.base);
    teardown();
}

XBTEST_MAIN(XBTEST(once_per_cause_per_account_per_hour),
            XBTEST(answers_to_a_click_are_not_limited), XBTEST(many_accounts_stay_bounded),
            XBTEST(standard_texts_in_both_languages), XBTEST(null_ui_and_log_sink),
            XBTEST(token_source_asks_for_signin))
