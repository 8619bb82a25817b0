/*
 * The companion's configuration: an INI file (documented key by key in docs/config.md),
 * then, on Windows, Group Policy values that override it (config_policy.h). Every error
 * names the file, the line and the key.
 */
#ifndef XB_CONFIG_H
#define XB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/log.h"

/* The mail protocols, the index of every per-protocol setting. */
enum xb_proto_id { XB_PROTO_IMAP, XB_PROTO_POP3, XB_PROTO_SMTP, XB_PROTO__COUNT };

/* "imap", "pop3", "smtp": the one spelling for logs, keys and the ready file. */
const char *xb_proto_name(enum xb_proto_id id);

enum xb_tls_mode {
    XB_TLS_IMPLICIT,          /* TLS from the first byte (993, 995, 465) */
    XB_TLS_STARTTLS,          /* plain greeting, then STARTTLS/STLS (587) */
};

enum xb_sasl_mech {
    XB_SASL_XOAUTH2,
    XB_SASL_OAUTHBEARER,
};

/* host:port of an upstream mail server; host NULL means "not offered by this provider". */
struct xb_server {
    char *host;
    unsigned port;
    enum xb_tls_mode tls;
};

enum xb_provider_kind {
    XB_PROVIDER_GOOGLE,       /* Gmail and Google Workspace */
    XB_PROVIDER_MICROSOFT,    /* Microsoft 365 and Outlook.com */
    XB_PROVIDER_CUSTOM,       /* everything from the config file */
};

/* How a sign-in learns who signed in (docs/oauth.md, "Who signed in"). */
enum xb_identity {
    XB_IDENTITY_NONE,         /* not checked (a custom provider without OpenID Connect) */
    XB_IDENTITY_ID_TOKEN,     /* the ID token of the code exchange (OpenID Connect) */
};

struct xb_provider {
    char *name;               /* section [provider.NAME] */
    enum xb_provider_kind kind;
    char *auth_url;           /* authorization endpoint */
    char *token_url;
    char *revoke_url;         /* may be NULL */
    char *scope;              /* space-separated */
    char *client_id;
    char *client_secret;      /* a desktop client's "secret" is not secret (RFC 8252 8.5) */
    char *hosted_domain;      /* Google "hd": restrict sign-in to this Workspace domain */
    char *issuer;             /* expected RFC 9207 "iss" and ID token "iss"; NULL: not
                                 checked unless sent (Microsoft: per tenant, see oauth.md) */
    enum xb_identity identity;
    char *identity_claims;    /* ID token claims naming the address, tried in order
                                 (space-separated): "email", "email preferred_username" */
    struct xb_server server[XB_PROTO__COUNT];   /* by enum xb_proto_id */
    enum xb_sasl_mech sasl;
    /* Per-domain clients (policy GoogleDomainClients): copies of this provider with
     * their own client_id, client_secret and hosted_domain, each for the addresses of
     * for_domain (lower case); NULL in a copy. xb_config_provider_for picks. */
    char *for_domain;
    struct xb_provider *domain_clients;
    struct xb_provider *next;
};

/* [general] web_proxy: how the companion's HTTPS requests (token endpoint, revocation)
 * reach the internet (core/http.c). The mail connections never take it
 * (docs/decisions.md, "Web proxies"). */
enum xb_web_proxy_mode {
    XB_WEB_PROXY_SYSTEM,      /* the system's settings: Windows' Internet Options (script,
                                 auto-detect, proxy, bypass) or WinHTTP's; POSIX: libcurl
                                 reads https_proxy, all_proxy, no_proxy ... itself */
    XB_WEB_PROXY_DIRECT,      /* no proxy, whatever the system says */
    XB_WEB_PROXY_URL,         /* this proxy for every request */
};

struct xb_web_proxy {
    enum xb_web_proxy_mode mode;
    char *url;                /* XB_WEB_PROXY_URL: http://[user:password@]host:port; may
                                 hold a password: freed as a secret, never logged */
};

