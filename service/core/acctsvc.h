/*
 * The account service: what happens to an account when a person signs in or out,
 * written once for every front end. The control channel (the add-in's ENROL and
 * RESTORE/FORGET, the tray's "Sign in again", the CLI talking to a running companion)
 * and the CLI on its own (no companion running) call these; each answers the person in
 * its own way. State changes go through xb_account_set_state, which logs them by name.
 */
#ifndef XB_ACCTSVC_H
#define XB_ACCTSVC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/mem.h"

struct xb_store;
struct xb_token_result;

/* The sign-in of email worked: the account is enrolled when new (with provider), takes
 * the tokens out of *res, becomes "working" (signed in now), and the store is saved.
 * *created says it was new; for a new account and a non-NULL secret, a local secret is
 * made as well and handed over (shown once by the caller). Nothing half-done stays: if
 * the save fails, a new account is removed again (XB_ERR_IO). */
enum xb_err xb_acctsvc_signed_in(struct xb_store *st, const char *email, const char *provider,
                                 struct xb_token_result *res, bool *created,
                                 struct xb_secret **secret);

/* Enrols email (with provider) without signing it in, and makes its local secret (handed
 * over, shown once by the caller); the store is saved. XB_ERR_INVAL: not an address, or
 * enrolled already; XB_ERR_IO: not saved (and not enrolled). *norm: the address as kept. */
enum xb_err xb_acctsvc_add(struct xb_store *st, const char *email, const char *provider,
                           struct xb_secret **secret, char **norm);

/* A new local secret for email (the old one stops working), handed over; saved. On a
 * failed save the old secret stays the valid one. XB_ERR_NOTFOUND: no such account. */
enum xb_err xb_acctsvc_new_secret(struct xb_store *st, const char *email,
                                  struct xb_secret **secret);

/* Tokens given by hand (manual setups, tests): access valid expires_in seconds from now,
 * refresh NULL keeps the one there; the account becomes "working"; saved. Takes both
 * secrets in every case. XB_ERR_NOTFOUND: no such account. */
enum xb_err xb_acctsvc_set_tokens(struct xb_store *st, const char *email,
                                  struct xb_secret *access, struct xb_secret *refresh,
                                  int64_t expires_in);

/* Signs email out here. Outlook's accounts bridged for it are put back first; if any
 * cannot be, nothing else changes (XB_ERR_IO; *failed counts them, to be tried again).
 * Then its tokens are deleted and it is "not signed in yet" with its local secret kept
 * (logout, RESTORE), or it is removed altogether (forget), and the store is saved. The
 * refresh token goes to *grant (NULL when there was none) for the caller to revoke at
 * the provider afterwards: the tokens are gone here first, whatever the provider says.
 * XB_ERR_NOTFOUND: no such account. */
enum xb_err xb_acctsvc_sign_out(struct xb_store *st, const char *email, bool forget,
                                struct xb_secret **grant, unsigned *restored, unsigned *failed);

#endif
