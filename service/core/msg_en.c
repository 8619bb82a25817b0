/* English messages. Keep the printf conversions identical in every language. */
#include "core/msg.h"

const char *const xb_msg_table_en[XB_MSG__COUNT] = {
    [XB_MSG_SIGNIN_PAGE_TITLE] = "XOAuth Bridge sign-in",
    [XB_MSG_SIGNIN_OK_HEAD] = "You are signed in",
    [XB_MSG_SIGNIN_OK_BODY] = "XOAuth Bridge can now fetch and send mail for %s. "
                              "You can close this tab and go back to your mail program.",
    [XB_MSG_SIGNIN_FAIL_HEAD] = "Sign-in did not work",
    [XB_MSG_SIGNIN_FAIL_BODY] = "XOAuth Bridge could not finish the sign-in: %s. "
                                "Close this tab and try again from XOAuth Bridge.",
    [XB_MSG_SIGNIN_WRONG_LINK] = "This is not the sign-in XOAuth Bridge is waiting for. "
                                 "Close this tab and start the sign-in again.",
    [XB_MSG_SIGNIN_DENIED] = "access was not granted on the consent page",
    [XB_MSG_SIGNIN_WRONG_ACCOUNT] = "You signed in as %s, but this account is %s. Sign in again "
                                    "and choose %s.",
    [XB_MSG_SIGNIN_WRONG_DOMAIN] = "You signed in as %s, which is not an account of %s. Sign in "
                                   "again with your account of %s.",
    [XB_MSG_SIGNIN_TIMEOUT] = "no sign-in arrived within %u minutes (was the browser closed?)",
    [XB_MSG_SIGNIN_OPENING] = "Opening your browser to sign in %s ...",
    [XB_MSG_SIGNIN_VISIT] = "If no browser opened, visit this address: %s",
    [XB_MSG_SIGNIN_DONE] = "Signed in: %s.",
    [XB_MSG_SIGNIN_FAILED] = "Sign-in failed: %s",
    [XB_MSG_SECRET_SHOWN_ONCE] = "Local password for %s (shown only now; use it in your mail "
                                 "program with server 127.0.0.1):",
    [XB_MSG_LOGOUT_DONE] = "Signed out: %s. Its tokens are revoked and deleted.",
    [XB_MSG_LOGOUT_REVOKE_FAILED] = "The provider did not confirm the revocation (%s); "
                                    "the tokens were deleted here anyway.",
    [XB_MSG_TESTING_EXPIRY] = "Google ends sign-ins of OAuth clients in \"Testing\" status after "
                              "7 days: your administrator should publish the app or make it "
                              "Internal",
    [XB_MSG_NOTE_SIGNIN_NEEDED] = "%s needs you to sign in again. Click here to sign in.",
    [XB_MSG_NOTE_TESTING_EXPIRY] = "%s was signed out after 7 days because your organisation's "
                                   "Google app is still in \"Testing\". Click here to sign in "
                                   "again, and tell your administrator.",
    [XB_MSG_NOTE_OUTLOOK_FAILURE] = "Outlook could not sign in to %s. Click here to sign in with "
                                    "Google and fix it.",
    [XB_MSG_NOTE_SIGNIN_DONE] = "%s is signed in. Mail works again.",
    [XB_MSG_NOTE_OUTLOOK_BRIDGED] = "Outlook's account %s now signs in through XOAuth Bridge. "
                                    "Close and reopen Outlook to finish.",
    [XB_MSG_NOTE_SIGNIN_FAILED] = "Signing in %s did not work: %s. Click here to try again.",
    [XB_MSG_NOTE_PROBLEM] = "XOAuth Bridge cannot work: %s. The log has the details.",
    [XB_MSG_NOTE_UNTRUSTED] = "XOAuth Bridge did not connect to %s: this computer does not "
                              "trust the certificate it presented (%s). Mail waits until this "
                              "is fixed. Tell your IT department that XOAuth Bridge must reach "
                              "%s without TLS inspection, or with the inspection's root "
                              "certificate trusted by Windows.",
    [XB_MSG_NOTE_WRONG_PASSWORD] = "A mail program sent a wrong password for %s. XOAuth Bridge "
                                   "manages this account's password: if Outlook asks for one, "
                                   "do not type your Google password, press Cancel. The "
                                   "add-in puts the right password back by itself.",
    [XB_MSG_NOTE_RECENT_MODE] = "Gmail did not accept \"recent mode\" (recent:%s) with "
                                "XOAuth Bridge's sign-in, so this computer now downloads POP "
                                "mail in normal mode: mail that another computer has already "
                                "downloaded is not offered here again.",
    [XB_MSG_NOTE_RESTART_OUTLOOK] = "Outlook uses XOAuth Bridge from its next start. Click here "
                                    "to restart Outlook now (it asks about unsaved drafts "
                                    "first), or close this notice and restart it later.",
    [XB_MSG_NOTE_PORTS_TAKEN] = "Another program took the ports XOAuth Bridge used (%s). XOAuth "
                                "Bridge now uses other ports, and Outlook is pointed at them "
                                "when it next starts. If that program is not yours, tell your "
                                "IT department.",
    [XB_MSG_NOTE_ALREADY_RUNNING] = "XOAuth Bridge is already running. Its icon is in the "
                                    "notification area.",
    [XB_MSG_NOTE_WEB_PROXY] = "XOAuth Bridge cannot reach the sign-in server: %s. Mail waits "
                              "until this is fixed: tell your IT department that XOAuth Bridge "
                              "must reach the sign-in server through this web proxy, or be "
                              "given another one (web_proxy).",
    [XB_MSG_TITLE_SIGNIN_NEEDED] = "Sign-in needed",
    [XB_MSG_TITLE_TESTING_EXPIRY] = "Signed out after 7 days",
    [XB_MSG_TITLE_OUTLOOK_FAILURE] = "Outlook cannot sign in",
    [XB_MSG_TITLE_SIGNIN_DONE] = "Signed in",
    [XB_MSG_TITLE_OUTLOOK_BRIDGED] = "Restart Outlook",
    [XB_MSG_TITLE_SIGNIN_FAILED] = "Sign-in did not work",
    [XB_MSG_TITLE_PROBLEM] = "XOAuth Bridge has a problem",
    [XB_MSG_TITLE_UNTRUSTED] = "Secure connection refused",
    [XB_MSG_TITLE_WRONG_PASSWORD] = "Do not type your Google password",
    [XB_MSG_TITLE_RECENT_MODE] = "POP recent mode is off",
    [XB_MSG_TITLE_RESTART_OUTLOOK] = "Restart Outlook now?",
    [XB_MSG_TITLE_PORTS_TAKEN] = "XOAuth Bridge's ports were taken",
    [XB_MSG_TITLE_WEB_PROXY] = "The web proxy blocks XOAuth Bridge",
    [XB_MSG_TIP_OK] = "XOAuth Bridge: mail is working",
    [XB_MSG_TIP_NO_ACCOUNTS] = "XOAuth Bridge: no accounts yet",
    [XB_MSG_TIP_ATTENTION] = "XOAuth Bridge: an account needs you",
    [XB_MSG_TIP_ERROR] = "XOAuth Bridge: something is wrong",
    [XB_MSG_TIP_PAUSED] = "XOAuth Bridge: paused",
    [XB_MSG_MENU_ACCOUNT] = "%s: %s",
    [XB_MSG_MENU_NO_ACCOUNTS] = "No accounts yet",
    [XB_MSG_MENU_SIGNIN_AGAIN] = "Sign in again",
    [XB_MSG_MENU_OPEN_LOG] = "Open log",
    [XB_MSG_MENU_PAUSE] = "Pause",
    [XB_MSG_MENU_RESUME] = "Resume",
    [XB_MSG_MENU_ABOUT] = "About XOAuth Bridge",
    [XB_MSG_MENU_QUIT] = "Quit",
    [XB_MSG_STATE_NEW] = "not signed in yet",
    [XB_MSG_STATE_OK] = "working",
    [XB_MSG_STATE_NEEDS_SIGNIN] = "sign-in needed",
    [XB_MSG_STATE_TEMP_ERROR] = "temporary problem",
    [XB_MSG_ABOUT_TEXT] = "XOAuth Bridge %s\n\nLets Outlook and other mail programs use Gmail "
                          "and Google Workspace with OAuth2, without the Google password ever "
                          "being typed into them.\n\nLog: %s",
    [XB_MSG_START_FAILED] = "XOAuth Bridge cannot start:\n\n%s",
    [XB_MSG_AUTOSTART_ON] = "XOAuth Bridge now starts when you sign in to Windows.",
    [XB_MSG_AUTOSTART_OFF] = "XOAuth Bridge no longer starts for you when you sign in to Windows.",
    [XB_MSG_AUTOSTART_MACHINE] = "Its installation also starts it for every user of this "
                                 "computer; only an administrator can change that.",
    [XB_MSG_AUTOSTART_FAILED] = "Cannot change the autostart setting: %s",
};
