/* What the add-in makes of its policy values: see addinpol.h. */
#include "core/addinpol.h"

#include <string.h>

void xb_addin_policy_decide(struct xb_addin_policy *pol, xb_addinpol_dword *dword,
                            xb_addinpol_sz *sz, void *arg)
{
    uint32_t v;
    memset(pol, 0, sizeof(*pol));
    pol->auto_fix = XB_AUTOFIX_ASK;
    pol->auto_fix_why = "not configured: the default";
    /* Group Policy Editor deletes AutoFix when the policy is set to Disabled and writes
     * AutoFixEnabled = 0 beside it: Disabled means off, never "the default". */
    if (dword(arg, XB_POL_AUTO_FIX_ENABLED, &v) && v == 0) {
        pol->auto_fix = XB_AUTOFIX_OFF;
        pol->auto_fix_why = "policy Disabled (AutoFixEnabled = 0)";
    } else if (dword(arg, XB_POL_AUTO_FIX, &v)) {
        pol->auto_fix = (enum xb_autofix)v;
        pol->auto_fix_why = "policy Enabled (AutoFix)";
    }
    if (dword(arg, XB_POL_MICROSOFT_ENABLED, &v))
        pol->microsoft = v != 0;
    if (!sz(arg, XB_POL_ALLOWED_DOMAINS, pol->allowed_domains, sizeof(pol->allowed_domains)))
        pol->allowed_domains[0] = '\0';
    if (!sz(arg, XB_POL_GOOGLE_HOSTS, pol->google_hosts, sizeof(pol->google_hosts)))
        pol->google_hosts[0] = '\0';
}

const char *xb_autofix_name(enum xb_autofix a)
{
    return a == XB_AUTOFIX_OFF ? "off" : a == XB_AUTOFIX_AUTOMATIC ? "automatic" : "ask";
}
