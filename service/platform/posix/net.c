#include "platform/platform.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

void xb_plat_sock_nodelay(intptr_t fd)
{
    int one = 1;
    if (fd >= 0)
        (void)setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

size_t xb_plat_sock_readable(intptr_t fd)
{
    int n = 0;
    if (fd < 0 || ioctl((int)fd, FIONREAD, &n) != 0 || n < 0)
        return 0;
    return (size_t)n;
}

ptrdiff_t xb_plat_sock_recv(intptr_t fd, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv((int)fd, buf, len > INT_MAX ? INT_MAX : len, 0);
        if (n >= 0)
            return (ptrdiff_t)n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
    }
}
