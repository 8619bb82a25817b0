#include "core/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/events.h"
#include "platform/platform.h"

static xb_log_sink_fn *log_sink;
static void *log_sink_ctx;
static enum xb_log_level log_level = XB_LOG_INFO;

static const char *const level_names[] = {
    [XB_LOG_ERROR] = "error",
    [XB_LOG_WARN] = "warn",
    [XB_LOG_INFO] = "info",
    [XB_LOG_DEBUG] = "debug",
};

void xb_log_set_sink(xb_log_sink_fn *sink, void *ctx)
{
    log_sink = sink;
    log_sink_ctx = ctx;
}

void xb_log_set_level(enum xb_log_level level)
{
    log_level = level;
}

enum xb_log_level xb_log_get_level(void)
{
    return log_level;
}

const char *xb_log_level_name(enum xb_log_level level)
{
    if ((unsigned)level > XB_LOG_DEBUG)
        return "?";
    return level_names[level];
}

/* Appends text, turning control characters (and DEL) into \xNN so that nothing
 * a peer sent can forge a log line or drive a terminal. */
static size_t append_clean(char *out, size_t size, size_t pos, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            if (pos + 4 >= size)
                break;
            out[pos++] = '\\';
            out[pos++] = 'x';
            out[pos++] = hex[*p >> 4];
            out[pos++] = hex[*p & 15];
        } else {
            if (pos + 1 >= size)
                break;
            out[pos++] = (char)*p;
        }
    }
    out[pos] = '\0';
    return pos;
}

void xb_log_format(char *out, size_t size, enum xb_log_level level, unsigned long conn,
                   const char *text)
{
    int n;
    if (conn)
        n = snprintf(out, size, "%s [c%lu] ", xb_log_level_name(level), conn);
    else
        n = snprintf(out, size, "%s ", xb_log_level_name(level));
    if (n < 0 || (size_t)n >= size)
        return;
    append_clean(out, size, (size_t)n, text);
}

static void log_line(enum xb_log_level level, unsigned event, unsigned long conn,
                     const char *fmt, va_list ap) XB_PRINTF(4, 0);

void xb_logv(enum xb_log_level level, unsigned long conn, const char *fmt, va_list ap)
{
    log_line(level, 0, conn, fmt, ap);
}

void xb_log_event(unsigned event, const char *fmt, ...)
{
    const struct xb_event_def *def = xb_event_def(event);
    va_list ap;
    va_start(ap, fmt);
    log_line(def ? def->level : XB_LOG_ERROR, def ? event : XB_EV_ERROR, 0, fmt, ap);
    va_end(ap);
}

static void log_line(enum xb_log_level level, unsigned event, unsigned long conn,
                     const char *fmt, va_list ap)
{
    /* Events are what an administrator counts: never filtered out by the level. */
    if (level > log_level && !event)
        return;

    struct xb_errsave saved;
    xb_plat_err_save(&saved);

    char text[XB_LOG_LINE_MAX];
    char line[XB_LOG_LINE_MAX + 32];
    char stamp[32] = "";
    struct tm tm;

    int pre = event ? snprintf(text, sizeof(text), "[event %u] ", event) : 0;
    vsnprintf(text + pre, sizeof(text) - (size_t)pre, fmt, ap);
    if (xb_plat_gmtime(time(NULL), &tm) == 0)
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ ", &tm);
    size_t off = strlen(stamp);
    memcpy(line, stamp, off + 1);
    xb_log_format(line + off, sizeof(line) - off, level, conn, text);

    if (log_sink) {
        log_sink(log_sink_ctx, level, event, line);
    } else {
        fputs(line, stderr);
        fputc('\n', stderr);
    }

    xb_plat_err_restore(&saved);
}

void xb_log(enum xb_log_level level, unsigned long conn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xb_logv(level, conn, fmt, ap);
    va_end(ap);
}
