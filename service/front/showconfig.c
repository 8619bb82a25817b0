/*
 * xoauthbridge config: the configuration in force after the file and Group Policy, in
 * the file's own syntax, with a comment on every key a policy value set. For
 * administrators checking a deployment ("which setting wins?") and for the tests.
 * client_secret is shown as set or not, never its text.
 */
#include <stdio.h>
#include <string.h>

#include "front/front.h"
#include "core/addinpol.h"
#include "core/config.h"
#include "core/config_policy.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/webproxy.h"
#include "platform/platform.h"

static const char *const log_levels[] = { "error", "warn", "info", "debug" };

static void origin(const int applied[XB_POL_COUNT], const char *section, const char *key)
{
    for (unsigned i = 0; i < XB_POLICY_COUNT; i++) {
        const struct xb_policy *p = &xb_policies[i];
        if (applied[i] != XB_POLICY_APPLIED_NONE && strcmp(p->section, section) == 0 &&
            strcmp(p->key, key) == 0)
            printf("# set by policy %s\\%s\\%s\n",
                   xb_policy_hive_name((enum xb_policy_hive)applied[i]), XB_POLICY_KEY,
                   p->value);
    }
}

static void str(const int applied[XB_POL_COUNT], const char *section, const char *key,
                const char *value)
{
    origin(applied, section, key);
    if (value && *value)
        printf("%s = %s\n", key, value);
    else
        printf("%s =\n", key);
}

/* web_proxy, never with its password; for `system`, what the system says now for the
 * first provider's token endpoint (on Windows this may run the automatic configuration
 * script, as the companion would). */
static void web_proxy(const int applied[XB_POL_COUNT], const struct xb_config *c)
{
    char name[160];
    origin(applied, "general", "web_proxy");
    switch (c->web_proxy.mode) {
    case XB_WEB_PROXY_DIRECT:
        printf("web_proxy = direct\n");
        return;
    case XB_WEB_PROXY_URL:
        xb_webproxy_name(c->web_proxy.url, name, sizeof(name));
        printf("web_proxy = http://%s%s\n",
               xb_webproxy_has_credentials(c->web_proxy.url) ? "(user:password not shown)@" : "",
               name);
        return;
    case XB_WEB_PROXY_SYSTEM:
        break;
    }
    printf("web_proxy = system\n");
    const struct xb_provider *p = c->providers;
    while (p && (!p->token_url || !*p->token_url))
        p = p->next;
    if (!p)
        return;
    struct xb_webproxy_answer a;
    xb_plat_webproxy_find(NULL, p->token_url, &a);
    if (a.how == XB_WEBPROXY_VIA)
        xb_webproxy_name(a.proxy, name, sizeof(name));
    else
        snprintf(name, sizeof(name), "%.150s", a.how == XB_WEBPROXY_ENV && a.proxy[0] ? a.proxy
                                                                                : "direct");
    printf("# system, now, for %s: %s (%s)\n", p->token_url, name, a.source);
}

static void num(const char *key, unsigned long n)
{
    printf("%s = %lu\n", key, n);
}

/* A raw policy value for the add-in's decision (core/addinpol.c): what the platform's
 * reader says; the rules are the core's. */
static bool pol_raw(void *arg, int hive, const char *name, unsigned *type, uint32_t *dword,
                    char *text, size_t size)
{
    (void)arg;
    struct xb_policy_raw raw;
    if (xb_plat_policy_read(hive == 0 ? XB_POLICY_MACHINE : XB_POLICY_USER, name, &raw) != XB_OK)
        return false;
    bool ok = true;
    *type = raw.type;
    *dword = raw.dword;
    if (raw.type == XB_POLICY_SZ) {
        size_t len = raw.sz ? strlen(raw.sz) : 0;
        ok = len < size;
        if (ok)
            memcpy(text, raw.sz ? raw.sz : "", len + 1);
    }
    xb_free_str_secret(raw.sz);
    return ok;
}

/* Per-domain clients of p (policy GoogleDomainClients), as comments: the file has no
 * such key. */
static void domain_clients(const int applied[XB_POL_COUNT], const struct xb_provider *p)
{
    for (const struct xb_provider *d = p->domain_clients; d; d = d->next) {
        printf("# addresses @%s: client_id = %s, client_secret %s, hosted_domain = %s",
               d->for_domain, d->client_id, d->client_secret ? "set (not shown)" : "not set",
               d->hosted_domain ? d->hosted_domain : "(none)");
        int h = applied[XB_POL_GOOGLE_DOMAIN_CLIENTS];
        if (h != XB_POLICY_APPLIED_NONE)
            printf(" (policy %s\\%s\\%s)", xb_policy_hive_name((enum xb_policy_hive)h),
                   XB_POLICY_KEY, xb_policies[XB_POL_GOOGLE_DOMAIN_CLIENTS].value);
        printf("\n");
    }
}

