/*
 * Files on POSIX: whole-file read with a size limit, atomic replace (temporary file
 * made 0600 next to the target, fsync, rename, fsync of the directory) and mkdir -p
 * with owner-only directories.
 */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/readall.h"

#define TMP_SUFFIX_MAX 32   /* ".tmp-" and 16 hex digits, with room to spare */
#define TMP_ATTEMPTS   8

static enum xb_err err_from_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return XB_ERR_NOTFOUND;
    case ENOMEM:
        return XB_ERR_NOMEM;
    case ENAMETOOLONG:
        return XB_ERR_RANGE;
    default:
        return XB_ERR_IO;
    }
}

static void close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

static long read_fd(void *ctx, void *buf, size_t want)
{
    for (;;) {
        ssize_t n = read(*(int *)ctx, buf, want);
        if (n >= 0 || errno != EINTR)
            return (long)n;
    }
}

enum xb_err xb_plat_file_read(const char *path, unsigned char **data, size_t *len, size_t max)
{
    enum xb_err rc;
    struct stat st;

    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_from_errno(errno);
    if (fstat(fd, &st) != 0)
        rc = XB_ERR_IO;
    else if (!S_ISREG(st.st_mode))
        rc = XB_ERR_INVAL;
    else if (st.st_size < 0)
        rc = XB_ERR_RANGE;
    else
        rc = xb_read_all(path, (uint64_t)st.st_size, max, read_fd, &fd, data, len);
    close_keep_errno(fd);
    return rc;
}

/* The directory part of path ("." when there is none); caller frees. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xb_strdup(".");
    if (slash == path)
        return xb_strdup("/");
    return xb_strndup(path, (size_t)(slash - path));
}

static enum xb_err write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == ENOSPC || errno == EDQUOT ? XB_ERR_RANGE : XB_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return XB_OK;
}

/* Makes the rename durable. Some file systems cannot fsync a directory (EINVAL);
 * the rename has happened by then, so that is only worth a debug line. */
static enum xb_err sync_dir(const char *path)
{
    enum xb_err rc = XB_OK;
    char *dir = dir_of(path);
    if (!dir)
        return XB_ERR_NOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        xb_log_warn("cannot open directory %s to flush it: %s", dir, strerror(errno));
        rc = XB_ERR_IO;
        goto out;
    }
    if (fsync(fd) != 0) {
        if (errno == EINVAL || errno == ENOTSUP) {
            xb_log_debug("directory %s cannot be flushed here: %s", dir, strerror(errno));
        } else {
            xb_log_warn("flushing directory %s failed: %s", dir, strerror(errno));
            rc = XB_ERR_IO;
        }
    }
    close(fd);
out:
    xb_free(dir);
    return rc;
}

/* Creates a new, empty, owner-only file next to path with a random name. */
static enum xb_err make_temp(const char *path, char **tmp_out, int *fd_out)
{
    static const char hex[] = "0123456789abcdef";
    size_t plen = strlen(path);
    char *tmp = NULL;
    enum xb_err rc;

    if (plen > SIZE_MAX - TMP_SUFFIX_MAX)
        return XB_ERR_RANGE;
    tmp = xb_new_array(char, plen + TMP_SUFFIX_MAX);
    if (!tmp)
        return XB_ERR_NOMEM;
    for (int attempt = 0; attempt < TMP_ATTEMPTS; attempt++) {
        unsigned char rnd[8];
        char suffix[2 * sizeof(rnd) + 1];
        rc = xb_plat_random(rnd, sizeof(rnd));
        if (rc != XB_OK)
            goto out;
        for (size_t i = 0; i < sizeof(rnd); i++) {
            suffix[2 * i] = hex[rnd[i] >> 4];
            suffix[2 * i + 1] = hex[rnd[i] & 15];
        }
        suffix[sizeof(suffix) - 1] = '\0';
        snprintf(tmp, plen + TMP_SUFFIX_MAX, "%s.tmp-%s", path, suffix);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                      S_IRUSR | S_IWUSR);
        if (fd >= 0) {
            *tmp_out = tmp;
            *fd_out = fd;
            return XB_OK;
        }
        if (errno != EEXIST) {
            xb_log_warn("cannot create a temporary file next to %s: %s", path, strerror(errno));
            rc = err_from_errno(errno);
            goto out;
        }
    }
    rc = XB_ERR_IO;
out:
    xb_free(tmp);
    return rc;
}

enum xb_err xb_plat_file_replace(const char *path, const void *data, size_t len)
{
    enum xb_err rc;
    char *tmp = NULL;
    int fd = -1;

