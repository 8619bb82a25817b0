/*
 * The configuration: defaults and presets, the INI file over them (ini.c splits the
 * lines, this file gives them meaning), then the checks that need the whole file.
 * The first error stops the parse; its message names the file, the line and the key.
 */
#include "core/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/ascii.h"
#include "core/ini.h"
#include "core/mem.h"
#include "core/webproxy.h"
#include "platform/platform.h"

#define CONFIG_FILE_MAX (1024 * 1024) /* a config file is a few kilobytes */
#define PROVIDERS_MAX 64
#define HOST_MAX 256
#define ECHO_MAX 80 /* longest piece of a bad value quoted back in a message */

const char *xb_proto_name(enum xb_proto_id id)
{
    static const char *const names[XB_PROTO__COUNT] = {
        [XB_PROTO_IMAP] = "imap", [XB_PROTO_POP3] = "pop3", [XB_PROTO_SMTP] = "smtp" };
    return (unsigned)id < XB_PROTO__COUNT ? names[id] : "?";
}

/* ---------------------------------------------------------------- presets */

struct preset_server {
    const char *host;
    unsigned port;
    enum xb_tls_mode tls;
};

struct preset {
    const char *name;
    enum xb_provider_kind kind;
    const char *auth_url, *token_url, *revoke_url, *scope, *issuer;
    struct preset_server server[XB_PROTO__COUNT];
    enum xb_sasl_mech sasl;
    enum xb_identity identity;
    const char *identity_claims;
};

/* No client IDs: each organisation registers its own OAuth client. */
static const struct preset presets[] = {
    {
        .name = "google",
        .kind = XB_PROVIDER_GOOGLE,
        .auth_url = "https://accounts.google.com/o/oauth2/v2/auth",
        .token_url = "https://oauth2.googleapis.com/token",
        .revoke_url = "https://oauth2.googleapis.com/revoke",
        .scope = "https://mail.google.com/",
        .issuer = "https://accounts.google.com",
        .identity = XB_IDENTITY_ID_TOKEN,
        .identity_claims = "email",
        .server = {
            [XB_PROTO_IMAP] = { "imap.gmail.com", 993, XB_TLS_IMPLICIT },
            [XB_PROTO_POP3] = { "pop.gmail.com", 995, XB_TLS_IMPLICIT },
            [XB_PROTO_SMTP] = { "smtp.gmail.com", 465, XB_TLS_IMPLICIT },
        },
        .sasl = XB_SASL_XOAUTH2,
    },
    {
        .name = "microsoft",
        .kind = XB_PROVIDER_MICROSOFT,
        .auth_url = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        .token_url = "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        .revoke_url = NULL,
        .scope = "https://outlook.office.com/IMAP.AccessAsUser.All "
                 "https://outlook.office.com/POP.AccessAsUser.All "
                 "https://outlook.office.com/SMTP.Send offline_access",
        .issuer = NULL, /* "common" is multi-tenant: the issuer differs per tenant */
        .identity = XB_IDENTITY_ID_TOKEN,
        /* "email" only when the tenant sends it; otherwise the sign-in name (UPN). */
        .identity_claims = "email preferred_username",
        .server = {
            [XB_PROTO_IMAP] = { "outlook.office365.com", 993, XB_TLS_IMPLICIT },
            [XB_PROTO_POP3] = { "outlook.office365.com", 995, XB_TLS_IMPLICIT },
            [XB_PROTO_SMTP] = { "smtp.office365.com", 587, XB_TLS_STARTTLS },
        },
        .sasl = XB_SASL_XOAUTH2,
    },
};

static const struct preset *preset_of(enum xb_provider_kind kind)
{
    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
        if (presets[i].kind == kind)
            return &presets[i];
    }
    return NULL;
}

/* Frees what p owns, not p. */
static void provider_clear(struct xb_provider *p)
{
    xb_free(p->name);
    xb_free(p->auth_url);
    xb_free(p->token_url);
    xb_free(p->revoke_url);
    xb_free(p->scope);
    xb_free(p->client_id);
    xb_free_str_secret(p->client_secret);
    xb_free(p->hosted_domain);
    xb_free(p->issuer);
    xb_free(p->identity_claims);
    for (int i = 0; i < XB_PROTO__COUNT; i++)
        xb_free(p->server[i].host);
    xb_free(p->for_domain);
}

static void provider_free(struct xb_provider *p)
{
    if (!p)
        return;
    while (p->domain_clients) {
        struct xb_provider *next = p->domain_clients->next;
        provider_free(p->domain_clients);
        p->domain_clients = next;
    }
    provider_clear(p);
    xb_free(p);
}

/* NULL stays NULL; false only when a copy could not be made. */
static bool dup_opt(char **dst, const char *src)
{
    *dst = src ? xb_strdup(src) : NULL;
    return !src || *dst;
}

static bool server_from(struct xb_server *dst, const struct preset_server *src)
{
    dst->port = src->port;
    dst->tls = src->tls;
    return dup_opt(&dst->host, src->host);
}

/* A provider named name, filled from pre (NULL: empty, for a custom provider). */
static struct xb_provider *provider_new(const struct preset *pre, const char *name,
                                        enum xb_provider_kind kind)
{
    struct xb_provider *p = xb_new(struct xb_provider);
    if (!p)
        return NULL;
    p->kind = kind;
    p->sasl = XB_SASL_XOAUTH2;
    bool ok = dup_opt(&p->name, name);
    if (ok && pre) {
        ok = dup_opt(&p->auth_url, pre->auth_url) && dup_opt(&p->token_url, pre->token_url) &&
             dup_opt(&p->revoke_url, pre->revoke_url) && dup_opt(&p->scope, pre->scope) &&
             dup_opt(&p->issuer, pre->issuer) &&
             dup_opt(&p->identity_claims, pre->identity_claims);
        p->identity = pre->identity;
        for (int i = 0; ok && i < XB_PROTO__COUNT; i++)
            ok = server_from(&p->server[i], &pre->server[i]);
        p->sasl = pre->sasl;
    }
    if (!ok) {
        provider_free(p);
        return NULL;
    }
    return p;
}

