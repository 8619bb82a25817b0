/*
 * The companion's side of Outlook: putting back what the add-in changed (RESTORE over
 * the pipe, `xoauthbridge restore`, uninstall; the work is olbridge.c's, shared with the
 * add-in), and starting Outlook again after a restart the person chose.
 */
#include "platform/platform.h"

#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "core/log.h"
#include "core/mem.h"
#include "platform/win32/olprofile.h"
#include "platform/win32/wide.h"

enum xb_err xb_plat_outlook_restore(const char *email, unsigned *restored, unsigned *failed)
{
    return xb_ol_restore_email(HKEY_CURRENT_USER, email, restored, failed, NULL, NULL);
}

/* --- restarting Outlook ------------------------------------------------------------------- */

struct relaunch {
    HANDLE process;                  /* SYNCHRONIZE on the Outlook that is to close */
    DWORD pid;
    DWORD wait_ms;
    wchar_t *program;
    wchar_t *cmdline;
};

/* The program name of a path, compared without case: "OUTLOOK.EXE". */
static bool is_outlook_exe(const wchar_t *path)
{
    const wchar_t *slash = wcsrchr(path, L'\\');
    return _wcsicmp(slash ? slash + 1 : path, L"OUTLOOK.EXE") == 0;
}

enum xb_err xb_plat_outlook_check(uint32_t pid, const char *program, char *why, size_t n)
{
    wchar_t *want = xb_win_wide(program), image[MAX_PATH * 2];
    DWORD len = ARRAYSIZE(image);
    enum xb_err err = XB_ERR_INVAL;
    HANDLE h = NULL;
    snprintf(why, n, "not an Outlook");
    if (!want)
        return XB_ERR_NOMEM;
    if (!is_outlook_exe(want))
        goto out;
    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!h) {
        snprintf(why, n, "no process %lu (error %lu)", (unsigned long)pid,
                 (unsigned long)GetLastError());
        goto out;
    }
    /* The program to start again is the one that runs: nothing else is ever started. */
    if (!QueryFullProcessImageNameW(h, 0, image, &len) || _wcsicmp(image, want) != 0) {
        snprintf(why, n, "process %lu does not run that program", (unsigned long)pid);
        goto out;
    }
    err = XB_OK;
out:
    if (h)
        CloseHandle(h);
    xb_free(want);
    return err;
}

static void relaunch_free(struct relaunch *r)
{
    if (r->process)
        CloseHandle(r->process);
    xb_free(r->program);
    xb_free(r->cmdline);
    xb_free(r);
}

static DWORD WINAPI relaunch_main(void *arg)
{
    struct relaunch *r = arg;
    DWORD rc = WaitForSingleObject(r->process, r->wait_ms);
    if (rc != WAIT_OBJECT_0) {
        xb_log_warn("outlook: Outlook (process %lu) did not close within %lu s (a dialog "
                    "waiting?): not started again", (unsigned long)r->pid,
                    (unsigned long)(r->wait_ms / 1000));
        relaunch_free(r);
        return 0;
    }
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    if (CreateProcessW(r->program, r->cmdline, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        xb_log_info("outlook: Outlook closed; started it again (process %lu)",
                    (unsigned long)pi.dwProcessId);
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
    } else {
        xb_log_warn("outlook: cannot start Outlook again: error %lu",
                    (unsigned long)GetLastError());
    }
    relaunch_free(r);
    return 0;
}

enum xb_err xb_plat_outlook_relaunch(uint32_t pid, const char *program, const char *profile,
                                     unsigned wait_s)
{
    struct relaunch *r = xb_new(struct relaunch);
    wchar_t *prof = xb_win_wide(profile);
    if (!r || !prof || !(r->program = xb_win_wide(program))) {
        xb_free(prof);
        if (r)
            relaunch_free(r);
        return XB_ERR_NOMEM;
    }
    size_t n = wcslen(r->program) + wcslen(prof) + 32;
    r->cmdline = xb_new_array(wchar_t, n);
    r->pid = pid;
    r->wait_ms = wait_s * 1000u;
    r->process = OpenProcess(SYNCHRONIZE, FALSE, pid);
    enum xb_err err = XB_ERR_IO;
    if (r->cmdline && r->process) {
        /* Outlook's own switch for the profile; quotes cannot occur in either (paths and
         * profile names forbid them). */
        if (prof[0])
            _snwprintf(r->cmdline, n, L"\"%ls\" /profile \"%ls\"", r->program, prof);
        else
            _snwprintf(r->cmdline, n, L"\"%ls\"", r->program);
        r->cmdline[n - 1] = L'\0';
        HANDLE t = CreateThread(NULL, 64 * 1024, relaunch_main, r, 0, NULL);
        if (t) {
            CloseHandle(t);
            r = NULL;
            err = XB_OK;
        }
    }
    xb_free(prof);
    if (r)
        relaunch_free(r);
    return err;
}
