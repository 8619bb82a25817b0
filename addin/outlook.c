/*
 * What the add-in asks of Outlook's object model, through IDispatch by name (the same
 * on every Outlook version): Application.Version, Session.CurrentProfileName, and each
 * SyncObject's events through IConnectionPointContainer. Outlook 2013 and later refuse
 * object model calls from other threads, so everything here runs on Outlook's UI thread
 * and only copies what it learns; the sink hands OnError to the worker and returns.
 */
#define COBJMACROS
#include "addin.h"

#include <ocidl.h>
#include <oleauto.h>

#include <string.h>

#define MAX_SYNC_OBJECTS 16
#define DISPID_SYNC_ONERROR 0xF003

/* SyncObjectEvents, a dispinterface (reference/outlook.md). */
static const GUID diid_sync_events = {
    0x00063085, 0x0000, 0x0000, { 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46 }
};

struct sink {
    IDispatch IDispatch_iface;
    LONG refs;
    xb_outlook_error_fn *fn;
    void *ctx;
};

struct xb_outlook {
    struct sink *sink;
    IConnectionPoint *cps[MAX_SYNC_OBJECTS];
    DWORD cookies[MAX_SYNC_OBJECTS];
    unsigned n;
};

/* --- IDispatch by name ----------------------------------------------------------------- */

static HRESULT invoke(IDispatch *obj, const wchar_t *name, WORD flags, DISPPARAMS *params,
                      VARIANT *out)
{
    DISPID id;
    wchar_t copy[64]; /* GetIDsOfNames takes non-const names */
    wcsncpy(copy, name, ARRAYSIZE(copy) - 1);
    copy[ARRAYSIZE(copy) - 1] = L'\0';
    LPOLESTR n = copy;
    DISPPARAMS none = { NULL, NULL, 0, 0 };
    HRESULT hr = IDispatch_GetIDsOfNames(obj, &IID_NULL, &n, 1, LOCALE_USER_DEFAULT, &id);
    if (FAILED(hr))
        return hr;
    VariantInit(out);
    return IDispatch_Invoke(obj, id, &IID_NULL, LOCALE_USER_DEFAULT, flags,
                            params ? params : &none, out, NULL, NULL);
}

HRESULT xb_outlook_quit(IDispatch *app)
{
    VARIANT v;
    HRESULT hr = invoke(app, L"Quit", DISPATCH_METHOD, NULL, &v);
    if (SUCCEEDED(hr))
        VariantClear(&v);
    return hr;
}

static IDispatch *get_object(IDispatch *obj, const wchar_t *name)
{
    VARIANT v;
    if (FAILED(invoke(obj, name, DISPATCH_PROPERTYGET, NULL, &v)))
        return NULL;
    if (V_VT(&v) != VT_DISPATCH || !V_DISPATCH(&v)) {
        VariantClear(&v);
        return NULL;
    }
    return V_DISPATCH(&v); /* the reference moves to the caller */
}

static void get_string(IDispatch *obj, const wchar_t *name, wchar_t *out, size_t n)
{
    VARIANT v;
    out[0] = L'\0';
    if (FAILED(invoke(obj, name, DISPATCH_PROPERTYGET, NULL, &v)))
        return;
    if (V_VT(&v) == VT_BSTR && V_BSTR(&v)) {
        wcsncpy(out, V_BSTR(&v), n - 1);
        out[n - 1] = L'\0';
    }
    VariantClear(&v);
}

void xb_outlook_identify(IDispatch *app, char *version, size_t vn, wchar_t *profile, size_t pn)
{
    wchar_t w[64];
    get_string(app, L"Version", w, ARRAYSIZE(w));
    if (WideCharToMultiByte(CP_UTF8, 0, w, -1, version, (int)vn, NULL, NULL) <= 0)
        version[0] = '\0';
    profile[0] = L'\0';
    IDispatch *session = get_object(app, L"Session");
    if (session) {
        get_string(session, L"CurrentProfileName", profile, pn);
        IDispatch_Release(session);
    }
}

/* --- the event sink ---------------------------------------------------------------------- */

static struct sink *impl_from_IDispatch(IDispatch *iface)
{
    return CONTAINING_RECORD(iface, struct sink, IDispatch_iface);
}

