using System.Runtime.InteropServices;

namespace Moat.Host;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "mmap", SetLastError = true)]
        internal static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

        [LibraryImport(Libraries.Libc, EntryPoint = "munmap", SetLastError = true)]
        internal static partial int munmap(nint addr, nuint length);

        [LibraryImport(Libraries.Libc, EntryPoint = "mprotect", SetLastError = true)]
        internal static partial int mprotect(nint addr, nuint length, int prot);

        [LibraryImport(Libraries.Libc, EntryPoint = "madvise", SetLastError = true)]
        internal static partial int madvise(nint addr, nuint length, int advice);
    }
}
