#include "platform/platform.h"

#include <winsock2.h>
#include <ws2tcpip.h>

void xb_plat_sock_nodelay(intptr_t fd)
{
    BOOL one = TRUE;
    if ((SOCKET)fd != INVALID_SOCKET)
        (void)setsockopt((SOCKET)fd, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof(one));
}

size_t xb_plat_sock_readable(intptr_t fd)
{
    u_long n = 0;
    if ((SOCKET)fd == INVALID_SOCKET || ioctlsocket((SOCKET)fd, FIONREAD, &n) != 0)
        return 0;
    return (size_t)n;
}
