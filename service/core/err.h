/* Error codes returned by every xb_* function that can fail. */
#ifndef XB_ERR_H
#define XB_ERR_H

enum xb_err {
    XB_OK = 0,
    XB_ERR_NOMEM,       /* allocation failed or size overflowed */
    XB_ERR_INVAL,       /* bad argument or malformed input */
    XB_ERR_RANGE,       /* a limit was exceeded */
    XB_ERR_IO,          /* a file or device operation failed */
    XB_ERR_NET,         /* a socket operation failed */
    XB_ERR_TLS,         /* TLS handshake or verification failed */
    XB_ERR_AUTH,        /* authentication refused: a person must act */
    XB_ERR_TEMP,        /* temporary failure: retrying may work */
    XB_ERR_NOTFOUND,    /* no such account, key or file */
    XB_ERR_CRYPTO,      /* integrity or decryption failure */
    XB_ERR_UNSUPPORTED, /* not available on this platform or build */
    XB_ERR_AGAIN,       /* parser needs more input */
    XB_ERR_CONFLICT,    /* another process holds it, or changed it first */
    XB_ERR__COUNT
};

/* A short, stable English name for logs ("out of memory"); never NULL. */
const char *xb_err_str(enum xb_err err);

#endif
