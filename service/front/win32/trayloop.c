/*
 * The tray's loop thread: the same core as `serve` (xb_serve_run) with the tray as its
 * front end (struct xb_ui), plus the two bridges between the threads (tray.h):
 *   loop -> GUI: notes and account snapshots, allocated here, PostMessageW'd to the
 *                window, freed by the GUI thread (or here if posting fails);
 *   GUI -> loop: commands in a locked list, and event_active() on cmd_ev, which wakes
 *                the libevent loop from another thread (libevent's Windows locking is on).
 */
#include <process.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "front/win32/tray.h"
#include "core/control.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/store.h"

#define SNAPSHOT_EVERY_S 15 /* the CLI may change the store behind our back */

static struct xb_tray *tray_of(struct xb_ui *ui)
{
    return (struct xb_tray *)((char *)ui - offsetof(struct xb_tray, ui));
}

void xb_tray_note_free(struct tray_note *n)
{
    if (!n)
        return;
    xb_free(n->account);
    xb_free(n->text);
    xb_free(n);
}

void xb_tray_snapshot_free(struct tray_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        xb_free(s->a[i].email);
    xb_free(s);
}

/* --- loop -> GUI ----------------------------------------------------------------------- */

static void post_snapshot(struct xb_tray *t)
{
    if (!t->sv)
        return;
    size_t n = 0;
    for (struct xb_account *a = xb_store_accounts(t->sv->store); a; a = a->next)
        n++;
    struct tray_snapshot *s =
        xb_calloc_array(1, sizeof(*s) + n * sizeof(struct tray_account));
    if (!s)
        return;
    s->paused = t->sv->paused;
    for (struct xb_account *a = xb_store_accounts(t->sv->store); a && s->n < n; a = a->next) {
        if (!(s->a[s->n].email = xb_strdup(a->email)))
            break;
        s->a[s->n++].state = a->state;
    }
    if (!PostMessageW(t->hwnd, WM_XB_SNAPSHOT, 0, (LPARAM)s))
        xb_tray_snapshot_free(s);
}

static void ui_notify(struct xb_ui *ui, enum xb_ui_kind kind, const char *account,
                      const char *text)
{
    struct xb_tray *t = tray_of(ui);
    struct tray_note *n = xb_new(struct tray_note);
    if (!n)
        return;
    n->kind = kind;
    n->account = account ? xb_strdup(account) : NULL;
    n->text = xb_win_wide(text);
    if ((account && !n->account) || !n->text || !PostMessageW(t->hwnd, WM_XB_NOTE, 0, (LPARAM)n))
        xb_tray_note_free(n);
}

static void ui_account_changed(struct xb_ui *ui, const char *account,
                               enum xb_account_state state)
{
    struct xb_tray *t = tray_of(ui);
    xb_log_info("%s is now %s", account, xb_account_state_name(state));
    post_snapshot(t);
}

/* Any thread: both threads log (winlog.c locks). */
static void ui_log(struct xb_ui *ui, enum xb_log_level level, unsigned event,
                   const char *line)
{
    xb_winlog_write(tray_of(ui)->log, level, event, line);
}

static const struct xb_ui_vt tray_ui_vt = {
    .notify = ui_notify,
    .account_changed = ui_account_changed,
    .log = ui_log,
};

void xb_tray_ui_init(struct xb_tray *t)
{
    xb_ui_init(&t->ui, &tray_ui_vt);
}

/* --- GUI -> loop ----------------------------------------------------------------------- */

void xb_tray_command(struct xb_tray *t, enum tray_cmd_kind kind, const char *email)
{
    struct tray_cmd *c = xb_new(struct tray_cmd);
    if (!c || (email && !(c->email = xb_strdup(email)))) {
        xb_free(c);
        return;
    }
    c->kind = kind;
    EnterCriticalSection(&t->lock);
    struct tray_cmd **pp = &t->cmds;
    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
    /* Commands given before the loop runs wait for started_cb. */
    if (t->cmd_ev)
        event_active(t->cmd_ev, EV_READ, 0);
    LeaveCriticalSection(&t->lock);
}

static void free_cmds(struct tray_cmd *c)
{
    while (c) {
        struct tray_cmd *next = c->next;
        xb_free(c->email);
        xb_free(c);
        c = next;
    }
}