struct xb_listen {
    char *addr;               /* "127.0.0.1:1143"; NULL: this protocol is off */
};

struct xb_config {
    char *path;               /* the file read, for messages */
    char *state_dir;          /* account store and its key */
    enum xb_log_level log_level;
    char *log_file;           /* NULL: standard error */
    struct xb_web_proxy web_proxy;

    struct xb_listen listen[XB_PROTO__COUNT];  /* by enum xb_proto_id */
    /* Per-user ports on a shared machine: when set, the listeners' ports come from this
     * range (proxy.c, "port range"), not from *_listen. 0: not set. */
    unsigned port_range_start, port_range_end;
    bool port_range_on;       /* false: no range even if set (policy PortRange Disabled) */
    bool allow_non_loopback;  /* listening on other addresses needs this, explicitly */
    bool same_user_only;      /* refuse loopback clients that run as another user */
    bool local_starttls;      /* offer STARTTLS to local clients (needs cert/key) */
    bool early_connections;   /* connect upstream before the login: early and spare */

    unsigned max_sessions;
    size_t line_max;          /* longest command line before login */
    size_t literal_max;       /* longest IMAP literal before login */
    unsigned connect_timeout; /* seconds: upstream TCP + TLS */
    unsigned login_timeout;   /* seconds: from accept to logged in upstream */
    unsigned idle_timeout;    /* seconds without traffic after login (IMAP IDLE: 30 min) */
    unsigned preauth_timeout; /* seconds a client may stay silent before login */

    char *ca_file;            /* extra CA certificates for upstream TLS (tests) */
    char *browser;            /* command to open the sign-in page; NULL: the system's */
    unsigned signin_timeout;  /* seconds to wait for the browser sign-in */

    struct xb_provider *providers;
};

/* Defaults (loopback listeners on 1143/1110/1587, the google and microsoft presets);
 * never NULL-returning except out of memory. */
enum xb_err xb_config_new_default(struct xb_config **out);

/* Reads path over the defaults. On error, *errmsg (caller frees) says
 * "FILE:LINE: key 'K' in [SECTION]: what is wrong". */
enum xb_err xb_config_load(const char *path, struct xb_config **out, char **errmsg);

/* Same, from a string (tests); name stands in for the file name in messages. */
enum xb_err xb_config_parse(const char *name, const char *text, size_t len,
                            struct xb_config **out, char **errmsg);

/* Sets one key after the file was read, as if [section] had said "key = value": the
 * entry point for Group Policy (config_policy.c), which overrides the file. The value is
 * checked as the parser checks it; on XB_ERR_INVAL *errmsg (caller frees) reads
 * "ORIGIN: key 'K' in [SECTION]: what is wrong". XB_ERR_NOTFOUND: no such section,
 * provider or key in this version. XB_ERR_UNSUPPORTED: a key only the whole file may set
 * ([proxy] *_listen, preset). Only that key changes: a new server port, for one, does
 * not re-derive its TLS mode. */
enum xb_err xb_config_set(struct xb_config *cfg, const char *section, const char *key,
                          const char *value, const char *origin, char **errmsg);

void xb_config_free(struct xb_config *cfg);

const struct xb_provider *xb_config_provider(const struct xb_config *cfg, const char *name);

/* The provider an address signs in, refreshes and is revoked with: name's per-domain
 * client for email's domain if there is one, else name's own (NULL: no such provider). */
const struct xb_provider *xb_config_provider_for(const struct xb_config *cfg,
                                                 const char *name, const char *email);

/* Gives the addresses of domain their own client of provider: spec is
 * "client_id=ID; client_secret=SECRET; hosted_domain=DOMAIN" (client_id required, the
 * others optional, any order). Replaces an earlier client for the same domain. On
 * XB_ERR_INVAL *errmsg (caller frees) reads "ORIGIN: what is wrong". XB_ERR_NOTFOUND: no
 * such provider. */
enum xb_err xb_config_set_domain_client(struct xb_config *cfg, const char *provider,
                                        const char *domain, const char *spec,
                                        const char *origin, char **errmsg);

#endif
