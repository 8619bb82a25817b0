/*
 * Group Policy over the configuration file: see config_policy.h. Portable on purpose:
 * the registry is read by the platform layer, everything it means is decided here.
 */
#include "core/config_policy.h"

#include <stdio.h>
#include <string.h>

#include "core/ascii.h"
#include "core/log.h"
#include "core/mem.h"

const char *xb_policy_hive_name(enum xb_policy_hive hive)
{
    return hive == XB_POLICY_MACHINE ? "HKLM" : "HKCU";
}


/* The n-th '|'-separated word of choices into out; false if there is none. */
static bool nth_word(const char *choices, unsigned n, char *out, size_t size)
{
    const char *w = choices;
    for (unsigned i = 0; i < n && w; i++) {
        w = strchr(w, '|');
        if (w)
            w++;
    }
    if (!w)
        return false;
    size_t len = strcspn(w, "|");
    if (len + 1 > size)
        return false;
    memcpy(out, w, len);
    out[len] = '\0';
    return true;
}

/* The word of choices that text names, in any case, copied as the table spells it. */
static bool find_word(const char *choices, const char *text, char *out, size_t size)
{
    size_t tlen = strlen(text);
    for (const char *w = choices; w; w = strchr(w, '|') ? strchr(w, '|') + 1 : NULL) {
        size_t len = strcspn(w, "|");
        if (len != tlen)
            continue;
        size_t i = 0;
        while (i < len && xb_ascii_lower(w[i]) == xb_ascii_lower(text[i]))
            i++;
        if (i == len && len + 1 <= size) {
            memcpy(out, w, len);
            out[len] = '\0';
            return true;
        }
    }
    return false;
}

bool xb_policy_value_text(const struct xb_policy *p, const struct xb_policy_raw *raw,
                          char *out, size_t size, const char **why)
{
    *why = NULL;
    if (size)
        out[0] = '\0';
    if (raw->type != p->type) {
        *why = p->type == XB_POLICY_DWORD ? "not a REG_DWORD" : "not a REG_SZ";
        return false;
    }
    if (p->type == XB_POLICY_DWORD) {
        if (raw->dword < p->min || raw->dword > p->max) {
            *why = "out of range";
            return false;
        }
        if (p->choices) {
            if (!nth_word(p->choices, raw->dword, out, size)) {
                *why = "out of range";
                return false;
            }
            return true;
        }
        int n = snprintf(out, size, "%u", (unsigned)raw->dword);
        if (n < 0 || (size_t)n >= size) {
            *why = "out of range";
            return false;
        }
        return true;
    }
    const char *text = raw->sz ? raw->sz : "";
    if (!*text) {
        *why = "empty (counts as not set)";
        return false;
    }
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) {
            *why = "contains control characters";
            return false;
        }
    }
    if (xb_policy_text_chars(text) > p->max) {
        *why = "too long";
        return false;
    }
    if (p->choices) {
        if (!find_word(p->choices, text, out, size)) {
            *why = "not one of the allowed words";
            return false;
        }
        return true;
    }
    size_t len = strlen(text);
    if (len + 1 > size) {
        *why = "too long";
        return false;
    }
    memcpy(out, text, len + 1);
    return true;
}

static enum xb_err platform_reader(void *arg, enum xb_policy_hive hive, const char *name,
                                   struct xb_policy_raw *out)
{
    (void)arg;
    return xb_plat_policy_read(hive, name, out);
}

static enum xb_err platform_lister(void *arg, enum xb_policy_hive hive, const char *subkey,
                                   xb_policy_list_each *each, void *ctx)
{
    (void)arg;
    return xb_plat_policy_list(hive, subkey, each, ctx);
}

struct list_pass {
    struct xb_config *cfg;
    const struct xb_policy *p;
    enum xb_policy_hive hive;
    unsigned used;
    bool nomem;
};

/* One entry of a list policy: for now GoogleDomainClients, the only one. */
static void list_entry(void *ctx, const char *name, const char *text)
{
    struct list_pass *lp = ctx;
    char origin[200];
    char *msg = NULL;
    snprintf(origin, sizeof(origin), "policy %s\\%s\\%s, entry '%.60s'",
             xb_policy_hive_name(lp->hive), XB_POLICY_KEY, lp->p->value, name);
    if (xb_policy_text_chars(text) > lp->p->max) {
        xb_log_warn("%s: longer than %u characters; ignored", origin, lp->p->max);
        return;
    }
    enum xb_err err = xb_config_set_domain_client(lp->cfg, lp->p->section + strlen("provider."),
                                                  name, text, origin, &msg);
    if (err == XB_OK) {
        /* Names only: the text holds a client secret. */
        xb_log_info("%s gives the addresses @%s their own client", origin, name);
        lp->used++;
    } else if (err == XB_ERR_NOMEM) {
        lp->nomem = true;
    } else {
        xb_log_warn("%s; ignored", msg ? msg : origin);
    }
    xb_free(msg);
}

