/*
 * The add-in's work, off Outlook's UI thread (docs/addin.md):
 *
 *   worker thread      scans the profile, finishes interrupted saves, talks to the
 *                      companion (HELLO, LIST_ACCOUNTS, REPORT_FAILURE, ENROL,
 *                      GET_ENDPOINT, ACCOUNT_BRIDGED), bridges accounts; it takes jobs
 *                      from a small queue that the UI thread fills (OnError) and the
 *                      subscriber fills (a sign-in finished)
 *   subscriber thread  one SUBSCRIBE connection; turns STATE_CHANGED "ok" into jobs
 *
 * Nothing here calls Outlook's object model. Each thread holds a reference on the DLL
 * (FreeLibraryAndExitThread at the end) and on the worker, so Outlook may unload the
 * add-in while a sign-in is still waiting in the browser: stopping cancels the pipe
 * I/O and never waits for long.
 */
#include "addin.h"

#include <winsock2.h>
#include <iphlpapi.h>

#include <stdio.h>
#include <string.h>

#include "classify.h"
#include "core/pipe_codec.h"
#include "platform/ctlclient.h"
#include "platform/win32/olprofile.h"
#include "xoauthbridge/names.h"
#include "xoauthbridge/version.h"

#define MAX_ACCOUNTS   64
#define MAX_JOBS       32
#define TEXT_MAX       2048
#define CONNECT_MS     2000
#define CALL_MS        15000
#define ENROL_MS       (30u * 60u * 1000u)  /* the browser sign-in: the companion times out first */
#define START_WAIT_MS  15000                /* for a companion we started */
#define RETRY_ENROL_MS (60u * 60u * 1000u)  /* one automatic sign-in per account per hour */

enum job_kind {
    JOB_FAILURE,      /* Outlook's OnError */
    JOB_SIGNED_IN,    /* the companion says an account is signed in */
    JOB_SYNC,         /* (re)connected: compare the profile with the companion */
};

struct job {
    enum job_kind kind;
    uint32_t code;
    char text[TEXT_MAX];              /* JOB_FAILURE: the description; JOB_SIGNED_IN: email */
};

struct acct {
    struct xb_ol_account ol;
    const char *provider;             /* "google", "microsoft", NULL: not ours */
    char identity[XB_OL_STR_MAX];     /* the address the companion knows it by */
    DWORD last_enrol;                 /* GetTickCount() of our last ENROL; 0: none */
    bool unmatched_sent;              /* an unknown error text went to the companion */
};

struct xb_worker {
    volatile LONG refs;
    HANDLE stop;                      /* manual reset: set once, by xb_worker_stop */
    HANDLE wake;                      /* auto reset: jobs queued */
    CRITICAL_SECTION lock;            /* jobs[] and the two client handles */
    struct job jobs[MAX_JOBS];
    unsigned head, count;

    char version[64];
    wchar_t profile[XB_OL_PROFILE_MAX];
    HWND ui;                          /* Outlook's thread, for Application.Quit */
    UINT wm_quit;
    enum xb_ol_layout layout;
    struct xb_addin_policy pol;
    struct acct accts[MAX_ACCOUNTS];
    unsigned nacct;

    struct xb_ctl_client ctl;         /* the worker's connection */
    struct xb_ctl_client sub;         /* the subscriber's */
    volatile LONG next_id;
    bool tried_start;
    struct job current;               /* the job being handled (too big for the stack) */
    unsigned char buf[XB_PIPE_FRAME_MAX];
    unsigned char subbuf[XB_PIPE_FRAME_MAX];
};

static void worker_release(struct xb_worker *w)
{
    if (InterlockedDecrement(&w->refs) != 0)
        return;
    xb_ctl_client_close(&w->ctl);
    xb_ctl_client_close(&w->sub);
    DeleteCriticalSection(&w->lock);
    CloseHandle(w->stop);
    CloseHandle(w->wake);
    SecureZeroMemory(w->buf, sizeof(w->buf));
    HeapFree(GetProcessHeap(), 0, w);
}

static bool stopping(struct xb_worker *w)
{
    return WaitForSingleObject(w->stop, 0) == WAIT_OBJECT_0;
}

/* Waits ms unless asked to stop; false when stopping. */
static bool pause_ms(struct xb_worker *w, DWORD ms)
{
    return WaitForSingleObject(w->stop, ms) == WAIT_TIMEOUT;
}

/* --- the job queue -------------------------------------------------------------------------- */

static void push(struct xb_worker *w, enum job_kind kind, uint32_t code, const char *text)
{
    EnterCriticalSection(&w->lock);
    if (w->count == MAX_JOBS) {
        /* Outlook repeats its errors: losing the oldest one loses nothing. */
        w->head = (w->head + 1) % MAX_JOBS;
        w->count--;
    }
    struct job *j = &w->jobs[(w->head + w->count) % MAX_JOBS];
    j->kind = kind;
    j->code = code;
    snprintf(j->text, sizeof(j->text), "%s", text ? text : "");
    w->count++;
    LeaveCriticalSection(&w->lock);
    SetEvent(w->wake);
}

static bool pop(struct xb_worker *w, struct job *out)
{
    bool got = false;
    EnterCriticalSection(&w->lock);
    if (w->count) {
        *out = w->jobs[w->head];
        w->head = (w->head + 1) % MAX_JOBS;
        w->count--;
        got = true;
    }
    LeaveCriticalSection(&w->lock);
    return got;
}

void xb_worker_failure(struct xb_worker *w, uint32_t code, const char *text)
{
    if (w)
        push(w, JOB_FAILURE, code, text);
}

/* --- the profile ------------------------------------------------------------------------------ */

