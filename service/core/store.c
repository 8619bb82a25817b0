/*
 * The account store. In memory a list of accounts; on disk one JSON document
 *     {"version":1,"hash_key":"<64 hex>","accounts":[{...}, ...]}
 * sealed by the platform (DPAPI / AES-256-GCM) and replaced atomically on every save.
 * Every plaintext copy (JSON text, the strings inside cJSON's tree, unsealed bytes)
 * is wiped before it is freed. Local secrets are never stored, only
 * HMAC-SHA256(hash_key, secret).
 */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "../platform/platform.h"

#define STORE_VERSION     1
#define STORE_MAX         ((size_t)4 * 1024 * 1024)   /* sealed file, bytes */
#define HASH_KEY_LEN      32
#define SECRET_RAW_LEN    24                           /* 192 bits -> 32 base64url chars */
#define EMAIL_MAX         320
#define PROVIDER_MAX      128
#define TOKEN_MAX         ((size_t)64 * 1024)
#define LAST_ERROR_MAX    1024
#define JSON_INT_LIMIT    9007199254740991.0          /* 2^53 - 1: exact in a double */
#define NO_INDEX          ((size_t)-1)

struct xb_store {
    char *dir;
    char *path;
    unsigned char hash_key[HASH_KEY_LEN];
    struct xb_account *accounts;
};

static const char *const state_names[] = {
    [XB_ACCT_NEW] = "new",
    [XB_ACCT_OK] = "ok",
    [XB_ACCT_NEEDS_SIGNIN] = "needs-signin",
    [XB_ACCT_TEMP_ERROR] = "temp-error",
};
#define STATE_COUNT (sizeof(state_names) / sizeof(state_names[0]))

const char *xb_account_state_name(enum xb_account_state state)
{
    if ((unsigned)state >= STATE_COUNT)
        return "unknown";
    return state_names[state];
}

/* ---- small helpers ------------------------------------------------------------------ */

