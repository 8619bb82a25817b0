/*
 * The hands of tests/windows/test_restore_users.py under Wine: other users' hives made
 * from this prefix's own HKCU, and a look into hives after `restore --all-users`.
 *
 *   hivetool bridge LAYOUT PROFILE EMAIL SECRET  bridges every POP3/IMAP account of that
 *                                                Outlook profile in HKCU as the add-in does
 *                                                (olbridge.c: saved copy, then rewrite)
 *   hivetool save FILE                           HKCU, whole, into a hive file (RegSaveKey)
 *   hivetool load NAME FILE | unload NAME        HKEY_USERS\NAME (RegLoadKey, RegUnLoadKey)
 *   hivetool dump KEY                            every value under KEY (HKCU\... or
 *                                                HKU\...), one line each:
 *                                                subkey TAB name TAB type TAB hex
 *   hivetool link KEY TARGET                     makes KEY (HKU\...) a registry link to TARGET
 *                                                (a kernel name: \Registry\Machine\...), as a
 *                                                user could plant in their own hive
 *   hivetool sleep SECONDS READY                 creates the file READY, then waits (copied
 *                                                as OUTLOOK.EXE: an Outlook that runs)
 *   hivetool restore-all-users DIR               restore_users.c's restore of every profile
 *                                                (the verb's very code), saving each hive
 *                                                into DIR\<SID>.hive before it is unloaded:
 *                                                Wine's RegUnLoadKey drops what was written
 *                                                to a loaded hive, so this is how a test sees
 *                                                it. Exit code as the verb's.
 *
 * Exit 0 on success, 2 when a key to dump is not there, 1 otherwise (stderr says why).
 */
#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "core/log.h"
#include "core/mem.h"
#include "platform/win32/olprofile.h"
#include "platform/win32/restore_users.h"

static int fail(const char *what, LONG rc)
{
    char text[300];
    xb_win_error_text(rc, text, sizeof(text));
    fprintf(stderr, "hivetool: %s: %s\n", what, text);
    return 1;
}

static LONG privileges(void)
{
    static const wchar_t *const names[2] = { SE_BACKUP_NAME, SE_RESTORE_NAME };
    HANDLE token;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token))
        return (LONG)GetLastError();
    LONG rc = ERROR_SUCCESS;
    for (int i = 0; i < 2 && rc == ERROR_SUCCESS; i++) {
        TOKEN_PRIVILEGES tp = { .PrivilegeCount = 1 };
        tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
        if (!LookupPrivilegeValueW(NULL, names[i], &tp.Privileges[0].Luid) ||
            !AdjustTokenPrivileges(token, FALSE, &tp, 0, NULL, NULL))
            rc = (LONG)GetLastError();
        else
            rc = (LONG)GetLastError(); /* ERROR_NOT_ALL_ASSIGNED */
    }
    CloseHandle(token);
    return rc;
}

/* --- bridge ----------------------------------------------------------------------------- */

struct bridging {
    const char *email, *secret;
    unsigned done, failed;
};

static void bridge_one(void *ctx, const struct xb_ol_account *a)
{
    struct bridging *b = ctx;
    struct xb_ol_endpoint ep = {
        .host = "127.0.0.1",
        .in_port = a->kind == XB_OL_POP3 ? 41110 : 41143,
        .smtp_port = 41587,
        .user = b->email,
        .secret = b->secret,
        .email = b->email,
        .provider = "google",
    };
    if (strcmp(a->server, "pop.gmail.com") != 0 && strcmp(a->server, "imap.gmail.com") != 0)
        return; /* like the add-in: Gmail accounts only */
    if (xb_ol_bridge(a, &ep) == XB_OK)
        b->done++;
    else
        b->failed++;
}

static enum xb_ol_layout layout_of(const wchar_t *name)
{
    if (wcscmp(name, L"2010") == 0)
        return XB_OL_2010;
    return wcscmp(name, L"2013") == 0 ? XB_OL_2013 : XB_OL_2016;
}

static int cmd_bridge(wchar_t **argv)
{
    char email[256], secret[256];
    WideCharToMultiByte(CP_UTF8, 0, argv[2], -1, email, sizeof(email), NULL, NULL);
    WideCharToMultiByte(CP_UTF8, 0, argv[3], -1, secret, sizeof(secret), NULL, NULL);
    struct bridging b = { email, secret, 0, 0 };
    xb_ol_scan(layout_of(argv[0]), argv[1], bridge_one, &b);
    printf("bridged %u, failed %u\n", b.done, b.failed);
    return b.failed || !b.done ? 1 : 0;
}

/* --- dump -------------------------------------------------------------------------------- */

static void dump_key(HKEY key, const wchar_t *sub)
{
    wchar_t name[16384], child[16384];
    static BYTE data[1 << 16];
    for (DWORD i = 0;; i++) {
        DWORD n = ARRAYSIZE(name), size = sizeof(data), type = 0;
        if (RegEnumValueW(key, i, name, &n, NULL, &type, data, &size) != ERROR_SUCCESS)
            break;
        printf("%ls\t%ls\t%lu\t", sub[0] ? sub : L".", name, (unsigned long)type);
        for (DWORD j = 0; j < size; j++)
            printf("%02x", data[j]);
        printf("\n");
    }
    for (DWORD i = 0;; i++) {
        DWORD n = ARRAYSIZE(name);
        if (RegEnumKeyExW(key, i, name, &n, NULL, NULL, NULL, NULL) != ERROR_SUCCESS)
            break;
        HKEY k;
        if (RegOpenKeyExW(key, name, 0, KEY_READ, &k) != ERROR_SUCCESS)
            continue;
        _snwprintf(child, ARRAYSIZE(child), sub[0] ? L"%ls\\%ls" : L"%ls%ls", sub, name);
        child[ARRAYSIZE(child) - 1] = L'\0';
        dump_key(k, child);
        RegCloseKey(k);
    }
}

