/*
 * Who decides whether a server's certificate is trusted, on Windows: Windows itself.
 *
 * OpenSSL still does the TLS, but the chain the server sent is handed to Windows' chain
 * engine (CertGetCertificateChain, the server's certificates as the extra store) and
 * judged with the SSL policy and the host name (CertVerifyCertificateChainPolicy,
 * CERT_CHAIN_POLICY_SSL). So roots are fetched the way Windows fetches them (a fresh PC
 * may not hold Google's root until something asks), the Disallowed store and roots an
 * organisation pushes by Group Policy (a TLS inspection appliance's) count, and
 * revocation is checked as Windows checks it: a revoked certificate is refused; an
 * answer Windows could not get (offline CRL servers) is not held against the server,
 * as Windows' own browsers do (docs/decisions.md).
 *
 * OpenSSL's own verification runs only as a second opinion when the context's store
 * holds certificates, that is when [tls] ca_file added some (test CAs): the store starts
 * empty here, nothing is read from disk by OpenSSL. Verification is never off.
 */
#include "platform/platform.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* CERT_CHAIN_PARA with the timeout fields (Windows 2000 SP3 and later). */
#define CERT_CHAIN_PARA_HAS_EXTRA_FIELDS
#include <windows.h>
#include <wincrypt.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "core/log.h"

/* wininet.h's, which we do not need otherwise. */
#ifndef SECURITY_FLAG_IGNORE_CERT_CN_INVALID
#define SECURITY_FLAG_IGNORE_CERT_CN_INVALID 0x00001000
#endif
#ifndef SECURITY_FLAG_IGNORE_REVOCATION
#define SECURITY_FLAG_IGNORE_REVOCATION 0x00000080
#endif

/* How long Windows may spend fetching what it needs (intermediates, roots, revocation
 * lists) for one chain, in all. The event loop waits meanwhile; Windows caches what it
 * fetched, so this is paid once per machine, not per connection. */
#define XB_CHAIN_FETCH_MS 8000

/* What Windows' answers mean, in the words a log reader needs, and the nearest OpenSSL
 * verify error (what the rest of the program and libcurl report). */
static const struct {
    DWORD code;
    const char *name;
    const char *words;
    int x509;
} reasons[] = {
    { CERT_E_UNTRUSTEDROOT, "CERT_E_UNTRUSTEDROOT", "the chain ends in a root Windows does not trust",
      X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
    { CERT_E_CHAINING, "CERT_E_CHAINING", "Windows cannot build a chain to a trusted root",
      X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
    { CERT_E_EXPIRED, "CERT_E_EXPIRED", "a certificate has expired or is not yet valid",
      X509_V_ERR_CERT_HAS_EXPIRED },
    { CERT_E_CN_NO_MATCH, "CERT_E_CN_NO_MATCH", "the certificate is for another host name",
      X509_V_ERR_HOSTNAME_MISMATCH },
    { CERT_E_WRONG_USAGE, "CERT_E_WRONG_USAGE", "the certificate is not for TLS servers",
      X509_V_ERR_INVALID_PURPOSE },
    { CRYPT_E_REVOKED, "CRYPT_E_REVOKED", "a certificate has been revoked",
      X509_V_ERR_CERT_REVOKED },
    { TRUST_E_EXPLICIT_DISTRUST, "TRUST_E_EXPLICIT_DISTRUST",
      "a certificate is in the Disallowed store", X509_V_ERR_CERT_REJECTED },
    { TRUST_E_CERT_SIGNATURE, "TRUST_E_CERT_SIGNATURE", "a signature in the chain is invalid",
      X509_V_ERR_CERT_SIGNATURE_FAILURE },
    { CERT_E_UNTRUSTEDTESTROOT, "CERT_E_UNTRUSTEDTESTROOT", "the chain ends in a test root",
      X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
    { CERT_E_VALIDITYPERIODNESTING, "CERT_E_VALIDITYPERIODNESTING",
      "validity periods in the chain do not nest", X509_V_ERR_CERT_HAS_EXPIRED },
    { CERT_E_CRITICAL, "CERT_E_CRITICAL", "a critical extension is not understood",
      X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION },
    { CERT_E_INVALID_NAME, "CERT_E_INVALID_NAME", "a name in the chain is not permitted",
      X509_V_ERR_PERMITTED_VIOLATION },
    { CERT_E_INVALID_POLICY, "CERT_E_INVALID_POLICY", "a certificate policy is not valid",
      X509_V_ERR_INVALID_POLICY_EXTENSION },
    { TRUST_E_BASIC_CONSTRAINTS, "TRUST_E_BASIC_CONSTRAINTS",
      "a certificate that is not a CA signed another", X509_V_ERR_INVALID_CA },
    { CRYPT_E_REVOCATION_OFFLINE, "CRYPT_E_REVOCATION_OFFLINE",
      "revocation could not be checked", X509_V_ERR_UNABLE_TO_GET_CRL },
};

static void describe(DWORD code, char *buf, size_t size, int *x509)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].code == code) {
            snprintf(buf, size, "%s (%s, 0x%08lX)", reasons[i].words, reasons[i].name,
                     (unsigned long)code);
            *x509 = reasons[i].x509;
            return;
        }
    snprintf(buf, size, "Windows refused the chain (0x%08lX)", (unsigned long)code);
    *x509 = X509_V_ERR_APPLICATION_VERIFICATION;
}

