/* What the add-in makes of its policy values: see addinpol.h. */
#include "core/addinpol.h"

#include <string.h>

struct reading {
    xb_addinpol_reader *read;
    xb_addinpol_ignored *ignored;
    void *arg;
};

static void ignore(const struct reading *r, const char *name, const char *why)
{
    if (r->ignored)
        r->ignored(r->arg, name, why);
}

/* HKLM, else HKCU: the first usable value; one of the wrong type or out of range is
 * ignored as if unset, as the companion does (config_policy.c). */
static bool dword(const struct reading *r, enum xb_policy_id id, uint32_t *out)
{
    const struct xb_policy *p = &xb_policies[id];
    char text[8];
    for (int hive = 0; hive < 2; hive++) {
        unsigned type = 0;
        uint32_t v = 0;
        if (!r->read(r->arg, hive, p->value, &type, &v, text, sizeof(text)))
            continue;
        if (type != XB_POLICY_DWORD)
            ignore(r, p->value, "not a REG_DWORD");
        else if (v < p->min || v > p->max)
            ignore(r, p->value, "out of range");
        else {
            *out = v;
            return true;
        }
    }
    return false;
}

static bool sz(const struct reading *r, enum xb_policy_id id, char *out, size_t n)
{
    const struct xb_policy *p = &xb_policies[id];
    for (int hive = 0; hive < 2; hive++) {
        unsigned type = 0;
        uint32_t v = 0;
        if (!r->read(r->arg, hive, p->value, &type, &v, out, n))
            continue;
        if (type != XB_POLICY_SZ)
            ignore(r, p->value, "not a REG_SZ");
        else if (xb_policy_text_chars(out) > p->max)
            ignore(r, p->value, "too long");
        else
            return true;
    }
    out[0] = '\0';
    return false;
}

void xb_addin_policy_decide(struct xb_addin_policy *pol, xb_addinpol_reader *read,
                            xb_addinpol_ignored *ignored, void *arg)
{
    const struct reading r = { read, ignored, arg };
    uint32_t v;
    memset(pol, 0, sizeof(*pol));
    pol->auto_fix = XB_AUTOFIX_ASK;
    pol->auto_fix_why = "not configured: the default";
    /* Group Policy Editor deletes AutoFix when the policy is set to Disabled and writes
     * AutoFixEnabled = 0 beside it: Disabled means off, never "the default". */
    if (dword(&r, XB_POL_AUTO_FIX_ENABLED, &v) && v == 0) {
        pol->auto_fix = XB_AUTOFIX_OFF;
        pol->auto_fix_why = "policy Disabled (AutoFixEnabled = 0)";
    } else if (dword(&r, XB_POL_AUTO_FIX, &v)) {
        pol->auto_fix = (enum xb_autofix)v;
        pol->auto_fix_why = "policy Enabled (AutoFix)";
    }
    if (dword(&r, XB_POL_MICROSOFT_ENABLED, &v))
        pol->microsoft = v != 0;
    sz(&r, XB_POL_ALLOWED_DOMAINS, pol->allowed_domains, sizeof(pol->allowed_domains));
    sz(&r, XB_POL_GOOGLE_HOSTS, pol->google_hosts, sizeof(pol->google_hosts));
}

const char *xb_autofix_name(enum xb_autofix a)
{
    return a == XB_AUTOFIX_OFF ? "off" : a == XB_AUTOFIX_AUTOMATIC ? "automatic" : "ask";
}
