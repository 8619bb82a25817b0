/*
 * The platform layer: what the portable core needs from the operating system.
 * Implemented in platform/posix/ and platform/win32/ with the same file names;
 * CMake picks the folder. Nothing here mentions a platform type.
 */
#ifndef XB_PLATFORM_H
#define XB_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/err.h"

/* rand.c: bytes from the operating system's CSPRNG (getrandom / BCryptGenRandom). */
enum xb_err xb_plat_random(void *buf, size_t len);

/* sys.c: once per process, before anything else: sockets ready (WSAStartup), SIGPIPE
 * ignored (a peer closing must not kill the process), on Windows OpenSSL initialised
 * without its configuration file. Returns 0 on success. */
int xb_plat_init(void);

/* sys.c: the very first call of a program: on Windows, run-time DLL loads restricted to
 * System32 (SetDefaultDllDirectories), safe SearchPath, heap corruption fatal. POSIX:
 * nothing. xb_plat_harden_gap says what could not be done (NULL: nothing), for the log
 * once there is one. */
void xb_plat_harden(void);
/* sys.c: gives memory back when the proxy has gone idle. Linux: the heap's free
 * memory (malloc_trim) and the pages of code and read-only data mapped from files (they
 * stay in the page cache; docs/performance.md). Windows: nothing (its heap decommits by
 * itself, and Task Manager counts a process's private memory, not its DLLs' pages). */
void xb_plat_mem_trim(void);
const char *xb_plat_harden_gap(void);

/* sys.c: the thread's last error (errno, and GetLastError on Windows), saved and
 * restored around code that must not disturb it, such as logging. */
struct xb_errsave {
    int err;
    unsigned long sys;
};
void xb_plat_err_save(struct xb_errsave *save);
void xb_plat_err_restore(const struct xb_errsave *save);

/* sys.c: broken-down UTC time; returns 0 on success. */
int xb_plat_gmtime(time_t t, struct tm *out);

/* sys.c: "linux x86_64", "windows x64" ... for --version and logs. */
const char *xb_plat_name(void);

/* desktop.c: opens url in the user's browser: with command when given (run directly,
 * no shell, url as its one argument), else the system's way (ShellExecute on Windows;
 * $BROWSER, then xdg-open on POSIX). Does not wait for the browser. */
enum xb_err xb_plat_open_url(const char *command, const char *url);

/* desktop.c: the user's UI language as a BCP 47-ish tag ("ja-JP", "en-US"); Windows:
 * GetUserDefaultUILanguage; POSIX: LC_ALL, LC_MESSAGES, LANG. Never NULL. */
const char *xb_plat_ui_language(void);

/* net.c: TCP_NODELAY on a connected socket (every command is a small write followed
 * by a wait: without it each one pays the peer's delayed ACK). */
void xb_plat_sock_nodelay(intptr_t fd);
/* Bytes the kernel holds for reading on a socket (0 also when it cannot tell). */
size_t xb_plat_sock_readable(intptr_t fd);
/* One read from a non-blocking socket: the bytes read (> 0), 0 at the end of the stream,
 * -1 when nothing is there now, -2 on an error. */
ptrdiff_t xb_plat_sock_recv(intptr_t fd, void *buf, size_t len);

/* peer.c: whether the program at the other end of an accepted loopback TCP connection
 * runs as the same user as this process (a loopback port does not say who connects: on
 * a shared machine another user could use it). 1 yes; 0 refused, with why (another
 * user, whose id goes to *owner: uid, or on Windows the process id); -1 cannot tell,
 * which the caller treats as allowed. Windows never answers -1: a client is served only
 * when its process is proven to run as this user (peerrule.h). Linux answers -1 only
 * when the kernel has no socket diagnostics. */
int xb_plat_sock_peer_same_user(intptr_t fd, unsigned long *owner, char *why, size_t n);
/* Who listens on TCP port `port` of this machine, in words ("process 4242 (evil.exe) of
 * another user", "uid 1001 (bob)"); false when the system does not say. */
bool xb_plat_port_holder(unsigned port, char *out, size_t n);

/* ctlsock.c: the listening end of the control channel (docs/pipe-protocol.md), named
 * by xb_ctl_endpoint_name (ctlclient.h). POSIX: a Unix socket, 0600 in a 0700
 * directory, each peer's uid checked with SO_PEERCRED. Windows: the per-user named pipe
 * (DACL for the user and SYSTEM, NETWORK denied, first-instance flag, remote clients
 * rejected), bridged into the loop by a thread per connection. Every accepted, checked
 * connection reaches cb (on the loop's thread) as a connected socket that the loop owns
 * from then on. Fails, *errmsg (caller frees) in words, when another companion of this
 * user already serves the name (or someone else holds it). */
