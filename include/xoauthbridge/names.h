/*
 * Names both ends agree on: the add-in (Outlook's process, 32- or 64-bit) and the
 * companion. Changing one of these is a compatibility break with installed copies.
 */
#ifndef XOAUTHBRIDGE_NAMES_H
#define XOAUTHBRIDGE_NAMES_H

#define XB_PRODUCT_NAME      "XOAuth Bridge"
#define XB_VENDOR_NAME       "XOAuth Bridge"
#define XB_EXE_NAME          "xoauthbridge"

/* COM identity of the Outlook add-in. */
#define XB_ADDIN_PROGID      "XOAuthBridge.Addin"
#define XB_ADDIN_CLSID_STR   "{6F1C2B7A-3E54-4D8B-9A1F-0B7E2C5D4A91}"
/* The same CLSID as DEFINE_GUID arguments (see XB_DEFINE_GUID in the add-in). */
#define XB_ADDIN_CLSID_INIT  0x6f1c2b7a, 0x3e54, 0x4d8b, \
                             0x9a, 0x1f, 0x0b, 0x7e, 0x2c, 0x5d, 0x4a, 0x91
#define XB_ADDIN_FRIENDLY    "XOAuth Bridge for Gmail"
#define XB_ADDIN_DESCRIPTION "Signs Outlook in to Gmail and Google Workspace with OAuth2 " \
                             "through the XOAuth Bridge companion."

/* Registry: machine and user policy (ADMX) and the product's own keys. */
#define XB_POLICY_KEY        "Software\\Policies\\XOAuthBridge"
#define XB_PRODUCT_KEY       "Software\\XOAuthBridge"

/* The companion on Windows: its Windows Event Log source (the MSI registers it under
 * HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application with the executable
 * as EventMessageFile), its per-user autostart value under
 * Software\Microsoft\Windows\CurrentVersion\Run (HKCU: `xoauthbridge autostart on`;
 * HKLM: the MSI), and the arguments an autostart entry passes. */
#define XB_EVENT_SOURCE      "XOAuthBridge"
#define XB_RUN_KEY           "Software\\Microsoft\\Windows\\CurrentVersion\\Run"
#define XB_RUN_VALUE         "XOAuthBridge"
#define XB_AUTOSTART_ARGS    "tray --autostart"

#endif
