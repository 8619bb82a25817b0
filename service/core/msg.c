#include "core/msg.h"

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

static enum xb_lang current = XB_LANG_EN;

static const char *const *const tables[XB_LANG__COUNT] = {
    [XB_LANG_EN] = xb_msg_table_en,
    [XB_LANG_JA] = xb_msg_table_ja,
};

enum xb_lang xb_lang_from_tag(const char *tag)
{
    if (tag && (tag[0] == 'j' || tag[0] == 'J') && (tag[1] == 'a' || tag[1] == 'A') &&
        (tag[2] == '\0' || tag[2] == '-' || tag[2] == '_' || tag[2] == '.'))
        return XB_LANG_JA;
    return XB_LANG_EN;
}

void xb_msg_set_lang(enum xb_lang lang)
{
    current = (unsigned)lang < XB_LANG__COUNT ? lang : XB_LANG_EN;
}

enum xb_lang xb_msg_get_lang(void)
{
    return current;
}

const char *xb_lang_code(enum xb_lang lang)
{
    return lang == XB_LANG_JA ? "ja" : "en";
}

const char *xb_msg(enum xb_msg_id id)
{
    if ((unsigned)id >= XB_MSG__COUNT)
        return "?";
    const char *s = tables[current][id];
    return s ? s : (xb_msg_table_en[id] ? xb_msg_table_en[id] : "?");
}

/* Table strings are formats by design; their conversions are tested per language. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
int xb_msg_format(char *buf, size_t size, enum xb_msg_id id, ...)
{
    va_list ap;
    va_start(ap, id);
    int n = vsnprintf(buf, size, xb_msg(id), ap);
    va_end(ap);
    return n;
}

void xb_msg_print(FILE *f, enum xb_msg_id id, ...)
{
    va_list ap;
    va_start(ap, id);
    vfprintf(f, xb_msg(id), ap);
    va_end(ap);
    fputc('\n', f);
}
#pragma GCC diagnostic pop
