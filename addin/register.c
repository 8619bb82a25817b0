/*
 * Self-registration: the COM class, its ProgID and Outlook's add-in entry, under HKLM
 * (DllRegisterServer, what the MSI and regsvr32 do) or HKCU (DllInstall "user").
 * Each DLL writes the registry view of its own bitness, which is the view the Outlook
 * of the same bitness reads (32-bit Office on 64-bit Windows reads WOW6432Node).
 */
#include "addin.h"
#include "xoauthbridge/names.h"

#define XB_W_(s) L##s
#define XB_W(s)  XB_W_(s)

#ifdef _WIN64
#define XB_REG_VIEW KEY_WOW64_64KEY
#else
#define XB_REG_VIEW KEY_WOW64_32KEY
#endif

#define CLSID_KEY  L"Software\\Classes\\CLSID\\" XB_W(XB_ADDIN_CLSID_STR)
#define PROGID_KEY L"Software\\Classes\\" XB_W(XB_ADDIN_PROGID)
#define ADDIN_KEY  L"Software\\Microsoft\\Office\\Outlook\\Addins\\" XB_W(XB_ADDIN_PROGID)

static LSTATUS set_sz(HKEY root, const WCHAR *subkey, const WCHAR *name, const WCHAR *value)
{
    HKEY key;
    LSTATUS st = RegCreateKeyExW(root, subkey, 0, NULL, 0, KEY_SET_VALUE | XB_REG_VIEW, NULL,
                                 &key, NULL);
    if (st != ERROR_SUCCESS)
        return st;
    st = RegSetValueExW(key, name, 0, REG_SZ, (const BYTE *)value,
                        (DWORD)((lstrlenW(value) + 1) * sizeof(WCHAR)));
    RegCloseKey(key);
    return st;
}

static LSTATUS set_dword(HKEY root, const WCHAR *subkey, const WCHAR *name, DWORD value)
{
    HKEY key;
    LSTATUS st = RegCreateKeyExW(root, subkey, 0, NULL, 0, KEY_SET_VALUE | XB_REG_VIEW, NULL,
                                 &key, NULL);
    if (st != ERROR_SUCCESS)
        return st;
    st = RegSetValueExW(key, name, 0, REG_DWORD, (const BYTE *)&value, sizeof(value));
    RegCloseKey(key);
    return st;
}

/* Deletes subkey and everything below it; a key that is not there is fine. */
static LSTATUS delete_tree(HKEY root, const WCHAR *parent, const WCHAR *child)
{
    HKEY key;
    LSTATUS st = RegOpenKeyExW(root, parent, 0, KEY_ALL_ACCESS | XB_REG_VIEW, &key);
    if (st == ERROR_FILE_NOT_FOUND)
        return ERROR_SUCCESS;
    if (st != ERROR_SUCCESS)
        return st;
    st = RegDeleteTreeW(key, child);
    if (st == ERROR_SUCCESS || st == ERROR_FILE_NOT_FOUND) {
        /* RegDeleteTree empties the key; the key itself goes with RegDeleteKeyEx. */
        st = RegDeleteKeyExW(key, child, XB_REG_VIEW, 0);
        if (st == ERROR_FILE_NOT_FOUND)
            st = ERROR_SUCCESS;
    }
    RegCloseKey(key);
    return st;
}

HRESULT xb_addin_register(BOOL for_user)
{
    HKEY root = for_user ? HKEY_CURRENT_USER : HKEY_LOCAL_MACHINE;
    WCHAR path[MAX_PATH];
    DWORD n = GetModuleFileNameW(xb_addin_module, path, ARRAYSIZE(path));
    if (n == 0 || n >= ARRAYSIZE(path))
        return HRESULT_FROM_WIN32(n ? ERROR_INSUFFICIENT_BUFFER : GetLastError());

    LSTATUS st = ERROR_SUCCESS;
#define TRY(call) do { if (st == ERROR_SUCCESS) st = (call); } while (0)
    TRY(set_sz(root, CLSID_KEY, NULL, XB_W(XB_ADDIN_FRIENDLY)));
    TRY(set_sz(root, CLSID_KEY L"\\InprocServer32", NULL, path));
    TRY(set_sz(root, CLSID_KEY L"\\InprocServer32", L"ThreadingModel", L"Apartment"));
    TRY(set_sz(root, CLSID_KEY L"\\ProgID", NULL, XB_W(XB_ADDIN_PROGID)));
    TRY(set_sz(root, PROGID_KEY, NULL, XB_W(XB_ADDIN_FRIENDLY)));
    TRY(set_sz(root, PROGID_KEY L"\\CLSID", NULL, XB_W(XB_ADDIN_CLSID_STR)));
    TRY(set_sz(root, ADDIN_KEY, L"FriendlyName", XB_W(XB_ADDIN_FRIENDLY)));
    TRY(set_sz(root, ADDIN_KEY, L"Description", XB_W(XB_ADDIN_DESCRIPTION)));
    TRY(set_dword(root, ADDIN_KEY, L"LoadBehavior", 3));
#undef TRY
    if (st != ERROR_SUCCESS) {
        /* Leave nothing half-registered behind. */
        xb_addin_unregister(for_user);
        return HRESULT_FROM_WIN32(st);
    }
    return S_OK;
}

HRESULT xb_addin_unregister(BOOL for_user)
{
    HKEY root = for_user ? HKEY_CURRENT_USER : HKEY_LOCAL_MACHINE;
    LSTATUS st = delete_tree(root, L"Software\\Microsoft\\Office\\Outlook\\Addins",
                             XB_W(XB_ADDIN_PROGID));
    LSTATUS st2 = delete_tree(root, L"Software\\Classes", XB_W(XB_ADDIN_PROGID));
    LSTATUS st3 = delete_tree(root, L"Software\\Classes\\CLSID", XB_W(XB_ADDIN_CLSID_STR));
    if (st == ERROR_SUCCESS)
        st = st2;
    if (st == ERROR_SUCCESS)
        st = st3;
    return HRESULT_FROM_WIN32(st);
}
