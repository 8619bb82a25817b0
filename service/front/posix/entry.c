/* Process entry on POSIX: argv is already UTF-8 (we assume a UTF-8 locale). */
#include <stdio.h>

#include "cli.h"
#include "platform/platform.h"

int main(int argc, char **argv)
{
    xb_plat_harden();
    if (xb_plat_init() != 0) {
        fprintf(stderr, "xoauthbridge: cannot initialise the process\n");
        return 1;
    }
    return xb_main(argc, argv);
}
