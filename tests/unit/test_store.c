/* The account store and the platform files under it: file.c, seal.c, store.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/store.h"
#include "platform/platform.h"

#include "store_fixture.h"
#include "xbtest.h"

/* ---- file.c --------------------------------------------------------------------------- */

static void file_read_and_replace(void)
{
    char path[PATH_MAX_TEST], dirpath[PATH_MAX_TEST];
    unsigned char *data = NULL;
    size_t len = 0;

    if (setup() != 0)
        return;
    in_dir(path, sizeof(path), "f.bin");
    CHECK(xb_plat_file_read(path, &data, &len, 100) == XB_ERR_NOTFOUND && data == NULL);
    CHECK(xb_plat_file_replace(path, "hello", 5) == XB_OK);
    CHECK(xb_plat_file_read(path, &data, &len, 100) == XB_OK && len == 5 &&
          memcmp(data, "hello", 5) == 0);
    xb_free(data);
    CHECK(xb_plat_file_read(path, &data, &len, 5) == XB_OK && len == 5);
    xb_free(data);
    CHECK(xb_plat_file_read(path, &data, &len, 4) == XB_ERR_RANGE && data == NULL);
    CHECK(xb_plat_file_replace(path, "", 0) == XB_OK);
    CHECK(xb_plat_file_read(path, &data, &len, 100) == XB_OK && len == 0 && data != NULL);
    xb_free(data);
    CHECK(xb_plat_file_replace(path, "second", 6) == XB_OK);
    CHECK(xb_plat_file_read(path, &data, &len, 100) == XB_OK && len == 6 &&
          memcmp(data, "second", 6) == 0);
    xb_free(data);
    CHECK(count_entries(test_dir) == 1);   /* no temporary file left behind */

    /* A failed rename (target is a directory) cleans up its temporary file. */
    in_dir(dirpath, sizeof(dirpath), "adir");
    CHECK(xb_plat_mkdir_private(dirpath) == XB_OK);
    CHECK(xb_plat_file_replace(dirpath, "x", 1) != XB_OK);
    CHECK(count_entries(test_dir) == 2);
#ifndef _WIN32
    CHECK(mode_of(path) == 0600);
#endif
    teardown();
}

static void mkdir_private_nested(void)
{
    char deep[PATH_MAX_TEST], mid[PATH_MAX_TEST], file[PATH_MAX_TEST];
    if (setup() != 0)
        return;
    in_dir(deep, sizeof(deep), "a/b/c/");
    in_dir(mid, sizeof(mid), "a/b");
    CHECK(xb_plat_mkdir_private(deep) == XB_OK);
    CHECK(xb_plat_mkdir_private(deep) == XB_OK);    /* exists: fine */
    in_dir(file, sizeof(file), "a/b/c/f");
    CHECK(xb_plat_file_replace(file, "x", 1) == XB_OK);
    CHECK(xb_plat_mkdir_private(file) != XB_OK);    /* a file is in the way */
    CHECK(xb_plat_mkdir_private("") == XB_ERR_INVAL);
#ifndef _WIN32
    CHECK(mode_of(mid) == 0700);
    in_dir(deep, sizeof(deep), "a/b/c");
    CHECK(mode_of(deep) == 0700);
#endif
    teardown();
}

/* ---- seal.c --------------------------------------------------------------------------- */

static void seal_roundtrip_and_tamper(void)
{
    static const char msg[] = "{\"the\":\"plaintext\"}";
    unsigned char *blob = NULL, *plain = NULL;
    size_t bloblen = 0, plainlen = 0;

    if (setup() != 0)
        return;
    CHECK(xb_plat_seal(test_dir, msg, sizeof(msg) - 1, &blob, &bloblen) == XB_OK);
    CHECK(blob && bloblen > sizeof(msg) - 1);
    CHECK(blob && !has_bytes(blob, bloblen, "plaintext"));
#ifndef _WIN32
    CHECK(bloblen == sizeof(msg) - 1 + 32 && memcmp(blob, "XBS1", 4) == 0);
#endif
    CHECK(xb_plat_unseal(test_dir, blob, bloblen, &plain, &plainlen) == XB_OK);
    CHECK(plainlen == sizeof(msg) - 1 && plain && memcmp(plain, msg, plainlen) == 0);
    xb_free(plain);

    /* Every single changed byte is caught. */
    int caught = 0;
    for (size_t i = 0; blob && i < bloblen; i++) {
        blob[i] ^= 0x01;
        plain = NULL;
        if (xb_plat_unseal(test_dir, blob, bloblen, &plain, &plainlen) == XB_ERR_CRYPTO &&
            plain == NULL)
            caught++;
        xb_free(plain);
        blob[i] ^= 0x01;
    }
    CHECK(blob && caught == (int)bloblen);
    if (caught != (int)bloblen)
        printf("#   %d of %lu changed bytes caught\n", caught, (unsigned long)bloblen);
    CHECK(xb_plat_unseal(test_dir, blob, bloblen / 2, &plain, &plainlen) == XB_ERR_CRYPTO);
    CHECK(xb_plat_unseal(test_dir, blob, 0, &plain, &plainlen) == XB_ERR_CRYPTO);
    xb_free(blob);

    /* Empty input seals too. */
    CHECK(xb_plat_seal(test_dir, "", 0, &blob, &bloblen) == XB_OK);
    CHECK(xb_plat_unseal(test_dir, blob, bloblen, &plain, &plainlen) == XB_OK && plainlen == 0);
    xb_free(plain);
    xb_free(blob);
    teardown();
}

