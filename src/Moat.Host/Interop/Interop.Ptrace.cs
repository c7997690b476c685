using System.Runtime.InteropServices;

namespace Moat.Host;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "ptrace", SetLastError = true)]
        internal static partial long ptrace(long request, int pid, nint addr, nint data);
    }
}