static void add_account(void *ctx, const struct xb_ol_account *ol)
{
    struct xb_worker *w = ctx;
    if (w->nacct == MAX_ACCOUNTS)
        return;
    struct acct *a = &w->accts[w->nacct++];
    memset(a, 0, sizeof(*a));
    a->ol = *ol;
    const char *host = ol->saved == XB_OL_SAVED_NONE ? ol->server : NULL;
    a->provider = xb_provider_of_host(host, w->pol.google_hosts, w->pol.microsoft);
    if (!a->provider && ol->saved != XB_OL_SAVED_NONE) {
        /* Bridged by us: the server is the companion now; the provider was checked
         * when it was bridged, and kept with the saved copy. */
        a->provider = strcmp(ol->saved_provider, "microsoft") == 0 ? "microsoft" : "google";
    }
    /* Gmail logs in with the Google account's address, which is the user name (with
     * recent: in front for POP3 recent mode); the address people send from ("Email")
     * may be an alias. */
    snprintf(a->identity, sizeof(a->identity), "%s", xb_ol_identity(ol->user, ol->email));
}

static void scan(struct xb_worker *w)
{
    struct acct old[MAX_ACCOUNTS];
    unsigned nold = w->nacct;
    memcpy(old, w->accts, sizeof(old[0]) * nold);
    w->nacct = 0;
    xb_ol_scan(w->layout, w->profile, add_account, w);
    for (unsigned i = 0; i < w->nacct; i++) {
        for (unsigned j = 0; j < nold; j++) {
            if (wcscmp(w->accts[i].ol.id, old[j].ol.id) == 0)
                w->accts[i].last_enrol = old[j].last_enrol;
        }
    }
}

static const char *saved_name(enum xb_ol_saved s)
{
    return s == XB_OL_SAVED_BRIDGED ? "bridged" : s == XB_OL_SAVED_NONE ? "not bridged"
                                                                         : "unfinished";
}

static void log_accounts(struct xb_worker *w)
{
    unsigned ours = 0;
    for (unsigned i = 0; i < w->nacct; i++) {
        const struct acct *a = &w->accts[i];
        ours += a->provider != NULL;
        xb_addin_log("account %ls: %s '%s' <%s> on %s:%lu: %s, %s", a->ol.id,
                     a->ol.kind == XB_OL_POP3 ? "POP3" : "IMAP", a->ol.name, a->ol.email,
                     a->ol.server, (unsigned long)a->ol.port,
                     a->provider ? a->provider : "not a provider we bridge",
                     saved_name(a->ol.saved));
    }
    xb_addin_log("profile '%ls' (Outlook %s layout): %u POP3/IMAP accounts, %u to bridge",
                 w->profile, xb_ol_layout_name(w->layout), w->nacct, ours);
}

/* The account an OnError is about: the task's name, else a name or address in the
 * text, else the only account we bridge. */
static struct acct *match(struct xb_worker *w, const struct xb_ol_error *e, const char *text)
{
    struct acct *found = NULL;
    unsigned hits = 0, ours = 0;
    struct acct *only = NULL;
    if (e->task[0]) {
        for (unsigned i = 0; i < w->nacct; i++) {
            struct acct *a = &w->accts[i];
            if (_stricmp(a->ol.name, e->task) == 0 || _stricmp(a->ol.email, e->task) == 0)
                return a;
        }
    }
    for (unsigned i = 0; i < w->nacct; i++) {
        struct acct *a = &w->accts[i];
        if ((a->ol.name[0] && xb_ol_contains(text, a->ol.name)) ||
            (a->ol.email[0] && xb_ol_contains(text, a->ol.email))) {
            found = a;
            hits++;
        }
        if (a->provider) {
            only = a;
            ours++;
        }
    }
    if (hits == 1)
        return found;
    return !e->task[0] && hits == 0 && ours == 1 ? only : NULL;
}

/* --- the companion ---------------------------------------------------------------------------- */

/* Starts the companion from the add-in's own folder (the MSI puts both there). */
static void start_companion(struct xb_worker *w)
{
    wchar_t path[MAX_PATH], cmd[MAX_PATH + 64];
    DWORD n = GetModuleFileNameW(xb_addin_module, path, MAX_PATH);
    w->tried_start = true;
    if (n == 0 || n >= MAX_PATH)
        return;
    static const wchar_t exe[] = L"" XB_EXE_NAME ".exe";
    wchar_t *slash = wcsrchr(path, L'\\');
    if (!slash || (size_t)(slash + 1 - path) + ARRAYSIZE(exe) > MAX_PATH)
        return;
    memcpy(slash + 1, exe, sizeof(exe));
    if (GetFileAttributesW(path) == INVALID_FILE_ATTRIBUTES) {
        xb_addin_log("the companion is not running and %ls is not there: failures are only "
                     "logged here until it runs", path);
        return;
    }
    _snwprintf(cmd, ARRAYSIZE(cmd), L"\"%ls\" " XB_AUTOSTART_ARGS, path);
    cmd[ARRAYSIZE(cmd) - 1] = L'\0';
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    if (!CreateProcessW(path, cmd, NULL, NULL, FALSE, DETACHED_PROCESS, NULL, NULL, &si, &pi)) {
        xb_addin_log("cannot start the companion %ls: error %lu", path,
                     (unsigned long)GetLastError());
        return;
    }
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    xb_addin_log("started the companion %ls", path);
}

static uint16_t call(struct xb_worker *w, struct xb_ctl_client *c, unsigned char *buf,
                     struct xb_pipe_req *r, unsigned timeout_ms, struct xb_pipe_reply *rep,
                     enum xb_err *err_out);