static void set_msg(char **errmsg, const char *fmt, ...) XB_PRINTF(2, 3);
static void set_msg(char **errmsg, const char *fmt, ...)
{
    va_list ap;
    if (!errmsg || *errmsg)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *msg = xb_new_array(char, (size_t)n + 1);
    if (!msg)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *errmsg = msg;
}

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes exactly len bytes from 2*len hex digits; false on anything else. */
static bool hex_decode(const char *in, unsigned char *out, size_t len)
{
    if (strlen(in) != 2 * len)
        return false;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit(in[2 * i]), lo = hex_digit(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

static bool printable_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

/* Lower-cases and checks an address: one '@' with something on both sides, no spaces or
 * control characters, at most EMAIL_MAX bytes. Non-ASCII bytes pass as they are. */
static enum xb_err email_normalize(const char *in, char **out)
{
    size_t len = 0, ats = 0;
    *out = NULL;
    if (!in)
        return XB_ERR_INVAL;
    for (; in[len]; len++) {
        unsigned char c = (unsigned char)in[len];
        if (len >= EMAIL_MAX || c <= 0x20 || c == 0x7f)
            return XB_ERR_INVAL;
        if (c == '@')
            ats++;
    }
    if (ats != 1 || in[0] == '@' || in[len - 1] == '@')
        return XB_ERR_INVAL;
    char *copy = xb_strndup(in, len);
    if (!copy)
        return XB_ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        if (copy[i] >= 'A' && copy[i] <= 'Z')
            copy[i] = (char)(copy[i] - 'A' + 'a');
    }
    *out = copy;
    return XB_OK;
}

/* stored is already lower case; candidate may be in any case. */
static bool email_matches(const char *stored, const char *candidate)
{
    for (;; stored++, candidate++) {
        char c = *candidate;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (*stored != c)
            return false;
        if (!c)
            return true;
    }
}

static void account_free(struct xb_account *a)
{
    if (!a)
        return;
    xb_free(a->email);
    xb_free(a->provider);
    xb_secret_free(a->refresh_token);
    xb_secret_free(a->access_token);
    xb_wipe(a->secret_hash, sizeof(a->secret_hash));
    xb_free(a->last_error);
    xb_free(a);
}

static void accounts_free(struct xb_account *a)
{
    while (a) {
        struct xb_account *next = a->next;
        account_free(a);
        a = next;
    }
}

static void append_account(struct xb_store *st, struct xb_account *a)
{
    struct xb_account **tail = &st->accounts;
    while (*tail)
        tail = &(*tail)->next;
    a->next = NULL;
    *tail = a;
}

/* Strings in cJSON's tree are wiped before the tree is freed: they hold tokens and the
 * hash key. Keys are wiped too (cheap, and nothing to reason about). */
static void json_wipe(cJSON *item)
{
    for (; item; item = item->next) {
        if (item->valuestring && !(item->type & cJSON_IsReference))
            xb_wipe(item->valuestring, strlen(item->valuestring));
        if (item->string && !(item->type & cJSON_StringIsConst))
            xb_wipe(item->string, strlen(item->string));
        if (!(item->type & cJSON_IsReference))
            json_wipe(item->child);
    }
}

static void json_free(cJSON *root)
{
    json_wipe(root);
    cJSON_Delete(root);
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

/* ---- serialising ---------------------------------------------------------------------- */

static bool add_int(cJSON *obj, const char *name, int64_t v)
{
    /* A JSON number is a double here: refuse what it cannot hold exactly. */
    if ((double)v > JSON_INT_LIMIT || (double)v < -JSON_INT_LIMIT)
        return false;
    return cJSON_AddNumberToObject(obj, name, (double)v) != NULL;
}

static bool add_opt_string(cJSON *obj, const char *name, const char *v)
{
    if (!v)
        return cJSON_AddNullToObject(obj, name) != NULL;
    return cJSON_AddStringToObject(obj, name, v) != NULL;
}

static bool add_secret(cJSON *obj, const char *name, const struct xb_secret *s)
{
    if (!s)
        return cJSON_AddNullToObject(obj, name) != NULL;
    /* A token with a NUL in it would come back shorter: refuse rather than corrupt. */
    if (strlen(s->data) != s->len)
        return false;
    return cJSON_AddStringToObject(obj, name, s->data) != NULL;
}

static bool account_to_json(const struct xb_account *a, cJSON *arr)
{
    char hash_hex[2 * XB_SECRET_HASH_LEN + 1];
    cJSON *o = cJSON_CreateObject();
    bool ok = false;

    if (!o)
        return false;
    if (!cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return false;
    }
    if (!cJSON_AddStringToObject(o, "email", a->email) ||
        !cJSON_AddStringToObject(o, "provider", a->provider) ||
        !add_secret(o, "refresh_token", a->refresh_token) ||
        !add_secret(o, "access_token", a->access_token) ||
        !add_int(o, "access_expires", a->access_expires) ||
        !cJSON_AddBoolToObject(o, "has_secret", a->has_secret))
        goto out;
    if (a->has_secret) {
        hex_encode(a->secret_hash, sizeof(a->secret_hash), hash_hex);
        if (!cJSON_AddStringToObject(o, "secret_hash", hash_hex))
            goto out;
    } else if (!cJSON_AddNullToObject(o, "secret_hash")) {
        goto out;
    }
    if (!cJSON_AddStringToObject(o, "state", xb_account_state_name(a->state)) ||
        !add_int(o, "last_ok", a->last_ok) || !add_int(o, "last_fail", a->last_fail) ||
        !add_opt_string(o, "last_error", a->last_error))
        goto out;
    ok = true;
out:
    xb_wipe(hash_hex, sizeof(hash_hex));
    return ok;
}

static cJSON *store_to_json(const struct xb_store *st)
{
    char key_hex[2 * HASH_KEY_LEN + 1];
    cJSON *root = cJSON_CreateObject(), *arr;
    bool ok = false;

    if (!root)
        return NULL;
    hex_encode(st->hash_key, sizeof(st->hash_key), key_hex);
    if (!cJSON_AddNumberToObject(root, "version", STORE_VERSION) ||
        !cJSON_AddStringToObject(root, "hash_key", key_hex) ||
        !(arr = cJSON_AddArrayToObject(root, "accounts")))
        goto out;
    for (const struct xb_account *a = st->accounts; a; a = a->next) {
        if (!account_to_json(a, arr))
            goto out;
    }
    ok = true;
out:
    xb_wipe(key_hex, sizeof(key_hex));
    if (!ok) {
        json_free(root);
        root = NULL;
    }
    return root;
}

/* Prints into buffers of our own, so that no plaintext is left behind in memory
 * cJSON reallocated and freed; a buffer that was too small is wiped and doubled. */
static enum xb_err json_print(cJSON *root, char **text, size_t *len)
{
    size_t cap = 4096;
    for (;;) {
        char *buf = xb_new_array(char, cap);
        if (!buf)
            return XB_ERR_NOMEM;
        if (cJSON_PrintPreallocated(root, buf, (int)cap, 0)) {
            *text = buf;
            *len = strlen(buf);
            return XB_OK;
        }
        xb_wipe(buf, cap);
        xb_free(buf);
        if (cap >= STORE_MAX)
            return XB_ERR_RANGE;
        cap *= 2;
    }
}

/* What JSON cannot carry faithfully is refused before anything is written. */
static enum xb_err check_serialisable(const struct xb_store *st)
{
    for (const struct xb_account *a = st->accounts; a; a = a->next) {
        const int64_t times[] = { a->access_expires, a->last_ok, a->last_fail };
        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
            if ((double)times[i] > JSON_INT_LIMIT || (double)times[i] < -JSON_INT_LIMIT) {
                xb_log_error("account %s: a time stamp is out of range; store not saved",
                             a->email);
                return XB_ERR_RANGE;
            }
        }
        if ((a->refresh_token && strlen(a->refresh_token->data) != a->refresh_token->len) ||
            (a->access_token && strlen(a->access_token->data) != a->access_token->len)) {
            xb_log_error("account %s: a token contains a NUL byte; store not saved", a->email);
            return XB_ERR_INVAL;
        }
    }
    return XB_OK;
}

enum xb_err xb_store_save(struct xb_store *st)
{
    enum xb_err rc;
    cJSON *root = NULL;
    char *text = NULL;
    size_t textlen = 0;
    unsigned char *sealed = NULL;
    size_t sealedlen = 0;

    rc = check_serialisable(st);
    if (rc != XB_OK)
        goto out;
    root = store_to_json(st);
    if (!root) {
        xb_log_error("cannot serialise the account store %s: out of memory", st->path);
        rc = XB_ERR_NOMEM;
        goto out;
    }
    rc = json_print(root, &text, &textlen);
    if (rc != XB_OK) {
        xb_log_error("cannot serialise the account store %s: %s", st->path, xb_err_str(rc));
        goto out;
    }
    rc = xb_plat_seal(st->dir, text, textlen, &sealed, &sealedlen);
    if (rc != XB_OK) {
        xb_log_error("cannot seal the account store %s: %s", st->path, xb_err_str(rc));
        goto out;
    }
    if (sealedlen > STORE_MAX) {
        /* Never write what xb_store_open would refuse to read back. */
        xb_log_error("the account store %s would exceed %lu bytes; not saved", st->path,
                     (unsigned long)STORE_MAX);
        rc = XB_ERR_RANGE;
        goto out;
    }
    rc = xb_plat_file_replace(st->path, sealed, sealedlen);
    if (rc != XB_OK)
        xb_log_error("cannot write the account store %s: %s", st->path, xb_err_str(rc));
out:
    if (text) {
        xb_wipe(text, textlen);
        xb_free(text);
    }
    xb_free(sealed);
    json_free(root);
    return rc;
}

/* ---- loading -------------------------------------------------------------------------- */

struct loader {
    const char *path;
    char **errmsg;
    size_t index;   /* the account being read, or NO_INDEX */
};

static enum xb_err bad_field(struct loader *ld, const char *field, const char *problem)
{
    if (ld->index != NO_INDEX && !field[0])
        set_msg(ld->errmsg, "the account store %s is malformed: accounts[%lu] %s; it was left "
                "untouched", ld->path, (unsigned long)ld->index, problem);
    else if (ld->index == NO_INDEX)
        set_msg(ld->errmsg, "the account store %s is malformed: \"%s\" %s; it was left untouched",
                ld->path, field, problem);
    else
        set_msg(ld->errmsg, "the account store %s is malformed: accounts[%lu].%s %s; it was "
                "left untouched", ld->path, (unsigned long)ld->index, field, problem);
    return XB_ERR_INVAL;
}

/* A string field; optional ones may be null or absent (*out = NULL). */
static enum xb_err field_string(struct loader *ld, const cJSON *obj, const char *name,
                                bool optional, size_t max, const char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!it || cJSON_IsNull(it))
        return optional ? XB_OK : bad_field(ld, name, "is missing");
    if (!cJSON_IsString(it) || !it->valuestring)
        return bad_field(ld, name, optional ? "must be a string or null" : "must be a string");
    if (strlen(it->valuestring) > max)
        return bad_field(ld, name, "is too long");
    *out = it->valuestring;
    return XB_OK;
}

