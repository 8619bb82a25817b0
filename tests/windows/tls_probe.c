/*
 * The companion's TLS trust decision, exercised under Wine through the core's own code
 * (core/tls.c for the mail servers, core/http.c for the token endpoint, both judged by
 * platform/win32/tlstrust.c), and the tools test_tls_trust.py needs around it:
 *
 *   tls_probe mail HOST PORT [CA_FILE]   a TLS handshake as the proxy makes it upstream
 *   tls_probe https URL [CA_FILE]        a POST as the token client makes it
 *   tls_probe add-root PEM_FILE          puts a certificate into the user's ROOT store
 *   tls_probe openssl-config CNF_FILE    asks this OpenSSL to load CNF_FILE as its
 *                                        configuration, as hard as an attacker could
 *   tls_probe load-dll DLL_FILE          loads a DLL by its full path (the control that
 *                                        shows the marker DLL really leaves its marker)
 *
 * mail and https print "trusted" (exit 0) or "refused: WHY" (exit 1); log lines go to
 * standard error. Exit 2: usage or an error that is neither.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <wincrypt.h>

#include <event2/event.h>
#include <openssl/conf.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "core/http.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/tls.h"
#include "platform/platform.h"

static int probe_mail(const char *host, const char *port, const char *ca_file)
{
    struct xb_tls *tls = NULL;
    char *errmsg = NULL;
    if (xb_tls_new(ca_file, &tls, &errmsg) != XB_OK) {
        printf("error: %s\n", errmsg ? errmsg : "cannot make a TLS context");
        return 2;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        printf("error: cannot resolve %s\n", host);
        return 2;
    }
    SOCKET s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (s == INVALID_SOCKET || connect(s, ai->ai_addr, (int)ai->ai_addrlen) != 0) {
        printf("error: cannot connect to %s:%s\n", host, port);
        return 2;
    }
    freeaddrinfo(ai);
    SSL *ssl = xb_tls_ssl_new(tls, host, (unsigned)strtoul(port, NULL, 10));
    if (!ssl || SSL_set_fd(ssl, (int)s) != 1) {
        printf("error: cannot make the connection's SSL\n");
        return 2;
    }
    int rc = SSL_connect(ssl);
    if (rc == 1) {
        printf("trusted\n");
    } else {
        char why[256];
        xb_tls_describe_error(ssl, ERR_peek_last_error(), why, sizeof(why));
        printf("refused: %s\n", why);
    }
    SSL_free(ssl);
    closesocket(s);
    xb_tls_free(tls);
    return rc == 1 ? 0 : 1;
}

struct https_outcome {
    struct event_base *base;
    int rc;
};

static void https_done(void *arg, enum xb_err err, long status, const char *body, size_t len,
                       const char *why)
{
    struct https_outcome *o = arg;
    if (err == XB_OK) {
        printf("trusted (HTTP %ld)\n", status);
        o->rc = 0;
    } else if (err == XB_ERR_TLS) {
        printf("refused: %s\n", why ? why : "?");
        o->rc = 1;
    } else {
        printf("error: %s: %s\n", xb_err_str(err), why ? why : "?");
        o->rc = 2;
    }
    event_base_loopbreak(o->base);
}

static int probe_https(const char *url, const char *ca_file)
{
    struct https_outcome o = { event_base_new(), 2 };
    struct xb_http *http = NULL;
    struct xb_secret *form = NULL;
    if (!o.base || xb_http_new(o.base, ca_file, 20, &http) != XB_OK ||
        xb_form_add(&form, "probe", "1") != XB_OK) {
        printf("error: cannot make the HTTP client\n");
        return 2;
    }
    if (!xb_http_post_form(http, url, form, https_done, &o)) {
        printf("error: cannot start the request\n");
        return 2;
    }
    event_base_dispatch(o.base);
    xb_http_free(http);
    event_base_free(o.base);
    return o.rc;
}

static int add_root(const char *pem)
{
    FILE *f = fopen(pem, "rb");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int len = x ? i2d_X509(x, &der) : -1;
    if (f)
        fclose(f);
    X509_free(x);
    if (len <= 0) {
        printf("error: cannot read %s\n", pem);
        return 2;
    }
    BOOL ok = CertAddEncodedCertificateToSystemStoreW(L"ROOT", der, (DWORD)len);
    OPENSSL_free(der);
    printf(ok ? "added\n" : "error: cannot add to ROOT (%lu)\n", (unsigned long)GetLastError());
    return ok ? 0 : 2;
}

/* Everything an attacker's openssl.cnf could ask of OpenSSL: the file named by
 * OPENSSL_CONF, the default initialisation, and an explicit load. The caller checks
 * that the DLL the file names left no marker. */
static int openssl_config(const char *cnf)
{
    _putenv_s("OPENSSL_CONF", cnf);
    int init = OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    int load = CONF_modules_load_file(cnf, NULL, 0);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    printf("init %d, load %d, context %s, config dir %s\n", init, load, ctx ? "made" : "not made",
           OPENSSL_info(OPENSSL_INFO_CONFIG_DIR));
    ERR_print_errors_fp(stdout);
    SSL_CTX_free(ctx);
    return 0;
}

static int load_dll(const char *path)
{
    wchar_t w[MAX_PATH];
    if (MultiByteToWideChar(CP_UTF8, 0, path, -1, w, MAX_PATH) <= 0)
        return 2;
    HMODULE m = LoadLibraryExW(w, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
    printf(m ? "loaded\n" : "error: not loaded (%lu)\n", (unsigned long)GetLastError());
    if (m)
        FreeLibrary(m);
    return m ? 0 : 2;
}

int main(int argc, char **argv)
{
    xb_plat_harden();
    if (argc >= 3 && strcmp(argv[1], "openssl-config") == 0)
        return openssl_config(argv[2]); /* before xb_plat_init: as hard as it gets */
    if (xb_plat_init() != 0)
        return 2;
    xb_log_set_level(XB_LOG_DEBUG);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc >= 4 && strcmp(argv[1], "mail") == 0)
        return probe_mail(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
    if (argc >= 3 && strcmp(argv[1], "https") == 0)
        return probe_https(argv[2], argc > 3 ? argv[3] : NULL);
    if (argc >= 3 && strcmp(argv[1], "add-root") == 0)
        return add_root(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "load-dll") == 0)
        return load_dll(argv[2]);
    fprintf(stderr, "usage: tls_probe mail HOST PORT [CA] | https URL [CA] | add-root PEM | "
                    "openssl-config CNF | load-dll DLL\n");
    return 2;
}
