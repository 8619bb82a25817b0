#include "platform/platform.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/utsname.h>

void xb_plat_harden(void)
{
}

const char *xb_plat_harden_gap(void)
{
    return NULL;
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
