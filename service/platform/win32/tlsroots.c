/* OpenSSL does not read the Windows certificate store: copy its trusted roots. */
#include "../platform.h"

#include <windows.h>
#include <wincrypt.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

enum xb_err xb_plat_tls_system_roots(struct x509_store_st *store)
{
    HCERTSTORE sys = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                                   CERT_SYSTEM_STORE_CURRENT_USER | CERT_STORE_READONLY_FLAG,
                                   L"ROOT");
    if (!sys)
        return XB_ERR_TLS;
    unsigned added = 0;
    const CERT_CONTEXT *cc = NULL;
    while ((cc = CertEnumCertificatesInStore(sys, cc)) != NULL) {
        const unsigned char *der = cc->pbCertEncoded;
        X509 *x = d2i_X509(NULL, &der, (long)cc->cbCertEncoded);
        if (!x)
            continue; /* a certificate OpenSSL cannot parse is simply not trusted */
        if (X509_STORE_add_cert(store, x) == 1)
            added++;
        X509_free(x);
    }
    CertCloseStore(sys, 0);
    return added ? XB_OK : XB_ERR_TLS;
}
