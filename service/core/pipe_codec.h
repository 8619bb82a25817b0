/*
 * Encoding and decoding of control frames (include/xoauthbridge/pipe_proto.h): a read
 * cursor with a sticky error flag (check once, at the end), a writer over a buffer the
 * caller owns, and the one function that checks a request's fields before dispatch.
 *
 * No allocation, no I/O, nothing but the C library: the add-in compiles this file as it
 * is (with pipe_proto.h), and so do the fuzz target and the Windows test client.
 */
#ifndef XB_PIPE_CODEC_H
#define XB_PIPE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xoauthbridge/pipe_proto.h"

/* A string field as it lies in the payload: not NUL-terminated. */
struct xb_pipe_str {
    const char *p;
    uint32_t len;
};

/* --- reading --------------------------------------------------------------------------- */

struct xb_pipe_rd {
    const unsigned char *p;
    size_t left;
    bool err;                    /* sticky: once set, every read returns zero/empty */
};

void xb_pipe_rd_init(struct xb_pipe_rd *rd, const void *data, size_t len);
uint32_t xb_pipe_rd_u32(struct xb_pipe_rd *rd);
uint64_t xb_pipe_rd_u64(struct xb_pipe_rd *rd);
/* A str of at most max bytes of valid UTF-8 without NUL; anything else sets err. */
struct xb_pipe_str xb_pipe_rd_str(struct xb_pipe_rd *rd, uint32_t max);
/* True when every read succeeded and nothing is left over. */
bool xb_pipe_rd_done(const struct xb_pipe_rd *rd);

/* Copies s and terminates it; false (and "" in buf) if it does not fit. */
bool xb_pipe_str_copy(struct xb_pipe_str s, char *buf, size_t size);
/* Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
bool xb_pipe_utf8_ok(const char *p, size_t len);

/* --- writing --------------------------------------------------------------------------- */

struct xb_pipe_wr {
    unsigned char *buf;
    size_t cap;                  /* at most XB_PIPE_FRAME_MAX is ever used */
    size_t len;
    bool err;                    /* sticky: a field did not fit or was too long */
};

/* Starts one frame in buf: the header is written by xb_pipe_wr_end. */
void xb_pipe_wr_begin(struct xb_pipe_wr *w, void *buf, size_t cap, const struct xb_pipe_hdr *h);
void xb_pipe_wr_u32(struct xb_pipe_wr *w, uint32_t v);
void xb_pipe_wr_u64(struct xb_pipe_wr *w, uint64_t v);
void xb_pipe_wr_str(struct xb_pipe_wr *w, const char *p, size_t len);
/* Writes the header with the payload's length. False if anything did not fit: then
 * the buffer holds no usable frame. *frame_len is the whole frame's size. */
bool xb_pipe_wr_end(struct xb_pipe_wr *w, size_t *frame_len);

/* --- requests -------------------------------------------------------------------------- */

/* A request's fields (those its op has; the others are zero), as views into the frame. */
struct xb_pipe_req {
    struct xb_pipe_hdr hdr;
    uint32_t min_version, max_version;   /* HELLO */
    struct xb_pipe_str client;           /* HELLO */
    struct xb_pipe_str email;            /* ENROL GET_ENDPOINT REPORT_FAILURE RESTORE FORGET
                                            ACCOUNT_BRIDGED ACCOUNT_ADD SET_TOKENS
                                            CHECK_SECRET */
    struct xb_pipe_str provider;         /* ENROL ("" = the account's, else google),
                                            ACCOUNT_ADD ("" = google) */
    struct xb_pipe_str access, refresh;  /* SET_TOKENS (refresh "": keep the one there) */
    uint32_t expires_in;                 /* SET_TOKENS: seconds, > 0 */
    uint32_t protocol, code;             /* REPORT_FAILURE (protocol: also ACCOUNT_BRIDGED) */
    struct xb_pipe_str text;             /* REPORT_FAILURE */
    struct xb_pipe_str secret;           /* CHECK_SECRET (email too) */
    uint32_t pid;                        /* OFFER_RESTART: Outlook's process */
    struct xb_pipe_str program, profile; /* OFFER_RESTART: outlook.exe's path, the profile */
};

/* Checks a request whose header passed xb_pipe_hdr_decode (so h->len is in bounds) and
 * whose payload is h->len bytes: kind, version, op, every field and its limits, nothing
 * left over. Returns XB_PIPE_ST_OK, or the status to answer with and *why in words. */
