/*
 * Outlook's POP3 and IMAP accounts as they lie in the current user's registry
 * (../shared/reference/outlook.md; our decisions in docs/addin.md), and the one way we
 * change them: bridge (save the originals, then point the account at the companion) and
 * restore (put the originals back, byte for byte, with their types).
 *
 * Windows-only, Win32 and the C library, no COM: the add-in compiles
 * olprofile.c, olbridge.c and olrestore.c as they are, and so does the companion (for
 * RESTORE, `xoauthbridge restore` and, in other users' hives, `restore --all-users`). Registry strings are read whether they are REG_BINARY
 * (UTF-16LE and a NUL) or REG_SZ, and written back in the type already there.
 *
 * Crash safety. Before the first value of an account changes, every value of its key is
 * copied under HKCU\Software\XOAuthBridge\Outlook\<layout>\<profile>\<id>\Original with
 * the list of value names the bridge will touch and a State:
 *   1 saving/rewriting   the account may be half-written: recover by restoring
 *   2 bridged            the account points at the companion
 *   3 restoring          a restore began: recover by restoring again
 * A restore writes the touched values back (deleting those that did not exist), reads
 * them back to compare, and only then deletes the saved copy; so any interruption leaves
 * a saved copy from which xb_ol_recover() finishes the job. Originals are saved once:
 * bridging an account again (a new secret) never saves bridged values as originals.
 */
#ifndef XB_OLPROFILE_H
#define XB_OLPROFILE_H

#include <windows.h>

#include <stdbool.h>

#include "core/err.h"

enum xb_ol_layout {
    XB_OL_2010,   /* Windows Messaging Subsystem (Outlook 2010 and older) */
    XB_OL_2013,   /* Office\15.0 */
    XB_OL_2016,   /* Office\16.0: 2016, 2019, 2021, 365 */
    XB_OL_LAYOUTS
};

enum xb_ol_kind {
    XB_OL_POP3 = 1,
    XB_OL_IMAP = 2,
};

/* States of an account's saved copy (above). */
enum xb_ol_saved {
    XB_OL_SAVED_NONE = 0,
    XB_OL_SAVED_SAVING = 1,
    XB_OL_SAVED_BRIDGED = 2,
    XB_OL_SAVED_RESTORING = 3,
};

#define XB_OL_PROFILE_MAX 128   /* characters of a profile name */
#define XB_OL_ID_MAX      16    /* characters of an account key name ("00000002") */
#define XB_OL_STR_MAX     512   /* bytes of a UTF-8 string read from an account */

struct xb_ol_account {
    enum xb_ol_layout layout;
    wchar_t profile[XB_OL_PROFILE_MAX];
    wchar_t id[XB_OL_ID_MAX];
    enum xb_ol_kind kind;
    char name[XB_OL_STR_MAX];        /* "Account Name" (UTF-8; "" if absent) */
    char email[XB_OL_STR_MAX];       /* "Email" */
    char server[XB_OL_STR_MAX];      /* "POP3 Server" / "IMAP Server" */
    DWORD port;                      /* 0 if absent */
    char user[XB_OL_STR_MAX];        /* "POP3 User" / "IMAP User" */
    char smtp_server[XB_OL_STR_MAX]; /* "SMTP Server" */
    DWORD smtp_port;                 /* "SMTP Port"; 0 if absent */
    bool has_password;               /* "POP3 Password" / "IMAP Password" is there */
    enum xb_ol_saved saved;          /* our saved copy, if any */
    char saved_provider[16];         /* the provider it was bridged for ("" if none) */
};

/* "2010", "2013", "2016": names in logs and in the saved copy's key. */
const char *xb_ol_layout_name(enum xb_ol_layout layout);

/* The layout of an Outlook whose Application.Version is version ("16.0.5000.1000"):
 * 16 and later 2016, 15 2013, anything else (14, 12, garbage) 2010. */
enum xb_ol_layout xb_ol_layout_for_version(const char *version);

/* The profile Outlook opens without asking (DefaultProfile); false if none. */
bool xb_ol_default_profile(enum xb_ol_layout layout, wchar_t *out, size_t n);

/* Calls fn for every POP3 and IMAP account of profile (NULL: of every profile) in the
 * layout's key. A key that vanishes while it is read, or a value of the wrong type or
 * size, is skipped (the value reads as absent). Returns the number of accounts seen. */
typedef void xb_ol_each_fn(void *ctx, const struct xb_ol_account *a);
unsigned xb_ol_scan(enum xb_ol_layout layout, const wchar_t *profile, xb_ol_each_fn *fn,
                    void *ctx);

/* Points the account at the companion: host and ports, encryption off (loopback), user
 * name and password (DPAPI, Outlook's format) for the incoming and the SMTP side. Saves
 * the originals first (see above). On failure the account is put back as it was. */
