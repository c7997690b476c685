using System.Runtime.InteropServices;

namespace Moat.Host;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // syscall(2) is variadic; on x86-64 integer varargs are passed exactly like fixed arguments.
        [LibraryImport(Libraries.Libc, EntryPoint = "syscall", SetLastError = true)]
        internal static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);
    }
}
