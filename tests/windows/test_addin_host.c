/*
 * Loads the add-in the way Outlook does: registers the DLL, creates it by CLSID through
 * the registry (CoCreateInstance), calls IDTExtensibility2 in Outlook's order with an
 * Application object, releases it, and unregisters. Checks the registry on the way.
 *
 *   test_addin_host.exe PATH\TO\xoauthbridge-addin64.dll
 *   test_addin_host.exe --installed PATH\TO\xoauthbridge-addin64.dll
 *   test_addin_host.exe --outlook VERSION PROFILE WAIT TIMEOUT_S DLL [CODE TEXT]...
 *   test_addin_host.exe --outlook-installed VERSION PROFILE WAIT TIMEOUT_S [CODE TEXT]...
 *
 * --installed: the MSI registered it (tests/installer/msi_wine.py): check that HKLM's
 * 64-bit view points at that DLL, create it by CLSID only (COM loads it from the
 * registry), and leave the registration alone.
 *
 * --outlook: Outlook itself, as far as the add-in can tell (fake_outlook.c): registers
 * the DLL, creates it by CLSID, connects it with an Application whose Version and
 * profile are given, times OnConnection and OnStartupComplete, raises each OnError
 * (CODE TEXT) through the advised SyncObjectEvents sink, then waits (pumping messages,
 * as Outlook's UI thread does) until WAIT holds or TIMEOUT_S pass:
 *   bridged:N   N saved copies under HKCU\Software\XOAuthBridge\Outlook say "bridged"
 *   log:TEXT    the add-in's log (%LOCALAPPDATA%\XOAuthBridge\logs\addin.log) has TEXT
 *   newlog:TEXT the same, written since this Outlook started
 *   quit        until the add-in calls Application.Quit (any wait ends there too)
 *   none        no wait
 * then shuts the add-in down as Outlook does (timed too), checks that every object
 * reference and event connection was given back, and unregisters.
 *
 * --outlook-installed: the same Outlook, with the add-in the MSI installed
 * (tests/demo/demo_outlook.py): nothing is loaded or registered by hand. As Outlook at
 * its start, it lists HKLM\Software\Microsoft\Office\Outlook\Addins (64-bit view),
 * takes each add-in whose LoadBehavior is 3, finds its CLSID from the ProgID (the key's
 * name) and lets COM load the DLL that InprocServer32 names. It leaves the registration
 * alone.
 */
#define COBJMACROS
#include <initguid.h>
#include <stdio.h>
#include <windows.h>

#include <stdlib.h>
#include <wchar.h>

#include "idtext.h"
#include "fake_outlook.h"
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

/* --- --outlook ------------------------------------------------------------------------ */

static double ms_since(LARGE_INTEGER start)
{
    LARGE_INTEGER now, freq;
    QueryPerformanceCounter(&now);
    QueryPerformanceFrequency(&freq);
    return (double)(now.QuadPart - start.QuadPart) * 1000.0 / (double)freq.QuadPart;
}

/* Saved copies in state "bridged" (2), in every layout and profile. */
static int count_bridged_in(HKEY key, int depth)
{
    int n = 0;
    DWORD state = 0, size = sizeof(state), type = 0;
    if (depth == 3)
        return RegQueryValueExW(key, L"State", NULL, &type, (BYTE *)&state, &size) ==
                   ERROR_SUCCESS && type == REG_DWORD && state == 2;
    WCHAR name[256];
    for (DWORD i = 0;; i++) {
        DWORD len = ARRAYSIZE(name);
        if (RegEnumKeyExW(key, i, name, &len, NULL, NULL, NULL, NULL) != ERROR_SUCCESS)
            break;
        HKEY sub;
        if (RegOpenKeyExW(key, name, 0, KEY_READ, &sub) == ERROR_SUCCESS) {
            n += count_bridged_in(sub, depth + 1);
            RegCloseKey(sub);
        }
    }
    return n;
}

static int count_bridged(void)
{
    HKEY k;
    int n = 0;
    if (RegOpenKeyExW(HKEY_CURRENT_USER, L"Software\\XOAuthBridge\\Outlook", 0, KEY_READ, &k) ==
        ERROR_SUCCESS) {
        n = count_bridged_in(k, 0);
        RegCloseKey(k);
    }
    return n;
}