/* Trust errors of a chain that nothing may accept, as the policy error Windows' base
 * policy gives for each. Not among them: CERT_TRUST_IS_NOT_TIME_NESTED (ignored by
 * Windows' SSL policy as well), CERT_TRUST_REVOCATION_STATUS_UNKNOWN and
 * CERT_TRUST_IS_OFFLINE_REVOCATION (revocation could not be checked: soft fail). */
static DWORD status_refusal(DWORD status)
{
    static const struct {
        DWORD bits;
        DWORD code;
    } map[] = {
        { CERT_TRUST_IS_REVOKED, (DWORD)CRYPT_E_REVOKED },
        { CERT_TRUST_IS_EXPLICIT_DISTRUST, (DWORD)TRUST_E_EXPLICIT_DISTRUST },
        { CERT_TRUST_IS_NOT_SIGNATURE_VALID, (DWORD)TRUST_E_CERT_SIGNATURE },
        { CERT_TRUST_IS_UNTRUSTED_ROOT, (DWORD)CERT_E_UNTRUSTEDROOT },
        { CERT_TRUST_IS_PARTIAL_CHAIN | CERT_TRUST_IS_CYCLIC, (DWORD)CERT_E_CHAINING },
        { CERT_TRUST_IS_NOT_TIME_VALID, (DWORD)CERT_E_EXPIRED },
        { CERT_TRUST_IS_NOT_VALID_FOR_USAGE, (DWORD)CERT_E_WRONG_USAGE },
        { CERT_TRUST_INVALID_BASIC_CONSTRAINTS, (DWORD)TRUST_E_BASIC_CONSTRAINTS },
        { CERT_TRUST_INVALID_NAME_CONSTRAINTS | CERT_TRUST_HAS_NOT_SUPPORTED_NAME_CONSTRAINT |
              CERT_TRUST_HAS_NOT_DEFINED_NAME_CONSTRAINT |
              CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT | CERT_TRUST_HAS_EXCLUDED_NAME_CONSTRAINT,
          (DWORD)CERT_E_INVALID_NAME },
        { CERT_TRUST_INVALID_POLICY_CONSTRAINTS | CERT_TRUST_NO_ISSUANCE_CHAIN_POLICY,
          (DWORD)CERT_E_INVALID_POLICY },
        { CERT_TRUST_INVALID_EXTENSION | CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT,
          (DWORD)CERT_E_CRITICAL },
    };
    const DWORD allowed = CERT_TRUST_IS_NOT_TIME_NESTED | CERT_TRUST_REVOCATION_STATUS_UNKNOWN |
                          CERT_TRUST_IS_OFFLINE_REVOCATION;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (status & map[i].bits)
            return map[i].code;
    /* Any other error bit (CTL errors, weak signatures, bits newer than this code). */
    return (status & ~allowed) ? (DWORD)CERT_E_CHAINING : 0;
}

