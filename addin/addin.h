/* Internals of the add-in DLL shared between its files. */
#ifndef XB_ADDIN_H
#define XB_ADDIN_H

#include <windows.h>
#include <unknwn.h>

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