/* ---- store.c -------------------------------------------------------------------------- */

static struct xb_secret *secret_of(const char *s)
{
    return xb_secret_new(s, strlen(s));
}

static void store_roundtrip(void)
{
    struct xb_store *st = NULL;
    struct xb_account *a = NULL, *b = NULL, *c = NULL;
    char *errmsg = NULL;

    if (setup() != 0)
        return;
    CHECK(xb_store_open(test_dir, &st, &errmsg) == XB_OK && errmsg == NULL);
    if (!st)
        goto out;
    CHECK(xb_store_accounts(st) == NULL);
    CHECK(xb_store_add(st, "Alice.Smith@Example.COM", "google", &a) == XB_OK);
    CHECK(xb_store_add(st, "bob@gmail.com", "google", &b) == XB_OK);
    CHECK(xb_store_add(st, "carol+tag@uni.example.edu", "workspace-uni", &c) == XB_OK);
    if (!a || !b || !c)
        goto out;
    CHECK_STR(a->email, "alice.smith@example.com");
    CHECK(a->state == XB_ACCT_NEW);

    xb_account_set_tokens(a, secret_of("1//0refresh-\"token\"\\with/odd+chars"),
                          secret_of("ya29.access"), 1700000123);
    xb_account_set_state(a, XB_ACCT_OK, NULL, 1700000000);
    xb_account_set_tokens(b, secret_of("1//bob-refresh"), NULL, 0);
    xb_account_set_state(b, XB_ACCT_NEEDS_SIGNIN,
                         "Google said: invalid_grant \"Token has been expired or revoked.\" "
                         "\xc3\xa9\xe2\x82\xac\n(second line)", 1700000500);
    xb_account_set_state(c, XB_ACCT_TEMP_ERROR, "network down", 42);
    struct xb_secret *sa = NULL;
    CHECK(xb_store_new_secret(st, a, &sa) == XB_OK && sa);
    CHECK(xb_store_save(st) == XB_OK);
    xb_store_free(st);
    st = NULL;

    CHECK(xb_store_open(test_dir, &st, &errmsg) == XB_OK && errmsg == NULL);
    if (!st)
        goto out_secret;
    a = xb_store_accounts(st);
    b = a ? a->next : NULL;
    c = b ? b->next : NULL;
    CHECK(a && b && c && c->next == NULL);
    if (!a || !b || !c)
        goto out_secret;
    CHECK_STR(a->email, "alice.smith@example.com");
    CHECK_STR(a->provider, "google");
    CHECK(a->refresh_token && a->refresh_token->len == 34);
    CHECK_STR(a->refresh_token ? a->refresh_token->data : NULL,
              "1//0refresh-\"token\"\\with/odd+chars");
    CHECK_STR(a->access_token ? a->access_token->data : NULL, "ya29.access");
    CHECK(a->access_expires == 1700000123);
    CHECK(a->has_secret);
    CHECK(a->state == XB_ACCT_OK && a->last_ok == 1700000000 && a->last_fail == 0);
    CHECK(a->last_error == NULL);

    CHECK_STR(b->email, "bob@gmail.com");
    CHECK_STR(b->refresh_token ? b->refresh_token->data : NULL, "1//bob-refresh");
    CHECK(b->access_token == NULL && b->access_expires == 0);
    CHECK(!b->has_secret);
    CHECK(b->state == XB_ACCT_NEEDS_SIGNIN && b->last_fail == 1700000500 && b->last_ok == 0);
    CHECK_STR(b->last_error, "Google said: invalid_grant \"Token has been expired or revoked.\" "
                             "\xc3\xa9\xe2\x82\xac\n(second line)");

    CHECK_STR(c->email, "carol+tag@uni.example.edu");
    CHECK_STR(c->provider, "workspace-uni");
    CHECK(c->refresh_token == NULL && c->access_token == NULL);
    CHECK(c->state == XB_ACCT_TEMP_ERROR && c->last_fail == 42);
    CHECK_STR(c->last_error, "network down");

    /* The hash key survived: the secret handed out before still works. */
    struct xb_account *who = NULL;
    CHECK(sa && xb_store_check_secret(st, "ALICE.smith@example.com", sa->data, sa->len, &who) ==
                    XB_OK && who == a);
    CHECK(xb_store_find(st, "BOB@GMAIL.COM") == b);
    CHECK(xb_store_find(st, "nobody@gmail.com") == NULL);

    /* Success clears the error and stamps last_ok. */
    xb_account_set_state(b, XB_ACCT_OK, NULL, 1800000000);
    CHECK(b->last_error == NULL && b->last_ok == 1800000000 && b->last_fail == 1700000500);
    CHECK_STR(xb_account_state_name(XB_ACCT_NEEDS_SIGNIN), "needs-signin");
    CHECK_STR(xb_account_state_name((enum xb_account_state)99), "unknown");
out_secret:
    xb_secret_free(sa);
out:
    xb_store_free(st);
    xb_free(errmsg);
    teardown();
}

