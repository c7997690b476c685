using System;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>flock(2) and fcntl(2)'s record locks: F_GETLK, F_SETLK, F_SETLKW and the F_OFD_* forms.</summary>
internal static class SysLock
{
    public const int F_GETLK = 5;
    public const int F_SETLK = 6;
    public const int F_SETLKW = 7;
    public const int F_OFD_GETLK = 36;
    public const int F_OFD_SETLK = 37;
    public const int F_OFD_SETLKW = 38;

    private const int LOCK_SH = 1;
    private const int LOCK_EX = 2;
    private const int LOCK_NB = 4;
    private const int LOCK_UN = 8;
    private const short F_RDLCK = 0;
    private const short F_WRLCK = 1;
    private const short F_UNLCK = 2;
    private const int FlockSize = 32; // struct flock: type, whence, start, len, pid

    /// <summary>Implements flock(2).</summary>
    public static long Flock(Task t, in SyscallArgs a)
    {
        int op = a.Int(1) & ~LOCK_NB;
        if (op is not (LOCK_SH or LOCK_EX or LOCK_UN))
        {
            return -Errno.EINVAL.Value;
        }

        FileDescription? f = t.Fds.Get(a.Int(0));
        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        try
        {
            if (op != LOCK_UN && (f.StatusFlags & OpenFlags.O_PATH) != 0)
            {
                return -Errno.EBADF.Value;
            }

            return FileLocks.Flock(t, f, op == LOCK_UN, op == LOCK_EX, (a.Int(1) & LOCK_NB) != 0);
        }
        finally
        {
            f.DecRef();
        }
    }

    /// <summary>The fcntl(2) lock commands, for an fd already known to be open.</summary>
    public static long Fcntl(Task t, FileDescription f, int cmd, ulong addr)
    {
        Span<byte> fl = stackalloc byte[FlockSize];
        if (t.MM.CopyIn(addr, fl) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        short type = BinaryPrimitives.ReadInt16LittleEndian(fl);
        short whence = BinaryPrimitives.ReadInt16LittleEndian(fl[2..]);
        long lstart = BinaryPrimitives.ReadInt64LittleEndian(fl[8..]);
        long llen = BinaryPrimitives.ReadInt64LittleEndian(fl[16..]);
        int lpid = BinaryPrimitives.ReadInt32LittleEndian(fl[24..]);
        bool ofd = cmd is F_OFD_GETLK or F_OFD_SETLK or F_OFD_SETLKW;
        bool get = cmd is F_GETLK or F_OFD_GETLK;
        if (ofd && lpid != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (get && type is not (F_RDLCK or F_WRLCK))
        {
            return -Errno.EINVAL.Value;
        }

        long r = Range(f, whence, lstart, llen, out long start, out long end);
        if (r < 0)
        {
            return r;
        }

        if (type is not (F_RDLCK or F_WRLCK or F_UNLCK))
        {
            return -Errno.EINVAL.Value;
        }

        int mode = f.StatusFlags & OpenFlags.O_ACCMODE;
        if (!get && ((type == F_RDLCK && mode == OpenFlags.O_WRONLY) || (type == F_WRLCK && mode == OpenFlags.O_RDONLY) || (f.StatusFlags & OpenFlags.O_PATH) != 0))
        {
            return -Errno.EBADF.Value;
        }

        r = FileLocks.KeyOf(f, out FileKey key);
        if (r < 0)
        {
            return r;
        }

        object owner = ofd ? f : t.Fds;
        if (get)
        {
            RecordLock? c = FileLocks.Test(key, owner, type == F_WRLCK, start, end);
            if (c == null)
            {
                BinaryPrimitives.WriteInt16LittleEndian(fl, F_UNLCK);
            }
            else
            {
                BinaryPrimitives.WriteInt16LittleEndian(fl, c.Write ? F_WRLCK : F_RDLCK);
                BinaryPrimitives.WriteInt16LittleEndian(fl[2..], 0);
                BinaryPrimitives.WriteInt64LittleEndian(fl[8..], c.Start);
                BinaryPrimitives.WriteInt64LittleEndian(fl[16..], c.End == long.MaxValue ? 0 : c.End - c.Start + 1);
                // The holder in the caller's pid namespace (0 where it cannot be seen), as locks_translate_pid.
                BinaryPrimitives.WriteInt32LittleEndian(fl[24..], c.Pid < 0 ? c.Pid : t.Kernel.IdIn(t.PidNs, c.Pid));
            }

            return t.MM.CopyOut(addr, fl) < 0 ? -Errno.EFAULT.Value : 0;
        }

        if (ofd)
        {
            f.LockKey = key;
        }

        return FileLocks.Set(t, key, owner, ofd ? -1 : t.Group.Tgid, type == F_UNLCK, type == F_WRLCK, start, end, cmd is F_SETLKW or F_OFD_SETLKW);
    }

    // struct flock's whence/start/len to an inclusive byte range, as Linux's flock_to_posix_lock.
    private static long Range(FileDescription f, short whence, long lstart, long llen, out long start, out long end)
    {
        start = end = 0;
        long b;
        switch (whence)
        {
            case 0:
                b = 0;
                break;
            case 1:
                b = f.Seek(0, 1);
                if (b < 0)
                {
                    b = 0; // a pipe has no offset; Linux reads f_pos, which stays 0
                }

                break;
            case 2:
            {
                long r = f.Stat(out Stat st);
                if (r < 0)
                {
                    return r;
                }

                b = st.st_size;
                break;
            }

            default:
                return -Errno.EINVAL.Value;
        }

        if (lstart > long.MaxValue - b)
        {
            return -Errno.EOVERFLOW.Value;
        }

        start = b + lstart;
        if (start < 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (llen > 0)
        {
            if (llen - 1 > long.MaxValue - start)
            {
                return -Errno.EOVERFLOW.Value;
            }

            end = start + llen - 1;
        }
        else if (llen < 0)
        {
            end = start - 1;
            start += llen;
            if (start < 0)
            {
                return -Errno.EINVAL.Value;
            }
        }
        else
        {
            end = long.MaxValue;
        }

        return 0;
    }
}