/* ---------------------------------------------------------------- text */


/* ---------------------------------------------------------------- keys */

enum key_type {
    K_STR,      /* text; empty means unset */
    K_URL,      /* https:// (http:// to loopback); empty means unset */
    K_UINT,     /* unsigned in [min, max] */
    K_SIZE,     /* size_t in [min, max] */
    K_BOOL,
    K_CHOICE,   /* one of a few names, stored as an enum */
    K_LISTEN,   /* host:port, empty or "off" */
    K_SERVER,   /* host:port, empty or "off" */
    K_WEBPROXY, /* system, direct or http://host:port; empty means system */
};

struct choice {
    const char *what, *allowed; /* for messages */
    const char *names[4];
    int values[4];
};

/* K_CHOICE stores through an int: every enum it fills must be an int's size. */
_Static_assert(sizeof(enum xb_log_level) == sizeof(int) &&
               sizeof(enum xb_provider_kind) == sizeof(int) &&
               sizeof(enum xb_tls_mode) == sizeof(int) &&
               sizeof(enum xb_sasl_mech) == sizeof(int) &&
               sizeof(enum xb_identity) == sizeof(int), "enum size");

static const struct choice log_levels = {
    "log level", "error, warn, info or debug", { "error", "warn", "info", "debug" },
    { XB_LOG_ERROR, XB_LOG_WARN, XB_LOG_INFO, XB_LOG_DEBUG },
};
static const struct choice kinds = {
    "preset", "google, microsoft or custom", { "google", "microsoft", "custom" },
    { XB_PROVIDER_GOOGLE, XB_PROVIDER_MICROSOFT, XB_PROVIDER_CUSTOM },
};
static const struct choice tls_modes = {
    "TLS mode", "implicit or starttls", { "implicit", "starttls" },
    { XB_TLS_IMPLICIT, XB_TLS_STARTTLS },
};
static const struct choice identities = {
    "check of who signed in", "none or id_token", { "none", "id_token" },
    { XB_IDENTITY_NONE, XB_IDENTITY_ID_TOKEN },
};
static const struct choice sasl_mechs = {
    "SASL mechanism", "xoauth2 or oauthbearer", { "xoauth2", "oauthbearer" },
    { XB_SASL_XOAUTH2, XB_SASL_OAUTHBEARER },
};

struct key {
    const char *name;
    enum key_type type;
    size_t off;  /* into struct xb_config, or struct xb_provider for provider keys */
    unsigned long min, max;
    const struct choice *choice;
};

#define CFG(f) offsetof(struct xb_config, f)
#define PRV(f) offsetof(struct xb_provider, f)
#define KEY(n, t, o) { .name = (n), .type = (t), .off = (o) }
#define NUM(n, t, o, lo, hi) { .name = (n), .type = (t), .off = (o), .min = (lo), .max = (hi) }
#define CHOICE(n, o, c) { .name = (n), .type = K_CHOICE, .off = (o), .choice = (c) }
#define TIMEOUT(name) NUM(#name, K_UINT, CFG(name), 1, 86400)

static const struct key general_keys[] = {
    KEY("state_dir", K_STR, CFG(state_dir)),
    CHOICE("log_level", CFG(log_level), &log_levels),
    KEY("log_file", K_STR, CFG(log_file)),
    KEY("browser", K_STR, CFG(browser)),
    TIMEOUT(signin_timeout),
    KEY("web_proxy", K_WEBPROXY, CFG(web_proxy)),
};

enum { PX_IMAP_LISTEN, PX_POP3_LISTEN, PX_SMTP_LISTEN, PX_RANGE_START, PX_RANGE_END };
static const struct key proxy_keys[] = {
    [PX_IMAP_LISTEN] = KEY("imap_listen", K_LISTEN, CFG(listen[XB_PROTO_IMAP])),
    [PX_POP3_LISTEN] = KEY("pop3_listen", K_LISTEN, CFG(listen[XB_PROTO_POP3])),
    [PX_SMTP_LISTEN] = KEY("smtp_listen", K_LISTEN, CFG(listen[XB_PROTO_SMTP])),
    [PX_RANGE_START] = NUM("port_range_start", K_UINT, CFG(port_range_start), 1024, 65535),
    [PX_RANGE_END] = NUM("port_range_end", K_UINT, CFG(port_range_end), 1024, 65535),
    KEY("port_range", K_BOOL, CFG(port_range_on)),
    KEY("allow_non_loopback", K_BOOL, CFG(allow_non_loopback)),
    KEY("same_user_only", K_BOOL, CFG(same_user_only)),
    KEY("local_starttls", K_BOOL, CFG(local_starttls)),
    KEY("early_connections", K_BOOL, CFG(early_connections)),
    NUM("max_sessions", K_UINT, CFG(max_sessions), 1, 100000),
    NUM("line_max", K_SIZE, CFG(line_max), 512, 1048576),
    NUM("literal_max", K_SIZE, CFG(literal_max), 0, 16777216),
    TIMEOUT(connect_timeout),
    TIMEOUT(login_timeout),
    TIMEOUT(idle_timeout),
    TIMEOUT(preauth_timeout),
};

static const struct key tls_keys[] = {
    KEY("ca_file", K_STR, CFG(ca_file)),
};

