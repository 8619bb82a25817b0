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

/* One raw value as addinpol.h asks for it: the rules (HKLM first, type, range) are the
 * core's. Software\Policies is shared between the 32- and 64-bit views. */
static bool read_raw(void *arg, int hive, const char *name, unsigned *type, uint32_t *dword,
                     char *text, size_t size)
{
    (void)arg;
    HKEY root = hive == 0 ? HKEY_LOCAL_MACHINE : HKEY_CURRENT_USER;
    wchar_t wname[64], w[2048];
    DWORD t = 0, bytes = sizeof(w);
    MultiByteToWideChar(CP_UTF8, 0, name, -1, wname, ARRAYSIZE(wname));
    LONG rc = RegGetValueW(root, L"" XB_POLICY_KEY, wname, RRF_RT_ANY | RRF_NOEXPAND, &t, w,
                           &bytes);
    if (rc == ERROR_MORE_DATA) {
        xb_addin_log("policy %s is too long: ignored", name);
        return false;        /* longer than any policy: as if unset */
    }
    if (rc != ERROR_SUCCESS)
        return false;
    *type = t;
    if (t == REG_DWORD && bytes == sizeof(DWORD)) {
        memcpy(dword, w, sizeof(DWORD));
    } else if (t == REG_SZ) {
        w[ARRAYSIZE(w) - 1] = L'\0';
        if (WideCharToMultiByte(CP_UTF8, 0, w, -1, text, (int)size, NULL, NULL) <= 0)
            return false;
    } else if (t == REG_DWORD) {
        *type = 0;           /* a DWORD of the wrong size: not a usable DWORD */
    }
    return true;
}

static void ignored(void *arg, const char *name, const char *why)
{
    (void)arg;
    xb_addin_log("policy %s is %s: ignored", name, why);
}

void xb_addin_policy_read(struct xb_addin_policy *pol)
{
    xb_addin_policy_decide(pol, read_raw, ignored, NULL);
}
