namespace Moat.Host;

/// <summary>The Sentry's own memory mappings (never the application's: those are made inside stubs).</summary>
public static class HostMemory
{
    public static readonly nint MapFailed = -1;

    /// <summary>mmap(2) in the Sentry. Returns the address, or -errno.</summary>
    public static long Mmap(nint addr, ulong length, int prot, int flags, int fd, long offset) =>
        HostResult.FromNint(Interop.Libc.mmap(addr, (nuint)length, prot, flags, fd, offset));

    public static long Munmap(nint addr, ulong length) =>
        HostResult.FromInt(Interop.Libc.munmap(addr, (nuint)length));

    public static long Mprotect(nint addr, ulong length, int prot) =>
        HostResult.FromInt(Interop.Libc.mprotect(addr, (nuint)length, prot));
}