enum {
    P_PRESET, P_CLIENT_ID, P_CLIENT_SECRET, P_AUTH_URL, P_TOKEN_URL, P_REVOKE_URL, P_SCOPE,
    P_HOSTED_DOMAIN, P_ISSUER, P_IMAP, P_POP3, P_SMTP, P_IMAP_TLS, P_POP3_TLS, P_SMTP_TLS,
    P_SASL, P_IDENTITY, P_IDENTITY_CLAIMS, P__COUNT
};
static const struct key provider_keys[P__COUNT] = {
    [P_PRESET] = CHOICE("preset", PRV(kind), &kinds),
    [P_CLIENT_ID] = KEY("client_id", K_STR, PRV(client_id)),
    [P_CLIENT_SECRET] = KEY("client_secret", K_STR, PRV(client_secret)),
    [P_AUTH_URL] = KEY("auth_url", K_URL, PRV(auth_url)),
    [P_TOKEN_URL] = KEY("token_url", K_URL, PRV(token_url)),
    [P_REVOKE_URL] = KEY("revoke_url", K_URL, PRV(revoke_url)),
    [P_SCOPE] = KEY("scope", K_STR, PRV(scope)),
    [P_HOSTED_DOMAIN] = KEY("hosted_domain", K_STR, PRV(hosted_domain)),
    [P_ISSUER] = KEY("issuer", K_URL, PRV(issuer)),
    [P_IMAP] = KEY("imap", K_SERVER, PRV(server[XB_PROTO_IMAP])),
    [P_POP3] = KEY("pop3", K_SERVER, PRV(server[XB_PROTO_POP3])),
    [P_SMTP] = KEY("smtp", K_SERVER, PRV(server[XB_PROTO_SMTP])),
    [P_IMAP_TLS] = CHOICE("imap_tls", PRV(server[XB_PROTO_IMAP].tls), &tls_modes),
    [P_POP3_TLS] = CHOICE("pop3_tls", PRV(server[XB_PROTO_POP3].tls), &tls_modes),
    [P_SMTP_TLS] = CHOICE("smtp_tls", PRV(server[XB_PROTO_SMTP].tls), &tls_modes),
    [P_SASL] = CHOICE("sasl", PRV(sasl), &sasl_mechs),
    [P_IDENTITY] = CHOICE("identity", PRV(identity), &identities),
    [P_IDENTITY_CLAIMS] = KEY("identity_claims", K_STR, PRV(identity_claims)),
};

#define KEYS_MAX 18 /* the most keys any section has */
_Static_assert(P__COUNT <= KEYS_MAX, "provider keys");
_Static_assert(sizeof(proxy_keys) / sizeof(proxy_keys[0]) <= KEYS_MAX, "proxy keys");
_Static_assert(sizeof(general_keys) / sizeof(general_keys[0]) <= KEYS_MAX, "general keys");

enum sect { S_GENERAL, S_PROXY, S_TLS, S__FIXED, S_PROVIDER = S__FIXED, S_NONE };

static const struct section {
    const char *name;
    const struct key *keys;
    size_t nkeys;
} sections[] = {
    [S_GENERAL] = { "general", general_keys, sizeof(general_keys) / sizeof(general_keys[0]) },
    [S_PROXY] = { "proxy", proxy_keys, sizeof(proxy_keys) / sizeof(proxy_keys[0]) },
    [S_TLS] = { "tls", tls_keys, sizeof(tls_keys) / sizeof(tls_keys[0]) },
    [S_PROVIDER] = { "provider.NAME", provider_keys, P__COUNT },
};

/* ---------------------------------------------------------------- the parser */

struct sect_state {
    unsigned header_line;        /* 0: not seen */
    unsigned key_line[KEYS_MAX]; /* where each key was given; 0: not given */
};

/* A [provider.NAME] section as written: only the keys given are meaningful. */
struct draft {
    struct xb_provider p;
    struct sect_state st;
};

struct parser {
    const char *file;
    struct xb_config *cfg;
    char **errmsg;
    enum sect sect;
    struct xb_view sect_name;    /* as written */
    struct sect_state fixed[S__FIXED];
    struct draft *drafts;
    size_t ndrafts, cur;         /* cur: the draft being filled in [provider.NAME] */
};

static enum xb_err fail(struct parser *ps, unsigned line, const char *fmt, ...) XB_PRINTF(3, 4);
static enum xb_err fail(struct parser *ps, unsigned line, const char *fmt, ...)
{
    char text[768], where[24] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (!ps->errmsg)
        return XB_ERR_INVAL;
    if (line)
        snprintf(where, sizeof(where), ":%u", line);
    xb_errmsg(ps->errmsg, "%s%s: %s", ps->file, where, text);
    return *ps->errmsg ? XB_ERR_INVAL : XB_ERR_NOMEM;
}

/* "key 'K' in [SECTION]: " then the text. */
static enum xb_err key_fail(struct parser *ps, const struct xb_ini_item *it, const char *fmt,
                            ...) XB_PRINTF(3, 4);
static enum xb_err key_fail(struct parser *ps, const struct xb_ini_item *it, const char *fmt,
                            ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return fail(ps, it->line, "key '%.*s' in [%.*s]: %s", (int)it->name.len, it->name.p,
                (int)ps->sect_name.len, ps->sect_name.p, text);
}

#define ECHO(v) (int)((v).len > ECHO_MAX ? ECHO_MAX : (v).len), (v).p

/* Whole decimal number: digits only (strtoul alone would take signs and spaces). */
static bool parse_ulong(struct xb_view v, unsigned long min, unsigned long max,
                        unsigned long *out)
{
    char buf[24];
    if (v.len == 0 || v.len >= sizeof(buf))
        return false;
    for (size_t i = 0; i < v.len; i++) {
        if (!xb_ascii_is_digit(v.p[i]))
            return false;
    }
    memcpy(buf, v.p, v.len);
    buf[v.len] = '\0';
    char *end;
    errno = 0;
    unsigned long n = strtoul(buf, &end, 10);
    if (errno == ERANGE || *end != '\0' || n < min || n > max)
        return false;
    *out = n;
    return true;
}

static int parse_bool(struct xb_view v)
{
    static const char *const names[] = { "no", "yes", "false", "true", "off", "on", "0", "1" };
    for (int i = 0; i < 8; i++) {
        if (xb_view_eq_ci(v, names[i]))
            return i & 1;
    }
    return -1;
}

static enum xb_err set_string(char **field, struct xb_view v)
{
    char *s = NULL;
    if (v.len && !(s = xb_strndup(v.p, v.len)))
        return XB_ERR_NOMEM;
    xb_free_str_secret(*field); /* client_secret passes through here too */
    *field = s;
    return XB_OK;
}

