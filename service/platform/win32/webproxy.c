/*
 * web_proxy = system on Windows: the proxy the user and the administrator configured,
 * read the way Windows' own HTTP stack (WinHTTP) reads it, for each request URL:
 *
 *   1. the user's Internet Options (WinHttpGetIEProxyConfigForCurrentUser):
 *      - "Automatically detect settings" (WPAD) or "Use automatic configuration script":
 *        WinHttpGetProxyForUrl runs the script for the URL. It may fetch the script and
 *        search the network for seconds, so it runs on a thread of its own, never on the
 *        event loop's; the answer is kept per scheme://host:port for SCRIPT_TTL_S (a
 *        failure for SCRIPT_FAIL_TTL_S) and the loop is woken through a socket pair.
 *        When it fails, the user's fixed proxy below counts, else direct (as browsers
 *        do), and the log says so once;
 *      - "Use a proxy server": the list's entry for the scheme, unless the bypass list
 *        (with <local>) names the host (core/webproxy.c reads both lists);
 *   2. when the user has none of these: WinHTTP's machine setting
 *      (WinHttpGetDefaultProxyConfiguration; `netsh winhttp set proxy`);
 *   3. else direct.
 * The settings are read again at every request (a registry read: token requests are a
 * few an hour), so a change of network or of settings counts from the next one.
 *
 * Threads: a script thread touches only its job and, under the hub's lock, the hub's
 * list of answers; the hub lives until the resolver and every thread have let go.
 */
#include "platform/platform.h"

#include <winsock2.h>
#include <windows.h>
#include <winhttp.h>
#include <process.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/webproxy.h"
#include "platform/win32/wide.h"

#define SCRIPT_TTL_S       600      /* a script's answer is kept 10 minutes */
#define SCRIPT_FAIL_TTL_S  120      /* a failure is asked again after 2 minutes */
#define SCRIPT_NET_MS      10000    /* WinHTTP's limits while fetching the script */
#define CACHE_MAX          16       /* hosts: the token and revocation endpoints */
#define KEY_MAX            300
#define NO_SOCK            ((evutil_socket_t)-1)

/* One question to a script, asked on a thread. */
struct job {
    struct hub *hub;
    struct job *next;           /* in hub->done once answered */
    char key[KEY_MAX];          /* scheme://host:port */
    wchar_t *url;               /* asked for */
    wchar_t *script;            /* configuration script URL; NULL: detection only */
    bool autodetect;
    bool ok;                    /* answered */
    DWORD error;                /* else why */
    char proxy[300];            /* ok: "http://host:port", "" for direct */
};

/* What the loop and the script threads share. */
struct hub {
    CRITICAL_SECTION lock;
    volatile LONG refs;
    evutil_socket_t wake[2];    /* [1] written by a thread, [0] read by the loop */
    struct job *done;           /* answers the loop has not collected */
};

/* The loop's memory of a script's answer for one scheme://host:port. */
struct entry {
    char key[KEY_MAX];
    char settings[600];         /* what was asked (script URL, detection): a change asks again */
    ULONGLONG until;            /* GetTickCount64 */
    bool used, pending, ok;
    DWORD error;
    char proxy[300];
};

struct xb_plat_webproxy {
    struct event_base *base;
    xb_plat_webproxy_ready_fn *ready;
    void *arg;
    struct hub *hub;            /* made at the first script */
    struct event *wake_ev;
    struct entry cache[CACHE_MAX];
    char last_failure[KEY_MAX + 700];   /* the failure logged last: each is logged once */
};

/* --- the hub ----------------------------------------------------------------------------- */

static void job_free(struct job *j)
{
    if (!j)
        return;
    xb_free(j->url);
    xb_free(j->script);
    xb_free(j);
}

