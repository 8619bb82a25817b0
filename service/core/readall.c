#include "core/readall.h"

#include "core/log.h"
#include "core/mem.h"

enum xb_err xb_read_all(const char *path, uint64_t size, size_t max,
                        long (*read)(void *ctx, void *buf, size_t want), void *ctx,
                        unsigned char **data, size_t *len)
{
    enum xb_err rc = XB_ERR_IO;
    size_t used = 0;
    *data = NULL;
    *len = 0;
    if (max >= SIZE_MAX - 1 || size > max)
        return XB_ERR_RANGE;
    size_t fsize = (size_t)size;
    unsigned char *buf = xb_new_array(unsigned char, fsize + 2);
    if (!buf)
        return XB_ERR_NOMEM;
    for (;;) {
        long n = read(ctx, buf + used, fsize + 1 - used);
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > fsize) {
            xb_log_warn("%s changed while it was being read", path);
            goto out;
        }
    }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    buf = NULL;
    rc = XB_OK;
out:
    if (buf) {
        xb_wipe(buf, used);
        xb_free(buf);
    }
    return rc;
}