/* Connects c (starting the companion once if it is not running) and says HELLO. */
static enum xb_err connect_companion(struct xb_worker *w, struct xb_ctl_client *c,
                                     unsigned char *buf, bool may_start)
{
    struct xb_ctl_client tmp = XB_CTL_CLIENT_INIT;
    if (c->h != -1)
        return XB_OK;
    enum xb_err err = xb_ctl_client_connect(&tmp, CONNECT_MS);
    if (err == XB_ERR_NOTFOUND && may_start && !w->tried_start) {
        start_companion(w);
        for (DWORD waited = 0; err == XB_ERR_NOTFOUND && waited < START_WAIT_MS; waited += 250) {
            if (!pause_ms(w, 250))
                return XB_ERR_TEMP;
            err = xb_ctl_client_connect(&tmp, CONNECT_MS);
        }
    }
    if (err != XB_OK)
        return err;
    EnterCriticalSection(&w->lock);
    *c = tmp;
    LeaveCriticalSection(&w->lock);

    static const char client[] = "xoauthbridge-addin " XB_VERSION;
    struct xb_pipe_req r = {
        .hdr = { .version = XB_PIPE_VERSION_MAX, .kind = XB_PIPE_KIND_REQUEST,
                 .op = XB_PIPE_OP_HELLO },
        .min_version = XB_PIPE_VERSION_MIN, .max_version = XB_PIPE_VERSION_MAX,
        .client = { client, sizeof(client) - 1 },
    };
    struct xb_pipe_reply rep;
    uint16_t st = call(w, c, buf, &r, CALL_MS, &rep, &err);
    if (err == XB_OK && st != XB_PIPE_ST_OK) {
        xb_addin_log("the companion does not speak this add-in's protocol (status %u): "
                     "update both", st);
        err = XB_ERR_UNSUPPORTED;
    }
    if (err != XB_OK) {
        EnterCriticalSection(&w->lock);
        xb_ctl_client_close(c);
        LeaveCriticalSection(&w->lock);
    }
    return err;
}

/* One request and its reply, whose fields land in *rep (pipe_codec.c; views into buf).
 * Returns the reply's status; *err is XB_OK when a well-formed reply came. A broken
 * connection, or one that sent what is not a reply, is closed (the next call reconnects). */
static uint16_t call(struct xb_worker *w, struct xb_ctl_client *c, unsigned char *buf,
                     struct xb_pipe_req *r, unsigned timeout_ms, struct xb_pipe_reply *rep,
                     enum xb_err *err_out)
{
    size_t len = 0;
    struct xb_pipe_hdr h;
    const char *bad = NULL;
    enum xb_err err = XB_ERR_INVAL;
    r->hdr.version = XB_PIPE_VERSION_MAX;
    r->hdr.kind = XB_PIPE_KIND_REQUEST;
    r->hdr.id = (uint32_t)InterlockedIncrement(&w->next_id);
    if (xb_pipe_req_encode(r, buf, XB_PIPE_FRAME_MAX, &len))
        err = xb_ctl_client_call(c, buf, len, buf, XB_PIPE_FRAME_MAX, &len, &h, timeout_ms);
    if (err == XB_OK && !xb_pipe_reply_parse(&h, buf + XB_PIPE_HDR_LEN, rep, &bad)) {
        xb_addin_log("the companion's reply to op 0x%04x is not well-formed: %s",
                     (unsigned)r->hdr.op, bad);
        err = XB_ERR_INVAL;
    }
    *err_out = err;
    if (err != XB_OK) {
        EnterCriticalSection(&w->lock);
        xb_ctl_client_close(c);
        LeaveCriticalSection(&w->lock);
        return XB_PIPE_ST_INTERNAL;
    }
    return h.status;
}

/* The English message of a failed reply, for the log. */
static void why(const struct xb_pipe_reply *rep, char *out, size_t n)
{
    if (!rep->message.len || !xb_pipe_str_copy(rep->message, out, n))
        snprintf(out, n, "(no message)");
}

/* --- bridging ------------------------------------------------------------------------------------ */

struct rewrite {
    struct xb_worker *w;
    const char *identity;
    const struct xb_ol_endpoint *ep_in;
    DWORD imap, pop3;
    unsigned done, failed;
};

static void rewrite_one(struct rewrite *rw, const struct xb_ol_account *ol)
{
    struct xb_ol_endpoint ep = *rw->ep_in;
    char recent_user[sizeof("recent:") + XB_PIPE_EMAIL_MAX];
    ep.in_port = ol->kind == XB_OL_POP3 ? rw->pop3 : rw->imap;
    /* POP3 recent mode stays: it is in the user name, and the companion carries it to
     * Gmail. SMTP must not have it (Google's help), so only the incoming side. */
    if (ol->kind == XB_OL_POP3 && xb_ol_recent_address(ol->user)) {
        snprintf(recent_user, sizeof(recent_user), "recent:%s", ep.user);
        ep.in_user = recent_user;
    }
    if (ep.in_port == 0) {
        xb_addin_log("account %ls: the companion does not serve %s: not bridged", ol->id,
                     ol->kind == XB_OL_POP3 ? "POP3" : "IMAP");
        rw->failed++;
        return;
    }
    enum xb_err err = xb_ol_bridge(ol, &ep);
    if (err == XB_OK) {
        rw->done++;
        xb_addin_log("account %ls (%s layout, profile '%ls'): bridged to %s:%lu, SMTP %s:%lu, "
                     "as %s; the originals are saved", ol->id, xb_ol_layout_name(ol->layout),
                     ol->profile, ep.host, (unsigned long)ep.in_port, ep.host,
                     (unsigned long)ep.smtp_port, ep.user);
    } else {
        rw->failed++;
        xb_addin_log("account %ls: cannot bridge (%s); it is as it was", ol->id,
                     xb_err_str(err));
    }
}

/* Accounts bridged earlier, in any profile, that carry this identity: a new secret
 * replaces the old one everywhere, or they would stop working. */
static void rewrite_other(void *ctx, const struct xb_ol_account *ol)
{
    struct rewrite *rw = ctx;
    const char *id = xb_ol_identity(ol->user, ol->email);
    if (ol->saved != XB_OL_SAVED_BRIDGED || _stricmp(id, rw->identity) != 0)
        return;
    if (ol->layout == rw->w->layout && wcscmp(ol->profile, rw->w->profile) == 0)
        return; /* done already, from the current profile */
    rewrite_one(rw, ol);
}

/* Outlook reads account settings when it starts: the companion offers the person to
 * restart this Outlook now (its notification), naming this process, its program and
 * the profile, so that it can start the same Outlook again once this one has closed. */