static void hub_release(struct hub *h)
{
    if (InterlockedDecrement(&h->refs) != 0)
        return;
    while (h->done) {
        struct job *j = h->done;
        h->done = j->next;
        job_free(j);
    }
    if (h->wake[0] != NO_SOCK)
        evutil_closesocket(h->wake[0]);
    if (h->wake[1] != NO_SOCK)
        evutil_closesocket(h->wake[1]);
    DeleteCriticalSection(&h->lock);
    xb_free(h);
}

/* --- asking a script (any thread) ------------------------------------------------------- */

/* The first proxy of WinHTTP's answer ("proxy:8080; other:8080"), as a URL for libcurl. */
static void first_proxy(const wchar_t *list, char *out, size_t n)
{
    char *u = list ? xb_win_utf8(list) : NULL;
    out[0] = '\0';
    if (u && !xb_webproxy_pick(u, "http", out, n))
        out[0] = '\0';
    xb_free(u);
}

/* WinHttpGetProxyForUrl for job: blocks for as long as the script and the network take. */
static void ask_script(struct job *j)
{
    WINHTTP_AUTOPROXY_OPTIONS opt;
    WINHTTP_PROXY_INFO info;
    memset(&opt, 0, sizeof(opt));
    memset(&info, 0, sizeof(info));
    HINTERNET s = WinHttpOpen(L"XOAuthBridge", WINHTTP_ACCESS_TYPE_NO_PROXY,
                              WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
    if (!s) {
        j->error = GetLastError();
        return;
    }
    WinHttpSetTimeouts(s, SCRIPT_NET_MS, SCRIPT_NET_MS, SCRIPT_NET_MS, SCRIPT_NET_MS);
    if (j->script) {
        opt.dwFlags |= WINHTTP_AUTOPROXY_CONFIG_URL;
        opt.lpszAutoConfigUrl = j->script;
    }
    if (j->autodetect) {
        opt.dwFlags |= WINHTTP_AUTOPROXY_AUTO_DETECT;
        opt.dwAutoDetectFlags = WINHTTP_AUTO_DETECT_TYPE_DHCP | WINHTTP_AUTO_DETECT_TYPE_DNS_A;
    }
    /* The script's server may ask who we are: as Windows does, with the user's logon. */
    opt.fAutoLogonIfChallenged = TRUE;
    if (WinHttpGetProxyForUrl(s, j->url, &opt, &info)) {
        j->ok = true;
        if (info.dwAccessType == WINHTTP_ACCESS_TYPE_NAMED_PROXY && info.lpszProxy)
            first_proxy(info.lpszProxy, j->proxy, sizeof(j->proxy));
    } else {
        j->error = GetLastError();
    }
    if (info.lpszProxy)
        GlobalFree(info.lpszProxy);
    if (info.lpszProxyBypass)
        GlobalFree(info.lpszProxyBypass);
    WinHttpCloseHandle(s);
}

static unsigned __stdcall script_thread(void *arg)
{
    struct job *j = arg;
    struct hub *h = j->hub;
    ask_script(j);
    EnterCriticalSection(&h->lock);
    j->next = h->done;
    h->done = j;
    LeaveCriticalSection(&h->lock);
    /* One byte wakes the loop; if the loop has gone, nobody reads it. */
    send(h->wake[1], "!", 1, 0);
    hub_release(h);
    return 0;
}

/* --- the cache (loop thread) ------------------------------------------------------------- */

static struct entry *cache_find(struct xb_plat_webproxy *wp, const char *key)
{
    for (size_t i = 0; i < CACHE_MAX; i++) {
        if (wp->cache[i].used && strcmp(wp->cache[i].key, key) == 0)
            return &wp->cache[i];
    }
    return NULL;
}

/* A free slot, else the one that expires first (never one still being asked). */
static struct entry *cache_slot(struct xb_plat_webproxy *wp)
{
    struct entry *best = NULL;
    for (size_t i = 0; i < CACHE_MAX; i++) {
        struct entry *e = &wp->cache[i];
        if (!e->used)
            return e;
        if (!e->pending && (!best || e->until < best->until))
            best = e;
    }
    return best;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct xb_plat_webproxy *wp = arg;
    char buf[64];
    (void)what;
    while (recv(fd, buf, sizeof(buf), 0) > 0)
        ;
    EnterCriticalSection(&wp->hub->lock);
    struct job *list = wp->hub->done;
    wp->hub->done = NULL;
    LeaveCriticalSection(&wp->hub->lock);
    bool any = false;
    while (list) {
        struct job *j = list;
        list = j->next;
        struct entry *e = cache_find(wp, j->key);
        if (e && e->pending) {
            e->pending = false;
            e->ok = j->ok;
            e->error = j->error;
            snprintf(e->proxy, sizeof(e->proxy), "%s", j->proxy);
            e->until = GetTickCount64() + 1000ull * (j->ok ? SCRIPT_TTL_S : SCRIPT_FAIL_TTL_S);
            any = true;
        }
        job_free(j);
    }
    /* Last: ready may free wp. */
    if (any && wp->ready)
        wp->ready(wp->arg);
}

static enum xb_err hub_make(struct xb_plat_webproxy *wp)
{
    struct hub *h = xb_new(struct hub);
    if (!h)
        return XB_ERR_NOMEM;
    InitializeCriticalSection(&h->lock);
    h->refs = 1;
    h->wake[0] = h->wake[1] = NO_SOCK;
    if (evutil_socketpair(AF_INET, SOCK_STREAM, 0, h->wake) != 0 ||
        evutil_make_socket_nonblocking(h->wake[0]) != 0 ||
        !(wp->wake_ev = event_new(wp->base, h->wake[0], EV_READ | EV_PERSIST, wake_cb, wp)) ||
        event_add(wp->wake_ev, NULL) != 0) {
        if (wp->wake_ev)
            event_free(wp->wake_ev);
        wp->wake_ev = NULL;
        hub_release(h);
        return XB_ERR_NET;
    }
    wp->hub = h;
    return XB_OK;
}

/* Starts a thread for j; false (j freed) when it cannot. */
static bool job_start(struct xb_plat_webproxy *wp, struct job *j)
{
    if (!wp->hub && hub_make(wp) != XB_OK) {
        job_free(j);
        return false;
    }
    j->hub = wp->hub;
    InterlockedIncrement(&wp->hub->refs);
    /* The default stack: WinHTTP may run the script's JScript engine on this thread. */
    HANDLE t = (HANDLE)_beginthreadex(NULL, 0, script_thread, j, 0, NULL);
    if (!t) {
        InterlockedDecrement(&wp->hub->refs);
        job_free(j);
        return false;
    }
    CloseHandle(t);
    return true;
}

/* --- the decision ------------------------------------------------------------------------ */

static wchar_t *wide_dup(const wchar_t *w)
{
    size_t n = wcslen(w) + 1;
    wchar_t *d = xb_new_array(wchar_t, n);
    if (d)
        memcpy(d, w, n * sizeof(wchar_t));
    return d;
}

struct settings {
    WINHTTP_CURRENT_USER_IE_PROXY_CONFIG ie;
    bool have_ie;
};

static void settings_free(struct settings *st)
{
    if (st->ie.lpszAutoConfigUrl)
        GlobalFree(st->ie.lpszAutoConfigUrl);
    if (st->ie.lpszProxy)
        GlobalFree(st->ie.lpszProxy);
    if (st->ie.lpszProxyBypass)
        GlobalFree(st->ie.lpszProxyBypass);
}

/* A fixed proxy list with its bypass list, for the URL's scheme and host. */
static void fixed(const wchar_t *list, const wchar_t *bypass, const char *scheme,
                  const char *host, unsigned port, const char *source,
                  struct xb_webproxy_answer *out)
{
    char *l = xb_win_utf8(list), *b = bypass ? xb_win_utf8(bypass) : NULL;
    if (l && xb_webproxy_pick(l, scheme, out->proxy, sizeof(out->proxy))) {
        if (b && xb_webproxy_bypassed(b, scheme, host, port)) {
            out->how = XB_WEBPROXY_DIRECT;
            out->proxy[0] = '\0';
            snprintf(out->source, sizeof(out->source), "%s: its bypass list names %s",
                     source, host);
        } else {
            out->how = XB_WEBPROXY_VIA;
            snprintf(out->source, sizeof(out->source), "%s", source);
        }
    } else {
        out->how = XB_WEBPROXY_DIRECT;
        out->proxy[0] = '\0';
        snprintf(out->source, sizeof(out->source), "%s: no proxy for %s", source, scheme);
    }
    xb_free(l);
    xb_free(b);
}

/* What the script said (or, when it failed, the fallback), logging a failure once. */
static void from_script(struct xb_plat_webproxy *wp, const struct settings *st,
                        const char *what, const char *key, bool ok, DWORD error,
                        const char *proxy, const char *scheme, const char *host,
                        unsigned port, struct xb_webproxy_answer *out)
{
    if (ok) {
        out->how = proxy[0] ? XB_WEBPROXY_VIA : XB_WEBPROXY_DIRECT;
        snprintf(out->proxy, sizeof(out->proxy), "%s", proxy);
        snprintf(out->source, sizeof(out->source), "%s", what);
        if (wp)
            wp->last_failure[0] = '\0';
        return;
    }
    char failed[400];
    snprintf(failed, sizeof(failed), "%s gave no answer (error %lu)", what,
             (unsigned long)error);
    if (st->ie.lpszProxy) {
        char src[500];
        snprintf(src, sizeof(src), "%s; Internet Options' proxy server instead", failed);
        fixed(st->ie.lpszProxy, st->ie.lpszProxyBypass, scheme, host, port, src, out);
    } else {
        out->how = XB_WEBPROXY_DIRECT;
        snprintf(out->source, sizeof(out->source), "%s; direct instead", failed);
    }
    char line[sizeof(wp->last_failure)];
    snprintf(line, sizeof(line), "%s %s", key, out->source);
    if (!wp || strcmp(wp->last_failure, line) != 0) {
        /* No WPAD on the network is common where "Automatically detect settings" is on,
         * as it is by default: worth a line, not a warning. */
        if (error == ERROR_WINHTTP_AUTODETECTION_FAILED)
            xb_log_info("web proxy for %s: %s", key, out->source);
        else
            xb_log_warn("web proxy for %s: %s", key, out->source);
        if (wp)
            snprintf(wp->last_failure, sizeof(wp->last_failure), "%s", line);
    }
}

enum xb_err xb_plat_webproxy_find(struct xb_plat_webproxy *wp, const char *url,
                                  struct xb_webproxy_answer *out)
{
    char scheme[16], host[260], key[KEY_MAX];
    unsigned port = 0;
    struct settings st;
    enum xb_err err = XB_OK;
    memset(out, 0, sizeof(*out));
    memset(&st, 0, sizeof(st));
    out->how = XB_WEBPROXY_DIRECT;
    out->sure = true;
    if (!xb_webproxy_url_parts(url, scheme, sizeof(scheme), host, sizeof(host), &port)) {
        snprintf(out->source, sizeof(out->source), "not a URL: direct");
        return XB_OK;
    }
    snprintf(key, sizeof(key), "%s://%s:%u", scheme, host, port);
    st.have_ie = WinHttpGetIEProxyConfigForCurrentUser(&st.ie) != FALSE;
    if (!st.have_ie)
        memset(&st.ie, 0, sizeof(st.ie));

    if (st.ie.fAutoDetect || st.ie.lpszAutoConfigUrl) {
        char *script = st.ie.lpszAutoConfigUrl ? xb_win_utf8(st.ie.lpszAutoConfigUrl) : NULL;
        char what[600];
        if (script)
            snprintf(what, sizeof(what), "the automatic configuration script %.400s%s", script,
                     st.ie.fAutoDetect ? " (and automatic detection)" : "");
        else
            snprintf(what, sizeof(what), "automatic proxy detection (WPAD)");
        xb_free(script);
        struct entry *e = wp ? cache_find(wp, key) : NULL;
        if (e && !e->pending && strcmp(e->settings, what) != 0) {
            e->used = false;                     /* the settings changed: ask again */
            e = NULL;
        }
        if (e && e->pending) {
            err = XB_ERR_AGAIN;
        } else if (e && GetTickCount64() < e->until) {
            from_script(wp, &st, what, key, e->ok, e->error, e->proxy, scheme, host, port,
                        out);
        } else {
            struct job *j = xb_new(struct job);
            if (j) {
                snprintf(j->key, sizeof(j->key), "%s", key);
                j->url = xb_win_wide(url);
                j->script = st.ie.lpszAutoConfigUrl ? wide_dup(st.ie.lpszAutoConfigUrl) : NULL;
                j->autodetect = st.ie.fAutoDetect != FALSE;
            }
            if (!j || !j->url || (st.ie.lpszAutoConfigUrl && !j->script)) {
                job_free(j);
                from_script(wp, &st, what, key, false, ERROR_NOT_ENOUGH_MEMORY, "", scheme,
                            host, port, out);
            } else if (!wp) {
                ask_script(j);                   /* the CLI: it may wait */
                from_script(NULL, &st, what, key, j->ok, j->error, j->proxy, scheme, host,
                            port, out);
                job_free(j);
            } else {
                if (!e)
                    e = cache_slot(wp);
                if (e && job_start(wp, j)) {
                    memset(e, 0, sizeof(*e));
                    e->used = e->pending = true;
                    snprintf(e->key, sizeof(e->key), "%s", key);
                    snprintf(e->settings, sizeof(e->settings), "%s", what);
                    err = XB_ERR_AGAIN;
                } else {
                    if (!e)
                        job_free(j);
                    from_script(wp, &st, what, key, false, ERROR_NOT_ENOUGH_MEMORY, "",
                                scheme, host, port, out);
                }
            }
        }
    } else if (st.ie.lpszProxy) {
        fixed(st.ie.lpszProxy, st.ie.lpszProxyBypass, scheme, host, port,
              "Internet Options of this user", out);
    } else {
        WINHTTP_PROXY_INFO pi;
        memset(&pi, 0, sizeof(pi));
        if (WinHttpGetDefaultProxyConfiguration(&pi) &&
            pi.dwAccessType == WINHTTP_ACCESS_TYPE_NAMED_PROXY && pi.lpszProxy) {
            fixed(pi.lpszProxy, pi.lpszProxyBypass, scheme, host, port,
                  "WinHTTP's machine setting (netsh winhttp)", out);
        } else {
            snprintf(out->source, sizeof(out->source), "no proxy in Internet Options of "
                     "this user or WinHTTP's machine setting");
        }
        if (pi.lpszProxy)
            GlobalFree(pi.lpszProxy);
        if (pi.lpszProxyBypass)
            GlobalFree(pi.lpszProxyBypass);
    }
    settings_free(&st);
    return err;
}

/* --- the resolver ------------------------------------------------------------------------ */

enum xb_err xb_plat_webproxy_new(struct event_base *base, xb_plat_webproxy_ready_fn *ready,
                                 void *arg, struct xb_plat_webproxy **out)
{
    struct xb_plat_webproxy *wp = xb_new(struct xb_plat_webproxy);
    *out = NULL;
    if (!wp)
        return XB_ERR_NOMEM;
    wp->base = base;
    wp->ready = ready;
    wp->arg = arg;
    *out = wp;
    return XB_OK;
}

void xb_plat_webproxy_free(struct xb_plat_webproxy *wp)
{
    if (!wp)
        return;
    if (wp->wake_ev)
        event_free(wp->wake_ev);
    if (wp->hub)
        hub_release(wp->hub);
    xb_free(wp);
}
