#include "platform/platform.h"

#include <errno.h>
#include <winsock2.h>
#include <windows.h>

#include <openssl/crypto.h>

/* Before anything else: DLLs that Windows or a library loads at run time come from
 * System32 only, never from the current directory, PATH or the program's folder by a
 * bare name (a user can write to many of those). SetDefaultDllDirectories is Windows 8
 * and later, and Windows 7 with KB2533623: looked up rather than imported, so that an
 * unpatched Windows 7 still starts, with the current directory at least taken out. Also:
 * SearchPath never looks in the current directory first, and heap corruption ends the
 * process instead of letting it run on. */
static const char *harden_gap;

void xb_plat_harden(void)
{
    typedef BOOL(WINAPI * set_dirs_fn)(DWORD);
    typedef BOOL(WINAPI * set_mode_fn)(DWORD);
    HMODULE k32 = GetModuleHandleW(L"kernel32.dll"); /* always loaded: loads nothing */
    set_dirs_fn set_dirs = k32 ? (set_dirs_fn)(void *)GetProcAddress(k32, "SetDefaultDllDirectories")
                               : NULL;
    if (!set_dirs || !set_dirs(LOAD_LIBRARY_SEARCH_SYSTEM32)) {
        SetDllDirectoryW(L"");
        harden_gap = "DLLs may still load from the program's folder and PATH: this Windows "
                     "lacks SetDefaultDllDirectories (install KB2533623 on Windows 7)";
    }
    set_mode_fn set_mode = k32 ? (set_mode_fn)(void *)GetProcAddress(k32, "SetSearchPathMode") : NULL;
    if (set_mode)
        set_mode(BASE_SEARCH_PATH_ENABLE_SAFE_SEARCHMODE | BASE_SEARCH_PATH_PERMANENT);
    HeapSetInformation(NULL, HeapEnableTerminationOnCorruption, NULL, 0);
}

const char *xb_plat_harden_gap(void)
{
    return harden_gap;
}

void xb_plat_mem_trim(void)
{
}

int xb_plat_init(void)
{
    WSADATA wsa;
    /* OpenSSL reads no configuration file, ever: a file at a path any user could create
     * could load code into this process (the build also has no-autoload-config and no
     * engines or modules; docs/decisions.md). */
    if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1)
        return -1;
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
