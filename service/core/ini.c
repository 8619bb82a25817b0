#include "core/ini.h"

#include <stdbool.h>
#include <string.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

static struct xb_view trim(const char *p, size_t len)
{
    while (len && is_blank(*p)) {
        p++;
        len--;
    }
    while (len && is_blank(p[len - 1]))
        len--;
    return (struct xb_view){ p, len };
}

static bool is_name(struct xb_view v)
{
    if (v.len == 0)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        if (!is_name_char(v.p[i]))
            return false;
    }
    return true;
}

void xb_ini_init(struct xb_ini *ini, const char *text, size_t len)
{
    ini->p = text;
    ini->end = text + len;
    ini->line = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        ini->p += 3;
}

static enum xb_ini_kind fail(struct xb_ini_item *item, const char *error)
{
    item->error = error;
    return XB_INI_ERROR;
}

enum xb_ini_kind xb_ini_next(struct xb_ini *ini, struct xb_ini_item *item)
{
    memset(item, 0, sizeof(*item));
    while (ini->p < ini->end) {
        const char *start = ini->p;
        const char *nl = memchr(start, '\n', (size_t)(ini->end - start));
        size_t len = nl ? (size_t)(nl - start) : (size_t)(ini->end - start);
        ini->p = nl ? nl + 1 : ini->end;
        ini->line++;
        item->line = ini->line;
        if (len && start[len - 1] == '\r')
            len--;
        /* A stray CR, a NUL or an escape sequence has no business in a config file,
         * and keeping them out means names and values are safe to echo in messages. */
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)start[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return fail(item, "control character in line (only tab is allowed)");
        }
        struct xb_view l = trim(start, len);
        if (l.len == 0 || l.p[0] == '#' || l.p[0] == ';')
            continue;

        if (l.p[0] == '[') {
            if (l.p[l.len - 1] != ']')
                return fail(item, "section header must be '[name]' alone on its line");
            item->name = trim(l.p + 1, l.len - 2);
            if (!is_name(item->name))
                return fail(item, "section name must be letters, digits, '_', '-' and '.'");
            return XB_INI_SECTION;
        }

        const char *eq = memchr(l.p, '=', l.len);
        if (!eq)
            return fail(item, "line is neither '[section]' nor 'key = value'");
        item->name = trim(l.p, (size_t)(eq - l.p));
        if (!is_name(item->name))
            return fail(item, "key before '=' must be letters, digits, '_', '-' and '.'");
        struct xb_view v = trim(eq + 1, (size_t)(l.p + l.len - (eq + 1)));
        if (v.len && v.p[0] == '"') {
            if (v.len < 2 || v.p[v.len - 1] != '"')
                return fail(item, "value opens a '\"' quote but does not end with one");
            v.p++;
            v.len -= 2;
        }
        item->value = v;
        return XB_INI_KEY;
    }
    return XB_INI_END;
}
