#include "core/tls.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/mem.h"
#include "platform/platform.h"

/* Resumable sessions per upstream host:port: a reconnecting client (Outlook reconnects
 * often) saves a full handshake. A small fixed table; the oldest entry is reused. */
#define XB_TLS_CACHE_SLOTS 16

struct xb_tls_slot {
    char key[300];            /* "host:port"; empty = free */
    SSL_SESSION *sess;
    unsigned long used;       /* LRU clock */
};

struct xb_tls {
    SSL_CTX *ctx;
    int key_index;            /* SSL ex_data index: the "host:port" a connection verifies
                                 (its own copy: a slot may be reused while it runs) */
    unsigned long clock;
    struct xb_tls_slot slots[XB_TLS_CACHE_SLOTS];
};

static struct xb_tls_slot *slot_for(struct xb_tls *tls, const char *key);

/* A session is kept only under the host:port its connection verified, looked up now:
 * the slot the connection started with may have gone to another server meanwhile. */
int xb_tls_session_arrived(SSL *ssl, SSL_SESSION *sess)
{
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    struct xb_tls *tls = SSL_CTX_get_app_data(ctx);
    const char *key = tls ? SSL_get_ex_data(ssl, tls->key_index) : NULL;
    if (!key || SSL_get_verify_result(ssl) != X509_V_OK)
        return 0; /* not kept: OpenSSL frees it */
    struct xb_tls_slot *slot = slot_for(tls, key);
    if (slot->sess)
        SSL_SESSION_free(slot->sess);
    slot->sess = sess;
    return 1; /* we keep the reference */
}

static void key_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                     void *argp)
{
    xb_free(ptr);
}

static enum xb_err fail(char **errmsg, const char *what)
{
    unsigned long e = ERR_get_error();
    xb_errmsg(errmsg, "%s: %s", what, e ? ERR_reason_error_string(e) : "unknown error");
    ERR_clear_error();
    return XB_ERR_TLS;
}

enum xb_err xb_tls_new(const char *ca_file, struct xb_tls **out, char **errmsg)
{
    struct xb_tls *tls = xb_new(struct xb_tls);
    enum xb_err err = XB_ERR_NOMEM;
    if (!tls)
        goto out;
    tls->ctx = SSL_CTX_new(TLS_client_method());
    if (!tls->ctx) {
        err = fail(errmsg, "cannot create a TLS context");
        goto out;
    }
    SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER, NULL);
    /* Idle sessions give their 2 x 16 KiB record buffers back: 1,000 open IMAP sessions
     * are mostly idle. */
    SSL_CTX_set_mode(tls->ctx, SSL_MODE_RELEASE_BUFFERS);
    /* No read-ahead: libevent 2.1's OpenSSL filter looks at SSL_pending() only, so bytes
     * read ahead but not yet decrypted would wait for a socket event that never comes
     * (measured: FETCH stalls). */
    SSL_CTX_set_app_data(tls->ctx, tls);
    SSL_CTX_set_session_cache_mode(tls->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(tls->ctx, xb_tls_session_arrived);
    tls->key_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, key_free);

    /* The system decides (platform/…/tlstrust.c); ca_file only adds (test) CAs. */
    xb_plat_tls_trust(tls->ctx);
    if (ca_file && *ca_file && SSL_CTX_load_verify_locations(tls->ctx, ca_file, NULL) != 1) {
        char what[512];
        snprintf(what, sizeof(what), "cannot load the CA file '%s'", ca_file);
        err = fail(errmsg, what);
        goto out;
    }
    *out = tls;
    tls = NULL;
    err = XB_OK;
out:
    xb_tls_free(tls);
    return err;
}

void xb_tls_free(struct xb_tls *tls)
{
    if (!tls)
        return;
    for (size_t i = 0; i < XB_TLS_CACHE_SLOTS; i++)
        SSL_SESSION_free(tls->slots[i].sess);
    SSL_CTX_free(tls->ctx);
    xb_free(tls);
}

static struct xb_tls_slot *slot_for(struct xb_tls *tls, const char *key)
{
    struct xb_tls_slot *oldest = &tls->slots[0];
    for (size_t i = 0; i < XB_TLS_CACHE_SLOTS; i++) {
        struct xb_tls_slot *sl = &tls->slots[i];
        if (strcmp(sl->key, key) == 0) {
            sl->used = ++tls->clock;
            return sl;
        }
        if (sl->used < oldest->used)
            oldest = sl;
    }
    SSL_SESSION_free(oldest->sess);
    oldest->sess = NULL;
    snprintf(oldest->key, sizeof(oldest->key), "%s", key);
    oldest->used = ++tls->clock;
    return oldest;
}

SSL *xb_tls_ssl_new(struct xb_tls *tls, const char *host, unsigned port)
{
    SSL *ssl = SSL_new(tls->ctx);
    if (!ssl)
        return NULL;
    /* The name checked against the certificate; an IP literal is checked as an IP. */
    if (SSL_set1_host(ssl, host) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    /* SNI only for names, never for IP literals (RFC 6066). */
    if (!strchr(host, ':') && strspn(host, "0123456789.") != strlen(host)) {
        /* The macro casts away const; hand it a copy. */
        char sni[256];
        snprintf(sni, sizeof(sni), "%s", host);
        SSL_set_tlsext_host_name(ssl, sni);
    }
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

    char key[300];
    snprintf(key, sizeof(key), "%s:%u", host, port);
    char *copy = xb_strdup(key);
    if (!copy || SSL_set_ex_data(ssl, tls->key_index, copy) != 1) {
        xb_free(copy);
        SSL_free(ssl);
        return NULL;
    }
    struct xb_tls_slot *slot = slot_for(tls, key);
    if (slot->sess)
        SSL_set_session(ssl, slot->sess);
    return ssl;
}

void xb_tls_describe(SSL *ssl, char *buf, size_t size)
{
    if (!ssl)
        snprintf(buf, size, "no TLS yet");
    else
        snprintf(buf, size, "%s, %s", SSL_get_version(ssl),
                 SSL_session_reused(ssl) ? "resumed" : "full handshake");
}

void xb_tls_describe_error(SSL *ssl, unsigned long ssl_err, char *buf, size_t size)
{
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (vr != X509_V_OK)
        snprintf(buf, size, "certificate verify failed: %s", X509_verify_cert_error_string(vr));
    else if (ssl_err)
        snprintf(buf, size, "%s", ERR_reason_error_string(ssl_err) ? ERR_reason_error_string(ssl_err)
                                                                   : "TLS error");
    else
        snprintf(buf, size, "connection closed during the TLS handshake");
}
