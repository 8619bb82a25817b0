/*
 * What the Outlook add-in makes of its Group Policy values (AutoFix, AutoFixEnabled,
 * MicrosoftEnabled, AllowedDomains, GoogleMailHosts: include/xoauthbridge/policy.h).
 * One owner for the decision, two readers: the add-in reads the registry itself each time
 * Outlook starts (addin/policy.c), and `xoauthbridge config` shows an administrator the
 * same decision from the same values (front/showconfig.c). Portable, no <windows.h>.
 */
#ifndef XB_ADDINPOL_H
#define XB_ADDINPOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xoauthbridge/policy.h"

enum xb_autofix {
    XB_AUTOFIX_OFF = 0,        /* never bridge; failures are only reported */
    XB_AUTOFIX_ASK = 1,        /* report; bridge once the person signed in from the tray */
    XB_AUTOFIX_AUTOMATIC = 2,  /* start the sign-in as soon as a Gmail login fails */
};

struct xb_addin_policy {
    enum xb_autofix auto_fix;
    const char *auto_fix_why;        /* static English: which value decided */
    bool microsoft;
    char allowed_domains[2048 * 3];
    char google_hosts[2048 * 3];     /* more host names that are Gmail's (GoogleMailHosts) */
};

/* One value as the reader found it, HKLM before HKCU, of the right type and in
 * xb_policies[id]'s range (the reader logs what it ignores): true and *out / out. */
typedef bool xb_addinpol_dword(void *arg, enum xb_policy_id id, uint32_t *out);
typedef bool xb_addinpol_sz(void *arg, enum xb_policy_id id, char *out, size_t n);

void xb_addin_policy_decide(struct xb_addin_policy *pol, xb_addinpol_dword *dword,
                            xb_addinpol_sz *sz, void *arg);

/* "off", "ask", "automatic". */
const char *xb_autofix_name(enum xb_autofix a);

#endif
