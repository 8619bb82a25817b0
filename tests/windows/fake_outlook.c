/*
 * The stand-in for Outlook's object model (fake_outlook.h). Written from
 * reference/outlook.md, not from the add-in: names are resolved by GetIDsOfNames,
 * collections count from 1, events go through IConnectionPoint::Advise with the
 * SyncObjectEvents DIID, and OnError's arguments arrive reversed in rgvarg.
 */
#define COBJMACROS
#include "fake_outlook.h"

#include <oleauto.h>
#include <olectl.h>

#include <string.h>

static const GUID diid_sync_events = {
    0x00063085, 0x0000, 0x0000, { 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46 }
};

enum {
    ID_VERSION = 100, ID_SESSION, ID_PROFILE, ID_SYNCOBJECTS, ID_COUNT, ID_ITEM, ID_NAME,
    ID_QUIT,
};

static const struct {
    enum fo_kind kind;
    const WCHAR *name;
    DISPID id;
} names[] = {
    { FO_APP, L"Version", ID_VERSION },
    { FO_APP, L"Quit", ID_QUIT },
    { FO_APP, L"Session", ID_SESSION },
    { FO_APP, L"GetNamespace", ID_SESSION },
    { FO_NS, L"CurrentProfileName", ID_PROFILE },
    { FO_NS, L"SyncObjects", ID_SYNCOBJECTS },
    { FO_SYNCS_COLL, L"Count", ID_COUNT },
    { FO_SYNCS_COLL, L"Item", ID_ITEM },
    { FO_SYNC, L"Name", ID_NAME },
};

static struct fo_obj *from_disp(IDispatch *d)
{
    return CONTAINING_RECORD(d, struct fo_obj, IDispatch_iface);
}

static struct fo_obj *from_cpc(IConnectionPointContainer *c)
{
    return CONTAINING_RECORD(c, struct fo_obj, IConnectionPointContainer_iface);
}

static struct fo_obj *from_cp(IConnectionPoint *c)
{
    return CONTAINING_RECORD(c, struct fo_obj, IConnectionPoint_iface);
}

/* --- IDispatch ----------------------------------------------------------------------- */

static HRESULT STDMETHODCALLTYPE d_QueryInterface(IDispatch *This, REFIID riid, void **ppv)
{
    struct fo_obj *o = from_disp(This);
    *ppv = NULL;
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IDispatch))
        *ppv = &o->IDispatch_iface;
    else if (o->kind == FO_SYNC && IsEqualIID(riid, &IID_IConnectionPointContainer))
        *ppv = &o->IConnectionPointContainer_iface;
    if (!*ppv)
        return E_NOINTERFACE;
    InterlockedIncrement(&o->refs);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE d_AddRef(IDispatch *This)
{
    return (ULONG)InterlockedIncrement(&from_disp(This)->refs);
}

static ULONG STDMETHODCALLTYPE d_Release(IDispatch *This)
{
    return (ULONG)InterlockedDecrement(&from_disp(This)->refs);
}

