/* Who is at the other end of an accepted loopback TCP connection (platform.h).
 * Windows: the TCP table with owning process ids gives the client's process, and its
 * token's user must be ours. Whatever Windows will not say (no table entry, a process
 * that cannot be opened or whose token cannot be read) is a refusal: another user could
 * arrange any of those (peerrule.h decides, with the reason). */
#include "platform/platform.h"
#include "platform/peerrule.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.S_un.S_un_b.s_b1 == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return false;
}

/* The process owning the client's end: local = peer, remote = self. 0 if not found. */
static DWORD owner_pid(const struct sockaddr_storage *peer, const struct sockaddr_storage *self)
{
    ULONG family = peer->ss_family, size = 0;
    DWORD pid = 0;
    void *table = NULL;
    for (int tries = 0; tries < 4; tries++) {
        DWORD rc = GetExtendedTcpTable(table, &size, FALSE, family,
                                       TCP_TABLE_OWNER_PID_CONNECTIONS, 0);
        if (rc == NO_ERROR)
            break;
        free(table);
        table = NULL;
        if (rc != ERROR_INSUFFICIENT_BUFFER || !(table = malloc(size + 4096)))
            return 0;
        size += 4096; /* connections come and go between the two calls */
    }
    if (!table)
        return 0;
    if (family == AF_INET) {
        const MIB_TCPTABLE_OWNER_PID *t = table;
        const struct sockaddr_in *p = (const struct sockaddr_in *)peer;
        const struct sockaddr_in *s = (const struct sockaddr_in *)self;
        for (DWORD i = 0; i < t->dwNumEntries && !pid; i++) {
            const MIB_TCPROW_OWNER_PID *r = &t->table[i];
            if (r->dwLocalAddr == p->sin_addr.s_addr && (u_short)r->dwLocalPort == p->sin_port &&
                r->dwRemoteAddr == s->sin_addr.s_addr && (u_short)r->dwRemotePort == s->sin_port)
                pid = r->dwOwningPid;
        }
    } else {
        const MIB_TCP6TABLE_OWNER_PID *t = table;
        const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)peer;
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)self;
        for (DWORD i = 0; i < t->dwNumEntries && !pid; i++) {
            const MIB_TCP6ROW_OWNER_PID *r = &t->table[i];
            if (memcmp(r->ucLocalAddr, &p->sin6_addr, 16) == 0 &&
                (u_short)r->dwLocalPort == p->sin6_port &&
                memcmp(r->ucRemoteAddr, &s->sin6_addr, 16) == 0 &&
                (u_short)r->dwRemotePort == s->sin6_port)
                pid = r->dwOwningPid;
        }
    }
    free(table);
    return pid;
}

/* The token user of a process, into buf; false if it cannot be read. */
static bool token_user(HANDLE process, unsigned char *buf, DWORD size)
{
    HANDLE tok;
    DWORD len = 0;
    if (!OpenProcessToken(process, TOKEN_QUERY, &tok))
        return false;
    bool ok = GetTokenInformation(tok, TokenUser, buf, size, &len) != 0;
    CloseHandle(tok);
    return ok;
}

int xb_plat_sock_peer_same_user(intptr_t fd, unsigned long *owner, char *why, size_t n)
{
    struct sockaddr_storage peer, self;
    int plen = sizeof(peer), slen = sizeof(self);
    struct xb_peer_facts f = { 0 };
    if (getpeername((SOCKET)fd, (struct sockaddr *)&peer, &plen) == 0 &&
        getsockname((SOCKET)fd, (struct sockaddr *)&self, &slen) == 0 &&
        peer.ss_family == self.ss_family)
        f.loopback = is_loopback(&peer);
    if (f.loopback)
        f.pid = owner_pid(&peer, &self);
    *owner = f.pid;
    f.self = f.pid && f.pid == GetCurrentProcessId();
    if (f.pid && !f.self) {
        /* A user's own processes let the user query them; another user's do not (their
         * DACL names that user, SYSTEM and administrators). Opened or not, only the
         * token's user proves whose it is. */
        HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)f.pid);
        f.opened = h != NULL;
        if (!h) {
            f.error = GetLastError();
            f.access_denied = f.error == ERROR_ACCESS_DENIED;
        } else {
            unsigned char a[256], b[256];
            f.token_read = token_user(h, a, sizeof(a)) &&
                           token_user(GetCurrentProcess(), b, sizeof(b));
            f.same_user = f.token_read && EqualSid(((TOKEN_USER *)(void *)a)->User.Sid,
                                                   ((TOKEN_USER *)(void *)b)->User.Sid);
            CloseHandle(h);
        }
    }
    return xb_peer_rule(&f, why, n);
}

bool xb_plat_port_holder(unsigned port, char *out, size_t n)
{
    ULONG size = 0;
    void *table = NULL;
    DWORD pid = 0;
    for (int tries = 0; tries < 4; tries++) {
        DWORD rc = GetExtendedTcpTable(table, &size, FALSE, AF_INET,
                                       TCP_TABLE_OWNER_PID_LISTENER, 0);
        if (rc == NO_ERROR)
            break;
        free(table);
        table = NULL;
        if (rc != ERROR_INSUFFICIENT_BUFFER || !(table = malloc(size + 4096)))
            return false;
        size += 4096;
    }
    if (!table)
        return false;
    const MIB_TCPTABLE_OWNER_PID *t = table;
    for (DWORD i = 0; i < t->dwNumEntries && !pid; i++) {
        if ((u_short)t->table[i].dwLocalPort == htons((u_short)port))
            pid = t->table[i].dwOwningPid;
    }
    free(table);
    if (!pid)
        return false;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!h) {
        snprintf(out, n, "process %lu of another user", (unsigned long)pid);
        return true;
    }
    wchar_t image[MAX_PATH];
    DWORD len = MAX_PATH;
    char name[MAX_PATH * 3] = "?";
    if (QueryFullProcessImageNameW(h, 0, image, &len)) {
        const wchar_t *base = wcsrchr(image, L'\\');
        WideCharToMultiByte(CP_UTF8, 0, base ? base + 1 : image, -1, name, sizeof(name), NULL,
                            NULL);
    }
    unsigned char a[256], b[256];
    bool mine = token_user(h, a, sizeof(a)) && token_user(GetCurrentProcess(), b, sizeof(b)) &&
                EqualSid(((TOKEN_USER *)(void *)a)->User.Sid, ((TOKEN_USER *)(void *)b)->User.Sid);
    CloseHandle(h);
    snprintf(out, n, "process %lu (%s)%s", (unsigned long)pid, name,
             mine ? "" : " of another user");
    return true;
}
