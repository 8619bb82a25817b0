#include "../platform.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

void xb_plat_sock_nodelay(intptr_t fd)
{
    int one = 1;
    if (fd >= 0)
        (void)setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
