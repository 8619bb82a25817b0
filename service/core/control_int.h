/*
 * Inside the control channel: control.c owns connections, framing and the dispatch;
 * control_ops.c the operations that take time (ENROL, RESTORE, FORGET) or touch
 * secrets (GET_ENDPOINT). Not for use elsewhere.
 */
#ifndef XB_CONTROL_INT_H
#define XB_CONTROL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/list.h"
#include "core/control.h"
#include "core/log.h"
#include "core/pipe_codec.h"
#include "core/ui.h"

struct event;
struct xb_enrol;
struct xb_revoke;

/* One connected client. Freed only from its reap event, so a pointer stays valid for
 * the whole of a callback even when the connection is being closed. */
struct xb_ctl_conn {
    struct xb_ctl *ctl;
    struct bufferevent *bev;
    struct event *frame_timer;   /* a frame begun must arrive whole in time */
    struct event *reap;
    unsigned long id;            /* for logs */
    bool subscribed;
    uint32_t sub_id;             /* events carry the SUBSCRIBE request's id */
    uint8_t version;             /* replies are sent in the request's version */
    bool eof;                    /* the client will send nothing more */
    bool closing;                /* no more frames: flushing, then free */
    bool dead;                   /* reap scheduled */
    unsigned pending;            /* requests to be answered later */
    struct xb_list_node link;    /* in ctl->conns */
};

/* Someone waiting for the answer of a long request; conn is NULL once it left. */
struct xb_ctl_waiter {
    struct xb_ctl_conn *conn;
    uint32_t id;
    uint16_t op;
    uint8_t version;
    struct xb_ctl_waiter *next;
};

struct xb_ctl {
    struct event_base *base;
    const struct xb_config *cfg;
    struct xb_store *store;
    struct xb_proxy *px;
    struct xb_http *http;
    struct xb_ui *front;                    /* the real front end; may be NULL */
    struct xb_ui ui;                        /* what the core is given (xb_ctl_ui) */
    struct xb_plat_ctl *plat;
    struct xb_list conns;                   /* of struct xb_ctl_conn */
    unsigned nconns;
    unsigned long next_id;
    struct xb_enrol *enrols;
    unsigned nenrols;
    struct xb_revoke *revokes;
    struct {                                /* the restart of Outlook last offered */
        bool pending;
        uint32_t pid;
        char program[XB_PIPE_PATH_MAX + 1];
        char profile[XB_PIPE_NAME_MAX + 1];
    } restart;
    unsigned char out[XB_PIPE_FRAME_MAX];   /* one outgoing frame at a time */
};

/* The header of a reply to (version, op, id) with status, every other field empty. */
struct xb_pipe_reply xb_ctl_reply(uint8_t version, uint16_t op, uint16_t status, uint32_t id);
/* Encodes the reply or event r (pipe_codec.c; LIST_ACCOUNTS' accounts from accounts) in
 * c's ctl->out and queues it for c (nothing if c is NULL or closing). A frame holding a
 * secret is queued in a buffer that is wiped when sent; ctl->out is wiped. */
void xb_ctl_send(struct xb_ctl_conn *c, const struct xb_pipe_reply *r,
                 const struct xb_pipe_account *accounts, bool secret);
/* An error reply: str message (plus u32 min, u32 max for VERSION). */
void xb_ctl_reply_error(struct xb_ctl_conn *c, uint8_t version, uint16_t op, uint32_t id,
                        uint16_t status, const char *fmt, ...) XB_PRINTF(6, 7);
/* A waiter's answer arrived: it is no longer pending on its connection. */
void xb_ctl_pending_done(struct xb_ctl_conn *c);
/* An event's frame with every field empty, to fill and broadcast. */
struct xb_pipe_reply xb_ctl_event(uint16_t op);
/* ev to every subscriber (in its version, with its SUBSCRIBE id); how many heard it. */
unsigned xb_ctl_broadcast(struct xb_ctl *ctl, const struct xb_pipe_reply *ev);
/* STATE_CHANGED to every subscriber (only: the front end hears through ctl->ui). */
void xb_ctl_notify_state(struct xb_ctl *ctl, const char *email, uint32_t state,
                         const char *last_error);
uint32_t xb_ctl_wire_state(int state);

/* control_ops.c */
void xb_ctl_op_enrol(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
void xb_ctl_op_endpoint(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
void xb_ctl_op_report(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
void xb_ctl_op_bridged(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
void xb_ctl_op_unmatched(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
void xb_ctl_op_restore(struct xb_ctl_conn *c, const struct xb_pipe_req *r, bool forget);
void xb_ctl_op_account_add(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
void xb_ctl_op_set_tokens(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
void xb_ctl_op_ports(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
void xb_ctl_op_check_secret(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
void xb_ctl_op_offer_restart(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
void xb_ctl_op_restart_now(struct xb_ctl_conn *c, const struct xb_pipe_req *r);
/* A connection leaves: its waiters stop waiting (the work goes on). */
void xb_ctl_ops_forget_conn(struct xb_ctl *ctl, struct xb_ctl_conn *c);
/* Shutdown: sign-ins and revocations end; waiters get TEMP. */
void xb_ctl_ops_cancel(struct xb_ctl *ctl);

#endif
