/*
 * The companion's side of Outlook's accounts: putting back what the add-in changed
 * (RESTORE over the pipe, `xoauthbridge restore`, uninstall). The work is olbridge.c's,
 * shared with the add-in.
 */
#include "platform/platform.h"

#include "platform/win32/olprofile.h"

enum xb_err xb_plat_outlook_restore(const char *email, unsigned *restored, unsigned *failed)
{
    return xb_ol_restore_email(email, restored, failed);
}
