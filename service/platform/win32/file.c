/*
 * Files on Windows: whole-file read with a size limit, atomic replace (temporary file
 * next to the target, FlushFileBuffers, MoveFileExW with write-through) and a
 * recursive CreateDirectoryW. Paths arrive in UTF-8 and go to the wide APIs.
 * What we create gets a protected DACL for this user (and SYSTEM) only, so it stays
 * private even in a directory whose inherited ACL is looser than %LOCALAPPDATA%'s.
 */
#include "platform/platform.h"

#include <stdbool.h>
#include <stdint.h>
#include <wchar.h>

#include <windows.h>
#include <sddl.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/readall.h"
#include "platform/win32/wide.h"

#define TMP_ATTEMPTS  8
#define MOVE_ATTEMPTS 5
#define MOVE_PAUSE_MS 40

static enum xb_err err_from_win(DWORD e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return XB_ERR_NOTFOUND;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return XB_ERR_NOMEM;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
    case ERROR_FILENAME_EXCED_RANGE:
        return XB_ERR_RANGE;
    default:
        return XB_ERR_IO;
    }
}

/* UTF-8 to a new wide string; extra is room for wide characters to append later. */
static enum xb_err to_wide(const char *s, size_t extra, wchar_t **out)
{
    /* Invalid UTF-8 is far likelier than running out of memory here. */
    *out = xb_win_to_wide(s, extra, true);
    return *out ? XB_OK : XB_ERR_INVAL;
}

/* A security descriptor granting full control to the current user and SYSTEM only,
 * not inheriting from the parent. Free *sd with LocalFree. */
static enum xb_err owner_only_sd(bool dir, PSECURITY_DESCRIPTOR *sd)
{
    enum xb_err rc = XB_ERR_IO;
    HANDLE token = NULL;
    TOKEN_USER *user = NULL;
    DWORD size = 0;
    wchar_t *sid = NULL;
    wchar_t *sddl = NULL;
    const wchar_t *ace = dir ? L"(A;OICI;FA;;;" : L"(A;;FA;;;";
    const wchar_t *sys = dir ? L")(A;OICI;FA;;;SY)" : L")(A;;FA;;;SY)";

    *sd = NULL;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
        goto out;
    GetTokenInformation(token, TokenUser, NULL, 0, &size);
    if (size == 0)
        goto out;
    user = xb_calloc_array(1, size);
    if (!user) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    if (!GetTokenInformation(token, TokenUser, user, size, &size))
        goto out;
    if (!ConvertSidToStringSidW(user->User.Sid, &sid))
        goto out;
    size_t n = wcslen(L"D:P") + wcslen(ace) + wcslen(sid) + wcslen(sys) + 1;
    sddl = xb_new_array(wchar_t, n);
    if (!sddl) {
        rc = XB_ERR_NOMEM;
        goto out;
    }
    wchar_t *p = sddl;
    const wchar_t *parts[] = { L"D:P", ace, sid, sys };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t len = wcslen(parts[i]);
        memcpy(p, parts[i], len * sizeof(wchar_t));
        p += len;
    }
    *p = L'\0';
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, sd, NULL))
        goto out;
    rc = XB_OK;
out:
    if (rc != XB_OK)
        xb_log_error("cannot build an owner-only security descriptor (error %lu)",
                     (unsigned long)GetLastError());
    if (sid)
        LocalFree(sid);
    xb_free(sddl);
    xb_free(user);
    if (token)
        CloseHandle(token);
    return rc;
}

static long read_handle(void *ctx, void *buf, size_t want)
{
    DWORD chunk = want > 0x40000000u ? 0x40000000u : (DWORD)want, got = 0;
    return ReadFile(*(HANDLE *)ctx, buf, chunk, &got, NULL) ? (long)got : -1;
}

enum xb_err xb_plat_file_read(const char *path, unsigned char **data, size_t *len, size_t max)
{
    enum xb_err rc;
    wchar_t *wpath = NULL;
    LARGE_INTEGER size;

    *data = NULL;
    *len = 0;
    rc = to_wide(path, 0, &wpath);
    if (rc != XB_OK)
        return rc;
    /* FILE_SHARE_DELETE lets a concurrent replace rename over the file we read. */
    HANDLE h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_SEQUENTIAL_SCAN, NULL);
    xb_free(wpath);
    if (h == INVALID_HANDLE_VALUE)
        return err_from_win(GetLastError());
    if (GetFileType(h) != FILE_TYPE_DISK)
        rc = XB_ERR_INVAL;
    else if (!GetFileSizeEx(h, &size))
        rc = XB_ERR_IO;
    else if (size.QuadPart < 0)
        rc = XB_ERR_RANGE;
    else
        rc = xb_read_all(path, (uint64_t)size.QuadPart, max, read_handle, &h, data, len);
    CloseHandle(h);
    return rc;
}

/* Creates a new, empty, private file next to the target with a random name. The
 * caller's wtmp has the target's name followed by room for ".tmp-" and 16 digits. */
