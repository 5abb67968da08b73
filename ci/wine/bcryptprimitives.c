/*
 * A minimal bcryptprimitives.dll for running nbio's Windows test binaries
 * under Wine versions that do not ship one (Debian's Wine 8.0 has no
 * bcryptprimitives.dll at all).
 *
 * Rust's standard library (1.78 and later) fills its hash-map seeds and
 * other random state from ProcessPrng, which it imports from this DLL; an
 * executable whose import cannot be resolved is refused at load time, so
 * without this file no Rust test executable starts. The Windows
 * documentation describes ProcessPrng as "fill this buffer with random
 * bytes, never fails"; here it is served by RtlGenRandom (exported by
 * advapi32 as SystemFunction036), which Wine implements on top of the host
 * system's random source.
 *
 * Build (ci/wine/setup does this):
 *   x86_64-w64-mingw32-gcc -O2 -shared -nostdlib \
 *       -Wl,--entry,DllMainCRTStartup -Wl,--no-insert-timestamp -s \
 *       -o bcryptprimitives.dll bcryptprimitives.c bcryptprimitives.def \
 *       -ladvapi32 -lkernel32
 */
#include <windows.h>

/* advapi32!SystemFunction036, a.k.a. RtlGenRandom. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/*
 * BOOL ProcessPrng(PBYTE pbData, SIZE_T cbData)
 *
 * RtlGenRandom takes a 32-bit length, ProcessPrng a pointer-sized one:
 * larger requests are served in chunks. Real ProcessPrng always returns
 * TRUE; if the host random source ever fails we terminate the process
 * rather than hand back predictable bytes.
 */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    const SIZE_T chunk_max = 0x40000000; /* 1 GiB per RtlGenRandom call */

    while (length > 0) {
        ULONG chunk = (ULONG)(length < chunk_max ? length : chunk_max);
        if (!SystemFunction036(data, chunk))
            TerminateProcess(GetCurrentProcess(), 0xC0000001u /* STATUS_UNSUCCESSFUL */);
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

/* -nostdlib: no CRT, so the entry point is ours and has nothing to set up. */
BOOL WINAPI DllMainCRTStartup(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
