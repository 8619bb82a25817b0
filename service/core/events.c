/* The events an administrator counts: see events.h. */
#include "core/events.h"

#include <stddef.h>

const struct xb_event_def xb_event_defs[] = {
    { XB_EV_ERROR, XB_LOG_ERROR, "error" },
    { XB_EV_WARNING_LINE, XB_LOG_WARN, "warning" },
    { XB_EV_INFO_LINE, XB_LOG_INFO, "information" },
    { XB_EV_STARTED, XB_LOG_INFO, "started" },
    { XB_EV_SIGNED_IN, XB_LOG_INFO, "signed-in" },
    { XB_EV_BRIDGED, XB_LOG_INFO, "bridged" },
    { XB_EV_RESTORED, XB_LOG_INFO, "restored" },
    { XB_EV_SIGNED_OUT, XB_LOG_INFO, "signed-out" },
    { XB_EV_RESTORED_ALL, XB_LOG_INFO, "restored-all-users" },
    { XB_EV_NEEDS_SIGNIN, XB_LOG_WARN, "needs-sign-in" },
    { XB_EV_TESTING_EXPIRY, XB_LOG_WARN, "testing-expiry" },
    { XB_EV_PORTS_MOVED, XB_LOG_WARN, "ports-moved" },
    { XB_EV_UNMATCHED, XB_LOG_WARN, "unmatched-refusal" },
    { XB_EV_WRONG_ACCOUNT, XB_LOG_WARN, "wrong-account" },
    { XB_EV_WRONG_PASSWORD, XB_LOG_WARN, "wrong-password" },
    { XB_EV_UNTRUSTED, XB_LOG_WARN, "untrusted-certificate" },
    { XB_EV_WEB_PROXY, XB_LOG_WARN, "web-proxy" },
    { XB_EV_CANNOT_START, XB_LOG_ERROR, "cannot-start" },
    { XB_EV_STORE_UNREADABLE, XB_LOG_ERROR, "store-unreadable" },
    { XB_EV_PROFILE_NOT_RESTORED, XB_LOG_ERROR, "profile-not-restored" },
};

const unsigned xb_event_count = sizeof(xb_event_defs) / sizeof(xb_event_defs[0]);

const struct xb_event_def *xb_event_def(unsigned id)
{
    for (unsigned i = 0; i < xb_event_count; i++) {
        if ((unsigned)xb_event_defs[i].id == id)
            return &xb_event_defs[i];
    }
    return NULL;
}