static enum xb_err make_temp(const char *path, wchar_t *wtmp, size_t base, HANDLE *out)
{
    static const wchar_t hex[] = L"0123456789abcdef";
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, FALSE };
    enum xb_err rc = owner_only_sd(false, &sa.lpSecurityDescriptor);
    if (rc != XB_OK)
        return rc;
    rc = XB_ERR_IO;
    for (int attempt = 0; attempt < TMP_ATTEMPTS; attempt++) {
        unsigned char rnd[8];
        wchar_t *p = wtmp + base;
        rc = xb_plat_random(rnd, sizeof(rnd));
        if (rc != XB_OK)
            break;
        memcpy(p, L".tmp-", 5 * sizeof(wchar_t));
        p += 5;
        for (size_t i = 0; i < sizeof(rnd); i++) {
            *p++ = hex[rnd[i] >> 4];
            *p++ = hex[rnd[i] & 15];
        }
        *p = L'\0';
        HANDLE h = CreateFileW(wtmp, GENERIC_WRITE, 0, &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL,
                               NULL);
        if (h != INVALID_HANDLE_VALUE) {
            *out = h;
            rc = XB_OK;
            break;
        }
        DWORD e = GetLastError();
        rc = err_from_win(e);
        if (e != ERROR_FILE_EXISTS && e != ERROR_ALREADY_EXISTS) {
            xb_log_warn("cannot create a temporary file next to %s (error %lu)", path,
                        (unsigned long)e);
            break;
        }
    }
    LocalFree(sa.lpSecurityDescriptor);
    return rc;
}

enum xb_err xb_plat_file_replace(const char *path, const void *data, size_t len)
{
    enum xb_err rc;
    wchar_t *wpath = NULL, *wtmp = NULL;
    HANDLE h = INVALID_HANDLE_VALUE;
    const unsigned char *p = data;
    bool tmp_made = false;

    rc = to_wide(path, 0, &wpath);
    if (rc != XB_OK)
        return rc;
    size_t base = wcslen(wpath);
    rc = to_wide(path, 24, &wtmp);
    if (rc != XB_OK)
        goto out;
    rc = make_temp(path, wtmp, base, &h);
    if (rc != XB_OK)
        goto out;
    tmp_made = true;
    while (len > 0) {
        DWORD chunk = len > 0x40000000u ? 0x40000000u : (DWORD)len;
        DWORD done = 0;
        if (!WriteFile(h, p, chunk, &done, NULL) || done == 0) {
            DWORD e = GetLastError();
            xb_log_warn("writing a temporary file next to %s failed (error %lu)", path,
                        (unsigned long)e);
            rc = err_from_win(e);
            goto out;
        }
        p += done;
        len -= done;
    }
    if (!FlushFileBuffers(h)) {
        xb_log_warn("flushing a temporary file next to %s failed (error %lu)", path,
                    (unsigned long)GetLastError());
        rc = XB_ERR_IO;
        goto out;
    }
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    /* A virus scanner or indexer may hold the old file open for a moment. */
    BOOL moved = FALSE;
    DWORD e = 0;
    for (int attempt = 0; attempt < MOVE_ATTEMPTS && !moved; attempt++) {
        if (attempt)
            Sleep(MOVE_PAUSE_MS);
        moved = MoveFileExW(wtmp, wpath, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
        e = moved ? 0 : GetLastError();
        if (e != ERROR_ACCESS_DENIED && e != ERROR_SHARING_VIOLATION)
            break;
    }
    if (!moved) {
        xb_log_warn("replacing %s failed (error %lu)", path, (unsigned long)e);
        rc = err_from_win(e);
        goto out;
    }
    tmp_made = false;
    rc = XB_OK;
out:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (tmp_made)
        DeleteFileW(wtmp);
    xb_free(wtmp);
    xb_free(wpath);
    return rc;
}

static bool is_sep(wchar_t c)
{
    return c == L'\\' || c == L'/';
}

static enum xb_err mkdir_one(const char *path, const wchar_t *w, SECURITY_ATTRIBUTES *sa)
{
    if (CreateDirectoryW(w, sa))
        return XB_OK;
    DWORD e = GetLastError();
    DWORD attrs = GetFileAttributesW(w);
    if (attrs != INVALID_FILE_ATTRIBUTES) {
        if (attrs & FILE_ATTRIBUTE_DIRECTORY)
            return XB_OK;
        xb_log_error("cannot create directory %s: something that is not a directory is in "
                     "the way", path);
        return XB_ERR_IO;
    }
    xb_log_error("cannot create directory %s (error %lu)", path, (unsigned long)e);
    return err_from_win(e);
}

/* Index of the first character after the root ("C:\", "\\server\share\", "\\?\C:\"). */
static size_t root_len(const wchar_t *w, size_t len)
{
    size_t i = 0;
    if (len >= 4 && w[0] == L'\\' && w[1] == L'\\' && (w[2] == L'?' || w[2] == L'.') &&
        w[3] == L'\\')
        i = 4;
    if (len >= i + 2 && w[i + 1] == L':')
        return i + 2 < len && is_sep(w[i + 2]) ? i + 3 : i + 2;
    if (i == 0 && len >= 2 && is_sep(w[0]) && is_sep(w[1])) {
        /* UNC: skip server and share. */
        int seps = 0;
        for (i = 2; i < len; i++) {
            if (is_sep(w[i]) && ++seps == 2)
                return i + 1;
        }
        return len;
    }
    return i < len && is_sep(w[i]) ? i + 1 : i;
}

enum xb_err xb_plat_mkdir_private(const char *path)
{
    enum xb_err rc;
    wchar_t *w = NULL;
    SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, FALSE };

