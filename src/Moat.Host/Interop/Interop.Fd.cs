using System.Runtime.InteropServices;

namespace Moat.Host;

internal static partial class Interop
{
    internal static unsafe partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "read", SetLastError = true)]
        internal static partial nint read(int fd, void* buf, nuint count);

        [LibraryImport(Libraries.Libc, EntryPoint = "write", SetLastError = true)]
        internal static partial nint write(int fd, void* buf, nuint count);

        [LibraryImport(Libraries.Libc, EntryPoint = "pread64", SetLastError = true)]
        internal static partial nint pread(int fd, void* buf, nuint count, long offset);

        [LibraryImport(Libraries.Libc, EntryPoint = "pwrite64", SetLastError = true)]
        internal static partial nint pwrite(int fd, void* buf, nuint count, long offset);

        [LibraryImport(Libraries.Libc, EntryPoint = "close", SetLastError = true)]
        internal static partial int close(int fd);

        [LibraryImport(Libraries.Libc, EntryPoint = "fstat", SetLastError = true)]
        internal static partial int fstat(int fd, void* stat);

        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int ioctl(int fd, ulong request, void* arg);

        [LibraryImport(Libraries.Libc, EntryPoint = "lseek64", SetLastError = true)]
        internal static partial long lseek(int fd, long offset, int whence);

        [LibraryImport(Libraries.Libc, EntryPoint = "fcntl", SetLastError = true)]
        internal static partial int fcntl(int fd, int cmd, long arg);
    }
}
