/*
 * Group Policy over the configuration file (docs/config.md, "Group Policy"): every value
 * of include/xoauthbridge/policy.h is looked up in HKLM, then HKCU, checked against the
 * table (registry type, range, choices), turned into the config text it stands for and
 * set with xb_config_set. A value of the wrong type, out of range or refused by the
 * config's own checks is ignored as if unset (logged, never with its text), and the next
 * hive is asked. Empty text counts as unset.
 */
#ifndef XB_CONFIG_POLICY_H
#define XB_CONFIG_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/platform.h"
#include "core/config.h"
#include "xoauthbridge/policy.h"

/* Reads one raw value; the platform's is xb_plat_policy_read (tests pass their own). */
typedef enum xb_err xb_policy_reader(void *arg, enum xb_policy_hive hive, const char *name,
                                     struct xb_policy_raw *out);

/* Calls each(ctx, name, text) for every REG_SZ entry of the list subkey (UTF-8; other
 * types skipped); the platform's is xb_plat_policy_list. XB_ERR_NOTFOUND: no such key. */
typedef void xb_policy_list_each(void *ctx, const char *name, const char *text);
typedef enum xb_err xb_policy_lister(void *arg, enum xb_policy_hive hive, const char *subkey,
                                     xb_policy_list_each *each, void *ctx);

/* The config text a raw value stands for, into out; false and *why (static English) when
 * it is to be ignored. */
bool xb_policy_value_text(const struct xb_policy *p, const struct xb_policy_raw *raw,
                          char *out, size_t size, const char **why);

/* Where each value came from: XB_POLICY_APPLIED_NONE or an enum xb_policy_hive. */
#define XB_POLICY_APPLIED_NONE (-1)

/* Applies every policy value over cfg, then the lists (XB_POLICY_LIST: the machine's
 * list, if it has a usable entry, else the user's; entries that do not parse are logged
 * and skipped). read and list NULL: the platform's. applied (may be NULL) gets, per enum
 * xb_policy_id, the hive that set it. Only XB_ERR_NOMEM fails. */
enum xb_err xb_config_apply_policy(struct xb_config *cfg, xb_policy_reader *read,
                                   xb_policy_lister *list, void *arg,
                                   int applied[XB_POL_COUNT]);

/* "HKLM" / "HKCU". */
const char *xb_policy_hive_name(enum xb_policy_hive hive);

#endif
