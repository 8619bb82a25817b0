/*
 * No Outlook on POSIX: nothing was ever bridged, so there is nothing to put back.
 */
#include "platform/platform.h"

enum xb_err xb_plat_outlook_restore(const char *email, unsigned *restored, unsigned *failed)
{
    (void)email;
    if (restored)
        *restored = 0;
    if (failed)
        *failed = 0;
    return XB_OK;
}