    rc = make_temp(path, &tmp, &fd);
    if (rc != XB_OK)
        return rc;
    rc = write_all(fd, data, len);
    if (rc != XB_OK) {
        xb_log_warn("writing %s failed: %s", tmp, strerror(errno));
        goto out;
    }
    if (fsync(fd) != 0) {
        xb_log_warn("flushing %s failed: %s", tmp, strerror(errno));
        rc = XB_ERR_IO;
        goto out;
    }
    int closed = close(fd);
    fd = -1;
    if (closed != 0) {
        xb_log_warn("closing %s failed: %s", tmp, strerror(errno));
        rc = XB_ERR_IO;
        goto out;
    }
    if (rename(tmp, path) != 0) {
        xb_log_warn("renaming %s to %s failed: %s", tmp, path, strerror(errno));
        rc = err_from_errno(errno);
        goto out;
    }
    xb_free(tmp);
    tmp = NULL;
    rc = sync_dir(path);
out:
    if (fd >= 0)
        close_keep_errno(fd);
    if (tmp) {
        unlink(tmp);
        xb_free(tmp);
    }
    return rc;
}

/* mkdir of one level; an existing directory is fine, anything else in the way is not. */
static enum xb_err mkdir_one(const char *path)
{
    struct stat st;
    if (mkdir(path, S_IRWXU) == 0)
        return XB_OK;
    int e = errno;
    if (e == EEXIST || e == EACCES || e == EROFS || e == EPERM) {
        /* EACCES/EROFS on an existing parent (such as /home) is not a failure. */
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                return XB_OK;
            xb_log_error("%s exists and is not a directory", path);
            return XB_ERR_IO;
        }
    }
    xb_log_error("cannot create directory %s: %s", path, strerror(e));
    return err_from_errno(e);
}

enum xb_err xb_plat_mkdir_private(const char *path)
{
    enum xb_err rc = XB_OK;
    struct stat st;
    size_t len = strlen(path);
    char *copy;

    if (len == 0)
        return XB_ERR_INVAL;
    copy = xb_strdup(path);
    if (!copy)
        return XB_ERR_NOMEM;
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    for (size_t i = 1; i < len; i++) {
        if (copy[i] != '/' || copy[i - 1] == '/')
            continue;
        copy[i] = '\0';
        rc = mkdir_one(copy);
        copy[i] = '/';
        if (rc != XB_OK)
            goto out;
    }
    rc = mkdir_one(copy);
    if (rc != XB_OK)
        goto out;
    /* An existing directory keeps its mode (it may be one a person chose), but one
     * that others can enter is worth a warning: the sealed files are 0600 anyway. */
    if (stat(copy, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        xb_log_warn("directory %s is accessible to other users (mode %03o)", copy,
                    (unsigned)(st.st_mode & 0777));
out:
    xb_free(copy);
    return rc;
}

enum xb_err xb_plat_file_stamp(const char *path, struct xb_file_stamp *out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? XB_ERR_NOTFOUND : XB_ERR_IO;
    out->size = (uint64_t)st.st_size;
    out->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
    out->id = (uint64_t)st.st_ino;
    return XB_OK;
}

/* --- the store's lock ------------------------------------------------------------------- */

struct xb_plat_lock {
    int fd;
};

enum xb_err xb_plat_lock_take(const char *path, unsigned wait_ms, struct xb_plat_lock **out)
{
    *out = NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno == ENOENT ? XB_ERR_NOTFOUND : XB_ERR_IO;
    /* flock: held by the open file, released when it closes or the process dies. */
    for (unsigned waited = 0;; waited += 50) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK || waited >= wait_ms) {
            int e = errno;
            close(fd);
            return e == EWOULDBLOCK ? XB_ERR_CONFLICT : XB_ERR_IO;
        }
        usleep(50 * 1000);
    }
    struct xb_plat_lock *lk = xb_new(struct xb_plat_lock);
    if (!lk) {
        close(fd);
        return XB_ERR_NOMEM;
    }
    lk->fd = fd;
    *out = lk;
    return XB_OK;
}

void xb_plat_lock_free(struct xb_plat_lock *lk)
{
    if (!lk)
        return;
    close(lk->fd);
    xb_free(lk);
}

FILE *xb_plat_log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                  0600);
    if (fd < 0)
        return NULL;
    (void)fchmod(fd, 0600); /* a log file made by an older version may be wider */
    FILE *f = fdopen(fd, "a");
    if (!f)
        close(fd);
    return f;
}
