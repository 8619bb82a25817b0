/*
 * The account store: accounts in memory, one sealed file on disk (see store_doc.c for
 * the document inside), replaced atomically on every save. Every plaintext copy (JSON
 * text, unsealed bytes) is wiped before it is freed. Local secrets are never stored,
 * only HMAC-SHA256(hash_key, secret).
 */
#include "core/store.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/log.h"
#include "core/sasl.h"
#include "core/store_doc.h"
#include "platform/platform.h"

#define SECRET_RAW_LEN    24                           /* 192 bits -> 32 base64url chars */

struct xb_store {
    char *dir;
    char *path;
    unsigned char hash_key[XB_STORE_HASH_KEY_LEN];
    struct xb_account *accounts;
    struct xb_file_stamp stamp;  /* the file version last read or written */
    int64_t generation;          /* of that version: +1 on every save */
    struct xb_plat_lock *lock;   /* held by the store's one writer (xb_store_lock) */
};

static enum xb_err store_read(struct xb_store *st, char **errmsg);

/* Remembers which version of the file the store in memory matches. */
static void note_stamp(struct xb_store *st)
{
    if (xb_plat_file_stamp(st->path, &st->stamp) != XB_OK)
        memset(&st->stamp, 0, sizeof(st->stamp));
}

static void append_account(struct xb_store *st, struct xb_account *a)
{
    struct xb_account **tail = &st->accounts;
    while (*tail)
        tail = &(*tail)->next;
    a->next = NULL;
    *tail = a;
}

static enum xb_err hmac_secret(const struct xb_store *st, const void *secret, size_t len,
                               unsigned char out[XB_SECRET_HASH_LEN])
{
    unsigned int outlen = 0;
    if (!HMAC(EVP_sha256(), st->hash_key, (int)sizeof(st->hash_key),
              len ? secret : (const void *)"", len, out, &outlen) ||
        outlen != XB_SECRET_HASH_LEN) {
        xb_wipe(out, XB_SECRET_HASH_LEN);
        return XB_ERR_CRYPTO;
    }
    return XB_OK;
}

/* The file was replaced since this process last read or wrote it: by a writer that did
 * not hold the lock (an older version, a restored backup). Its generation says whether
 * it is newer than what is in memory. */
static bool disk_is_newer(struct xb_store *st)
{
    struct xb_file_stamp now;
    if (xb_plat_file_stamp(st->path, &now) != XB_OK || memcmp(&now, &st->stamp, sizeof(now)) == 0)
        return false;
    struct xb_store disk = { .dir = st->dir, .path = st->path };
    char *errmsg = NULL;
    bool newer = store_read(&disk, &errmsg) == XB_OK && disk.generation > st->generation;
    xb_free(errmsg);
    xb_store_accounts_free(disk.accounts);
    xb_wipe(disk.hash_key, sizeof(disk.hash_key));
    return newer;
}

enum xb_err xb_store_save(struct xb_store *st)
{
    enum xb_err rc;
    char *text = NULL;
    size_t textlen = 0;
    unsigned char *sealed = NULL;
    size_t sealedlen = 0;

    if (disk_is_newer(st)) {
        /* Never over a newer store: its writer's changes win; ours are reloaded over. */
        xb_log_error("the account store %s was changed by another process since it was read; "
                     "it is not overwritten, and is read again", st->path);
        xb_store_refresh(st);
        return XB_ERR_CONFLICT;
    }
    rc = xb_store_doc_print(st->hash_key, st->generation + 1, st->accounts, &text, &textlen);
    if (rc != XB_OK) {
        xb_log_error("cannot serialise the account store %s: %s", st->path, xb_err_str(rc));
        goto out;
    }
    rc = xb_plat_seal(st->dir, text, textlen, &sealed, &sealedlen);
    if (rc != XB_OK) {
        xb_log_error("cannot seal the account store %s: %s", st->path, xb_err_str(rc));
        goto out;
    }
    if (sealedlen > XB_STORE_FILE_MAX) {
        /* Never write what xb_store_open would refuse to read back. */
        xb_log_error("the account store %s would exceed %lu bytes; not saved", st->path,
                     (unsigned long)XB_STORE_FILE_MAX);
        rc = XB_ERR_RANGE;
        goto out;
    }
    rc = xb_plat_file_replace(st->path, sealed, sealedlen);
    if (rc != XB_OK) {
        xb_log_error("cannot write the account store %s: %s", st->path, xb_err_str(rc));
    } else {
        st->generation++;
        note_stamp(st);
    }
out:
    if (text) {
        xb_wipe(text, textlen);
        xb_free(text);
    }
    xb_free(sealed);
    return rc;
}

/* ---- opening -------------------------------------------------------------------------- */

static char *join_path(const char *dir, const char *name)
{
    size_t dlen = strlen(dir);
    while (dlen > 1 && (dir[dlen - 1] == '/' || dir[dlen - 1] == '\\'))
        dlen--;
    size_t n = dlen + strlen(name) + 2;
    char *p = xb_new_array(char, n);
    if (p)
        snprintf(p, n, "%.*s/%s", (int)dlen, dir, name);
    return p;
}