    if (!path[0])
        return XB_ERR_INVAL;
    rc = to_wide(path, 0, &w);
    if (rc != XB_OK)
        return rc;
    rc = owner_only_sd(true, &sa.lpSecurityDescriptor);
    if (rc != XB_OK)
        goto out;
    size_t len = wcslen(w);
    size_t root = root_len(w, len);
    while (len > root && is_sep(w[len - 1]))
        w[--len] = L'\0';
    for (size_t i = root + 1; i < len; i++) {
        if (!is_sep(w[i]) || is_sep(w[i - 1]))
            continue;
        wchar_t c = w[i];
        w[i] = L'\0';
        rc = mkdir_one(path, w, &sa);
        w[i] = c;
        if (rc != XB_OK)
            goto out;
    }
    rc = len > root ? mkdir_one(path, w, &sa) : XB_OK;
out:
    if (sa.lpSecurityDescriptor)
        LocalFree(sa.lpSecurityDescriptor);
    xb_free(w);
    return rc;
}

enum xb_err xb_plat_file_stamp(const char *path, struct xb_file_stamp *out)
{
    wchar_t *wpath = NULL;
    WIN32_FILE_ATTRIBUTE_DATA fa;
    enum xb_err rc = to_wide(path, 0, &wpath);
    if (rc != XB_OK)
        return rc;
    if (!GetFileAttributesExW(wpath, GetFileExInfoStandard, &fa)) {
        DWORD e = GetLastError();
        rc = e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ? XB_ERR_NOTFOUND : XB_ERR_IO;
    } else {
        out->size = ((uint64_t)fa.nFileSizeHigh << 32) | fa.nFileSizeLow;
        out->mtime_ns = (((uint64_t)fa.ftLastWriteTime.dwHighDateTime << 32) |
                         fa.ftLastWriteTime.dwLowDateTime) * 100u;
        /* A replaced file keeps no id of its own here; size and time tell it apart. */
        out->id = ((uint64_t)fa.ftCreationTime.dwHighDateTime << 32) |
                  fa.ftCreationTime.dwLowDateTime;
    }
    xb_free(wpath);
    return rc;
}

/* --- the store's lock ------------------------------------------------------------------- */

struct xb_plat_lock {
    HANDLE h;
};

enum xb_err xb_plat_lock_take(const char *path, unsigned wait_ms, struct xb_plat_lock **out)
{
    wchar_t *wpath = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    enum xb_err rc;
    *out = NULL;
    if ((rc = to_wide(path, 0, &wpath)) != XB_OK || (rc = owner_only_sd(false, &sd)) != XB_OK) {
        xb_free(wpath);
        return rc;
    }
    SECURITY_ATTRIBUTES sa = { sizeof(sa), sd, FALSE };
    HANDLE h = CreateFileW(wpath, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           &sa, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD e = GetLastError();
    LocalFree(sd);
    xb_free(wpath);
    if (h == INVALID_HANDLE_VALUE)
        return err_from_win(e);
    /* Held by the handle: released when it closes or the process ends. */
    for (unsigned waited = 0;; waited += 50) {
        OVERLAPPED ov = { 0 };
        if (LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov))
            break;
        e = GetLastError();
        if (e != ERROR_LOCK_VIOLATION || waited >= wait_ms) {
            CloseHandle(h);
            return e == ERROR_LOCK_VIOLATION ? XB_ERR_CONFLICT : err_from_win(e);
        }
        Sleep(50);
    }
    struct xb_plat_lock *lk = xb_new(struct xb_plat_lock);
    if (!lk) {
        CloseHandle(h);
        return XB_ERR_NOMEM;
    }
    lk->h = h;
    *out = lk;
    return XB_OK;
}

void xb_plat_lock_free(struct xb_plat_lock *lk)
{
    if (!lk)
        return;
    CloseHandle(lk->h);
    xb_free(lk);
}

FILE *xb_plat_log_open(const char *path)
{
    wchar_t *w = xb_win_wide(path);
    FILE *f = w ? _wfopen(w, L"a") : NULL;
    xb_free(w);
    return f;
}
