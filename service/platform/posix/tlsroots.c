#include "../platform.h"

#include <sys/stat.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

enum xb_err xb_plat_tls_system_roots(struct x509_store_st *store)
{
    /* The hashed directory (/etc/ssl/certs on Debian) is read lazily, one certificate per
     * lookup: a mostly idle companion does not keep ~150 parsed roots in memory. The
     * bundle file is the fallback where there is no such directory. */
    const char *dir = X509_get_default_cert_dir();
    struct stat st;
    if (dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && X509_STORE_load_path(store, dir) == 1)
        return XB_OK;
    return X509_STORE_set_default_paths(store) == 1 ? XB_OK : XB_ERR_TLS;
}
