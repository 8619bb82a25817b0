/* A token source that serves the access tokens the account store holds (see tokens.h). */
#ifndef XB_TOKENS_STORE_H
#define XB_TOKENS_STORE_H

#include "tokens.h"

struct event_base;
struct xb_store;

struct xb_token_source *xb_tokens_store_new(struct event_base *base, struct xb_store *store);

#endif