static int cmd_dump(const wchar_t *path)
{
    HKEY root = NULL, key;
    if (_wcsnicmp(path, L"HKCU\\", 5) == 0)
        root = HKEY_CURRENT_USER;
    else if (_wcsnicmp(path, L"HKU\\", 4) == 0)
        root = HKEY_USERS;
    if (!root) {
        fprintf(stderr, "hivetool: dump HKCU\\... or HKU\\...\n");
        return 1;
    }
    LONG rc = RegOpenKeyExW(root, wcschr(path, L'\\') + 1, 0, KEY_READ, &key);
    if (rc == ERROR_FILE_NOT_FOUND)
        return 2;
    if (rc != ERROR_SUCCESS)
        return fail("open the key to dump", rc);
    dump_key(key, L"");
    RegCloseKey(key);
    return 0;
}

/* --- a registry link ------------------------------------------------------------------------ */

static int cmd_link(const wchar_t *path, const wchar_t *target)
{
    HKEY key;
    if (_wcsnicmp(path, L"HKU\\", 4) != 0) {
        fprintf(stderr, "hivetool: link HKU\\... TARGET\n");
        return 1;
    }
    LONG rc = RegCreateKeyExW(HKEY_USERS, path + 4, 0, NULL,
                              REG_OPTION_VOLATILE | REG_OPTION_CREATE_LINK,
                              KEY_ALL_ACCESS | KEY_CREATE_LINK, NULL, &key, NULL);
    if (rc != ERROR_SUCCESS)
        return fail("create the link key", rc);
    rc = RegSetValueExW(key, L"SymbolicLinkValue", 0, REG_LINK, (const BYTE *)target,
                        (DWORD)(wcslen(target) * sizeof(wchar_t)));
    RegCloseKey(key);
    return rc == ERROR_SUCCESS ? 0 : fail("point the link", rc);
}

/* --- restore-all-users with a look inside ------------------------------------------------ */

static const wchar_t *peek_dir;

static void peek(void *ctx, const struct xb_user_hive *h)
{
    (void)ctx;
    wchar_t file[MAX_PATH * 2];
    _snwprintf(file, ARRAYSIZE(file), L"%ls\\%ls.hive", peek_dir, h->sid);
    file[ARRAYSIZE(file) - 1] = L'\0';
    DeleteFileW(file);
    LONG rc = RegSaveKeyW(h->root, file, NULL);
    if (rc != ERROR_SUCCESS)
        fail("save a hive for the test to look into", rc);
}

static int cmd_restore_all_users(const wchar_t *dir)
{
    struct xb_restore_tally t;
    char *errmsg = NULL;
    peek_dir = dir;
    xb_log_set_level(XB_LOG_DEBUG);
    if (xb_win_restore_all_users(&t, peek, NULL, &errmsg) != XB_OK) {
        fprintf(stderr, "hivetool: %s\n", errmsg ? errmsg : "?");
        xb_free(errmsg);
        return 3;
    }
    printf("restored %u unchanged %u skipped %u failed %u accounts %u notback %u\n",
           t.profiles_restored, t.profiles_unchanged, t.profiles_skipped, t.profiles_failed,
           t.accounts_restored, t.accounts_failed);
    return t.profiles_failed ? 1 : 0;
}

int wmain(int argc, wchar_t **argv);

int wmain(int argc, wchar_t **argv)
{
    LONG rc;
    if (argc == 6 && wcscmp(argv[1], L"bridge") == 0)
        return cmd_bridge(argv + 2);
    if (argc == 3 && wcscmp(argv[1], L"dump") == 0)
        return cmd_dump(argv[2]);
    if (argc == 3 && wcscmp(argv[1], L"restore-all-users") == 0)
        return cmd_restore_all_users(argv[2]);
    if (argc == 4 && wcscmp(argv[1], L"link") == 0)
        return cmd_link(argv[2], argv[3]);
    if (argc == 4 && wcscmp(argv[1], L"sleep") == 0) {
        HANDLE f = CreateFileW(argv[3], GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
        if (f == INVALID_HANDLE_VALUE)
            return fail("create the ready file", (LONG)GetLastError());
        CloseHandle(f);
        Sleep((DWORD)wcstoul(argv[2], NULL, 10) * 1000);
        return 0;
    }
    if ((rc = privileges()) != ERROR_SUCCESS)
        return fail("enable SeBackupPrivilege and SeRestorePrivilege", rc);
    if (argc == 3 && wcscmp(argv[1], L"save") == 0) {
        DeleteFileW(argv[2]);
        rc = RegSaveKeyW(HKEY_CURRENT_USER, argv[2], NULL);
        return rc == ERROR_SUCCESS ? 0 : fail("save HKCU", rc);
    }
    if (argc == 4 && wcscmp(argv[1], L"load") == 0) {
        rc = RegLoadKeyW(HKEY_USERS, argv[2], argv[3]);
        return rc == ERROR_SUCCESS ? 0 : fail("load the hive", rc);
    }
    if (argc == 3 && wcscmp(argv[1], L"unload") == 0) {
        rc = RegUnLoadKeyW(HKEY_USERS, argv[2]);
        return rc == ERROR_SUCCESS ? 0 : fail("unload the hive", rc);
    }
    fprintf(stderr, "usage: hivetool bridge LAYOUT PROFILE EMAIL SECRET | save FILE | "
                    "load NAME FILE | unload NAME | dump KEY | restore-all-users DIR | link KEY TARGET | sleep SECONDS READY\n");
    return 1;
}
