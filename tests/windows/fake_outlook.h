/*
 * Outlook's side of the object model as an add-in meets it (reference/outlook.md),
 * for the add-in host: Application (Version, Session, Quit), Namespace (CurrentProfileName,
 * SyncObjects), the SyncObjects collection (Count, Item from 1) and SyncObject with
 * IConnectionPointContainer for SyncObjectEvents, whose OnError the host raises the
 * way Outlook does (IDispatch::Invoke, DISPID 0xF003, arguments reversed).
 *
 * Everything is late-bound by name, as the real one answers. Objects live in one
 * struct and count their references, so the host can check that the add-in gives every
 * one back.
 */
#ifndef XB_FAKE_OUTLOOK_H
#define XB_FAKE_OUTLOOK_H

#include <windows.h>
#include <ocidl.h>

#define FO_SYNCS 2 /* "All Accounts" and one more send/receive group */

enum fo_kind { FO_APP, FO_NS, FO_SYNCS_COLL, FO_SYNC };

struct fo_obj {
    IDispatch IDispatch_iface;
    IConnectionPointContainer IConnectionPointContainer_iface;
    IConnectionPoint IConnectionPoint_iface;
    LONG refs;
    enum fo_kind kind;
    struct fake_outlook *ol;
    IDispatch *sink;              /* FO_SYNC: the advised SyncObjectEvents sink */
    int index;                    /* FO_SYNC: 0.. */
};

struct fake_outlook {
    struct fo_obj app, ns, syncs, sync[FO_SYNCS];
    WCHAR version[32];
    WCHAR profile[128];
    int calls;                    /* object model calls the add-in made */
    volatile LONG quit_requested; /* Application.Quit was called */
};

void fake_outlook_init(struct fake_outlook *ol, const WCHAR *version, const WCHAR *profile);
IDispatch *fake_outlook_app(struct fake_outlook *ol);
/* Raises OnError(code, text) on the first SyncObject, as Outlook does after a failed
 * send/receive. Returns the number of sinks it reached. */
int fake_outlook_raise_error(struct fake_outlook *ol, LONG code, const WCHAR *text);
/* Sinks still advised, and references held by others beyond the host's own one. */
int fake_outlook_advised(const struct fake_outlook *ol);
LONG fake_outlook_extra_refs(const struct fake_outlook *ol);

#endif
