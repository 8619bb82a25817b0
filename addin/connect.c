/*
 * The add-in object Outlook creates: IDTExtensibility2 (dual). Outlook calls these on
 * its UI thread and disables add-ins that take long, so each method only records what
 * it was given and returns; the real work runs on the add-in's worker thread
 * (worker.c). At startup complete (or at connection, when the person loads the add-in
 * into a running Outlook) it reads the version and profile, starts listening to the
 * send/receive errors (outlook.c) and starts the worker; at shutdown it stops both
 * without waiting for a sign-in that may still be open in the browser.
 */
#define COBJMACROS
#include "addin.h"
#include "idtext.h"

struct xb_addin {
    IDTExtensibility2 IDTExtensibility2_iface;
    LONG refs;
    IDispatch *application; /* Outlook's Application, held from connect to disconnect */
    int connect_mode;
    struct xb_outlook *events;
    struct xb_worker *worker;
    HWND ui;                /* message-only window: the worker's way onto this thread */
};

static UINT wm_quit_outlook;
static const wchar_t ui_class[] = L"XOAuthBridge.AddinUI";

#define CONNECT_MODE_AFTER_STARTUP 0
#define STOP_WAIT_MS 100

static void on_error(void *ctx, uint32_t code, const char *text)
{
    xb_worker_failure(ctx, code, text);
}

/* The person chose to restart Outlook (the companion's notification): only this thread
 * may call the object model, so the worker posts here. */
static LRESULT CALLBACK ui_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == wm_quit_outlook && wm_quit_outlook) {
        struct xb_addin *self = (struct xb_addin *)GetWindowLongPtrW(hwnd, GWLP_USERDATA);
        if (self && self->application) {
            HRESULT hr = xb_outlook_quit(self->application);
            xb_addin_log("asked Outlook to quit for the restart the person chose (0x%08lx)",
                         (unsigned long)hr);
        }
        return 0;
    }
    return DefWindowProcW(hwnd, msg, wp, lp);
}

static HWND make_ui_window(struct xb_addin *self)
{
    WNDCLASSW wc = { 0 };
    wc.lpfnWndProc = ui_proc;
    wc.hInstance = xb_addin_module;
    wc.lpszClassName = ui_class;
    wm_quit_outlook = RegisterWindowMessageW(XB_WM_QUIT_NAME);
    if (!wm_quit_outlook || (!RegisterClassW(&wc) && GetLastError() != ERROR_CLASS_ALREADY_EXISTS))
        return NULL;
    HWND hwnd = CreateWindowExW(0, ui_class, L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL,
                                xb_addin_module, NULL);
    if (hwnd)
        SetWindowLongPtrW(hwnd, GWLP_USERDATA, (LONG_PTR)self);
    return hwnd;
}

/* Everything the add-in does in Outlook's thread: a few object model reads. */
static void begin(struct xb_addin *self)
{
    char version[64];
    wchar_t profile[128];
    if (self->worker || !self->application)
        return;
    xb_outlook_identify(self->application, version, sizeof(version), profile,
                        ARRAYSIZE(profile));
    self->ui = make_ui_window(self);
    if (!self->ui)
        xb_addin_log("cannot make the add-in's window: a restart must be done by hand");
    self->worker = xb_worker_start(version, profile, self->ui);
    if (!self->worker) {
        xb_addin_log("cannot start the add-in's worker thread: the add-in does nothing");
        return;
    }
    self->events = xb_outlook_listen(self->application, on_error, self->worker);
    if (!self->events)
        xb_addin_log("Outlook offers no send/receive events: failures are not noticed");
}

static void end(struct xb_addin *self)
{
    xb_outlook_unlisten(self->events);
    self->events = NULL;
    xb_worker_stop(self->worker, STOP_WAIT_MS);
    self->worker = NULL;
    if (self->ui) {
        /* Gone before the DLL may be: no window may call into unloaded code. */
        DestroyWindow(self->ui);
        self->ui = NULL;
        UnregisterClassW(ui_class, xb_addin_module);
    }
}

static struct xb_addin *impl_from_IDTExtensibility2(IDTExtensibility2 *iface)
{
    return CONTAINING_RECORD(iface, struct xb_addin, IDTExtensibility2_iface);
}

