/*
 * Group Policy over the configuration (core/config_policy.c) with a fake registry:
 * HKLM over HKCU over the file, type and range checks, choices, empty text, values the
 * config refuses, keys this version does not know yet, and xb_config_set itself.
 * The real registry is read under Wine (tests/windows/tray-test.sh policy).
 */
#include <stdio.h>
#include <string.h>

#include "core/addinpol.h"
#include "core/config.h"
#include "core/oauth.h"
#include "core/config_policy.h"
#include "core/mem.h"

#include "xbtest.h"

struct fake_value {
    enum xb_policy_hive hive;
    const char *name;
    unsigned type;
    uint32_t dword;
    const char *sz;
};

struct fake_reg {
    const struct fake_value *v;
    size_t n;
    int reads;
};

static enum xb_err fake_read(void *arg, enum xb_policy_hive hive, const char *name,
                             struct xb_policy_raw *out)
{
    struct fake_reg *r = arg;
    r->reads++;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].hive != hive || strcmp(r->v[i].name, name) != 0)
            continue;
        out->type = r->v[i].type;
        out->dword = r->v[i].dword;
        if (r->v[i].sz && !(out->sz = xb_strdup(r->v[i].sz)))
            return XB_ERR_NOMEM;
        return XB_OK;
    }
    return XB_ERR_NOTFOUND;
}

/* List entries: name "GoogleDomainClients\\DOMAIN" in fake_value. */
static enum xb_err fake_list(void *arg, enum xb_policy_hive hive, const char *subkey,
                             xb_policy_list_each *each, void *ctx)
{
    struct fake_reg *r = arg;
    size_t klen = strlen(subkey);
    bool any = false;
    for (size_t i = 0; i < r->n; i++) {
        const char *n = r->v[i].name;
        if (r->v[i].hive != hive || strncmp(n, subkey, klen) != 0 || n[klen] != '\\')
            continue;
        any = true;
        if (r->v[i].type == XB_POLICY_SZ)
            each(ctx, n + klen + 1, r->v[i].sz);
    }
    return any ? XB_OK : XB_ERR_NOTFOUND;
}

/* The add-in's raw reader over the same fake registry (the rules are addinpol.c's). */
static bool fake_raw(void *arg, int hive, const char *name, unsigned *type, uint32_t *dword,
                     char *text, size_t size)
{
    struct xb_policy_raw raw;
    if (fake_read(arg, hive == 0 ? XB_POLICY_MACHINE : XB_POLICY_USER, name, &raw) != XB_OK)
        return false;
    *type = raw.type;
    *dword = raw.dword;
    snprintf(text, size, "%s", raw.sz ? raw.sz : "");
    xb_free(raw.sz);
    return true;
}

static int ignored_count;
static void fake_ignored(void *arg, const char *name, const char *why)
{
    (void)arg;
    printf("#   ignored: %s (%s)\n", name, why);
    ignored_count++;
}

static struct xb_config *parse(const char *ini)
{
    struct xb_config *cfg = NULL;
    char *msg = NULL;
    CHECK(xb_config_parse("test.ini", ini, strlen(ini), &cfg, &msg) == XB_OK);
    if (msg)
        printf("#   %s\n", msg);
    xb_free(msg);
    return cfg;
}

