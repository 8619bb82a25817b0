/*
 * The Group Policy values the add-in acts on (include/xoauthbridge/policy.h): what to
 * do with a Gmail account that fails (AutoFix), which domains may be bridged
 * (AllowedDomains), whether Microsoft 365 accounts count (MicrosoftEnabled); what they
 * mean together is core/addinpol.c's. HKLM wins over HKCU; a value of the wrong type or
 * out of range is ignored, as the companion does. Read once per Outlook start.
 */
#include "addin.h"

#include <stdio.h>
#include <string.h>

#include "xoauthbridge/policy.h"

/* The value from HKLM, else HKCU; false if neither has a usable one. */
static bool read_dword(enum xb_policy_id id, DWORD *out)
{
    const struct xb_policy *p = &xb_policies[id];
    static const HKEY roots[] = { HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER };
    for (size_t i = 0; i < ARRAYSIZE(roots); i++) {
        DWORD v = 0, size = sizeof(v), type = 0;
        if (RegGetValueA(roots[i], XB_POLICY_KEY, p->value, RRF_RT_ANY, &type, &v, &size) !=
                ERROR_SUCCESS || type != REG_DWORD || size != sizeof(v))
            continue;
        if (v < p->min || v > p->max) {
            xb_addin_log("policy %s = %lu is out of range %u..%u: ignored", p->value,
                         (unsigned long)v, p->min, p->max);
            continue;
        }
        *out = v;
        return true;
    }
    return false;
}

static bool read_sz(enum xb_policy_id id, char *out, size_t n)
{
    const struct xb_policy *p = &xb_policies[id];
    static const HKEY roots[] = { HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER };
    for (size_t i = 0; i < ARRAYSIZE(roots); i++) {
        wchar_t w[2048];
        DWORD size = sizeof(w), type = 0;
        wchar_t name[64];
        MultiByteToWideChar(CP_UTF8, 0, p->value, -1, name, ARRAYSIZE(name));
        if (RegGetValueW(roots[i], L"" XB_POLICY_KEY, name, RRF_RT_REG_SZ, &type, w,
                         &size) != ERROR_SUCCESS)
            continue;
        if (wcslen(w) > p->max) {
            xb_addin_log("policy %s is longer than %u characters: ignored", p->value, p->max);
            continue;
        }
        if (WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)n, NULL, NULL) > 0)
            return true;
    }
    if (n)
        out[0] = '\0';
    return false;
}

static bool dword_of(void *arg, enum xb_policy_id id, uint32_t *out)
{
    (void)arg;
    DWORD v;
    if (!read_dword(id, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool sz_of(void *arg, enum xb_policy_id id, char *out, size_t n)
{
    (void)arg;
    return read_sz(id, out, n);
}

void xb_addin_policy_read(struct xb_addin_policy *pol)
{
    xb_addin_policy_decide(pol, dword_of, sz_of, NULL);
}
