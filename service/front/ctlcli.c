/*
 * The CLI verbs that read or change accounts (status, login, logout, secret reset,
 * account add and remove, token set) through the running companion of this user, over
 * the control channel (docs/pipe-protocol.md): the companion is the store's one writer
 * and tells its subscribers. When no companion answers, each returns -1 and the verb
 * works on the store itself, holding its lock. The output is the same either way.
 */
#include <stdio.h>
#include <string.h>

#include "front/front.h"
#include "core/mem.h"
#include "core/msg.h"
#include "core/pipe_codec.h"
#include "core/store.h"
#include "platform/ctlclient.h"

#define CONNECT_MS   3000
#define CALL_MS      60000          /* revocation waits for the provider */

struct remote {
    struct xb_ctl_client c;
    unsigned char *buf;             /* one frame, requests and replies */
    struct xb_pipe_hdr h;           /* of the last reply */
    struct xb_pipe_reply reply;     /* its fields (pipe_codec.c), views into buf */
    uint32_t next_id;
};

static void remote_close(struct remote *r)
{
    xb_ctl_client_close(&r->c);
    if (r->buf) {
        xb_wipe(r->buf, XB_PIPE_FRAME_MAX);   /* replies may hold a local secret */
        xb_free(r->buf);
    }
}

/* One request; its reply's fields in r->reply (status in r->h.status). XB_ERR_INVAL: the
 * reply is not well-formed. */
static enum xb_err call(struct remote *r, struct xb_pipe_req *req, unsigned timeout_ms)
{
    size_t len = 0;
    const char *why = NULL;
    req->hdr.version = XB_PIPE_VERSION_MAX;
    req->hdr.kind = XB_PIPE_KIND_REQUEST;
    req->hdr.id = ++r->next_id;
    if (!xb_pipe_req_encode(req, r->buf, XB_PIPE_FRAME_MAX, &len))
        return XB_ERR_RANGE;
    enum xb_err err = xb_ctl_client_call(&r->c, r->buf, len, r->buf, XB_PIPE_FRAME_MAX, &len,
                                         &r->h, timeout_ms);
    if (err == XB_OK && !xb_pipe_reply_parse(&r->h, r->buf + XB_PIPE_HDR_LEN, &r->reply, &why))
        err = XB_ERR_INVAL;
    return err;
}

/* Connects and says hello. 0: connected; -1: no companion (use the store); else the
 * exit code after an error was printed. */
static int remote_open(struct remote *r)
{
    char name[300] = "";
    memset(r, 0, sizeof(*r));
    r->c.h = -1;
    xb_ctl_endpoint_name(name, sizeof(name));
    enum xb_err err = xb_ctl_client_connect(&r->c, CONNECT_MS);
    if (err == XB_ERR_NOTFOUND)
        return -1;
    if (err == XB_ERR_AUTH) {
        fprintf(stderr, "xoauthbridge: %s is not served by this user's companion; refusing "
                        "to talk to it\n", name);
        return 1;
    }
    if (err != XB_OK) {
        fprintf(stderr, "xoauthbridge: the running companion does not answer on %s (%s); "
                        "working on the account store directly\n", name, xb_err_str(err));
        return -1;
    }
    r->buf = xb_new_array(unsigned char, XB_PIPE_FRAME_MAX);
    struct xb_pipe_req hello = { .hdr.op = XB_PIPE_OP_HELLO, .min_version = XB_PIPE_VERSION_MIN,
                                 .max_version = XB_PIPE_VERSION_MAX, .client = xb_pipe_cstr("cli") };
    if (!r->buf || call(r, &hello, CALL_MS) != XB_OK || r->h.status != XB_PIPE_ST_OK) {
        fprintf(stderr, "xoauthbridge: the running companion on %s does not speak this "
                        "version's protocol\n", name);
        remote_close(r);
        return 1;
    }
    return 0;
}

/* A connection and one request: 0 with the reply in r (status in r->h.status, r open),
 * -1 when no companion answers (the verb then works on the store), else the exit code
 * after saying why (r closed). */
static int request(struct remote *r, struct xb_pipe_req *req, unsigned timeout_ms)
{
    int rc = remote_open(r);
    if (rc != 0)
        return rc;
    enum xb_err err = call(r, req, timeout_ms);
    if (err == XB_OK)
        return 0;
    fprintf(stderr, "xoauthbridge: the running companion did not answer (%s)\n",
            xb_err_str(err));
    remote_close(r);
    return 1;
}

