/* Internals of the add-in DLL shared between its files. */
#ifndef XB_ADDIN_H
#define XB_ADDIN_H

#include <windows.h>
#include <unknwn.h>

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

#endif
