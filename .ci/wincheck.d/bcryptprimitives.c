/*
 * A stand-in bcryptprimitives.dll for Wine 8, which lacks it. Rust's std (and getrandom) on
 * Windows get random bytes from bcryptprimitives!ProcessPrng; this forwards to
 * advapi32!SystemFunction036 (RtlGenRandom), which Wine implements. Built and installed into a
 * throwaway Wine prefix by .ci/wincheck; never used on real Windows.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
