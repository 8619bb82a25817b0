/*
 * Logging. One line per event, tagged with a connection id where there is one.
 * Callers never pass a secret, token or AUTH payload: log what happened, not the data.
 * Logging preserves errno (and GetLastError on Windows) across the call.
 */
#ifndef XB_LOG_H
#define XB_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum xb_log_level {
    XB_LOG_ERROR,
    XB_LOG_WARN,
    XB_LOG_INFO,
    XB_LOG_DEBUG,
};

#if defined(__GNUC__)
#define XB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define XB_PRINTF(fmt, args)
#endif

/* Longest line handed to a sink, excluding the terminator; longer lines are cut. */
#define XB_LOG_LINE_MAX 1024

/* Receives finished lines: timestamp, level, connection tag and text, no newline; event
 * is the line's event ID (core/events.h), 0 for a plain line. */
typedef void xb_log_sink_fn(void *ctx, enum xb_log_level level, unsigned event,
                            const char *line);

/* NULL sink: standard error. */
void xb_log_set_sink(xb_log_sink_fn *sink, void *ctx);
void xb_log_set_level(enum xb_log_level level);
enum xb_log_level xb_log_get_level(void);

const char *xb_log_level_name(enum xb_log_level level);

/* conn == 0: no connection tag. */
void xb_log(enum xb_log_level level, unsigned long conn, const char *fmt, ...) XB_PRINTF(3, 4);
void xb_logv(enum xb_log_level level, unsigned long conn, const char *fmt, va_list ap)
    XB_PRINTF(3, 0);

/* An event an administrator counts (core/events.h): logged at the event's level with
 * "[event N] " before the text, and the sink told N (the tray: the Event Log). An ID the
 * table does not know is logged as an error line. */
void xb_log_event(unsigned event, const char *fmt, ...) XB_PRINTF(2, 3);

#define xb_log_error(...) xb_log(XB_LOG_ERROR, 0, __VA_ARGS__)
#define xb_log_warn(...)  xb_log(XB_LOG_WARN, 0, __VA_ARGS__)
#define xb_log_info(...)  xb_log(XB_LOG_INFO, 0, __VA_ARGS__)
#define xb_log_debug(...) xb_log(XB_LOG_DEBUG, 0, __VA_ARGS__)

/* Formats into out (size >= 1) the way sinks receive it, minus the timestamp;
 * exposed for tests. Control characters become \xNN. */
void xb_log_format(char *out, size_t size, enum xb_log_level level, unsigned long conn,
                   const char *text);

#endif
