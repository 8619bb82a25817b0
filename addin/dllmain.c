/*
 * The add-in DLL's entry points: DllMain, the four COM exports plus DllInstall, and
 * the static class factory. All GUIDs are instantiated here (<initguid.h> once).
 */
#define COBJMACROS
#include <initguid.h>

#include "addin.h"
#include "idtext.h"
#include "xoauthbridge/names.h"

XB_DEFINE_GUID(CLSID_XbAddin, XB_ADDIN_CLSID_INIT);

HINSTANCE xb_addin_module;
static volatile LONG dll_locks;

void xb_addin_lock(void)
{
    InterlockedIncrement(&dll_locks);
}

void xb_addin_unlock(void)
{
    InterlockedDecrement(&dll_locks);
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    if (reason == DLL_PROCESS_ATTACH) {
        xb_addin_module = inst;
        DisableThreadLibraryCalls(inst);
        xb_addin_log_init();
    } else if (reason == DLL_PROCESS_DETACH && !reserved) {
        /* Unloaded by FreeLibrary: no thread of ours runs (each holds the DLL). */
        xb_addin_log_cleanup();
    }
    return TRUE;
}

/* --- class factory: one static object, its lifetime is the DLL's ---------------- */

static HRESULT STDMETHODCALLTYPE cf_QueryInterface(IClassFactory *This, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IClassFactory)) {
        *ppv = This;
        IClassFactory_AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE cf_AddRef(IClassFactory *This)
{
    xb_addin_lock();
    return 2;
}

static ULONG STDMETHODCALLTYPE cf_Release(IClassFactory *This)
{
    xb_addin_unlock();
    return 1;
}

static HRESULT STDMETHODCALLTYPE cf_CreateInstance(IClassFactory *This, IUnknown *outer,
                                                   REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (outer)
        return CLASS_E_NOAGGREGATION;
    return xb_addin_create(riid, ppv);
}

static HRESULT STDMETHODCALLTYPE cf_LockServer(IClassFactory *This, BOOL lock)
{
    if (lock)
        xb_addin_lock();
    else
        xb_addin_unlock();
    return S_OK;
}

static const IClassFactoryVtbl class_factory_vtbl = {
    .QueryInterface = cf_QueryInterface,
    .AddRef = cf_AddRef,
    .Release = cf_Release,
    .CreateInstance = cf_CreateInstance,
    .LockServer = cf_LockServer,
};

static IClassFactory class_factory = { .lpVtbl = &class_factory_vtbl };

/* --- exports ------------------------------------------------------------------------ */

STDAPI DllGetClassObject(REFCLSID rclsid, REFIID riid, LPVOID *ppv)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!IsEqualCLSID(rclsid, &CLSID_XbAddin))
        return CLASS_E_CLASSNOTAVAILABLE;
    return cf_QueryInterface(&class_factory, riid, ppv);
}

STDAPI DllCanUnloadNow(void)
{
    return dll_locks == 0 ? S_OK : S_FALSE;
}

STDAPI DllRegisterServer(void)
{
    return xb_addin_register(FALSE);
}

STDAPI DllUnregisterServer(void)
{
    return xb_addin_unregister(FALSE);
}

/* regsvr32 /n /i:user xoauthbridge-addin64.dll registers for the current user only. */
STDAPI DllInstall(BOOL install, LPCWSTR cmdline)
{
    BOOL for_user = cmdline && lstrcmpiW(cmdline, L"user") == 0;
    if (cmdline && *cmdline && !for_user && lstrcmpiW(cmdline, L"machine") != 0)
        return E_INVALIDARG;
    return install ? xb_addin_register(for_user) : xb_addin_unregister(for_user);
}