/* system, direct, or a proxy URL, which may carry a password: it is never quoted back. */
static enum xb_err set_web_proxy(struct parser *ps, const struct xb_ini_item *it,
                                 struct xb_web_proxy *w)
{
    struct xb_view v = it->value;
    enum xb_web_proxy_mode mode;
    char why[256];
    if (v.len == 0 || xb_view_eq_ci(v, "system")) {
        mode = XB_WEB_PROXY_SYSTEM;
    } else if (xb_view_eq_ci(v, "direct")) {
        mode = XB_WEB_PROXY_DIRECT;
    } else if (xb_webproxy_url_check(v.p, v.len, why, sizeof(why))) {
        mode = XB_WEB_PROXY_URL;
    } else if (memchr(v.p, '@', v.len)) {
        return key_fail(ps, it, "the proxy URL is not valid: %s; use system, direct or "
                                "http://user:password@host:port", why);
    } else {
        return key_fail(ps, it, "'%.*s': %s; use system, direct or a proxy URL such as "
                                "http://proxy.example.ac.jp:8080", ECHO(v), why);
    }
    enum xb_err err = set_string(&w->url, mode == XB_WEB_PROXY_URL ? v
                                                                  : (struct xb_view){ NULL, 0 });
    if (err == XB_OK)
        w->mode = mode;
    return err;
}

static enum xb_err set_value(struct parser *ps, const struct xb_ini_item *it,
                             const struct key *k, void *base)
{
    unsigned char *field = (unsigned char *)base + k->off;
    struct xb_view v = it->value;
    char host[HOST_MAX];
    unsigned long n;
    unsigned port = 0;
    int b;
    switch (k->type) {
    case K_STR:
        return set_string((char **)(void *)field, v);
    case K_URL:
        if (v.len && !xb_addr_url_ok(v.p, v.len))
            return key_fail(ps, it, "not an https:// URL (http:// is allowed only to a "
                                    "loopback host such as 127.0.0.1); empty unsets it");
        return set_string((char **)(void *)field, v);
    case K_UINT:
    case K_SIZE:
        if (!parse_ulong(v, k->min, k->max, &n))
            return key_fail(ps, it, "'%.*s' is not a whole number from %lu to %lu", ECHO(v),
                            k->min, k->max);
        if (k->type == K_UINT)
            *(unsigned *)(void *)field = (unsigned)n;
        else
            *(size_t *)(void *)field = (size_t)n;
        return XB_OK;
    case K_BOOL:
        if ((b = parse_bool(v)) < 0)
            return key_fail(ps, it, "'%.*s' is not a boolean: use yes/no, true/false, "
                                    "on/off or 1/0", ECHO(v));
        *(bool *)(void *)field = b == 1;
        return XB_OK;
    case K_CHOICE:
        for (size_t i = 0; i < 4 && k->choice->names[i]; i++) {
            if (xb_view_eq_ci(v, k->choice->names[i])) {
                memcpy(field, &k->choice->values[i], sizeof(int));
                return XB_OK;
            }
        }
        return key_fail(ps, it, "'%.*s' is not a %s: use %s", ECHO(v), k->choice->what,
                        k->choice->allowed);
    case K_LISTEN:
    case K_SERVER: {
        bool off = v.len == 0 || xb_view_eq_ci(v, "off");
        if (!off) {
            char buf[HOST_MAX + 16];
            if (v.len >= sizeof(buf))
                return key_fail(ps, it, "address too long");
            memcpy(buf, v.p, v.len);
            buf[v.len] = '\0';
            /* A listener may ask for port 0: the system picks a free one (tests). */
            if (!xb_hostport_parse(buf, host, sizeof(host), &port, k->type == K_LISTEN))
                return key_fail(ps, it, "'%.*s' is not host:port or [IPv6]:port with a port "
                                        "from %d to 65535; empty or 'off' turns it off",
                                ECHO(v), k->type == K_LISTEN ? 0 : 1);
        }
        if (k->type == K_LISTEN) {
            struct xb_listen *l = (struct xb_listen *)(void *)field;
            return set_string(&l->addr, off ? (struct xb_view){ NULL, 0 } : v);
        }
        struct xb_server *s = (struct xb_server *)(void *)field;
        enum xb_err err = set_string(&s->host, off ? (struct xb_view){ NULL, 0 }
                                                   : (struct xb_view){ host, strlen(host) });
        s->port = off ? 0 : port;
        return err;
    }
    case K_WEBPROXY:
        return set_web_proxy(ps, it, (struct xb_web_proxy *)(void *)field);
    }
    return XB_ERR_INVAL;
}

static enum xb_err enter_section(struct parser *ps, const struct xb_ini_item *it)
{
    static const char prefix[] = "provider.";
    const size_t plen = sizeof(prefix) - 1;
    struct xb_view name = it->name;
    ps->sect_name = name;
    for (enum sect s = 0; s < S__FIXED; s++) {
        if (xb_view_eq_ci(name, sections[s].name)) {
            struct sect_state *st = &ps->fixed[s];
            if (st->header_line)
                return fail(ps, it->line, "section [%.*s] repeated (first at line %u): "
                                          "merge the two", (int)name.len, name.p,
                            st->header_line);
            st->header_line = it->line;
            ps->sect = s;
            return XB_OK;
        }
    }
    if (name.len <= plen || !xb_ascii_eq_ci(name.p, plen, prefix))
        return fail(ps, it->line, "unknown section [%.*s]: use [general], [proxy], [tls] or "
                                  "[provider.NAME]", (int)name.len, name.p);

