/* The config file: defaults, presets, every key, every kind of error and its message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/config.h"
#include "core/mem.h"
#include "platform/platform.h"

#include "xbtest.h"

/* Parses text as "t.ini"; NULL (and the message printed) if it failed. */
static struct xb_config *parse_ok(const char *text)
{
    struct xb_config *cfg = NULL;
    char *msg = NULL;
    enum xb_err err = xb_config_parse("t.ini", text, strlen(text), &cfg, &msg);
    CHECK(err == XB_OK);
    if (err)
        printf("#   unexpected error: %s\n", msg ? msg : "(no message)");
    CHECK(msg == NULL);
    xb_free(msg);
    return cfg;
}

static void expect_error(const char *text, size_t len, const char *want)
{
    struct xb_config *cfg = (struct xb_config *)1;
    char *msg = NULL;
    enum xb_err err = xb_config_parse("t.ini", text, len, &cfg, &msg);
    CHECK(err == XB_ERR_INVAL);
    CHECK(cfg == NULL);
    CHECK_STR(msg, want);
    xb_free(msg);
}

#define EXPECT_ERROR(text, want) expect_error((text), sizeof(text) - 1, (want))

static void check_server(const struct xb_server *s, const char *host, unsigned port,
                         enum xb_tls_mode tls)
{
    if (host)
        CHECK_STR(s->host, host);
    else
        CHECK(s->host == NULL);
    CHECK(s->port == port);
    CHECK(s->tls == tls);
}

