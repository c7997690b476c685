using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>An open directory whose entries are listed when it is opened (/proc, merged overlay directories).</summary>
internal sealed class SnapshotDirectory : FileDescription
{
    // Each entry's inode number, or 0 for one made up from its path.
    private readonly List<(string Name, byte Type, ulong Ino)> _entries;
    private readonly System.Threading.Lock _mu = new();
    private readonly Stat? _stat;
    private int _offset;

    public SnapshotDirectory(List<(string Name, byte Type)> entries, string path, Stat? stat = null)
        : this(path, stat)
    {
        foreach ((string name, byte type) in entries)
        {
            _entries.Add((name, type, 0));
        }
    }

    /// <summary>A directory whose entries carry the inode numbers stat reports for them (d_ino must match st_ino).</summary>
    public SnapshotDirectory(List<(string Name, byte Type, ulong Ino)> entries, string path, Stat? stat = null)
        : this(path, stat)
    {
        _entries.AddRange(entries);
    }

    private SnapshotDirectory(string path, Stat? stat)
    {
        _entries = [(".", 4, stat?.st_ino ?? 0), ("..", 4, 0)];
        Path = path;
        _stat = stat;
        StatusFlags = OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY | OpenFlags.O_LARGEFILE;
    }

    /// <summary>For a /proc/PID directory, the process it shows: pidfd_send_signal takes such a descriptor as a pidfd.</summary>
    public ThreadGroup? Process { get; init; }

    public override long Read(Task t, in IoSequence dst, long offset) => -Errno.EISDIR.Value;

    public override long Seek(long offset, int whence)
    {
        lock (_mu)
        {
            if (whence != 0 || offset < 0)
            {
                return -Errno.EINVAL.Value;
            }

            _offset = (int)Math.Min(offset, _entries.Count);
            return _offset;
        }
    }

    public override long Stat(out Stat st)
    {
        if (_stat is Stat given)
        {
            st = given;
            return 0;
        }

        st = new Stat { st_mode = Abi.Stat.S_IFDIR | 0x16D, st_nlink = 2, st_dev = Proc.ProcFs.Device, st_ino = (ulong)(uint)Path!.GetHashCode(StringComparison.Ordinal), st_blksize = 1024 };
        return 0;
    }

    /// <summary>Implements getdents64(2): linux_dirent64 records, the offset is the entry index.</summary>
    public long Getdents64(Task t, ulong addr, int count)
    {
        lock (_mu)
        {
            byte[] buf = new byte[Math.Min(count, 1 << 16)];
            int used = 0;
            while (_offset < _entries.Count)
            {
                (string name, byte type, ulong ino) = _entries[_offset];
                if (ino == 0)
                {
                    ino = (ulong)(uint)(Path + "/" + name).GetHashCode(StringComparison.Ordinal) | 1;
                }

                if (!Dirent.TryAppend(buf, ref used, ino, _offset + 1, type, name))
                {
                    if (used == 0)
                    {
                        return -Errno.EINVAL.Value;
                    }

                    break;
                }

                _offset++;
            }

            long r = t.MM.CopyOut(addr, buf.AsSpan(0, used));
            return r < 0 ? r : used;
        }
    }
}
