#include "core/err.h"

static const char *const xb_err_names[XB_ERR__COUNT] = {
    [XB_OK] = "success",
    [XB_ERR_NOMEM] = "out of memory",
    [XB_ERR_INVAL] = "invalid argument or input",
    [XB_ERR_RANGE] = "limit exceeded",
    [XB_ERR_IO] = "input/output error",
    [XB_ERR_NET] = "network error",
    [XB_ERR_TLS] = "TLS error",
    [XB_ERR_AUTH] = "authentication refused",
    [XB_ERR_TEMP] = "temporary failure",
    [XB_ERR_NOTFOUND] = "not found",
    [XB_ERR_CRYPTO] = "integrity check failed",
    [XB_ERR_UNSUPPORTED] = "not supported",
    [XB_ERR_AGAIN] = "more input needed",
    [XB_ERR_CONFLICT] = "held or changed by another process",
};

const char *xb_err_str(enum xb_err err)
{
    if ((unsigned)err >= XB_ERR__COUNT || !xb_err_names[err])
        return "unknown error";
    return xb_err_names[err];
}