    /* Provider names are case-insensitive: keep them in lower case. */
    char *pname = xb_strndup(name.p + plen, name.len - plen);
    if (!pname)
        return XB_ERR_NOMEM;
    for (char *c = pname; *c; c++)
        *c = xb_ascii_lower(*c);
    for (size_t i = 0; i < ps->ndrafts; i++) {
        if (strcmp(ps->drafts[i].p.name, pname) == 0) {
            xb_free(pname);
            return fail(ps, it->line, "section [%.*s] repeated (first at line %u): merge "
                                      "the two", (int)name.len, name.p,
                        ps->drafts[i].st.header_line);
        }
    }
    if (ps->ndrafts == PROVIDERS_MAX) {
        xb_free(pname);
        return fail(ps, it->line, "section [%.*s]: more than %d providers", (int)name.len,
                    name.p, PROVIDERS_MAX);
    }
    struct draft *d = xb_realloc_array(ps->drafts, ps->ndrafts + 1, sizeof(*d));
    if (!d) {
        xb_free(pname);
        return XB_ERR_NOMEM;
    }
    ps->drafts = d;
    d = &ps->drafts[ps->ndrafts];
    memset(d, 0, sizeof(*d));
    d->p.name = pname;
    d->p.kind = strcmp(pname, "google") == 0      ? XB_PROVIDER_GOOGLE
                : strcmp(pname, "microsoft") == 0 ? XB_PROVIDER_MICROSOFT
                                                  : XB_PROVIDER_CUSTOM;
    d->st.header_line = it->line;
    ps->cur = ps->ndrafts++;
    ps->sect = S_PROVIDER;
    return XB_OK;
}

static enum xb_err on_key(struct parser *ps, const struct xb_ini_item *it)
{
    if (ps->sect == S_NONE)
        return fail(ps, it->line, "key '%.*s' is outside any section: put it under [general], "
                                  "[proxy], [tls] or [provider.NAME]", (int)it->name.len,
                    it->name.p);
    const struct section *sec = &sections[ps->sect];
    struct sect_state *st;
    void *base;
    if (ps->sect == S_PROVIDER) {
        st = &ps->drafts[ps->cur].st;
        base = &ps->drafts[ps->cur].p;
    } else {
        st = &ps->fixed[ps->sect];
        base = ps->cfg;
    }
    for (size_t i = 0; i < sec->nkeys; i++) {
        if (!xb_view_eq_ci(it->name, sec->keys[i].name))
            continue;
        if (st->key_line[i])
            return key_fail(ps, it, "given twice in this section (first at line %u)",
                            st->key_line[i]);
        st->key_line[i] = it->line;
        return set_value(ps, it, &sec->keys[i], base);
    }
    char allowed[400] = "";
    size_t pos = 0;
    for (size_t i = 0; i < sec->nkeys && pos < sizeof(allowed); i++)
        pos += (size_t)snprintf(allowed + pos, sizeof(allowed) - pos, "%s%s", i ? ", " : "",
                                sec->keys[i].name);
    return key_fail(ps, it, "unknown key; [%s] has %s", sec->name, allowed);
}

/* ---------------------------------------------------------------- whole-file checks */

static enum xb_err check_listeners(struct parser *ps)
{
    const struct xb_listen *ls = ps->cfg->listen;
    char host[XB_PROTO__COUNT][HOST_MAX];
    unsigned port[XB_PROTO__COUNT];
    for (int i = 0; i < XB_PROTO__COUNT; i++) {
        const char *key = proxy_keys[PX_IMAP_LISTEN + i].name;
        unsigned line = ps->fixed[S_PROXY].key_line[PX_IMAP_LISTEN + i];
        if (!ls[i].addr)
            continue;
        if (!xb_hostport_parse(ls[i].addr, host[i], sizeof(host[i]), &port[i], true))
            return XB_ERR_INVAL; /* defaults parse and set_value checked the rest */
        if (!ps->cfg->allow_non_loopback && !xb_addr_is_loopback(host[i], strlen(host[i])))
            return fail(ps, line, "key '%s' in [proxy]: %s is not a loopback address; "
                                  "listening on it needs allow_non_loopback = yes", key,
                        ls[i].addr);
        for (int j = 0; j < i; j++) {
            unsigned jline = ps->fixed[S_PROXY].key_line[PX_IMAP_LISTEN + j];
            /* Port 0 asks for any free port: several listeners may do that. */
            if (!ls[j].addr || port[i] == 0 || port[i] != port[j] ||
                !xb_ascii_eq_ci(host[i], strlen(host[i]), host[j]))
                continue;
            /* Blame the key the file set last: the other may be a default. */
            int a = line > jline ? i : j, b = line > jline ? j : i;
            return fail(ps, line > jline ? line : jline, "key '%s' in [proxy]: %s is also "
                        "%s's address; each protocol needs its own port",
                        proxy_keys[PX_IMAP_LISTEN + a].name, ls[a].addr,
                        proxy_keys[PX_IMAP_LISTEN + b].name);
        }
    }
    return XB_OK;
}

/* port_range_start and port_range_end: both or neither, in order, and room for one port
 * per listener that is on. */
static enum xb_err check_port_range(struct parser *ps)
{
    const struct xb_config *c = ps->cfg;
    unsigned sline = ps->fixed[S_PROXY].key_line[PX_RANGE_START];
    unsigned eline = ps->fixed[S_PROXY].key_line[PX_RANGE_END];
    unsigned on = 0;
    for (int i = 0; i < XB_PROTO__COUNT; i++)
        on += c->listen[i].addr != NULL;
    if (!c->port_range_start && !c->port_range_end)
        return XB_OK;
    if (!c->port_range_start || !c->port_range_end)
        return fail(ps, sline ? sline : eline, "key '%s' in [proxy]: set port_range_start and "
                    "port_range_end together", sline ? "port_range_start" : "port_range_end");
    if (c->port_range_end < c->port_range_start)
        return fail(ps, eline, "key 'port_range_end' in [proxy]: %u is below port_range_start "
                    "(%u)", c->port_range_end, c->port_range_start);
    if (c->port_range_end - c->port_range_start + 1 < on)
        return fail(ps, eline > sline ? eline : sline, "key '%s' in [proxy]: %u..%u holds "
                    "%u port(s); each user needs %u (one per listener that is on)",
                    eline > sline ? "port_range_end" : "port_range_start",
                    c->port_range_start, c->port_range_end,
                    c->port_range_end - c->port_range_start + 1, on);
    return XB_OK;
}

