/*
 * Reading a whole file of known size, the part that is the same on every platform
 * (platform/<os>/file.c opens the file, checks what it is and gives its size and a read
 * function).
 */
#ifndef XB_READALL_H
#define XB_READALL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Reads up to size + 1 bytes with read(ctx, buf, want) (bytes read, 0 at the end, -1 on
 * an error): one byte more than the size notices a file that grows while it is read
 * (files here are replaced by rename, never written in place; XB_ERR_IO, logged with
 * path). XB_ERR_RANGE when size is above max. *data is NUL-terminated after its *len
 * bytes; on failure nothing is returned and what was read is wiped. */
enum xb_err xb_read_all(const char *path, uint64_t size, size_t max,
                        long (*read)(void *ctx, void *buf, size_t want), void *ctx,
                        unsigned char **data, size_t *len);

#endif
