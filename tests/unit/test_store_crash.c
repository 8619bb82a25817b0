/*
 * POSIX only: children save the store in a loop and are SIGKILLed at random moments;
 * after every kill the store must open and hold exactly one generation of contents,
 * never older than what was seen before, never a mixture, never damaged.
 * (SIGKILL tests the write-to-temp-and-rename protocol, not power loss: the page
 * cache survives a killed process. The fsyncs cover the latter.)
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/store.h"
#include "platform/platform.h"

#include "xbtest.h"

#define ACCOUNTS   12
#define TOKEN_LEN  20000
#define ROUNDS     40
#define FRESH_ROUNDS 25

static char base_dir[1024];

static unsigned rnd(unsigned below)
{
    unsigned v = 0;
    if (xb_plat_random(&v, sizeof(v)) != XB_OK)
        return 0;
    return below ? v % below : 0;
}

static void sleep_us(unsigned us)
{
    struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The token of account i in generation gen: long, and different in every byte range. */
static struct xb_secret *token_for(long gen, int i, char kind)
{
    static char buf[TOKEN_LEN + 1];
    int n = snprintf(buf, sizeof(buf), "%c-g%ld-i%d-", kind, gen, i);
    memset(buf + n, 'a' + (int)(gen % 26), (size_t)(TOKEN_LEN - n));
    buf[TOKEN_LEN] = '\0';
    return xb_secret_new(buf, TOKEN_LEN);
}

static int fill(struct xb_store *st, long gen)
{
    int i = 0;
    for (struct xb_account *a = xb_store_accounts(st); a; a = a->next, i++) {
        xb_account_set_tokens(a, token_for(gen, i, 'r'), token_for(gen, i, 'a'), gen);
        xb_account_set_state(a, XB_ACCT_OK, NULL, gen);
    }
    return i;
}

/* The generation the store holds, or -1 if it is not one whole generation. */
static long generation(struct xb_store *st)
{
    struct xb_account *first = xb_store_accounts(st);
    int i = 0;
    if (!first)
        return -1;
    long gen = (long)first->last_ok;
    for (struct xb_account *a = first; a; a = a->next, i++) {
        struct xb_secret *r = token_for(gen, i, 'r'), *t = token_for(gen, i, 'a');
        int ok = r && t && a->last_ok == gen && a->access_expires == gen && a->refresh_token &&
                 a->access_token && a->refresh_token->len == TOKEN_LEN &&
                 memcmp(a->refresh_token->data, r->data, TOKEN_LEN) == 0 &&
                 memcmp(a->access_token->data, t->data, TOKEN_LEN) == 0;
        xb_secret_free(r);
        xb_secret_free(t);
        if (!ok)
            return -1;
    }
    return i == ACCOUNTS ? gen : -1;
}

static int add_accounts(struct xb_store *st)
{
    for (int i = 0; i < ACCOUNTS; i++) {
        char email[64];
        snprintf(email, sizeof(email), "user%d@example.com", i);
        if (xb_store_add(st, email, "google", NULL) != XB_OK)
            return -1;
    }
    return 0;
}

/* The child: open, then save newer generations until killed. */
static void saver(const char *dir, int fresh)
{
    struct xb_store *st = NULL;
    long gen = 0;
    xb_log_set_level(XB_LOG_ERROR);
    if (xb_store_open(dir, &st, NULL) != XB_OK)
        _exit(2);
    if (fresh && !xb_store_accounts(st)) {
        if (add_accounts(st) != 0)
            _exit(3);
    } else {
        gen = generation(st);
        if (gen < 0)
            _exit(4);
    }
    for (;;) {
        fill(st, ++gen);
        if (xb_store_save(st) != XB_OK)
            _exit(5);
    }
}

static int count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        char child[2048];
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            struct stat st;
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(child, sizeof(child), "%s/%s", dir, e->d_name);
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(child);
            else
                unlink(child);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Starts a saver and kills it after up to max_us; returns 0 if it was killed as planned. */
static int run_and_kill(const char *dir, int fresh, unsigned max_us)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        saver(dir, fresh);
    sleep_us(rnd(max_us));
    kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        return 0;
    printf("#   saver ended by itself with status %d\n",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return -1;
}

static int make_base_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !tmp[0])
        tmp = "/tmp";
    snprintf(base_dir, sizeof(base_dir), "%s/xbcrash-XXXXXX", tmp);
    return mkdtemp(base_dir) ? 0 : -1;
}

static void killed_while_saving(void)
{
    char dir[1100];
    struct xb_store *st = NULL;
    long prev = 0;

    snprintf(dir, sizeof(dir), "%s/steady", base_dir);
    CHECK(xb_store_open(dir, &st, NULL) == XB_OK && st);
    if (!st)
        return;
    CHECK(add_accounts(st) == 0);
    fill(st, 0);
    CHECK(xb_store_save(st) == XB_OK);
    xb_store_free(st);

    for (int round = 0; round < ROUNDS; round++) {
        CHECK(run_and_kill(dir, 0, round < 5 ? 2000 : 60000) == 0);
        char *errmsg = NULL;
        st = NULL;
        enum xb_err rc = xb_store_open(dir, &st, &errmsg);
        CHECK(rc == XB_OK);
        if (rc != XB_OK) {
            printf("#   round %d: %s\n", round, errmsg ? errmsg : xb_err_str(rc));
            xb_free(errmsg);
            break;
        }
        long gen = generation(st);
        CHECK(gen >= prev);
        if (gen < prev)
            printf("#   round %d: generation %ld after %ld\n", round, gen, prev);
        prev = gen;
        xb_store_free(st);
    }
    printf("# %ld saves completed across %d kills; %d temporary files left by kills\n", prev,
           ROUNDS, count_temp_files(dir));
    CHECK(prev > 0);
}

/* Killed from the very first save on: while making the key, the empty store, ... */
static void killed_while_creating(void)
{
    int with_accounts = 0;
    for (int round = 0; round < FRESH_ROUNDS; round++) {
        char dir[1100];
        struct xb_store *st = NULL;
        char *errmsg = NULL;
        snprintf(dir, sizeof(dir), "%s/fresh%d", base_dir, round);
        CHECK(run_and_kill(dir, 1, 1000 + 2000u * (unsigned)round) == 0);
        enum xb_err rc = xb_store_open(dir, &st, &errmsg);
        CHECK(rc == XB_OK);
        if (rc != XB_OK)
            printf("#   round %d: %s\n", round, errmsg ? errmsg : xb_err_str(rc));
        if (st && xb_store_accounts(st)) {
            with_accounts++;
            CHECK(generation(st) >= 1);
        }
        xb_free(errmsg);
        xb_store_free(st);
    }
    printf("# %d of %d fresh stores had reached a first full save\n", with_accounts,
           FRESH_ROUNDS);
}

static void run_all(void);

int main(void)
{
    xb_log_set_level(XB_LOG_ERROR);
    if (make_base_dir() != 0) {
        printf("Bail out! cannot make a test directory\n");
        return 1;
    }
    run_all();
    remove_tree(base_dir);
    return xbtest_failures ? 1 : 0;
}

static void run_all(void)
{
    static const struct xbtest_case cases[] = { XBTEST(killed_while_saving),
                                                XBTEST(killed_while_creating) };
    (void)xbtest_run(cases, sizeof(cases) / sizeof(cases[0]));
}