static void machine_over_user_over_file(void)
{
    static const struct fake_value v[] = {
        { XB_POLICY_MACHINE, "GoogleClientId", XB_POLICY_SZ, 0, "from-hklm" },
        { XB_POLICY_USER, "GoogleClientId", XB_POLICY_SZ, 0, "from-hkcu" },
        { XB_POLICY_USER, "GoogleClientSecret", XB_POLICY_SZ, 0, "user-secret" },
        { XB_POLICY_USER, "LogLevel", XB_POLICY_SZ, 0, "DEBUG" },
    };
    struct fake_reg reg = { v, sizeof(v) / sizeof(v[0]), 0 };
    struct xb_config *cfg = parse("[general]\nlog_level = warn\n"
                                  "[provider.google]\nclient_id = from-file\n"
                                  "client_secret = file-secret\n");
    int applied[XB_POL_COUNT];
    CHECK(cfg && xb_config_apply_policy(cfg, fake_read, fake_list, &reg, applied) == XB_OK);
    const struct xb_provider *g = cfg ? xb_config_provider(cfg, "google") : NULL;
    CHECK_STR(g ? g->client_id : NULL, "from-hklm");
    CHECK_STR(g ? g->client_secret : NULL, "user-secret");
    CHECK(cfg && cfg->log_level == XB_LOG_DEBUG); /* choices: any case */
    CHECK(applied[XB_POL_GOOGLE_CLIENT_ID] == XB_POLICY_MACHINE);
    CHECK(applied[XB_POL_GOOGLE_CLIENT_SECRET] == XB_POLICY_USER);
    CHECK(applied[XB_POL_LOG_LEVEL] == XB_POLICY_USER);
    CHECK(applied[XB_POL_MICROSOFT_CLIENT_ID] == XB_POLICY_APPLIED_NONE);
    /* HKLM answered for the client ID: HKCU was not asked for it (lists are listed,
     * not read). */
    int values = 0;
    for (unsigned i = 0; i < XB_POLICY_COUNT; i++)
        values += xb_policies[i].type != XB_POLICY_LIST;
    CHECK(reg.reads == 2 * values - 1);
    xb_config_free(cfg);
}

static void bad_values_are_ignored_and_the_next_hive_asked(void)
{
    static const struct fake_value v[] = {
        /* wrong type in HKLM: HKCU's good value wins */
        { XB_POLICY_MACHINE, "LogLevel", XB_POLICY_DWORD, 2, NULL },
        { XB_POLICY_USER, "LogLevel", XB_POLICY_SZ, 0, "error" },
        /* not one of the words, then empty: the file stays */
        { XB_POLICY_MACHINE, "GoogleClientId", XB_POLICY_SZ, 0, "" },
        { XB_POLICY_MACHINE, "MicrosoftClientId", XB_POLICY_SZ, 0, "bad\nline" },
        /* too long (255 characters at most) */
        { XB_POLICY_USER, "MicrosoftClientSecret", XB_POLICY_SZ, 0,
          "0123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890123456789012345678901234567890123456789"
          "0123456789012345678901234567890123456789012345678901234567890123456789"
          "01234567890123456789012345678901234567890123456789" },
    };
    struct fake_reg reg = { v, sizeof(v) / sizeof(v[0]), 0 };
    struct xb_config *cfg = parse("[provider.google]\nclient_id = from-file\n"
                                  "[provider.microsoft]\nclient_id = ms-file\n");
    int applied[XB_POL_COUNT];
    CHECK(cfg && xb_config_apply_policy(cfg, fake_read, fake_list, &reg, applied) == XB_OK);
    CHECK(cfg && cfg->log_level == XB_LOG_ERROR);
    CHECK(applied[XB_POL_LOG_LEVEL] == XB_POLICY_USER);
    const struct xb_provider *g = cfg ? xb_config_provider(cfg, "google") : NULL;
    const struct xb_provider *m = cfg ? xb_config_provider(cfg, "microsoft") : NULL;
    CHECK_STR(g ? g->client_id : NULL, "from-file");
    CHECK_STR(m ? m->client_id : NULL, "ms-file");
    CHECK(m && m->client_secret == NULL);
    CHECK(applied[XB_POL_GOOGLE_CLIENT_ID] == XB_POLICY_APPLIED_NONE);
    xb_config_free(cfg);
}

/* WebProxy: the machine's proxy URL over the user's direct and the file; a value the
 * key refuses is ignored and the next hive asked; Disabled (no value) leaves the file. */
