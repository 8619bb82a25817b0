/*
 * The Group Policy contract: every value an administrator can set under
 * Software\Policies\XOAuthBridge (XB_POLICY_KEY, in HKLM and in HKCU), its registry
 * type, and the companion configuration key (docs/config.md) that it overrides.
 *
 * This table is the one place these names live. installer/policy/XOAuthBridge.admx offers
 * exactly these values (the test msi.policy checks both directions), and both readers take
 * names, types and ranges from here: the companion (service/core/config_policy.c) reads
 * every value when it starts; the add-in (addin/policy.c) reads AutoFix, AllowedDomains
 * and MicrosoftEnabled itself, each time Outlook starts.
 *
 * Precedence, per value: HKLM policy, then HKCU policy, then the INI file, then the
 * built-in default. A value of the wrong registry type or outside its range is ignored
 * (and logged) as if it were not set. Registry value names are case-insensitive.
 *
 * Plain C, no <windows.h>: the add-in, the companion and the POSIX build include it.
 */
#ifndef XOAUTHBRIDGE_POLICY_H
#define XOAUTHBRIDGE_POLICY_H

#include <stddef.h>

#include "xoauthbridge/names.h" /* XB_POLICY_KEY */

/* Registry types, with the numbers of REG_SZ and REG_DWORD so that Windows code can
 * compare them with what RegQueryValueEx returns. */
#define XB_POLICY_SZ    1u
#define XB_POLICY_DWORD 4u
/* Not a registry type: a subkey of XB_POLICY_KEY named .value whose REG_SZ values are
 * the entries (value name: the entry's name; data: its text), as an ADMX <list
 * explicitValue="true"> writes it. */
#define XB_POLICY_LIST  0x100u

/* Indices into xb_policies[]; code names a policy by these, never by a bare string. */
enum xb_policy_id {
    XB_POL_GOOGLE_CLIENT_ID,
    XB_POL_GOOGLE_CLIENT_SECRET,
    XB_POL_MICROSOFT_CLIENT_ID,
    XB_POL_MICROSOFT_CLIENT_SECRET,
    XB_POL_MICROSOFT_ENABLED,
    XB_POL_ALLOWED_DOMAINS,
    XB_POL_GOOGLE_HOSTS,
    XB_POL_AUTO_FIX,
    XB_POL_AUTO_FIX_ENABLED,
    XB_POL_GOOGLE_DOMAIN_CLIENTS,
    XB_POL_PORT_RANGE,
    XB_POL_PORT_RANGE_START,
    XB_POL_PORT_RANGE_END,
    XB_POL_WEB_PROXY,
    XB_POL_LOG_LEVEL,
    XB_POL_COUNT
};

struct xb_policy {
    const char *value;   /* registry value name under XB_POLICY_KEY */
    unsigned type;       /* XB_POLICY_SZ or XB_POLICY_DWORD */
    const char *section; /* the companion config section it overrides ... */
    const char *key;     /* ... and the key in that section */
    /* XB_POLICY_DWORD: the accepted range, inclusive.
     * XB_POLICY_SZ: min 0, max the longest value accepted, in characters. */
    unsigned min, max;
    /* NULL: an SZ value is free text, a DWORD is the config value as a decimal number.
     * Otherwise '|'-separated words: an SZ must be one of them (any case); a DWORD n
     * (min..max) stands for the n-th word (from 0), which is the config value. */
    const char *choices;
    /* 1: the companion's config has no such key (it logs the policy as set and not
     * used): the add-in reads the value itself (AutoFix, AllowedDomains,
     * MicrosoftEnabled: addin/policy.c).
     * unit.policy checks the flag against the config parser. */
    int new_key;
};