/* The certificate as Windows holds it; NULL (logged) if Windows cannot read it. */
static const CERT_CONTEXT *to_windows(X509 *x, HCERTSTORE extra)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    const CERT_CONTEXT *cc = NULL;
    if (len <= 0)
        return NULL;
    if (extra)
        CertAddEncodedCertificateToStore(extra, X509_ASN_ENCODING, der, (DWORD)len,
                                         CERT_STORE_ADD_USE_EXISTING, &cc);
    else
        cc = CertCreateCertificateContext(X509_ASN_ENCODING, der, (DWORD)len);
    OPENSSL_free(der);
    return cc;
}

/* Windows' judgement of the chain the server sent, for host (NULL for an IP address,
 * which OpenSSL checks). 0 trusted, else Windows' error code. */
static DWORD windows_judges(X509 *leaf, STACK_OF(X509) *sent, const char *host)
{
    HCERTSTORE extra = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, CERT_STORE_CREATE_NEW_FLAG, NULL);
    const CERT_CONTEXT *end = NULL;
    const CERT_CHAIN_CONTEXT *chain = NULL;
    DWORD result = CERT_E_CHAINING;
    wchar_t whost[256];

    if (!extra)
        return GetLastError() ? GetLastError() : (DWORD)E_FAIL;
    if (!(end = to_windows(leaf, NULL))) {
        xb_log_warn("tls: Windows cannot read the server's certificate (0x%08lX): refused",
                    (unsigned long)GetLastError());
        goto out;
    }
    /* Everything else the server sent may help build the chain; one Windows cannot read
     * is left out (and can only make the chain fail, never pass). */
    for (int i = 0; i < sk_X509_num(sent); i++) {
        X509 *x = sk_X509_value(sent, i);
        const CERT_CONTEXT *c;
        if (x == leaf)
            continue;
        if ((c = to_windows(x, extra)) != NULL)
            CertFreeCertificateContext(c);
        else
            xb_log_warn("tls: certificate %d of the server's chain is unreadable to Windows "
                        "(0x%08lX): left out", i, (unsigned long)GetLastError());
    }

    static const char *const server_auth[] = { szOID_PKIX_KP_SERVER_AUTH };
    CERT_CHAIN_PARA para;
    memset(&para, 0, sizeof(para));
    para.cbSize = sizeof(para);
    para.RequestedUsage.dwType = USAGE_MATCH_TYPE_AND;
    para.RequestedUsage.Usage.cUsageIdentifier = 1;
    para.RequestedUsage.Usage.rgpszUsageIdentifier = (LPSTR *)(uintptr_t)server_auth;
    para.dwUrlRetrievalTimeout = XB_CHAIN_FETCH_MS;
    DWORD flags = CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT | CERT_CHAIN_CACHE_END_CERT |
                  CERT_CHAIN_REVOCATION_ACCUMULATIVE_TIMEOUT;
    if (!CertGetCertificateChain(NULL, end, NULL, extra, &para, flags, NULL, &chain)) {
        result = GetLastError() ? GetLastError() : (DWORD)CERT_E_CHAINING;
        goto out;
    }

    SSL_EXTRA_CERT_CHAIN_POLICY_PARA ssl;
    memset(&ssl, 0, sizeof(ssl));
    ssl.cbSize = sizeof(ssl);
    ssl.dwAuthType = AUTHTYPE_SERVER;
    /* Revocation that could not be checked is not an error (soft fail, as Windows' own
     * browsers); a revoked certificate is, by the chain's status below. */
    ssl.fdwChecks = SECURITY_FLAG_IGNORE_REVOCATION;
    if (host) {
        if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, host, -1, whost,
                                (int)(sizeof(whost) / sizeof(whost[0]))) <= 0) {
            result = (DWORD)CERT_E_INVALID_NAME;
            goto out;
        }
        ssl.pwszServerName = whost;
    } else {
        ssl.fdwChecks |= SECURITY_FLAG_IGNORE_CERT_CN_INVALID; /* an IP: OpenSSL checks it */
    }
    CERT_CHAIN_POLICY_PARA pp;
    memset(&pp, 0, sizeof(pp));
    pp.cbSize = sizeof(pp);
    pp.dwFlags = CERT_CHAIN_POLICY_IGNORE_ALL_REV_UNKNOWN_FLAGS;
    pp.pvExtraPolicyPara = &ssl;
    CERT_CHAIN_POLICY_STATUS ps;
    memset(&ps, 0, sizeof(ps));
    ps.cbSize = sizeof(ps);
    if (!CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL, chain, &pp, &ps))
        result = GetLastError() ? GetLastError() : (DWORD)CERT_E_CHAINING;
    else
        result = ps.dwError;
    xb_log_debug("tls: Windows' chain for %s: %lu element(s), trust errors 0x%08lX, SSL "
                 "policy 0x%08lX", host ? host : "an IP address",
                 chain->cChain ? (unsigned long)chain->rgpChain[0]->cElement : 0UL,
                 (unsigned long)chain->TrustStatus.dwErrorStatus, (unsigned long)result);
    /* Fail closed: whatever the policy said, an error in the chain Windows built is a
     * refusal (some implementations' SSL policy lets a chain that reaches no root pass),
     * except not knowing about revocation, which Windows' own browsers accept too. */
    if (result == 0)
        result = status_refusal(chain->TrustStatus.dwErrorStatus);
