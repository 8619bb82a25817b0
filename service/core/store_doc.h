/*
 * The account store's document (the JSON text sealed on disk) and the account records
 * both halves of the store share. Internal to store.c and store_doc.c.
 */
#ifndef XB_STORE_DOC_H
#define XB_STORE_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/log.h"
#include "core/store.h"

#define XB_STORE_HASH_KEY_LEN 32                          /* HMAC key for local secrets */
#define XB_STORE_FILE_MAX     ((size_t)4 * 1024 * 1024)   /* the sealed file, bytes */
#define XB_STORE_DOC_MAX      XB_STORE_FILE_MAX           /* the JSON text, bytes */

/* The whole document as JSON text, in a buffer of its own: the caller wipes and frees
 * it. XB_ERR_RANGE for a value JSON cannot carry exactly or a document past the limit. */
enum xb_err xb_store_doc_print(const unsigned char *hash_key, int64_t generation,
                               const struct xb_account *accounts, char **text, size_t *len);

/* Parses and checks every field. On success fills hash_key (XB_STORE_HASH_KEY_LEN bytes),
 * *generation (0 when the document has none) and *accounts (a new list). Otherwise XB_ERR_INVAL (or XB_ERR_UNSUPPORTED for a newer
 * format) and, unless already set, *errmsg names the file, the field and the problem. */
enum xb_err xb_store_doc_parse(const char *path, const unsigned char *text, size_t len,
                               unsigned char *hash_key, int64_t *generation,
                               struct xb_account **accounts, char **errmsg);

/* stored is normalised; candidate may be in any case. */
bool xb_store_email_matches(const char *stored, const char *candidate);
bool xb_store_provider_ok(const char *name);

/* Free an account (wiping its tokens and secret hash) or a whole list; NULL-safe. */
void xb_store_account_free(struct xb_account *a);
void xb_store_accounts_free(struct xb_account *a);


#endif