static enum xb_tls_mode tls_for_port(int proto, unsigned port)
{
    static const unsigned plain[3][2] = { { 143, 143 }, { 110, 110 }, { 587, 25 } };
    return port == plain[proto][0] || port == plain[proto][1] ? XB_TLS_STARTTLS
                                                              : XB_TLS_IMPLICIT;
}

static void move_str(char **dst, char **src)
{
    xb_free_str_secret(*dst);
    *dst = *src;
    *src = NULL;
}

/* The preset the draft names, overridden by the keys it gives. */
static enum xb_err build_provider(struct parser *ps, struct draft *d, struct xb_provider **out)
{
    *out = NULL;
    struct xb_provider *p = provider_new(preset_of(d->p.kind), d->p.name, d->p.kind);
    if (!p)
        return XB_ERR_NOMEM;
    for (int i = 0; i < P__COUNT; i++) {
        const struct key *k = &provider_keys[i];
        unsigned char *dst = (unsigned char *)p + k->off;
        unsigned char *src = (unsigned char *)&d->p + k->off;
        if (!d->st.key_line[i])
            continue;
        if (k->type == K_STR || k->type == K_URL) {
            move_str((char **)(void *)dst, (char **)(void *)src);
        } else if (k->type == K_SERVER) {
            struct xb_server *ds = (struct xb_server *)(void *)dst;
            struct xb_server *ss = (struct xb_server *)(void *)src;
            int proto = i - P_IMAP;
            move_str(&ds->host, &ss->host);
            ds->port = ss->port;
            /* A new port without a mode: the mode that port means for the protocol. */
            if (!d->st.key_line[P_IMAP_TLS + proto])
                ds->tls = tls_for_port(proto, ds->port);
        } else if (k->type == K_CHOICE && i != P_PRESET) {
            memcpy(dst, src, sizeof(int));
        }
    }

    char missing[96] = "";
    size_t pos = 0;
    bool any_server = false;
    for (int i = 0; i < XB_PROTO__COUNT; i++)
        any_server = any_server || p->server[i].host;
    const char *need[] = { p->auth_url ? NULL : "auth_url", p->token_url ? NULL : "token_url",
                           p->scope ? NULL : "scope", any_server ? NULL : "a server" };
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (need[i])
            pos += (size_t)snprintf(missing + pos, sizeof(missing) - pos, "%s%s",
                                    pos ? ", " : "", need[i]);
    }
    if (pos) {
        provider_free(p);
        return fail(ps, d->st.header_line, "section [provider.%s]: %s provider needs auth_url, "
                                           "token_url, scope and at least one of imap, pop3, "
                                           "smtp; missing: %s", d->p.name,
                    d->p.kind == XB_PROVIDER_CUSTOM ? "a custom" : "a", missing);
    }
    if (p->identity == XB_IDENTITY_ID_TOKEN && (!p->identity_claims || !*p->identity_claims)) {
        if (!dup_opt(&p->identity_claims, "email")) {
            provider_free(p);
            return XB_ERR_NOMEM;
        }
    }
    /* Who signed in is read from an ID token whose issuer must be known (Microsoft's
     * multi-tenant endpoint names the tenant's instead: oauth.md). */
    if (p->identity == XB_IDENTITY_ID_TOKEN && !p->issuer && p->kind != XB_PROVIDER_MICROSOFT) {
        unsigned line = d->st.key_line[P_IDENTITY] ? d->st.key_line[P_IDENTITY]
                                                   : d->st.header_line;
        provider_free(p);
        return fail(ps, line, "section [provider.%s]: identity = id_token needs issuer (the "
                              "provider's OpenID Connect issuer)", d->p.name);
    }
    *out = p;
    return XB_OK;
}

static enum xb_err apply_providers(struct parser *ps)
{
    for (size_t i = 0; i < ps->ndrafts; i++) {
        struct xb_provider *p;
        enum xb_err err = build_provider(ps, &ps->drafts[i], &p);
        if (err)
            return err;
        struct xb_provider **pp = &ps->cfg->providers;
        while (*pp && strcmp((*pp)->name, p->name) != 0)
            pp = &(*pp)->next;
        if (*pp) { /* a preset the file redefines keeps its place */
            p->next = (*pp)->next;
            provider_free(*pp);
        }
        *pp = p;
    }
    return XB_OK;
}

static void drafts_free(struct parser *ps)
{
    for (size_t i = 0; i < ps->ndrafts; i++)
        provider_clear(&ps->drafts[i].p);
    xb_free(ps->drafts);
}

/* ---------------------------------------------------------------- public */

enum xb_err xb_config_new_default(struct xb_config **out)
{
    enum xb_err err = XB_ERR_NOMEM;
    struct xb_config *cfg = xb_new(struct xb_config);
    *out = NULL;
    if (!cfg)
        return XB_ERR_NOMEM;
    cfg->log_level = XB_LOG_INFO;
    cfg->max_sessions = 1000;
    cfg->same_user_only = true;
    cfg->early_connections = true;
    cfg->port_range_on = true;
    cfg->line_max = 8192;
    cfg->literal_max = 65536;
    cfg->connect_timeout = 30;
    cfg->login_timeout = 60;
    cfg->idle_timeout = 1860; /* clients re-IDLE every 29 min; RFC 9051 autologout >= 30 */
    cfg->preauth_timeout = 120;
    cfg->signin_timeout = 300;
    if (!(cfg->listen[XB_PROTO_IMAP].addr = xb_strdup("127.0.0.1:1143")) ||
        !(cfg->listen[XB_PROTO_POP3].addr = xb_strdup("127.0.0.1:1110")) ||
        !(cfg->listen[XB_PROTO_SMTP].addr = xb_strdup("127.0.0.1:1587")))
        goto out;
    /* No default directory (no HOME): left NULL, and parsing a file then asks for one. */
    if (xb_plat_default_state_dir(&cfg->state_dir) == XB_ERR_NOMEM)
        goto out;
    struct xb_provider **tail = &cfg->providers;
    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
        if (!(*tail = provider_new(&presets[i], presets[i].name, presets[i].kind)))
            goto out;
        tail = &(*tail)->next;
    }
    err = XB_OK;