static HRESULT STDMETHODCALLTYPE sink_QueryInterface(IDispatch *iface, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IDispatch) ||
        IsEqualIID(riid, &diid_sync_events)) {
        *ppv = iface;
        IDispatch_AddRef(iface);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE sink_AddRef(IDispatch *iface)
{
    return (ULONG)InterlockedIncrement(&impl_from_IDispatch(iface)->refs);
}

static ULONG STDMETHODCALLTYPE sink_Release(IDispatch *iface)
{
    struct sink *self = impl_from_IDispatch(iface);
    LONG refs = InterlockedDecrement(&self->refs);
    if (refs == 0) {
        HeapFree(GetProcessHeap(), 0, self);
        xb_addin_unlock();
    }
    return (ULONG)refs;
}

static HRESULT STDMETHODCALLTYPE sink_GetTypeInfoCount(IDispatch *iface, UINT *count)
{
    if (!count)
        return E_POINTER;
    *count = 0;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE sink_GetTypeInfo(IDispatch *iface, UINT index, LCID lcid,
                                                  ITypeInfo **info)
{
    if (info)
        *info = NULL;
    return DISP_E_BADINDEX;
}

static HRESULT STDMETHODCALLTYPE sink_GetIDsOfNames(IDispatch *iface, REFIID riid,
                                                    LPOLESTR *names, UINT count, LCID lcid,
                                                    DISPID *ids)
{
    for (UINT i = 0; i < count; i++)
        ids[i] = DISPID_UNKNOWN;
    return DISP_E_UNKNOWNNAME;
}

/* OnError(long Code, BSTR Description); the other events need nothing. */
static HRESULT STDMETHODCALLTYPE sink_Invoke(IDispatch *iface, DISPID id, REFIID riid,
                                             LCID lcid, WORD flags, DISPPARAMS *params,
                                             VARIANT *result, EXCEPINFO *excep, UINT *argerr)
{
    struct sink *self = impl_from_IDispatch(iface);
    VARIANT code, desc;
    char text[2048];

    if (id != DISPID_SYNC_ONERROR || !params)
        return S_OK;
    VariantInit(&code);
    VariantInit(&desc);
    /* DispGetParam counts from the first declared parameter (rgvarg is reversed). */
    if (SUCCEEDED(DispGetParam(params, 0, VT_I4, &code, argerr)) &&
        SUCCEEDED(DispGetParam(params, 1, VT_BSTR, &desc, argerr))) {
        text[0] = '\0';
        if (V_BSTR(&desc) &&
            WideCharToMultiByte(CP_UTF8, 0, V_BSTR(&desc), -1, text, sizeof(text), NULL,
                                NULL) <= 0) {
            /* Longer than we keep: the start has the task and the code. */
            int n = WideCharToMultiByte(CP_UTF8, 0, V_BSTR(&desc),
                                        (int)min(SysStringLen(V_BSTR(&desc)), 600), text,
                                        sizeof(text) - 1, NULL, NULL);
            text[n > 0 ? n : 0] = '\0';
        }
        self->fn(self->ctx, (uint32_t)V_I4(&code), text);
    }
    VariantClear(&code);
    VariantClear(&desc);
    return S_OK;
}

static const IDispatchVtbl sink_vtbl = {
    .QueryInterface = sink_QueryInterface,
    .AddRef = sink_AddRef,
    .Release = sink_Release,
    .GetTypeInfoCount = sink_GetTypeInfoCount,
    .GetTypeInfo = sink_GetTypeInfo,
    .GetIDsOfNames = sink_GetIDsOfNames,
    .Invoke = sink_Invoke,
};

/* --- advising ------------------------------------------------------------------------------ */

static void advise(struct xb_outlook *ol, IDispatch *sync)
{
    IConnectionPointContainer *cpc = NULL;
    IConnectionPoint *cp = NULL;
    DWORD cookie = 0;
    if (FAILED(IDispatch_QueryInterface(sync, &IID_IConnectionPointContainer, (void **)&cpc)))
        return;
    if (SUCCEEDED(IConnectionPointContainer_FindConnectionPoint(cpc, &diid_sync_events, &cp))) {
        if (SUCCEEDED(IConnectionPoint_Advise(cp, (IUnknown *)&ol->sink->IDispatch_iface,
                                              &cookie))) {
            ol->cps[ol->n] = cp;
            ol->cookies[ol->n] = cookie;
            ol->n++;
        } else {
            IConnectionPoint_Release(cp);
        }
    }
    IConnectionPointContainer_Release(cpc);
}

struct xb_outlook *xb_outlook_listen(IDispatch *app, xb_outlook_error_fn *fn, void *ctx)
{
    struct xb_outlook *ol = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*ol));
    IDispatch *session = NULL, *syncs = NULL;
    VARIANT count;
    if (!ol)
        return NULL;
    ol->sink = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*ol->sink));
    if (!ol->sink)
        goto fail;
    ol->sink->IDispatch_iface.lpVtbl = &sink_vtbl;
    ol->sink->refs = 1;
    ol->sink->fn = fn;
    ol->sink->ctx = ctx;
    xb_addin_lock();

    session = get_object(app, L"Session");
    syncs = session ? get_object(session, L"SyncObjects") : NULL;
    if (!syncs || FAILED(invoke(syncs, L"Count", DISPATCH_PROPERTYGET, NULL, &count)))
        goto done;
    if (FAILED(VariantChangeType(&count, &count, 0, VT_I4))) {
        VariantClear(&count);
        goto done;
    }
    /* Send/Receive groups: "All Accounts" and any the person made. Items count from 1. */
    for (LONG i = 1; i <= V_I4(&count) && ol->n < MAX_SYNC_OBJECTS; i++) {
        VARIANT arg, item;
        V_VT(&arg) = VT_I4;
        V_I4(&arg) = i;
        DISPPARAMS p = { &arg, NULL, 1, 0 };
        if (FAILED(invoke(syncs, L"Item", DISPATCH_METHOD | DISPATCH_PROPERTYGET, &p, &item)))
            continue;
        if (V_VT(&item) == VT_DISPATCH && V_DISPATCH(&item))
            advise(ol, V_DISPATCH(&item));
        VariantClear(&item);
    }
done:
    if (syncs)
        IDispatch_Release(syncs);
    if (session)
        IDispatch_Release(session);
    if (ol->n == 0) {
        xb_outlook_unlisten(ol);
        return NULL;
    }
    return ol;
fail:
    HeapFree(GetProcessHeap(), 0, ol);
    return NULL;
}

void xb_outlook_unlisten(struct xb_outlook *ol)
{
    if (!ol)
        return;
    for (unsigned i = 0; i < ol->n; i++) {
        IConnectionPoint_Unadvise(ol->cps[i], ol->cookies[i]);
        IConnectionPoint_Release(ol->cps[i]);
    }
    if (ol->sink)
        IDispatch_Release(&ol->sink->IDispatch_iface);
    HeapFree(GetProcessHeap(), 0, ol);
}