static enum xb_err store_read(struct xb_store *st, char **errmsg)
{
    enum xb_err rc;
    unsigned char *raw = NULL, *plain = NULL;
    size_t rawlen = 0, plainlen = 0;

    rc = xb_plat_file_read(st->path, &raw, &rawlen, XB_STORE_FILE_MAX);
    if (rc == XB_ERR_NOTFOUND) {
        rc = xb_plat_random(st->hash_key, sizeof(st->hash_key));
        if (rc == XB_OK)
            rc = xb_store_save(st);
        if (rc != XB_OK)
            xb_errmsg(errmsg, "cannot create the account store %s: %s", st->path,
                         xb_err_str(rc));
        else
            xb_log_info("created a new, empty account store %s", st->path);
        goto out;
    }
    if (rc == XB_ERR_RANGE) {
        xb_errmsg(errmsg, "the account store %s is larger than %lu bytes, which it "
                     "never should be; it was left untouched", st->path,
                     (unsigned long)XB_STORE_FILE_MAX);
        goto out;
    }
    if (rc != XB_OK) {
        xb_errmsg(errmsg, "cannot read the account store %s: %s", st->path, xb_err_str(rc));
        goto out;
    }
    rc = xb_plat_unseal(st->dir, raw, rawlen, &plain, &plainlen);
    if (rc == XB_ERR_CRYPTO) {
        xb_errmsg(errmsg, "the account store %s failed its integrity check (changed, "
                     "damaged, or sealed by another user or with another key); it was left "
                     "untouched", st->path);
        goto out;
    }
    if (rc != XB_OK) {
        xb_errmsg(errmsg, "cannot unseal the account store %s: %s; it was left untouched",
                     st->path, xb_err_str(rc));
        goto out;
    }
    rc = xb_store_doc_parse(st->path, plain, plainlen, st->hash_key, &st->generation,
                            &st->accounts, errmsg);
    if (rc != XB_OK)
        xb_errmsg(errmsg, "cannot load the account store %s: %s", st->path, xb_err_str(rc));
    else
        note_stamp(st);
out:
    if (plain) {
        xb_wipe(plain, plainlen);
        xb_free(plain);
    }
    xb_free(raw);
    return rc;
}

enum xb_err xb_store_open(const char *dir, struct xb_store **out, char **errmsg)
{
    enum xb_err rc;
    struct xb_store *st;

    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    if (!dir || !dir[0])
        return XB_ERR_INVAL;
    st = xb_new(struct xb_store);
    if (!st)
        return XB_ERR_NOMEM;
    st->dir = xb_strdup(dir);
    st->path = join_path(dir, XB_STORE_FILE);
    if (!st->dir || !st->path) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    rc = xb_plat_mkdir_private(dir);
    if (rc != XB_OK) {
        xb_errmsg(errmsg, "cannot create the directory %s for the account store: %s", dir,
                     xb_err_str(rc));
        goto out;
    }
    rc = store_read(st, errmsg);
    if (rc != XB_OK)
        goto out;
    *out = st;
    st = NULL;
out:
    xb_store_free(st);
    return rc;
}

enum xb_err xb_store_refresh(struct xb_store *st)
{
    struct xb_file_stamp now;
    if (xb_plat_file_stamp(st->path, &now) != XB_OK ||
        memcmp(&now, &st->stamp, sizeof(now)) == 0)
        return XB_OK;
    /* Another process (the CLI) saved: read the new version beside the old one and
     * switch only if it loads completely. */
    struct xb_store fresh = { .dir = st->dir, .path = st->path };
    char *errmsg = NULL;
    enum xb_err rc = store_read(&fresh, &errmsg);
    if (rc != XB_OK) {
        xb_log_error("keeping the accounts in memory: %s", errmsg ? errmsg : xb_err_str(rc));
        xb_free(errmsg);
        xb_store_accounts_free(fresh.accounts);
        xb_wipe(fresh.hash_key, sizeof(fresh.hash_key));
        return rc;
    }
    xb_store_accounts_free(st->accounts);
    st->accounts = fresh.accounts;
    memcpy(st->hash_key, fresh.hash_key, sizeof(st->hash_key));
    xb_wipe(fresh.hash_key, sizeof(fresh.hash_key));
    st->stamp = fresh.stamp;
    st->generation = fresh.generation;
    xb_log_info("reloaded the account store %s (changed by another process)", st->path);
    return XB_OK;
}

enum xb_err xb_store_lock(struct xb_store *st, unsigned wait_ms, char **errmsg)
{
    if (st->lock)
        return XB_OK;
    char *path = join_path(st->dir, XB_STORE_LOCK_FILE);
    if (!path)
        return XB_ERR_NOMEM;
    enum xb_err rc = xb_plat_lock_take(path, wait_ms, &st->lock);
    if (rc == XB_ERR_CONFLICT)
        xb_errmsg(errmsg, "another XOAuth Bridge process of this user (the companion, or a "
                     "command still running) is changing the account store %s", st->path);
    else if (rc != XB_OK)
        xb_errmsg(errmsg, "cannot lock the account store (%s): %s", path, xb_err_str(rc));
    xb_free(path);
    /* What the last holder saved is what the new owner starts from. */
    if (rc == XB_OK)
        xb_store_refresh(st);
    return rc;
}

