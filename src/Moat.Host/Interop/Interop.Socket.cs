using System.Runtime.InteropServices;

namespace Moat.Host;

internal static partial class Interop
{
    internal static unsafe partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "socketpair", SetLastError = true)]
        internal static partial int socketpair(int domain, int type, int protocol, int* sv);

        [LibraryImport(Libraries.Libc, EntryPoint = "sendmsg", SetLastError = true)]
        internal static partial nint sendmsg(int fd, void* msg, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "recvmsg", SetLastError = true)]
        internal static partial nint recvmsg(int fd, void* msg, int flags);
    }
}