struct xb_ol_endpoint {
    const char *host;
    DWORD in_port;                   /* the port for a->kind */
    DWORD smtp_port;
    const char *user;                /* the SMTP user name, and the incoming one ... */
    const char *in_user;             /* ... unless this is set (POP3 recent:ADDRESS) */
    const char *secret;
    const char *email;               /* the companion's account, kept with the copy */
    const char *provider;            /* "google", "microsoft": kept with the copy */
};
enum xb_err xb_ol_bridge(const struct xb_ol_account *a, const struct xb_ol_endpoint *ep);

/* Points a bridged account at the companion's address and ports again (they moved),
 * without a new secret: host and ports only; the saved originals stay as they are.
 * XB_ERR_NOTFOUND: the account is not bridged (State is not "bridged"). */
enum xb_err xb_ol_repoint(const struct xb_ol_account *a, const char *host, DWORD in_port,
                          DWORD smtp_port);

/* The password Outlook holds for the account (name: "POP3 Password", "IMAP Password",
 * "SMTP Password"), decrypted into out (UTF-8). XB_ERR_NOTFOUND: no such value. The
 * caller wipes out. */
enum xb_err xb_ol_password_read(const struct xb_ol_account *a, const wchar_t *name, char *out,
                                size_t n);

/* Why a restore did not finish: the step, and the registry's error code for it
 * (ERROR_SUCCESS when no call failed, e.g. a value that read back different). */
struct xb_ol_why {
    const char *step;                /* "write a value back", "open the Outlook account" ... */
    LONG error;
};

/* Puts one account's originals back, in the hive under root (HKEY_CURRENT_USER, or
 * another user's hive opened by `restore --all-users`). XB_ERR_NOTFOUND: nothing saved
 * for it. why (may be NULL) says what failed. */
enum xb_err xb_ol_restore(HKEY root, enum xb_ol_layout layout, const wchar_t *profile,
                          const wchar_t *id, struct xb_ol_why *why);

/* One saved copy met by a restore walk. profile and id are NULL when the copies could
 * not even be listed (why says where): that counts as one failure. */
struct xb_ol_restored {
    enum xb_ol_layout layout;
    const wchar_t *profile;
    const wchar_t *id;
    const char *email;               /* the companion account of the copy ("" if unreadable) */
    enum xb_err err;                 /* XB_OK: put back and checked, the copy deleted */
    struct xb_ol_why why;            /* when err is not XB_OK */
};
typedef void xb_ol_restored_fn(void *ctx, const struct xb_ol_restored *r);

/* Restores every saved account under root whose companion account is email (NULL: all
 * of them), in every layout and profile; fn (may be NULL) hears of each. *restored and
 * *failed count accounts (may be NULL). */
enum xb_err xb_ol_restore_email(HKEY root, const char *email, unsigned *restored,
                                unsigned *failed, xb_ol_restored_fn *fn, void *ctx);

/* Finishes whatever a crash interrupted in this user's profiles: every saved copy whose
 * State is not "bridged" is restored. Returns the number of accounts put back. */
unsigned xb_ol_recover(void);

/* Outlook's password format: one byte 0x02, then CryptProtectData (this user, no
 * entropy) of the UTF-16LE password and its NUL. out holds at most *len bytes; *len
 * is set to the size written. */
enum xb_err xb_ol_password_encode(const char *password, BYTE *out, DWORD *len);

/* --- shared by olprofile.c, olbridge.c and olrestore.c -------------------------------- */

#define XB_OL_ACCOUNTS_KEY L"9375CFF0413111d3B88A00104B2A6676"

/* Path of one account's key under the user's root (HKCU); false if it does not fit. */
bool xb_ol_account_path(enum xb_ol_layout layout, const wchar_t *profile, const wchar_t *id,
                        wchar_t *out, size_t n);
/* Path (under the user's root) of an account's saved copy (Software\XOAuthBridge\Outlook\<layout>\...). */
#define XB_OL_SAVED_KEY L"Software\\XOAuthBridge\\Outlook"
bool xb_ol_saved_path(enum xb_ol_layout layout, const wchar_t *profile, const wchar_t *id,
                      wchar_t *out, size_t n);
/* A string value (REG_BINARY UTF-16LE, NUL-terminated or not, or REG_SZ) as UTF-8;
 * *type receives its type. false (out "") if absent, of another type, or too long. */
bool xb_ol_read_str(HKEY key, const wchar_t *name, char *out, size_t n, DWORD *type);
/* A REG_DWORD of exactly 4 bytes. */
bool xb_ol_read_dword(HKEY key, const wchar_t *name, DWORD *out);
/* Writes a saved copy's State and flushes it. */
LONG xb_ol_set_state(HKEY saved, enum xb_ol_saved state);
#define XB_OL_NAMES_MAX 4096         /* characters of the Touched list */

#endif
