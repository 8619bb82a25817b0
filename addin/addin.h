/* Internals of the add-in DLL shared between its files. */
#ifndef XB_ADDIN_H
#define XB_ADDIN_H

#include <windows.h>
#include <unknwn.h>

#include <stdbool.h>
#include <stdint.h>

#include "core/addinpol.h"

/* DEFINE_GUID with the value given as one macro (XB_ADDIN_CLSID_INIT). */
#define XB_DEFINE_GUID(name, ...) DEFINE_GUID(name, __VA_ARGS__)

/* Exports (addin.def); the SDK headers declare DllGetClassObject and DllCanUnloadNow. */
BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);
STDAPI DllRegisterServer(void);
STDAPI DllUnregisterServer(void);
STDAPI DllInstall(BOOL install, LPCWSTR cmdline);

/* dllmain.c: this DLL's module handle and lock count (objects + LockServer). */
extern HINSTANCE xb_addin_module;
void xb_addin_lock(void);
void xb_addin_unlock(void);

/* connect.c: a new add-in object, returned with one reference through riid. */
HRESULT xb_addin_create(REFIID riid, void **ppv);

/* register.c: (un)registers the COM class and the Outlook add-in entry. for_user
 * selects HKCU instead of HKLM; the registry view follows the DLL's bitness. */
HRESULT xb_addin_register(BOOL for_user);
HRESULT xb_addin_unregister(BOOL for_user);

/* log.c: the add-in's log file (never a secret). Init once, at process attach. */
void xb_addin_log_init(void);
void xb_addin_log_cleanup(void);
void xb_addin_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* policy.c: the Group Policy values the add-in acts on (the decision: core/addinpol.c). */
void xb_addin_policy_read(struct xb_addin_policy *pol);

/* outlook.c: Outlook's object model, on Outlook's UI thread only. */
struct xb_outlook;
typedef void xb_outlook_error_fn(void *ctx, uint32_t code, const char *text);
/* Reads Application.Version and Session.CurrentProfileName (UTF-8, "" when unknown). */
void xb_outlook_identify(IDispatch *app, char *version, size_t vn, wchar_t *profile,
                         size_t pn);
/* Application.Quit: Outlook closes as when the person closes it (drafts prompt). */
HRESULT xb_outlook_quit(IDispatch *app);
/* Listens to every SyncObject's OnError; fn gets UTF-8 text. NULL if there are none. */
struct xb_outlook *xb_outlook_listen(IDispatch *app, xb_outlook_error_fn *fn, void *ctx);
void xb_outlook_unlisten(struct xb_outlook *ol);

/* worker.c: everything slow, on the add-in's own threads. */
struct xb_worker;
/* ui: a window on Outlook's UI thread that takes XB_WM_QUIT (connect.c). */
struct xb_worker *xb_worker_start(const char *version, const wchar_t *profile, HWND ui);
/* The message (RegisterWindowMessage) that asks the UI thread to quit Outlook. */
#define XB_WM_QUIT_NAME L"XOAuthBridge.AddinQuitOutlook"
/* From the UI thread: queue an OnError (copied) and return at once. */
void xb_worker_failure(struct xb_worker *w, uint32_t code, const char *text);
/* Asks the threads to stop, waits at most wait_ms, and lets go of w. */
void xb_worker_stop(struct xb_worker *w, DWORD wait_ms);

#endif