static void store_validates_emails(void)
{
    struct xb_store *st = NULL;
    struct xb_account *a = NULL;
    char long_email[400];

    if (setup() != 0)
        return;
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK);
    if (!st)
        goto out;
    static const char *const bad[] = { "", "noat", "a@b@c", "a b@c.d", "@x.y", "x@",
                                       "tab\t@x.y", "ctl\x01@x.y", "del\x7f@x.y" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(xb_store_add(st, bad[i], "google", &a) == XB_ERR_INVAL && a == NULL);
    memset(long_email, 'a', sizeof(long_email));
    memcpy(long_email + 300, "@example.com", 13);   /* 312 chars: fine */
    CHECK(xb_store_add(st, long_email, "google", NULL) == XB_OK);
    memcpy(long_email + 310, "@example.com", 13);   /* 322 chars: too long */
    CHECK(xb_store_add(st, long_email, "google", NULL) == XB_ERR_INVAL);
    CHECK(xb_store_add(st, "User@Example.com", "google", &a) == XB_OK);
    CHECK(xb_store_add(st, "USER@example.COM", "google", NULL) == XB_ERR_INVAL);  /* twice */
    CHECK(xb_store_add(st, "other@example.com", "", NULL) == XB_ERR_INVAL);
    CHECK(xb_store_add(st, "other@example.com", "bad\nname", NULL) == XB_ERR_INVAL);
    CHECK(xb_store_add(st, "\xc3\xa9t\xc3\xa9@example.com", "google", NULL) == XB_OK);
    CHECK(xb_store_find(st, "user@example.com") == a);
out:
    xb_store_free(st);
    teardown();
}

static int is_b64url(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return 0;
    }
    return 1;
}

static void store_secrets(void)
{
    struct xb_store *st = NULL;
    struct xb_account *a = NULL, *b = NULL, *who = NULL;
    struct xb_secret *s1 = NULL, *s2 = NULL, *sb = NULL;

    if (setup() != 0)
        return;
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK);
    if (!st)
        goto out;
    CHECK(xb_store_add(st, "a@example.com", "google", &a) == XB_OK);
    CHECK(xb_store_add(st, "b@example.com", "google", &b) == XB_OK);
    if (!a || !b)
        goto out;
    /* No secret yet: nothing matches, not even an empty one. */
    CHECK(xb_store_check_secret(st, "a@example.com", "", 0, &who) == XB_ERR_AUTH && !who);
    CHECK(xb_store_check_secret(st, "a@example.com", NULL, 0, &who) == XB_ERR_AUTH);

    CHECK(xb_store_new_secret(st, a, &s1) == XB_OK && s1);
    CHECK(xb_store_new_secret(st, b, &sb) == XB_OK && sb);
    if (!s1 || !sb)
        goto out;
    CHECK(s1->len == XB_LOCAL_SECRET_LEN && strlen(s1->data) == XB_LOCAL_SECRET_LEN);
    CHECK(is_b64url(s1->data, s1->len));
    CHECK(strcmp(s1->data, sb->data) != 0);

    CHECK(xb_store_check_secret(st, "a@example.com", s1->data, s1->len, &who) == XB_OK &&
          who == a);
    CHECK(xb_store_check_secret(st, "A@EXAMPLE.COM", s1->data, s1->len, NULL) == XB_OK);
    /* Wrong secret, another account's secret, a prefix, unknown account. */
    who = NULL;
    CHECK(xb_store_check_secret(st, "a@example.com", "wrong", 5, &who) == XB_ERR_AUTH && !who);
    CHECK(xb_store_check_secret(st, "a@example.com", sb->data, sb->len, &who) == XB_ERR_AUTH);
    CHECK(xb_store_check_secret(st, "a@example.com", s1->data, s1->len - 1, &who) ==
          XB_ERR_AUTH);
    CHECK(xb_store_check_secret(st, "x@example.com", s1->data, s1->len, &who) == XB_ERR_AUTH);
    CHECK(xb_store_check_secret(st, NULL, s1->data, s1->len, &who) == XB_ERR_AUTH);
    CHECK(xb_store_check_secret(st, "b@example.com", sb->data, sb->len, &who) == XB_OK &&
          who == b);

    /* A new secret replaces the old one, and differs from it. */
    CHECK(xb_store_new_secret(st, a, &s2) == XB_OK && s2);
    if (!s2)
        goto out;
    CHECK(strcmp(s1->data, s2->data) != 0);
    CHECK(xb_store_check_secret(st, "a@example.com", s1->data, s1->len, NULL) == XB_ERR_AUTH);
    CHECK(xb_store_check_secret(st, "a@example.com", s2->data, s2->len, NULL) == XB_OK);

    /* ... and survives a save and reopen, which keeps only the hash. */
    CHECK(xb_store_save(st) == XB_OK);
    xb_store_free(st);
    st = NULL;
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK);
    CHECK(st && xb_store_check_secret(st, "a@example.com", s2->data, s2->len, &who) == XB_OK);
    CHECK(st && xb_store_check_secret(st, "a@example.com", s1->data, s1->len, &who) ==
                    XB_ERR_AUTH);

    /* Many secrets, all different. */
    char seen[16][XB_LOCAL_SECRET_LEN + 1];
    int dupes = 0;
    for (int i = 0; st && i < 16; i++) {
        struct xb_secret *s = NULL;
        a = xb_store_find(st, "a@example.com");
        CHECK(a && xb_store_new_secret(st, a, &s) == XB_OK && s && s->len == 32);
        if (!s)
            break;
        memcpy(seen[i], s->data, sizeof(seen[i]));
        for (int j = 0; j < i; j++)
            dupes += strcmp(seen[i], seen[j]) == 0;
        xb_secret_free(s);
    }
    CHECK(dupes == 0);