static void offer_restart(struct xb_worker *w)
{
    wchar_t wprog[MAX_PATH];
    char program[XB_PIPE_PATH_MAX + 1], profile[XB_OL_PROFILE_MAX * 3];
    DWORD n = GetModuleFileNameW(NULL, wprog, ARRAYSIZE(wprog));
    if (!w->ui || n == 0 || n >= ARRAYSIZE(wprog) ||
        !WideCharToMultiByte(CP_UTF8, 0, wprog, -1, program, sizeof(program), NULL, NULL) ||
        !WideCharToMultiByte(CP_UTF8, 0, w->profile, -1, profile, sizeof(profile), NULL, NULL))
        return;
    struct xb_pipe_reply rep;
    enum xb_err err;
    struct xb_pipe_req r = { .hdr.op = XB_PIPE_OP_OFFER_RESTART, .pid = GetCurrentProcessId(),
                             .program = xb_pipe_cstr(program), .profile = xb_pipe_cstr(profile) };
    uint16_t st = call(w, &w->ctl, w->buf, &r, CALL_MS, &rep, &err);
    if (err == XB_OK && st != XB_PIPE_ST_OK) {
        char msg[XB_PIPE_TEXT_MAX + 1];
        why(&rep, msg, sizeof(msg));
        xb_addin_log("the companion offers no restart of Outlook (status %u: %s): the person "
                     "restarts it", st, msg);
    }
}

/* Signs in (ENROL) if asked, then gets the endpoint and a new secret and rewrites
 * every Outlook account of this identity. Returns how many were rewritten. */
static unsigned bridge(struct xb_worker *w, struct acct *target, bool enrol)
{
    struct xb_pipe_reply rep;
    enum xb_err err;
    char msg[XB_PIPE_TEXT_MAX + 1];
    uint16_t st;

    if (!xb_domain_allowed(w->pol.allowed_domains, target->identity)) {
        xb_addin_log("%s is not in an allowed domain (policy AllowedDomains): not bridged",
                     target->identity);
        return 0;
    }
    if (connect_companion(w, &w->ctl, w->buf, true) != XB_OK) {
        xb_addin_log("cannot bridge %s: the companion is not reachable", target->identity);
        return 0;
    }
    if (enrol) {
        target->last_enrol = GetTickCount() | 1;
        xb_addin_log("asking the companion to sign %s in (the browser opens)", target->identity);
        struct xb_pipe_req r = { .hdr.op = XB_PIPE_OP_ENROL, .email = xb_pipe_cstr(target->identity),
                                 .provider = xb_pipe_cstr(target->provider) };
        st = call(w, &w->ctl, w->buf, &r, ENROL_MS, &rep, &err);
        if (err != XB_OK) {
            xb_addin_log("the sign-in of %s did not come back: %s", target->identity,
                         xb_err_str(err));
            return 0;
        }
        if (st != XB_PIPE_ST_OK) {
            why(&rep, msg, sizeof(msg));
            xb_addin_log("the sign-in of %s did not work (status %u): %s", target->identity,
                         st, msg);
            return 0;
        }
    }
    struct xb_pipe_req r = { .hdr.op = XB_PIPE_OP_GET_ENDPOINT, .email = xb_pipe_cstr(target->identity) };
    st = call(w, &w->ctl, w->buf, &r, CALL_MS, &rep, &err);
    if (err != XB_OK || st != XB_PIPE_ST_OK) {
        if (err == XB_OK)
            why(&rep, msg, sizeof(msg));
        xb_addin_log("the companion gave no endpoint for %s: %s", target->identity,
                     err != XB_OK ? xb_err_str(err) : msg);
        return 0;
    }
    char host[XB_PIPE_HOST_MAX + 1], user[XB_PIPE_EMAIL_MAX + 1];
    char secret[XB_PIPE_SECRET_MAX + 1];
    bool ok = xb_pipe_str_copy(rep.host, host, sizeof(host));
    uint32_t imap = rep.imap, pop3 = rep.pop3, smtp = rep.smtp;
    ok = xb_pipe_str_copy(rep.user, user, sizeof(user)) && ok;
    ok = xb_pipe_str_copy(rep.secret, secret, sizeof(secret)) && ok;
    SecureZeroMemory(w->buf, sizeof(w->buf));
    if (ok && !xb_ol_loopback_host(host)) {
        /* Mail and the local secret must never leave this computer. */
        xb_addin_log("the companion names %s, not a loopback address: %s not bridged", host,
                     target->identity);
        ok = false;
    }
    if (!ok || smtp == 0) {
        xb_addin_log("the companion's endpoint for %s is unusable (SMTP port %lu)",
                     target->identity, (unsigned long)smtp);
        SecureZeroMemory(secret, sizeof(secret));
        return 0;
    }
    struct xb_ol_endpoint ep = { .host = host, .smtp_port = smtp, .user = user,
                                 .secret = secret, .email = target->identity,
                                 .provider = target->provider };
    struct rewrite rw = { .w = w, .identity = target->identity, .ep_in = &ep, .imap = imap,
                          .pop3 = pop3 };
    /* This profile's accounts of the identity, bridged or not, then other profiles'. */
    for (unsigned i = 0; i < w->nacct; i++) {
        struct acct *a = &w->accts[i];
        if (a->provider && _stricmp(a->identity, target->identity) == 0)
            rewrite_one(&rw, &a->ol);
    }
    for (int l = 0; l < XB_OL_LAYOUTS; l++)
        xb_ol_scan((enum xb_ol_layout)l, NULL, rewrite_other, &rw);
    SecureZeroMemory(secret, sizeof(secret));
    scan(w);
    if (rw.done == 0)
        return 0;
    xb_addin_log("%s: %u Outlook account(s) bridged; Outlook uses them from its next start",
                 target->identity, rw.done);
    /* The companion tells the person to restart Outlook, in their language. */
    struct xb_pipe_req b = { .hdr.op = XB_PIPE_OP_ACCOUNT_BRIDGED, .email = xb_pipe_cstr(target->identity),
                             .protocol = target->ol.kind == XB_OL_POP3 ? XB_PIPE_PROTO_POP3
                                                                        : XB_PIPE_PROTO_IMAP };
    st = call(w, &w->ctl, w->buf, &b, CALL_MS, &rep, &err);
    if (err == XB_OK && st != XB_PIPE_ST_OK && st != XB_PIPE_ST_UNKNOWN_OP)
        xb_addin_log("the companion did not take the news (status %u)", st);
    offer_restart(w);
    return rw.done;
}

