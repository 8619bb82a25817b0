/*
 * The platform layer: what the portable core needs from the operating system.
 * Implemented in platform/posix/ and platform/win32/ with the same file names;
 * CMake picks the folder. Nothing here mentions a platform type.
 */
#ifndef XB_PLATFORM_H
#define XB_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../core/err.h"

/* rand.c: bytes from the operating system's CSPRNG (getrandom / BCryptGenRandom). */
enum xb_err xb_plat_random(void *buf, size_t len);

/* sys.c: once per process, before anything else: sockets ready (WSAStartup), SIGPIPE
 * ignored (a peer closing must not kill the process). Returns 0 on success. */
int xb_plat_init(void);

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

/* tlsroots.c: adds the system's trusted root certificates to an OpenSSL X509_STORE
 * (POSIX: OpenSSL's default paths; Windows: the ROOT certificate store). */
struct x509_store_st;
enum xb_err xb_plat_tls_system_roots(struct x509_store_st *store);

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

#endif
