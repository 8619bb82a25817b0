#include "platform/platform.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>

void xb_plat_harden(void)
{
}

const char *xb_plat_harden_gap(void)
{
    return NULL;
}

#ifdef __linux__
/* One mapping of /proc/self/smaps, as far as dropping its pages goes. */
struct vma {
    uintptr_t start, end;
    bool file_ro;                      /* a file's, private, not writable */
    unsigned long private_kib;         /* Anonymous + Swap: copies of its own */
};

static void drop_if_clean(const struct vma *v)
{
    if (v->file_ro && v->private_kib == 0 && v->end > v->start)
        (void)madvise((void *)v->start, v->end - v->start, MADV_DONTNEED);
}

/* The pages of code and read-only data mapped since start (libcrypto alone is 4 MB of
 * them: the kernel maps 64 KiB around every page touched) are dropped from the
 * process: they stay in the page cache, and the next use maps them again with minor
 * faults (docs/performance.md, "Idle memory"). Only mappings of a file that are not
 * writable and hold no page of their own (Anonymous and Swap 0, which leaves out the
 * relocated pages the loader made read-only): every page of those reads back exactly
 * as the file has it, which is what it holds now. */
static void drop_file_pages(void)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return;
    char line[512];
    struct vma v = { 0 };
    bool at_start = true; /* this read begins a line (a longer one comes in pieces) */
    while (fgets(line, sizeof(line), f)) {
        bool whole = strchr(line, '\n') != NULL;
        bool begins = at_start;
        at_start = whole;
        if (!begins)
            continue;
        if (line[0] >= 'A' && line[0] <= 'Z') {
            /* "Anonymous:    12 kB", "Swap:    0 kB" */
            if (strncmp(line, "Anonymous:", 10) == 0)
                v.private_kib += strtoul(line + 10, NULL, 10);
            else if (strncmp(line, "Swap:", 5) == 0)
                v.private_kib += strtoul(line + 5, NULL, 10);
            continue;
        }
        /* "7f01c2a00000-7f01c2b00000 r-xp 00000000 08:01 1234   /usr/lib/...": the
         * mapping before it is complete. Anything else ends the whole attempt. */
        char *dash, *end;
        uintptr_t start = (uintptr_t)strtoull(line, &dash, 16);
        uintptr_t stop = *dash == '-' ? (uintptr_t)strtoull(dash + 1, &end, 16) : 0;
        if (*dash != '-' || *end != ' ' || stop <= start || (start | stop) % 4096 ||
            strlen(end) < 6 || end[5] != ' ') {
            v.file_ro = false;
            break;
        }
        drop_if_clean(&v);
        const char *perms = end + 1;
        v = (struct vma){ .start = start, .end = stop };
        v.file_ro = whole && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' &&
                    strstr(perms, " /") != NULL;
    }
    drop_if_clean(&v);
    fclose(f);
}
#endif

void xb_plat_mem_trim(void)
{
#ifdef __linux__
    drop_file_pages();
#endif
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
