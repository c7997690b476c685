using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Vfs;

/// <summary>
/// fallocate(2): Linux's checks in vfs_fallocate's order, then the file system's own: a tmpfs file (so an
/// overlay file, which a write open copied up, and a memfd) allocates or punches as shmem does (only
/// FALLOC_FL_KEEP_SIZE and FALLOC_FL_PUNCH_HOLE, seals honoured); a volume's host file asks the host.
/// </summary>
internal static class FileSpace
{
    public const int FALLOC_FL_KEEP_SIZE = 0x01;
    public const int FALLOC_FL_PUNCH_HOLE = 0x02;
    public const int FALLOC_FL_COLLAPSE_RANGE = 0x08;
    public const int FALLOC_FL_ZERO_RANGE = 0x10;
    public const int FALLOC_FL_INSERT_RANGE = 0x20;
    public const int FALLOC_FL_UNSHARE_RANGE = 0x40;
    public const int FALLOC_FL_WRITE_ZEROES = 0x80;

    private const int ModeMask = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE |
        FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_WRITE_ZEROES;

    /// <summary>
    /// Truncates an open file for ftruncate(2) and truncate(2): a tmpfs file (overlay copies, memfds) or a
    /// volume's host file; growing past RLIMIT_FSIZE is EFBIG with a SIGXFSZ. Returns 0 or -errno.
    /// </summary>
    public static long Truncate(Task t, FileDescription f, long length)
    {
        switch (f)
        {
            case TmpfsFile tf:
                long r = tf.Truncate(length, t.Credentials, FileSizeLimit.Of(t));
                if (r == -Errno.EFBIG.Value)
                {
                    FileSizeLimit.Raise(t);
                }

                StaleMappings(t, tf);
                return r;
            case HostFileDescription { Volume: not null } h:
                if (h.Stat(out Stat st) < 0)
                {
                    return -Errno.EIO.Value;
                }

                if (FileSizeLimit.CheckNewSize(FileSizeLimit.Of(t), st.st_size, length) < 0)
                {
                    FileSizeLimit.Raise(t);
                    return -Errno.EFBIG.Value;
                }

                long tr = Moat.Host.HostFile.Ftruncate(h.HostFd, length);
                if (tr == 0 && length < st.st_size && HostCache.HostFileMappers.Find(st.st_dev, st.st_ino) is { } mappers &&
                    mappers.Truncated((length + (long)Mman.PageSize - 1) / (long)Mman.PageSize))
                {
                    t.Kernel.InterruptStaleMemoryUsers();
                }

                return tr;
            default:
                // Other host files were opened read-only: a writable open copies them up.
                return -Errno.EINVAL.Value;
        }
    }

