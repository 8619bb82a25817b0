#include "platform/platform.h"

#include <windows.h>
#include <bcrypt.h>

enum xb_err xb_plat_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ULONG chunk = len > 0x7fffffffu ? 0x7fffffffu : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, p, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return XB_ERR_IO;
        p += chunk;
        len -= chunk;
    }
    return XB_OK;
}
