/*
 * Loads the add-in the way Outlook does: registers the DLL, creates it by CLSID through
 * the registry (CoCreateInstance), calls IDTExtensibility2 in Outlook's order with an
 * Application object, releases it, and unregisters. Checks the registry on the way.
 *
 *   test_addin_host.exe PATH\TO\xoauthbridge-addin64.dll
 *   test_addin_host.exe --installed PATH\TO\xoauthbridge-addin64.dll
 *
 * --installed: the MSI registered it (tests/installer/msi_wine.py): check that HKLM's
 * 64-bit view points at that DLL, create it by CLSID only (COM loads it from the
 * registry), and leave the registration alone.
 */
#define COBJMACROS
#include <initguid.h>
#include <stdio.h>
#include <windows.h>

#include "../../addin/idtext.h"
#include "xoauthbridge/names.h"

#define XB_DEFINE_GUID(name, ...) DEFINE_GUID(name, __VA_ARGS__)
XB_DEFINE_GUID(CLSID_XbAddin, XB_ADDIN_CLSID_INIT);

static int failures;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            failures++;                                                               \
            printf("#   line %d: check failed: %s\n", __LINE__, #cond);               \
        }                                                                             \
    } while (0)

/* --- a minimal Application object: counts its references --------------------------- */
struct fake_app {
    IDispatch IDispatch_iface;
    LONG refs;
};

static HRESULT STDMETHODCALLTYPE app_QueryInterface(IDispatch *This, REFIID riid, void **ppv)
{
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IDispatch)) {
        *ppv = This;
        IDispatch_AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE app_AddRef(IDispatch *This)
{
    return (ULONG)InterlockedIncrement(&CONTAINING_RECORD(This, struct fake_app, IDispatch_iface)->refs);
}
static ULONG STDMETHODCALLTYPE app_Release(IDispatch *This)
{
    return (ULONG)InterlockedDecrement(&CONTAINING_RECORD(This, struct fake_app, IDispatch_iface)->refs);
}
static HRESULT STDMETHODCALLTYPE app_GetTypeInfoCount(IDispatch *This, UINT *n)
{
    *n = 0;
    return S_OK;
}
static HRESULT STDMETHODCALLTYPE app_GetTypeInfo(IDispatch *This, UINT i, LCID l, ITypeInfo **t)
{
    return E_NOTIMPL;
}
static HRESULT STDMETHODCALLTYPE app_GetIDsOfNames(IDispatch *This, REFIID r, LPOLESTR *n,
                                                   UINT c, LCID l, DISPID *d)
{
    return DISP_E_UNKNOWNNAME;
}
static HRESULT STDMETHODCALLTYPE app_Invoke(IDispatch *This, DISPID d, REFIID r, LCID l, WORD f,
                                            DISPPARAMS *p, VARIANT *v, EXCEPINFO *e, UINT *a)
{
    return DISP_E_MEMBERNOTFOUND;
}
static const IDispatchVtbl app_vtbl = {
    app_QueryInterface, app_AddRef, app_Release, app_GetTypeInfoCount,
    app_GetTypeInfo, app_GetIDsOfNames, app_Invoke,
};

/* --- registry helpers --------------------------------------------------------------- */
/* Reads a value from the 64-bit view, where the x64 add-in registers itself. */
static BOOL read_value(HKEY root, const WCHAR *sub, const WCHAR *name, DWORD want_type,
                       void *out, DWORD size)
{
    HKEY k;
    DWORD type, bytes = size;
    if (RegOpenKeyExW(root, sub, 0, KEY_READ | KEY_WOW64_64KEY, &k) != ERROR_SUCCESS)
        return FALSE;
    LSTATUS st = RegQueryValueExW(k, name, NULL, &type, out, &bytes);
    RegCloseKey(k);
    return st == ERROR_SUCCESS && type == want_type;
}

static BOOL read_sz(HKEY root, const WCHAR *sub, const WCHAR *name, WCHAR *out, DWORD size)
{
    return read_value(root, sub, name, REG_SZ, out, size);
}

static BOOL key_exists(HKEY root, const WCHAR *sub)
{
    HKEY k;
    if (RegOpenKeyExW(root, sub, 0, KEY_READ | KEY_WOW64_64KEY, &k) != ERROR_SUCCESS)
        return FALSE;
    RegCloseKey(k);
    return TRUE;
}

#define W_(s) L##s
#define W(s)  W_(s)
#define CLSID_KEY  L"Software\\Classes\\CLSID\\" W(XB_ADDIN_CLSID_STR)
#define PROGID_KEY L"Software\\Classes\\" W(XB_ADDIN_PROGID)
#define ADDIN_KEY  L"Software\\Microsoft\\Office\\Outlook\\Addins\\" W(XB_ADDIN_PROGID)

/* What DllRegisterServer and the MSI both write (HKLM, 64-bit view), pointing at dll. */
static void check_registration(const WCHAR *dll)
{
    WCHAR buf[MAX_PATH];
    CHECK(read_sz(HKEY_LOCAL_MACHINE, CLSID_KEY L"\\InprocServer32", NULL, buf, sizeof(buf)) &&
          lstrcmpiW(buf, dll) == 0);
    CHECK(read_sz(HKEY_LOCAL_MACHINE, CLSID_KEY L"\\InprocServer32", L"ThreadingModel", buf,
                  sizeof(buf)) && lstrcmpW(buf, L"Apartment") == 0);
    CHECK(read_sz(HKEY_LOCAL_MACHINE, CLSID_KEY L"\\ProgID", NULL, buf, sizeof(buf)) &&
          lstrcmpW(buf, W(XB_ADDIN_PROGID)) == 0);
    CHECK(read_sz(HKEY_LOCAL_MACHINE, PROGID_KEY L"\\CLSID", NULL, buf, sizeof(buf)) &&
          lstrcmpiW(buf, W(XB_ADDIN_CLSID_STR)) == 0);
    DWORD lb = 0;
    CHECK(read_value(HKEY_LOCAL_MACHINE, ADDIN_KEY, L"LoadBehavior", REG_DWORD, &lb, sizeof(lb)) &&
          lb == 3);
    CHECK(read_sz(HKEY_LOCAL_MACHINE, ADDIN_KEY, L"FriendlyName", buf, sizeof(buf)) &&
          lstrcmpW(buf, W(XB_ADDIN_FRIENDLY)) == 0);
    CHECK(read_sz(HKEY_LOCAL_MACHINE, ADDIN_KEY, L"Description", buf, sizeof(buf)) &&
          lstrcmpW(buf, W(XB_ADDIN_DESCRIPTION)) == 0);
}

/* Creates the add-in through COM by CLSID, as Outlook does from the Addins key, and
 * drives IDTExtensibility2 in Outlook's order. dll names the module COM should load. */
static void create_and_drive(const WCHAR *dll)
{
    CHECK(SUCCEEDED(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED)));
    IDTExtensibility2 *ext = NULL;
    HRESULT hr = CoCreateInstance(&CLSID_XbAddin, NULL, CLSCTX_INPROC_SERVER,
                                  &IID_IDTExtensibility2, (void **)&ext);
    printf("# CoCreateInstance: 0x%08lx\n", (unsigned long)hr);
    CHECK(SUCCEEDED(hr) && ext);
    HMODULE mod = GetModuleHandleW(dll);
    CHECK(mod != NULL); /* COM loaded the DLL the registry names */
    if (ext) {
        struct fake_app app = { { &app_vtbl }, 1 };
        SAFEARRAY *custom = NULL;
        CHECK(ext->lpVtbl->OnConnection(ext, NULL, ext_cm_Startup, NULL, &custom) == E_POINTER);
        CHECK(ext->lpVtbl->OnConnection(ext, &app.IDispatch_iface, ext_cm_Startup, NULL,
                                        &custom) == S_OK);
        CHECK(app.refs == 2); /* the add-in holds Application while connected */
        CHECK(ext->lpVtbl->OnAddInsUpdate(ext, &custom) == S_OK);
        CHECK(ext->lpVtbl->OnStartupComplete(ext, &custom) == S_OK);
        CHECK(ext->lpVtbl->OnBeginShutdown(ext, &custom) == S_OK);
        CHECK(ext->lpVtbl->OnDisconnection(ext, ext_dm_HostShutdown, &custom) == S_OK);
        CHECK(app.refs == 1);

        /* The dual interface also answers IDispatch by name. */
        static const IID iid_null;
        WCHAR method[] = L"OnStartupComplete";
        LPOLESTR name = method;
        DISPID id = 0;
        CHECK(ext->lpVtbl->GetIDsOfNames(ext, &iid_null, &name, 1, 0, &id) == S_OK && id == 4);

        HRESULT(STDAPICALLTYPE * can_unload)(void) =
            mod ? (void *)GetProcAddress(mod, "DllCanUnloadNow") : NULL;
        CHECK(can_unload && can_unload() == S_FALSE);
        CHECK(ext->lpVtbl->Release(ext) == 0);
        CHECK(can_unload && can_unload() == S_OK);
    }
    CoUninitialize();
}