struct event_base;
struct xb_plat_ctl;
typedef void xb_plat_ctl_accept_fn(void *arg, intptr_t fd);
enum xb_err xb_plat_ctl_listen(struct event_base *base, xb_plat_ctl_accept_fn *cb, void *arg,
                               struct xb_plat_ctl **out, char **errmsg);
/* The endpoint's name for logs ("/run/user/1000/xoauthbridge.sock"). */
const char *xb_plat_ctl_name(const struct xb_plat_ctl *ctl);
/* Stops listening and ends the connections not yet handed over; NULL-safe. */
void xb_plat_ctl_close(struct xb_plat_ctl *ctl);

/* tlstrust.c: makes an OpenSSL client context judge server certificates the way this
 * system does, for every connection made with it (the host name to check is the one set
 * on the connection: SSL_set1_host, or the context's X509_VERIFY_PARAM).
 * POSIX: OpenSSL's verification against the system's roots.
 * Windows: Windows' chain engine and SSL policy judge the chain the server sent (roots
 * fetched as Windows does, the Disallowed store, the organisation's roots, revocation);
 * the context's own store starts empty, and certificates added to it later ([tls]
 * ca_file) are a second chance judged by OpenSSL. A refusal is logged with the host and
 * the system's reason. XB_ERR_TLS (logged) when the system's roots cannot be used. */
struct ssl_ctx_st;
enum xb_err xb_plat_tls_trust(struct ssl_ctx_st *ctx);
/* tlstrust.c: the system's own words for the last certificate of host it refused, for
 * a notification ("the chain ends in a root Windows does not trust (CERT_E_UNTRUSTEDROOT,
 * 0x800B0109)"); false when there are none (POSIX: OpenSSL's error says it all). Loop
 * thread only. */
bool xb_plat_tls_refusal(const char *host, char *buf, size_t size);

/* webproxy.c: the proxy this system's settings name for a URL (web_proxy = system;
 * core/http.c decides the rest).
 * Windows: the user's Internet Options as WinHTTP reads them
 * (WinHttpGetIEProxyConfigForCurrentUser): an automatic configuration script or
 * automatic detection (WPAD), asked per host through WinHttpGetProxyForUrl on a thread
 * of its own and kept a while, falling back to the user's fixed proxy, else direct,
 * logged once; else the fixed proxy with its bypass list; and when the user has no
 * setting at all, WinHTTP's machine setting (netsh winhttp set proxy).
 * POSIX: libcurl reads https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY and no_proxy
 * itself; the answer only says what they name, for logs and messages. */
enum xb_webproxy_how {
    XB_WEBPROXY_DIRECT,     /* no proxy */
    XB_WEBPROXY_VIA,        /* proxy, a URL for libcurl */
    XB_WEBPROXY_ENV,        /* leave it to libcurl's reading of the environment */
};
struct xb_webproxy_answer {
    enum xb_webproxy_how how;
    char proxy[300];        /* VIA: "http://host:port" (the system's settings carry no
                               password); ENV: host:port of what the environment names
                               for the URL's scheme, "" when nothing */
    char source[300];       /* where the answer comes from, in words, for the log */
    bool sure;              /* ENV: no no_proxy list could exempt the URL's host */
};
struct xb_plat_webproxy;
typedef void xb_plat_webproxy_ready_fn(void *arg);
/* A resolver for one event loop; ready(arg) runs on the loop's thread each time an
 * automatic configuration script has answered (it may free the resolver). */
enum xb_err xb_plat_webproxy_new(struct event_base *base, xb_plat_webproxy_ready_fn *ready,
                                 void *arg, struct xb_plat_webproxy **out);
/* NULL-safe; a script still being asked finishes on its thread and is forgotten. */
void xb_plat_webproxy_free(struct xb_plat_webproxy *wp);
/* The answer for url in *out: XB_OK. XB_ERR_AGAIN: a script is being asked for the
 * URL's host; call again after ready. wp NULL (the CLI, no loop): waits for the script
 * if need be. Never fails otherwise: what cannot be read counts as direct, logged. */
enum xb_err xb_plat_webproxy_find(struct xb_plat_webproxy *wp, const char *url,
                                  struct xb_webproxy_answer *out);
/* file.c: whole-file read and atomic replace (temporary file in the same directory,
 * flushed to disk, renamed over the target). Files are created readable by the owner
 * only; directories by xb_plat_mkdir_private likewise. */
enum xb_err xb_plat_file_read(const char *path, unsigned char **data, size_t *len, size_t max);
enum xb_err xb_plat_file_replace(const char *path, const void *data, size_t len);
enum xb_err xb_plat_mkdir_private(const char *path);

/* file.c: what identifies one version of a file (size, modification time, file id), to
 * notice that another process replaced it. XB_ERR_NOTFOUND if there is none. */
