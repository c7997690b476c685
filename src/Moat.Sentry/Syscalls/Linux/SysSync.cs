using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// fsync, fdatasync, sync, syncfs, sync_file_range. Nothing the sandbox writes reaches a host disk (the
/// upper layer and tmpfs live in the MemoryFile, host files are opened read-only), so there is nothing to
/// flush; what is left is Linux's argument and file-type checks.
/// </summary>
internal static class SysSync
{
    private const int SyncFileRangeFlags = 1 | 2 | 4; // WAIT_BEFORE | WRITE | WAIT_AFTER

    /// <summary>Implements fsync(2) and fdatasync(2): EBADF for O_PATH, EINVAL for pipes, sockets and character devices.</summary>
    public static long Fsync(Task t, in SyscallArgs a) =>
        CheckFile(t, a.Int(0), static type => type is Stat.S_IFIFO or Stat.S_IFSOCK or Stat.S_IFCHR ? -Errno.EINVAL.Value : 0);

    /// <summary>Implements sync(2).</summary>
    public static long Sync(Task t, in SyscallArgs a) => 0;

    /// <summary>Implements syncfs(2): any open file names a file system.</summary>
    public static long Syncfs(Task t, in SyscallArgs a) => CheckFile(t, a.Int(0), static _ => 0);

    /// <summary>Implements sync_file_range(2).</summary>
    public static long SyncFileRange(Task t, in SyscallArgs a)
    {
        long offset = a.Long(1), count = a.Long(2);
        int flags = a.Int(3);
        if ((flags & ~SyncFileRangeFlags) != 0 || offset < 0 || count < 0 || offset + count < 0)
        {
            return -Errno.EINVAL.Value;
        }

        return CheckFile(t, a.Int(0), static type => type is Stat.S_IFREG or Stat.S_IFDIR or Stat.S_IFLNK or Stat.S_IFBLK ? 0 : -Errno.ESPIPE.Value);
    }

    // Looks fd up and lets answer decide by the file's type (S_IFMT bits).
    private static long CheckFile(Task t, int fd, System.Func<uint, long> answer)
    {
        FileDescription? f = t.Fds.Get(fd);
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if ((f.StatusFlags & OpenFlags.O_PATH) != 0)
            {
                return -Errno.EBADF.Value;
            }

            long r = f.Stat(out Stat st);
            if (r < 0)
            {
                return r;
            }

            return answer(st.st_mode & Stat.S_IFMT);
        }
        finally
        {
            f.DecRef();
        }
    }
}