/* The add-in log's size when this Outlook started: "newlog:" looks only past it. */
static DWORD log_start;

static BOOL log_has(const char *text, DWORD from)
{
    static char buf[1 << 20];
    WCHAR path[MAX_PATH], dir[MAX_PATH];
    if (!GetEnvironmentVariableW(L"LOCALAPPDATA", dir, MAX_PATH))
        return FALSE;
    _snwprintf(path, MAX_PATH, L"%ls\\XOAuthBridge\\logs\\addin.log", dir);
    path[MAX_PATH - 1] = 0;
    HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE |
                           FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0, NULL);
    DWORD n = 0;
    if (h == INVALID_HANDLE_VALUE)
        return FALSE;
    BOOL ok = ReadFile(h, buf, sizeof(buf) - 1, &n, NULL);
    CloseHandle(h);
    buf[ok ? n : 0] = 0;
    if (text == NULL) {
        log_start = ok ? n : 0; /* only measuring */
        return FALSE;
    }
    return ok && from <= n && strstr(buf + from, text) != NULL;
}

static BOOL waited_enough(const WCHAR *wait)
{
    char text[512];
    if (wcsncmp(wait, L"bridged:", 8) == 0)
        return count_bridged() >= _wtoi(wait + 8);
    if (wcsncmp(wait, L"log:", 4) == 0) {
        WideCharToMultiByte(CP_UTF8, 0, wait + 4, -1, text, sizeof(text), NULL, NULL);
        return log_has(text, 0);
    }
    if (wcsncmp(wait, L"newlog:", 7) == 0) {
        WideCharToMultiByte(CP_UTF8, 0, wait + 7, -1, text, sizeof(text), NULL, NULL);
        return log_has(text, log_start);
    }
    return TRUE;
}

/* Outlook's life with a created add-in: connect, raise the errors (CODE TEXT pairs),
 * wait for WAIT as Outlook's UI thread would (pumping messages), shut down. Releases ext. */
static void drive_outlook(IDTExtensibility2 *ext, const WCHAR *version, const WCHAR *profile,
                          const WCHAR *wait, int timeout_s, int nerr, WCHAR **errors)
{
    static struct fake_outlook ol;
    fake_outlook_init(&ol, version, profile);
    SAFEARRAY *custom = NULL;
    LARGE_INTEGER t;
    log_has(NULL, 0);

    QueryPerformanceCounter(&t);
    CHECK(ext->lpVtbl->OnConnection(ext, fake_outlook_app(&ol), ext_cm_Startup, NULL,
                                    &custom) == S_OK);
    double connect_ms = ms_since(t);
    CHECK(ext->lpVtbl->OnAddInsUpdate(ext, &custom) == S_OK);
    QueryPerformanceCounter(&t);
    CHECK(ext->lpVtbl->OnStartupComplete(ext, &custom) == S_OK);
    double startup_ms = ms_since(t);
    printf("# OnConnection took %.2f ms, OnStartupComplete %.2f ms (target: under 20 ms "
           "each)\n", connect_ms, startup_ms);
    printf("# the add-in made %d object model calls and listens to %d of %d SyncObjects\n",
           ol.calls, fake_outlook_advised(&ol), FO_SYNCS);
    CHECK(fake_outlook_advised(&ol) == FO_SYNCS);

    for (int i = 0; i + 1 < nerr; i += 2) {
        LONG code = (LONG)wcstoul(errors[i], NULL, 0);
        CHECK(fake_outlook_raise_error(&ol, code, errors[i + 1]) == 1);
    }

    /* WAIT "quit": until the add-in asks Outlook to quit (Application.Quit); any other
     * wait ends there too, as Outlook would close. */
    const BOOL quit_wait = lstrcmpW(wait, L"quit") == 0;
    DWORD start = GetTickCount();
    BOOL ok = !quit_wait && waited_enough(wait);
    while (!ok && !ol.quit_requested && GetTickCount() - start < (DWORD)timeout_s * 1000u) {
        MSG msg;
        while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE)) {
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
        MsgWaitForMultipleObjects(0, NULL, FALSE, 100, QS_ALLINPUT);
        ok = !quit_wait && waited_enough(wait);
    }
    if (ol.quit_requested) {
        printf("# Application.Quit was called: Outlook closes\n");
        ok = ok || quit_wait;
    }
    printf("# waited %.1f s for %ls: %s\n", (GetTickCount() - start) / 1000.0, wait,
           ok ? "yes" : "NO");
    CHECK(ok);

    QueryPerformanceCounter(&t);
    CHECK(ext->lpVtbl->OnBeginShutdown(ext, &custom) == S_OK);
    CHECK(ext->lpVtbl->OnDisconnection(ext, ext_dm_HostShutdown, &custom) == S_OK);
    printf("# OnBeginShutdown + OnDisconnection took %.2f ms\n", ms_since(t));
    CHECK(fake_outlook_advised(&ol) == 0);
    CHECK(fake_outlook_extra_refs(&ol) == 0);
    CHECK(ext->lpVtbl->Release(ext) == 0);
}

