/* Scaffolding for the store tests: a fresh directory per test, whole-file helpers. */
#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#include <aclapi.h>
#else
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "core/mem.h"
#include "core/store.h"
#include "platform/platform.h"


/* snprintf whose result is checked: a test path that does not fit is a broken test. */
void join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size) {
        printf("Bail out! path too long: %s/%s\n", dir, name);
        exit(1);
    }
}

/* ---- test scaffolding: a fresh directory per test ----------------------------------- */

#ifdef _WIN32
static wchar_t *wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
    wchar_t *w = n > 0 ? calloc((size_t)n, sizeof(wchar_t)) : NULL;
    if (w)
        MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
    return w;
}

/* A new directory under GetTempPath (which honours TMP/TEMP). */
static int make_test_dir(char *out, size_t size)
{
    static unsigned counter;
    wchar_t wtmp[MAX_PATH + 1];
    char tmp[4 * MAX_PATH];
    DWORD n = GetTempPathW(MAX_PATH + 1, wtmp);
    if (n == 0 || n > MAX_PATH)
        return -1;
    if (!WideCharToMultiByte(CP_UTF8, 0, wtmp, -1, tmp, (int)sizeof(tmp), NULL, NULL))
        return -1;
    snprintf(out, size, "%sxbstore-%lu-%u-%lu", tmp, (unsigned long)GetCurrentProcessId(),
             counter++, (unsigned long)GetTickCount());
    wchar_t *w = wide(out);
    int ok = w && CreateDirectoryW(w, NULL);
    free(w);
    return ok ? 0 : -1;
}

/* 1 if path's DACL allows only this user and SYSTEM (and has an entry for the user),
 * 0 if it allows anyone else, -1 if it cannot be read. (Wine does not keep the
 * "protected" flag, so the entries are what is checked.) */
int dacl_owner_only(const char *path)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    HANDLE token = NULL;
    unsigned char userbuf[256];
    DWORD size = 0;
    int result = -1, saw_user = 0;
    wchar_t *w = wide(path);

    if (!w || GetNamedSecurityInfoW(w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL,
                                    &dacl, NULL, &sd) != ERROR_SUCCESS || !dacl)
        goto out;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token) ||
        !GetTokenInformation(token, TokenUser, userbuf, sizeof(userbuf), &size))
        goto out;
    PSID user = ((TOKEN_USER *)(void *)userbuf)->User.Sid;
    result = 1;
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *hdr = NULL;
        if (!GetAce(dacl, i, (void **)&hdr) || hdr->AceType != ACCESS_ALLOWED_ACE_TYPE) {
            result = 0;
            continue;
        }
        PSID sid = (PSID)&((ACCESS_ALLOWED_ACE *)hdr)->SidStart;
        if (EqualSid(sid, user))
            saw_user = 1;
        else if (!IsWellKnownSid(sid, WinLocalSystemSid))
            result = 0;
    }
    if (!saw_user)
        result = 0;
out:
    if (token)
        CloseHandle(token);
    if (sd)
        LocalFree(sd);
    free(w);
    return result;
}

static void remove_tree(const char *dir)
{
    char pattern[PATH_MAX_TEST], child[PATH_MAX_TEST];
    snprintf(pattern, sizeof(pattern), "%s\\*", dir);
    wchar_t *wp = wide(pattern);
    WIN32_FIND_DATAW fd;
    HANDLE h = wp ? FindFirstFileW(wp, &fd) : INVALID_HANDLE_VALUE;
    free(wp);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            char name[4 * MAX_PATH];
            if (!wcscmp(fd.cFileName, L".") || !wcscmp(fd.cFileName, L".."))
                continue;
            WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, (int)sizeof(name), NULL,
                                NULL);
            join(child, sizeof(child), dir, name);
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
                remove_tree(child);
            } else {
                wchar_t *wc = wide(child);
                if (wc)
                    DeleteFileW(wc);
                free(wc);
            }
        } while (FindNextFileW(h, &fd));
        FindClose(h);
    }
    wchar_t *wd = wide(dir);
    if (wd)
        RemoveDirectoryW(wd);
    free(wd);
}

int count_entries(const char *dir)
{
    char pattern[PATH_MAX_TEST];
    int n = 0;
    snprintf(pattern, sizeof(pattern), "%s\\*", dir);
    wchar_t *wp = wide(pattern);
    WIN32_FIND_DATAW fd;
    HANDLE h = wp ? FindFirstFileW(wp, &fd) : INVALID_HANDLE_VALUE;
    free(wp);
    if (h == INVALID_HANDLE_VALUE)
        return -1;
    do {
        if (wcscmp(fd.cFileName, L".") && wcscmp(fd.cFileName, L".."))
            n++;
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    return n;
}
#else
static int make_test_dir(char *out, size_t size)
{
    const char *base = getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    snprintf(out, size, "%s/xbstore-XXXXXX", base);
    return mkdtemp(out) ? 0 : -1;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char child[PATH_MAX_TEST];
        while ((e = readdir(d)) != NULL) {
            struct stat st;
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            join(child, sizeof(child), dir, e->d_name);
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(child);
            else
                unlink(child);
        }
        closedir(d);
    }
    rmdir(dir);
}

int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    }
    closedir(d);
    return n;
}

unsigned mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffffu;
}
#endif

char test_dir[PATH_MAX_TEST];

int setup(void)
{
    if (make_test_dir(test_dir, sizeof(test_dir)) != 0) {
        printf("#   cannot make a test directory\n");
        return -1;
    }
    return 0;
}

void teardown(void)
{
    remove_tree(test_dir);
}

void in_dir(char *out, size_t size, const char *name)
{
    join(out, size, test_dir, name);
}

void store_path(char *out, size_t size)
{
    in_dir(out, size, XB_STORE_FILE);
}

/* Whole file into a new buffer, or NULL. */
unsigned char *slurp(const char *path, size_t *len)
{
    unsigned char *data = NULL;
    if (xb_plat_file_read(path, &data, len, 16u << 20) != XB_OK)
        return NULL;
    return data;
}

/* Writes bytes in place (not through the code under test). */
int spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = len ? fwrite(data, 1, len, f) : 0;
    return fclose(f) == 0 && n == len ? 0 : -1;
}

int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

int has_bytes(const unsigned char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    }
    return 0;
}

