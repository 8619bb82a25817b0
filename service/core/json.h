/*
 * cJSON trees that held secrets (token responses, the account store's document): cJSON
 * frees without wiping, so every string in the tree is wiped first.
 */
#ifndef XB_JSON_H
#define XB_JSON_H

struct cJSON;

/* Wipes every value and key string of the tree, then cJSON_Delete; NULL-safe. */
void xb_json_free(struct cJSON *root);

#endif
