/*
 * Shared by win32/ctlclient.c and win32/ctlsock.c: who this process runs as (the SID
 * in its token) and the pipe name made from it. Windows-only; not for the core.
 */
#ifndef XB_CTLWIN_H
#define XB_CTLWIN_H

#include <windows.h>

#include "core/err.h"

#define XB_CTL_PIPE_PREFIX L"\\\\.\\pipe\\xoauthbridge-"
#define XB_CTL_SID_MAX     192      /* characters of a SID string, with room to spare */
#define XB_CTL_NAME_MAX    (40 + XB_CTL_SID_MAX + 40)

struct xb_ctl_user {
    union {
        TOKEN_USER tu;
        unsigned char raw[SECURITY_MAX_SID_SIZE + sizeof(TOKEN_USER) + 16];
    } u;
    PSID sid;                        /* points into u */
    wchar_t sid_str[XB_CTL_SID_MAX];
};

/* The user of this process (its primary token). */
enum xb_err xb_ctl_user_self(struct xb_ctl_user *me);
/* The user a token belongs to; false if it cannot be read. */
BOOL xb_ctl_token_user(HANDLE token, struct xb_ctl_user *out);
/* \\.\pipe\xoauthbridge-<SID>[-$XB_CTL_NAME]. */
enum xb_err xb_ctl_pipe_name(const struct xb_ctl_user *me, wchar_t *name, size_t n);

#endif
