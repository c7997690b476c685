using System.Runtime.InteropServices;

namespace Moat.Host;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "waitpid", SetLastError = true)]
        internal static partial int waitpid(int pid, out int status, int options);
    }
}
