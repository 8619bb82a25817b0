#include "platform/platform.h"

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
