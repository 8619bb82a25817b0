#include "platform/platform.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

enum xb_err xb_plat_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        /* getrandom() returns at most 32 MiB per call and may be interrupted. */
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return XB_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return XB_OK;
}