static void cmd_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_tray *t = arg;
    EnterCriticalSection(&t->lock);
    struct tray_cmd *list = t->cmds;
    t->cmds = NULL;
    LeaveCriticalSection(&t->lock);

    for (struct tray_cmd *c = list; c && t->sv; c = c->next) {
        char *errmsg = NULL;
        switch (c->kind) {
        case TRAY_CMD_SIGNIN:
            xb_log_info("tray: sign-in of %s requested", c->email);
            xb_ctl_signin(t->sv->ctl, c->email);
            break;
        case TRAY_CMD_PAUSE:
        case TRAY_CMD_RESUME:
            if (xb_serve_pause(t->sv, c->kind == TRAY_CMD_PAUSE, &errmsg) != XB_OK) {
                xb_log_error("cannot resume: %s", errmsg ? errmsg : "?");
                xb_ui_alert(t->sv->ui, XB_UI_PROBLEM, NULL, errmsg ? errmsg : "cannot listen");
            }
            xb_free(errmsg);
            post_snapshot(t);
            break;
        case TRAY_CMD_RESTART_OUTLOOK: {
            char why[200];
            xb_log_info("tray: restart of Outlook requested");
            if (xb_ctl_restart_outlook(t->sv->ctl, why, sizeof(why)) != XB_OK)
                xb_ui_alert(t->sv->ui, XB_UI_PROBLEM, NULL, why);
            break;
        }
        case TRAY_CMD_QUIT:
            xb_log_info("tray: quit requested");
            xb_serve_stop(t->sv);
            break;
        }
    }
    free_cmds(list);
}

static void snap_cb(evutil_socket_t fd, short what, void *arg)
{
    post_snapshot(arg);
}

static int started_cb(void *arg, struct xb_serve *sv)
{
    struct xb_tray *t = arg;
    struct event *ev = event_new(sv->base, -1, 0, cmd_cb, t);
    t->snap_timer = event_new(sv->base, -1, EV_PERSIST, snap_cb, t);
    struct timeval every = { SNAPSHOT_EVERY_S, 0 };
    if (!ev || !t->snap_timer || evtimer_add(t->snap_timer, &every) != 0) {
        xb_log_error("tray: out of memory");
        if (ev)
            event_free(ev);
        if (t->snap_timer)
            event_free(t->snap_timer);
        t->snap_timer = NULL;
        return -1;
    }
    t->sv = sv;
    EnterCriticalSection(&t->lock);
    t->cmd_ev = ev;
    if (t->cmds)
        event_active(ev, EV_READ, 0);
    LeaveCriticalSection(&t->lock);
    PostMessageW(t->hwnd, WM_XB_STARTED, 0, 0);
    post_snapshot(t);
    /* Whoever is not signed in is a person's job: say so once at start (and the rate
     * limit keeps it to once an hour after that). Through sv->ui, the interface the
     * core uses (the control channel may wrap ours), so there is one rate limit. */
    for (struct xb_account *a = xb_store_accounts(sv->store); a; a = a->next) {
        if (a->state == XB_ACCT_NEW || a->state == XB_ACCT_NEEDS_SIGNIN)
            xb_ui_alert(sv->ui, XB_UI_SIGNIN_NEEDED, a->email, NULL);
    }
    return 0;
}

static void stopping_cb(void *arg, struct xb_serve *sv)
{
    struct xb_tray *t = arg;
    EnterCriticalSection(&t->lock);
    struct event *ev = t->cmd_ev;
    t->cmd_ev = NULL;
    struct tray_cmd *left = t->cmds;
    t->cmds = NULL;
    LeaveCriticalSection(&t->lock);
    free_cmds(left);
    if (ev)
        event_free(ev);
    if (t->snap_timer)
        event_free(t->snap_timer);
    t->snap_timer = NULL;
    t->sv = NULL;
}

static unsigned __stdcall loop_main(void *arg)
{
    struct xb_tray *t = arg;
    struct xb_serve_hooks hooks = {
        .ui = &t->ui, .started = started_cb, .stopping = stopping_cb, .arg = t,
    };
    int rc = xb_serve_run(&t->env, &hooks);
    PostMessageW(t->hwnd, WM_XB_STOPPED, (WPARAM)rc, 0);
    return (unsigned)rc;
}

int xb_tray_loop_start(struct xb_tray *t)
{
    /* _beginthreadex, not CreateThread: the thread uses the C runtime. */
    t->thread = (HANDLE)_beginthreadex(NULL, 0, loop_main, t, 0, NULL);
    if (!t->thread) {
        xb_log_error("cannot start the loop thread");
        return -1;
    }
    return 0;
}
