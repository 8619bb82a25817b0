/*
 * The control channel's listening end on POSIX: a Unix stream socket (0600) in a
 * private directory (0700), named by xb_ctl_endpoint_name (ctlclient.c). A socket left
 * by a companion that died is replaced; one that answers means another companion runs,
 * and this one refuses to start. Every connection's peer uid is checked with
 * SO_PEERCRED: only this user's processes are served.
 */
#define _GNU_SOURCE 1   /* struct ucred */

#include "platform/platform.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "platform/ctlclient.h"
#include "core/log.h"
#include "core/mem.h"

#define CTL_BACKLOG 16

struct xb_plat_ctl {
    struct evconnlistener *lev;
    xb_plat_ctl_accept_fn *cb;
    void *arg;
    dev_t dev;                   /* the socket file we made, to remove only that one */
    ino_t ino;
    char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
};

/* The directory must be ours and closed to others: $XDG_RUNTIME_DIR is made so by the
 * system (and is refused otherwise); our own state directory is made or tightened. */
static enum xb_err prepare_dir(const char *path, char **errmsg)
{
    char dir[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return XB_ERR_INVAL;
    *slash = '\0';
    const char *run = getenv("XDG_RUNTIME_DIR");
    bool runtime = run && run[0] == '/' && strcmp(run, dir) == 0;
    if (!runtime && xb_plat_mkdir_private(dir) != XB_OK) {
        xb_errmsg(errmsg, "cannot create the directory %s for the control socket", dir);
        return XB_ERR_IO;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
        xb_errmsg(errmsg, "the directory %s for the control socket is missing or not "
                "owned by this user", dir);
        return XB_ERR_IO;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        if (runtime || chmod(dir, S_IRWXU) != 0) {
            xb_errmsg(errmsg, "the directory %s for the control socket is open to other "
                    "users; it must be private (0700)", dir);
            return XB_ERR_IO;
        }
    }
    return XB_OK;
}

/* A socket at path: another companion if it answers, a leftover if it does not. */
static enum xb_err check_existing(const char *path, char **errmsg)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? XB_OK : XB_ERR_IO;
    if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
        xb_errmsg(errmsg, "%s exists and is not this user's control socket; not touching it",
                path);
        return XB_ERR_IO;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return XB_ERR_NET;
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    close(fd);
    if (r == 0 || e == EAGAIN) {
        xb_errmsg(errmsg, "another XOAuth Bridge companion of this user is running (it answers "
                "on %s); not starting a second one", path);
        return XB_ERR_IO;
    }
    if (e != ECONNREFUSED) {
        xb_errmsg(errmsg, "cannot check the control socket %s: %s", path, strerror(e));
        return XB_ERR_IO;
    }
    xb_log_info("removing the control socket %s left by a companion that ended", path);
    if (unlink(path) != 0 && errno != ENOENT) {
        xb_errmsg(errmsg, "cannot remove the old control socket %s: %s", path, strerror(errno));
        return XB_ERR_IO;
    }
    return XB_OK;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct xb_plat_ctl *ctl = arg;
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
        xb_log_warn("control channel: cannot tell who connected; refused");
        close(fd);
        return;
    }
    if (cred.uid != geteuid()) {
        xb_log_warn("control channel: refused a connection from uid %lu (pid %ld): only "
                    "this user's programs may connect", (unsigned long)cred.uid,
                    (long)cred.pid);
        close(fd);
        return;
    }
    ctl->cb(ctl->arg, (intptr_t)fd);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    xb_log_error("control channel: accept failed: %s", strerror(errno));
}

enum xb_err xb_plat_ctl_listen(struct event_base *base, xb_plat_ctl_accept_fn *cb, void *arg,
                               struct xb_plat_ctl **out, char **errmsg)
{
    struct xb_plat_ctl *ctl = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    enum xb_err err;
    int fd = -1;
    bool bound = false;

    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    ctl = xb_new(struct xb_plat_ctl);
    if (!ctl)
        return XB_ERR_NOMEM;
    ctl->cb = cb;
    ctl->arg = arg;
    err = xb_ctl_endpoint_name(ctl->path, sizeof(ctl->path));
    if (err != XB_OK) {
        xb_errmsg(errmsg, "no place for the control socket: %s",
                err == XB_ERR_INVAL  ? "XB_CTL_NAME is not a valid name"
                : err == XB_ERR_RANGE ? "the path is too long for a socket"
                                      : "neither XDG_RUNTIME_DIR nor HOME is set");
        goto out;
    }
    if ((err = prepare_dir(ctl->path, errmsg)) != XB_OK ||
        (err = check_existing(ctl->path, errmsg)) != XB_OK)
        goto out;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    err = XB_ERR_NET;
    if (fd < 0) {
        xb_errmsg(errmsg, "cannot make the control socket: %s", strerror(errno));
        goto out;
    }
    /* Born 0600: no moment when others could connect. */
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    umask(old);
    if (r != 0) {
        if (e == EADDRINUSE)
            xb_errmsg(errmsg, "another XOAuth Bridge companion of this user started at the "
                    "same time (%s is taken)", ctl->path);
        else
            xb_errmsg(errmsg, "cannot bind the control socket %s: %s", ctl->path, strerror(e));
        goto out;
    }
    bound = true;
    if (chmod(ctl->path, S_IRUSR | S_IWUSR) != 0 || lstat(ctl->path, &st) != 0 ||
        listen(fd, CTL_BACKLOG) != 0) {
        xb_errmsg(errmsg, "cannot listen on the control socket %s: %s", ctl->path,
                strerror(errno));
        goto out;
    }
    ctl->dev = st.st_dev;
    ctl->ino = st.st_ino;
    ctl->lev = evconnlistener_new(base, accept_cb, ctl,
                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!ctl->lev) {
        xb_errmsg(errmsg, "out of memory");
        err = XB_ERR_NOMEM;
        goto out;
    }
    fd = -1;
    evconnlistener_set_error_cb(ctl->lev, accept_error_cb);
    *out = ctl;
    ctl = NULL;
    err = XB_OK;
out:
    if (fd >= 0)
        close(fd);
    if (ctl) {
        if (bound)
            unlink(ctl->path);
        xb_free(ctl);
    }
    return err;
}

const char *xb_plat_ctl_name(const struct xb_plat_ctl *ctl)
{
    return ctl->path;
}

void xb_plat_ctl_close(struct xb_plat_ctl *ctl)
{
    struct stat st;
    if (!ctl)
        return;
    if (ctl->lev)
        evconnlistener_free(ctl->lev);
    /* Only the socket this process made: a later companion may have replaced it. */
    if (lstat(ctl->path, &st) == 0 && st.st_dev == ctl->dev && st.st_ino == ctl->ino)
        unlink(ctl->path);
    xb_free(ctl);
}