/* --- the password Outlook holds ---------------------------------------------------------------- */

/* Whether the password Outlook holds under name is the account's local secret: 1 it
 * is, 0 it is not (typed into Outlook's prompt and remembered), -1 cannot tell. The
 * companion compares keyed hashes; nothing comes back but the answer. */
static int password_is_current(struct xb_worker *w, const struct acct *a, const wchar_t *name)
{
    char pw[XB_PIPE_SECRET_MAX + 1];
    enum xb_err err = xb_ol_password_read(&a->ol, name, pw, sizeof(pw));
    if (err == XB_ERR_NOTFOUND) {
        xb_addin_log("account %ls holds no %ls: not the local secret", a->ol.id, name);
        return 0;
    }
    if (err != XB_OK) {
        /* Too long for a secret of ours, or not readable: not ours either way, unless
         * Windows could not decrypt it (then we cannot tell). */
        SecureZeroMemory(pw, sizeof(pw));
        xb_addin_log("account %ls: cannot read its %ls (%s)", a->ol.id, name, xb_err_str(err));
        return err == XB_ERR_CRYPTO ? -1 : 0;
    }
    struct xb_pipe_reply rep;
    struct xb_pipe_req r = { .hdr.op = XB_PIPE_OP_CHECK_SECRET,
                             .email = xb_pipe_cstr(a->identity), .secret = xb_pipe_cstr(pw) };
    uint16_t st = call(w, &w->ctl, w->buf, &r, CALL_MS, &rep, &err);
    SecureZeroMemory(pw, sizeof(pw));
    SecureZeroMemory(w->buf, sizeof(w->buf));
    if (err != XB_OK || st != XB_PIPE_ST_OK)
        return -1;
    return rep.current ? 1 : 0;
}

/* A bridged account failed to log in at the companion. If Outlook's password is not the
 * local secret (its prompt overwrote it), a new secret puts it right: true then. */
static bool repair_password(struct xb_worker *w, struct acct *a, enum xb_ol_dir dir)
{
    const bool pop = a->ol.kind == XB_OL_POP3;
    const wchar_t *in = pop ? L"POP3 Password" : L"IMAP Password";
    int in_ok = dir == XB_OL_DIR_SENDING ? 1 : password_is_current(w, a, in);
    int out_ok = dir == XB_OL_DIR_RECEIVING ? 1 : password_is_current(w, a, L"SMTP Password");
    if (in_ok != 0 && out_ok != 0)
        return false;
    char identity[XB_OL_STR_MAX];
    snprintf(identity, sizeof(identity), "%s", a->identity); /* bridge() scans again */
    xb_addin_log("account %ls: Outlook holds a password for %s that is not the companion's "
                 "(typed into Outlook's prompt?): bridging it again with a new one",
                 a->ol.id, identity);
    unsigned done = bridge(w, a, false);
    if (done)
        xb_addin_log("%s: the password Outlook holds is the companion's again (%u account(s))",
                     identity, done);
    return true;
}

/* --- jobs ------------------------------------------------------------------------------------- */

static uint32_t proto_of(const struct acct *a, const struct xb_ol_error *e)
{
    return e->dir == XB_OL_DIR_SENDING ? XB_PIPE_PROTO_SMTP
           : a->ol.kind == XB_OL_POP3 ? XB_PIPE_PROTO_POP3
                                      : XB_PIPE_PROTO_IMAP;
}

/* REPORT_FAILURE or REPORT_UNMATCHED: Outlook's code and words for a's account. */
static uint16_t report(struct xb_worker *w, uint16_t op, const struct acct *a, uint32_t proto,
                       uint32_t code, const char *text, enum xb_err *err)
{
    struct xb_pipe_reply rep;
    struct xb_pipe_req r = { .hdr.op = op, .email = xb_pipe_cstr(a->identity),
                             .protocol = proto, .code = code };
    size_t tl = strlen(text);
    r.text = (struct xb_pipe_str){ text, (uint32_t)(tl > XB_PIPE_TEXT_MAX ? XB_PIPE_TEXT_MAX
                                                                           : tl) };
    /* A cut in the middle of a UTF-8 sequence would be refused: cut before it. */
    while (r.text.len && !xb_pipe_utf8_ok(text, r.text.len))
        r.text.len--;
    return call(w, &w->ctl, w->buf, &r, CALL_MS, &rep, err);
}