out:
    xb_secret_free(s1);
    xb_secret_free(s2);
    xb_secret_free(sb);
    xb_store_free(st);
    teardown();
}

/* A store with one account and a known secret, saved; returns its file's bytes. */
static unsigned char *saved_store(size_t *len)
{
    struct xb_store *st = NULL;
    struct xb_account *a = NULL;
    char path[PATH_MAX_TEST];
    unsigned char *data = NULL;

    if (xb_store_open(test_dir, &st, NULL) != XB_OK)
        return NULL;
    if (xb_store_add(st, "t@example.com", "google", &a) == XB_OK) {
        xb_account_set_tokens(a, secret_of("refresh-token-value"), NULL, 0);
        if (xb_store_save(st) == XB_OK) {
            store_path(path, sizeof(path));
            data = slurp(path, len);
        }
    }
    xb_store_free(st);
    return data;
}

/* Opening must fail with want, say so in words, and leave the file as it is. */
static void expect_refused(const unsigned char *bytes, size_t len, enum xb_err want,
                           const char *words)
{
    struct xb_store *st = NULL;
    char *errmsg = NULL;
    char path[PATH_MAX_TEST];
    size_t after_len = 0;

    store_path(path, sizeof(path));
    enum xb_err rc = xb_store_open(test_dir, &st, &errmsg);
    CHECK(rc == want && st == NULL);
    if (rc != want)
        printf("#   open gave %s, want %s (%s)\n", xb_err_str(rc), xb_err_str(want),
               errmsg ? errmsg : "no message");
    CHECK(contains(errmsg, words));
    if (!contains(errmsg, words))
        printf("#   message: %s\n", errmsg ? errmsg : "(none)");
    CHECK(contains(errmsg, "left untouched"));
    unsigned char *after = slurp(path, &after_len);
    CHECK(after && after_len == len && (len == 0 || memcmp(after, bytes, len) == 0));
    xb_free(after);
    xb_free(errmsg);
    xb_store_free(st);
}

static void store_tamper_detected(void)
{
    char path[PATH_MAX_TEST];
    size_t len = 0;

    if (setup() != 0)
        return;
    unsigned char *orig = saved_store(&len);
    CHECK(orig && len > 40);
    if (!orig)
        goto out;
    store_path(path, sizeof(path));
    const size_t where[] = { 0, 5, len / 2, len - 17, len - 1 };
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        orig[where[i]] ^= 0x20;
        CHECK(spit(path, orig, len) == 0);
        expect_refused(orig, len, XB_ERR_CRYPTO, "integrity");
        orig[where[i]] ^= 0x20;
    }
    /* Put back, it opens again. */
    CHECK(spit(path, orig, len) == 0);
    struct xb_store *st = NULL;
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK && st && xb_store_find(st, "t@example.com"));
    xb_store_free(st);
out:
    xb_free(orig);
    teardown();
}