out:
    if (err)
        xb_config_free(cfg);
    else
        *out = cfg;
    return err;
}

enum xb_err xb_config_parse(const char *name, const char *text, size_t len,
                            struct xb_config **out, char **errmsg)
{
    struct parser ps = { .file = name ? name : "(config)", .errmsg = errmsg, .sect = S_NONE };
    struct xb_ini ini;
    struct xb_ini_item it;
    enum xb_ini_kind kind;
    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    enum xb_err err = xb_config_new_default(&ps.cfg);
    if (err)
        return err;
    if (!(ps.cfg->path = xb_strdup(ps.file))) {
        err = XB_ERR_NOMEM;
        goto out;
    }
    xb_ini_init(&ini, text ? text : "", text ? len : 0);
    while ((kind = xb_ini_next(&ini, &it)) != XB_INI_END) {
        if (kind == XB_INI_ERROR)
            err = fail(&ps, it.line, "%s", it.error);
        else if (kind == XB_INI_SECTION)
            err = enter_section(&ps, &it);
        else
            err = on_key(&ps, &it);
        if (err)
            goto out;
    }
    if ((err = check_listeners(&ps)) || (err = check_port_range(&ps)) ||
        (err = apply_providers(&ps)))
        goto out;
    if (!ps.cfg->state_dir) {
        unsigned line = ps.fixed[S_GENERAL].key_line[0];
        err = fail(&ps, line, "key 'state_dir' in [general]: %s", line
                   ? "empty: give the directory for the account store"
                   : "no default here (XDG_STATE_HOME and HOME, or LOCALAPPDATA on Windows, "
                     "are unset): give the directory for the account store");
    }
out:
    drafts_free(&ps);
    if (err)
        xb_config_free(ps.cfg);
    else
        *out = ps.cfg;
    return err;
}

enum xb_err xb_config_load(const char *path, struct xb_config **out, char **errmsg)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    /* The platform's reader: on Windows a UTF-8 path goes to the wide API, so a profile
     * folder with a Japanese user name works (stdio would use the ANSI code page). */
    enum xb_err err = xb_plat_file_read(path, &buf, &len, CONFIG_FILE_MAX);
    switch (err) {
    case XB_OK:
        err = xb_config_parse(path, (const char *)buf, len, out, errmsg);
        break;
    case XB_ERR_NOTFOUND:
        why = "no such file";
        break;
    case XB_ERR_RANGE:
        why = "larger than 1 MiB; a config file is a few kilobytes";
        break;
    case XB_ERR_NOMEM:
        break;
    default:
        why = "cannot read it";
        break;
    }
    xb_free(buf);
    if (why)
        xb_errmsg(errmsg, "%s: %s", path, why);
    return err;
}

enum xb_err xb_config_set(struct xb_config *cfg, const char *section, const char *key,
                          const char *value, const char *origin, char **errmsg)
{
    static const char prefix[] = "provider.";
    const size_t plen = sizeof(prefix) - 1;
    struct parser ps = { .file = origin ? origin : "(override)", .cfg = cfg, .errmsg = errmsg,
                         .sect = S_NONE };
    struct xb_ini_item it = { .line = 0, .name = { key, strlen(key) },
                              .value = { value, strlen(value) } };
    void *base = cfg;
    if (errmsg)
        *errmsg = NULL;
    ps.sect_name = (struct xb_view){ section, strlen(section) };
    for (enum sect sc = 0; sc < S__FIXED; sc++) {
        if (xb_ascii_eq_ci(section, strlen(section), sections[sc].name))
            ps.sect = sc;
    }
    if (ps.sect == S_NONE && strlen(section) > plen && xb_ascii_eq_ci(section, plen, prefix)) {
        for (struct xb_provider *p = cfg->providers; p && ps.sect == S_NONE; p = p->next) {
            if (xb_ascii_eq_ci(section + plen, strlen(section + plen), p->name)) {
                ps.sect = S_PROVIDER;
                base = p;
            }
        }
    }
    if (ps.sect == S_NONE)
        return XB_ERR_NOTFOUND;
    const struct section *sec = &sections[ps.sect];
    for (size_t i = 0; i < sec->nkeys; i++) {
        const struct key *k = &sec->keys[i];
        if (!xb_view_eq_ci(it.name, k->name))
            continue;
        /* What only the whole file can check (listeners against each other, a preset under
         * the other keys, a state directory) is not overridden afterwards. */
        if (k->type == K_LISTEN || (ps.sect == S_PROVIDER && i == P_PRESET))
            return XB_ERR_UNSUPPORTED;
        if (!*value && base == cfg && k->off == CFG(state_dir))
            return key_fail(&ps, &it, "empty: give the directory for the account store");
        return set_value(&ps, &it, k, base);
    }
    return XB_ERR_NOTFOUND;
}

void xb_config_free(struct xb_config *cfg)
{
    if (!cfg)
        return;
    xb_free(cfg->path);
    xb_free(cfg->state_dir);
    xb_free(cfg->log_file);
    xb_free_str_secret(cfg->web_proxy.url); /* may hold the proxy's password */
    for (int i = 0; i < XB_PROTO__COUNT; i++)
        xb_free(cfg->listen[i].addr);
    xb_free(cfg->ca_file);
    xb_free(cfg->browser);
    while (cfg->providers) {
        struct xb_provider *next = cfg->providers->next;
        provider_free(cfg->providers);
        cfg->providers = next;
    }
    xb_free(cfg);
}

const struct xb_provider *xb_config_provider(const struct xb_config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (const struct xb_provider *p = cfg->providers; p; p = p->next) {
        if (xb_ascii_eq_ci(p->name, strlen(p->name), name))
            return p;
    }
    return NULL;
}