/* A list policy: the machine's entries if one of them is usable, else the user's. */
static enum xb_err apply_list(struct xb_config *cfg, const struct xb_policy *p,
                              enum xb_policy_hive hive, xb_policy_lister *list, void *arg)
{
    struct list_pass lp = { .cfg = cfg, .p = p, .hive = hive };
    enum xb_err err = list(arg, hive, p->value, list_entry, &lp);
    if (lp.nomem || err == XB_ERR_NOMEM)
        return XB_ERR_NOMEM;
    if (err != XB_OK && err != XB_ERR_NOTFOUND)
        xb_log_warn("policy %s\\%s\\%s: cannot read it (%s); ignored",
                    xb_policy_hive_name(hive), XB_POLICY_KEY, p->value, xb_err_str(err));
    return lp.used ? XB_OK : XB_ERR_NOTFOUND;
}

/* Tries one hive: XB_OK applied, XB_ERR_NOTFOUND not set or ignored, XB_ERR_NOMEM. */
static enum xb_err apply_one(struct xb_config *cfg, const struct xb_policy *p,
                             enum xb_policy_hive hive, xb_policy_reader *read, void *arg)
{
    struct xb_policy_raw raw = { 0 };
    char text[4 * 2048 + 1]; /* the longest SZ (2047 characters) in UTF-8 */
    char origin[160];
    const char *why = NULL;
    char *msg = NULL;
    enum xb_err err = read(arg, hive, p->value, &raw);

    snprintf(origin, sizeof(origin), "%s\\%s\\%s", xb_policy_hive_name(hive), XB_POLICY_KEY,
             p->value);
    if (err == XB_ERR_NOMEM)
        goto out;
    if (err != XB_OK) {
        if (err != XB_ERR_NOTFOUND)
            xb_log_warn("policy %s: cannot read it (%s); ignored", origin, xb_err_str(err));
        err = XB_ERR_NOTFOUND;
        goto out;
    }
    err = XB_ERR_NOTFOUND;
    if (!xb_policy_value_text(p, &raw, text, sizeof(text), &why)) {
        if (raw.type == XB_POLICY_SZ && (!raw.sz || !*raw.sz))
            xb_log_debug("policy %s: empty, as if not set", origin);
        else
            xb_log_warn("policy %s: %s; ignored as if not set", origin, why);
        goto out;
    }
    enum xb_err set = xb_config_set(cfg, p->section, p->key, text, origin, &msg);
    if (set == XB_OK) {
        /* Names only: a value may be a client secret. */
        xb_log_info("policy %s sets [%s] %s", origin, p->section, p->key);
        err = XB_OK;
    } else if (set == XB_ERR_NOMEM) {
        err = XB_ERR_NOMEM;
    } else if (set == XB_ERR_NOTFOUND || set == XB_ERR_UNSUPPORTED) {
        xb_log_info("policy %s is set; this version does not use [%s] %s yet", origin,
                    p->section, p->key);
    } else {
        xb_log_warn("%s; ignored as if not set", msg ? msg : origin);
    }
out:
    xb_wipe(text, sizeof(text));
    xb_free_str_secret(raw.sz);
    xb_free(msg);
    return err;
}

enum xb_err xb_config_apply_policy(struct xb_config *cfg, xb_policy_reader *read,
                                   xb_policy_lister *list, void *arg,
                                   int applied[XB_POL_COUNT])
{
    static const enum xb_policy_hive order[] = { XB_POLICY_MACHINE, XB_POLICY_USER };
    if (!read)
        read = platform_reader;
    if (!list)
        list = platform_lister;
    /* Values first, lists after: a per-domain client copies its provider as the values
     * left it. */
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < XB_POLICY_COUNT; i++) {
            bool is_list = xb_policies[i].type == XB_POLICY_LIST;
            if (is_list != (pass == 1))
                continue;
            if (applied)
                applied[i] = XB_POLICY_APPLIED_NONE;
            for (size_t h = 0; h < sizeof(order) / sizeof(order[0]); h++) {
                enum xb_err err = is_list ? apply_list(cfg, &xb_policies[i], order[h], list, arg)
                                          : apply_one(cfg, &xb_policies[i], order[h], read, arg);
                if (err == XB_ERR_NOMEM)
                    return err;
                if (err == XB_OK) {
                    if (applied)
                        applied[i] = (int)order[h];
                    break; /* the machine wins over the user */
                }
            }
        }
    }
    return XB_OK;
}
