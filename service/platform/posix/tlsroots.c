#include "../platform.h"

#include <openssl/x509_vfy.h>

enum xb_err xb_plat_tls_system_roots(struct x509_store_st *store)
{
    /* Debian: /etc/ssl/certs via OpenSSL's built-in default directory and file. */
    return X509_STORE_set_default_paths(store) == 1 ? XB_OK : XB_ERR_TLS;
}