/* A reply that is not OK, in the words the verb on the store would use; the exit code. */
static int refused(const struct remote *r, const char *email, const char *what)
{
    char why[XB_PIPE_TEXT_MAX];
    xb_pipe_str_copy(r->reply.message, why, sizeof(why));
    if (r->h.status == XB_PIPE_ST_NOT_FOUND && !strstr(why, "provider"))
        fprintf(stderr, "xoauthbridge: no account '%s' (see 'xoauthbridge status')\n", email);
    else
        fprintf(stderr, "xoauthbridge: %s: %s\n", what, why);
    return 1;
}

/* A secret from a reply (GET_ENDPOINT, ACCOUNT_ADD), printed exactly once; the only time
 * it is ever shown. */
static int print_secret(const struct remote *r)
{
    char secret[XB_PIPE_SECRET_MAX + 1];
    if (!xb_pipe_str_copy(r->reply.secret, secret, sizeof(secret)))
        return 1;
    printf("%s\n", secret);
    fflush(stdout);
    xb_wipe(secret, sizeof(secret));
    return 0;
}

static enum xb_account_state state_from_wire(uint32_t s)
{
    switch (s) {
    case XB_PIPE_STATE_NEW: return XB_ACCT_NEW;
    case XB_PIPE_STATE_OK: return XB_ACCT_OK;
    case XB_PIPE_STATE_NEEDS_SIGNIN: return XB_ACCT_NEEDS_SIGNIN;
    default: return XB_ACCT_TEMP_ERROR;
    }
}

int xb_remote_status(void)
{
    struct remote r;
    struct xb_pipe_req req = { .hdr.op = XB_PIPE_OP_LIST_ACCOUNTS };
    struct xb_pipe_account a;
    int rc = request(&r, &req, CALL_MS);
    if (rc != 0)
        return rc;
    if (r.h.status != XB_PIPE_ST_OK)
        rc = refused(&r, "", "cannot list the accounts");
    else if (r.reply.naccounts == 0)
        printf("No accounts yet. Add one with 'xoauthbridge account add EMAIL'.\n");
    while (rc == 0 && xb_pipe_reply_account(&r.reply, &a)) {
        char email[XB_PIPE_EMAIL_MAX + 1], provider[XB_PIPE_PROVIDER_MAX + 1];
        char why[XB_PIPE_TEXT_MAX + 1];
        xb_pipe_str_copy(a.email, email, sizeof(email));
        xb_pipe_str_copy(a.provider, provider, sizeof(provider));
        xb_pipe_str_copy(a.last_error, why, sizeof(why));
        xb_cli_print_account(email, provider, state_from_wire(a.state),
                             a.last_error.len ? why : NULL, (int64_t)a.last_ok,
                             (int64_t)a.last_fail);
    }
    remote_close(&r);
    return rc;
}

/* GET_ENDPOINT on the open connection r, and its secret printed once; shown_once prints
 * the sentence before it (login of a new account). */
static int new_secret(struct remote *r, const char *email, bool shown_once)
{
    struct xb_pipe_req req = { .hdr.op = XB_PIPE_OP_GET_ENDPOINT, .email = xb_pipe_cstr(email) };
    enum xb_err err = call(r, &req, CALL_MS);
    if (err != XB_OK) {
        fprintf(stderr, "xoauthbridge: the running companion did not answer (%s)\n",
                xb_err_str(err));
        return 1;
    }
    if (r->h.status != XB_PIPE_ST_OK)
        return refused(r, email, "cannot make a local secret");
    if (shown_once)
        xb_msg_print(stderr, XB_MSG_SECRET_SHOWN_ONCE, email);
    return print_secret(r);
}

int xb_remote_secret_reset(const char *email)
{
    struct remote r;
    int rc = remote_open(&r);
    if (rc != 0)
        return rc;
    rc = new_secret(&r, email, false);
    remote_close(&r);
    return rc;
}

