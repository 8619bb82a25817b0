/*
 * What the Outlook add-in makes of its Group Policy values (AutoFix, AutoFixEnabled,
 * MicrosoftEnabled, AllowedDomains, GoogleMailHosts: include/xoauthbridge/policy.h).
 * One owner for the reading rules (HKLM before HKCU, type and range) and the decision,
 * two callers: the add-in each time Outlook starts (addin/policy.c, reading the registry
 * itself), and `xoauthbridge config`, which shows an administrator the same decision from
 * the same values (front/showconfig.c). Portable, no <windows.h>.
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

/* One raw value: hive 0 is the machine's (HKLM), 1 the user's (HKCU). true when it is
 * there: *type its registry type (XB_POLICY_DWORD, XB_POLICY_SZ or another), *dword the
 * number of a DWORD, text (size bytes) the UTF-8 of an SZ (false if it does not fit). */
typedef bool xb_addinpol_reader(void *arg, int hive, const char *name, unsigned *type,
                                uint32_t *dword, char *text, size_t size);
/* Told of a value that is there and ignored (why: static English); may be NULL. */
typedef void xb_addinpol_ignored(void *arg, const char *name, const char *why);

void xb_addin_policy_decide(struct xb_addin_policy *pol, xb_addinpol_reader *read,
                            xb_addinpol_ignored *ignored, void *arg);

/* "off", "ask", "automatic". */
const char *xb_autofix_name(enum xb_autofix a);

#endif
