/*
 * Sealing on Windows: DPAPI for the current user, with a fixed optional entropy so that
 * another program of this user calling CryptUnprotectData on our file without it does
 * not read it by accident. dir is not used: the key lives with the user's profile.
 *
 * DPAPI authenticates the encrypted data but not every byte of its blob (Wine, for one,
 * ignores changes to the header fields and to bytes appended after the blob). A store
 * that was changed at all must be refused, so the blob is framed and authenticated as a
 * whole with a key that only DPAPI can give back:
 *     "XBW1" | DPAPI( K (32 random bytes) | data ) | HMAC-SHA256(K, "XBW1" | DPAPI blob)
 */
#include "platform/platform.h"

#include <stdint.h>
#include <string.h>

#include <windows.h>
#include <wincrypt.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/log.h"
#include "core/mem.h"

#define MAGIC     "XBW1"
#define MAGIC_LEN 4
#define MAC_KEY   32
#define TAG_LEN   32

static const char entropy_text[] = "XOAuthBridge account store v1";

static DATA_BLOB entropy(void)
{
    DATA_BLOB b;
    b.cbData = (DWORD)(sizeof(entropy_text) - 1);
    b.pbData = (BYTE *)(uintptr_t)entropy_text;
    return b;
}

static enum xb_err frame_tag(const unsigned char key[MAC_KEY], const unsigned char *framed,
                             size_t len, unsigned char tag[TAG_LEN])
{
    unsigned int taglen = 0;
    if (!HMAC(EVP_sha256(), key, MAC_KEY, framed, len, tag, &taglen) || taglen != TAG_LEN)
        return XB_ERR_CRYPTO;
    return XB_OK;
}

enum xb_err xb_plat_seal(const char *dir, const void *in, size_t len, unsigned char **out,
                         size_t *outlen)
{
    enum xb_err rc;
    DATA_BLOB plain = { 0, NULL }, sealed = { 0, NULL }, ent = entropy();
    unsigned char *payload = NULL, *blob = NULL;
    size_t total = 0;

    (void)dir;
    *out = NULL;
    *outlen = 0;
    if (len > 0x7fffffffu - MAC_KEY)
        return XB_ERR_RANGE;
    payload = xb_new_array(unsigned char, len + MAC_KEY);
    if (!payload)
        return XB_ERR_NOMEM;
    rc = xb_plat_random(payload, MAC_KEY);
    if (rc != XB_OK)
        goto out;
    if (len)
        memcpy(payload + MAC_KEY, in, len);
    plain.cbData = (DWORD)(len + MAC_KEY);
    plain.pbData = payload;
    if (!CryptProtectData(&plain, L"XOAuth Bridge account store", &ent, NULL, NULL,
                          CRYPTPROTECT_UI_FORBIDDEN, &sealed)) {
        xb_log_error("sealing with DPAPI failed (error %lu)", (unsigned long)GetLastError());
        rc = XB_ERR_CRYPTO;
        goto out;
    }
    total = MAGIC_LEN + (size_t)sealed.cbData + TAG_LEN;
    blob = xb_new_array(unsigned char, total);
    if (!blob) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    memcpy(blob, MAGIC, MAGIC_LEN);
    memcpy(blob + MAGIC_LEN, sealed.pbData, sealed.cbData);
    rc = frame_tag(payload, blob, total - TAG_LEN, blob + total - TAG_LEN);
    if (rc != XB_OK)
        goto out;
    *out = blob;
    *outlen = total;
    blob = NULL;
out:
    if (sealed.pbData)
        LocalFree(sealed.pbData);
    xb_wipe(payload, len + MAC_KEY);
    xb_free(payload);
    xb_free(blob);
    return rc;
}

enum xb_err xb_plat_unseal(const char *dir, const void *in, size_t len, unsigned char **out,
                           size_t *outlen)
{
    enum xb_err rc = XB_ERR_CRYPTO;
    const unsigned char *framed = in;
    DATA_BLOB sealed, plain = { 0, NULL }, ent = entropy();
    unsigned char tag[TAG_LEN];
    unsigned char *copy = NULL;

    (void)dir;
    *out = NULL;
    *outlen = 0;
    if (len > 0x7fffffffu)
        return XB_ERR_RANGE;
    if (len <= MAGIC_LEN + TAG_LEN || memcmp(framed, MAGIC, MAGIC_LEN) != 0)
        return XB_ERR_CRYPTO;
    sealed.cbData = (DWORD)(len - MAGIC_LEN - TAG_LEN);
    sealed.pbData = (BYTE *)(uintptr_t)(framed + MAGIC_LEN);
    if (!CryptUnprotectData(&sealed, NULL, &ent, NULL, NULL, CRYPTPROTECT_UI_FORBIDDEN,
                            &plain)) {
        xb_log_debug("DPAPI refused to unseal (error %lu)", (unsigned long)GetLastError());
        return XB_ERR_CRYPTO;
    }
    if (plain.cbData < MAC_KEY)
        goto out;
    if (frame_tag(plain.pbData, framed, len - TAG_LEN, tag) != XB_OK ||
        CRYPTO_memcmp(tag, framed + len - TAG_LEN, TAG_LEN) != 0)
        goto out;
    size_t datalen = (size_t)plain.cbData - MAC_KEY;
    copy = xb_new_array(unsigned char, datalen + 1);
    if (!copy) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    if (datalen)
        memcpy(copy, plain.pbData + MAC_KEY, datalen);
    copy[datalen] = '\0';
    *out = copy;
    *outlen = datalen;
    rc = XB_OK;
out:
    xb_wipe(tag, sizeof(tag));
    SecureZeroMemory(plain.pbData, plain.cbData);
    LocalFree(plain.pbData);
    return rc;
}
