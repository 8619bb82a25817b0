/* Resource IDs of the tray, shared by tray.rc and the C code (plain defines: windres
 * reads this too). The first icon is also the program's icon. */
#ifndef XB_FRONT_WIN32_TRAY_RES_H
#define XB_FRONT_WIN32_TRAY_RES_H

#define IDI_XB_OK        101
#define IDI_XB_ATTENTION 102
#define IDI_XB_ERROR     103

#endif
