using System.Runtime.InteropServices;

namespace Moat.Host;

internal static partial class Interop
{
    internal static unsafe partial class Libc
    {
        // posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336 bytes in glibc x86-64;
        // callers pass buffers at least this large.
        internal const int FileActionsSize = 128;
        internal const int SpawnAttrSize = 512;

        internal const short POSIX_SPAWN_SETSIGDEF = 0x04;
        internal const short POSIX_SPAWN_SETSIGMASK = 0x08;
        internal const short POSIX_SPAWN_SETSID = 0x80;

        [LibraryImport(Libraries.Libc)]
        internal static partial int posix_spawn(out int pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

        [LibraryImport(Libraries.Libc)]
        internal static partial int posix_spawn_file_actions_init(void* fileActions);

        [LibraryImport(Libraries.Libc)]
        internal static partial int posix_spawn_file_actions_destroy(void* fileActions);

        [LibraryImport(Libraries.Libc)]
        internal static partial int posix_spawn_file_actions_adddup2(void* fileActions, int fd, int newfd);

        [LibraryImport(Libraries.Libc)]
        internal static partial int posix_spawn_file_actions_addclose(void* fileActions, int fd);

        [LibraryImport(Libraries.Libc)]
        internal static partial int posix_spawnattr_init(void* attr);

        [LibraryImport(Libraries.Libc)]
        internal static partial int posix_spawnattr_destroy(void* attr);

        [LibraryImport(Libraries.Libc)]
        internal static partial int posix_spawnattr_setflags(void* attr, short flags);

        [LibraryImport(Libraries.Libc)]
        internal static partial int posix_spawnattr_setsigmask(void* attr, void* sigset);

        [LibraryImport(Libraries.Libc)]
        internal static partial int posix_spawnattr_setsigdefault(void* attr, void* sigset);

        [LibraryImport(Libraries.Libc)]
        internal static partial int sigemptyset(void* set);

        [LibraryImport(Libraries.Libc)]
        internal static partial int sigfillset(void* set);
    }
}
