using System;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// A /proc file: its content is generated when it is opened, then read like a regular file. One that can
/// generate it again does so for a read at offset 0 after the first (a seq_file starts over there), so a file
/// read again after lseek(0) or written in between shows the present state.
/// </summary>
internal sealed class ProcFile : FileDescription
{
    private readonly Func<byte[]>? _regenerate;
    private byte[] _content;
    private bool _stale;
    private readonly Stat? _stat;
    private readonly Func<Task, byte[], long>? _write;
    private readonly System.Threading.Lock _mu = new();
    private long _offset;

    public ProcFile(byte[] content, string path, ulong ino)
    {
        _content = content;
        Path = path;
        Ino = ino;
        StatusFlags = OpenFlags.O_RDONLY | OpenFlags.O_LARGEFILE;
    }

    /// <summary>A file of a generated file system with a stat of its own (sysfs's, a process's), and for a
    /// writable one what takes each write.</summary>
    public ProcFile(byte[] content, string path, Stat stat, Func<Task, byte[], long>? write = null, int flags = OpenFlags.O_RDONLY, Func<byte[]>? regenerate = null)
        : this(content, path, stat.st_ino)
    {
        _stat = stat;
        _write = write;
        _regenerate = regenerate;
        StatusFlags = (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_PATH)) | OpenFlags.O_LARGEFILE;
    }

    /// <summary>The st_dev of the file system the file belongs to.</summary>
    public ulong Device => _stat?.st_dev ?? ProcFs.Device;

    public ulong Ino { get; }

    public override long Read(Task t, in IoSequence dst, long offset)
    {
        if (_regenerate != null && (offset == 0 || (offset < 0 && Volatile.Read(ref _offset) == 0)))
        {
            // Generated outside _mu: the generator takes the kernel's locks.
            byte[]? again = Volatile.Read(ref _stale) ? _regenerate() : null;
            lock (_mu)
            {
                _content = again ?? _content;
                _stale = true;
            }
        }

        lock (_mu)
        {
            return CopyOutLocked(t, dst, _content, offset, ref _offset);
        }
    }

    /// <summary>
    /// read(2) or pread(2) (<paramref name="offset"/> &gt;= 0) of <paramref name="content"/> for a file whose
    /// position is <paramref name="position"/>, under the caller's lock. Returns the bytes copied, or -errno.
    /// </summary>
    internal static long CopyOutLocked(Task t, in IoSequence dst, byte[] content, long offset, ref long position)
    {
        long at = offset < 0 ? position : offset;
        if (at >= content.Length)
        {
            return 0;
        }

        int n = (int)Math.Min(dst.Total, (ulong)(content.Length - at));
        long r = dst.CopyOutPartial(t.MM, 0, content.AsSpan((int)at, n));
        if (r > 0 && offset < 0)
        {
            position += r;
        }

        return r;
    }

    /// <summary>
    /// A write to a writable /proc file: each call is one request (the kernel's proc writes parse their buffer
    /// whole and ignore the offset); pwrite is ESPIPE, as for Linux's non-seekable proc writers.
    /// </summary>
    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None)
    {
        if (_write == null)
        {
            return -Errno.EACCES.Value;
        }

        if (offset >= 0)
        {
            return -Errno.ESPIPE.Value;
        }

        // The kernel's writers read at most a page; what is beyond it is not looked at.
        byte[] b = new byte[Math.Min(src.Total, 4096UL)];
        if (src.CopyIn(t.MM, 0, b) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = _write(t, b);
        Volatile.Write(ref _stale, true);
        return r < 0 ? r : (long)src.Total;
    }

    public override bool Positional => true;

    public override bool CanSpliceRead => true;

    public override long Seek(long offset, int whence)
    {
        lock (_mu)
        {
            long next = whence switch
            {
                0 => offset,
                1 => _offset + offset,
                2 => _content.Length + offset,
                _ => -1,
            };
            if (next < 0)
            {
                return -Errno.EINVAL.Value;
            }

            _offset = next;
            return next;
        }
    }

    public override long Stat(out Stat st)
    {
        if (_stat is Stat given)
        {
            st = given;
            return 0;
        }

        // Like Linux's procfs: size 0, mode 0444, owned by root.
        st = new Stat { st_mode = Abi.Stat.S_IFREG | 0x124, st_nlink = 1, st_ino = Ino, st_dev = ProcFs.Device, st_blksize = 1024 };
        return 0;
    }
}
