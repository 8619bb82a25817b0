/*
 * What another user of the PC would plant: a DLL that, once loaded into a process,
 * leaves a marker file (the path in %XB_MARKER%) with the loading program's name. An
 * engine or provider section of a planted openssl.cnf names it; test_tls_trust.py
 * checks that the companion never loads it, and that it does leave its marker when a
 * program does load it.
 */
#include <windows.h>

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst;
    (void)reserved;
    if (reason != DLL_PROCESS_ATTACH)
        return TRUE;
    wchar_t path[MAX_PATH], exe[MAX_PATH];
    DWORD n = GetEnvironmentVariableW(L"XB_MARKER", path, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        return TRUE;
    DWORD len = GetModuleFileNameW(NULL, exe, MAX_PATH);
    HANDLE h = CreateFileW(path, FILE_APPEND_DATA, FILE_SHARE_READ, NULL, OPEN_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    if (h != INVALID_HANDLE_VALUE) {
        DWORD done;
        WriteFile(h, exe, len * (DWORD)sizeof(wchar_t), &done, NULL);
        WriteFile(h, L"\r\n", 4, &done, NULL);
        CloseHandle(h);
    }
    return TRUE;
}
