using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// RLIMIT_FSIZE, the one place every regular file's growth asks: writes (Linux's generic_write_check_limits:
/// trimmed to the limit, EFBIG at or past it), truncation and fallocate (inode_newsize_ok: EFBIG past it).
/// Each EFBIG from the limit comes with a SIGXFSZ sent as send_sig does (from the caller itself, to the
/// calling thread), which callers send with <see cref="Raise"/> once their file system locks are released.
/// </summary>
internal static class FileSizeLimit
{
    /// <summary>Linux's largest file (MAX_LFS_FILESIZE on 64-bit).</summary>
    public const long MaxFileSize = long.MaxValue;

    /// <summary>The caller's soft limit as a size (no limit is the largest file).</summary>
    public static long Of(Task t)
    {
        ulong cur = t.Group.Limit(RlimitResource.RLIMIT_FSIZE).rlim_cur;
        return cur >= MaxFileSize ? MaxFileSize : (long)cur;
    }

    /// <summary>Whether the caller has a limit at all: without one a write needs no position to be checked.</summary>
    public static bool IsSet(Task t) => t.Group.Limit(RlimitResource.RLIMIT_FSIZE).rlim_cur < MaxFileSize;

    /// <summary>
    /// How many of <paramref name="count"/> (non-zero) bytes a write at <paramref name="pos"/> may move: all
    /// of them, or those below the limit; -EFBIG when <paramref name="pos"/> is at or past it (then the
    /// caller owes a <see cref="Raise"/>).
    /// </summary>
    public static long Trim(long limit, long pos, ulong count)
    {
        if (pos >= limit)
        {
            return -Errno.EFBIG.Value;
        }

        ulong room = (ulong)(limit - pos);
        return (long)(count < room ? count : room);
    }

    /// <summary>Trim with the caller's limit; a -EFBIG has already been raised.</summary>
    public static long TrimAndRaise(Task t, long pos, ulong count)
    {
        long n = Trim(Of(t), pos, count);
        if (n < 0)
        {
            Raise(t);
        }

        return n;
    }

    /// <summary>Linux's inode_newsize_ok for a file of <paramref name="size"/> bytes growing to <paramref name="newSize"/>: 0 or -EFBIG (then raise).</summary>
    public static long CheckNewSize(long limit, long size, long newSize) =>
        newSize > size && newSize > limit ? -Errno.EFBIG.Value : 0;

    /// <summary>Sends the SIGXFSZ an EFBIG from the limit comes with.</summary>
    public static void Raise(Task t) => t.SendSignal(Signal.SIGXFSZ, t.Group.Pid.In(t.PidNs), t.Credentials.RealUid);
}