out:
    if (chain)
        CertFreeCertificateChain(chain);
    if (end)
        CertFreeCertificateContext(end);
    CertCloseStore(extra, 0);
    return result;
}

/* The last refusal, for the notification that follows it (xb_plat_tls_refusal). The
 * companion verifies on its one loop thread, libcurl's transfers included. */
static struct {
    char host[256];
    char why[200];
} last_refusal;

bool xb_plat_tls_refusal(const char *host, char *buf, size_t size)
{
    if (!host || strcmp(host, last_refusal.host) != 0 || !last_refusal.why[0])
        return false;
    snprintf(buf, size, "%s", last_refusal.why);
    return true;
}

/* Replaces OpenSSL's chain verification for every connection of the context. */
static int verify_cb(X509_STORE_CTX *xs, void *arg)
{
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(xs);
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);
    const char *host = X509_VERIFY_PARAM_get0_host(param, 0);
    char *ip = NULL;
    if (!host) {
        /* Without an IP either, OpenSSL queues an error that must not reach the caller. */
        ERR_set_mark();
        ip = X509_VERIFY_PARAM_get1_ip_asc(param);
        ERR_pop_to_mark();
    }
    char why[200];
    int x509 = X509_V_ERR_APPLICATION_VERIFICATION;
    int ok = 0;
    (void)arg;

    if (!leaf || (!host && !ip)) {
        /* Nothing to check the certificate against: a mistake of ours, refused. */
        xb_log_warn("tls: no host name to check the server's certificate against: refused");
        X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
        goto out;
    }
    const char *name = host ? host : ip;
    DWORD code = windows_judges(leaf, X509_STORE_CTX_get0_untrusted(xs), host);
    if (code == 0 && ip && X509_check_ip_asc(leaf, ip, 0) != 1) {
        code = (DWORD)CERT_E_CN_NO_MATCH;
    }
    if (code == 0) {
        xb_log_debug("tls: Windows trusts the certificate of %s", name);
        X509_STORE_CTX_set_error(xs, X509_V_OK);
        ok = 1;
        goto out;
    }
    describe(code, why, sizeof(why), &x509);
    /* Certificates added by [tls] ca_file (test CAs) are OpenSSL's to judge. */
    X509_STORE *store = X509_STORE_CTX_get0_store(xs);
    STACK_OF(X509_OBJECT) *objs = store ? X509_STORE_get0_objects(store) : NULL;
    if (objs && sk_X509_OBJECT_num(objs) > 0) {
        if (X509_verify_cert(xs) == 1) {
            xb_log_debug("tls: %s: Windows: %s; trusted through ca_file", name, why);
            ok = 1;
            goto out;
        }
    }
    xb_log_warn("tls: Windows does not trust the certificate of %s: %s", name, why);
    snprintf(last_refusal.host, sizeof(last_refusal.host), "%s", name);
    snprintf(last_refusal.why, sizeof(last_refusal.why), "%s", why);
    X509_STORE_CTX_set_error(xs, x509);
out:
    OPENSSL_free(ip);
    return ok;
}

enum xb_err xb_plat_tls_trust(struct ssl_ctx_st *ctx)
{
    SSL_CTX_set_cert_verify_callback(ctx, verify_cb, NULL);
    return XB_OK;
}