static void on_failure(struct xb_worker *w, uint32_t code, const char *text)
{
    struct xb_ol_error e;
    xb_ol_error_classify(code, text, &e);
    struct acct *a = match(w, &e, text);
    if (!a) {
        scan(w); /* a new account? */
        a = match(w, &e, text);
    }
    xb_addin_log("Outlook reports error 0x%08lX%s%s%s: %s", (unsigned long)code,
                 e.task[0] ? " for '" : "", e.task, e.task[0] ? "'" : "", text);
    if (!a) {
        xb_addin_log("no POP3/IMAP account in profile '%ls' matches it", w->profile);
        return;
    }
    if (!a->provider) {
        xb_addin_log("account %ls is not a Gmail account: left alone", a->ol.id);
        return;
    }
    if (e.by_code && e.cause == XB_OL_CAUSE_SIGNIN && !a->unmatched_sent) {
        /* A refusal (Outlook's code says so) in words this version does not know (Google
         * changed its texts?): the companion puts it in the Event Log for the
         * administrator, once per account here. */
        enum xb_err uerr = connect_companion(w, &w->ctl, w->buf, true);
        if (uerr == XB_OK)
            report(w, XB_PIPE_OP_REPORT_UNMATCHED, a, proto_of(a, &e), code, text, &uerr);
        a->unmatched_sent = uerr == XB_OK;
        xb_addin_log("account %ls: Outlook's words are none this add-in knows; taken as %s by "
                     "the code%s", a->ol.id, xb_ol_cause_name(e.cause),
                     uerr == XB_OK ? " (told the companion)" : "");
    }
    if (e.cause != XB_OL_CAUSE_SIGNIN) {
        xb_addin_log("account %ls: not a sign-in failure (%s): nothing to do", a->ol.id,
                     xb_ol_cause_name(e.cause));
        return;
    }
    const bool bridged = a->ol.saved == XB_OL_SAVED_BRIDGED;
    /* Nothing the person could do would change the account: no notification either. */
    if (!bridged && w->pol.auto_fix == XB_AUTOFIX_OFF) {
        xb_addin_log("automatic fix is off (policy AutoFix): Google's refusal of %s is only "
                     "logged here", a->identity);
        return;
    }
    if (!bridged && !xb_domain_allowed(w->pol.allowed_domains, a->identity)) {
        xb_addin_log("%s is not in an allowed domain (policy AllowedDomains): left alone",
                     a->identity);
        return;
    }
    uint32_t proto = proto_of(a, &e);
    enum xb_err err = connect_companion(w, &w->ctl, w->buf, true);
    if (err == XB_OK && bridged && repair_password(w, a, e.dir))
        return;
    if (err == XB_OK) {
        uint16_t st = report(w, XB_PIPE_OP_REPORT_FAILURE, a, proto, code, text, &err);
        if (err == XB_OK)
            xb_addin_log("reported the %s sign-in failure of %s to the companion (status %u)",
                         xb_pipe_proto_name(proto), a->identity, st);
    }
    if (err != XB_OK)
        xb_addin_log("cannot report the failure of %s: the companion is not reachable (%s)",
                     a->identity, xb_err_str(err));
    if (bridged)
        return; /* the companion's own sign-in prompt is the fix */
    switch (w->pol.auto_fix) {
    case XB_AUTOFIX_OFF:
        return; /* not reached: see above */
    case XB_AUTOFIX_ASK:
        xb_addin_log("%s: waiting for the person to accept the companion's offer",
                     a->identity);
        return;
    case XB_AUTOFIX_AUTOMATIC:
        break;
    }
    if (err != XB_OK)
        return;
    if (a->last_enrol && GetTickCount() - a->last_enrol < RETRY_ENROL_MS) {
        xb_addin_log("%s: a sign-in was started less than an hour ago; not again yet",
                     a->identity);
        return;
    }
    bridge(w, a, true);
}

/* An account the companion has signed in: bridge its Outlook accounts unless policy
 * says no. The person accepted by signing in (tray offer, or `xoauthbridge login`). */
static void on_signed_in(struct xb_worker *w, const char *email)
{
    if (w->pol.auto_fix == XB_AUTOFIX_OFF)
        return;
    scan(w);
    for (unsigned i = 0; i < w->nacct; i++) {
        struct acct *a = &w->accts[i];
        if (a->provider && a->ol.saved != XB_OL_SAVED_BRIDGED &&
            _stricmp(a->identity, email) == 0) {
            if (a->ol.kind == XB_OL_IMAP && a->ol.layout == XB_OL_2016 && !a->ol.has_password) {
                /* Outlook 2019 and later sign in to Gmail's IMAP themselves and keep no
                 * password for it: a working account is left as it is (a failure of
                 * it still gets it bridged). docs/addin.md. */
                xb_addin_log("account %ls (%s): IMAP without a stored password, perhaps "
                             "Outlook's own Google sign-in: left alone unless it fails",
                             a->ol.id, email);
                continue;
            }
            xb_addin_log("%s is signed in at the companion: bridging its Outlook account",
                         email);
            bridge(w, a, false);
            return; /* bridge() rewrote every account of this identity */
        }
    }
}

/* --- ports that moved ---------------------------------------------------------------------------- */

/* Who listens on a loopback TCP port now, in words for the log. */
static void port_holder(DWORD port, char *out, size_t n)
{
    ULONG size = 0;
    MIB_TCPTABLE_OWNER_PID *t = NULL;
    DWORD pid = 0;
    snprintf(out, n, "nothing listens there now");
    for (int tries = 0; tries < 4; tries++) {
        DWORD rc = GetExtendedTcpTable(t, &size, FALSE, AF_INET, TCP_TABLE_OWNER_PID_LISTENER, 0);
        if (rc == NO_ERROR)
            break;
        if (t)
            HeapFree(GetProcessHeap(), 0, t);
        t = NULL;
        if (rc != ERROR_INSUFFICIENT_BUFFER ||
            !(t = HeapAlloc(GetProcessHeap(), 0, size + 4096)))
            return;
        size += 4096;
    }
    if (!t)
        return;
    for (DWORD i = 0; i < t->dwNumEntries && !pid; i++) {
        /* The port in network byte order, in the low 16 bits (no ws2_32 in Outlook's
         * process for one byte swap). */
        DWORD net = ((port & 0xffu) << 8) | ((port >> 8) & 0xffu);
        if ((t->table[i].dwLocalPort & 0xffffu) == net)
            pid = t->table[i].dwOwningPid;
    }
    HeapFree(GetProcessHeap(), 0, t);
    if (!pid)
        return;
    wchar_t image[MAX_PATH] = L"?";
    DWORD len = MAX_PATH;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (h) {
        if (!QueryFullProcessImageNameW(h, 0, image, &len))
            wcscpy(image, L"?");
        CloseHandle(h);
    }
    snprintf(out, n, "held by process %lu, %ls%s", (unsigned long)pid, image,
             h ? "" : " of another user");
}

struct repoint {
    const char *host;
    DWORD imap, pop3, smtp;
    unsigned moved, failed;
    char first[XB_OL_STR_MAX];        /* an identity moved, for the companion's notice */
};