    /// <summary>Implements fallocate(2) on an open file. Returns 0 or -errno.</summary>
    public static long Fallocate(Task t, FileDescription f, int mode, long offset, long length)
    {
        if (offset < 0 || length <= 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((mode & ~(ModeMask | FALLOC_FL_KEEP_SIZE)) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        switch (mode & ModeMask)
        {
            case 0:
            case FALLOC_FL_UNSHARE_RANGE:
            case FALLOC_FL_ZERO_RANGE:
                break;
            case FALLOC_FL_PUNCH_HOLE:
                if ((mode & FALLOC_FL_KEEP_SIZE) == 0)
                {
                    return -Errno.EOPNOTSUPP.Value;
                }

                break;
            case FALLOC_FL_COLLAPSE_RANGE:
            case FALLOC_FL_INSERT_RANGE:
            case FALLOC_FL_WRITE_ZEROES:
                if ((mode & FALLOC_FL_KEEP_SIZE) != 0)
                {
                    return -Errno.EOPNOTSUPP.Value;
                }

                break;
            default:
                return -Errno.EOPNOTSUPP.Value;
        }

        if ((f.StatusFlags & OpenFlags.O_PATH) != 0 || (f.StatusFlags & OpenFlags.O_ACCMODE) == OpenFlags.O_RDONLY)
        {
            return -Errno.EBADF.Value;
        }

        if (f.Stat(out Stat st) < 0)
        {
            return -Errno.EIO.Value;
        }

        uint type = st.st_mode & Stat.S_IFMT;
        if (type == Stat.S_IFIFO)
        {
            return -Errno.ESPIPE.Value;
        }

        if (type == Stat.S_IFDIR)
        {
            return -Errno.EISDIR.Value;
        }

        if (type != Stat.S_IFREG && type != Stat.S_IFBLK)
        {
            return -Errno.ENODEV.Value;
        }

        if (offset > FileSizeLimit.MaxFileSize - length)
        {
            return -Errno.EFBIG.Value;
        }

        return f switch
        {
            TmpfsFile { Node: TmpfsRegular file } => Tmpfs(t, file, mode, offset, length),
            HostFileDescription { Volume: not null } h => Host(t, h, mode, offset, length, st.st_size),
            _ => -Errno.EOPNOTSUPP.Value,
        };
    }

    // shmem_fallocate: only KEEP_SIZE and PUNCH_HOLE; a write seal refuses a hole, a grow seal any range past the size.
    private static long Tmpfs(Task t, TmpfsRegular file, int mode, long offset, long length)
    {
        if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        if ((mode & FALLOC_FL_PUNCH_HOLE) != 0)
        {
            return PunchTmpfs(t, file, offset, length);
        }

        lock (file.Fs.Mu)
        {
            bool keepSize = (mode & FALLOC_FL_KEEP_SIZE) != 0;
            if ((file.Seals & FileSeals.F_SEAL_GROW) != 0 && offset + length > file.Size)
            {
                return -Errno.EPERM.Value;
            }

            if (FileSizeLimit.CheckNewSize(FileSizeLimit.Of(t), file.Size, offset + length) == 0)
            {
                file.Mode = Permissions.ModeAfterWrite(t.Credentials, file.Mode, file.Gid);
                return file.Allocate(offset, length, keepSize);
            }
        }

        // inode_newsize_ok (asked with or without KEEP_SIZE): reaching past RLIMIT_FSIZE raises SIGXFSZ and fails
        // with EFBIG; the signal goes out after the file system's lock.
        FileSizeLimit.Raise(t);
        return -Errno.EFBIG.Value;
    }

    // A hole in a tmpfs file: whole pages leave the file and its mappings, partial ones are zeroed.
    private static long PunchTmpfs(Task t, TmpfsRegular file, long offset, long length)
    {
        lock (file.Fs.Mu)
        {
            if ((file.Seals & (FileSeals.F_SEAL_WRITE | FileSeals.F_SEAL_FUTURE_WRITE)) != 0)
            {
                return -Errno.EPERM.Value;
            }

            file.PunchHole(offset, length);
        }

        if (file.LeftStaleMappings)
        {
            t.Kernel.InterruptStaleMemoryUsers();
        }

        return 0;
    }

    // A shrink that left pages in other processes' host mappings: their tasks running app code must come back.
    private static void StaleMappings(Task t, TmpfsFile f)
    {
        if (f.Node is TmpfsRegular { LeftStaleMappings: true })
        {
            t.Kernel.InterruptStaleMemoryUsers();
        }
    }

    // A volume's file: the host allocates, once the caller's RLIMIT_FSIZE allows the new size (asked, as ext4
    // asks, only by a plain or zeroing allocation that grows the file).
    private static long Host(Task t, HostFileDescription h, int mode, long offset, long length, long size)
    {
        if ((mode & ~FALLOC_FL_ZERO_RANGE) == 0 &&
            FileSizeLimit.CheckNewSize(FileSizeLimit.Of(t), size, offset + length) < 0)
        {
            FileSizeLimit.Raise(t);
            return -Errno.EFBIG.Value;
        }

        return Moat.Host.HostFile.Fallocate(h.HostFd, mode, offset, length);
    }
}
