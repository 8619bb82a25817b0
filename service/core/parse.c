/* What every protocol parser shares: view comparison and the line splitter. */
#include "core/parse.h"

#include <string.h>

#include "core/ascii.h"

bool xb_view_eq_ci(struct xb_view v, const char *s)
{
    return xb_ascii_eq_ci(v.p, v.len, s);
}

enum xb_parse_rc xb_line_split(const char *data, size_t len, size_t max,
                               struct xb_view *line, size_t *consumed)
{
    *line = XB_VIEW_NULL;
    *consumed = 0;
    if (len == 0)
        return XB_PARSE_AGAIN;
    /* Look no further than a valid line could reach (max bytes, CR, LF): without an LF
     * in that window the line is already too long, and a peer streaming bytes without
     * an LF costs at most O(max) per call. */
    size_t window = len;
    if (max < (size_t)-1 - 2 && window > max + 2)
        window = max + 2;
    const char *lf = memchr(data, '\n', window);
    if (!lf) {
        if (len <= max || (len == max + 1 && data[max] == '\r'))
            return XB_PARSE_AGAIN; /* the LF may still come */
        /* Too long whether or not its LF is further on: skip through it if it is in
         * data, else the caller has to give up on the stream. */
        lf = memchr(data + window, '\n', len - window);
        if (lf)
            *consumed = (size_t)(lf - data) + 1;
        return XB_PARSE_TOO_LONG;
    }
    size_t n = (size_t)(lf - data);
    *consumed = n + 1;
    if (n > 0 && data[n - 1] == '\r')
        n--;
    if (n > max)
        return XB_PARSE_TOO_LONG;
    line->p = data;
    line->len = n;
    return XB_PARSE_OK;
}

bool xb_view_split_space(struct xb_view v, struct xb_view *word, struct xb_view *rest)
{
    const char *sp = v.len ? memchr(v.p, ' ', v.len) : NULL;
    if (!sp) {
        *word = v;
        *rest = XB_VIEW_NULL;
        return false;
    }
    size_t n = (size_t)(sp - v.p);
    *word = (struct xb_view){ v.p, n };
    *rest = (struct xb_view){ sp + 1, v.len - n - 1 };
    return true;
}