static void store_truncated_refused(void)
{
    char path[PATH_MAX_TEST];
    size_t len = 0;

    if (setup() != 0)
        return;
    unsigned char *orig = saved_store(&len);
    CHECK(orig != NULL);
    if (!orig)
        goto out;
    store_path(path, sizeof(path));
    const size_t cut[] = { 0, 3, 10, len / 2, len - 1 };
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        CHECK(spit(path, orig, cut[i]) == 0);
        expect_refused(orig, cut[i], XB_ERR_CRYPTO, "integrity");
    }
    /* Appended garbage is a change too. */
    unsigned char *longer = xb_new_array(unsigned char, len + 8);
    if (longer) {
        memcpy(longer, orig, len);
        memcpy(longer + len, "trailing", 8);
        CHECK(spit(path, longer, len + 8) == 0);
        expect_refused(longer, len + 8, XB_ERR_CRYPTO, "integrity");
        xb_free(longer);
    }
out:
    xb_free(orig);
    teardown();
}

/* Documents that unseal but are wrong inside: refused, with the field named. */
static void store_malformed_refused(void)
{
    static const struct {
        const char *json;
        enum xb_err want;
        const char *words;
    } cases[] = {
        { "not json", XB_ERR_INVAL, "valid account document" },
        { "[1,2]", XB_ERR_INVAL, "valid account document" },
        { "{\"version\":2,\"hash_key\":\"00\",\"accounts\":[]}", XB_ERR_UNSUPPORTED, "version" },
        { "{\"version\":\"1\",\"accounts\":[]}", XB_ERR_INVAL, "\"version\"" },
        { "{\"version\":1,\"hash_key\":\"zz\",\"accounts\":[]}", XB_ERR_INVAL, "\"hash_key\"" },
        { "{\"version\":1,\"hash_key\":\""
          "0000000000000000000000000000000000000000000000000000000000000000"
          "\",\"accounts\":{}}", XB_ERR_INVAL, "\"accounts\"" },
#define HK "\"version\":1,\"hash_key\":\"" \
           "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\""
#define GOOD_REST "\"provider\":\"google\",\"refresh_token\":null,\"access_token\":null," \
                  "\"access_expires\":0,\"has_secret\":false,\"secret_hash\":null," \
                  "\"state\":\"new\",\"last_ok\":0,\"last_fail\":0,\"last_error\":null"
        { "{" HK ",\"accounts\":[5]}", XB_ERR_INVAL, "accounts[0] must be an object" },
        { "{" HK ",\"accounts\":[{\"email\":5," GOOD_REST "}]}", XB_ERR_INVAL,
          "accounts[0].email must be a string" },
        { "{" HK ",\"accounts\":[{\"email\":\"no-at\"," GOOD_REST "}]}", XB_ERR_INVAL,
          "accounts[0].email" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\"," GOOD_REST "},{\"email\":\"A@B\","
          GOOD_REST "}]}", XB_ERR_INVAL, "accounts[1].email appears twice" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\",\"provider\":7}]}", XB_ERR_INVAL,
          "accounts[0].provider" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\",\"provider\":\"g\",\"refresh_token\":1}]}",
          XB_ERR_INVAL, "accounts[0].refresh_token must be a string or null" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\",\"provider\":\"g\",\"access_expires\":1.5}]}",
          XB_ERR_INVAL, "accounts[0].access_expires" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\",\"provider\":\"g\",\"access_expires\":1,"
          "\"has_secret\":\"yes\"}]}", XB_ERR_INVAL, "accounts[0].has_secret" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\",\"provider\":\"g\",\"access_expires\":1,"
          "\"has_secret\":true,\"secret_hash\":null}]}", XB_ERR_INVAL, "accounts[0].secret_hash" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\",\"provider\":\"g\",\"access_expires\":1,"
          "\"has_secret\":true,\"secret_hash\":\"abcd\"}]}", XB_ERR_INVAL,
          "accounts[0].secret_hash" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\",\"provider\":\"g\",\"access_expires\":1,"
          "\"has_secret\":false,\"state\":\"happy\"}]}", XB_ERR_INVAL, "accounts[0].state" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\",\"provider\":\"g\",\"access_expires\":1,"
          "\"has_secret\":false,\"state\":\"ok\",\"last_ok\":\"now\"}]}", XB_ERR_INVAL,
          "accounts[0].last_ok" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\",\"provider\":\"g\",\"access_expires\":1,"
          "\"has_secret\":false,\"state\":\"ok\",\"last_ok\":1}]}", XB_ERR_INVAL,
          "accounts[0].last_fail is missing" },
        { "{" HK ",\"accounts\":[{\"email\":\"a@b\",\"provider\":\"g\",\"access_expires\":1,"
          "\"has_secret\":false,\"state\":\"ok\",\"last_ok\":1,\"last_fail\":2,"
          "\"last_error\":[]}]}", XB_ERR_INVAL, "accounts[0].last_error" },
    };
    char path[PATH_MAX_TEST];

    if (setup() != 0)
        return;
    store_path(path, sizeof(path));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char *blob = NULL;
        size_t bloblen = 0;
        CHECK(xb_plat_seal(test_dir, cases[i].json, strlen(cases[i].json), &blob, &bloblen) ==
              XB_OK);
        CHECK(blob && xb_plat_file_replace(path, blob, bloblen) == XB_OK);
        if (blob)
            expect_refused(blob, bloblen, cases[i].want, cases[i].words);
        xb_free(blob);
    }
    /* The good shape of the same document does open (unknown fields are ignored). */
    static const char good[] = "{" HK ",\"future\":1,\"accounts\":[{\"email\":\"A@B\","
                               GOOD_REST "}]}";
    unsigned char *blob = NULL;
    size_t bloblen = 0;
    struct xb_store *st = NULL;
    CHECK(xb_plat_seal(test_dir, good, sizeof(good) - 1, &blob, &bloblen) == XB_OK);
    CHECK(blob && xb_plat_file_replace(path, blob, bloblen) == XB_OK);
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK && st && xb_store_find(st, "a@b"));
    xb_store_free(st);
    xb_free(blob);
    teardown();