static void web_proxy_policy(void)
{
    static const struct fake_value v[] = {
        { XB_POLICY_MACHINE, "WebProxy", XB_POLICY_SZ, 0, "http://proxy.example.ac.jp:8080" },
        { XB_POLICY_USER, "WebProxy", XB_POLICY_SZ, 0, "direct" },
    };
    struct fake_reg reg = { v, sizeof(v) / sizeof(v[0]), 0 };
    struct xb_config *cfg = parse("[general]\nweb_proxy = system\n");
    int applied[XB_POL_COUNT];
    CHECK(cfg && xb_config_apply_policy(cfg, fake_read, fake_list, &reg, applied) == XB_OK);
    CHECK(cfg && cfg->web_proxy.mode == XB_WEB_PROXY_URL);
    CHECK_STR(cfg ? cfg->web_proxy.url : NULL, "http://proxy.example.ac.jp:8080");
    CHECK(applied[XB_POL_WEB_PROXY] == XB_POLICY_MACHINE);
    xb_config_free(cfg);

    static const struct fake_value bad[] = {
        { XB_POLICY_MACHINE, "WebProxy", XB_POLICY_SZ, 0, "socks5://proxy:1080" },
        { XB_POLICY_USER, "WebProxy", XB_POLICY_SZ, 0, "DIRECT" },
    };
    struct fake_reg reg2 = { bad, sizeof(bad) / sizeof(bad[0]), 0 };
    cfg = parse("[general]\nweb_proxy = http://file.example:3128\n");
    CHECK(cfg && xb_config_apply_policy(cfg, fake_read, fake_list, &reg2, applied) == XB_OK);
    CHECK(cfg && cfg->web_proxy.mode == XB_WEB_PROXY_DIRECT && !cfg->web_proxy.url);
    CHECK(applied[XB_POL_WEB_PROXY] == XB_POLICY_USER);
    xb_config_free(cfg);

    struct fake_reg none = { NULL, 0, 0 };
    cfg = parse("[general]\nweb_proxy = http://file.example:3128\n");
    CHECK(cfg && xb_config_apply_policy(cfg, fake_read, fake_list, &none, applied) == XB_OK);
    CHECK(cfg && cfg->web_proxy.mode == XB_WEB_PROXY_URL);
    CHECK(applied[XB_POL_WEB_PROXY] == XB_POLICY_APPLIED_NONE);
    xb_config_free(cfg);
}

static void values_as_config_text(void)
{
    char out[64];
    const char *why;
    struct xb_policy_raw raw = { .type = XB_POLICY_DWORD, .dword = 2 };
    CHECK(xb_policy_value_text(&xb_policies[XB_POL_AUTO_FIX], &raw, out, sizeof(out), &why));
    CHECK_STR(out, "automatic");
    raw.dword = 3;
    CHECK(!xb_policy_value_text(&xb_policies[XB_POL_AUTO_FIX], &raw, out, sizeof(out), &why));
    CHECK_STR(why, "out of range");
    raw.dword = 1023;
    CHECK(!xb_policy_value_text(&xb_policies[XB_POL_PORT_RANGE_START], &raw, out, sizeof(out),
                                &why));
    raw.dword = 20000;
    CHECK(xb_policy_value_text(&xb_policies[XB_POL_PORT_RANGE_START], &raw, out, sizeof(out),
                               &why));
    CHECK_STR(out, "20000");
    raw.dword = 0;
    CHECK(xb_policy_value_text(&xb_policies[XB_POL_MICROSOFT_ENABLED], &raw, out, sizeof(out),
                               &why));
    CHECK_STR(out, "no");
    struct xb_policy_raw sz = { .type = XB_POLICY_SZ, .sz = (char *)(uintptr_t)"Warn" };
    CHECK(xb_policy_value_text(&xb_policies[XB_POL_LOG_LEVEL], &sz, out, sizeof(out), &why));
    CHECK_STR(out, "warn");
    sz.sz = (char *)(uintptr_t)"verbose";
    CHECK(!xb_policy_value_text(&xb_policies[XB_POL_LOG_LEVEL], &sz, out, sizeof(out), &why));
    /* The limit counts characters, not bytes: 255 Japanese characters are fine. */
    char jp[255 * 3 + 1];
    for (int i = 0; i < 255; i++)
        memcpy(jp + 3 * i, "\xe3\x81\x82", 3); /* あ */
    jp[sizeof(jp) - 1] = '\0';
    char big[1024];
    sz.sz = jp;
    CHECK(xb_policy_value_text(&xb_policies[XB_POL_GOOGLE_CLIENT_ID], &sz, big, sizeof(big),
                               &why));
}

