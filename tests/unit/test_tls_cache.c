/*
 * The upstream TLS session cache (core/tls.c): a session is kept, and offered, only under
 * the host:port its connection verified, also when that connection's slot went to
 * another server while its handshake ran; a connection that failed verification leaves
 * nothing behind. The handshake's end is replayed through the callback OpenSSL calls.
 */
#include <stddef.h>
#include <stdio.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/mem.h"
#include "core/tls.h"
#include "platform/platform.h"

#include "xbtest.h"

#define SLOTS 16 /* tls.c's table */

static void sessions_stay_with_their_server(void)
{
    struct xb_tls *tls = NULL;
    char *err = NULL;
    CHECK(xb_tls_new(NULL, &tls, &err) == XB_OK);
    if (!tls)
        return;
    SSL *a = xb_tls_ssl_new(tls, "imap.a.example", 993);
    CHECK(a != NULL);
    /* While a's handshake runs, other servers take every slot, a's included. */
    SSL *others[SLOTS];
    char host[64];
    for (int i = 0; i < SLOTS; i++) {
        snprintf(host, sizeof(host), "h%d.example", i);
        others[i] = xb_tls_ssl_new(tls, host, 993);
        CHECK(others[i] && SSL_get_session(others[i]) == NULL);
    }
    SSL_SESSION *sa = SSL_SESSION_new();
    CHECK(xb_tls_session_arrived(a, sa) == 1);
    /* Offered again to a's server, never to the one that took a's old slot. */
    SSL *a2 = xb_tls_ssl_new(tls, "imap.a.example", 993);
    CHECK(a2 && SSL_get_session(a2) == sa);
    SSL *squatter = xb_tls_ssl_new(tls, "h15.example", 993);
    CHECK(squatter && SSL_get_session(squatter) == NULL);
    SSL *other_port = xb_tls_ssl_new(tls, "imap.a.example", 143);
    CHECK(other_port && SSL_get_session(other_port) == NULL);

    /* A connection whose verification failed keeps nothing. */
    SSL *b = xb_tls_ssl_new(tls, "imap.b.example", 993);
    SSL_set_verify_result(b, X509_V_ERR_CERT_HAS_EXPIRED);
    SSL_SESSION *sb = SSL_SESSION_new();
    CHECK(xb_tls_session_arrived(b, sb) == 0);
    SSL_SESSION_free(sb);
    SSL *b2 = xb_tls_ssl_new(tls, "imap.b.example", 993);
    CHECK(b2 && SSL_get_session(b2) == NULL);

    SSL_free(a);
    SSL_free(a2);
    SSL_free(squatter);
    SSL_free(other_port);
    SSL_free(b);
    SSL_free(b2);
    for (int i = 0; i < SLOTS; i++)
        SSL_free(others[i]);
    xb_tls_free(tls);
    xb_free(err);
}

XBTEST_MAIN(XBTEST(sessions_stay_with_their_server))