static void repoint_one(void *ctx, const struct xb_ol_account *ol)
{
    struct repoint *rp = ctx;
    DWORD in = ol->kind == XB_OL_POP3 ? rp->pop3 : rp->imap;
    if (ol->saved != XB_OL_SAVED_BRIDGED || in == 0 || rp->smtp == 0)
        return;
    if (_stricmp(ol->server, rp->host) == 0 && _stricmp(ol->smtp_server, rp->host) == 0 &&
        ol->port == in && ol->smtp_port == rp->smtp)
        return;
    /* Whatever listens on the old port now is not this user's companion (it listens on
     * the ports it just named): a squatter would get the secret. Say who it is. */
    char holder[200];
    port_holder(ol->port, holder, sizeof(holder));
    enum xb_err err = xb_ol_repoint(ol, rp->host, in, rp->smtp);
    xb_addin_log("account %ls (%s layout, profile '%ls'): the companion is at %s:%lu, SMTP "
                 "%lu, not %s:%lu (%s), SMTP %lu: %s", ol->id, xb_ol_layout_name(ol->layout),
                 ol->profile, rp->host, (unsigned long)in, (unsigned long)rp->smtp,
                 ol->server, (unsigned long)ol->port, holder, (unsigned long)ol->smtp_port,
                 err == XB_OK ? "pointed there again" : xb_err_str(err));
    if (err != XB_OK) {
        rp->failed++;
        return;
    }
    if (!rp->moved++)
        snprintf(rp->first, sizeof(rp->first), "%s", xb_ol_identity(ol->user, ol->email));
}

/* Bridged accounts (in every profile) hold the ports the companion had then; a new port
 * slot or configuration moves it. Compared at every (re)connection to the companion. */
static void check_ports(struct xb_worker *w)
{
    struct xb_pipe_reply rep;
    enum xb_err err;
    char host[XB_PIPE_HOST_MAX + 1];
    struct xb_pipe_req r = { .hdr.op = XB_PIPE_OP_GET_PORTS };
    uint16_t st = call(w, &w->ctl, w->buf, &r, CALL_MS, &rep, &err);
    if (err != XB_OK || st != XB_PIPE_ST_OK || !xb_pipe_str_copy(rep.host, host, sizeof(host)))
        return; /* an older or paused companion: nothing to compare with */
    if (!xb_ol_loopback_host(host)) {
        xb_addin_log("the companion names %s, not a loopback address: accounts not pointed "
                     "there", host);
        return;
    }
    struct repoint rp = { .host = host, .imap = rep.imap, .pop3 = rep.pop3, .smtp = rep.smtp };
    for (int l = 0; l < XB_OL_LAYOUTS; l++)
        xb_ol_scan((enum xb_ol_layout)l, NULL, repoint_one, &rp);
    if (rp.moved == 0 || !rp.first[0])
        return;
    scan(w);
    xb_addin_log("%u bridged account(s) pointed at the companion's new ports; Outlook uses "
                 "them from its next start", rp.moved);
    struct xb_pipe_req b = { .hdr.op = XB_PIPE_OP_ACCOUNT_BRIDGED, .email = xb_pipe_cstr(rp.first),
                             .protocol = XB_PIPE_PROTO_UNKNOWN };
    call(w, &w->ctl, w->buf, &b, CALL_MS, &rep, &err);
}

/* Which of our accounts the companion has signed in, and whether the bridged ones still
 * point at it. */
static void on_sync(struct xb_worker *w)
{
    struct xb_pipe_reply rep;
    struct xb_pipe_account a;
    enum xb_err err;
    char ok_emails[MAX_ACCOUNTS][XB_PIPE_EMAIL_MAX + 1];
    unsigned nok = 0;

    if (connect_companion(w, &w->ctl, w->buf, true) != XB_OK)
        return;
    check_ports(w);
    struct xb_pipe_req r = { .hdr.op = XB_PIPE_OP_LIST_ACCOUNTS };
    uint16_t st = call(w, &w->ctl, w->buf, &r, CALL_MS, &rep, &err);
    if (err != XB_OK || st != XB_PIPE_ST_OK)
        return;
    while (xb_pipe_reply_account(&rep, &a)) {
        if (a.state == XB_PIPE_STATE_OK && nok < MAX_ACCOUNTS)
            xb_pipe_str_copy(a.email, ok_emails[nok++], sizeof(ok_emails[0]));
    }
    for (unsigned i = 0; i < nok && !stopping(w); i++)
        on_signed_in(w, ok_emails[i]);
}

/* --- threads ------------------------------------------------------------------------------------ */

static void ensure_resiliency(const struct xb_worker *w)
{
    /* Outlook 2013 and later disable slow add-ins; this list keeps ours (per user). */
    const wchar_t *ver = w->layout == XB_OL_2016 ? L"16.0" : w->layout == XB_OL_2013 ? L"15.0"
                                                                                     : NULL;
    wchar_t path[160];
    HKEY key;
    DWORD one = 1, type = 0;
    if (!ver)
        return;
    _snwprintf(path, ARRAYSIZE(path),
               L"Software\\Microsoft\\Office\\%ls\\Outlook\\Resiliency\\DoNotDisableAddinList",
               ver);
    path[ARRAYSIZE(path) - 1] = L'\0';
    if (RegCreateKeyExW(HKEY_CURRENT_USER, path, 0, NULL, 0, KEY_QUERY_VALUE | KEY_SET_VALUE,
                        NULL, &key, NULL) != ERROR_SUCCESS)
        return;
    if (RegQueryValueExW(key, L"" XB_ADDIN_PROGID, NULL, &type, NULL, NULL) != ERROR_SUCCESS) {
        if (RegSetValueExW(key, L"" XB_ADDIN_PROGID, 0, REG_DWORD, (const BYTE *)&one,
                           sizeof(one)) == ERROR_SUCCESS)
            xb_addin_log("added %s to Outlook's list of add-ins it must not disable",
                         XB_ADDIN_PROGID);
    }
    RegCloseKey(key);
}