typedef HRESULT(STDAPICALLTYPE *dll_fn)(void);

/* Loads the add-in as regsvr32 does and finds its (un)registration entry points. */
static BOOL load_dll(const WCHAR *dll, dll_fn *reg, dll_fn *unreg)
{
    HMODULE mod = LoadLibraryExW(dll, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
    CHECK(mod != NULL);
    if (!mod)
        return FALSE;
    *reg = (dll_fn)(void *)GetProcAddress(mod, "DllRegisterServer");
    *unreg = (dll_fn)(void *)GetProcAddress(mod, "DllUnregisterServer");
    CHECK(*reg && *unreg);
    return *reg && *unreg;
}

static int outlook_mode(int argc, WCHAR **argv)
{
    /* --outlook VERSION PROFILE WAIT TIMEOUT_S DLL [CODE TEXT]... */
    const WCHAR *version = argv[2];
    WCHAR dll[MAX_PATH];
    if (!GetFullPathNameW(argv[6], MAX_PATH, dll, NULL))
        return 2;
    dll_fn reg = NULL, unreg = NULL;
    if (!load_dll(dll, &reg, &unreg))
        return 1;
    CHECK(reg() == S_OK);

    CHECK(SUCCEEDED(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED)));
    IDTExtensibility2 *ext = NULL;
    CHECK(SUCCEEDED(CoCreateInstance(&CLSID_XbAddin, NULL, CLSCTX_INPROC_SERVER,
                                     &IID_IDTExtensibility2, (void **)&ext)) && ext);
    if (!ext)
        return 1;
    drive_outlook(ext, version, argv[3], argv[4], _wtoi(argv[5]), argc - 7, argv + 7);
    CoUninitialize();
    CHECK(unreg && unreg() == S_OK);
    printf("%s - add-in in Outlook %ls (%d failures)\n", failures ? "not ok" : "ok", version,
           failures);
    return failures ? 1 : 0;
}

/* The add-ins Outlook would load at its start: every subkey of the machine's Addins key
 * with LoadBehavior 3 (load at startup, loaded). Creates ours the way Outlook does, by
 * the ProgID that names the key; NULL if it is not registered. */
static IDTExtensibility2 *create_registered(void)
{
    static const WCHAR addins[] = L"Software\\Microsoft\\Office\\Outlook\\Addins";
    IDTExtensibility2 *ours = NULL;
    HKEY k;
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, addins, 0, KEY_READ | KEY_WOW64_64KEY, &k) !=
        ERROR_SUCCESS) {
        printf("# no HKLM\\%ls: nothing to load\n", addins);
        return NULL;
    }
    WCHAR name[256], sub[512], dll[MAX_PATH];
    for (DWORD i = 0;; i++) {
        DWORD len = ARRAYSIZE(name), lb = 0;
        if (RegEnumKeyExW(k, i, name, &len, NULL, NULL, NULL, NULL) != ERROR_SUCCESS)
            break;
        _snwprintf(sub, ARRAYSIZE(sub), L"%ls\\%ls", addins, name);
        sub[ARRAYSIZE(sub) - 1] = 0;
        if (!read_value(HKEY_LOCAL_MACHINE, sub, L"LoadBehavior", REG_DWORD, &lb, sizeof(lb)) ||
            lb != 3) {
            printf("# add-in %ls: LoadBehavior %lu, not loaded\n", name, (unsigned long)lb);
            continue;
        }
        CLSID clsid;
        if (FAILED(CLSIDFromProgID(name, &clsid)) || !IsEqualCLSID(&clsid, &CLSID_XbAddin)) {
            printf("# add-in %ls: not ours, not loaded\n", name);
            continue;
        }
        if (!read_sz(HKEY_LOCAL_MACHINE, CLSID_KEY L"\\InprocServer32", NULL, dll, sizeof(dll)))
            dll[0] = 0;
        HRESULT hr = CoCreateInstance(&clsid, NULL, CLSCTX_INPROC_SERVER, &IID_IDTExtensibility2,
                                      (void **)&ours);
        printf("# add-in %ls (LoadBehavior 3): CoCreateInstance 0x%08lx, COM loaded %ls\n",
               name, (unsigned long)hr, dll);
        CHECK(SUCCEEDED(hr) && ours);
        CHECK(dll[0] && GetModuleHandleW(dll) != NULL);
        break;
    }
    RegCloseKey(k);
    return ours;
}

