/*
 * The account store: per account the provider, the OAuth tokens, the keyed hash of the
 * local secret, and what happened last. One file, sealed for the current user
 * (DPAPI on Windows; AES-256-GCM with a 0600 key file on POSIX, see platform.h),
 * replaced atomically on every save, refused with a clear error when tampered with.
 */
#ifndef XB_STORE_H
#define XB_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/mem.h"

#define XB_STORE_FILE       "accounts.store"
#define XB_STORE_LOCK_FILE  "accounts.lock"
#define XB_SECRET_HASH_LEN  32   /* HMAC-SHA256 */
#define XB_LOCAL_SECRET_LEN 32   /* characters of a local secret (base64url of 24 random bytes) */

enum xb_account_state {
    XB_ACCT_NEW,              /* enrolled, never signed in */
    XB_ACCT_OK,               /* signed in; tokens work */
    XB_ACCT_NEEDS_SIGNIN,     /* a person must sign in again (last_error says why) */
    XB_ACCT_TEMP_ERROR,       /* the last attempt failed for a passing reason */
};

struct xb_account {
    char *email;              /* lower case; the user name local clients log in with */
    char *provider;           /* name of a provider in the config */
    struct xb_secret *refresh_token;   /* NULL until signed in */
    struct xb_secret *access_token;    /* NULL when none is cached */
    int64_t access_expires;   /* Unix seconds */
    bool has_secret;
    unsigned char secret_hash[XB_SECRET_HASH_LEN];
    enum xb_account_state state;
    int64_t last_ok;          /* Unix seconds of the last successful upstream login or refresh */
    int64_t last_fail;        /* ... of the last failure */
    int64_t signed_in_at;     /* ... of the last interactive sign-in (the refresh token's age) */
    char *last_error;         /* human text, never a secret; NULL if none */
    struct xb_account *next;
};

struct xb_store;

/* Opens (or, when absent, creates empty) the store in dir, creating dir with owner-only
 * access. A file that fails its integrity check is XB_ERR_CRYPTO and is left untouched;
 * *errmsg (caller frees) says what is wrong in words. */
enum xb_err xb_store_open(const char *dir, struct xb_store **out, char **errmsg);
void xb_store_free(struct xb_store *st);

/* Reloads the store if another process (the CLI) replaced the file since this one last
 * read or wrote it; on failure keeps what is in memory. Account pointers taken before a
 * reload are invalid after it. */
enum xb_err xb_store_refresh(struct xb_store *st);

/* Makes this process the store's one writer until xb_store_free (or its end): an
 * exclusive lock on XB_STORE_LOCK_FILE beside the store, waiting up to wait_ms. The
 * running companion holds it for its life; the CLI takes it for one command when no
 * companion answers (docs/architecture.md "Who writes the account store").
 * XB_ERR_CONFLICT: another process holds it (*errmsg says so in words). */
enum xb_err xb_store_lock(struct xb_store *st, unsigned wait_ms, char **errmsg);

/* Seals and writes the whole store: temporary file, flush, rename over the old one. Never
 * over a newer store: if another process replaced the file since this one read it and
 * its generation is higher, nothing is written, the newer store is read in instead, and
 * XB_ERR_CONFLICT is returned (the change made here is lost, the other one kept). */
enum xb_err xb_store_save(struct xb_store *st);

#define XB_EMAIL_MAX 320

/* An address as the store keeps it (allocated): lower case, one '@' with text on both
 * sides, no spaces or controls, <= XB_EMAIL_MAX bytes; XB_ERR_INVAL otherwise. */
enum xb_err xb_store_email_normalize(const char *in, char **out);

struct xb_account *xb_store_accounts(struct xb_store *st);     /* list head, or NULL */
struct xb_account *xb_store_find(struct xb_store *st, const char *email);
enum xb_err xb_store_add(struct xb_store *st, const char *email, const char *provider,
                         struct xb_account **out);
enum xb_err xb_store_remove(struct xb_store *st, const char *email);

/* Makes a new local secret for the account (>= 128 bits from the OS CSPRNG), keeps only
 * its keyed hash, and hands the secret itself to the caller, once. */
enum xb_err xb_store_new_secret(struct xb_store *st, struct xb_account *acct,
                                struct xb_secret **secret);

/* Checks a local login in constant time. XB_OK and *acct on success; XB_ERR_AUTH for a
 * wrong secret, an unknown account or an account without a secret (the time taken does
 * not tell them apart). */
enum xb_err xb_store_check_secret(struct xb_store *st, const char *email, const char *secret,
                                  size_t len, struct xb_account **acct);

/* Replace an account's tokens (NULL leaves that one as it is); the store takes the secrets. */
void xb_account_set_tokens(struct xb_account *acct, struct xb_secret *refresh,
                           struct xb_secret *access, int64_t access_expires);
/* The one way an account's state changes (logged when it does): the outcome of a sign-in,
 * login or refresh, or a sign-out (XB_ACCT_NEW). why: NULL on success, else what went
 * wrong in words (kept as last_error, with last_fail = now); XB_ACCT_OK without why sets
 * last_ok = now. */
void xb_account_set_state(struct xb_account *acct, enum xb_account_state state, const char *why,
                          int64_t now);

const char *xb_account_state_name(enum xb_account_state state);

#endif
