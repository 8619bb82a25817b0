/*
 * Allocation: typed, overflow-checked, NULL on failure (callers return XB_ERR_NOMEM).
 * Secrets (tokens, local passwords) live in struct xb_secret, which wipes itself.
 */
#ifndef XB_MEM_H
#define XB_MEM_H

#include <stddef.h>

void *xb_calloc_array(size_t count, size_t size);
void *xb_realloc_array(void *ptr, size_t count, size_t size);
void xb_free(void *ptr);

#define xb_new(type)           ((type *)xb_calloc_array(1, sizeof(type)))
#define xb_new_array(type, n)  ((type *)xb_calloc_array((n), sizeof(type)))

/* Copies at most n bytes of s and terminates; NULL on failure. */
char *xb_strndup(const char *s, size_t n);
char *xb_strdup(const char *s);

#if defined(__GNUC__)
#define XB_MEM_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define XB_MEM_PRINTF(fmt, args)
#endif
/* The one way an error message is made for the caller: *errmsg (caller frees) becomes
 * the formatted text, unless errmsg is NULL or *errmsg is set already (the first, most
 * precise reason wins). Out of memory leaves it NULL. */
void xb_errmsg(char **errmsg, const char *fmt, ...) XB_MEM_PRINTF(2, 3);

/* Overwrites memory in a way the compiler may not remove. */
void xb_wipe(void *ptr, size_t len);
/* Wipes a NUL-terminated string, then frees it; NULL-safe. */
void xb_free_str_secret(char *s);

/* A secret value: the bytes are wiped when freed. Always NUL-terminated for
 * convenience; len excludes the terminator. */
struct xb_secret {
    size_t len;
    char *data;
};

struct xb_secret *xb_secret_new(const void *data, size_t len);
void xb_secret_free(struct xb_secret *s);

#endif