static void keys_not_known_yet_are_not_an_error(void)
{
    static const struct fake_value v[] = {
        { XB_POLICY_MACHINE, "AutoFix", XB_POLICY_DWORD, 0, NULL },
        { XB_POLICY_MACHINE, "AllowedDomains", XB_POLICY_SZ, 0, "example.ac.jp" },
    };
    struct fake_reg reg = { v, sizeof(v) / sizeof(v[0]), 0 };
    struct xb_config *cfg = parse("");
    int applied[XB_POL_COUNT];
    CHECK(cfg && xb_config_apply_policy(cfg, fake_read, fake_list, &reg, applied) == XB_OK);
    CHECK(applied[XB_POL_AUTO_FIX] == XB_POLICY_APPLIED_NONE);
    CHECK(applied[XB_POL_ALLOWED_DOMAINS] == XB_POLICY_APPLIED_NONE);
    xb_config_free(cfg);
}

static void config_set_checks_like_the_file(void)
{
    struct xb_config *cfg = parse("");
    char *msg = NULL;
    if (!cfg)
        return;
    CHECK(xb_config_set(cfg, "proxy", "max_sessions", "12", "HKLM\\X", &msg) == XB_OK);
    CHECK(cfg->max_sessions == 12);
    CHECK(xb_config_set(cfg, "PROXY", "Line_Max", "100", "HKLM\\X", &msg) == XB_ERR_INVAL);
    CHECK_STR(msg, "HKLM\\X: key 'Line_Max' in [PROXY]: '100' is not a whole number from 512 "
                   "to 1048576");
    xb_free(msg);
    CHECK(xb_config_set(cfg, "provider.Google", "client_id", "cid", "o", &msg) == XB_OK);
    CHECK_STR(xb_config_provider(cfg, "google")->client_id, "cid");
    CHECK(xb_config_set(cfg, "provider.nosuch", "client_id", "x", "o", &msg) == XB_ERR_NOTFOUND);
    CHECK(xb_config_set(cfg, "general", "auto_fix", "ask", "o", &msg) == XB_ERR_NOTFOUND);
    CHECK(xb_config_set(cfg, "nosuch", "x", "y", "o", &msg) == XB_ERR_NOTFOUND);
    CHECK(xb_config_set(cfg, "proxy", "imap_listen", "127.0.0.1:1", "o", &msg) ==
          XB_ERR_UNSUPPORTED);
    CHECK(xb_config_set(cfg, "provider.google", "preset", "custom", "o", &msg) ==
          XB_ERR_UNSUPPORTED);
    CHECK(xb_config_set(cfg, "general", "state_dir", "", "o", &msg) == XB_ERR_INVAL);
    xb_free(msg);
    CHECK(cfg->state_dir != NULL);
    xb_config_free(cfg);
}

/* AutoFix as Group Policy Editor writes it in each state (docs/deployment.md): Disabled
 * deletes AutoFix and writes AutoFixEnabled = 0, which is off, never the default. */