int wmain(int argc, WCHAR **argv);
int wmain(int argc, WCHAR **argv)
{
    BOOL installed = argc == 3 && lstrcmpW(argv[1], L"--installed") == 0;
    if (argc != 2 && !installed) {
        fprintf(stderr, "usage: test_addin_host [--installed] ADDIN.dll\n");
        return 2;
    }
    WCHAR dll[MAX_PATH];
    if (!GetFullPathNameW(argv[argc - 1], MAX_PATH, dll, NULL))
        return 2;

    if (installed) {
        /* Registered by the MSI: nothing loaded it yet, COM must find it by CLSID. */
        CHECK(GetModuleHandleW(dll) == NULL);
        check_registration(dll);
        create_and_drive(dll);
        CHECK(key_exists(HKEY_LOCAL_MACHINE, CLSID_KEY)); /* untouched */
        printf("%s - installed add-in (%d failures)\n", failures ? "not ok" : "ok", failures);
        return failures ? 1 : 0;
    }

    HMODULE mod = LoadLibraryExW(dll, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
    CHECK(mod != NULL);
    if (!mod)
        return 1;
    HRESULT(STDAPICALLTYPE * reg)(void) = (void *)GetProcAddress(mod, "DllRegisterServer");
    HRESULT(STDAPICALLTYPE * unreg)(void) = (void *)GetProcAddress(mod, "DllUnregisterServer");
    CHECK(reg && unreg);
    if (!reg || !unreg)
        return 1;

    /* Register as regsvr32 does (machine-wide) and look at what it wrote. */
    CHECK(reg() == S_OK);
    check_registration(dll);
    create_and_drive(dll);

    /* Unregister removes every key it wrote. */
    CHECK(unreg() == S_OK);
    CHECK(!key_exists(HKEY_LOCAL_MACHINE, CLSID_KEY));
    CHECK(!key_exists(HKEY_LOCAL_MACHINE, ADDIN_KEY));
    CHECK(!key_exists(HKEY_LOCAL_MACHINE, PROGID_KEY));
    CHECK(unreg() == S_OK); /* twice is fine */

    printf("%s - add-in host (%d failures)\n", failures ? "not ok" : "ok", failures);
    return failures ? 1 : 0;
}