#undef HK
#undef GOOD_REST
}

static void store_remove(void)
{
    struct xb_store *st = NULL;
    struct xb_secret *s = NULL;
    struct xb_account *a = NULL;

    if (setup() != 0)
        return;
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK);
    if (!st)
        goto out;
    CHECK(xb_store_add(st, "one@example.com", "google", NULL) == XB_OK);
    CHECK(xb_store_add(st, "two@example.com", "google", &a) == XB_OK);
    CHECK(xb_store_add(st, "three@example.com", "google", NULL) == XB_OK);
    CHECK(a && xb_store_new_secret(st, a, &s) == XB_OK);
    xb_account_set_tokens(a, secret_of("rt"), secret_of("at"), 5);
    CHECK(xb_store_remove(st, "TWO@example.com") == XB_OK);
    CHECK(xb_store_remove(st, "two@example.com") == XB_ERR_NOTFOUND);
    CHECK(xb_store_find(st, "two@example.com") == NULL);
    CHECK(s && xb_store_check_secret(st, "two@example.com", s->data, s->len, NULL) ==
                   XB_ERR_AUTH);
    CHECK(xb_store_save(st) == XB_OK);
    xb_store_free(st);
    st = NULL;
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK);
    struct xb_account *first = xb_store_accounts(st);
    CHECK(first && first->next && first->next->next == NULL);
    CHECK_STR(first ? first->email : NULL, "one@example.com");
    CHECK_STR(first && first->next ? first->next->email : NULL, "three@example.com");
    CHECK(xb_store_remove(st, "one@example.com") == XB_OK);
    CHECK(xb_store_remove(st, "three@example.com") == XB_OK);
    CHECK(xb_store_accounts(st) == NULL);
    CHECK(xb_store_save(st) == XB_OK);
    xb_store_free(st);
    st = NULL;
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK && st && xb_store_accounts(st) == NULL);
out:
    xb_secret_free(s);
    xb_store_free(st);
    teardown();
}

/* Tokens near the size limit make a document that needs several print buffers. */
static void store_large(void)
{
    struct xb_store *st = NULL;
    char *big = xb_new_array(char, 60001);

    if (!big || setup() != 0) {
        xb_free(big);
        return;
    }
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK);
    for (int i = 0; st && i < 6; i++) {
        char email[64];
        struct xb_account *a = NULL;
        memset(big, 'A' + i, 60000);
        big[60000] = '\0';
        snprintf(email, sizeof(email), "user%d@example.com", i);
        CHECK(xb_store_add(st, email, "google", &a) == XB_OK);
        if (a)
            xb_account_set_tokens(a, secret_of(big), secret_of(big), i);
    }
    CHECK(st && xb_store_save(st) == XB_OK);
    xb_store_free(st);
    st = NULL;
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK);
    struct xb_account *a = st ? xb_store_find(st, "user5@example.com") : NULL;
    CHECK(a && a->refresh_token && a->refresh_token->len == 60000 &&
          a->refresh_token->data[59999] == 'F' && a->access_expires == 5);

    /* What loading would refuse is not saved either; the file stays as it was. */
    char path[PATH_MAX_TEST];
    size_t before_len = 0, after_len = 0;
    store_path(path, sizeof(path));
    unsigned char *before = slurp(path, &before_len);
    char *huge = xb_new_array(char, 70001);
    if (a && huge) {
        memset(huge, 'x', 70000);
        xb_account_set_tokens(a, secret_of(huge), NULL, 0);
        CHECK(xb_store_save(st) == XB_ERR_RANGE);
        xb_account_set_tokens(a, xb_secret_new("with\0nul", 8), NULL, 0);
        CHECK(xb_store_save(st) == XB_ERR_INVAL);
        xb_account_set_tokens(a, secret_of("fine"), NULL, 0);
        a->last_ok = INT64_MAX;
        CHECK(xb_store_save(st) == XB_ERR_RANGE);
    }
    unsigned char *after = slurp(path, &after_len);
    CHECK(before && after && before_len == after_len && !memcmp(before, after, before_len));
    xb_free(before);
    xb_free(after);
    xb_free(huge);
    xb_store_free(st);
    xb_free(big);
    teardown();
}

