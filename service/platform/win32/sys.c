#include "../platform.h"

#include <errno.h>
#include <winsock2.h>
#include <windows.h>

int xb_plat_init(void)
{
    WSADATA wsa;
    return WSAStartup(MAKEWORD(2, 2), &wsa) == 0 ? 0 : -1;
}

void xb_plat_err_save(struct xb_errsave *save)
{
    save->sys = GetLastError();
    save->err = errno;
}

void xb_plat_err_restore(const struct xb_errsave *save)
{
    errno = save->err;
    SetLastError((DWORD)save->sys);
}

int xb_plat_gmtime(time_t t, struct tm *out)
{
    return gmtime_s(out, &t) == 0 ? 0 : -1;
}

const char *xb_plat_name(void)
{
#if defined(_WIN64)
    return "windows x64";
#else
    return "windows x86";
#endif
}