static DWORD WINAPI subscriber_main(void *arg)
{
    struct xb_worker *w = arg;
    HMODULE self = xb_addin_module;
    while (!stopping(w)) {
        enum xb_err err = connect_companion(w, &w->sub, w->subbuf, false);
        if (err != XB_OK) {
            if (!pause_ms(w, 3000))
                break;
            continue;
        }
        struct xb_pipe_reply rep;
        struct xb_pipe_req r = { .hdr.op = XB_PIPE_OP_SUBSCRIBE };
        uint16_t st = call(w, &w->sub, w->subbuf, &r, CALL_MS, &rep, &err);
        if (err != XB_OK || st != XB_PIPE_ST_OK) {
            if (!pause_ms(w, 3000))
                break;
            continue;
        }
        push(w, JOB_SYNC, 0, NULL);
        while (!stopping(w)) {
            size_t len = 0;
            err = xb_ctl_client_recv(&w->sub, w->subbuf, sizeof(w->subbuf), &len, 1000);
            if (err == XB_ERR_TEMP)
                continue; /* nothing came: look at the stop event again */
            if (err != XB_OK)
                break;
            struct xb_pipe_hdr h;
            const char *bad = NULL;
            xb_pipe_hdr_decode(w->subbuf, &h);
            if (h.kind != XB_PIPE_KIND_EVENT ||
                !xb_pipe_reply_parse(&h, w->subbuf + XB_PIPE_HDR_LEN, &rep, &bad) ||
                (h.op != XB_PIPE_OP_STATE_CHANGED && h.op != XB_PIPE_OP_RESTART_OUTLOOK))
                continue;
            if (h.op == XB_PIPE_OP_RESTART_OUTLOOK) {
                /* Only the Outlook the offer named quits; others hear it too. */
                if (rep.pid == GetCurrentProcessId() && w->ui && w->wm_quit) {
                    xb_addin_log("the person chose to restart Outlook now");
                    PostMessageW(w->ui, w->wm_quit, 0, 0);
                }
                continue;
            }
            char email[XB_PIPE_EMAIL_MAX + 1];
            if (rep.state == XB_PIPE_STATE_OK && xb_pipe_str_copy(rep.email, email, sizeof(email)))
                push(w, JOB_SIGNED_IN, 0, email);
        }
        EnterCriticalSection(&w->lock);
        xb_ctl_client_close(&w->sub);
        LeaveCriticalSection(&w->lock);
        if (!stopping(w))
            xb_addin_log("the companion went away; listening again when it is back");
    }
    worker_release(w);
    FreeLibraryAndExitThread(self, 0);
    return 0;
}

static DWORD WINAPI worker_main(void *arg)
{
    struct xb_worker *w = arg;
    HMODULE self = xb_addin_module;

    xb_addin_policy_read(&w->pol);
    xb_addin_log("add-in %s in Outlook %s, profile '%ls'; automatic fix: %s (%s)",
                 XB_VERSION, w->version[0] ? w->version : "(unknown)", w->profile,
                 xb_autofix_name(w->pol.auto_fix), w->pol.auto_fix_why);
    ensure_resiliency(w);
    unsigned recovered = xb_ol_recover();
    if (recovered)
        xb_addin_log("put back %u account(s) whose change was interrupted", recovered);
    scan(w);
    log_accounts(w);

    while (!stopping(w)) {
        HANDLE both[2] = { w->stop, w->wake };
        if (WaitForMultipleObjects(2, both, FALSE, INFINITE) != WAIT_OBJECT_0 + 1)
            break;
        while (!stopping(w) && pop(w, &w->current)) {
            switch (w->current.kind) {
            case JOB_FAILURE:
                on_failure(w, w->current.code, w->current.text);
                break;
            case JOB_SIGNED_IN:
                on_signed_in(w, w->current.text);
                break;
            case JOB_SYNC:
                on_sync(w);
                break;
            }
        }
    }
    xb_addin_log("add-in stopped");
    worker_release(w);
    FreeLibraryAndExitThread(self, 0);
    return 0;
}

/* Starts one thread holding a reference on w and one on this DLL. */
static bool start_thread(struct xb_worker *w, LPTHREAD_START_ROUTINE fn)
{
    HMODULE mod = NULL;
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, (LPCWSTR)(void *)fn, &mod))
        return false;
    InterlockedIncrement(&w->refs);
    HANDLE t = CreateThread(NULL, 256 * 1024, fn, w, 0, NULL);
    if (!t) {
        InterlockedDecrement(&w->refs);
        FreeLibrary(mod);
        return false;
    }
    CloseHandle(t);
    return true;
}

struct xb_worker *xb_worker_start(const char *version, const wchar_t *profile, HWND ui)
{
    struct xb_worker *w = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*w));
    if (!w)
        return NULL;
    w->refs = 1;
    w->ctl.h = w->sub.h = -1;
    w->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    w->wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    InitializeCriticalSection(&w->lock);
    snprintf(w->version, sizeof(w->version), "%s", version ? version : "");
    w->ui = ui;
    w->wm_quit = RegisterWindowMessageW(XB_WM_QUIT_NAME);
    w->layout = xb_ol_layout_for_version(w->version);
    if (profile && profile[0])
        wcsncpy(w->profile, profile, XB_OL_PROFILE_MAX - 1);
    else
        xb_ol_default_profile(w->layout, w->profile, XB_OL_PROFILE_MAX);
    if (!w->stop || !w->wake || !start_thread(w, worker_main)) {
        worker_release(w);
        return NULL;
    }
    if (!start_thread(w, subscriber_main))
        xb_addin_log("cannot start the listening thread: sign-ins from the tray are "
                     "picked up at the next Outlook start");
    return w;
}

void xb_worker_stop(struct xb_worker *w, DWORD wait_ms)
{
    if (!w)
        return;
    SetEvent(w->stop);
    /* A sign-in may be waiting in the browser: cut the pipe I/O short. */
    EnterCriticalSection(&w->lock);
    if (w->ctl.h != -1)
        CancelIoEx((HANDLE)w->ctl.h, NULL);
    if (w->sub.h != -1)
        CancelIoEx((HANDLE)w->sub.h, NULL);
    LeaveCriticalSection(&w->lock);
    DWORD start = GetTickCount();
    while (w->refs > 1 && GetTickCount() - start < wait_ms)
        Sleep(5);
    worker_release(w);
}
