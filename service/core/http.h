/*
 * HTTPS requests on the event loop: libcurl's multi interface driven by libevent, so a
 * token refresh never blocks a mail session. Only what OAuth needs: POST of a form,
 * a bounded response body, timeouts. TLS always verified, the same way as the mail
 * servers (platform tlstrust.c: Windows' chain engine on Windows; plus the CA file).
 */
#ifndef XB_HTTP_H
#define XB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/err.h"
#include "core/mem.h"

struct event_base;
struct xb_http;
struct xb_http_req;

#define XB_HTTP_BODY_MAX (256 * 1024)  /* longer responses fail with XB_ERR_RANGE */

/* The outcome of one request. err XB_OK: an HTTP response arrived (any status; status
 * says which; body is NUL-terminated, len bytes, valid during the call only).
 * XB_ERR_TEMP: no response (cannot connect, timed out, TLS failure ...), why says what;
 * XB_ERR_TLS: the server's certificate is not trusted here (why says what);
 * XB_ERR_RANGE: the body was too long. */
typedef void xb_http_cb(void *arg, enum xb_err err, long status, const char *body, size_t len,
                        const char *why);

/* ca_file may be NULL. timeout is the whole request's limit in seconds. */
enum xb_err xb_http_new(struct event_base *base, const char *ca_file, unsigned timeout,
                        struct xb_http **out);
/* The client a configuration asks for: [tls] ca_file, connect_timeout as the request
 * limit, [general] web_proxy. What the front ends use. */
enum xb_err xb_http_new_config(struct event_base *base, const struct xb_config *cfg,
                               struct xb_http **out);
/* Cancels every pending request without calling its callback. */
void xb_http_free(struct xb_http *http);

/* How requests made from now on reach their servers ([general] web_proxy; the proxy
 * URL is copied and kept as a secret). A new client follows the system's settings.
 * XB_ERR_INVAL: a URL mode without a URL. */
enum xb_err xb_http_set_proxy(struct xb_http *http, const struct xb_web_proxy *proxy);

/* Whether the last request to host failed at a web proxy (it refused the tunnel, asked
 * for a password, or could not be reached): the proxy as host:port and the words, for a
 * notification that names it. false after a request to host that got past the proxy. */
bool xb_http_proxy_failure(const struct xb_http *http, const char *host, char *proxy,
                           size_t proxy_size, char *why, size_t why_size);

/* POSTs form (application/x-www-form-urlencoded, already encoded; it may hold secrets
 * and is wiped after sending) to url. Takes form in every case (freed, wiped, also when
 * NULL is returned). cb runs exactly once from the loop, unless the request is cancelled
 * first. NULL when out of memory. */
struct xb_http_req *xb_http_post_form(struct xb_http *http, const char *url,
                                      struct xb_secret *form, xb_http_cb *cb, void *arg);
/* A request that sends nothing and fails with err and why on the next turn of the loop
 * (for errors found before sending, so that callers still get one callback from the
 * loop). NULL when out of memory. */
struct xb_http_req *xb_http_fail_later(struct xb_http *http, enum xb_err err,
                                       const char *why, xb_http_cb *cb, void *arg);
/* release(arg) runs when the request ends without its callback (cancelled, or freed
 * with the client): per-request state behind arg is not leaked. */
void xb_http_set_release(struct xb_http_req *req, void (*release)(void *arg));
void xb_http_cancel(struct xb_http_req *req);

/* Appends "&name=value" (without "&" when *form is empty) with value percent-encoded
 * (RFC 3986 unreserved kept). *form grows as needed and stays a secret. */
enum xb_err xb_form_add(struct xb_secret **form, const char *name, const char *value);

/* The host of url ("oauth2.googleapis.com"; "[::1]" for IPv6) into out, for log lines and
 * notifications; "(bad URL)" when url does not parse. */
void xb_http_url_host(const char *url, char *out, size_t size);

/* Percent-encodes value for URLs (query strings); a new string. */
char *xb_url_encode(const char *value);

#endif