struct xb_file_stamp {
    uint64_t size;
    uint64_t mtime_ns;
    uint64_t id;
};
enum xb_err xb_plat_file_stamp(const char *path, struct xb_file_stamp *out);

/* file.c: an exclusive lock on the file path (created owner-only when absent), held
 * until xb_plat_lock_free or until the process ends, a crash included. Waits up to
 * wait_ms for another holder; XB_ERR_CONFLICT if it still holds it. */
struct xb_plat_lock;
enum xb_err xb_plat_lock_take(const char *path, unsigned wait_ms, struct xb_plat_lock **out);
void xb_plat_lock_free(struct xb_plat_lock *lk);

/* file.c: the log file, opened for appending. POSIX: created 0600, never through a
 * symbolic link (a link planted at the path is refused), close-on-exec. Windows: in the
 * user's profile, whose ACL keeps others out. NULL with errno/GetLastError set. */
FILE *xb_plat_log_open(const char *path);

/* seal.c: encrypts data so that only this user on this machine can read it back.
 * Windows: DPAPI (CryptProtectData, current user). POSIX: AES-256-GCM under a 32-byte key
 * kept in <dir>/store.key (0600, made on first use). A changed or foreign blob is
 * XB_ERR_CRYPTO. *out is allocated; the caller frees it (wiping unsealed data). */
enum xb_err xb_plat_seal(const char *dir, const void *in, size_t len, unsigned char **out,
                         size_t *outlen);
enum xb_err xb_plat_unseal(const char *dir, const void *in, size_t len, unsigned char **out,
                           size_t *outlen);

/* paths.c: the default state directory (account store and its key), UTF-8, allocated
 * for the caller to free: $XDG_STATE_HOME/xoauthbridge or $HOME/.local/state/xoauthbridge
 * on POSIX (relative values ignored, as the XDG spec says), %LOCALAPPDATA%\XOAuthBridge on
 * Windows. XB_ERR_NOTFOUND if the environment names no such place. Creates nothing. */
enum xb_err xb_plat_default_state_dir(char **out);

/* paths.c: the per-user configuration file read when neither --config nor $XB_CONFIG
 * names one: %LOCALAPPDATA%\XOAuthBridge\xoauthbridge.conf on Windows (used only when
 * it exists); POSIX has none (XB_ERR_NOTFOUND). UTF-8, allocated for the caller. */
enum xb_err xb_plat_default_config_file(char **out);

/* policy.c: one raw Group Policy value, name under XB_POLICY_KEY (policy.h) in the
 * machine (HKLM) or user (HKCU) hive. type is the registry type number (1 REG_SZ,
 * 4 REG_DWORD, others as they are); for REG_SZ, sz is the UTF-8 text (caller frees with
 * xb_free_str_secret: client secrets pass through here), for REG_DWORD, dword the number.
 * XB_ERR_NOTFOUND when the value (or the key) is absent; POSIX: always. The meaning,
 * ranges and precedence are the core's (config_policy.c). */
enum xb_policy_hive { XB_POLICY_MACHINE, XB_POLICY_USER };
struct xb_policy_raw {
    unsigned type;
    uint32_t dword;
    char *sz;
};
enum xb_err xb_plat_policy_read(enum xb_policy_hive hive, const char *name,
                                struct xb_policy_raw *out);
/* The REG_SZ values of the subkey XB_POLICY_KEY\\subkey: each(ctx, value name, text), both
 * UTF-8 (text wiped after the call); values of other types or too long are skipped.
 * XB_ERR_NOTFOUND when the key is absent; POSIX: always. */
enum xb_err xb_plat_policy_list(enum xb_policy_hive hive, const char *subkey,
                                void (*each)(void *ctx, const char *name, const char *text),
                                void *ctx);

/* outlook.c: puts back the saved settings of the Outlook accounts the add-in bridged for
 * email (NULL: for every account), byte for byte (win32/olprofile.h). *restored and
 * *failed count Outlook accounts. POSIX has no Outlook: XB_OK and nothing done. */
enum xb_err xb_plat_outlook_restore(const char *email, unsigned *restored, unsigned *failed);

/* A restart of Outlook the add-in offered (docs/addin.md). check: process pid runs
 * program, and program is an OUTLOOK.EXE (XB_ERR_INVAL otherwise, why in words).
 * relaunch: in the background, waits up to wait_s for pid to end, then starts
 * `"program" /profile "profile"` as this user; logs what happens. POSIX has no Outlook:
 * XB_ERR_UNSUPPORTED. */
enum xb_err xb_plat_outlook_check(uint32_t pid, const char *program, char *why, size_t n);
enum xb_err xb_plat_outlook_relaunch(uint32_t pid, const char *program, const char *profile,
                                     unsigned wait_s);

#endif