/* Two processes' views of one store (two handles here): the one that saves second over a
 * store the other saved meanwhile loses its change and reads the newer store; the lock
 * lets one holder in at a time. Without the generation check the second save would
 * silently drop the first one's account. */
static void store_never_overwrites_a_newer_store(void)
{
    struct xb_store *a = NULL, *b = NULL;
    char *errmsg = NULL;

    if (setup() != 0)
        return;
    CHECK(xb_store_open(test_dir, &a, NULL) == XB_OK);
    CHECK(xb_store_open(test_dir, &b, NULL) == XB_OK);
    if (!a || !b)
        goto out;
    CHECK(xb_store_add(b, "cli@example.com", "google", NULL) == XB_OK);
    CHECK(xb_store_save(b) == XB_OK);
    CHECK(xb_store_add(a, "companion@example.com", "google", NULL) == XB_OK);
    CHECK(xb_store_save(a) == XB_ERR_CONFLICT);
    /* a read the newer store instead: b's account is there, a's unsaved one is not. */
    CHECK(xb_store_find(a, "cli@example.com") != NULL);
    CHECK(xb_store_find(a, "companion@example.com") == NULL);
    CHECK(xb_store_add(a, "companion@example.com", "google", NULL) == XB_OK);
    CHECK(xb_store_save(a) == XB_OK);
    xb_store_free(b);
    b = NULL;
    CHECK(xb_store_open(test_dir, &b, NULL) == XB_OK);
    CHECK(b && xb_store_find(b, "cli@example.com") && xb_store_find(b, "companion@example.com"));

    /* One writer at a time. */
    CHECK(xb_store_lock(a, 0, NULL) == XB_OK);
    CHECK(b && xb_store_lock(b, 100, &errmsg) == XB_ERR_CONFLICT);
    CHECK(errmsg && contains(errmsg, "is changing the account store"));
    xb_store_free(a);
    a = NULL;
    CHECK(b && xb_store_lock(b, 0, NULL) == XB_OK);
out:
    xb_free(errmsg);
    xb_store_free(a);
    xb_store_free(b);
    teardown();
}

static void store_open_creates_private(void)
{
    char dir[PATH_MAX_TEST], path[PATH_MAX_TEST];
    struct xb_store *st = NULL;

    if (setup() != 0)
        return;
    in_dir(dir, sizeof(dir), "state/xoauthbridge");
    CHECK(xb_store_open(dir, &st, NULL) == XB_OK && st);
    xb_store_free(st);
    join(path, sizeof(path), dir, XB_STORE_FILE);
    size_t len = 0;
    unsigned char *data = slurp(path, &len);
    CHECK(data != NULL && len > 0);   /* an empty store is written at once */
    xb_free(data);
#ifdef _WIN32
    /* Owner-only: entries for the user and SYSTEM, nobody else. */
    CHECK(dacl_owner_only(path) == 1);
    CHECK(dacl_owner_only(dir) == 1);
    char plainf[PATH_MAX_TEST];       /* a file made the ordinary way is not: the check bites */
    in_dir(plainf, sizeof(plainf), "plain.txt");
    CHECK(spit(plainf, "x", 1) == 0);
    CHECK(dacl_owner_only(plainf) == 0);
#else
    char key[PATH_MAX_TEST], parent[PATH_MAX_TEST];
    join(key, sizeof(key), dir, "store.key");
    in_dir(parent, sizeof(parent), "state");
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(parent) == 0700);
    CHECK(mode_of(path) == 0600);
    CHECK(mode_of(key) == 0600);
    /* Saving again keeps the mode, even with a permissive umask. */
    mode_t old = umask(0);
    CHECK(xb_store_open(dir, &st, NULL) == XB_OK && st && xb_store_save(st) == XB_OK);
    umask(old);
    xb_store_free(st);
    CHECK(mode_of(path) == 0600);
#endif
    teardown();
}

#ifndef _WIN32
/* Log lines are kept, so that tests can check what a person would read. */
static char log_text[8192];
static void capture(void *ctx, enum xb_log_level level, unsigned event, const char *line)
{
    (void)ctx;
    (void)level;
    (void)event;
    size_t used = strlen(log_text);
    snprintf(log_text + used, sizeof(log_text) - used, "%s\n", line);
}