static enum xb_err field_int(struct loader *ld, const cJSON *obj, const char *name,
                             int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!it)
        return bad_field(ld, name, "is missing");
    if (!cJSON_IsNumber(it))
        return bad_field(ld, name, "must be a number");
    double d = it->valuedouble;
    if (!(d >= -JSON_INT_LIMIT && d <= JSON_INT_LIMIT) || d != (double)(int64_t)d)
        return bad_field(ld, name, "must be a whole number of seconds");
    *out = (int64_t)d;
    return XB_OK;
}

static enum xb_err field_bool(struct loader *ld, const cJSON *obj, const char *name, bool *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!it)
        return bad_field(ld, name, "is missing");
    if (!cJSON_IsBool(it))
        return bad_field(ld, name, "must be true or false");
    *out = cJSON_IsTrue(it);
    return XB_OK;
}

static enum xb_err field_token(struct loader *ld, const cJSON *obj, const char *name,
                               struct xb_secret **out)
{
    const char *s;
    enum xb_err rc = field_string(ld, obj, name, true, TOKEN_MAX, &s);
    if (rc != XB_OK || !s)
        return rc;
    if (!s[0])
        return bad_field(ld, name, "is empty");
    *out = xb_secret_new(s, strlen(s));
    return *out ? XB_OK : XB_ERR_NOMEM;
}

