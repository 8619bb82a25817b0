/*
 * Process entry on Windows: the wide command line becomes UTF-8 argv for the core.
 *
 * xoauthbridge.exe is a GUI-subsystem program (no console window flashes at logon): with
 * no arguments it is the tray (`tray`). The CLI verbs still print: a program like this
 * started from cmd.exe has no standard handles, so it borrows the console of the process
 * that started it (AttachConsole(ATTACH_PARENT_PROCESS)) and reopens stdout/stderr on it.
 * Handles that are already there (redirected to a file or a pipe: scripts, tests, Wine)
 * are kept as they are. cmd.exe does not wait for GUI programs: use `start /wait` or a
 * redirect when the output matters (docs/architecture.md).
 */
#include "cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "core/mem.h"
#include "platform/win32/wide.h"
#include "platform/platform.h"

int wmain(int argc, wchar_t **wargv);


static bool usable(DWORD which)
{
    HANDLE h = GetStdHandle(which);
    return h && h != INVALID_HANDLE_VALUE && GetFileType(h) != FILE_TYPE_UNKNOWN;
}

/* Returns the console code page to restore at exit, 0 if none was touched. */
static UINT attach_console(void)
{
    bool out = usable(STD_OUTPUT_HANDLE), err = usable(STD_ERROR_HANDLE);
    FILE *f;
    if ((!out || !err) && AttachConsole(ATTACH_PARENT_PROCESS)) {
        if (!out)
            freopen_s(&f, "CONOUT$", "w", stdout);
        if (!err)
            freopen_s(&f, "CONOUT$", "w", stderr);
        if (!usable(STD_INPUT_HANDLE))
            freopen_s(&f, "CONIN$", "r", stdin);
    }
    /* Japanese and other non-ASCII output reads right in a console; the console is the
     * parent's, so its code page is put back at exit. */
    UINT old = GetConsoleOutputCP();
    if (old && old != CP_UTF8 && SetConsoleOutputCP(CP_UTF8))
        return old;
    return 0;
}

int wmain(int argc, wchar_t **wargv)
{
    xb_plat_harden();
    /* Room for the implicit "tray" verb. */
    char **argv = xb_new_array(char *, (size_t)argc + 2);
    UINT restore_cp = 0;
    int rc = 1;
    if (!argv)
        goto out;
    for (int i = 0; i < argc; i++) {
        if (!(argv[i] = xb_win_utf8(wargv[i])))
            goto out;
    }
    int argn = argc;
    if (argn < 2 && !(argv[argn++] = xb_strdup("tray")))
        goto out;
    if (strcmp(argv[1], "tray") != 0)
        restore_cp = attach_console();
    if (xb_plat_init() != 0) {
        fprintf(stderr, "xoauthbridge: cannot initialise Windows sockets\n");
        goto out;
    }
    rc = xb_main(argn, argv);
out:
    fflush(stdout);
    fflush(stderr);
    if (restore_cp)
        SetConsoleOutputCP(restore_cp);
    if (argv) {
        for (int i = 0; i < argc + 1; i++)
            xb_free(argv[i]);
        xb_free(argv);
    }
    return rc;
}
