#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static char *join(const char *base, const char *rest)
{
    size_t n = strlen(base) + strlen(rest) + 1;
    char *s = xb_new_array(char, n);
    if (s)
        snprintf(s, n, "%s%s", base, rest);
    return s;
}

enum xb_err xb_plat_default_state_dir(char **out)
{
    *out = NULL;
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        *out = join(xdg, "/xoauthbridge");
    else if (home && home[0] == '/')
        *out = join(strcmp(home, "/") == 0 ? "" : home, "/.local/state/xoauthbridge");
    else
        return XB_ERR_NOTFOUND;
    return *out ? XB_OK : XB_ERR_NOMEM;
}

enum xb_err xb_plat_default_config_file(char **out)
{
    /* POSIX daemons name their file (--config, $XB_CONFIG); there is no implicit one. */
    *out = NULL;
    return XB_ERR_NOTFOUND;
}
