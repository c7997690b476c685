using Moat.Abi;

namespace Moat.Sentry.Vfs.Tmpfs;

/// <summary>memfd seals: which changes a sealed tmpfs file refuses (Linux's mm/memfd.c and shmem checks).</summary>
internal static class FileSeals
{
    public const int F_SEAL_SEAL = 0x1;
    public const int F_SEAL_SHRINK = 0x2;
    public const int F_SEAL_GROW = 0x4;
    public const int F_SEAL_WRITE = 0x8;
    public const int F_SEAL_FUTURE_WRITE = 0x10;
    public const int F_SEAL_EXEC = 0x20;
    public const int All = 0x3F;

    /// <summary>0 if a write of <paramref name="count"/> bytes at <paramref name="offset"/> is allowed, else -EPERM.</summary>
    public static long CheckWrite(TmpfsRegular f, long offset, long count)
    {
        if ((f.Seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0 && count > 0)
        {
            return -Errno.EPERM.Value;
        }

        return (f.Seals & F_SEAL_GROW) != 0 && offset + count > f.Size ? -Errno.EPERM.Value : 0;
    }

    /// <summary>0 if the file may be truncated to <paramref name="size"/>, else -EPERM.</summary>
    public static long CheckTruncate(TmpfsRegular f, long size)
    {
        if ((f.Seals & F_SEAL_SHRINK) != 0 && size < f.Size)
        {
            return -Errno.EPERM.Value;
        }

        return (f.Seals & F_SEAL_GROW) != 0 && size > f.Size ? -Errno.EPERM.Value : 0;
    }

    /// <summary>Implements F_ADD_SEALS on a tmpfs file opened for <paramref name="writable"/> access.</summary>
    public static long Add(TmpfsRegular f, bool writable, uint seals, bool writablyMapped)
    {
        if (!writable)
        {
            return -Errno.EPERM.Value;
        }

        if ((seals & ~(uint)All) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((f.Seals & F_SEAL_SEAL) != 0)
        {
            return -Errno.EPERM.Value;
        }

        // mapping_deny_writable: not while a shared mapping may write the file.
        if ((seals & F_SEAL_WRITE) != 0 && (f.Seals & F_SEAL_WRITE) == 0 && writablyMapped)
        {
            return -Errno.EBUSY.Value;
        }

        // An executable file sealed against exec is sealed against every change as well.
        if ((seals & F_SEAL_EXEC) != 0 && (f.Mode & 0x49) != 0)
        {
            seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
        }

        f.Seals |= (int)seals;
        return 0;
    }
}
