#include "core/mem.h"

#include <stdio.h>

#include <stdarg.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void *xb_calloc_array(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    if (count == 0 || size == 0)
        count = size = 1; /* a valid, unique pointer for empty arrays */
    return calloc(count, size);
}

void *xb_realloc_array(void *ptr, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    size_t bytes = count * size;
    return realloc(ptr, bytes ? bytes : 1);
}

void xb_free(void *ptr)
{
    free(ptr);
}

char *xb_strndup(const char *s, size_t n)
{
    size_t len = 0;
    while (len < n && s[len])
        len++;
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *xb_strdup(const char *s)
{
    return xb_strndup(s, SIZE_MAX);
}

void xb_errmsg(char **errmsg, const char *fmt, ...)
{
    va_list ap;
    if (!errmsg || *errmsg)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *msg = xb_new_array(char, (size_t)n + 1);
    if (!msg)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *errmsg = msg;
}

void xb_wipe(void *ptr, size_t len)
{
    if (ptr && len)
        OPENSSL_cleanse(ptr, len);
}

void xb_free_str_secret(char *s)
{
    if (!s)
        return;
    xb_wipe(s, strlen(s));
    free(s);
}

struct xb_secret *xb_secret_new(const void *data, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    struct xb_secret *s = xb_new(struct xb_secret);
    if (!s)
        return NULL;
    s->data = malloc(len + 1);
    if (!s->data) {
        free(s);
        return NULL;
    }
    if (len)
        memcpy(s->data, data, len);
    s->data[len] = '\0';
    s->len = len;
    return s;
}

void xb_secret_free(struct xb_secret *s)
{
    if (!s)
        return;
    xb_wipe(s->data, s->len + 1);
    free(s->data);
    free(s);
}
