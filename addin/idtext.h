/*
 * IDTExtensibility2, the interface Office calls on a COM add-in (from the Office
 * "msaddndr" type library, which MinGW does not ship). Dual: IDispatch first, then
 * five methods in this order; DISPIDs 1..5. Facts: shared/reference/outlook.md.
 */
#ifndef XB_IDTEXT_H
#define XB_IDTEXT_H

#include <windows.h>
#include <oaidl.h>

/* {B65AD801-ABAF-11D0-BB8B-00A0C90F2744} */
DEFINE_GUID(IID_IDTExtensibility2, 0xb65ad801, 0xabaf, 0x11d0,
            0xbb, 0x8b, 0x00, 0xa0, 0xc9, 0x0f, 0x27, 0x44);

enum xb_connect_mode { ext_cm_AfterStartup = 0, ext_cm_Startup = 1, ext_cm_External = 2,
                       ext_cm_CommandLine = 3 };
enum xb_disconnect_mode { ext_dm_HostShutdown = 0, ext_dm_UserClosed = 1 };

enum {
    XB_DISPID_OnConnection = 1,
    XB_DISPID_OnDisconnection = 2,
    XB_DISPID_OnAddInsUpdate = 3,
    XB_DISPID_OnStartupComplete = 4,
    XB_DISPID_OnBeginShutdown = 5,
};

typedef struct IDTExtensibility2 IDTExtensibility2;

typedef struct IDTExtensibility2Vtbl {
    /* IUnknown */
    HRESULT(STDMETHODCALLTYPE *QueryInterface)(IDTExtensibility2 *This, REFIID riid, void **ppv);
    ULONG(STDMETHODCALLTYPE *AddRef)(IDTExtensibility2 *This);
    ULONG(STDMETHODCALLTYPE *Release)(IDTExtensibility2 *This);
    /* IDispatch */
    HRESULT(STDMETHODCALLTYPE *GetTypeInfoCount)(IDTExtensibility2 *This, UINT *pctinfo);
    HRESULT(STDMETHODCALLTYPE *GetTypeInfo)(IDTExtensibility2 *This, UINT iTInfo, LCID lcid,
                                            ITypeInfo **ppTInfo);
    HRESULT(STDMETHODCALLTYPE *GetIDsOfNames)(IDTExtensibility2 *This, REFIID riid,
                                              LPOLESTR *rgszNames, UINT cNames, LCID lcid,
                                              DISPID *rgDispId);
    HRESULT(STDMETHODCALLTYPE *Invoke)(IDTExtensibility2 *This, DISPID dispIdMember, REFIID riid,
                                       LCID lcid, WORD wFlags, DISPPARAMS *pDispParams,
                                       VARIANT *pVarResult, EXCEPINFO *pExcepInfo,
                                       UINT *puArgErr);
    /* IDTExtensibility2 */
    HRESULT(STDMETHODCALLTYPE *OnConnection)(IDTExtensibility2 *This, IDispatch *Application,
                                             int ConnectMode, IDispatch *AddInInst,
                                             SAFEARRAY **custom);
    HRESULT(STDMETHODCALLTYPE *OnDisconnection)(IDTExtensibility2 *This, int RemoveMode,
                                                SAFEARRAY **custom);
    HRESULT(STDMETHODCALLTYPE *OnAddInsUpdate)(IDTExtensibility2 *This, SAFEARRAY **custom);
    HRESULT(STDMETHODCALLTYPE *OnStartupComplete)(IDTExtensibility2 *This, SAFEARRAY **custom);
    HRESULT(STDMETHODCALLTYPE *OnBeginShutdown)(IDTExtensibility2 *This, SAFEARRAY **custom);
} IDTExtensibility2Vtbl;

struct IDTExtensibility2 {
    const IDTExtensibility2Vtbl *lpVtbl;
};

#endif
