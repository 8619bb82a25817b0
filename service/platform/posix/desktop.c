#include "platform/platform.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

/* In the browser's process, before exec: it inherits no descriptor of ours beyond
 * 0, 1 and 2 (sockets, the store, the log), whatever their close-on-exec flags say, and
 * no secret from the environment. */
static void child_hygiene(void)
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < (int)max; fd++)
        close(fd);
    unsetenv("XB_STORE_PASSPHRASE");
}

/* Runs argv[0] with url, detached: a double fork so no zombie is left and the browser
 * outlives us if it likes. */
static enum xb_err spawn(const char *program, const char *url)
{
    pid_t pid = fork();
    if (pid < 0)
        return XB_ERR_IO;
    if (pid == 0) {
        if (fork() != 0)
            _exit(0);
        setsid();
        child_hygiene();
        execlp(program, program, url, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return XB_OK;
}

enum xb_err xb_plat_open_url(const char *command, const char *url)
{
    if (command && *command)
        return spawn(command, url);
    const char *env = getenv("BROWSER");
    if (env && *env)
        return spawn(env, url);
    return spawn("xdg-open", url);
}

const char *xb_plat_ui_language(void)
{
    static char tag[32];
    const char *names[] = { "LC_ALL", "LC_MESSAGES", "LANG" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = getenv(names[i]);
        if (!v || !*v)
            continue;
        /* "ja_JP.UTF-8" -> "ja-JP" */
        size_t n = strcspn(v, ".@");
        if (n >= sizeof(tag))
            n = sizeof(tag) - 1;
        for (size_t j = 0; j < n; j++)
            tag[j] = v[j] == '_' ? '-' : v[j];
        tag[n] = '\0';
        return tag;
    }
    return "en";
}
