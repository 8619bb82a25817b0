/*
 * Windows' rule for loopback clients (platform/peerrule.h): served only when the
 * client's process is proven to run as this user. Each fact the system may withhold is
 * withheld once; each must be a refusal with its reason (fail closed).
 */
#include <string.h>

#include "platform/peerrule.h"

#include "xbtest.h"

static void proven_only(void)
{
    char why[160];
    const struct xb_peer_facts mine = { .loopback = true, .pid = 4242, .opened = true,
                                        .token_read = true, .same_user = true };
    CHECK(xb_peer_rule(&mine, why, sizeof(why)) == 1);
    const struct xb_peer_facts self = { .loopback = true, .pid = 7, .self = true };
    CHECK(xb_peer_rule(&self, why, sizeof(why)) == 1);

    static const struct {
        struct xb_peer_facts f;
        const char *why;
    } refused[] = {
        { { .loopback = false, .pid = 4242, .opened = true, .token_read = true,
            .same_user = true }, "not a loopback connection" },
        { { .loopback = true, .pid = 0 }, "not in the system's connection table" },
        { { .loopback = true, .pid = 4242, .opened = false, .access_denied = true },
          "process 4242 belongs to another user" },
        { { .loopback = true, .pid = 4242, .opened = false, .error = 87 },
          "cannot look at process 4242 (error 87" },
        /* Opened (another user granted us query access on purpose) but its token cannot
         * be read: before, this counted as ours. */
        { { .loopback = true, .pid = 4242, .opened = true, .token_read = false },
          "cannot tell which user process 4242 runs as" },
        { { .loopback = true, .pid = 4242, .opened = true, .token_read = true,
            .same_user = false }, "process 4242 runs as another user" },
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        why[0] = '\0';
        CHECK(xb_peer_rule(&refused[i].f, why, sizeof(why)) == 0);
        CHECK(strstr(why, refused[i].why) != NULL);
    }
}

XBTEST_MAIN(XBTEST(proven_only))
