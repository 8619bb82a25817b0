/* Who is at the other end of an accepted loopback TCP connection (platform.h).
 * Linux: the kernel's socket diagnostics (NETLINK_SOCK_DIAG) look up the client's own
 * socket by its four-tuple and give its owner's uid; ss(8) does the same. */
#include "platform/platform.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <pwd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifdef __linux__
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* The client's socket: source = its address and port, destination = ours. */
static void fill_id(struct inet_diag_sockid *id, const struct sockaddr_storage *peer,
                    const struct sockaddr_storage *self)
{
    memset(id, 0, sizeof(*id));
    if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *p = (const struct sockaddr_in *)peer;
        const struct sockaddr_in *s = (const struct sockaddr_in *)self;
        id->idiag_sport = p->sin_port;
        id->idiag_dport = s->sin_port;
        memcpy(id->idiag_src, &p->sin_addr, 4);
        memcpy(id->idiag_dst, &s->sin_addr, 4);
    } else {
        const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)peer;
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)self;
        id->idiag_sport = p->sin6_port;
        id->idiag_dport = s->sin6_port;
        memcpy(id->idiag_src, &p->sin6_addr, 16);
        memcpy(id->idiag_dst, &s->sin6_addr, 16);
    }
    id->idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    id->idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

int xb_plat_sock_peer_same_user(intptr_t fd, unsigned long *owner, char *why, size_t whylen)
{
    struct sockaddr_storage peer, self;
    socklen_t plen = sizeof(peer), slen = sizeof(self);
    if (getpeername((int)fd, (struct sockaddr *)&peer, &plen) != 0 ||
        getsockname((int)fd, (struct sockaddr *)&self, &slen) != 0 ||
        peer.ss_family != self.ss_family || !is_loopback(&peer))
        return -1;

    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } q;
    memset(&q, 0, sizeof(q));
    q.nlh.nlmsg_len = sizeof(q);
    q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    q.nlh.nlmsg_flags = NLM_F_REQUEST;
    q.req.sdiag_family = (unsigned char)peer.ss_family;
    q.req.sdiag_protocol = IPPROTO_TCP;
    q.req.idiag_states = ~0u;
    fill_id(&q.req.id, &peer, &self);

    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return -1;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    int result = -1;
    union {
        struct nlmsghdr h;
        char buf[1024];
    } r;
    if (sendto(nl, &q, sizeof(q), 0, (struct sockaddr *)&kernel, sizeof(kernel)) ==
        (ssize_t)sizeof(q)) {
        ssize_t n;
        do
            n = recv(nl, &r, sizeof(r), 0);
        while (n < 0 && errno == EINTR);
        if (n >= (ssize_t)NLMSG_LENGTH(sizeof(struct inet_diag_msg)) &&
            r.h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            const struct inet_diag_msg *m = NLMSG_DATA(&r.h);
            *owner = m->idiag_uid;
            result = m->idiag_uid == (unsigned)geteuid();
            if (!result)
                snprintf(why, whylen, "uid %u is another user", (unsigned)m->idiag_uid);
        }
    }
    close(nl);
    return result;
}

#else /* other POSIX systems: no portable way to ask */

int xb_plat_sock_peer_same_user(intptr_t fd, unsigned long *owner, char *why, size_t n)
{
    (void)fd;
    (void)owner;
    (void)why;
    (void)n;
    return -1;
}

#endif

/* /proc/net/tcp and tcp6: "sl local rem st tx:rx tr:when retrnsmt uid ...", addresses as
 * HEX:PORT, state 0A listening. */
bool xb_plat_port_holder(unsigned port, char *out, size_t n)
{
    static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        FILE *fp = fopen(files[f], "re");
        char line[512];
        if (!fp)
            continue;
        while (fgets(line, sizeof(line), fp)) {
            /* Fields by whitespace: 1 local, 3 state, 7 uid. */
            const char *field[8] = { NULL };
            size_t nf = 0;
            for (char *p = line; *p && nf < 8;) {
                while (*p == ' ' || *p == '\t')
                    *p++ = '\0';
                if (!*p || *p == '\n')
                    break;
                field[nf++] = p;
                while (*p && *p != ' ' && *p != '\t' && *p != '\n')
                    p++;
                if (*p == '\n')
                    *p = '\0';
            }
            if (nf < 8 || strcmp(field[3], "0A") != 0)
                continue;
            const char *colon = strrchr(field[1], ':');
            char *end = NULL;
            unsigned long uidl = strtoul(field[7], &end, 10);
            if (!colon || strtoul(colon + 1, NULL, 16) != port || end == field[7])
                continue;
            unsigned uid = (unsigned)uidl;
            fclose(fp);
            const struct passwd *pw = getpwuid((uid_t)uid);
            snprintf(out, n, "a program of uid %u (%s)%s", uid, pw ? pw->pw_name : "?",
                     uid == (unsigned)geteuid() ? "" : ", another user");
            return true;
        }
        fclose(fp);
    }
    return false;
}