static enum xb_err parse_account(struct loader *ld, const cJSON *o, struct xb_account **out)
{
    enum xb_err rc;
    const char *s;
    struct xb_account *a = xb_new(struct xb_account);

    *out = NULL;
    if (!a)
        return XB_ERR_NOMEM;
    if (!cJSON_IsObject(o)) {
        rc = bad_field(ld, "", "must be an object");
        goto out;
    }
    if ((rc = field_string(ld, o, "email", false, EMAIL_MAX, &s)) != XB_OK)
        goto out;
    rc = email_normalize(s, &a->email);
    if (rc == XB_ERR_INVAL)
        rc = bad_field(ld, "email", "is not a valid address");
    if (rc != XB_OK)
        goto out;
    if ((rc = field_string(ld, o, "provider", false, PROVIDER_MAX, &s)) != XB_OK)
        goto out;
    if (!s[0] || !printable_text(s)) {
        rc = bad_field(ld, "provider", "is not a valid provider name");
        goto out;
    }
    if (!(a->provider = xb_strdup(s))) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    if ((rc = field_token(ld, o, "refresh_token", &a->refresh_token)) != XB_OK ||
        (rc = field_token(ld, o, "access_token", &a->access_token)) != XB_OK ||
        (rc = field_int(ld, o, "access_expires", &a->access_expires)) != XB_OK ||
        (rc = field_bool(ld, o, "has_secret", &a->has_secret)) != XB_OK ||
        (rc = field_string(ld, o, "secret_hash", !a->has_secret, 2 * XB_SECRET_HASH_LEN,
                           &s)) != XB_OK)
        goto out;
    if (a->has_secret && !hex_decode(s, a->secret_hash, sizeof(a->secret_hash))) {
        rc = bad_field(ld, "secret_hash", "must be 64 hexadecimal digits");
        goto out;
    }
    if ((rc = field_string(ld, o, "state", false, 32, &s)) != XB_OK)
        goto out;
    rc = XB_ERR_INVAL;
    for (size_t i = 0; i < STATE_COUNT; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            a->state = (enum xb_account_state)i;
            rc = XB_OK;
        }
    }
    if (rc != XB_OK) {
        rc = bad_field(ld, "state", "is not a known account state");
        goto out;
    }
    if ((rc = field_int(ld, o, "last_ok", &a->last_ok)) != XB_OK ||
        (rc = field_int(ld, o, "last_fail", &a->last_fail)) != XB_OK ||
        (rc = field_string(ld, o, "last_error", true, LAST_ERROR_MAX, &s)) != XB_OK)
        goto out;
    if (s && !(a->last_error = xb_strdup(s))) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    *out = a;
    a = NULL;
    rc = XB_OK;