const struct xb_provider *xb_config_provider_for(const struct xb_config *cfg,
                                                 const char *name, const char *email)
{
    const struct xb_provider *p = xb_config_provider(cfg, name);
    const char *at = email ? strrchr(email, '@') : NULL;
    if (!p || !at)
        return p;
    for (const struct xb_provider *d = p->domain_clients; d; d = d->next) {
        if (xb_ascii_eq_ci(d->for_domain, strlen(d->for_domain), at + 1))
            return d;
    }
    return p;
}

/* A copy of b, its own per-domain clients left out. */
static struct xb_provider *provider_copy(const struct xb_provider *b)
{
    struct xb_provider *p = xb_new(struct xb_provider);
    if (!p)
        return NULL;
    p->kind = b->kind;
    p->identity = b->identity;
    p->sasl = b->sasl;
    bool ok = dup_opt(&p->name, b->name) && dup_opt(&p->auth_url, b->auth_url) &&
              dup_opt(&p->token_url, b->token_url) && dup_opt(&p->revoke_url, b->revoke_url) &&
              dup_opt(&p->scope, b->scope) && dup_opt(&p->issuer, b->issuer) &&
              dup_opt(&p->identity_claims, b->identity_claims);
    for (int i = 0; ok && i < XB_PROTO__COUNT; i++) {
        p->server[i] = b->server[i];
        p->server[i].host = NULL;
        ok = dup_opt(&p->server[i].host, b->server[i].host);
    }
    if (!ok) {
        provider_free(p);
        return NULL;
    }
    return p;
}

static struct xb_view view_trim(struct xb_view v)
{
    while (v.len && (v.p[0] == ' ' || v.p[0] == '\t')) {
        v.p++;
        v.len--;
    }
    while (v.len && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
        v.len--;
    return v;
}

/* A domain name as mail addresses use it: labels of letters, digits and '-'. */
static bool domain_ok(const char *d)
{
    size_t label = 0, n = strlen(d);
    if (!n || n > 253 || d[n - 1] == '.')
        return false;
    for (const char *c = d; *c; c++) {
        if (*c == '.') {
            if (!label)
                return false;
            label = 0;
        } else if (xb_ascii_is_digit(*c) ||
                   (xb_ascii_lower(*c) >= 'a' && xb_ascii_lower(*c) <= 'z') || *c == '-') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

/* One "name=value" of a domain client's spec into fields[] by name. */
static enum xb_err spec_item(struct xb_view item, char *fields[3], char **errmsg,
                             const char *origin)
{
    static const char *const names[3] = { "client_id", "client_secret", "hosted_domain" };
    const char *eq = memchr(item.p, '=', item.len);
    struct xb_view name = { item.p, eq ? (size_t)(eq - item.p) : item.len };
    struct xb_view value = { eq ? eq + 1 : NULL, eq ? item.len - name.len - 1 : 0 };
    name = view_trim(name);
    value = view_trim(value);
    for (int i = 0; i < 3; i++) {
        if (!xb_view_eq_ci(name, names[i]))
            continue;
        if (!eq || !value.len) {
            xb_errmsg(errmsg, "%s: '%s' has no value: write %s=...", origin, names[i],
                      names[i]);
            return XB_ERR_INVAL;
        }
        char *s = xb_strndup(value.p, value.len);
        if (!s)
            return XB_ERR_NOMEM;
        xb_free_str_secret(fields[i]);
        fields[i] = s;
        return XB_OK;
    }
    xb_errmsg(errmsg, "%s: '%.*s' is not client_id, client_secret or hosted_domain "
              "(write client_id=ID; client_secret=SECRET; hosted_domain=DOMAIN)", origin,
              (int)(name.len > 40 ? 40 : name.len), name.p);
    return XB_ERR_INVAL;
}

enum xb_err xb_config_set_domain_client(struct xb_config *cfg, const char *provider,
                                        const char *domain, const char *spec,
                                        const char *origin, char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    struct xb_provider *base = cfg->providers;
    while (base && !xb_ascii_eq_ci(base->name, strlen(base->name), provider))
        base = base->next;
    if (!base)
        return XB_ERR_NOTFOUND;
    if (!domain_ok(domain)) {
        xb_errmsg(errmsg, "%s: the name is not a mail domain (such as st.example.ac.jp)",
                  origin);
        return XB_ERR_INVAL;
    }
    char *fields[3] = { NULL, NULL, NULL }; /* client_id, client_secret, hosted_domain */
    enum xb_err err = XB_OK;
    for (const char *s = spec; err == XB_OK && *s;) {
        size_t len = strcspn(s, ";");
        struct xb_view item = view_trim((struct xb_view){ s, len });
        if (item.len)
            err = spec_item(item, fields, errmsg, origin);
        s += len + (s[len] == ';');
    }
    if (err == XB_OK && !fields[0]) {
        xb_errmsg(errmsg, "%s: no client_id (write client_id=ID; client_secret=SECRET)",
                  origin);
        err = XB_ERR_INVAL;
    }
    struct xb_provider *p = NULL;
    if (err == XB_OK && (!(p = provider_copy(base)) || !(p->for_domain = xb_strdup(domain))))
        err = XB_ERR_NOMEM;
    if (err != XB_OK) {
        provider_free(p);
        xb_free(fields[0]);
        xb_free_str_secret(fields[1]);
        xb_free(fields[2]);
        return err;
    }
    for (char *c = p->for_domain; *c; c++)
        *c = xb_ascii_lower(*c);
    p->client_id = fields[0];
    p->client_secret = fields[1];
    p->hosted_domain = fields[2];
    for (struct xb_provider **d = &base->domain_clients; *d; d = &(*d)->next) {
        if (strcmp((*d)->for_domain, p->for_domain) == 0) {
            struct xb_provider *old = *d;
            *d = old->next;
            provider_free(old);
            break;
        }
    }
    p->next = base->domain_clients;
    base->domain_clients = p;
    return XB_OK;
}