static void auto_fix_states(void)
{
    static const struct fake_value enabled[] = {
        { XB_POLICY_MACHINE, "AutoFixEnabled", XB_POLICY_DWORD, 1, NULL },
        { XB_POLICY_MACHINE, "AutoFix", XB_POLICY_DWORD, 2, NULL },
    };
    static const struct fake_value disabled[] = {
        { XB_POLICY_MACHINE, "AutoFixEnabled", XB_POLICY_DWORD, 0, NULL },
        { XB_POLICY_USER, "AutoFixEnabled", XB_POLICY_DWORD, 1, NULL },
        { XB_POLICY_USER, "AutoFix", XB_POLICY_DWORD, 2, NULL },
    };
    static const struct fake_value old_template[] = {
        { XB_POLICY_USER, "AutoFix", XB_POLICY_DWORD, 0, NULL },
    };
    /* Of the wrong type or out of range: ignored (and said), the next hive asked. */
    static const struct fake_value bad[] = {
        { XB_POLICY_MACHINE, "AutoFix", XB_POLICY_DWORD, 7, NULL },
        { XB_POLICY_MACHINE, "AutoFixEnabled", XB_POLICY_SZ, 0, "0" },
        { XB_POLICY_USER, "AutoFix", XB_POLICY_DWORD, 2, NULL },
    };
    struct { const struct fake_value *v; size_t n; enum xb_autofix want; } cases[] = {
        { enabled, 2, XB_AUTOFIX_AUTOMATIC },
        { disabled, 3, XB_AUTOFIX_OFF },        /* the computer's Disabled wins */
        { old_template, 1, XB_AUTOFIX_OFF },    /* 0.1 templates: AutoFix alone */
        { NULL, 0, XB_AUTOFIX_ASK },            /* not configured */
        { bad, 3, XB_AUTOFIX_AUTOMATIC },       /* the user's, the machine's being unusable */
    };
    ignored_count = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fake_reg reg = { cases[i].v, cases[i].n, 0 };
        struct xb_addin_policy pol;
        xb_addin_policy_decide(&pol, fake_raw, fake_ignored, &reg);
        CHECK(pol.auto_fix == cases[i].want);
        CHECK(pol.auto_fix_why != NULL);
    }
    CHECK(ignored_count == 2);
}

/* "Local port range" Disabled: PortRange = 0 turns a range off, even the file's. */
static void port_range_disabled_turns_the_range_off(void)
{
    static const struct fake_value v[] = {
        { XB_POLICY_MACHINE, "PortRange", XB_POLICY_DWORD, 0, NULL },
        { XB_POLICY_USER, "PortRange", XB_POLICY_DWORD, 1, NULL },
        { XB_POLICY_USER, "PortRangeStart", XB_POLICY_DWORD, 41000, NULL },
        { XB_POLICY_USER, "PortRangeEnd", XB_POLICY_DWORD, 41299, NULL },
    };
    struct fake_reg reg = { v, sizeof(v) / sizeof(v[0]), 0 };
    struct xb_config *cfg = parse("[proxy]\nport_range_start = 30000\nport_range_end = 30008\n");
    int applied[XB_POL_COUNT];
    CHECK(cfg && xb_config_apply_policy(cfg, fake_read, fake_list, &reg, applied) == XB_OK);
    if (!cfg)
        return;
    CHECK(!cfg->port_range_on);
    CHECK(applied[XB_POL_PORT_RANGE] == XB_POLICY_MACHINE);
    xb_config_free(cfg);
    /* Enabled (or a 0.1 template without PortRange): the range is used. */
    reg.v = v + 1;
    reg.n = 3;
    cfg = parse("");
    CHECK(cfg && xb_config_apply_policy(cfg, fake_read, fake_list, &reg, applied) == XB_OK);
    if (cfg)
        CHECK(cfg->port_range_on && cfg->port_range_start == 41000 &&
              cfg->port_range_end == 41299);
    xb_config_free(cfg);
    cfg = parse("[proxy]\nport_range = no\n");
    CHECK(cfg && !cfg->port_range_on);
    xb_config_free(cfg);
}

/* GoogleDomainClients: an address in a listed domain signs in with that domain's client
 * and hosted domain; others with [provider.google]'s; the computer's list wins as a
 * whole; entries that do not parse are skipped. */