static void write_key(const char *path, const void *key, size_t len, mode_t mode)
{
    unlink(path);
    CHECK(spit(path, key, len) == 0);
    CHECK(chmod(path, mode) == 0);
}

/* POSIX: the key file is the secret; another key, no key or a loose key is refused. */
static void store_wrong_key_refused(void)
{
    char key[PATH_MAX_TEST];
    unsigned char good[32], other[32];
    size_t len = 0, keylen = 0;

    if (setup() != 0)
        return;
    unsigned char *orig = saved_store(&len);
    in_dir(key, sizeof(key), "store.key");
    unsigned char *k = slurp(key, &keylen);
    CHECK(orig && k && keylen == 32);
    if (!orig || !k || keylen != 32)
        goto out;
    memcpy(good, k, 32);
    CHECK(xb_plat_random(other, sizeof(other)) == XB_OK);

    write_key(key, other, 32, 0600);
    expect_refused(orig, len, XB_ERR_CRYPTO, "integrity");

    unlink(key);
    log_text[0] = '\0';
    xb_log_set_sink(capture, NULL);
    expect_refused(orig, len, XB_ERR_CRYPTO, "integrity");
    xb_log_set_sink(NULL, NULL);
    CHECK(contains(log_text, "store.key is missing"));

    write_key(key, good, 31, 0600);
    expect_refused(orig, len, XB_ERR_CRYPTO, "");
    write_key(key, good, 32, 0644);
    log_text[0] = '\0';
    xb_log_set_sink(capture, NULL);
    expect_refused(orig, len, XB_ERR_CRYPTO, "");
    xb_log_set_sink(NULL, NULL);
    CHECK(contains(log_text, "other users have access"));
    write_key(key, good, 32, 0640);
    expect_refused(orig, len, XB_ERR_CRYPTO, "");

    /* A refused key also stops a save (no silent new key over the old data). */
    struct xb_store *st = NULL;
    write_key(key, good, 32, 0600);
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK && st);
    CHECK(chmod(key, 0604) == 0);
    CHECK(st && xb_store_save(st) == XB_ERR_CRYPTO);
    xb_store_free(st);
    CHECK(chmod(key, 0600) == 0);
    st = NULL;
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK && st && xb_store_find(st, "t@example.com"));
    xb_store_free(st);
out:
    xb_free(k);
    xb_free(orig);
    teardown();
}
/* POSIX with XB_STORE_PASSPHRASE: the key comes from the passphrase and a salt file; no
 * key file is written, the right passphrase opens the store, a wrong or missing one not. */
static void store_passphrase(void)
{
    char keyfile[PATH_MAX_TEST], saltfile[PATH_MAX_TEST];
    struct xb_store *st = NULL;
    struct xb_account *a = NULL;
    struct stat sb;

    if (setup() != 0)
        return;
    in_dir(keyfile, sizeof(keyfile), "store.key");
    in_dir(saltfile, sizeof(saltfile), "store.key.salt");
    setenv("XB_STORE_PASSPHRASE", "correct horse battery staple", 1);
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK && st);
    CHECK(st && xb_store_add(st, "p@example.com", "google", &a) == XB_OK);
    CHECK(st && xb_store_save(st) == XB_OK);
    xb_store_free(st);
    st = NULL;
    CHECK(stat(keyfile, &sb) != 0);                 /* no key on disk */
    CHECK(stat(saltfile, &sb) == 0 && (sb.st_mode & 0777) == 0600);

    CHECK(xb_store_open(test_dir, &st, NULL) == XB_OK && st && xb_store_find(st, "p@example.com"));
    xb_store_free(st);
    st = NULL;

    setenv("XB_STORE_PASSPHRASE", "wrong horse", 1);
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_ERR_CRYPTO && !st);
    unsetenv("XB_STORE_PASSPHRASE");
    CHECK(xb_store_open(test_dir, &st, NULL) == XB_ERR_CRYPTO && !st); /* no key file either */
    teardown();
}
#define POSIX_ONLY_TESTS , XBTEST(store_wrong_key_refused), XBTEST(store_passphrase)
#else
#define POSIX_ONLY_TESTS
#endif

XBTEST_MAIN(XBTEST(file_read_and_replace), XBTEST(mkdir_private_nested),
            XBTEST(seal_roundtrip_and_tamper), XBTEST(store_roundtrip),
            XBTEST(store_validates_emails), XBTEST(store_secrets), XBTEST(store_tamper_detected),
            XBTEST(store_truncated_refused), XBTEST(store_malformed_refused), XBTEST(store_remove),
            XBTEST(store_large), XBTEST(store_never_overwrites_a_newer_store),
            XBTEST(store_open_creates_private) POSIX_ONLY_TESTS)
