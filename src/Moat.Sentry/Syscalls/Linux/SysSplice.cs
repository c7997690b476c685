using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// sendfile(2), splice(2), tee(2) and copy_file_range(2). Bytes move through a pooled Sentry buffer; the
/// checks and their order follow Linux's fs/splice.c and fs/read_write.c.
/// </summary>
internal static class SysSplice
{
    private const uint SPLICE_F_NONBLOCK = 2;
    private const uint SpliceFlagsAll = 0xF; // MOVE, NONBLOCK, MORE, GIFT

    /// <summary>Implements sendfile(2).</summary>
    public static long Sendfile(Task t, in SyscallArgs a)
    {
        ulong offAddr = a.Pointer(2);
        long pos = 0;
        if (offAddr != 0 && t.MM.CopyIn(offAddr, out pos) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = SendfileAt(t, a.Int(0), a.Int(1), offAddr != 0, ref pos, a.SizeT(3));

        // Linux stores the offset back whatever the outcome.
        if (offAddr != 0 && t.MM.CopyOut(offAddr, pos) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return r;
    }

    private static long SendfileAt(Task t, int outFd, int inFd, bool explicitPos, ref long pos, ulong count)
    {
        FileDescription? inF = t.Fds.Get(inFd);
        if (inF == null)
        {
            return -Errno.EBADF.Value;
        }

        FileDescription? outF = null;
        try
        {
            if (!SpliceIo.Readable(inF))
            {
                return -Errno.EBADF.Value;
            }

            if (explicitPos && !inF.Positional)
            {
                return -Errno.ESPIPE.Value;
            }

            if (explicitPos && pos < 0)
            {
                return -Errno.EINVAL.Value;
            }

            outF = t.Fds.Get(outFd);
            if (outF == null || !SpliceIo.Writable(outF))
            {
                return -Errno.EBADF.Value;
            }

            count = Math.Min(count, SysReadWrite.MaxRwCount);
            long start = explicitPos ? pos : -1;
            long r;
            if (outF is PipeEnd op)
            {
                if (inF is PipeEnd)
                {
                    return -Errno.EINVAL.Value; // a pipe has no splice_read
                }

                bool nonBlocking = ((inF.StatusFlags | outF.StatusFlags) & OpenFlags.O_NONBLOCK) != 0;
                r = SpliceIo.FileToPipe(t, inF, start, op.Pipe, count, nonBlocking);
            }
            else
            {
                if ((outF.StatusFlags & OpenFlags.O_APPEND) != 0 || !SpliceIo.IsRegularOrBlock(inF))
                {
                    return -Errno.EINVAL.Value;
                }

                if (start < 0)
                {
                    start = inF.Seek(0, 1);
                    if (start < 0)
                    {
                        return start;
                    }
                }

                r = SpliceIo.FileToFile(t, inF, start, outF, -1, count);
                if (r > 0 && !explicitPos)
                {
                    inF.Seek(start + r, 0);
                }
            }

            if (r > 0 && explicitPos)
            {
                pos += r;
            }

            return r;
        }
        finally
        {
            inF.DecRef();
            outF?.DecRef();
        }
    }

    /// <summary>Implements splice(2).</summary>
    public static long Splice(Task t, in SyscallArgs a)
    {
        ulong len = a.SizeT(4);
        uint flags = a.UInt(5);
        if (len == 0)
        {
            return 0;
        }

        if ((flags & ~SpliceFlagsAll) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        FileDescription? inF = t.Fds.Get(a.Int(0));
        if (inF == null)
        {
            return -Errno.EBADF.Value;
        }

        FileDescription? outF = t.Fds.Get(a.Int(2));
        if (outF == null)
        {
            inF.DecRef();
            return -Errno.EBADF.Value;
        }

        try
        {
            return SpliceFiles(t, inF, a.Pointer(1), outF, a.Pointer(3), Math.Min(len, SysReadWrite.MaxRwCount), (flags & SPLICE_F_NONBLOCK) != 0);
        }
        finally
        {
            inF.DecRef();
            outF.DecRef();
        }
    }

    private static long SpliceFiles(Task t, FileDescription inF, ulong offInAddr, FileDescription outF, ulong offOutAddr, ulong len, bool nonBlocking)
    {
        Pipe? ip = (inF as PipeEnd)?.Pipe;
        Pipe? op = (outF as PipeEnd)?.Pipe;
        if ((ip != null && offInAddr != 0) || (op != null && offOutAddr != 0))
        {
            return -Errno.ESPIPE.Value;
        }

        long offIn = -1;
        long offOut = -1;
        if ((offOutAddr != 0 && t.MM.CopyIn(offOutAddr, out offOut) < 0) || (offInAddr != 0 && t.MM.CopyIn(offInAddr, out offIn) < 0))
        {
            return -Errno.EFAULT.Value;
        }

        if (!SpliceIo.Readable(inF) || !SpliceIo.Writable(outF))
        {
            return -Errno.EBADF.Value;
        }

        long r;
        if (ip != null && op != null)
        {
            if (ip == op)
            {
                return -Errno.EINVAL.Value;
            }

            nonBlocking |= ((inF.StatusFlags | outF.StatusFlags) & OpenFlags.O_NONBLOCK) != 0;
            return SpliceIo.PipeToPipe(t, ip, op, len, nonBlocking, consume: true);
        }

        if (ip != null)
        {
            if ((offOutAddr != 0 && !outF.Positional) || (outF.StatusFlags & OpenFlags.O_APPEND) != 0 || (offOutAddr != 0 && offOut < 0))
            {
                return -Errno.EINVAL.Value;
            }

            nonBlocking |= (inF.StatusFlags & OpenFlags.O_NONBLOCK) != 0;
            r = SpliceIo.PipeToFile(t, ip, outF, offOut, len, nonBlocking);
            if (r > 0 && offOutAddr != 0 && t.MM.CopyOut(offOutAddr, offOut + r) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            return r;
        }

        if (op != null)
        {
            if ((offInAddr != 0 && !inF.Positional) || (offInAddr != 0 && offIn < 0))
            {
                return -Errno.EINVAL.Value;
            }

            nonBlocking |= (outF.StatusFlags & OpenFlags.O_NONBLOCK) != 0;
            r = SpliceIo.FileToPipe(t, inF, offIn, op, len, nonBlocking);
            if (r > 0 && offInAddr != 0 && t.MM.CopyOut(offInAddr, offIn + r) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            return r;
        }

        return -Errno.EINVAL.Value;
    }

    /// <summary>Implements tee(2): copies pipe bytes to another pipe without consuming them.</summary>
    public static long Tee(Task t, in SyscallArgs a)
    {
        uint flags = a.UInt(3);
        if ((flags & ~SpliceFlagsAll) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        ulong len = a.SizeT(2);
        if (len == 0)
        {
            return 0;
        }

        FileDescription? inF = t.Fds.Get(a.Int(0));
        if (inF == null)
        {
            return -Errno.EBADF.Value;
        }

        FileDescription? outF = t.Fds.Get(a.Int(1));
        try
        {
            if (outF == null || !SpliceIo.Readable(inF) || !SpliceIo.Writable(outF))
            {
                return -Errno.EBADF.Value;
            }

            if (inF is not PipeEnd ip || outF is not PipeEnd op || ip.Pipe == op.Pipe)
            {
                return -Errno.EINVAL.Value;
            }

            bool nonBlocking = (flags & SPLICE_F_NONBLOCK) != 0 || ((inF.StatusFlags | outF.StatusFlags) & OpenFlags.O_NONBLOCK) != 0;
            return SpliceIo.PipeToPipe(t, ip.Pipe, op.Pipe, Math.Min(len, SysReadWrite.MaxRwCount), nonBlocking, consume: false);
        }
        finally
        {
            inF.DecRef();
            outF?.DecRef();
        }
    }

    /// <summary>Implements copy_file_range(2) between regular files of one file system.</summary>
    public static long CopyFileRange(Task t, in SyscallArgs a)
    {
        if (a.UInt(5) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        FileDescription? inF = t.Fds.Get(a.Int(0));
        if (inF == null)
        {
            return -Errno.EBADF.Value;
        }

        FileDescription? outF = t.Fds.Get(a.Int(2));
        if (outF == null)
        {
            inF.DecRef();
            return -Errno.EBADF.Value;
        }

        try
        {
            return CopyRange(t, inF, a.Pointer(1), outF, a.Pointer(3), a.SizeT(4));
        }
        finally
        {
            inF.DecRef();
            outF.DecRef();
        }
    }

    private static long CopyRange(Task t, FileDescription inF, ulong offInAddr, FileDescription outF, ulong offOutAddr, ulong len)
    {
        long posIn = 0;
        long posOut = 0;
        if ((offInAddr != 0 && t.MM.CopyIn(offInAddr, out posIn) < 0) || (offOutAddr != 0 && t.MM.CopyIn(offOutAddr, out posOut) < 0))
        {
            return -Errno.EFAULT.Value;
        }

        long r = inF.Stat(out Stat si);
        if (r < 0 || (r = outF.Stat(out Stat so)) < 0)
        {
            return r;
        }

        uint typeIn = si.st_mode & Stat.S_IFMT;
        uint typeOut = so.st_mode & Stat.S_IFMT;
        if (typeIn == Stat.S_IFDIR || typeOut == Stat.S_IFDIR)
        {
            return -Errno.EISDIR.Value;
        }

        if (typeIn != Stat.S_IFREG || typeOut != Stat.S_IFREG)
        {
            return -Errno.EINVAL.Value;
        }

        if (!SpliceIo.Readable(inF) || !SpliceIo.Writable(outF) || (outF.StatusFlags & OpenFlags.O_APPEND) != 0)
        {
            return -Errno.EBADF.Value;
        }

        // Without a copy_file_range method of its own, Linux refuses to copy between two file systems.
        if (si.st_dev != so.st_dev)
        {
            return -Errno.EXDEV.Value;
        }

        if (offInAddr == 0 && (posIn = inF.Seek(0, 1)) < 0)
        {
            return posIn;
        }

        if (offOutAddr == 0 && (posOut = outF.Seek(0, 1)) < 0)
        {
            return posOut;
        }

        // Linux checks for wrap-around in unsigned arithmetic first, so -1 is EOVERFLOW and -5 EINVAL.
        if ((ulong)posIn + len < (ulong)posIn || (ulong)posOut + len < (ulong)posOut)
        {
            return -Errno.EOVERFLOW.Value;
        }

        if (posIn < 0 || posOut < 0)
        {
            return -Errno.EINVAL.Value;
        }

        ulong count = Math.Min(len, SysReadWrite.MaxRwCount);

        // Only up to the end of the source, and never between overlapping ranges of one file.
        count = posIn >= si.st_size ? 0 : Math.Min(count, (ulong)(si.st_size - posIn));
        if (si.st_ino == so.st_ino && posOut + (long)count > posIn && posOut < posIn + (long)count)
        {
            return -Errno.EINVAL.Value;
        }

        if (count == 0)
        {
            return 0;
        }

        r = SpliceIo.FileToFile(t, inF, posIn, outF, posOut, count);
        if (r <= 0)
        {
            return r;
        }

        if (offInAddr == 0)
        {
            inF.Seek(posIn + r, 0);
        }
        else if (t.MM.CopyOut(offInAddr, posIn + r) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (offOutAddr == 0)
        {
            outF.Seek(posOut + r, 0);
        }
        else if (t.MM.CopyOut(offOutAddr, posOut + r) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return r;
    }
}
