/* Core helpers: allocation overflow checks, secrets, log formatting, randomness. */
#include <stdint.h>

#include "core/err.h"
#include "core/events.h"
#include "core/log.h"
#include "core/mem.h"
#include "platform/platform.h"

#include "xbtest.h"

static void alloc_overflow_refused(void)
{
    CHECK(xb_calloc_array(SIZE_MAX / 2, 4) == NULL);
    CHECK(xb_realloc_array(NULL, SIZE_MAX / 8 + 1, 16) == NULL);
    char *p = xb_new_array(char, 0);
    CHECK(p != NULL);
    xb_free(p);
    int *zeroed = xb_new_array(int, 64);
    CHECK(zeroed && zeroed[0] == 0 && zeroed[63] == 0);
    xb_free(zeroed);
}

static void strndup_bounds(void)
{
    char *s = xb_strndup("abcdef", 3);
    CHECK_STR(s, "abc");
    xb_free(s);
    s = xb_strndup("ab", 10);
    CHECK_STR(s, "ab");
    xb_free(s);
}

static void secret_roundtrip(void)
{
    struct xb_secret *s = xb_secret_new("hunter2\0x", 9);
    CHECK(s && s->len == 9 && memcmp(s->data, "hunter2\0x", 9) == 0 && s->data[9] == '\0');
    xb_secret_free(s);
    xb_secret_free(NULL);
}

static void wipe_zeroes(void)
{
    char buf[16];
    memset(buf, 'A', sizeof(buf));
    xb_wipe(buf, sizeof(buf));
    int nonzero = 0;
    for (size_t i = 0; i < sizeof(buf); i++)
        nonzero |= buf[i];
    CHECK(nonzero == 0);
}

static void log_strips_control_chars(void)
{
    char out[128];
    xb_log_format(out, sizeof(out), XB_LOG_WARN, 7, "a\r\nb\x1b[31m\x7f");
    CHECK_STR(out, "warn [c7] a\\x0d\\x0ab\\x1b[31m\\x7f");
    xb_log_format(out, sizeof(out), XB_LOG_INFO, 0, "plain");
    CHECK_STR(out, "info plain");
    /* Truncation never splits an escape or overruns. */
    char tiny[12];
    xb_log_format(tiny, sizeof(tiny), XB_LOG_INFO, 0, "ab\x01\x02");
    CHECK_STR(tiny, "info ab\\x01");
}

static const char *last_line;
static char last_buf[XB_LOG_LINE_MAX + 64];
static unsigned last_event;
static enum xb_log_level last_level;
static void capture(void *ctx, enum xb_log_level level, unsigned event, const char *line)
{
    (void)ctx;
    last_level = level;
    last_event = event;
    snprintf(last_buf, sizeof(last_buf), "%s", line);
    last_line = last_buf;
}

static void log_levels_and_sink(void)
{
    xb_log_set_sink(capture, NULL);
    xb_log_set_level(XB_LOG_WARN);
    last_line = NULL;
    xb_log_info("not shown");
    CHECK(last_line == NULL);
    xb_log(XB_LOG_ERROR, 42, "shown %d", 5);
    CHECK(last_line && strstr(last_line, "error [c42] shown 5") != NULL);
    /* A line starts with an ISO 8601 UTC timestamp. */
    CHECK(last_line && strlen(last_line) > 21 && last_line[4] == '-' && last_line[19] == 'Z');
    CHECK(last_event == 0);
    /* An event: its table's level, its ID to the sink and in the line, and never
     * filtered by the level (an administrator counts them). */
    last_line = NULL;
    xb_log_event(XB_EV_SIGNED_IN, "%s signed in", "taro@example.jp");
    CHECK(last_line && strstr(last_line, "info [event 1001] taro@example.jp signed in"));
    CHECK(last_event == 1001 && last_level == XB_LOG_INFO);
    xb_log_event(XB_EV_PORTS_MOVED, "x");
    CHECK(last_event == 2002 && last_level == XB_LOG_WARN);
    xb_log_event(4242, "no such event");
    CHECK(last_event == XB_EV_ERROR && last_level == XB_LOG_ERROR);
    xb_log_set_sink(NULL, NULL);
    xb_log_set_level(XB_LOG_INFO);
}

static void random_differs(void)
{
    unsigned char a[32], b[32];
    CHECK(xb_plat_random(a, sizeof(a)) == XB_OK);
    CHECK(xb_plat_random(b, sizeof(b)) == XB_OK);
    CHECK(memcmp(a, b, sizeof(a)) != 0);
}

static void err_names(void)
{
    CHECK_STR(xb_err_str(XB_OK), "success");
    CHECK_STR(xb_err_str(XB_ERR_AUTH), "authentication refused");
    CHECK_STR(xb_err_str((enum xb_err)999), "unknown error");
}

XBTEST_MAIN(XBTEST(alloc_overflow_refused), XBTEST(strndup_bounds), XBTEST(secret_roundtrip),
            XBTEST(wipe_zeroes), XBTEST(log_strips_control_chars), XBTEST(log_levels_and_sink),
            XBTEST(random_differs), XBTEST(err_names))
