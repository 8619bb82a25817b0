/* English messages. Keep the printf conversions identical in every language. */
#include "msg.h"

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
};
