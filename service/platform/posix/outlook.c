/*
 * No Outlook on POSIX: nothing was ever bridged, so there is nothing to put back.
 */
#include "platform/platform.h"

#include <stdio.h>

enum xb_err xb_plat_outlook_restore(const char *email, unsigned *restored, unsigned *failed)
{
    (void)email;
    if (restored)
        *restored = 0;
    if (failed)
        *failed = 0;
    return XB_OK;
}

enum xb_err xb_plat_outlook_check(uint32_t pid, const char *program, char *why, size_t n)
{
    (void)pid;
    (void)program;
    snprintf(why, n, "there is no Outlook on this system");
    return XB_ERR_UNSUPPORTED;
}

enum xb_err xb_plat_outlook_relaunch(uint32_t pid, const char *program, const char *profile,
                                     unsigned wait_s)
{
    (void)pid;
    (void)program;
    (void)profile;
    (void)wait_s;
    return XB_ERR_UNSUPPORTED;
}
