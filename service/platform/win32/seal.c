/*
 * Sealing on Windows: DPAPI for the current user. The blob carries its own integrity
 * check; a changed blob, or one sealed by another user or on another machine, does
 * not unprotect. The fixed entropy keeps other programs of this user that call
 * CryptUnprotectData on our file without it from reading it by accident.
 * dir is not used: the key lives with the user's profile.
 */
#include "../platform.h"

#include <stdint.h>
#include <string.h>

#include <windows.h>
#include <wincrypt.h>

#include "../../core/log.h"
#include "../../core/mem.h"

static const char entropy_text[] = "XOAuthBridge account store v1";

static DATA_BLOB entropy(void)
{
    DATA_BLOB b;
    b.cbData = (DWORD)(sizeof(entropy_text) - 1);
    b.pbData = (BYTE *)(uintptr_t)entropy_text;
    return b;
}

/* Copies a DPAPI result into our own allocation, wiping and freeing the original. */
static enum xb_err take_blob(DATA_BLOB *blob, unsigned char **out, size_t *outlen)
{
    unsigned char *copy = xb_new_array(unsigned char, (size_t)blob->cbData + 1);
    if (copy) {
        if (blob->cbData)
            memcpy(copy, blob->pbData, blob->cbData);
        copy[blob->cbData] = '\0';
        *out = copy;
        *outlen = blob->cbData;
    }
    SecureZeroMemory(blob->pbData, blob->cbData);
    LocalFree(blob->pbData);
    blob->pbData = NULL;
    return copy ? XB_OK : XB_ERR_NOMEM;
}

enum xb_err xb_plat_seal(const char *dir, const void *in, size_t len, unsigned char **out,
                         size_t *outlen)
{
    DATA_BLOB plain, sealed = { 0, NULL }, ent = entropy();

    (void)dir;
    *out = NULL;
    *outlen = 0;
    if (len > 0x7fffffffu)
        return XB_ERR_RANGE;
    plain.cbData = (DWORD)len;
    plain.pbData = (BYTE *)(uintptr_t)in;
    if (!CryptProtectData(&plain, L"XOAuth Bridge account store", &ent, NULL, NULL,
                          CRYPTPROTECT_UI_FORBIDDEN, &sealed)) {
        xb_log_error("sealing with DPAPI failed (error %lu)", (unsigned long)GetLastError());
        return XB_ERR_CRYPTO;
    }
    return take_blob(&sealed, out, outlen);
}

enum xb_err xb_plat_unseal(const char *dir, const void *in, size_t len, unsigned char **out,
                           size_t *outlen)
{
    DATA_BLOB sealed, plain = { 0, NULL }, ent = entropy();

    (void)dir;
    *out = NULL;
    *outlen = 0;
    if (len > 0x7fffffffu)
        return XB_ERR_RANGE;
    if (len == 0)
        return XB_ERR_CRYPTO;
    sealed.cbData = (DWORD)len;
    sealed.pbData = (BYTE *)(uintptr_t)in;
    if (!CryptUnprotectData(&sealed, NULL, &ent, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN,
                            &plain)) {
        xb_log_debug("DPAPI refused to unseal (error %lu)", (unsigned long)GetLastError());
        return XB_ERR_CRYPTO;
    }
    return take_blob(&plain, out, outlen);
}