out:
    account_free(a);
    return rc;
}

static enum xb_err store_parse(struct xb_store *st, const unsigned char *text, size_t len,
                               char **errmsg)
{
    enum xb_err rc;
    struct loader ld = { st->path, errmsg, NO_INDEX };
    const cJSON *it, *acct;
    const char *s;
    cJSON *root = cJSON_ParseWithLength((const char *)text, len);

    if (!root || !cJSON_IsObject(root)) {
        set_msg(errmsg, "the account store %s does not hold a valid account document; it was "
                "left untouched", st->path);
        rc = XB_ERR_INVAL;
        goto out;
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(it)) {
        rc = bad_field(&ld, "version", "must be a number");
        goto out;
    }
    if (it->valuedouble != STORE_VERSION) {
        set_msg(errmsg, "the account store %s has format version %g, which this version of "
                "XOAuth Bridge does not know; it was left untouched", st->path, it->valuedouble);
        rc = XB_ERR_UNSUPPORTED;
        goto out;
    }
    if ((rc = field_string(&ld, root, "hash_key", false, 2 * HASH_KEY_LEN, &s)) != XB_OK)
        goto out;
    if (!hex_decode(s, st->hash_key, sizeof(st->hash_key))) {
        rc = bad_field(&ld, "hash_key", "must be 64 hexadecimal digits");
        goto out;
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "accounts");
    if (!cJSON_IsArray(it)) {
        rc = bad_field(&ld, "accounts", it ? "must be an array" : "is missing");
        goto out;
    }
    ld.index = 0;
    cJSON_ArrayForEach(acct, it) {
        struct xb_account *a;
        rc = parse_account(&ld, acct, &a);
        if (rc != XB_OK)
            goto out;
        if (xb_store_find(st, a->email)) {
            account_free(a);
            rc = bad_field(&ld, "email", "appears twice");
            goto out;
        }
        append_account(st, a);
        ld.index++;
    }
    rc = XB_OK;
out:
    json_free(root);
    return rc;
}

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

    rc = xb_plat_file_read(st->path, &raw, &rawlen, STORE_MAX);
    if (rc == XB_ERR_NOTFOUND) {
        rc = xb_plat_random(st->hash_key, sizeof(st->hash_key));
        if (rc == XB_OK)
            rc = xb_store_save(st);
        if (rc != XB_OK)
            set_msg(errmsg, "cannot create the account store %s: %s", st->path,
                    xb_err_str(rc));
        else
            xb_log_info("created a new, empty account store %s", st->path);
        goto out;
    }
    if (rc == XB_ERR_RANGE) {
        set_msg(errmsg, "the account store %s is larger than %lu bytes, which it never "
                "should be; it was left untouched", st->path, (unsigned long)STORE_MAX);
        goto out;
    }
    if (rc != XB_OK) {
        set_msg(errmsg, "cannot read the account store %s: %s", st->path, xb_err_str(rc));
        goto out;
    }
    rc = xb_plat_unseal(st->dir, raw, rawlen, &plain, &plainlen);
    if (rc == XB_ERR_CRYPTO) {
        set_msg(errmsg, "the account store %s failed its integrity check (changed, damaged, "
                "or sealed by another user or with another key); it was left untouched",
                st->path);
        goto out;
    }
    if (rc != XB_OK) {
        set_msg(errmsg, "cannot unseal the account store %s: %s; it was left untouched",
                st->path, xb_err_str(rc));
        goto out;
    }
    rc = store_parse(st, plain, plainlen, errmsg);
    if (rc != XB_OK)
        set_msg(errmsg, "cannot load the account store %s: %s", st->path, xb_err_str(rc));
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
        set_msg(errmsg, "cannot create the directory %s for the account store: %s", dir,
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

void xb_store_free(struct xb_store *st)
{
    if (!st)
        return;
    accounts_free(st->accounts);
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
        if (email_matches(a->email, email))
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
    if (!provider || !provider[0] || strlen(provider) > PROVIDER_MAX ||
        !printable_text(provider))
        return XB_ERR_INVAL;
    rc = email_normalize(email, &norm);
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
    account_free(a);
    xb_free(norm);
    return rc;
}

enum xb_err xb_store_remove(struct xb_store *st, const char *email)
{
    if (!st || !email)
        return XB_ERR_INVAL;
    for (struct xb_account **pp = &st->accounts; *pp; pp = &(*pp)->next) {
        if (email_matches((*pp)->email, email)) {
            struct xb_account *a = *pp;
            *pp = a->next;
            account_free(a);
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
    /* 24 bytes are 32 base64 characters exactly, so there is never padding. */
    if (EVP_EncodeBlock(text, raw, (int)sizeof(raw)) != XB_LOCAL_SECRET_LEN) {
        rc = XB_ERR_CRYPTO;
        goto out;
    }
    for (size_t i = 0; i < XB_LOCAL_SECRET_LEN; i++) {
        if (text[i] == '+')
            text[i] = '-';
        else if (text[i] == '/')
            text[i] = '_';
    }
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
        if (email && email_matches(a->email, email) && !found)
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

void xb_account_set_tokens(struct xb_account *acct, struct xb_secret *refresh,
                           struct xb_secret *access, int64_t access_expires)
{
    if (refresh) {
        xb_secret_free(acct->refresh_token);
        acct->refresh_token = refresh;
    }
    if (access) {
        xb_secret_free(acct->access_token);
        acct->access_token = access;
        acct->access_expires = access_expires;
    }
}

void xb_account_set_state(struct xb_account *acct, enum xb_account_state state, const char *why,
                          int64_t now)
{
    char *copy = NULL;
    if (why) {
        size_t len = strlen(why);
        if (len > LAST_ERROR_MAX) {
            /* Cut at a character boundary, not inside a UTF-8 sequence. */
            len = LAST_ERROR_MAX;
            while (len > 0 && ((unsigned char)why[len] & 0xc0) == 0x80)
                len--;
        }
        copy = xb_strndup(why, len);   /* on failure the account keeps no text */
    }
    acct->state = state;
    xb_free(acct->last_error);
    acct->last_error = copy;
    if (why)
        acct->last_fail = now;
    else
        acct->last_ok = now;
}
