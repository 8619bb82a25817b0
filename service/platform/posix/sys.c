#include "platform/platform.h"

#include <errno.h>
#include <signal.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/resource.h>
#include <sys/utsname.h>

void xb_plat_harden(void)
{
}

const char *xb_plat_harden_gap(void)
{
    return NULL;
}

void xb_plat_mem_trim(void)
{
#ifdef __GLIBC__
    (void)malloc_trim(0);
#endif
}

int xb_plat_init(void)
{
    struct sigaction sa = { .sa_handler = SIG_IGN };
    /* Two descriptors per proxied session: take every descriptor the hard limit allows
     * (the soft limit is often 1,024, too few for 1,000 sessions). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
#ifdef __GLIBC__
    /* The relay's buffers come and go by the hundred per second in a bulk transfer. With
     * glibc's defaults (trim above 128 KiB free at the top, dynamic), every free gave the
     * top of the heap back (brk) and the next read faulted it in again, zeroed: 9,000
     * page faults and a third of the proxy's system time per 64 MiB POP3 RETR (measured,
     * docs/performance.md). Keep up to 2 MiB free at the top, and serve blocks up to
     * 1 MiB from the heap rather than mmap. Fixed values also stop glibc's threshold
     * from drifting upward with the traffic. */
    (void)mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024);
    (void)mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    /* One arena: the loop is the one thread that allocates, but each token request to a
     * named host runs libcurl's resolver on a short-lived thread, whose own arena (and
     * what it touched) would outlive it. */
    (void)mallopt(M_ARENA_MAX, 1);
#endif
    return sigaction(SIGPIPE, &sa, NULL);
}

void xb_plat_err_save(struct xb_errsave *save)
{
    save->err = errno;
    save->sys = 0;
}

void xb_plat_err_restore(const struct xb_errsave *save)
{
    errno = save->err;
}

int xb_plat_gmtime(time_t t, struct tm *out)
{
    return gmtime_r(&t, out) ? 0 : -1;
}

const char *xb_plat_name(void)
{
#if defined(__linux__) && defined(__x86_64__)
    return "linux x86_64";
#elif defined(__linux__) && defined(__aarch64__)
    return "linux aarch64";
#elif defined(__linux__)
    return "linux";
#else
    return "posix";
#endif
}
