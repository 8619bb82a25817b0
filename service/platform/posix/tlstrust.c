/*
 * Who decides whether a server's certificate is trusted, on POSIX: OpenSSL, against the
 * system's roots. The Linux daemon uses the system's OpenSSL, whose configuration and
 * default paths are the administrator's (docs/decisions.md).
 */
#include "platform/platform.h"

#include <stdbool.h>
#include <sys/stat.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "core/log.h"

enum xb_err xb_plat_tls_trust(struct ssl_ctx_st *ctx)
{
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    /* The hashed directory (/etc/ssl/certs on Debian) is read lazily, one certificate per
     * lookup: a mostly idle companion does not keep ~150 parsed roots in memory. The
     * bundle file is the fallback where there is no such directory. */
    const char *dir = X509_get_default_cert_dir();
    struct stat st;
    if (dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && X509_STORE_load_path(store, dir) == 1)
        return XB_OK;
    if (X509_STORE_set_default_paths(store) == 1)
        return XB_OK;
    xb_log_warn("tls: no system root certificates found in '%s'; only ca_file is trusted",
                dir ? dir : "(none)");
    return XB_ERR_TLS;
}

bool xb_plat_tls_refusal(const char *host, char *buf, size_t size)
{
    (void)host;
    (void)buf;
    (void)size;
    return false; /* OpenSSL's own words are what there is */
}
