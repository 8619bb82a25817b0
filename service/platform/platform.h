/*
 * The platform layer: what the portable core needs from the operating system.
 * Implemented in platform/posix/ and platform/win32/ with the same file names;
 * CMake picks the folder. Nothing here mentions a platform type.
 */
#ifndef XB_PLATFORM_H
#define XB_PLATFORM_H

#include <stddef.h>
#include <time.h>

#include "../core/err.h"

/* rand.c: bytes from the operating system's CSPRNG (getrandom / BCryptGenRandom). */
enum xb_err xb_plat_random(void *buf, size_t len);

/* sys.c: the thread's last error (errno, and GetLastError on Windows), saved and
 * restored around code that must not disturb it, such as logging. */
struct xb_errsave {
    int err;
    unsigned long sys;
};
void xb_plat_err_save(struct xb_errsave *save);
void xb_plat_err_restore(const struct xb_errsave *save);

/* sys.c: broken-down UTC time; returns 0 on success. */
int xb_plat_gmtime(time_t t, struct tm *out);

/* sys.c: "linux x86_64", "windows x64" ... for --version and logs. */
const char *xb_plat_name(void);

#endif