static const struct xb_policy xb_policies[XB_POL_COUNT] = {
    /* --- Sign-in: each organisation registers its own OAuth clients ---------------- */
    [XB_POL_GOOGLE_CLIENT_ID] = {
        .value = "GoogleClientId", .type = XB_POLICY_SZ,
        .section = "provider.google", .key = "client_id", .min = 0, .max = 255,
    },
    [XB_POL_GOOGLE_CLIENT_SECRET] = {
        .value = "GoogleClientSecret", .type = XB_POLICY_SZ,
        .section = "provider.google", .key = "client_secret", .min = 0, .max = 255,
    },
    [XB_POL_MICROSOFT_CLIENT_ID] = {
        .value = "MicrosoftClientId", .type = XB_POLICY_SZ,
        .section = "provider.microsoft", .key = "client_id", .min = 0, .max = 255,
    },
    [XB_POL_MICROSOFT_CLIENT_SECRET] = {
        .value = "MicrosoftClientSecret", .type = XB_POLICY_SZ,
        .section = "provider.microsoft", .key = "client_secret", .min = 0, .max = 255,
    },
    /* Read by the add-in: 1 and its classifier also counts Microsoft 365 accounts as
     * its own; 0 or unset, it leaves them alone. */
    [XB_POL_MICROSOFT_ENABLED] = {
        .value = "MicrosoftEnabled", .type = XB_POLICY_DWORD,
        .section = "provider.microsoft", .key = "enabled", .min = 0, .max = 1,
        .choices = "no|yes", .new_key = 1,
    },
    /* --- Accounts -------------------------------------------------------------------- */
    /* Comma-separated mail domains (spaces around commas ignored, any case, exact match:
     * no wildcards, a subdomain is listed on its own). Read by the add-in: only accounts
     * whose address is in one of them are bridged; the sign-in itself is not limited.
     * Unset or empty: any domain. */
    [XB_POL_ALLOWED_DOMAINS] = {
        .value = "AllowedDomains", .type = XB_POLICY_SZ,
        .section = "general", .key = "allowed_domains", .min = 0, .max = 2047,
        .new_key = 1,
    },
    /* Read by the add-in: more mail server names (comma-separated, exact, any case) whose
     * accounts are Google's, besides *.gmail.com and *.googlemail.com: for organisations
     * whose Outlook profiles name Gmail through a host name of their own. */
    [XB_POL_GOOGLE_HOSTS] = {
        .value = "GoogleMailHosts", .type = XB_POLICY_SZ,
        .section = "general", .key = "google_hosts", .min = 0, .max = 2047,
        .new_key = 1,
    },
    /* Read by the add-in: what it does with a Gmail account that fails to sign in:
     * nothing, ask the user first (the default), or start the sign-in at once and then
     * bridge it. Google's consent page always needs the user. */
    [XB_POL_AUTO_FIX] = {
        .value = "AutoFix", .type = XB_POLICY_DWORD,
        .section = "general", .key = "auto_fix", .min = 0, .max = 2,
        .choices = "off|ask|automatic", .new_key = 1,
    },
    /* The same policy's Enabled (1) or Disabled (0), which the ADMX writes beside the
     * mode because Group Policy Editor deletes an element's value when a policy is set to
     * Disabled: 0 means off whatever AutoFix says (Disabled means off, not "the
     * default"). Not set (templates before 0.2 wrote AutoFix alone): AutoFix decides. */
    [XB_POL_AUTO_FIX_ENABLED] = {
        .value = "AutoFixEnabled", .type = XB_POLICY_DWORD,
        .section = "general", .key = "auto_fix_enabled", .min = 0, .max = 1,
        .choices = "no|yes", .new_key = 1,
    },
    /* --- Sign-in by domain: staff and students in separate Workspace tenants ---------- */
    /* One entry per mail domain: value name the domain (any case, exact), data
     * "client_id=ID; client_secret=SECRET; hosted_domain=DOMAIN" (client_id required).
     * An address in that domain signs in, refreshes and is revoked with that client and
     * hosted domain instead of [provider.google]'s (config_policy.c). .max: the longest
     * entry's text, in characters. */
    [XB_POL_GOOGLE_DOMAIN_CLIENTS] = {
        .value = "GoogleDomainClients", .type = XB_POLICY_LIST,
        .section = "provider.google", .key = "domain_client", .min = 0, .max = 1023,
    },
    /* --- Network: the loopback ports each user's companion may listen on ------------- */
    /* Per-user ports on a shared machine: each user's companion takes one slot of the
     * range (one port per listener), kept from one start to the next (proxy.c). One
     * policy, "Local port range", writes the three values: PortRange 1 (Enabled) or 0
     * (Disabled: no range, the fixed *_listen ports, even if the file sets a range). */
    [XB_POL_PORT_RANGE] = {
        .value = "PortRange", .type = XB_POLICY_DWORD,
        .section = "proxy", .key = "port_range", .min = 0, .max = 1, .choices = "no|yes",
    },
    [XB_POL_PORT_RANGE_START] = {
        .value = "PortRangeStart", .type = XB_POLICY_DWORD,
        .section = "proxy", .key = "port_range_start", .min = 1024, .max = 65535,
    },
    [XB_POL_PORT_RANGE_END] = {
        .value = "PortRangeEnd", .type = XB_POLICY_DWORD,
        .section = "proxy", .key = "port_range_end", .min = 1024, .max = 65535,
    },
    /* How the companion's HTTPS requests (token endpoint, revocation) reach the
     * internet: "system" (Windows' proxy settings of the user, else WinHTTP's), "direct",
     * or a proxy URL http://[user:password@]host:port. The companion checks the text as
     * it checks the file's web_proxy. Disabled is the same as not configured: a disabled
     * text policy has no value (docs/decisions.md, "Web proxies"). */
    [XB_POL_WEB_PROXY] = {
        .value = "WebProxy", .type = XB_POLICY_SZ,
        .section = "general", .key = "web_proxy", .min = 0, .max = 512,
    },
    /* --- Logging ---------------------------------------------------------------------- */
    [XB_POL_LOG_LEVEL] = {
        .value = "LogLevel", .type = XB_POLICY_SZ,
        .section = "general", .key = "log_level", .min = 0, .max = 5,
        .choices = "error|warn|info|debug",
    },
};

#define XB_POLICY_COUNT ((unsigned)XB_POL_COUNT)

/* The length of an SZ value as the table's limits count it: characters of the UTF-8
 * text (what an administrator typed), not bytes. */
static inline size_t xb_policy_text_chars(const char *utf8)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)utf8; *c; c++)
        n += (*c & 0xc0) != 0x80;
    return n;
}

#endif
