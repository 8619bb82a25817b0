/*
 * The token source of the companion (see tokens.h): serves the stored access token while
 * it is valid, refreshes it through the provider's token endpoint when it is not (one
 * refresh per account however many sessions ask), refreshes ahead of expiry for accounts
 * in use, backs off after temporary failures, and marks an account "needs sign-in" when
 * the provider says the grant is gone.
 */
#ifndef XB_TOKENS_OAUTH_H
#define XB_TOKENS_OAUTH_H

#include "core/tokens.h"

struct event_base;
struct xb_config;
struct xb_http;
struct xb_store;
struct xb_ui;

struct xb_token_source *xb_tokens_oauth_new(struct event_base *base,
                                            const struct xb_config *cfg,
                                            struct xb_store *store, struct xb_http *http);

/* Who to tell when an account's state changes or a person must sign in (see ui.h);
 * NULL: nobody. Set it before the loop runs. */
void xb_tokens_oauth_set_ui(struct xb_token_source *ts, struct xb_ui *ui);

#endif
