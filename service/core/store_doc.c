/*
 * The account store's document: the JSON text that is sealed on disk,
 *     {"version":1,"generation":N,"hash_key":"<64 hex>","accounts":[{...}, ...]}
 * (generation: counts the saves, so that no writer overwrites a newer store; absent in
 * files written before it existed, which count as 0)
 * how it is written and how every field is checked when it is read back, and the
 * account records themselves. Every string cJSON copied (tokens, the hash key) is
 * wiped before cJSON frees it, and the text is printed into buffers of our own.
 */
#include "core/store_doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/ascii.h"
#include "core/json.h"
#include "core/log.h"

#define STORE_VERSION     1

#define PROVIDER_MAX      128
#define TOKEN_MAX         ((size_t)64 * 1024)
#define LAST_ERROR_MAX    1024
#define JSON_INT_LIMIT    9007199254740991.0          /* 2^53 - 1: exact in a double */
#define NO_INDEX          ((size_t)-1)

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

static bool printable(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

bool xb_store_provider_ok(const char *name)
{
    return name && name[0] && strlen(name) <= PROVIDER_MAX && printable(name);
}

/* Lower-cases and checks an address: one '@' with something on both sides, no spaces or
 * control characters, at most XB_EMAIL_MAX bytes. Non-ASCII bytes pass as they are. */
enum xb_err xb_store_email_normalize(const char *in, char **out)
{
    size_t len = 0, ats = 0;
    *out = NULL;
    if (!in)
        return XB_ERR_INVAL;
    for (; in[len]; len++) {
        unsigned char c = (unsigned char)in[len];
        if (len >= XB_EMAIL_MAX || c <= 0x20 || c == 0x7f)
            return XB_ERR_INVAL;
        if (c == '@')
            ats++;
    }
    if (ats != 1 || in[0] == '@' || in[len - 1] == '@')
        return XB_ERR_INVAL;
    char *copy = xb_strndup(in, len);
    if (!copy)
        return XB_ERR_NOMEM;
    for (size_t i = 0; i < len; i++)
        copy[i] = xb_ascii_lower(copy[i]);
    *out = copy;
    return XB_OK;
}

/* stored is already lower case; candidate may be in any case. */
bool xb_store_email_matches(const char *stored, const char *candidate)
{
    for (;; stored++, candidate++) {
        char c = xb_ascii_lower(*candidate);
        if (*stored != c)
            return false;
        if (!c)
            return true;
    }
}

void xb_store_account_free(struct xb_account *a)
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

void xb_store_accounts_free(struct xb_account *a)
{
    while (a) {
        struct xb_account *next = a->next;
        xb_store_account_free(a);
        a = next;
    }
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
        !add_int(o, "signed_in_at", a->signed_in_at) ||
        !add_opt_string(o, "last_error", a->last_error))
        goto out;
    ok = true;
out:
    xb_wipe(hash_hex, sizeof(hash_hex));
    return ok;
}

static cJSON *store_to_json(const unsigned char *hash_key, int64_t generation,
                            const struct xb_account *accounts)
{
    char key_hex[2 * XB_STORE_HASH_KEY_LEN + 1];
    cJSON *root = cJSON_CreateObject(), *arr;
    bool ok = false;

    if (!root)
        return NULL;
    hex_encode(hash_key, XB_STORE_HASH_KEY_LEN, key_hex);
    if (!cJSON_AddNumberToObject(root, "version", STORE_VERSION) ||
        !add_int(root, "generation", generation) ||
        !cJSON_AddStringToObject(root, "hash_key", key_hex) ||
        !(arr = cJSON_AddArrayToObject(root, "accounts")))
        goto out;
    for (const struct xb_account *a = accounts; a; a = a->next) {
        if (!account_to_json(a, arr))
            goto out;
    }
    ok = true;
out:
    xb_wipe(key_hex, sizeof(key_hex));
    if (!ok) {
        xb_json_free(root);
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
        if (cap >= XB_STORE_DOC_MAX)
            return XB_ERR_RANGE;
        cap *= 2;
    }
}

/* What JSON cannot carry faithfully is refused before anything is written. */
static enum xb_err check_serialisable(const struct xb_account *accounts)
{
    for (const struct xb_account *a = accounts; a; a = a->next) {
        const int64_t times[] = { a->access_expires, a->last_ok, a->last_fail,
                                  a->signed_in_at };
        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
            if ((double)times[i] > JSON_INT_LIMIT || (double)times[i] < -JSON_INT_LIMIT) {
                xb_log_error("account %s: a time stamp is out of range; store not saved",
                             a->email);
                return XB_ERR_RANGE;
            }
        }
        const struct xb_secret *tokens[] = { a->refresh_token, a->access_token };
        for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
            if (!tokens[i])
                continue;
            /* Loading refuses both, so saving must too, or the store would not open. */
            if (tokens[i]->len > TOKEN_MAX) {
                xb_log_error("account %s: a token is longer than %lu bytes; store not saved",
                             a->email, (unsigned long)TOKEN_MAX);
                return XB_ERR_RANGE;
            }
            if (strlen(tokens[i]->data) != tokens[i]->len) {
                xb_log_error("account %s: a token contains a NUL byte; store not saved",
                             a->email);
                return XB_ERR_INVAL;
            }
        }
    }
    return XB_OK;
}

