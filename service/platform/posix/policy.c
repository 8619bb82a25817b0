/* Group Policy is a Windows thing: on POSIX no value is ever set (platform.h). */
#include "platform/platform.h"

enum xb_err xb_plat_policy_read(enum xb_policy_hive hive, const char *name,
                                struct xb_policy_raw *out)
{
    (void)hive;
    (void)name;
    out->type = 0;
    out->dword = 0;
    out->sz = NULL;
    return XB_ERR_NOTFOUND;
}

enum xb_err xb_plat_policy_list(enum xb_policy_hive hive, const char *subkey,
                                void (*each)(void *ctx, const char *name, const char *text),
                                void *ctx)
{
    (void)hive;
    (void)subkey;
    (void)each;
    (void)ctx;
    return XB_ERR_NOTFOUND;
}
