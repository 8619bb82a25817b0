/*
 * The control protocol between the Outlook add-in (or the CLI, or the tray) and the
 * companion: the same bytes over the per-user named pipe on Windows and the per-user
 * Unix socket on POSIX. Specified byte by byte in docs/pipe-protocol.md.
 *
 * Plain C99, no <windows.h>, no allocation: the add-in (32- or 64-bit) includes this as
 * it is. Every multi-byte number is little-endian and written byte by byte by the
 * helpers below; no struct ever goes over the wire as it lies in memory.
 *
 * A frame is a 16-byte header and a payload of typed fields:
 *
 *   offset size  field
 *   0      2     magic    0x4258 ("XB": bytes 0x58 0x42)
 *   2      1     version  protocol version of this frame (1)
 *   3      1     kind     1 request, 2 reply, 3 event
 *   4      2     op       what is asked (XB_PIPE_OP_*)
 *   6      2     status   replies: XB_PIPE_ST_*; requests and events: 0
 *   8      4     id       chosen by the client, echoed in the reply; events: the
 *                         id of the SUBSCRIBE request
 *   12     4     length   payload bytes after the header, <= XB_PIPE_PAYLOAD_MAX
 *
 * Payload fields: u32 (4 bytes), u64 (8 bytes), str (u32 byte count, then that many
 * bytes of UTF-8, no NUL, no terminator).
 *
 * Versioning: the header layout above never changes. A version number names the
 * payload layouts of every op; HELLO's payloads are frozen so that any two versions can
 * agree on one. A request in a version the server does not speak gets status VERSION.
 */
#ifndef XOAUTHBRIDGE_PIPE_PROTO_H
#define XOAUTHBRIDGE_PIPE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define XB_PIPE_MAGIC          0x4258u
#define XB_PIPE_VERSION_MIN    1u
#define XB_PIPE_VERSION_MAX    1u

#define XB_PIPE_HDR_LEN        16u
#define XB_PIPE_FRAME_MAX      131072u                           /* header + payload */
#define XB_PIPE_PAYLOAD_MAX    (XB_PIPE_FRAME_MAX - XB_PIPE_HDR_LEN)

/* Longest strings, in bytes, per field. */
#define XB_PIPE_EMAIL_MAX      320u
#define XB_PIPE_PROVIDER_MAX   64u
#define XB_PIPE_NAME_MAX       128u     /* HELLO client/server names */
#define XB_PIPE_TEXT_MAX       2048u    /* error texts, failure descriptions */
#define XB_PIPE_HOST_MAX       64u
#define XB_PIPE_SECRET_MAX     256u
#define XB_PIPE_TOKEN_MAX      8192u    /* SET_TOKENS' OAuth tokens */
#define XB_PIPE_PATH_MAX       1024u    /* OFFER_RESTART's program path */

/* Frame kinds. */
#define XB_PIPE_KIND_REQUEST   1u
#define XB_PIPE_KIND_REPLY     2u
#define XB_PIPE_KIND_EVENT     3u

/* Ops. Requests are 0x0001-0x7fff; events 0x8001-0xffff. */
#define XB_PIPE_OP_HELLO             0x0001u  /* u32 min, u32 max, str client
                                                 -> u32 version, u32 min, u32 max, str server */
#define XB_PIPE_OP_LIST_ACCOUNTS     0x0002u  /* -> u32 n, n x (str email, str provider,
                                                 u32 state, str last_error, u64 last_ok,
                                                 u64 last_fail) */
#define XB_PIPE_OP_ENROL             0x0003u  /* str email, str provider ("": default)
                                                 -> str email, u32 created */
#define XB_PIPE_OP_GET_ENDPOINT      0x0004u  /* str email -> str host, u32 imap, u32 pop3,
                                                 u32 smtp, str user, str secret */
#define XB_PIPE_OP_REPORT_FAILURE    0x0005u  /* str email, u32 protocol, u32 code, str text */
#define XB_PIPE_OP_RESTORE           0x0006u  /* str email -> str revoke_note */
#define XB_PIPE_OP_FORGET            0x0007u  /* str email -> str revoke_note */
#define XB_PIPE_OP_SUBSCRIBE         0x0008u  /* -> (nothing); then events */
#define XB_PIPE_OP_ACCOUNT_BRIDGED   0x0009u  /* str email, u32 protocol -> (nothing): the
                                                 add-in pointed an Outlook account at us */
#define XB_PIPE_OP_ACCOUNT_ADD       0x000Au  /* str email, str provider ("": google)
                                                 -> str email, str secret: enrolled, not
                                                 signed in (the CLI's `account add`) */
#define XB_PIPE_OP_SET_TOKENS        0x000Bu  /* str email, str access, str refresh ("":
                                                 keep), u32 expires_in -> (nothing): the
                                                 CLI's `token set` */
#define XB_PIPE_OP_CHECK_SECRET      0x000Cu  /* str email, str secret -> u32 current (1: the
                                                 account's local secret): the password
                                                 Outlook holds, checked by keyed hash */
#define XB_PIPE_OP_GET_PORTS         0x000Du  /* -> str host, u32 imap, u32 pop3, u32 smtp:
                                                 GET_ENDPOINT without a new secret */
#define XB_PIPE_OP_OFFER_RESTART     0x000Eu  /* u32 pid, str program, str profile ->
                                                 (nothing): offer the person to restart
                                                 this Outlook now */