static HRESULT STDMETHODCALLTYPE addin_QueryInterface(IDTExtensibility2 *iface, REFIID riid,
                                                      void **ppv)
{
    if (!ppv)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IDispatch) ||
        IsEqualIID(riid, &IID_IDTExtensibility2)) {
        *ppv = iface;
        iface->lpVtbl->AddRef(iface);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE addin_AddRef(IDTExtensibility2 *iface)
{
    return (ULONG)InterlockedIncrement(&impl_from_IDTExtensibility2(iface)->refs);
}

static ULONG STDMETHODCALLTYPE addin_Release(IDTExtensibility2 *iface)
{
    struct xb_addin *self = impl_from_IDTExtensibility2(iface);
    LONG refs = InterlockedDecrement(&self->refs);
    if (refs == 0) {
        end(self);
        if (self->application)
            IDispatch_Release(self->application);
        HeapFree(GetProcessHeap(), 0, self);
        xb_addin_unlock();
    }
    return (ULONG)refs;
}

static HRESULT STDMETHODCALLTYPE addin_OnConnection(IDTExtensibility2 *iface, IDispatch *app,
                                                    int mode, IDispatch *addin_inst,
                                                    SAFEARRAY **custom)
{
    struct xb_addin *self = impl_from_IDTExtensibility2(iface);
    if (!app)
        return E_POINTER;
    if (self->application)
        IDispatch_Release(self->application);
    IDispatch_AddRef(app);
    self->application = app;
    self->connect_mode = mode;
    /* Loaded into a running Outlook: no OnStartupComplete will come. */
    if (mode == CONNECT_MODE_AFTER_STARTUP)
        begin(self);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE addin_OnDisconnection(IDTExtensibility2 *iface, int mode,
                                                       SAFEARRAY **custom)
{
    struct xb_addin *self = impl_from_IDTExtensibility2(iface);
    end(self);
    if (self->application) {
        IDispatch_Release(self->application);
        self->application = NULL;
    }
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE addin_OnAddInsUpdate(IDTExtensibility2 *iface,
                                                      SAFEARRAY **custom)
{
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE addin_OnStartupComplete(IDTExtensibility2 *iface,
                                                         SAFEARRAY **custom)
{
    begin(impl_from_IDTExtensibility2(iface));
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE addin_OnBeginShutdown(IDTExtensibility2 *iface,
                                                       SAFEARRAY **custom)
{
    end(impl_from_IDTExtensibility2(iface));
    return S_OK;
}

/* --- IDispatch: Office calls through the vtable, but script hosts use Invoke ------ */

static HRESULT STDMETHODCALLTYPE addin_GetTypeInfoCount(IDTExtensibility2 *iface, UINT *count)
{
    if (!count)
        return E_POINTER;
    *count = 0;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE addin_GetTypeInfo(IDTExtensibility2 *iface, UINT index,
                                                   LCID lcid, ITypeInfo **info)
{
    if (info)
        *info = NULL;
    return DISP_E_BADINDEX;
}

static const struct {
    const WCHAR *name;
    DISPID id;
} addin_names[] = {
    { L"OnConnection", XB_DISPID_OnConnection },
    { L"OnDisconnection", XB_DISPID_OnDisconnection },
    { L"OnAddInsUpdate", XB_DISPID_OnAddInsUpdate },
    { L"OnStartupComplete", XB_DISPID_OnStartupComplete },
    { L"OnBeginShutdown", XB_DISPID_OnBeginShutdown },
};

static HRESULT STDMETHODCALLTYPE addin_GetIDsOfNames(IDTExtensibility2 *iface, REFIID riid,
                                                     LPOLESTR *names, UINT count, LCID lcid,
                                                     DISPID *ids)
{
    HRESULT hr = S_OK;
    for (UINT i = 0; i < count; i++) {
        ids[i] = DISPID_UNKNOWN;
        for (size_t j = 0; i == 0 && j < ARRAYSIZE(addin_names); j++) {
            if (lstrcmpiW(names[0], addin_names[j].name) == 0)
                ids[0] = addin_names[j].id;
        }
        if (ids[i] == DISPID_UNKNOWN)
            hr = DISP_E_UNKNOWNNAME;
    }
    return hr;
}

static HRESULT STDMETHODCALLTYPE addin_Invoke(IDTExtensibility2 *iface, DISPID id, REFIID riid,
                                              LCID lcid, WORD flags, DISPPARAMS *params,
                                              VARIANT *result, EXCEPINFO *excep, UINT *argerr)
{
    VARIANT app, mode;
    HRESULT hr;

    if (!(flags & DISPATCH_METHOD))
        return DISP_E_MEMBERNOTFOUND;
    switch (id) {
    case XB_DISPID_OnConnection:
        VariantInit(&app);
        VariantInit(&mode);
        hr = DispGetParam(params, 0, VT_DISPATCH, &app, argerr);
        if (SUCCEEDED(hr))
            hr = DispGetParam(params, 1, VT_I4, &mode, argerr);
        if (SUCCEEDED(hr))
            hr = addin_OnConnection(iface, V_DISPATCH(&app), V_I4(&mode), NULL, NULL);
        VariantClear(&app);
        return hr;
    case XB_DISPID_OnDisconnection:
        VariantInit(&mode);
        hr = DispGetParam(params, 0, VT_I4, &mode, argerr);
        return SUCCEEDED(hr) ? addin_OnDisconnection(iface, V_I4(&mode), NULL) : hr;
    case XB_DISPID_OnAddInsUpdate:
        return addin_OnAddInsUpdate(iface, NULL);
    case XB_DISPID_OnStartupComplete:
        return addin_OnStartupComplete(iface, NULL);
    case XB_DISPID_OnBeginShutdown:
        return addin_OnBeginShutdown(iface, NULL);
    default:
        return DISP_E_MEMBERNOTFOUND;
    }
}

static const IDTExtensibility2Vtbl addin_vtbl = {
    .QueryInterface = addin_QueryInterface,
    .AddRef = addin_AddRef,
    .Release = addin_Release,
    .GetTypeInfoCount = addin_GetTypeInfoCount,
    .GetTypeInfo = addin_GetTypeInfo,
    .GetIDsOfNames = addin_GetIDsOfNames,
    .Invoke = addin_Invoke,
    .OnConnection = addin_OnConnection,
    .OnDisconnection = addin_OnDisconnection,
    .OnAddInsUpdate = addin_OnAddInsUpdate,
    .OnStartupComplete = addin_OnStartupComplete,
    .OnBeginShutdown = addin_OnBeginShutdown,
};

HRESULT xb_addin_create(REFIID riid, void **ppv)
{
    struct xb_addin *self = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*self));
    if (!self)
        return E_OUTOFMEMORY;
    self->IDTExtensibility2_iface.lpVtbl = &addin_vtbl;
    self->refs = 1;
    xb_addin_lock();
    HRESULT hr = addin_QueryInterface(&self->IDTExtensibility2_iface, riid, ppv);
    addin_Release(&self->IDTExtensibility2_iface);
    return hr;
}
