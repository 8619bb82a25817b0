/* Message tables: every message exists in every language, with the same printf
 * conversions in the same order (a translation must never change what xb_msg_format
 * reads from its arguments), and Japanese is really translated. */
#include <string.h>

#include "core/msg.h"

#include "xbtest.h"

/* The conversion letters of a format, e.g. "%s ... %u" -> "su"; "%%" is skipped. */
static void conversions(const char *fmt, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = fmt; *p && n + 1 < size; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '%')
            continue;
        while (*p && strchr("-+ #0123456789.*hlzjt", *p))
            p++;
        if (*p)
            out[n++] = *p;
        else
            break;
    }
    out[n] = '\0';
}

static void every_message_in_every_language(void)
{
    const char *const *tables[] = { xb_msg_table_en, xb_msg_table_ja };
    for (int id = 0; id < XB_MSG__COUNT; id++) {
        for (size_t t = 0; t < 2; t++) {
            CHECK(tables[t][id] != NULL && tables[t][id][0] != '\0');
            if (!tables[t][id])
                printf("#   message %d missing in table %zu\n", id, t);
        }
    }
}

static void same_conversions(void)
{
    for (int id = 0; id < XB_MSG__COUNT; id++) {
        char en[16], ja[16];
        if (!xb_msg_table_en[id] || !xb_msg_table_ja[id])
            continue;
        conversions(xb_msg_table_en[id], en, sizeof(en));
        conversions(xb_msg_table_ja[id], ja, sizeof(ja));
        CHECK_STR(ja, en);
    }
}

static void japanese_is_translated(void)
{
    for (int id = 0; id < XB_MSG__COUNT; id++) {
        const char *ja = xb_msg_table_ja[id];
        int non_ascii = 0;
        for (const unsigned char *p = (const unsigned char *)(ja ? ja : ""); *p; p++)
            non_ascii |= *p >= 0x80;
        CHECK(non_ascii);
    }
}

static void language_selection(void)
{
    CHECK(xb_lang_from_tag("ja_JP.UTF-8") == XB_LANG_JA);
    CHECK(xb_lang_from_tag("ja-JP") == XB_LANG_JA);
    CHECK(xb_lang_from_tag("ja") == XB_LANG_JA);
    CHECK(xb_lang_from_tag("jav") == XB_LANG_EN);
    CHECK(xb_lang_from_tag("en_US.UTF-8") == XB_LANG_EN);
    CHECK(xb_lang_from_tag("C") == XB_LANG_EN);
    CHECK(xb_lang_from_tag(NULL) == XB_LANG_EN);

    char buf[256];
    xb_msg_set_lang(XB_LANG_JA);
    xb_msg_format(buf, sizeof(buf), XB_MSG_SIGNIN_DONE, "a@b.jp");
    CHECK(strstr(buf, "a@b.jp") != NULL && strstr(buf, "サインイン") != NULL);
    xb_msg_set_lang(XB_LANG_EN);
    xb_msg_format(buf, sizeof(buf), XB_MSG_SIGNIN_DONE, "a@b.jp");
    CHECK_STR(buf, "Signed in: a@b.jp.");
    CHECK_STR(xb_lang_code(XB_LANG_JA), "ja");
}

XBTEST_MAIN(XBTEST(every_message_in_every_language), XBTEST(same_conversions),
            XBTEST(japanese_is_translated), XBTEST(language_selection))
