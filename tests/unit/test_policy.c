/*
 * The policy table (include/xoauthbridge/policy.h): consistent in itself, and honest
 * about the config keys it overrides: a key not marked new_key is accepted by the config
 * parser, a key marked new_key is not (yet). Compiled by every build, which also proves
 * the header is plain C for gcc, clang and MinGW. The ADMX side is tests/installer/.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/mem.h"
#include "xoauthbridge/policy.h"

#include "xbtest.h"

static int same_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    }
    return *a == *b;
}

/* Number of '|'-separated words in s and the length of the longest. */
static unsigned count_words(const char *s, size_t *longest)
{
    unsigned n = 1;
    size_t len = 0;
    *longest = 0;
    for (; *s; s++) {
        if (*s == '|') {
            n++;
            len = 0;
        } else if (++len > *longest) {
            *longest = len;
        }
    }
    return n;
}

static void every_entry_is_complete(void)
{
    for (unsigned i = 0; i < XB_POLICY_COUNT; i++) {
        const struct xb_policy *p = &xb_policies[i];
        CHECK(p->value && p->value[0]);
        CHECK(p->section && p->section[0]);
        CHECK(p->key && p->key[0]);
        CHECK(p->type == XB_POLICY_SZ || p->type == XB_POLICY_DWORD ||
              p->type == XB_POLICY_LIST);
        CHECK(p->min <= p->max);
        if (p->type == XB_POLICY_SZ)
            CHECK(p->min == 0 && p->max > 0);
        if (!p->value)
            printf("#   entry %u is missing (a hole in the designated initialisers)\n", i);
    }
}

static void names_are_unique(void)
{
    for (unsigned i = 0; i < XB_POLICY_COUNT; i++) {
        for (unsigned j = i + 1; j < XB_POLICY_COUNT; j++) {
            CHECK(!same_nocase(xb_policies[i].value, xb_policies[j].value));
            CHECK(!(strcmp(xb_policies[i].section, xb_policies[j].section) == 0 &&
                    strcmp(xb_policies[i].key, xb_policies[j].key) == 0));
        }
    }
}

static void choices_fit_the_range(void)
{
    for (unsigned i = 0; i < XB_POLICY_COUNT; i++) {
        const struct xb_policy *p = &xb_policies[i];
        if (!p->choices)
            continue;
        size_t longest;
        unsigned n = count_words(p->choices, &longest);
        if (p->type == XB_POLICY_DWORD)
            CHECK(p->min == 0 && n == p->max + 1); /* n-th word for DWORD n */
        else
            CHECK(longest <= p->max);
    }
}

/* The INI line the policy stands for, with a value the config accepts. */
static void sample_ini(const struct xb_policy *p, char *out, size_t size)
{
    char value[32] = "x";
    if (p->choices) {
        size_t n = strcspn(p->choices, "|");
        snprintf(value, sizeof(value), "%.*s", (int)n, p->choices);
    } else if (p->type == XB_POLICY_DWORD) {
        snprintf(value, sizeof(value), "%u", p->min);
    } else if (strcmp(p->key, "web_proxy") == 0) {
        snprintf(value, sizeof(value), "direct");
    }
    /* The two ends of the port range go together (the ADMX sets both in one policy),
     * and the range must hold a user's ports. */
    if (strcmp(p->key, "port_range_end") == 0)
        snprintf(value, sizeof(value), "%u", p->max);
    const char *partner = strcmp(p->key, "port_range_start") == 0 ? "port_range_end = 65535\n"
                          : strcmp(p->key, "port_range_end") == 0 ? "port_range_start = 1024\n"
                                                                  : "";
    snprintf(out, size, "[%s]\n%s = %s\n%s", p->section, p->key, value, partner);
}

static void config_keys_exist_unless_new(void)
{
    for (unsigned i = 0; i < XB_POLICY_COUNT; i++) {
        const struct xb_policy *p = &xb_policies[i];
        char ini[256];
        if (p->type == XB_POLICY_LIST) {
            /* Not a key of the file: the list's entries go to their provider. */
            struct xb_config *cfg = NULL;
            char *msg = NULL;
            CHECK(strncmp(p->section, "provider.", 9) == 0);
            CHECK(xb_config_new_default(&cfg) == XB_OK);
            CHECK(cfg && xb_config_set_domain_client(cfg, p->section + 9, "example.org",
                                                     "client_id=x", "o", &msg) == XB_OK);
            xb_free(msg);
            xb_config_free(cfg);
            continue;
        }
        sample_ini(p, ini, sizeof(ini));
        struct xb_config *cfg = NULL;
        char *msg = NULL;
        enum xb_err err = xb_config_parse("policy.ini", ini, strlen(ini), &cfg, &msg);
        if (p->new_key) {
            /* When the key lands in the config, clear new_key in policy.h. */
            CHECK(err != XB_OK && msg && strstr(msg, "unknown key"));
        } else {
            CHECK(err == XB_OK);
        }
        if ((err == XB_OK) == (p->new_key != 0))
            printf("#   %s -> [%s] %s: config says %s\n", p->value, p->section, p->key,
                   msg ? msg : "ok");
        xb_free(msg);
        xb_config_free(cfg);
    }
}

XBTEST_MAIN(XBTEST(every_entry_is_complete), XBTEST(names_are_unique),
            XBTEST(choices_fit_the_range), XBTEST(config_keys_exist_unless_new))
