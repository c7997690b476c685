using System.Runtime.InteropServices;

namespace Moat.Host;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const uint MFD_CLOEXEC = 0x1;
        internal const uint MFD_ALLOW_SEALING = 0x2;
        internal const int FALLOC_FL_KEEP_SIZE = 0x1;
        internal const int FALLOC_FL_PUNCH_HOLE = 0x2;

        [LibraryImport(Libraries.Libc, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int memfd_create(string name, uint flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "ftruncate", SetLastError = true)]
        internal static partial int ftruncate(int fd, long length);

        [LibraryImport(Libraries.Libc, EntryPoint = "fallocate", SetLastError = true)]
        internal static partial int fallocate(int fd, int mode, long offset, long length);
    }
}
