/*
 * Every text a user reads comes from one message table per language (msg_en.c,
 * msg_ja.c); the language follows the user's UI language and falls back to English.
 * Messages with arguments use printf conversions, the same ones in every language.
 */
#ifndef XB_MSG_H
#define XB_MSG_H

#include <stddef.h>
#include <stdio.h>

enum xb_msg_id {
    XB_MSG_SIGNIN_PAGE_TITLE,      /* title of the loopback result page */
    XB_MSG_SIGNIN_OK_HEAD,
    XB_MSG_SIGNIN_OK_BODY,         /* %s: the account */
    XB_MSG_SIGNIN_FAIL_HEAD,
    XB_MSG_SIGNIN_FAIL_BODY,       /* %s: why (English detail from the server or the proxy) */
    XB_MSG_SIGNIN_WRONG_LINK,      /* a request that is not the awaited redirect */
    XB_MSG_SIGNIN_DENIED,          /* the user declined on the consent page */
    XB_MSG_SIGNIN_WRONG_ACCOUNT,   /* %s: who signed in, %s: the account, %s: the account */
    XB_MSG_SIGNIN_WRONG_DOMAIN,    /* %s: who signed in, %s: the Workspace domain */
    XB_MSG_SIGNIN_TIMEOUT,         /* %u: minutes */
    XB_MSG_SIGNIN_OPENING,         /* CLI: %s: the account */
    XB_MSG_SIGNIN_VISIT,           /* CLI: %s: the URL, if the browser did not open */
    XB_MSG_SIGNIN_DONE,            /* CLI: %s: the account */
    XB_MSG_SIGNIN_FAILED,          /* CLI: %s: why */
    XB_MSG_SECRET_SHOWN_ONCE,      /* CLI: %s: the account */
    XB_MSG_LOGOUT_DONE,            /* CLI: %s: the account */
    XB_MSG_LOGOUT_REVOKE_FAILED,   /* CLI: %s: why */
    XB_MSG_TESTING_EXPIRY,         /* the 7-day expiry of Google clients in Testing status */
    /* Notifications (tray balloons; log lines on the console). %s: the account. */
    XB_MSG_NOTE_SIGNIN_NEEDED,     /* %s */
    XB_MSG_NOTE_TESTING_EXPIRY,    /* %s */
    XB_MSG_NOTE_OUTLOOK_FAILURE,   /* %s */
    XB_MSG_NOTE_SIGNIN_DONE,       /* %s */
    XB_MSG_NOTE_OUTLOOK_BRIDGED,   /* %s */
    XB_MSG_NOTE_SIGNIN_FAILED,     /* %s: the account, %s: why (English detail) */
    XB_MSG_NOTE_PROBLEM,           /* %s: what is wrong (English detail) */
    XB_MSG_NOTE_UNTRUSTED,         /* %s: the server, %s: why (English), %s: the server */
    XB_MSG_NOTE_WRONG_PASSWORD,    /* %s: the account */
    XB_MSG_NOTE_RECENT_MODE,       /* %s: the account */
    XB_MSG_NOTE_RESTART_OUTLOOK,
    XB_MSG_NOTE_PORTS_TAKEN,       /* %s: which port, held by what (English detail) */
    XB_MSG_NOTE_ALREADY_RUNNING,
    XB_MSG_NOTE_WEB_PROXY,         /* %s: why, naming the proxy (English detail) */
    XB_MSG_TITLE_SIGNIN_NEEDED,    /* balloon titles, one per notification kind */
    XB_MSG_TITLE_TESTING_EXPIRY,
    XB_MSG_TITLE_OUTLOOK_FAILURE,
    XB_MSG_TITLE_SIGNIN_DONE,
    XB_MSG_TITLE_OUTLOOK_BRIDGED,
    XB_MSG_TITLE_SIGNIN_FAILED,
    XB_MSG_TITLE_PROBLEM,
    XB_MSG_TITLE_UNTRUSTED,
    XB_MSG_TITLE_WRONG_PASSWORD,
    XB_MSG_TITLE_RECENT_MODE,
    XB_MSG_TITLE_RESTART_OUTLOOK,
    XB_MSG_TITLE_PORTS_TAKEN,
    XB_MSG_TITLE_WEB_PROXY,
    /* Tray icon tooltips (at most 127 characters). */
    XB_MSG_TIP_OK,
    XB_MSG_TIP_NO_ACCOUNTS,
    XB_MSG_TIP_ATTENTION,
    XB_MSG_TIP_ERROR,
    XB_MSG_TIP_PAUSED,
    /* Tray menu. */
    XB_MSG_MENU_ACCOUNT,           /* %s: the account, %s: its state (XB_MSG_STATE_*) */
    XB_MSG_MENU_NO_ACCOUNTS,
    XB_MSG_MENU_SIGNIN_AGAIN,
    XB_MSG_MENU_OPEN_LOG,
    XB_MSG_MENU_PAUSE,
    XB_MSG_MENU_RESUME,
    XB_MSG_MENU_ABOUT,
    XB_MSG_MENU_QUIT,
    XB_MSG_STATE_NEW,              /* account states in words */
    XB_MSG_STATE_OK,
    XB_MSG_STATE_NEEDS_SIGNIN,
    XB_MSG_STATE_TEMP_ERROR,
    XB_MSG_ABOUT_TEXT,             /* %s: the version, %s: the log file */
    XB_MSG_START_FAILED,           /* %s: why (the configuration error) */
    /* autostart verb (Windows). */
    XB_MSG_AUTOSTART_ON,
    XB_MSG_AUTOSTART_OFF,
    XB_MSG_AUTOSTART_MACHINE,      /* the MSI's HKLM Run entry is there too */
    XB_MSG_AUTOSTART_FAILED,       /* %s: why */
    XB_MSG__COUNT
};

enum xb_lang { XB_LANG_EN, XB_LANG_JA, XB_LANG__COUNT };

extern const char *const xb_msg_table_en[XB_MSG__COUNT];
extern const char *const xb_msg_table_ja[XB_MSG__COUNT];

/* "ja", "ja-JP", "ja_JP.UTF-8" -> Japanese; anything else English. */
enum xb_lang xb_lang_from_tag(const char *tag);
void xb_msg_set_lang(enum xb_lang lang);
enum xb_lang xb_msg_get_lang(void);
/* "en" / "ja", for HTML lang attributes. */
const char *xb_lang_code(enum xb_lang lang);

/* The text in the current language (English if that table lacks it). Never NULL. */
const char *xb_msg(enum xb_msg_id id);

/* Formats message id with the arguments its comment above names. The one place where a
 * table string is a format: the tables are checked to use the same conversions in every
 * language (tests/unit/test_msg.c). */
int xb_msg_format(char *buf, size_t size, enum xb_msg_id id, ...);
/* Prints it to f with a newline. */
void xb_msg_print(FILE *f, enum xb_msg_id id, ...);

#endif
