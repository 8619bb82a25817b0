/* Process entry on Windows: the wide command line becomes UTF-8 argv for the core. */
#include "../../cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#include "../../core/mem.h"
#include "../platform.h"

int wmain(int argc, wchar_t **wargv);

int wmain(int argc, wchar_t **wargv)
{
    char **argv = xb_new_array(char *, (size_t)argc + 1);
    int rc = 1;
    if (!argv)
        goto out;
    for (int i = 0; i < argc; i++) {
        int n = WideCharToMultiByte(CP_UTF8, 0, wargv[i], -1, NULL, 0, NULL, NULL);
        if (n <= 0 || !(argv[i] = xb_new_array(char, (size_t)n)))
            goto out;
        WideCharToMultiByte(CP_UTF8, 0, wargv[i], -1, argv[i], n, NULL, NULL);
    }
    if (xb_plat_init() != 0) {
        fprintf(stderr, "xoauthbridge: cannot initialise Windows sockets\n");
        goto out;
    }
    /* Japanese and other non-ASCII output reads right in a console. */
    SetConsoleOutputCP(CP_UTF8);
    rc = xb_main(argc, argv);
out:
    if (argv) {
        for (int i = 0; i < argc; i++)
            xb_free(argv[i]);
        xb_free(argv);
    }
    return rc;
}