#define XB_PIPE_OP_RESTART_NOW       0x000Fu  /* -> (nothing): the person (CLI) accepts the
                                                 restart offered: RESTART_OUTLOOK goes out
                                                 and the companion starts Outlook again */
#define XB_PIPE_OP_REPORT_UNMATCHED  0x0010u  /* str email, u32 protocol, u32 code, str text
                                                 -> (nothing): Outlook reported an error for
                                                 a provider's account in words the add-in
                                                 does not know (an Event Log warning) */
#define XB_PIPE_OP_STATE_CHANGED     0x8001u  /* event: str email, u32 state, str last_error */
#define XB_PIPE_OP_FAILURE_REPORTED  0x8002u  /* event: str email, u32 protocol, u32 code,
                                                 str text */
#define XB_PIPE_OP_RESTART_OUTLOOK   0x8003u  /* event: u32 pid: the person chose to restart
                                                 that Outlook: it should quit */

/* Reply statuses. Every reply that is not OK carries str message (English, for logs);
 * VERSION adds u32 min, u32 max: the versions the server speaks. */
#define XB_PIPE_ST_OK            0u
#define XB_PIPE_ST_BAD_REQUEST   1u   /* malformed, truncated, oversized, wrong kind */
#define XB_PIPE_ST_UNKNOWN_OP    2u
#define XB_PIPE_ST_VERSION       3u   /* version not spoken */
#define XB_PIPE_ST_NOT_FOUND     4u   /* no such account (or provider) */
#define XB_PIPE_ST_AUTH_NEEDED   5u   /* a person must act: sign-in refused, declined */
#define XB_PIPE_ST_TEMP          6u   /* passing failure: timeout, network; try later */
#define XB_PIPE_ST_INTERNAL      7u   /* the companion failed (store, configuration) */

/* Account states on the wire (not the companion's enum: these numbers are fixed). */
#define XB_PIPE_STATE_NEW           0u   /* enrolled, never signed in */
#define XB_PIPE_STATE_OK            1u
#define XB_PIPE_STATE_NEEDS_SIGNIN  2u
#define XB_PIPE_STATE_TEMP_ERROR    3u
#define XB_PIPE_STATE_REMOVED       4u   /* STATE_CHANGED only: the account is gone */

/* Mail protocols in REPORT_FAILURE. */
#define XB_PIPE_PROTO_UNKNOWN    0u
#define XB_PIPE_PROTO_IMAP       1u
#define XB_PIPE_PROTO_POP3       2u
#define XB_PIPE_PROTO_SMTP       3u

/* --- little-endian numbers, byte by byte ---------------------------------------------- */

static inline void xb_pipe_put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xffu);
    p[1] = (unsigned char)(v >> 8);
}

static inline void xb_pipe_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xffu);
    p[1] = (unsigned char)((v >> 8) & 0xffu);
    p[2] = (unsigned char)((v >> 16) & 0xffu);
    p[3] = (unsigned char)(v >> 24);
}

static inline void xb_pipe_put_le64(unsigned char *p, uint64_t v)
{
    xb_pipe_put_le32(p, (uint32_t)(v & 0xffffffffu));
    xb_pipe_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t xb_pipe_get_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t xb_pipe_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t xb_pipe_get_le64(const unsigned char *p)
{
    return (uint64_t)xb_pipe_get_le32(p) | (uint64_t)xb_pipe_get_le32(p + 4) << 32;
}

/* --- the header -------------------------------------------------------------------- */

/* The header as numbers (never copied to or from the wire as a struct). */
struct xb_pipe_hdr {
    uint8_t version;
    uint8_t kind;
    uint16_t op;
    uint16_t status;
    uint32_t id;
    uint32_t len;                 /* payload bytes */
};

enum xb_pipe_hdr_check {
    XB_PIPE_HDR_OK,
    XB_PIPE_HDR_BAD_MAGIC,        /* not a frame: the stream cannot be trusted any more */
    XB_PIPE_HDR_TOO_LONG,         /* length above XB_PIPE_PAYLOAD_MAX */
};

static inline void xb_pipe_hdr_encode(const struct xb_pipe_hdr *h,
                                      unsigned char out[XB_PIPE_HDR_LEN])
{
    xb_pipe_put_le16(out, (uint16_t)XB_PIPE_MAGIC);
    out[2] = h->version;
    out[3] = h->kind;
    xb_pipe_put_le16(out + 4, h->op);
    xb_pipe_put_le16(out + 6, h->status);
    xb_pipe_put_le32(out + 8, h->id);
    xb_pipe_put_le32(out + 12, h->len);
}

/* The one place where a frame's size is checked: everything after it may rely on
 * h->len <= XB_PIPE_PAYLOAD_MAX. The fields are filled even when the check fails (the
 * id, to answer with). */
static inline enum xb_pipe_hdr_check xb_pipe_hdr_decode(const unsigned char in[XB_PIPE_HDR_LEN],
                                                        struct xb_pipe_hdr *h)
{
    h->version = in[2];
    h->kind = in[3];
    h->op = xb_pipe_get_le16(in + 4);
    h->status = xb_pipe_get_le16(in + 6);
    h->id = xb_pipe_get_le32(in + 8);
    h->len = xb_pipe_get_le32(in + 12);
    if (xb_pipe_get_le16(in) != XB_PIPE_MAGIC)
        return XB_PIPE_HDR_BAD_MAGIC;
    if (h->len > XB_PIPE_PAYLOAD_MAX)
        return XB_PIPE_HDR_TOO_LONG;
    return XB_PIPE_HDR_OK;
}

#endif