static int outlook_installed_mode(int argc, WCHAR **argv)
{
    /* --outlook-installed VERSION PROFILE WAIT TIMEOUT_S [CODE TEXT]... */
    const WCHAR *version = argv[2];
    CHECK(SUCCEEDED(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED)));
    IDTExtensibility2 *ext = create_registered();
    CHECK(ext != NULL);
    if (ext)
        drive_outlook(ext, version, argv[3], argv[4], _wtoi(argv[5]), argc - 6, argv + 6);
    CoUninitialize();
    CHECK(key_exists(HKEY_LOCAL_MACHINE, CLSID_KEY)); /* the MSI's registration stays */
    printf("%s - installed add-in in Outlook %ls (%d failures)\n", failures ? "not ok" : "ok",
           version, failures);
    return failures ? 1 : 0;
}

/* Started again as Outlook is, `OUTLOOK.EXE /profile NAME` (by the companion, after a
 * restart the person chose): what --outlook would be given comes from
 * XB_FAKE_OUTLOOK = "VERSION|WAIT|TIMEOUT_S|DLL", which the test gave the companion. */
static int relaunched_mode(const WCHAR *profile)
{
    static WCHAR spec[4 * MAX_PATH];
    WCHAR *parts[4] = { NULL }, *ctx = NULL;
    if (!GetEnvironmentVariableW(L"XB_FAKE_OUTLOOK", spec, ARRAYSIZE(spec)))
        return 2;
    parts[0] = wcstok_s(spec, L"|", &ctx);
    for (int i = 1; i < 4 && parts[i - 1]; i++)
        parts[i] = wcstok_s(NULL, L"|", &ctx);
    if (!parts[3])
        return 2;
    static WCHAR host[] = L"host", mode[] = L"--outlook", prof[128];
    lstrcpynW(prof, profile, ARRAYSIZE(prof));
    printf("# started again as Outlook, profile '%ls'\n", prof);
    WCHAR *argv[] = { host, mode, parts[0], prof, parts[1], parts[2], parts[3] };
    return outlook_mode(ARRAYSIZE(argv), argv);
}

int wmain(int argc, WCHAR **argv);
int wmain(int argc, WCHAR **argv)
{
    if (argc == 3 && lstrcmpiW(argv[1], L"/profile") == 0)
        return relaunched_mode(argv[2]);
    if (argc >= 7 && lstrcmpW(argv[1], L"--outlook") == 0)
        return outlook_mode(argc, argv);
    if (argc >= 6 && lstrcmpW(argv[1], L"--outlook-installed") == 0)
        return outlook_installed_mode(argc, argv);
    BOOL installed = argc == 3 && lstrcmpW(argv[1], L"--installed") == 0;
    if (argc != 2 && !installed) {
        fprintf(stderr, "usage: test_addin_host [--installed] ADDIN.dll\n"
                        "       test_addin_host --outlook VERSION PROFILE WAIT TIMEOUT_S DLL"
                        " [CODE TEXT]...\n"
                        "       test_addin_host --outlook-installed VERSION PROFILE WAIT"
                        " TIMEOUT_S [CODE TEXT]...\n");
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

    dll_fn reg = NULL, unreg = NULL;
    if (!load_dll(dll, &reg, &unreg))
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
