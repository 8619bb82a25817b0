/*
 * The front-end interface's shared half: the rate limit on notifications and the
 * standard texts. See ui.h.
 */
#include "core/ui.h"

#include <string.h>
#include <time.h>

#include "core/events.h"
#include "core/mem.h"
#include "core/msg.h"
#include "platform/platform.h"

/* Remembered (kind, account) pairs; old ones are dropped, and the list never grows
 * past RECENT_MAX (the oldest goes first), so a flood of accounts cannot eat memory. */
#define RECENT_MAX 256

struct ui_recent {
    struct ui_entry {
        enum xb_ui_kind kind;
        char *account;         /* "" for none */
        int64_t shown;
    } e[RECENT_MAX];
    size_t n;
};

static const char *const kind_names[XB_UI_KIND__COUNT] = {
    [XB_UI_SIGNIN_NEEDED] = "signin-needed",
    [XB_UI_TESTING_EXPIRY] = "testing-expiry",
    [XB_UI_OUTLOOK_FAILURE] = "outlook-failure",
    [XB_UI_SIGNIN_DONE] = "signin-done",
    [XB_UI_OUTLOOK_BRIDGED] = "outlook-bridged",
    [XB_UI_SIGNIN_FAILED] = "signin-failed",
    [XB_UI_PROBLEM] = "problem",
    [XB_UI_UNTRUSTED] = "untrusted",
    [XB_UI_WRONG_PASSWORD] = "wrong-password",
    [XB_UI_RECENT_MODE] = "recent-mode",
    [XB_UI_PORTS_TAKEN] = "ports-taken",
    [XB_UI_RESTART_OUTLOOK] = "restart-outlook",
    [XB_UI_WEB_PROXY] = "web-proxy",
};

const char *xb_ui_kind_name(enum xb_ui_kind kind)
{
    return (unsigned)kind < XB_UI_KIND__COUNT ? kind_names[kind] : "?";
}

void xb_ui_init(struct xb_ui *ui, const struct xb_ui_vt *vt)
{
    ui->vt = vt;
    ui->recent = NULL;
}

void xb_ui_cleanup(struct xb_ui *ui)
{
    if (!ui || !ui->recent)
        return;
    for (size_t i = 0; i < ui->recent->n; i++)
        xb_free(ui->recent->e[i].account);
    xb_free(ui->recent);
    ui->recent = NULL;
}

static bool rate_limited(enum xb_ui_kind kind)
{
    return kind != XB_UI_SIGNIN_DONE && kind != XB_UI_SIGNIN_FAILED &&
           kind != XB_UI_RESTART_OUTLOOK;
}

static void drop(struct ui_recent *r, size_t i)
{
    xb_free(r->e[i].account);
    memmove(&r->e[i], &r->e[i + 1], (r->n - i - 1) * sizeof(r->e[0]));
    r->n--;
}

/* true if (kind, account) may be shown now; records it when it may. Out of memory
 * errs on the side of showing. */
static bool admit(struct xb_ui *ui, enum xb_ui_kind kind, const char *account, int64_t now)
{
    if (!ui->recent && !(ui->recent = xb_new(struct ui_recent)))
        return true;
    struct ui_recent *r = ui->recent;
    for (size_t i = 0; i < r->n;) {
        /* A clock that went backwards must not silence a cause for good. */
        if (now - r->e[i].shown >= XB_UI_REPEAT || now < r->e[i].shown) {
            drop(r, i);
            continue;
        }
        if (r->e[i].kind == kind && strcmp(r->e[i].account, account) == 0)
            return false;
        i++;
    }
    if (r->n == RECENT_MAX)
        drop(r, 0); /* entries are in the order shown: 0 is the oldest */
    char *copy = xb_strdup(account);
    if (!copy)
        return true;
    r->e[r->n].kind = kind;
    r->e[r->n].account = copy;
    r->e[r->n].shown = now;
    r->n++;
    return true;
}

bool xb_ui_notify_at(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                     const char *text, int64_t now)
{
    if (!ui || !ui->vt->notify || (unsigned)kind >= XB_UI_KIND__COUNT)
        return false;
    if (rate_limited(kind) && !admit(ui, kind, account ? account : "", now))
        return false;
    ui->vt->notify(ui, kind, account, text ? text : "");
    return true;
}

bool xb_ui_notify(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                  const char *text)
{
    return xb_ui_notify_at(ui, kind, account, text, (int64_t)time(NULL));
}

bool xb_ui_alert(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                 const char *detail)
{
    char text[1024];
    const char *a = account ? account : "";
    const char *d = detail && *detail ? detail : "?";
    if (!ui)
        return false;
    switch (kind) {
    case XB_UI_SIGNIN_NEEDED:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_SIGNIN_NEEDED, a);
        break;
    case XB_UI_TESTING_EXPIRY:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_TESTING_EXPIRY, a);
        break;
    case XB_UI_OUTLOOK_FAILURE:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_OUTLOOK_FAILURE, a);
        break;
    case XB_UI_SIGNIN_DONE:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_SIGNIN_DONE, a);
        break;
    case XB_UI_OUTLOOK_BRIDGED:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_OUTLOOK_BRIDGED, a);
        break;
    case XB_UI_SIGNIN_FAILED:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_SIGNIN_FAILED, a, d);
        break;
    case XB_UI_PROBLEM:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_PROBLEM, d);
        break;
    case XB_UI_UNTRUSTED:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_UNTRUSTED, a, d, a);
        break;
    case XB_UI_WRONG_PASSWORD:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_WRONG_PASSWORD, a);
        break;
    case XB_UI_RECENT_MODE:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_RECENT_MODE, a);
        break;
    case XB_UI_PORTS_TAKEN:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_PORTS_TAKEN, d);
        break;
    case XB_UI_RESTART_OUTLOOK:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_RESTART_OUTLOOK);
        break;
    case XB_UI_WEB_PROXY:
        xb_msg_format(text, sizeof(text), XB_MSG_NOTE_WEB_PROXY, d);
        break;
    default:
        return false;
    }
    return xb_ui_notify(ui, kind, account, text);
}

void xb_ui_account_changed(struct xb_ui *ui, const char *account, enum xb_account_state state)
{
    if (ui && ui->vt->account_changed)
        ui->vt->account_changed(ui, account, state);
}

void xb_ui_log_sink(void *ctx, enum xb_log_level level, unsigned event, const char *line)
{
    struct xb_ui *ui = ctx;
    if (ui && ui->vt->log)
        ui->vt->log(ui, level, event, line);
}

void xb_ui_untrusted(struct xb_ui *ui, const char *email, const char *host, const char *why)
{
    char sys_why[200];
    const char *text = xb_plat_tls_refusal(host, sys_why, sizeof(sys_why)) ? sys_why : why;
    if (xb_ui_alert(ui, XB_UI_UNTRUSTED, host, text))
        xb_log_event(XB_EV_UNTRUSTED, "%s: the certificate of %s is not trusted here: %s",
                     email ? email : "(an account)", host, text);
}