int xb_remote_login(const char *email, const char *provider, unsigned timeout_s)
{
    struct remote r;
    struct xb_pipe_req req = { .hdr.op = XB_PIPE_OP_ENROL, .email = xb_pipe_cstr(email),
                               .provider = xb_pipe_cstr(provider) };
    char why[XB_PIPE_TEXT_MAX], norm[XB_PIPE_EMAIL_MAX + 1];
    xb_msg_print(stderr, XB_MSG_SIGNIN_OPENING, email);
    /* The companion opens the browser and waits for it (up to its signin_timeout). */
    int rc = request(&r, &req, (timeout_s + 60) * 1000u);
    if (rc != 0)
        return rc;
    if (r.h.status != XB_PIPE_ST_OK) {
        xb_pipe_str_copy(r.reply.message, why, sizeof(why));
        xb_msg_print(stderr, XB_MSG_SIGNIN_FAILED, why);
        rc = 1;
    } else {
        xb_pipe_str_copy(r.reply.email, norm, sizeof(norm));
        xb_msg_print(stderr, XB_MSG_SIGNIN_DONE, norm);
        /* A new account gets its local password, printed once (as without a companion). */
        if (r.reply.created)
            rc = new_secret(&r, norm, true);
    }
    remote_close(&r);
    return rc;
}

/* RESTORE (logout) or FORGET (account remove). */
static int sign_out(const char *email, bool forget)
{
    struct remote r;
    struct xb_pipe_req req = { .hdr.op = forget ? XB_PIPE_OP_FORGET : XB_PIPE_OP_RESTORE,
                               .email = xb_pipe_cstr(email) };
    char note[XB_PIPE_TEXT_MAX + 1];
    int rc = request(&r, &req, CALL_MS);
    if (rc != 0)
        return rc;
    if (r.h.status != XB_PIPE_ST_OK) {
        rc = refused(&r, email, forget ? "cannot remove it" : "cannot sign it out");
    } else {
        xb_pipe_str_copy(r.reply.note, note, sizeof(note));
        if (note[0])
            xb_msg_print(stderr, XB_MSG_LOGOUT_REVOKE_FAILED, note);
        if (!forget)
            xb_msg_print(stderr, XB_MSG_LOGOUT_DONE, email);
    }
    remote_close(&r);
    return rc;
}

int xb_remote_restart_outlook(void)
{
    struct remote r;
    struct xb_pipe_req req = { .hdr.op = XB_PIPE_OP_RESTART_NOW };
    int rc = request(&r, &req, CALL_MS);
    if (rc < 0) {
        fprintf(stderr, "xoauthbridge: the companion is not running: nothing to restart\n");
        return 1;
    }
    if (rc != 0)
        return rc;
    if (r.h.status != XB_PIPE_ST_OK) {
        char why[XB_PIPE_TEXT_MAX + 1];
        xb_pipe_str_copy(r.reply.message, why, sizeof(why));
        fprintf(stderr, "xoauthbridge: cannot restart Outlook: %s\n", why);
        rc = 1;
    } else {
        printf("Outlook closes and starts again.\n");
    }
    remote_close(&r);
    return rc;
}

int xb_remote_logout(const char *email)
{
    return sign_out(email, false);
}

int xb_remote_forget(const char *email)
{
    return sign_out(email, true);
}

int xb_remote_account_add(const char *email, const char *provider)
{
    struct remote r;
    struct xb_pipe_req req = { .hdr.op = XB_PIPE_OP_ACCOUNT_ADD, .email = xb_pipe_cstr(email),
                               .provider = xb_pipe_cstr(provider) };
    char norm[XB_PIPE_EMAIL_MAX + 1];
    int rc = request(&r, &req, CALL_MS);
    if (rc != 0)
        return rc;
    if (r.h.status != XB_PIPE_ST_OK) {
        rc = refused(&r, email, "cannot add it");
    } else {
        xb_pipe_str_copy(r.reply.email, norm, sizeof(norm));
        fprintf(stderr, "Added %s (%s). Its local password, shown only now:\n", norm, provider);
        rc = print_secret(&r);
    }
    remote_close(&r);
    return rc;
}

int xb_remote_token_set(const char *email, const struct xb_secret *access,
                        const struct xb_secret *refresh, long expires_in)
{
    struct remote r;
    struct xb_pipe_req req = {
        .hdr.op = XB_PIPE_OP_SET_TOKENS, .email = xb_pipe_cstr(email),
        .access = { access->data, (uint32_t)access->len },
        .refresh = refresh ? (struct xb_pipe_str){ refresh->data, (uint32_t)refresh->len }
                           : xb_pipe_cstr(NULL),
        .expires_in = expires_in > 0 && (unsigned long)expires_in <= UINT32_MAX
                          ? (uint32_t)expires_in : UINT32_MAX,
    };
    int rc = request(&r, &req, CALL_MS);
    if (rc != 0)
        return rc;
    if (r.h.status != XB_PIPE_ST_OK)
        rc = refused(&r, email, "cannot store the tokens");
    remote_close(&r);
    return rc;
}
