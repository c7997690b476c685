using System.Runtime.InteropServices;

namespace Moat.Host;

internal static partial class Interop
{
    /// <summary>The socket calls the Sentry makes on the host sockets of --network=host, and the epoll that watches them.</summary>
    internal static unsafe partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "socket", SetLastError = true)]
        internal static partial int socket(int domain, int type, int protocol);

        [LibraryImport(Libraries.Libc, EntryPoint = "bind", SetLastError = true)]
        internal static partial int bind(int fd, byte* addr, int len);

        [LibraryImport(Libraries.Libc, EntryPoint = "connect", SetLastError = true)]
        internal static partial int connect(int fd, byte* addr, int len);

        [LibraryImport(Libraries.Libc, EntryPoint = "listen", SetLastError = true)]
        internal static partial int listen(int fd, int backlog);

        [LibraryImport(Libraries.Libc, EntryPoint = "accept4", SetLastError = true)]
        internal static partial int accept4(int fd, byte* addr, int* len, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "sendto", SetLastError = true)]
        internal static partial nint sendto(int fd, byte* buf, nuint len, int flags, byte* addr, int addrLen);

        [LibraryImport(Libraries.Libc, EntryPoint = "recvfrom", SetLastError = true)]
        internal static partial nint recvfrom(int fd, byte* buf, nuint len, int flags, byte* addr, int* addrLen);

        [LibraryImport(Libraries.Libc, EntryPoint = "getsockopt", SetLastError = true)]
        internal static partial int getsockopt(int fd, int level, int name, byte* val, int* len);

        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        internal static partial int setsockopt(int fd, int level, int name, byte* val, int len);

        [LibraryImport(Libraries.Libc, EntryPoint = "getsockname", SetLastError = true)]
        internal static partial int getsockname(int fd, byte* addr, int* len);

        [LibraryImport(Libraries.Libc, EntryPoint = "getpeername", SetLastError = true)]
        internal static partial int getpeername(int fd, byte* addr, int* len);

        [LibraryImport(Libraries.Libc, EntryPoint = "shutdown", SetLastError = true)]
        internal static partial int shutdown(int fd, int how);

        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_create1", SetLastError = true)]
        internal static partial int epoll_create1(int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
        internal static partial int epoll_ctl(int epfd, int op, int fd, HostNet.EpollEvent* ev);

        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_wait", SetLastError = true)]
        internal static partial int epoll_wait(int epfd, HostNet.EpollEvent* events, int max, int timeout);
    }
}