static HRESULT STDMETHODCALLTYPE d_GetTypeInfoCount(IDispatch *This, UINT *n)
{
    *n = 0;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE d_GetTypeInfo(IDispatch *This, UINT i, LCID l, ITypeInfo **t)
{
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE d_GetIDsOfNames(IDispatch *This, REFIID r, LPOLESTR *n,
                                                 UINT c, LCID l, DISPID *ids)
{
    struct fo_obj *o = from_disp(This);
    if (c != 1)
        return DISP_E_UNKNOWNNAME;
    for (size_t i = 0; i < ARRAYSIZE(names); i++) {
        if (names[i].kind == o->kind && lstrcmpiW(names[i].name, n[0]) == 0) {
            ids[0] = names[i].id;
            return S_OK;
        }
    }
    ids[0] = DISPID_UNKNOWN;
    return DISP_E_UNKNOWNNAME;
}

static void ret_object(VARIANT *v, struct fo_obj *o)
{
    V_VT(v) = VT_DISPATCH;
    V_DISPATCH(v) = &o->IDispatch_iface;
    InterlockedIncrement(&o->refs);
}

static HRESULT STDMETHODCALLTYPE d_Invoke(IDispatch *This, DISPID id, REFIID r, LCID l,
                                          WORD flags, DISPPARAMS *p, VARIANT *v, EXCEPINFO *e,
                                          UINT *a)
{
    struct fo_obj *o = from_disp(This);
    struct fake_outlook *ol = o->ol;
    VARIANT idx;
    ol->calls++;
    if (!v)
        return E_POINTER;
    VariantInit(v);
    switch (id) {
    case ID_VERSION:
        V_VT(v) = VT_BSTR;
        V_BSTR(v) = SysAllocString(ol->version);
        return S_OK;
    case ID_SESSION:
        ret_object(v, &ol->ns);
        return S_OK;
    case ID_PROFILE:
        V_VT(v) = VT_BSTR;
        V_BSTR(v) = SysAllocString(ol->profile);
        return S_OK;
    case ID_SYNCOBJECTS:
        ret_object(v, &ol->syncs);
        return S_OK;
    case ID_COUNT:
        V_VT(v) = VT_I4;
        V_I4(v) = FO_SYNCS;
        return S_OK;
    case ID_ITEM:
        VariantInit(&idx);
        if (!p || p->cArgs != 1 || FAILED(VariantChangeType(&idx, &p->rgvarg[0], 0, VT_I4)))
            return DISP_E_BADPARAMCOUNT;
        if (V_I4(&idx) < 1 || V_I4(&idx) > FO_SYNCS)
            return DISP_E_BADINDEX;
        ret_object(v, &ol->sync[V_I4(&idx) - 1]);
        return S_OK;
    case ID_QUIT:
        /* Outlook closes as the person would close it; the host ends its wait. */
        if (!(flags & DISPATCH_METHOD))
            return DISP_E_MEMBERNOTFOUND;
        InterlockedExchange(&ol->quit_requested, 1);
        return S_OK;
    case ID_NAME:
        V_VT(v) = VT_BSTR;
        V_BSTR(v) = SysAllocString(o->index == 0 ? L"All Accounts" : L"Gmail only");
        return S_OK;
    default:
        return DISP_E_MEMBERNOTFOUND;
    }
}

static const IDispatchVtbl disp_vtbl = {
    d_QueryInterface, d_AddRef, d_Release, d_GetTypeInfoCount, d_GetTypeInfo,
    d_GetIDsOfNames, d_Invoke,
};

/* --- IConnectionPointContainer ---------------------------------------------------------- */

static HRESULT STDMETHODCALLTYPE cpc_QueryInterface(IConnectionPointContainer *This,
                                                    REFIID riid, void **ppv)
{
    return d_QueryInterface(&from_cpc(This)->IDispatch_iface, riid, ppv);
}

static ULONG STDMETHODCALLTYPE cpc_AddRef(IConnectionPointContainer *This)
{
    return d_AddRef(&from_cpc(This)->IDispatch_iface);
}

static ULONG STDMETHODCALLTYPE cpc_Release(IConnectionPointContainer *This)
{
    return d_Release(&from_cpc(This)->IDispatch_iface);
}

static HRESULT STDMETHODCALLTYPE cpc_EnumConnectionPoints(IConnectionPointContainer *This,
                                                          IEnumConnectionPoints **e)
{
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE cpc_FindConnectionPoint(IConnectionPointContainer *This,
                                                         REFIID riid, IConnectionPoint **cp)
{
    struct fo_obj *o = from_cpc(This);
    *cp = NULL;
    if (!IsEqualIID(riid, &diid_sync_events))
        return CONNECT_E_NOCONNECTION;
    *cp = &o->IConnectionPoint_iface;
    InterlockedIncrement(&o->refs);
    return S_OK;
}

static const IConnectionPointContainerVtbl cpc_vtbl = {
    cpc_QueryInterface, cpc_AddRef, cpc_Release, cpc_EnumConnectionPoints,
    cpc_FindConnectionPoint,
};

/* --- IConnectionPoint ------------------------------------------------------------------- */

static HRESULT STDMETHODCALLTYPE cp_QueryInterface(IConnectionPoint *This, REFIID riid,
                                                   void **ppv)
{
    struct fo_obj *o = from_cp(This);
    if (IsEqualIID(riid, &IID_IConnectionPoint) || IsEqualIID(riid, &IID_IUnknown)) {
        *ppv = This;
        InterlockedIncrement(&o->refs);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE cp_AddRef(IConnectionPoint *This)
{
    return (ULONG)InterlockedIncrement(&from_cp(This)->refs);
}

static ULONG STDMETHODCALLTYPE cp_Release(IConnectionPoint *This)
{
    return (ULONG)InterlockedDecrement(&from_cp(This)->refs);
}

static HRESULT STDMETHODCALLTYPE cp_GetConnectionInterface(IConnectionPoint *This, IID *iid)
{
    *iid = diid_sync_events;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE cp_GetConnectionPointContainer(IConnectionPoint *This,
                                                                IConnectionPointContainer **c)
{
    struct fo_obj *o = from_cp(This);
    *c = &o->IConnectionPointContainer_iface;
    InterlockedIncrement(&o->refs);
    return S_OK;
}

/* As COM's connection points do: the sink must answer the event interface. */
static HRESULT STDMETHODCALLTYPE cp_Advise(IConnectionPoint *This, IUnknown *unk, DWORD *cookie)
{
    struct fo_obj *o = from_cp(This);
    IDispatch *sink = NULL;
    if (o->sink)
        return CONNECT_E_ADVISELIMIT;
    if (FAILED(IUnknown_QueryInterface(unk, &diid_sync_events, (void **)&sink)))
        return CONNECT_E_CANNOTCONNECT;
    o->sink = sink;
    *cookie = 0x5000 + (DWORD)o->index;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE cp_Unadvise(IConnectionPoint *This, DWORD cookie)
{
    struct fo_obj *o = from_cp(This);
    if (!o->sink || cookie != 0x5000 + (DWORD)o->index)
        return CONNECT_E_NOCONNECTION;
    IDispatch_Release(o->sink);
    o->sink = NULL;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE cp_EnumConnections(IConnectionPoint *This,
                                                    IEnumConnections **e)
{
    return E_NOTIMPL;
}

static const IConnectionPointVtbl cp_vtbl = {
    cp_QueryInterface, cp_AddRef, cp_Release, cp_GetConnectionInterface,
    cp_GetConnectionPointContainer, cp_Advise, cp_Unadvise, cp_EnumConnections,
};

/* --- the whole ---------------------------------------------------------------------------- */

static void init_obj(struct fake_outlook *ol, struct fo_obj *o, enum fo_kind kind, int index)
{
    memset(o, 0, sizeof(*o));
    o->IDispatch_iface.lpVtbl = &disp_vtbl;
    o->IConnectionPointContainer_iface.lpVtbl = &cpc_vtbl;
    o->IConnectionPoint_iface.lpVtbl = &cp_vtbl;
    o->refs = 1;
    o->kind = kind;
    o->ol = ol;
    o->index = index;
}

void fake_outlook_init(struct fake_outlook *ol, const WCHAR *version, const WCHAR *profile)
{
    memset(ol, 0, sizeof(*ol));
    init_obj(ol, &ol->app, FO_APP, 0);
    init_obj(ol, &ol->ns, FO_NS, 0);
    init_obj(ol, &ol->syncs, FO_SYNCS_COLL, 0);
    for (int i = 0; i < FO_SYNCS; i++)
        init_obj(ol, &ol->sync[i], FO_SYNC, i);
    lstrcpynW(ol->version, version, ARRAYSIZE(ol->version));
    lstrcpynW(ol->profile, profile, ARRAYSIZE(ol->profile));
}

IDispatch *fake_outlook_app(struct fake_outlook *ol)
{
    return &ol->app.IDispatch_iface;
}

int fake_outlook_raise_error(struct fake_outlook *ol, LONG code, const WCHAR *text)
{
    struct fo_obj *o = &ol->sync[0];
    VARIANT args[2];
    if (!o->sink)
        return 0;
    /* rgvarg is in reverse order: [0] is the last parameter (Description). */
    V_VT(&args[0]) = VT_BSTR;
    V_BSTR(&args[0]) = SysAllocString(text);
    V_VT(&args[1]) = VT_I4;
    V_I4(&args[1]) = code;
    DISPPARAMS dp = { args, NULL, 2, 0 };
    HRESULT hr = IDispatch_Invoke(o->sink, 0xF003, &IID_NULL, LOCALE_USER_DEFAULT,
                                  DISPATCH_METHOD, &dp, NULL, NULL, NULL);
    SysFreeString(V_BSTR(&args[0]));
    return SUCCEEDED(hr) ? 1 : 0;
}

int fake_outlook_advised(const struct fake_outlook *ol)
{
    int n = 0;
    for (int i = 0; i < FO_SYNCS; i++)
        n += ol->sync[i].sink != NULL;
    return n;
}

LONG fake_outlook_extra_refs(const struct fake_outlook *ol)
{
    LONG n = (ol->app.refs - 1) + (ol->ns.refs - 1) + (ol->syncs.refs - 1);
    for (int i = 0; i < FO_SYNCS; i++)
        n += ol->sync[i].refs - 1;
    return n;
}
