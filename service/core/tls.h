/*
 * Upstream TLS: one client context for all sessions. Verification is always on: the
 * chain against the system's roots (the Windows certificate store on Windows) plus an
 * optional CA file, and the host name. No setting turns it off.
 */
#ifndef XB_TLS_H
#define XB_TLS_H

#include <stddef.h>

#include "core/err.h"

struct ssl_st;

struct xb_tls;

enum xb_err xb_tls_new(const char *ca_file, struct xb_tls **out, char **errmsg);
void xb_tls_free(struct xb_tls *tls);

/* A new SSL for a connection to host (SNI and host name check set, resumable session
 * for host:port attached when one is cached). */
struct ssl_st *xb_tls_ssl_new(struct xb_tls *tls, const char *host, unsigned port);

/* OpenSSL's new-session callback (set on the context): keeps sess for the host:port that
 * ssl verified, if verification passed; 1 when kept. Public for the unit tests, which
 * replay what a handshake does. */
struct ssl_session_st;
int xb_tls_session_arrived(struct ssl_st *ssl, struct ssl_session_st *sess);

/* After a connection is up, for the debug log: "TLSv1.3, resumed", "TLSv1.2, full
 * handshake", or "no TLS yet" (ssl NULL: STARTTLS comes later). */
void xb_tls_describe(struct ssl_st *ssl, char *buf, size_t size);

/* After a failed handshake: why, in words ("certificate verify failed: self-signed
 * certificate"...), into buf. */
void xb_tls_describe_error(struct ssl_st *ssl, unsigned long ssl_err, char *buf, size_t size);

#endif