static void domain_clients(void)
{
    static const struct fake_value v[] = {
        { XB_POLICY_MACHINE, "GoogleClientId", XB_POLICY_SZ, 0, "staff-id" },
        { XB_POLICY_MACHINE, "GoogleDomainClients\\St.Example.ac.jp", XB_POLICY_SZ, 0,
          " client_id = student-id ; client_secret=student-secret; hosted_domain=st.example.ac.jp" },
        { XB_POLICY_MACHINE, "GoogleDomainClients\\bad domain", XB_POLICY_SZ, 0, "client_id=x" },
        { XB_POLICY_MACHINE, "GoogleDomainClients\\nocid.example", XB_POLICY_SZ, 0,
          "client_secret=x" },
        { XB_POLICY_MACHINE, "GoogleDomainClients\\typo.example", XB_POLICY_SZ, 0,
          "client_id=a; clientsecret=b" },
        { XB_POLICY_USER, "GoogleDomainClients\\user.example", XB_POLICY_SZ, 0, "client_id=u" },
    };
    struct fake_reg reg = { v, sizeof(v) / sizeof(v[0]), 0 };
    struct xb_config *cfg = parse("[provider.google]\nhosted_domain = example.ac.jp\n");
    int applied[XB_POL_COUNT];
    CHECK(cfg && xb_config_apply_policy(cfg, fake_read, fake_list, &reg, applied) == XB_OK);
    if (!cfg)
        return;
    CHECK(applied[XB_POL_GOOGLE_DOMAIN_CLIENTS] == XB_POLICY_MACHINE);
    const struct xb_provider *staff = xb_config_provider_for(cfg, "google", "taro@example.ac.jp");
    const struct xb_provider *st = xb_config_provider_for(cfg, "Google", "hanako@ST.example.ac.jp");
    CHECK(staff && st && staff != st);
    if (!staff || !st)
        goto out;
    CHECK_STR(staff->client_id, "staff-id");
    CHECK_STR(staff->hosted_domain, "example.ac.jp");
    CHECK_STR(st->client_id, "student-id");
    CHECK_STR(st->client_secret, "student-secret");
    CHECK_STR(st->hosted_domain, "st.example.ac.jp");
    CHECK_STR(st->token_url, staff->token_url);
    CHECK_STR(st->name, "google");
    /* The user's list is not used when the computer has one; the bad entries are out. */
    CHECK(xb_config_provider_for(cfg, "google", "x@user.example") == staff);
    CHECK(xb_config_provider_for(cfg, "google", "x@nocid.example") == staff);
    CHECK(xb_config_provider_for(cfg, "google", "x@typo.example") == staff);
    CHECK(xb_config_provider_for(cfg, "google", "x@sub.st.example.ac.jp") == staff);
    /* The sign-in page asks Google for the domain's client and hosted domain. */
    struct xb_pkce pkce;
    CHECK(xb_pkce_new(&pkce) == XB_OK);
    char *url = xb_oauth_auth_url(st, &pkce, "http://127.0.0.1:1/cb", "hanako@st.example.ac.jp");
    CHECK(url && strstr(url, "client_id=student-id") && strstr(url, "hd=st.example.ac.jp"));
    xb_free(url);
    /* Applied again (as `config` does): the entry is replaced, not doubled. */
    CHECK(xb_config_apply_policy(cfg, fake_read, fake_list, &reg, applied) == XB_OK);
    const struct xb_provider *g = xb_config_provider(cfg, "google");
    CHECK(g && g->domain_clients && !g->domain_clients->next);
out:
    xb_config_free(cfg);
}

XBTEST_MAIN(XBTEST(web_proxy_policy), XBTEST(machine_over_user_over_file), XBTEST(auto_fix_states),
            XBTEST(port_range_disabled_turns_the_range_off), XBTEST(domain_clients),
            XBTEST(bad_values_are_ignored_and_the_next_hive_asked),
            XBTEST(values_as_config_text), XBTEST(keys_not_known_yet_are_not_an_error),
            XBTEST(config_set_checks_like_the_file))
