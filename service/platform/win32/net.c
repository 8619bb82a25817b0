#include "platform/platform.h"

#include <limits.h>

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

ptrdiff_t xb_plat_sock_recv(intptr_t fd, void *buf, size_t len)
{
    int n = recv((SOCKET)fd, (char *)buf, len > INT_MAX ? INT_MAX : (int)len, 0);
    if (n >= 0)
        return n;
    return WSAGetLastError() == WSAEWOULDBLOCK ? -1 : -2;
}
