/*
 * The console daemon's front end (`xoauthbridge serve`): there is nobody to click a
 * balloon, so what the core would show becomes a log line an administrator or a
 * journal can see, and log lines go to standard error or the configured log file.
 */
#include <stdio.h>

#include "front/front.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/ui.h"

struct ui_console {
    struct xb_ui base;   /* first: the core holds a struct xb_ui * */
    FILE *logf;
};

static void console_notify(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                           const char *text)
{
    (void)ui;
    xb_log_warn("notice (%s) for %s: %s", xb_ui_kind_name(kind), account ? account : "-",
                text);
}

static void console_account_changed(struct xb_ui *ui, const char *account,
                                    enum xb_account_state state)
{
    (void)ui;
    xb_log_info("%s is now %s", account, xb_account_state_name(state));
}

static void console_log(struct xb_ui *ui, enum xb_log_level level, unsigned event,
                        const char *line)
{
    struct ui_console *c = (struct ui_console *)ui;
    (void)level;
    (void)event; /* in the line already: "[event N]" */
    fputs(line, c->logf);
    fputc('\n', c->logf);
    fflush(c->logf);
}

static const struct xb_ui_vt console_vt = {
    .notify = console_notify,
    .account_changed = console_account_changed,
    .log = console_log,
};

struct xb_ui *xb_ui_console_new(FILE *logf)
{
    struct ui_console *c = xb_new(struct ui_console);
    if (!c)
        return NULL;
    xb_ui_init(&c->base, &console_vt);
    c->logf = logf;
    return &c->base;
}

void xb_ui_console_free(struct xb_ui *ui)
{
    if (!ui)
        return;
    xb_ui_cleanup(ui);
    xb_free(ui);
}
