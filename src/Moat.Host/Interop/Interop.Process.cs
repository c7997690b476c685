using System.Runtime.InteropServices;

namespace Moat.Host;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "getauxval")]
        [SuppressGCTransition]
        internal static partial ulong getauxval(ulong type);

        [LibraryImport(Libraries.Libc, EntryPoint = "getpid")]
        [SuppressGCTransition]
        internal static partial int getpid();

        [LibraryImport(Libraries.Libc, EntryPoint = "gettid")]
        [SuppressGCTransition]
        internal static partial int gettid();

        [LibraryImport(Libraries.Libc, EntryPoint = "kill", SetLastError = true)]
        internal static partial int kill(int pid, int sig);

        [LibraryImport(Libraries.Libc, EntryPoint = "clock_gettime", SetLastError = true)]
        [SuppressGCTransition]
        internal static unsafe partial int clock_gettime(int clock, Abi.Timespec* ts);
    }
}
