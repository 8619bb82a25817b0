/*
 * Sealing on POSIX: AES-256-GCM under a 32-byte random key kept in <dir>/store.key,
 * a 0600 file owned by this user. Blob format:
 *     "XBS1" | 12-byte random nonce | ciphertext | 16-byte tag      (magic is the AAD)
 * The key file is made once, completely, before it gets its name (link of a flushed
 * temporary file), so a crash never leaves a short key behind and two processes
 * racing to make one agree on the winner.
 *
 * With the environment variable XB_STORE_PASSPHRASE set, the key is instead derived
 * from the passphrase with scrypt and a random 32-byte salt kept (like the key, 0600)
 * in <dir>/store.key.salt: then nothing on disk opens the store without the passphrase.
 */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/log.h"
#include "core/mem.h"

#define KEY_FILE   "store.key"
#define KEY_LEN    32
#define MAGIC      "XBS1"
#define MAGIC_LEN  4
#define NONCE_LEN  12
#define TAG_LEN    16
#define OVERHEAD   (MAGIC_LEN + NONCE_LEN + TAG_LEN)

static char *key_path(const char *dir, const char *suffix)
{
    size_t n = strlen(dir) + sizeof(KEY_FILE) + strlen(suffix) + 2;
    char *p = xb_new_array(char, n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, KEY_FILE, suffix);
    return p;
}

/* Reads the key, refusing one that others could have read or replaced. */
static enum xb_err key_load(const char *path, unsigned char key[KEY_LEN])
{
    enum xb_err rc;
    struct stat st;
    unsigned char buf[KEY_LEN + 1];
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return XB_ERR_NOTFOUND;
        xb_log_error("cannot open the store key %s: %s", path, strerror(errno));
        return XB_ERR_IO;
    }
    if (fstat(fd, &st) != 0) {
        rc = XB_ERR_IO;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        xb_log_error("refusing the store key %s: not a regular file owned by this user", path);
        rc = XB_ERR_CRYPTO;
        goto out;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        xb_log_error("refusing the store key %s: other users have access to it (mode %03o, "
                     "must be 600)", path, (unsigned)(st.st_mode & 0777));
        rc = XB_ERR_CRYPTO;
        goto out;
    }
    while (got < sizeof(buf)) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = XB_ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got != KEY_LEN) {
        xb_log_error("refusing the store key %s: it is damaged (wrong size)", path);
        rc = XB_ERR_CRYPTO;
        goto out;
    }
    memcpy(key, buf, KEY_LEN);
    rc = XB_OK;
out:
    xb_wipe(buf, sizeof(buf));
    close(fd);
    return rc;
}

/* Makes a new key file unless one appears meanwhile; either way *key ends up with
 * the key that is on disk. */
static enum xb_err key_create(const char *dir, const char *path, unsigned char key[KEY_LEN])
{
    enum xb_err rc;
    unsigned char fresh[KEY_LEN];
    unsigned char sfx_rnd[6];
    char suffix[24];
    char *tmp = NULL;
    int fd = -1;

    rc = xb_plat_random(fresh, sizeof(fresh));
    if (rc == XB_OK)
        rc = xb_plat_random(sfx_rnd, sizeof(sfx_rnd));
    if (rc != XB_OK)
        goto out;
    snprintf(suffix, sizeof(suffix), ".tmp-%02x%02x%02x%02x%02x%02x", sfx_rnd[0], sfx_rnd[1],
             sfx_rnd[2], sfx_rnd[3], sfx_rnd[4], sfx_rnd[5]);
    tmp = key_path(dir, suffix);
    if (!tmp) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
              S_IRUSR | S_IWUSR);
    if (fd < 0) {
        xb_log_error("cannot create the store key in %s: %s", dir, strerror(errno));
        rc = XB_ERR_IO;
        goto out;
    }
    size_t done = 0;
    while (done < sizeof(fresh)) {
        ssize_t n = write(fd, fresh + done, sizeof(fresh) - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = XB_ERR_IO;
            goto out;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = XB_ERR_IO;
        goto out;
    }
    fd = -1;
    int linked = link(tmp, path);
    if (linked != 0 && (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP)) {
        /* No hard links on this file system: rename is still atomic, only a race with
         * another process making a key at the same moment is no longer settled. */
        linked = rename(tmp, path);
    }
    if (linked != 0) {
        if (errno != EEXIST) {
            xb_log_error("cannot create the store key %s: %s", path, strerror(errno));
            rc = XB_ERR_IO;
            goto out;
        }
        /* Someone else made one first: theirs is the key. */
        rc = key_load(path, key);
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    xb_log_info("created the store key %s", path);
    memcpy(key, fresh, KEY_LEN);
    rc = XB_OK;
out:
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        xb_free(tmp);
    }
    xb_wipe(fresh, sizeof(fresh));
    return rc;
}

/* scrypt cost: about 32 MiB and a fraction of a second, once per process start and save. */
#define SCRYPT_N      (1u << 15)
#define SCRYPT_R      8
#define SCRYPT_P      1
#define SCRYPT_MAXMEM (64u * 1024 * 1024)