enum xb_err xb_store_doc_print(const unsigned char *hash_key, int64_t generation,
                               const struct xb_account *accounts, char **text, size_t *len)
{
    enum xb_err rc;
    cJSON *root = NULL;

    *text = NULL;
    *len = 0;
    rc = check_serialisable(accounts);
    if (rc != XB_OK)
        return rc;
    root = store_to_json(hash_key, generation, accounts);
    if (!root)
        return XB_ERR_NOMEM;
    rc = json_print(root, text, len);
    xb_json_free(root);
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
    unsigned long i = (unsigned long)ld->index;
    if (ld->index != NO_INDEX && !field[0])
        xb_errmsg(ld->errmsg, "the account store %s is malformed: accounts[%lu] %s; it "
                     "was left untouched", ld->path, i, problem);
    else if (ld->index == NO_INDEX)
        xb_errmsg(ld->errmsg, "the account store %s is malformed: \"%s\" %s; it was "
                     "left untouched", ld->path, field, problem);
    else
        xb_errmsg(ld->errmsg, "the account store %s is malformed: accounts[%lu].%s %s; "
                     "it was left untouched", ld->path, i, field, problem);
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
    if ((rc = field_string(ld, o, "email", false, XB_EMAIL_MAX, &s)) != XB_OK)
        goto out;
    rc = xb_store_email_normalize(s, &a->email);
    if (rc == XB_ERR_INVAL)
        rc = bad_field(ld, "email", "is not a valid address");
    if (rc != XB_OK)
        goto out;
    if ((rc = field_string(ld, o, "provider", false, PROVIDER_MAX, &s)) != XB_OK)
        goto out;
    if (!xb_store_provider_ok(s)) {
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
    /* signed_in_at came after the first stores were written: absent means unknown. */
    if (cJSON_GetObjectItemCaseSensitive(o, "signed_in_at") &&
        (rc = field_int(ld, o, "signed_in_at", &a->signed_in_at)) != XB_OK)
        goto out;
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
    xb_store_account_free(a);
    return rc;
}

enum xb_err xb_store_doc_parse(const char *path, const unsigned char *text, size_t len,
                               unsigned char *hash_key, int64_t *generation,
                               struct xb_account **accounts, char **errmsg)
{
    enum xb_err rc;
    struct loader ld = { path, errmsg, NO_INDEX };
    struct xb_account *list = NULL, **tail = &list;
    const cJSON *it, *acct;
    const char *s;
    cJSON *root = cJSON_ParseWithLength((const char *)text, len);

    *accounts = NULL;
    if (!root || !cJSON_IsObject(root)) {
        xb_errmsg(errmsg, "the account store %s does not hold a valid account document; it "
                     "was left untouched", path);
        rc = XB_ERR_INVAL;
        goto out;
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(it)) {
        rc = bad_field(&ld, "version", "must be a number");
        goto out;
    }
    if (it->valuedouble != STORE_VERSION) {
        xb_errmsg(errmsg, "the account store %s has format version %g, which this version "
                     "of XOAuth Bridge does not know; it was left untouched", path,
                     it->valuedouble);
        rc = XB_ERR_UNSUPPORTED;
        goto out;
    }
    *generation = 0;
    if (cJSON_GetObjectItemCaseSensitive(root, "generation") &&
        ((rc = field_int(&ld, root, "generation", generation)) != XB_OK || *generation < 0)) {
        rc = bad_field(&ld, "generation", "must be a whole number, 0 or more");
        goto out;
    }
    if ((rc = field_string(&ld, root, "hash_key", false, 2 * XB_STORE_HASH_KEY_LEN, &s)) !=
        XB_OK)
        goto out;
    if (!hex_decode(s, hash_key, XB_STORE_HASH_KEY_LEN)) {
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
        for (const struct xb_account *b = list; b; b = b->next) {
            if (strcmp(a->email, b->email) == 0) {
                xb_store_account_free(a);
                rc = bad_field(&ld, "email", "appears twice");
                goto out;
            }
        }
        *tail = a;
        tail = &a->next;
        ld.index++;
    }
    *accounts = list;
    list = NULL;
    rc = XB_OK;
out:
    xb_store_accounts_free(list);
    xb_json_free(root);
    return rc;
}

/* ---- account records ------------------------------------------------------------------ */

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
    /* The one place an account's state changes: every transition is logged by name. */
    if (acct->state != state)
        xb_log_info("account %s: %s -> %s%s%s", acct->email, xb_account_state_name(acct->state),
                    xb_account_state_name(state), copy ? ": " : "", copy ? copy : "");
    acct->state = state;
    xb_free(acct->last_error);
    acct->last_error = copy;
    if (why)
        acct->last_fail = now;
    else if (state == XB_ACCT_OK)
        acct->last_ok = now;
}