void xb_store_free(struct xb_store *st)
{
    if (!st)
        return;
    xb_plat_lock_free(st->lock);
    xb_store_accounts_free(st->accounts);
    xb_wipe(st->hash_key, sizeof(st->hash_key));
    xb_free(st->dir);
    xb_free(st->path);
    xb_free(st);
}

/* ---- accounts ------------------------------------------------------------------------- */

struct xb_account *xb_store_accounts(struct xb_store *st)
{
    return st ? st->accounts : NULL;
}

struct xb_account *xb_store_find(struct xb_store *st, const char *email)
{
    if (!st || !email)
        return NULL;
    for (struct xb_account *a = st->accounts; a; a = a->next) {
        if (xb_store_email_matches(a->email, email))
            return a;
    }
    return NULL;
}

enum xb_err xb_store_add(struct xb_store *st, const char *email, const char *provider,
                         struct xb_account **out)
{
    enum xb_err rc;
    struct xb_account *a = NULL;
    char *norm = NULL;

    if (out)
        *out = NULL;
    if (!xb_store_provider_ok(provider))
        return XB_ERR_INVAL;
    rc = xb_store_email_normalize(email, &norm);
    if (rc != XB_OK)
        return rc;
    if (xb_store_find(st, norm)) {
        rc = XB_ERR_INVAL;
        goto out;
    }
    a = xb_new(struct xb_account);
    if (!a || !(a->provider = xb_strdup(provider))) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    a->email = norm;
    norm = NULL;
    a->state = XB_ACCT_NEW;
    append_account(st, a);
    if (out)
        *out = a;
    a = NULL;
    rc = XB_OK;
out:
    xb_store_account_free(a);
    xb_free(norm);
    return rc;
}

enum xb_err xb_store_remove(struct xb_store *st, const char *email)
{
    if (!st || !email)
        return XB_ERR_INVAL;
    for (struct xb_account **pp = &st->accounts; *pp; pp = &(*pp)->next) {
        if (xb_store_email_matches((*pp)->email, email)) {
            struct xb_account *a = *pp;
            *pp = a->next;
            xb_store_account_free(a);
            return XB_OK;
        }
    }
    return XB_ERR_NOTFOUND;
}

enum xb_err xb_store_new_secret(struct xb_store *st, struct xb_account *acct,
                                struct xb_secret **secret)
{
    enum xb_err rc;
    unsigned char raw[SECRET_RAW_LEN];
    unsigned char text[XB_LOCAL_SECRET_LEN + 1];
    unsigned char hash[XB_SECRET_HASH_LEN];
    struct xb_secret *s = NULL;

    *secret = NULL;
    rc = xb_plat_random(raw, sizeof(raw));
    if (rc != XB_OK)
        goto out;
    /* 24 bytes are 32 base64url characters exactly. */
    if ((rc = xb_base64url_encode(raw, sizeof(raw), (char *)text, sizeof(text))) != XB_OK)
        goto out;
    rc = hmac_secret(st, text, XB_LOCAL_SECRET_LEN, hash);
    if (rc != XB_OK)
        goto out;
    s = xb_secret_new(text, XB_LOCAL_SECRET_LEN);
    if (!s) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    memcpy(acct->secret_hash, hash, sizeof(hash));
    acct->has_secret = true;
    *secret = s;
    rc = XB_OK;
out:
    xb_wipe(raw, sizeof(raw));
    xb_wipe(text, sizeof(text));
    xb_wipe(hash, sizeof(hash));
    return rc;
}

enum xb_err xb_store_check_secret(struct xb_store *st, const char *email, const char *secret,
                                  size_t len, struct xb_account **acct)
{
    /* Compared against when there is nothing to compare against: an HMAC output that
     * matches it is as likely as guessing a real secret's. */
    static const unsigned char dummy[XB_SECRET_HASH_LEN];
    unsigned char mac[XB_SECRET_HASH_LEN];
    struct xb_account *found = NULL;
    enum xb_err rc;

    if (acct)
        *acct = NULL;
    if (!st || (!secret && len))
        return XB_ERR_INVAL;
    /* Walk the whole list and always compute the HMAC, so that the time taken does not
     * tell a known account from an unknown one. */
    for (struct xb_account *a = st->accounts; a; a = a->next) {
        if (email && xb_store_email_matches(a->email, email) && !found)
            found = a;
    }
    const unsigned char *want = found && found->has_secret ? found->secret_hash : dummy;
    rc = hmac_secret(st, secret, len, mac);
    if (rc != XB_OK)
        return rc;
    int differs = CRYPTO_memcmp(mac, want, sizeof(mac));
    xb_wipe(mac, sizeof(mac));
    if (differs != 0 || !found || !found->has_secret)
        return XB_ERR_AUTH;
    if (acct)
        *acct = found;
    return XB_OK;
}