static enum xb_err key_from_passphrase(const char *dir, const char *pass, bool create,
                                       unsigned char key[KEY_LEN])
{
    unsigned char salt[KEY_LEN];
    char *path = key_path(dir, ".salt");
    if (!path)
        return XB_ERR_NOMEM;
    enum xb_err rc = key_load(path, salt);
    if (rc == XB_ERR_NOTFOUND && create) {
        rc = key_create(dir, path, salt);
    } else if (rc == XB_ERR_NOTFOUND) {
        xb_log_error("the store salt %s is missing: data sealed with it cannot be read", path);
        rc = XB_ERR_CRYPTO;
    }
    if (rc == XB_OK && EVP_PBE_scrypt(pass, strlen(pass), salt, sizeof(salt), SCRYPT_N, SCRYPT_R,
                                      SCRYPT_P, SCRYPT_MAXMEM, key, KEY_LEN) != 1) {
        xb_log_error("cannot derive the store key from the passphrase");
        rc = XB_ERR_CRYPTO;
    }
    xb_wipe(salt, sizeof(salt));
    xb_free(path);
    return rc;
}

static enum xb_err key_get(const char *dir, bool create, unsigned char key[KEY_LEN])
{
    const char *pass = getenv("XB_STORE_PASSPHRASE");
    if (pass && *pass)
        return key_from_passphrase(dir, pass, create, key);
    char *path = key_path(dir, "");
    if (!path)
        return XB_ERR_NOMEM;
    enum xb_err rc = key_load(path, key);
    if (rc == XB_ERR_NOTFOUND && create) {
        rc = key_create(dir, path, key);
    } else if (rc == XB_ERR_NOTFOUND) {
        xb_log_error("the store key %s is missing: data sealed with it cannot be read", path);
        rc = XB_ERR_CRYPTO;
    }
    xb_free(path);
    return rc;
}

enum xb_err xb_plat_seal(const char *dir, const void *in, size_t len, unsigned char **out,
                         size_t *outlen)
{
    enum xb_err rc;
    unsigned char key[KEY_LEN];
    unsigned char *blob = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0, fin = 0;

    *out = NULL;
    *outlen = 0;
    if (len > (size_t)INT_MAX - OVERHEAD)
        return XB_ERR_RANGE;
    rc = key_get(dir, true, key);
    if (rc != XB_OK)
        return rc;
    blob = xb_new_array(unsigned char, len + OVERHEAD);
    if (!blob) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    memcpy(blob, MAGIC, MAGIC_LEN);
    rc = xb_plat_random(blob + MAGIC_LEN, NONCE_LEN);
    if (rc != XB_OK)
        goto out;
    rc = XB_ERR_CRYPTO;
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        goto out;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, blob + MAGIC_LEN) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)MAGIC, MAGIC_LEN) != 1)
        goto out;
    n = 0;
    unsigned char *ct = blob + MAGIC_LEN + NONCE_LEN;
    if (len > 0 && EVP_EncryptUpdate(ctx, ct, &n, in, (int)len) != 1)
        goto out;
    if (EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 || (size_t)n + (size_t)fin != len)
        goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, ct + len) != 1)
        goto out;
    *out = blob;
    *outlen = len + OVERHEAD;
    blob = NULL;
    rc = XB_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    xb_free(blob);
    xb_wipe(key, sizeof(key));
    return rc;
}

enum xb_err xb_plat_unseal(const char *dir, const void *in, size_t len, unsigned char **out,
                           size_t *outlen)
{
    enum xb_err rc;
    const unsigned char *blob = in;
    unsigned char key[KEY_LEN];
    unsigned char tag[TAG_LEN];
    unsigned char *plain = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    size_t ptlen;
    int n = 0, fin = 0;

    *out = NULL;
    *outlen = 0;
    if (len < OVERHEAD || memcmp(blob, MAGIC, MAGIC_LEN) != 0)
        return XB_ERR_CRYPTO;
    if (len > (size_t)INT_MAX)
        return XB_ERR_RANGE;
    ptlen = len - OVERHEAD;
    rc = key_get(dir, false, key);
    if (rc != XB_OK)
        return rc;
    plain = xb_new_array(unsigned char, ptlen + 1);
    if (!plain) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    rc = XB_ERR_CRYPTO;
    memcpy(tag, blob + len - TAG_LEN, TAG_LEN);
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        goto out;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, blob + MAGIC_LEN) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n, blob, MAGIC_LEN) != 1)
        goto out;
    n = 0;
    if (ptlen > 0 &&
        EVP_DecryptUpdate(ctx, plain, &n, blob + MAGIC_LEN + NONCE_LEN, (int)ptlen) != 1)
        goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
        goto out;
    /* Final checks the tag; until it says yes the plaintext is not to be trusted. */
    if (EVP_DecryptFinal_ex(ctx, plain + n, &fin) != 1 || (size_t)n + (size_t)fin != ptlen)
        goto out;
    plain[ptlen] = '\0';
    *out = plain;
    *outlen = ptlen;
    plain = NULL;
    rc = XB_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (plain) {
        xb_wipe(plain, ptlen);
        xb_free(plain);
    }
    xb_wipe(key, sizeof(key));
    return rc;
}