static void server(const char *key, const struct xb_server *s)
{
    if (!s->host) {
        printf("%s = off\n", key);
        return;
    }
    bool v6 = strchr(s->host, ':') != NULL;
    printf("%s = %s%s%s:%u\n%s_tls = %s\n", key, v6 ? "[" : "", s->host, v6 ? "]" : "",
           s->port, key, s->tls == XB_TLS_STARTTLS ? "starttls" : "implicit");
}

int xb_cmd_config(int argc, char **argv)
{
    struct xb_cli_env env;
    int applied[XB_POL_COUNT];
    if (xb_cli_open(&argc, argv, false, &env) != 0)
        return 1;
    if (argc > 1) {
        fprintf(stderr, "usage: xoauthbridge config [--config FILE]\n");
        xb_cli_close(&env);
        return 2;
    }
    /* Again, to learn where each value came from (it sets the same values); what it
     * would warn about was said while loading. */
    enum xb_log_level level = xb_log_get_level();
    xb_log_set_level(XB_LOG_ERROR);
    xb_config_apply_policy(env.cfg, NULL, NULL, NULL, applied);
    xb_log_set_level(level);
    const struct xb_config *c = env.cfg;

    printf("# XOAuth Bridge configuration in force\n# file: %s\n",
           c->path ? c->path : "(none: built-in defaults)");
    printf("\n[general]\n");
    str(applied, "general", "state_dir", c->state_dir);
    str(applied, "general", "log_level",
        (unsigned)c->log_level < 4 ? log_levels[c->log_level] : "?");
    str(applied, "general", "log_file", c->log_file);
    str(applied, "general", "browser", c->browser);
    num("signin_timeout", c->signin_timeout);
    web_proxy(applied, c);

    printf("\n[proxy]\n");
    for (int i = 0; i < XB_PROTO__COUNT; i++)
        printf("%s_listen = %s\n", xb_proto_name((enum xb_proto_id)i),
               c->listen[i].addr ? c->listen[i].addr : "off");
    printf("allow_non_loopback = %s\nlocal_starttls = %s\nsame_user_only = %s\n",
           c->allow_non_loopback ? "yes" : "no", c->local_starttls ? "yes" : "no",
           c->same_user_only ? "yes" : "no");
    num("max_sessions", c->max_sessions);
    num("line_max", (unsigned long)c->line_max);
    num("literal_max", (unsigned long)c->literal_max);
    num("connect_timeout", c->connect_timeout);
    num("login_timeout", c->login_timeout);
    num("idle_timeout", c->idle_timeout);
    num("preauth_timeout", c->preauth_timeout);
    for (int end = 0; end < 2; end++) {
        const char *key = end ? "port_range_end" : "port_range_start";
        unsigned v = end ? c->port_range_end : c->port_range_start;
        origin(applied, "proxy", key);
        if (v)
            num(key, v);
        else
            printf("%s =\n", key);
    }
    origin(applied, "proxy", "port_range");
    printf("port_range = %s\n", c->port_range_on ? "yes" : "no");

    printf("\n[tls]\n");
    str(applied, "tls", "ca_file", c->ca_file);

    for (const struct xb_provider *p = c->providers; p; p = p->next) {
        char section[160];
        snprintf(section, sizeof(section), "provider.%s", p->name);
        printf("\n[%s]\n", section);
        str(applied, section, "client_id", p->client_id);
        origin(applied, section, "client_secret");
        printf("client_secret =%s\n", p->client_secret ? " (set; not shown)" : "");
        str(applied, section, "auth_url", p->auth_url);
        str(applied, section, "token_url", p->token_url);
        str(applied, section, "revoke_url", p->revoke_url);
        str(applied, section, "scope", p->scope);
        str(applied, section, "hosted_domain", p->hosted_domain);
        str(applied, section, "issuer", p->issuer);
        for (int i = 0; i < XB_PROTO__COUNT; i++)
            server(xb_proto_name((enum xb_proto_id)i), &p->server[i]);
        printf("sasl = %s\n", p->sasl == XB_SASL_OAUTHBEARER ? "oauthbearer" : "xoauth2");
        printf("identity = %s\n", p->identity == XB_IDENTITY_ID_TOKEN ? "id_token" : "none");
        str(applied, section, "identity_claims", p->identity_claims);
        domain_clients(applied, p);
    }

    /* Not the companion's: what the Outlook add-in does, from Group Policy only. */
    struct xb_addin_policy ap;
    xb_addin_policy_decide(&ap, pol_raw, NULL, NULL);
    printf("\n# The Outlook add-in (Group Policy only; not keys of this file)\n");
    printf("# auto_fix = %s (%s)\n", xb_autofix_name(ap.auto_fix), ap.auto_fix_why);
    printf("# microsoft = %s\n", ap.microsoft ? "yes" : "no");
    printf("# allowed_domains = %s\n", ap.allowed_domains[0] ? ap.allowed_domains : "(any)");
    printf("# google_hosts = %s\n", ap.google_hosts[0] ? ap.google_hosts : "(Google's own)");
    xb_cli_close(&env);
    return 0;
}
