/*
 * The control channel's client on POSIX: a Unix stream socket, the server's uid checked
 * with SO_PEERCRED before a byte is sent, blocking I/O bounded by poll().
 */
#define _GNU_SOURCE 1   /* struct ucred */

#include "platform/ctlclient.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static bool instance_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > XB_CTL_INSTANCE_MAX)
        return false;
    for (; *s; s++)
        if (!xb_ctl_instance_char_ok((unsigned char)*s))
            return false;
    return true;
}

enum xb_err xb_ctl_endpoint_name(char *buf, size_t size)
{
    const char *inst = getenv("XB_CTL_NAME");
    const char *run = getenv("XDG_RUNTIME_DIR");
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char suffix[XB_CTL_INSTANCE_MAX + 2] = "";
    int n;

    if (size)
        buf[0] = '\0';
    if (inst && *inst) {
        if (!instance_ok(inst))
            return XB_ERR_INVAL;
        snprintf(suffix, sizeof(suffix), "-%s", inst);
    }
    /* Relative values are ignored, as the XDG spec says. */
    if (run && run[0] == '/')
        n = snprintf(buf, size, "%s/xoauthbridge%s.sock", run, suffix);
    else if (state && state[0] == '/')
        n = snprintf(buf, size, "%s/xoauthbridge/ctl%s.sock", state, suffix);
    else if (home && home[0] == '/')
        n = snprintf(buf, size, "%s/.local/state/xoauthbridge/ctl%s.sock",
                     strcmp(home, "/") == 0 ? "" : home, suffix);
    else
        return XB_ERR_NOTFOUND;
    if (n < 0 || (size_t)n >= size ||
        (size_t)n >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
        if (size)
            buf[0] = '\0';
        return XB_ERR_RANGE;
    }
    return XB_OK;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. */
static enum xb_err wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return XB_ERR_TEMP;
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return XB_OK;
        if (r < 0 && errno != EINTR)
            return XB_ERR_NET;
    }
}

enum xb_err xb_ctl_client_connect(struct xb_ctl_client *c, unsigned timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    enum xb_err err;
    int fd = -1;

    c->h = -1;
    err = xb_ctl_endpoint_name(sa.sun_path, sizeof(sa.sun_path));
    if (err != XB_OK)
        return err;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return XB_ERR_NET;
    /* A full backlog makes connect wait: bound it. */
    struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        err = e == ENOENT || e == ECONNREFUSED || e == ENOTDIR ? XB_ERR_NOTFOUND
              : e == EACCES || e == EPERM                      ? XB_ERR_AUTH
              : e == EAGAIN || e == EINPROGRESS || e == ETIMEDOUT ? XB_ERR_TEMP
                                                                : XB_ERR_NET;
        goto out;
    }
    /* Who is at the other end: our own uid, or nobody we talk to. */
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
        err = XB_ERR_NET;
        goto out;
    }
    if (cred.uid != geteuid()) {
        err = XB_ERR_AUTH;
        goto out;
    }
    c->h = fd;
    fd = -1;
    err = XB_OK;
out:
    if (fd >= 0)
        close(fd);
    return err;
}

/* Sends or receives exactly len bytes by the deadline: XB_ERR_TEMP when it passes,
 * XB_ERR_NET when the peer is gone. */
static enum xb_err io_exact(int fd, unsigned char *p, size_t len, long long deadline, bool out)
{
    while (len > 0) {
        enum xb_err err = wait_fd(fd, out ? POLLOUT : POLLIN, deadline);
        if (err != XB_OK)
            return err;
        ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT)
                        : recv(fd, p, len, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0)
            return XB_ERR_NET;
        p += n;
        len -= (size_t)n;
    }
    return XB_OK;
}

enum xb_err xb_ctl_client_send(struct xb_ctl_client *c, const void *frame, size_t len,
                               unsigned timeout_ms)
{
    if (c->h < 0)
        return XB_ERR_INVAL;
    /* send() does not write through p: the cast only lets both directions share a loop. */
    return io_exact((int)c->h, (unsigned char *)(uintptr_t)frame, len, now_ms() + timeout_ms,
                    true);
}

uint64_t xb_ctl_client_clock_ms(void)
{
    return (uint64_t)now_ms();
}

enum xb_err xb_ctl_client_read_exact(struct xb_ctl_client *c, void *buf, size_t len,
                                     uint64_t deadline_ms)
{
    if (c->h < 0)
        return XB_ERR_INVAL;
    return io_exact((int)c->h, buf, len, (long long)deadline_ms, false);
}

void xb_ctl_client_close(struct xb_ctl_client *c)
{
    if (c && c->h >= 0) {
        close((int)c->h);
        c->h = -1;
    }
}