static void defaults(void)
{
    struct xb_config *cfg = NULL;
    CHECK(xb_config_new_default(&cfg) == XB_OK);
    if (!cfg)
        return;
    CHECK_STR(cfg->listen[XB_PROTO_IMAP].addr, "127.0.0.1:1143");
    CHECK_STR(cfg->listen[XB_PROTO_POP3].addr, "127.0.0.1:1110");
    CHECK_STR(cfg->listen[XB_PROTO_SMTP].addr, "127.0.0.1:1587");
    CHECK(!cfg->allow_non_loopback && !cfg->local_starttls);
    CHECK(cfg->early_connections);
    CHECK(cfg->max_sessions == 1000);
    CHECK(cfg->line_max == 8192 && cfg->literal_max == 65536);
    CHECK(cfg->connect_timeout == 30 && cfg->login_timeout == 60);
    CHECK(cfg->idle_timeout == 1860 && cfg->preauth_timeout == 120);
    CHECK(cfg->signin_timeout == 300);
    CHECK(cfg->log_level == XB_LOG_INFO);
    CHECK(cfg->log_file == NULL && cfg->ca_file == NULL && cfg->browser == NULL);
    CHECK(cfg->path == NULL);
    CHECK(cfg->state_dir != NULL);

    const struct xb_provider *g = xb_config_provider(cfg, "google");
    CHECK(g && g == cfg->providers && g->kind == XB_PROVIDER_GOOGLE);
    if (g) {
        CHECK_STR(g->auth_url, "https://accounts.google.com/o/oauth2/v2/auth");
        CHECK_STR(g->token_url, "https://oauth2.googleapis.com/token");
        CHECK_STR(g->revoke_url, "https://oauth2.googleapis.com/revoke");
        CHECK_STR(g->scope, "https://mail.google.com/");
        CHECK_STR(g->issuer, "https://accounts.google.com");
        CHECK(g->client_id == NULL && g->client_secret == NULL && g->hosted_domain == NULL);
        check_server(&g->server[XB_PROTO_IMAP], "imap.gmail.com", 993, XB_TLS_IMPLICIT);
        check_server(&g->server[XB_PROTO_POP3], "pop.gmail.com", 995, XB_TLS_IMPLICIT);
        check_server(&g->server[XB_PROTO_SMTP], "smtp.gmail.com", 465, XB_TLS_IMPLICIT);
        CHECK(g->sasl == XB_SASL_XOAUTH2);
    }
    const struct xb_provider *m = xb_config_provider(cfg, "Microsoft");
    CHECK(m && m->kind == XB_PROVIDER_MICROSOFT && m->next == NULL);
    if (m) {
        CHECK_STR(m->auth_url,
                  "https://login.microsoftonline.com/common/oauth2/v2.0/authorize");
        CHECK_STR(m->token_url, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
        CHECK(m->revoke_url == NULL && m->issuer == NULL && m->client_id == NULL);
        CHECK_STR(m->scope, "https://outlook.office.com/IMAP.AccessAsUser.All "
                            "https://outlook.office.com/POP.AccessAsUser.All "
                            "https://outlook.office.com/SMTP.Send offline_access");
        check_server(&m->server[XB_PROTO_IMAP], "outlook.office365.com", 993, XB_TLS_IMPLICIT);
        check_server(&m->server[XB_PROTO_POP3], "outlook.office365.com", 995, XB_TLS_IMPLICIT);
        check_server(&m->server[XB_PROTO_SMTP], "smtp.office365.com", 587, XB_TLS_STARTTLS);
        CHECK(m->sasl == XB_SASL_XOAUTH2);
    }
    CHECK(xb_config_provider(cfg, "yahoo") == NULL);
    CHECK(xb_config_provider(cfg, NULL) == NULL);
    xb_config_free(cfg);
    xb_config_free(NULL);

    /* An empty file is the defaults, and remembers its name. */
    cfg = parse_ok("");
    CHECK(cfg && cfg->max_sessions == 1000);
    CHECK_STR(cfg ? cfg->path : NULL, "t.ini");
    xb_config_free(cfg);
}

static void default_state_dir(void)
{
    char *dir = NULL;
    CHECK(xb_plat_default_state_dir(&dir) == XB_OK);
    CHECK(dir != NULL);
#ifdef _WIN32
    static const char leaf[] = "\\XOAuthBridge";
#else
    static const char leaf[] = "/xoauthbridge";
#endif
    size_t n = dir ? strlen(dir) : 0;
    CHECK(n > sizeof(leaf) - 1 && strcmp(dir + n - (sizeof(leaf) - 1), leaf) == 0);
    xb_free(dir);
#ifndef _WIN32
    /* XDG_STATE_HOME wins when absolute; a relative one is ignored, as the spec says. */
    const char *old_xdg = getenv("XDG_STATE_HOME");
    char *saved = old_xdg ? xb_strdup(old_xdg) : NULL;
    setenv("XDG_STATE_HOME", "/var/tmp/st", 1);
    CHECK(xb_plat_default_state_dir(&dir) == XB_OK);
    CHECK_STR(dir, "/var/tmp/st/xoauthbridge");
    xb_free(dir);
    setenv("XDG_STATE_HOME", "relative", 1);
    CHECK(xb_plat_default_state_dir(&dir) == XB_OK);
    CHECK(dir && strstr(dir, "/.local/state/xoauthbridge") != NULL);
    xb_free(dir);

    /* Neither set: no default, and a file must then name the directory. */
    const char *old_home = getenv("HOME");
    char *saved_home = old_home ? xb_strdup(old_home) : NULL;
    unsetenv("XDG_STATE_HOME");
    unsetenv("HOME");
    CHECK(xb_plat_default_state_dir(&dir) == XB_ERR_NOTFOUND && dir == NULL);
    struct xb_config *cfg = NULL;
    CHECK(xb_config_new_default(&cfg) == XB_OK && cfg && cfg->state_dir == NULL);
    xb_config_free(cfg);
    EXPECT_ERROR("[general]\nlog_level = info\n",
                 "t.ini: key 'state_dir' in [general]: no default here (XDG_STATE_HOME and "
                 "HOME, or LOCALAPPDATA on Windows, are unset): give the directory for the "
                 "account store");
    cfg = parse_ok("[general]\nstate_dir = /srv/xb\n");
    CHECK_STR(cfg ? cfg->state_dir : NULL, "/srv/xb");
    xb_config_free(cfg);
    if (saved_home)
        setenv("HOME", saved_home, 1);
    xb_free(saved_home);
    if (saved)
        setenv("XDG_STATE_HOME", saved, 1);
    xb_free(saved);
#endif
}

static void full_file(void)
{
    static const char text[] =
        "# every key\n"
        "[general]\n"
        "state_dir = /srv/xb/state\n"
        "log_level = DEBUG\n"
        "log_file = /var/log/xb.log\n"
        "browser = firefox --new-window\n"
        "signin_timeout = 600\n"
        "\n"
        "[proxy]\n"
        "imap_listen = 127.0.0.2:2143\n"
        "pop3_listen = off\n"
        "smtp_listen = localhost:2587\n"
        "allow_non_loopback = no\n"
        "local_starttls = on\n"
        "early_connections = no\n"
        "max_sessions = 100000\n"
        "line_max = 512\n"
        "literal_max = 0\n"
        "connect_timeout = 1\n"
        "login_timeout = 86400\n"
        "idle_timeout = 3600\n"
        "preauth_timeout = 15\n"
        "\n"
        "[tls]\n"
        "ca_file = /etc/xb/ca.pem\n"
        "\n"
        "[provider.google]\n"
        "client_id = 123.apps.googleusercontent.com\n"
        "client_secret = GOCSPX-abc\n"
        "auth_url = https://auth.example.com/a\n"
        "token_url = https://auth.example.com/t\n"
        "revoke_url =\n"
        "scope = https://mail.google.com/ openid\n"
        "hosted_domain = example.com\n"
        "issuer = https://auth.example.com\n"
        "imap = imap.example.com:143\n"
        "pop3 =\n"
        "smtp = smtp.example.com:2465\n"
        "imap_tls = starttls\n"
        "smtp_tls = starttls\n"
        "sasl = oauthbearer\n";
    struct xb_config *cfg = parse_ok(text);
    if (!cfg)
        return;
    CHECK_STR(cfg->state_dir, "/srv/xb/state");
    CHECK(cfg->log_level == XB_LOG_DEBUG);
    CHECK_STR(cfg->log_file, "/var/log/xb.log");
    CHECK_STR(cfg->browser, "firefox --new-window");
    CHECK(cfg->signin_timeout == 600);
    CHECK_STR(cfg->listen[XB_PROTO_IMAP].addr, "127.0.0.2:2143");
    CHECK(cfg->listen[XB_PROTO_POP3].addr == NULL);
    CHECK_STR(cfg->listen[XB_PROTO_SMTP].addr, "localhost:2587");
    CHECK(!cfg->allow_non_loopback && cfg->local_starttls);
    CHECK(!cfg->early_connections);
    CHECK(cfg->max_sessions == 100000 && cfg->line_max == 512 && cfg->literal_max == 0);
    CHECK(cfg->connect_timeout == 1 && cfg->login_timeout == 86400);
    CHECK(cfg->idle_timeout == 3600 && cfg->preauth_timeout == 15);
    CHECK_STR(cfg->ca_file, "/etc/xb/ca.pem");
    const struct xb_provider *g = xb_config_provider(cfg, "google");
    CHECK(g && g == cfg->providers && g->kind == XB_PROVIDER_GOOGLE);
    if (g) {
        CHECK_STR(g->client_id, "123.apps.googleusercontent.com");
        CHECK_STR(g->client_secret, "GOCSPX-abc");
        CHECK_STR(g->auth_url, "https://auth.example.com/a");
        CHECK_STR(g->token_url, "https://auth.example.com/t");
        CHECK(g->revoke_url == NULL);
        CHECK_STR(g->scope, "https://mail.google.com/ openid");
        CHECK_STR(g->hosted_domain, "example.com");
        CHECK_STR(g->issuer, "https://auth.example.com");
        check_server(&g->server[XB_PROTO_IMAP], "imap.example.com", 143, XB_TLS_STARTTLS);
        check_server(&g->server[XB_PROTO_POP3], NULL, 0, XB_TLS_IMPLICIT);
        check_server(&g->server[XB_PROTO_SMTP], "smtp.example.com", 2465, XB_TLS_STARTTLS);
        CHECK(g->sasl == XB_SASL_OAUTHBEARER);
    }
    /* The other preset is untouched. */
    const struct xb_provider *m = xb_config_provider(cfg, "microsoft");
    CHECK(m && m->client_id == NULL && m->server[XB_PROTO_SMTP].port == 587);
    xb_config_free(cfg);
}

static void crlf_bom_comments_blanks(void)
{
    static const char text[] = "\xEF\xBB\xBF; a comment first\r\n"
                               "[General]\r\n"
                               "  LOG_LEVEL\t=\twarn  \r\n"
                               "\r\n"
                               "   # indented comment\r\n"
                               "[proxy]\r\n"
                               "max_sessions=7\r\n"
                               "line_max = 4096"; /* no final line end */
    struct xb_config *cfg = parse_ok(text);
    CHECK(cfg && cfg->log_level == XB_LOG_WARN && cfg->max_sessions == 7);
    CHECK(cfg && cfg->line_max == 4096);
    xb_config_free(cfg);

    /* Line numbers count CRLF lines, and the BOM does not shift them. */
    EXPECT_ERROR("\xEF\xBB\xBF[proxy]\r\n\r\nmax_sessions = 0\r\n",
                 "t.ini:3: key 'max_sessions' in [proxy]: '0' is not a whole number from 1 "
                 "to 100000");
    /* A BOM anywhere else is just bad text. */
    EXPECT_ERROR("[proxy]\n\xEF\xBB\xBF" "max_sessions = 1\n",
                 "t.ini:2: key before '=' must be letters, digits, '_', '-' and '.'");
}

static void quoted_values(void)
{
    static const char text[] = "[general]\n"
                               "browser = \"  spaced out  \"\n"
                               "log_file = \"\"\n"
                               "state_dir = \"C:\\Users\\a \"b\" c\"\n"
                               "[provider.google]\n"
                               "client_secret = \"#not a comment; really\"\n"
                               "client_id = # kept as is\n";
    struct xb_config *cfg = parse_ok(text);
    if (!cfg)
        return;
    CHECK_STR(cfg->browser, "  spaced out  ");
    CHECK(cfg->log_file == NULL);
    CHECK_STR(cfg->state_dir, "C:\\Users\\a \"b\" c");
    const struct xb_provider *g = xb_config_provider(cfg, "google");
    CHECK_STR(g ? g->client_secret : NULL, "#not a comment; really");
    CHECK_STR(g ? g->client_id : NULL, "# kept as is");
    xb_config_free(cfg);

    EXPECT_ERROR("[general]\nbrowser = \"open\n",
                 "t.ini:2: value opens a '\"' quote but does not end with one");
    EXPECT_ERROR("[general]\nbrowser = \"\n",
                 "t.ini:2: value opens a '\"' quote but does not end with one");
}

static void preset_partial_override(void)
{
    static const char text[] = "[provider.google]\n"
                               "client_id = 42.apps.googleusercontent.com\n"
                               "smtp = smtp.gmail.com:587\n" /* port implies STARTTLS */
                               "[provider.microsoft]\n"
                               "client_id = 0000-1111\n"
                               "auth_url = https://login.microsoftonline.com/contoso/oauth2/"
                               "v2.0/authorize\n"
                               "pop3 = off\n"
                               "[provider.Work]\n"
                               "preset = google\n"
                               "client_id = work-client\n"
                               "hosted_domain = work.example\n";
    struct xb_config *cfg = parse_ok(text);
    if (!cfg)
        return;
    const struct xb_provider *g = xb_config_provider(cfg, "google");
    CHECK(g && g->kind == XB_PROVIDER_GOOGLE);
    if (g) {
        CHECK_STR(g->client_id, "42.apps.googleusercontent.com");
        CHECK_STR(g->auth_url, "https://accounts.google.com/o/oauth2/v2/auth");
        CHECK_STR(g->revoke_url, "https://oauth2.googleapis.com/revoke");
        check_server(&g->server[XB_PROTO_IMAP], "imap.gmail.com", 993, XB_TLS_IMPLICIT);
        check_server(&g->server[XB_PROTO_SMTP], "smtp.gmail.com", 587, XB_TLS_STARTTLS);
    }
    const struct xb_provider *m = xb_config_provider(cfg, "microsoft");
    CHECK(m && m->kind == XB_PROVIDER_MICROSOFT);
    if (m) {
        CHECK_STR(m->client_id, "0000-1111");
        CHECK_STR(m->auth_url,
                  "https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize");
        CHECK_STR(m->token_url, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
        check_server(&m->server[XB_PROTO_POP3], NULL, 0, XB_TLS_IMPLICIT);
        check_server(&m->server[XB_PROTO_SMTP], "smtp.office365.com", 587, XB_TLS_STARTTLS);
    }
    /* A third provider from a preset: names are kept in lower case, after the presets. */
    const struct xb_provider *w = xb_config_provider(cfg, "WORK");
    CHECK(w && w->kind == XB_PROVIDER_GOOGLE);
    if (w) {
        CHECK_STR(w->name, "work");
        CHECK_STR(w->client_id, "work-client");
        CHECK_STR(w->hosted_domain, "work.example");
        CHECK_STR(w->scope, "https://mail.google.com/");
        check_server(&w->server[XB_PROTO_POP3], "pop.gmail.com", 995, XB_TLS_IMPLICIT);
    }
    CHECK(cfg->providers && cfg->providers->next && cfg->providers->next->next == w);
    xb_config_free(cfg);
}

static void custom_provider(void)
{
    static const char text[] = "[provider.test]\n"
                               "client_id = xoauthbridge-test\n"
                               "auth_url = http://127.0.0.1:3000/auth\n"
                               "token_url = http://localhost:3000/token\n"
                               "issuer = http://[::1]:3000\n"
                               "scope = \"https://mail.google.com/\"\n"
                               "imap = 127.0.0.1:10143\n"
                               "smtp = [::1]:10025\n"
                               "imap_tls = implicit\n";
    struct xb_config *cfg = parse_ok(text);
    const struct xb_provider *t = cfg ? xb_config_provider(cfg, "test") : NULL;
    CHECK(t && t->kind == XB_PROVIDER_CUSTOM);
    if (t) {
        CHECK_STR(t->auth_url, "http://127.0.0.1:3000/auth");
        CHECK_STR(t->token_url, "http://localhost:3000/token");
        CHECK(t->revoke_url == NULL && t->hosted_domain == NULL);
        CHECK_STR(t->issuer, "http://[::1]:3000");
        check_server(&t->server[XB_PROTO_IMAP], "127.0.0.1", 10143, XB_TLS_IMPLICIT);
        check_server(&t->server[XB_PROTO_POP3], NULL, 0, XB_TLS_IMPLICIT);
        check_server(&t->server[XB_PROTO_SMTP], "::1", 10025, XB_TLS_IMPLICIT);
        CHECK(t->sasl == XB_SASL_XOAUTH2);
    }
    xb_config_free(cfg);

    /* An unknown port with no mode given: implicit TLS, never plain text. */
    cfg = parse_ok("[provider.x]\nauth_url = https://a/\ntoken_url = https://a/t\n"
                   "scope = s\npop3 = pop.x.test:1995\nsmtp = smtp.x.test:25\n");
    t = cfg ? xb_config_provider(cfg, "x") : NULL;
    CHECK(t && t->server[XB_PROTO_POP3].tls == XB_TLS_IMPLICIT && t->server[XB_PROTO_SMTP].tls == XB_TLS_STARTTLS);
    xb_config_free(cfg);

    EXPECT_ERROR("[general]\n\n[provider.acme]\nclient_id = x\nimap = mail.acme.test:993\n",
                 "t.ini:3: section [provider.acme]: a custom provider needs auth_url, "
                 "token_url, scope and at least one of imap, pop3, smtp; missing: auth_url, "
                 "token_url, scope");
    EXPECT_ERROR("[provider.acme]\nauth_url = https://a/\ntoken_url = https://a/t\nscope = s\n",
                 "t.ini:1: section [provider.acme]: a custom provider needs auth_url, "
                 "token_url, scope and at least one of imap, pop3, smtp; missing: a server");
    /* A preset that the file empties is incomplete too. */
    EXPECT_ERROR("[provider.google]\nscope =\n",
                 "t.ini:1: section [provider.google]: a provider needs auth_url, token_url, "
                 "scope and at least one of imap, pop3, smtp; missing: scope");
    /* preset = custom on a preset's name starts from nothing. */
    EXPECT_ERROR("[provider.google]\npreset = custom\nclient_id = c\n",
                 "t.ini:1: section [provider.google]: a custom provider needs auth_url, "
                 "token_url, scope and at least one of imap, pop3, smtp; missing: auth_url, "
                 "token_url, scope, a server");
}

static void port_range(void)
{
    struct xb_config *cfg = parse_ok("[proxy]\nport_range_start = 41000\n"
                                     "port_range_end = 41299\n");
    CHECK(cfg && cfg->port_range_start == 41000 && cfg->port_range_end == 41299);
    xb_config_free(cfg);
    cfg = parse_ok("[proxy]\n");
    CHECK(cfg && cfg->port_range_start == 0 && cfg->port_range_end == 0);
    xb_config_free(cfg);
    /* Two listeners on need two ports; one end alone, or the ends swapped, is a mistake. */
    cfg = parse_ok("[proxy]\npop3_listen = off\nport_range_start = 41000\n"
                   "port_range_end = 41001\n");
    CHECK(cfg != NULL);
    xb_config_free(cfg);
    EXPECT_ERROR("[proxy]\nport_range_start = 41000\nport_range_end = 41001\n",
                 "t.ini:3: key 'port_range_end' in [proxy]: 41000..41001 holds 2 port(s); "
                 "each user needs 3 (one per listener that is on)");
    EXPECT_ERROR("[proxy]\nport_range_end = 41001\n",
                 "t.ini:2: key 'port_range_end' in [proxy]: set port_range_start and "
                 "port_range_end together");
    EXPECT_ERROR("[proxy]\nport_range_start = 41000\nport_range_end = 40000\n",
                 "t.ini:3: key 'port_range_end' in [proxy]: 40000 is below port_range_start "
                 "(41000)");
    EXPECT_ERROR("[proxy]\nport_range_start = 80\n",
                 "t.ini:2: key 'port_range_start' in [proxy]: '80' is not a whole number from 1024 "
                 "to 65535");
}

/* [general] web_proxy: system (the default), direct, or http://[user:password@]host:port;
 * a mistake names the file, line and key, and never quotes a password. */
static void web_proxy(void)
{
    struct xb_config *cfg = parse_ok("[general]\n");
    CHECK(cfg && cfg->web_proxy.mode == XB_WEB_PROXY_SYSTEM && !cfg->web_proxy.url);
    xb_config_free(cfg);
    cfg = parse_ok("[general]\nweb_proxy = DIRECT\n");
    CHECK(cfg && cfg->web_proxy.mode == XB_WEB_PROXY_DIRECT && !cfg->web_proxy.url);
    xb_config_free(cfg);
    cfg = parse_ok("[general]\nweb_proxy =\n");
    CHECK(cfg && cfg->web_proxy.mode == XB_WEB_PROXY_SYSTEM);
    xb_config_free(cfg);
    static const char *const good[] = {
        "http://proxy.example.ac.jp:8080", "HTTP://proxy.example.ac.jp:8080/",
        "http://10.0.0.1:3128", "http://[2001:db8::1]:3128",
        "http://alice:s%40cret@proxy.example:8080", "http://alice@proxy.example:8080",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char text[200];
        snprintf(text, sizeof(text), "[general]\nweb_proxy = %s\n", good[i]);
        cfg = parse_ok(text);
        CHECK(cfg && cfg->web_proxy.mode == XB_WEB_PROXY_URL);
        CHECK_STR(cfg ? cfg->web_proxy.url : NULL, good[i]);
        xb_config_free(cfg);
    }
    EXPECT_ERROR("[general]\nweb_proxy = proxy.example:8080\n",
                 "t.ini:2: key 'web_proxy' in [general]: 'proxy.example:8080': not a proxy "
                 "URL; use system, direct or a proxy URL such as "
                 "http://proxy.example.ac.jp:8080");
    EXPECT_ERROR("[general]\nweb_proxy = http://proxy.example\n",
                 "t.ini:2: key 'web_proxy' in [general]: 'http://proxy.example': after "
                 "http:// comes the proxy's host name or address and a port from 1 to 65535 "
                 "(host:port); use system, direct or a proxy URL such as "
                 "http://proxy.example.ac.jp:8080");
    EXPECT_ERROR("[general]\nweb_proxy = socks5://proxy.example:1080\n",
                 "t.ini:2: key 'web_proxy' in [general]: 'socks5://proxy.example:1080': only "
                 "http:// proxies are supported (no SOCKS); use system, direct or a proxy URL "
                 "such as http://proxy.example.ac.jp:8080");
    EXPECT_ERROR("[general]\nweb_proxy = http://proxy.example:8080/pac\n",
                 "t.ini:2: key 'web_proxy' in [general]: 'http://proxy.example:8080/pac': a "
                 "proxy URL has no path: write http://host:port; use system, direct or a "
                 "proxy URL such as http://proxy.example.ac.jp:8080");
    /* A password is never quoted back. */
    EXPECT_ERROR("[general]\nweb_proxy = http://alice:Secret1@proxy.example\n",
                 "t.ini:2: key 'web_proxy' in [general]: the proxy URL is not valid: after "
                 "http:// comes the proxy's host name or address and a port from 1 to 65535 "
                 "(host:port); use system, direct or http://user:password@host:port");
    EXPECT_ERROR("[general]\nweb_proxy = http://a:b@c@proxy.example:8080\n",
                 "t.ini:2: key 'web_proxy' in [general]: the proxy URL is not valid: more "
                 "than one '@': write an '@' in the user name or password as %40; use "
                 "system, direct or http://user:password@host:port");
    /* The override that Group Policy uses checks the same way. */
    cfg = parse_ok("[general]\nweb_proxy = direct\n");
    char *msg = NULL;
    CHECK(xb_config_set(cfg, "general", "web_proxy", "http://p.example:3128", "HKLM\\X",
                        &msg) == XB_OK);
    CHECK(cfg->web_proxy.mode == XB_WEB_PROXY_URL);
    CHECK_STR(cfg->web_proxy.url, "http://p.example:3128");
    CHECK(xb_config_set(cfg, "general", "web_proxy", "system", "HKLM\\X", &msg) == XB_OK);
    CHECK(cfg->web_proxy.mode == XB_WEB_PROXY_SYSTEM && !cfg->web_proxy.url);
    CHECK(xb_config_set(cfg, "general", "web_proxy", "ftp://x", "HKLM\\X", &msg) ==
          XB_ERR_INVAL);
    CHECK(msg && strstr(msg, "HKLM\\X: key 'web_proxy' in [general]"));
    CHECK(cfg->web_proxy.mode == XB_WEB_PROXY_SYSTEM);
    xb_free(msg);
    xb_config_free(cfg);
}

static void ipv6_listen(void)
{
    struct xb_config *cfg = parse_ok("[proxy]\nimap_listen = [::1]:1143\n"
                                     "pop3_listen = [::ffff:127.0.0.1]:1110\n"
                                     "smtp_listen = [0:0:0:0:0:0:0:1]:1587\n");
    CHECK_STR(cfg ? cfg->listen[XB_PROTO_IMAP].addr : NULL, "[::1]:1143");
    CHECK_STR(cfg ? cfg->listen[XB_PROTO_POP3].addr : NULL, "[::ffff:127.0.0.1]:1110");
    xb_config_free(cfg);
    EXPECT_ERROR("[proxy]\nimap_listen = [::]:1143\n",
                 "t.ini:2: key 'imap_listen' in [proxy]: [::]:1143 is not a loopback "
                 "address; listening on it needs allow_non_loopback = yes");
    cfg = parse_ok("[proxy]\nimap_listen = [::]:1143\nsmtp_listen = 0.0.0.0:1587\n"
                   "allow_non_loopback = yes\n");
    CHECK(cfg && cfg->allow_non_loopback);
    CHECK_STR(cfg ? cfg->listen[XB_PROTO_SMTP].addr : NULL, "0.0.0.0:1587");
    xb_config_free(cfg);
    /* Port 0 (any free port, for tests) may be shared by all three listeners. */
    cfg = parse_ok("[proxy]\nimap_listen = 127.0.0.1:0\npop3_listen = 127.0.0.1:0\n"
                   "smtp_listen = 127.0.0.1:0\n");
    CHECK_STR(cfg ? cfg->listen[XB_PROTO_POP3].addr : NULL, "127.0.0.1:0");
    xb_config_free(cfg);
    EXPECT_ERROR("[provider.google]\nimap = imap.gmail.com:0\n",
                 "t.ini:2: key 'imap' in [provider.google]: 'imap.gmail.com:0' is not "
                 "host:port or [IPv6]:port with a port from 1 to 65535; empty or 'off' "
                 "turns it off");
}

static void error_messages(void)
{
    EXPECT_ERROR("[nope]\n", "t.ini:1: unknown section [nope]: use [general], [proxy], "
                             "[tls] or [provider.NAME]");
    EXPECT_ERROR("[provider.]\n", "t.ini:1: unknown section [provider.]: use [general], "
                                  "[proxy], [tls] or [provider.NAME]");
    EXPECT_ERROR("[general]\n\nfoo = 1\n",
                 "t.ini:3: key 'foo' in [general]: unknown key; [general] has state_dir, "
                 "log_level, log_file, browser, signin_timeout, web_proxy");
    EXPECT_ERROR("[tls]\ncafile = x\n",
                 "t.ini:2: key 'cafile' in [tls]: unknown key; [tls] has ca_file");
    EXPECT_ERROR("[provider.google]\nclientid = x\n",
                 "t.ini:2: key 'clientid' in [provider.google]: unknown key; "
                 "[provider.NAME] has preset, client_id, client_secret, auth_url, token_url, "
                 "revoke_url, scope, hosted_domain, issuer, imap, pop3, smtp, imap_tls, "
                 "pop3_tls, smtp_tls, sasl, identity, identity_claims");
    /* Who signed in is read from an ID token whose issuer must be known. */
    EXPECT_ERROR("[provider.corp]\nauth_url = https://idp.example/a\n"
                 "token_url = https://idp.example/t\nscope = mail\nimap = imap.example:993\n"
                 "identity = id_token\n",
                 "t.ini:6: section [provider.corp]: identity = id_token needs issuer (the "
                 "provider's OpenID Connect issuer)");
    EXPECT_ERROR("[provider.corp]\nidentity = signature\n",
                 "t.ini:2: key 'identity' in [provider.corp]: 'signature' is not a check of "
                 "who signed in: use none or id_token");
    EXPECT_ERROR("log_level = info\n",
                 "t.ini:1: key 'log_level' is outside any section: put it under [general], "
                 "[proxy], [tls] or [provider.NAME]");

    /* Numbers: digits only, in range; strtoul's tolerance of signs and spaces refused. */
    static const struct {
        const char *text, *want;
    } numbers[] = {
        { "[proxy]\nmax_sessions = 100001\n", "'100001' is not a whole number from 1 to 100000" },
        { "[proxy]\nmax_sessions = -1\n", "'-1' is not a whole number from 1 to 100000" },
        { "[proxy]\nmax_sessions = +5\n", "'+5' is not a whole number from 1 to 100000" },
        { "[proxy]\nmax_sessions = 5x\n", "'5x' is not a whole number from 1 to 100000" },
        { "[proxy]\nmax_sessions = 0x10\n", "'0x10' is not a whole number from 1 to 100000" },
        { "[proxy]\nmax_sessions =\n", "'' is not a whole number from 1 to 100000" },
        { "[proxy]\nmax_sessions = 99999999999999999999999\n",
          "'99999999999999999999999' is not a whole number from 1 to 100000" },
        { "[proxy]\nline_max = 511\n", "'511' is not a whole number from 512 to 1048576" },
        { "[proxy]\nline_max = 1048577\n",
          "'1048577' is not a whole number from 512 to 1048576" },
        { "[proxy]\nliteral_max = 16777217\n",
          "'16777217' is not a whole number from 0 to 16777216" },
        { "[proxy]\nidle_timeout = 86401\n", "'86401' is not a whole number from 1 to 86400" },
        { "[proxy]\nconnect_timeout = 0\n", "'0' is not a whole number from 1 to 86400" },
        { "[general]\nsignin_timeout = 1 0\n", "'1 0' is not a whole number from 1 to 86400" },
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        char want[256];
        const char *key = strchr(numbers[i].text, '\n') + 1;
        const char *sect = numbers[i].text[1] == 'p' ? "proxy" : "general";
        snprintf(want, sizeof(want), "t.ini:2: key '%.*s' in [%s]: %s",
                 (int)(strchr(key, ' ') - key), key, sect, numbers[i].want);
        expect_error(numbers[i].text, strlen(numbers[i].text), want);
    }

    EXPECT_ERROR("[proxy]\nallow_non_loopback = maybe\n",
                 "t.ini:2: key 'allow_non_loopback' in [proxy]: 'maybe' is not a boolean: "
                 "use yes/no, true/false, on/off or 1/0");
    EXPECT_ERROR("[proxy]\nimap_listen = 127.0.0.1\n",
                 "t.ini:2: key 'imap_listen' in [proxy]: '127.0.0.1' is not host:port or "
                 "[IPv6]:port with a port from 0 to 65535; empty or 'off' turns it off");
    EXPECT_ERROR("[provider.google]\nsmtp = smtp.gmail.com:0\n",
                 "t.ini:2: key 'smtp' in [provider.google]: 'smtp.gmail.com:0' is not "
                 "host:port or [IPv6]:port with a port from 1 to 65535; empty or 'off' "
                 "turns it off");
    EXPECT_ERROR("[general]\nlog_level = verbose\n",
                 "t.ini:2: key 'log_level' in [general]: 'verbose' is not a log level: use "
                 "error, warn, info or debug");
    EXPECT_ERROR("[provider.google]\nimap_tls = ssl\n",
                 "t.ini:2: key 'imap_tls' in [provider.google]: 'ssl' is not a TLS mode: "
                 "use implicit or starttls");
    EXPECT_ERROR("[provider.google]\nsasl = plain\n",
                 "t.ini:2: key 'sasl' in [provider.google]: 'plain' is not a SASL "
                 "mechanism: use xoauth2 or oauthbearer");
    EXPECT_ERROR("[provider.x]\npreset = yahoo\n",
                 "t.ini:2: key 'preset' in [provider.x]: 'yahoo' is not a preset: use "
                 "google, microsoft or custom");
    EXPECT_ERROR("[provider.x]\ntoken_url = http://auth.example.com/token\n",
                 "t.ini:2: key 'token_url' in [provider.x]: not an https:// URL (http:// is "
                 "allowed only to a loopback host such as 127.0.0.1); empty unsets it");
    EXPECT_ERROR("[provider.x]\nauth_url = https://user:pw@auth.example.com/\n",
                 "t.ini:2: key 'auth_url' in [provider.x]: not an https:// URL (http:// is "
                 "allowed only to a loopback host such as 127.0.0.1); empty unsets it");

    EXPECT_ERROR("[proxy]\nmax_sessions\n",
                 "t.ini:2: line is neither '[section]' nor 'key = value'");
    EXPECT_ERROR("[proxy]\n= 5\n",
                 "t.ini:2: key before '=' must be letters, digits, '_', '-' and '.'");
    EXPECT_ERROR("[proxy\n", "t.ini:1: section header must be '[name]' alone on its line");
    EXPECT_ERROR("[proxy] # x\n",
                 "t.ini:1: section header must be '[name]' alone on its line");
    EXPECT_ERROR("[pro xy]\n",
                 "t.ini:1: section name must be letters, digits, '_', '-' and '.'");
    EXPECT_ERROR("[general]\nbrowser = a\x1b[31m\n",
                 "t.ini:2: control character in line (only tab is allowed)");
    EXPECT_ERROR("[general]\nbrowser = a\0b\n",
                 "t.ini:2: control character in line (only tab is allowed)");
    EXPECT_ERROR("[general]\nbrowser = a\rb\n",
                 "t.ini:2: control character in line (only tab is allowed)");

    EXPECT_ERROR("[proxy]\nline_max = 1024\n# again\nLINE_MAX = 2048\n",
                 "t.ini:4: key 'LINE_MAX' in [proxy]: given twice in this section (first at "
                 "line 2)");
    EXPECT_ERROR("[provider.google]\nclient_id = a\n[provider.microsoft]\nclient_id = b\n"
                 "client_id = c\n",
                 "t.ini:5: key 'client_id' in [provider.microsoft]: given twice in this "
                 "section (first at line 4)");
    EXPECT_ERROR("[proxy]\n[general]\n[Proxy]\n",
                 "t.ini:3: section [Proxy] repeated (first at line 1): merge the two");
    EXPECT_ERROR("[provider.acme]\n[provider.ACME]\n",
                 "t.ini:2: section [provider.ACME] repeated (first at line 1): merge the two");

    EXPECT_ERROR("[proxy]\nimap_listen = 0.0.0.0:1143\n",
                 "t.ini:2: key 'imap_listen' in [proxy]: 0.0.0.0:1143 is not a loopback "
                 "address; listening on it needs allow_non_loopback = yes");
    EXPECT_ERROR("[proxy]\nallow_non_loopback = false\nsmtp_listen = mail.example.com:25\n",
                 "t.ini:3: key 'smtp_listen' in [proxy]: mail.example.com:25 is not a "
                 "loopback address; listening on it needs allow_non_loopback = yes");
    EXPECT_ERROR("[proxy]\npop3_listen = 127.0.0.1:1143\n",
                 "t.ini:2: key 'pop3_listen' in [proxy]: 127.0.0.1:1143 is also "
                 "imap_listen's address; each protocol needs its own port");
    EXPECT_ERROR("[general]\nstate_dir =\n",
                 "t.ini:2: key 'state_dir' in [general]: empty: give the directory for the "
                 "account store");

    /* A bad value is quoted back, but never at any length. */
    char text[300], want[400];
    char big[201];
    memset(big, '9', 200);
    big[200] = '\0';
    snprintf(text, sizeof(text), "[proxy]\nmax_sessions = %s\n", big);
    snprintf(want, sizeof(want), "t.ini:2: key 'max_sessions' in [proxy]: '%.80s' is not a "
                                 "whole number from 1 to 100000", big);
    expect_error(text, strlen(text), want);

    /* At most 64 providers. */
    char many[4096];
    size_t pos = 0;
    for (int i = 0; i < 65; i++)
        pos += (size_t)snprintf(many + pos, sizeof(many) - pos, "[provider.p%d]\n", i);
    expect_error(many, pos, "t.ini:65: section [provider.p64]: more than 64 providers");

    /* No message wanted: the error still comes back. */
    struct xb_config *cfg = NULL;
    CHECK(xb_config_parse("t.ini", "[x]\n", 4, &cfg, NULL) == XB_ERR_INVAL && cfg == NULL);
}

static void hostport(void)
{
    char host[64];
    unsigned port = 0;
    CHECK(xb_hostport_parse("imap.gmail.com:993", host, sizeof(host), &port, false));
    CHECK_STR(host, "imap.gmail.com");
    CHECK(port == 993);
    CHECK(xb_hostport_parse("[::1]:1", host, sizeof(host), &port, false));
    CHECK_STR(host, "::1");
    CHECK(port == 1);
    CHECK(xb_hostport_parse("[2001:db8::10:1]:65535", host, sizeof(host), &port, false));
    CHECK_STR(host, "2001:db8::10:1");
    CHECK(port == 65535);
    CHECK(xb_hostport_parse("[::ffff:192.0.2.1]:443", host, sizeof(host), &port, false));
    CHECK(xb_hostport_parse("127.0.0.1:08", host, sizeof(host), &port, false) && port == 8);
    CHECK(xb_hostport_parse("my_host-1.example:25", host, sizeof(host), &port, false));

    static const char *const bad[] = {
        "host:0", "host:65536", "host:99999999", "host", "host:", ":993", "[::1]", "[::1]:",
        "[::1]993", "[::1:993", "::1]:993", "::1:993", "[]:993", "[x]:993", "[1:2]:993",
        "[::1%eth0]:993", "[127.0.0.1]:993", "host:-1", "host:+5", "host: 5", "host:5 ",
        " host:5", "ho st:5", "host/x:5", "256.1.1.1:5", "1.2.3:5", "01.2.3.4:5",
        "-host:5", ".host:5", "[1:2:3:4:5:6:7:8:9]:5", "[1::2::3]:5", "[:1::2]:5",
        "[1:2:3:4:5:6:7::8]:5", "[12345::1]:5", "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        port = 77;
        bool ok = xb_hostport_parse(bad[i], host, sizeof(host), &port, false);
        CHECK(!ok && port == 77);
        if (ok)
            printf("#   accepted \"%s\"\n", bad[i]);
    }
    /* The host must fit, terminator included. */
    CHECK(xb_hostport_parse("abcdefg:1", host, 8, &port, false));
    CHECK(!xb_hostport_parse("abcdefgh:1", host, 8, &port, false));
    CHECK(!xb_hostport_parse(NULL, host, sizeof(host), &port, false));
    CHECK(!xb_hostport_parse("a:1", host, 0, &port, false));
}

/* A unique name in the system's temporary directory. */
static void temp_path(char *out, size_t size)
{
    unsigned char r[8];
    const char *dir = getenv("TMPDIR");
#ifdef _WIN32
    const char sep = '\\';
    if (!dir)
        dir = getenv("TEMP");
#else
    const char sep = '/';
#endif
    if (!dir || !dir[0])
        dir = ".";
    CHECK(xb_plat_random(r, sizeof(r)) == XB_OK);
    snprintf(out, size, "%s%cxb-config-%02x%02x%02x%02x%02x%02x%02x%02x.ini", dir, sep, r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

static void load_file(void)
{
    char path[512];
    temp_path(path, sizeof(path));
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    static const char text[] = "\xEF\xBB\xBF[proxy]\r\nimap_listen = 127.0.0.1:11143\r\n"
                               "[provider.google]\r\nclient_id = from-file\r\n";
    CHECK(fwrite(text, 1, sizeof(text) - 1, f) == sizeof(text) - 1);
    CHECK(fclose(f) == 0);

    struct xb_config *cfg = NULL;
    char *msg = NULL;
    CHECK(xb_config_load(path, &cfg, &msg) == XB_OK);
    CHECK(msg == NULL);
    CHECK_STR(cfg ? cfg->path : NULL, path);
    CHECK_STR(cfg ? cfg->listen[XB_PROTO_IMAP].addr : NULL, "127.0.0.1:11143");
    const struct xb_provider *g = cfg ? xb_config_provider(cfg, "google") : NULL;
    CHECK_STR(g ? g->client_id : NULL, "from-file");
    xb_config_free(cfg);

    /* Errors name the path as given. */
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs("[proxy]\nline_max = 1\n", f);
        fclose(f);
    }
    cfg = NULL;
    CHECK(xb_config_load(path, &cfg, &msg) == XB_ERR_INVAL && cfg == NULL);
    char want[700];
    snprintf(want, sizeof(want), "%s:2: key 'line_max' in [proxy]: '1' is not a whole number "
                                 "from 512 to 1048576", path);
    CHECK_STR(msg, want);
    xb_free(msg);
    CHECK(remove(path) == 0);

    /* A missing file is NOTFOUND, so that a caller may fall back to the defaults. */
    msg = NULL;
    CHECK(xb_config_load(path, &cfg, &msg) == XB_ERR_NOTFOUND && cfg == NULL);
    CHECK(msg && strncmp(msg, path, strlen(path)) == 0);
    xb_free(msg);
}

XBTEST_MAIN(XBTEST(defaults), XBTEST(default_state_dir), XBTEST(full_file),
            XBTEST(crlf_bom_comments_blanks), XBTEST(quoted_values),
            XBTEST(preset_partial_override), XBTEST(custom_provider), XBTEST(ipv6_listen), XBTEST(port_range),
            XBTEST(web_proxy),
            XBTEST(error_messages), XBTEST(hostport), XBTEST(load_file))