uint16_t xb_pipe_req_parse(const struct xb_pipe_hdr *h, const unsigned char *payload,
                           struct xb_pipe_req *out, const char **why);

/* Encodes r (header fields from r->hdr, payload from the fields its op has) into buf;
 * false if it does not fit. The inverse of xb_pipe_req_parse. */
bool xb_pipe_req_encode(const struct xb_pipe_req *r, void *buf, size_t cap, size_t *frame_len);

/* --- replies and events --------------------------------------------------------------- */

/* One account of a LIST_ACCOUNTS reply. */
struct xb_pipe_account {
    struct xb_pipe_str email, provider, last_error;
    uint32_t state;                      /* XB_PIPE_STATE_NEW .. TEMP_ERROR */
    uint64_t last_ok, last_fail;         /* Unix seconds, 0 = never */
};

/* A reply's or an event's fields (those its op and status have; the others are zero or
 * ""), as views into the frame. */
struct xb_pipe_reply {
    struct xb_pipe_hdr hdr;
    struct xb_pipe_str message;          /* every reply whose status is not OK */
    uint32_t min_version, max_version;   /* HELLO; status VERSION */
    uint32_t version;                    /* HELLO: the one chosen */
    struct xb_pipe_str server;           /* HELLO */
    uint32_t naccounts;                  /* LIST_ACCOUNTS: then xb_pipe_reply_account */
    struct xb_pipe_rd accounts;          /* LIST_ACCOUNTS: where the next account starts */
    struct xb_pipe_str email;            /* ENROL, ACCOUNT_ADD; STATE_CHANGED, FAILURE_REPORTED */
    uint32_t created;                    /* ENROL: 1 if the account is new */
    struct xb_pipe_str host, user, secret;  /* GET_ENDPOINT (secret: ACCOUNT_ADD too;
                                               host: GET_PORTS too) */
    uint32_t imap, pop3, smtp;           /* GET_ENDPOINT, GET_PORTS: 0 = that listener is off */
    uint32_t current;                    /* CHECK_SECRET: 1 if it is the local secret */
    uint32_t pid;                        /* RESTART_OUTLOOK */
    struct xb_pipe_str note;             /* RESTORE, FORGET: why revocation failed, or "" */
    uint32_t state;                      /* STATE_CHANGED (XB_PIPE_STATE_*, REMOVED too) */
    struct xb_pipe_str last_error;       /* STATE_CHANGED */
    uint32_t protocol, code;             /* FAILURE_REPORTED */
    struct xb_pipe_str text;             /* FAILURE_REPORTED */
};

/* "IMAP", "POP3", "SMTP" for XB_PIPE_PROTO_*, "mail" for anything else. */
const char *xb_pipe_proto_name(uint32_t protocol);

/* A reply or event with header h and every field empty (strings "", numbers 0). */
void xb_pipe_reply_init(struct xb_pipe_reply *r, const struct xb_pipe_hdr *h);

/* A str view of a C string (NULL: ""). */
struct xb_pipe_str xb_pipe_cstr(const char *s);

/* Checks a reply or an event whose header passed xb_pipe_hdr_decode and whose payload is
 * h->len bytes: kind, version, every field of its op and status within its limits (all
 * of LIST_ACCOUNTS' accounts included), nothing left over. True with *out filled, or
 * false and *why in words. Error replies (and HELLO's) are understood in every version,
 * like HELLO requests. */
bool xb_pipe_reply_parse(const struct xb_pipe_hdr *h, const unsigned char *payload,
                         struct xb_pipe_reply *out, const char **why);
/* The next account of a LIST_ACCOUNTS reply that xb_pipe_reply_parse accepted; false
 * after the last. */
bool xb_pipe_reply_account(struct xb_pipe_reply *r, struct xb_pipe_account *out);

/* Writes r's payload (the fields of its op and status) after a header begun with r->hdr:
 * the inverse of xb_pipe_reply_parse. For LIST_ACCOUNTS it writes r->naccounts; each
 * account follows with xb_pipe_wr_account. */
void xb_pipe_wr_reply(struct xb_pipe_wr *w, const struct xb_pipe_reply *r);
void xb_pipe_wr_account(struct xb_pipe_wr *w, const struct xb_pipe_account *a);
/* A whole reply or event frame into buf (accounts: LIST_ACCOUNTS' n = r->naccounts). */
bool xb_pipe_reply_encode(const struct xb_pipe_reply *r, const struct xb_pipe_account *accounts,
                          void *buf, size_t cap, size_t *frame_len);

#endif
