using System;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>A /proc file: its content is generated when it is opened, then read like a regular file.</summary>
internal sealed class ProcFile : FileDescription
{
    private readonly byte[] _content;
    private readonly Stat? _stat;
    private readonly System.Threading.Lock _mu = new();
    private long _offset;

    public ProcFile(byte[] content, string path, ulong ino)
    {
        _content = content;
        Path = path;
        Ino = ino;
        StatusFlags = OpenFlags.O_RDONLY | OpenFlags.O_LARGEFILE;
    }

    /// <summary>A file of a generated file system with a stat of its own (sysfs's).</summary>
    public ProcFile(byte[] content, string path, Stat stat)
        : this(content, path, stat.st_ino)
    {
        _stat = stat;
    }

    /// <summary>The st_dev of the file system the file belongs to.</summary>
    public ulong Device => _stat?.st_dev ?? ProcFs.Device;

    public ulong Ino { get; }

    public override long Read(Task t, in IoSequence dst, long offset)
    {
        lock (_mu)
        {
            long at = offset < 0 ? _offset : offset;
            if (at >= _content.Length)
            {
                return 0;
            }

            int n = (int)Math.Min(dst.Total, (ulong)(_content.Length - at));
            long r = dst.CopyOutPartial(t.MM, 0, _content.AsSpan((int)at, n));
            if (r > 0 && offset < 0)
            {
                _offset += r;
            }

            return r;
        }
    }

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) => -Errno.EACCES.Value;

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
