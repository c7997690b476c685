using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs.Tmpfs;

/// <summary>An open tmpfs file or directory: the node, the offset and the open flags.</summary>
internal sealed unsafe class TmpfsFile : FileDescription
{
    private readonly TmpfsNode _node;

    // Protected by the file system's Mu.
    private long _offset;

    public TmpfsFile(TmpfsNode node, int flags, string path)
    {
        _node = node;
        StatusFlags = flags;
        Path = path;
        if (node is TmpfsRegular f)
        {
            f.OpenCount++;
        }
    }

    public TmpfsNode Node => _node;

    private Tmpfs Fs => _node.Fs;

    public override long Read(Task t, ulong addr, ulong count)
    {
        lock (Fs.Mu)
        {
            long r = ReadAtLocked(t, addr, count, _offset);
            if (r > 0)
            {
                _offset += r;
            }

            return r;
        }
    }

    public override long PRead(Task t, ulong addr, ulong count, long offset)
    {
        lock (Fs.Mu)
        {
            return ReadAtLocked(t, addr, count, offset);
        }
    }

    public override long Write(Task t, ulong addr, ulong count)
    {
        long r;
        lock (Fs.Mu)
        {
            long at = (StatusFlags & OpenFlags.O_APPEND) != 0 ? _node.Size : _offset;
            r = WriteAtLocked(t, addr, count, at);
            if (r > 0)
            {
                _offset = at + r;
            }
        }

        return RaiseIfTooBig(t, r);
    }

    public override long PWrite(Task t, ulong addr, ulong count, long offset)
    {
        long r;
        lock (Fs.Mu)
        {
            // Like Linux, O_APPEND makes pwrite append too.
            r = WriteAtLocked(t, addr, count, (StatusFlags & OpenFlags.O_APPEND) != 0 ? _node.Size : offset);
        }

        return RaiseIfTooBig(t, r);
    }

    // The only EFBIG a tmpfs write answers is RLIMIT_FSIZE's: its SIGXFSZ goes out after the file system's lock.
    private static long RaiseIfTooBig(Task t, long r)
    {
        if (r == -Errno.EFBIG.Value)
        {
            FileSizeLimit.Raise(t);
        }

        return r;
    }

    public override bool Positional => true;

    public override long ReadBuffer(Task t, Span<byte> dst, long offset)
    {
        lock (Fs.Mu)
        {
            if (_node is not TmpfsRegular f)
            {
                return _node is TmpfsDirectory ? -Errno.EISDIR.Value : -Errno.EINVAL.Value;
            }

            int n = f.Read(offset < 0 ? _offset : offset, dst);
            if (offset < 0)
            {
                _offset += n;
            }

            _node.Atime = TmpfsNode.Now();
            return n;
        }
    }

    public override long WriteBuffer(Task t, ReadOnlySpan<byte> src, long offset)
    {
        long r;
        lock (Fs.Mu)
        {
            r = WriteBufferLocked(t, src, offset);
        }

        return RaiseIfTooBig(t, r);
    }

    private long WriteBufferLocked(Task t, ReadOnlySpan<byte> src, long offset)
    {
        if (_node is not TmpfsRegular f)
        {
            return -Errno.EISDIR.Value;
        }

        long at = offset >= 0 ? offset : (StatusFlags & OpenFlags.O_APPEND) != 0 ? _node.Size : _offset;
        if (src.Length > 0 && FileSizeLimit.IsSet(t))
        {
            long room = FileSizeLimit.Trim(FileSizeLimit.Of(t), at, (ulong)src.Length);
            if (room < 0)
            {
                return room;
            }

            src = src[..(int)room];
        }

        long r = FileSeals.CheckWrite(f, at, src.Length);
        if (r < 0)
        {
            return r;
        }

        DropSetIdLocked(t.Credentials, f);

        r = f.Write(at, src);
        if (r > 0 && offset < 0)
        {
            _offset = at + r;
        }

        return r;
    }

    private long ReadAtLocked(Task t, ulong addr, ulong count, long offset)
    {
        if (_node is TmpfsDirectory)
        {
            return -Errno.EISDIR.Value;
        }

        if (_node is not TmpfsRegular f)
        {
            return -Errno.EINVAL.Value;
        }

        ulong done = 0;
        while (done < count)
        {
            long n = t.MM.Translate(addr + done, count - done, AccessType.Write, out byte* p, out MemoryManager.Pinned pin);
            if (n < 0)
            {
                return done > 0 ? (long)done : n;
            }

            int got;
            using (pin)
            {
                got = f.Read(offset + (long)done, new Span<byte>(p, (int)Math.Min(n, int.MaxValue)));
            }

            done += (ulong)got;
            if (got < n)
            {
                break;
            }
        }

        _node.Atime = TmpfsNode.Now();
        return (long)done;
    }

    private long WriteAtLocked(Task t, ulong addr, ulong count, long offset)
    {
        if (_node is not TmpfsRegular f)
        {
            return -Errno.EISDIR.Value;
        }

        if (count > 0 && FileSizeLimit.IsSet(t))
        {
            long room = FileSizeLimit.Trim(FileSizeLimit.Of(t), offset, count);
            if (room < 0)
            {
                return room;
            }

            count = (ulong)room;
        }

        long sealed_ = FileSeals.CheckWrite(f, offset, (long)System.Math.Min(count, long.MaxValue >> 1));
        if (sealed_ < 0)
        {
            return sealed_;
        }

        DropSetIdLocked(t.Credentials, f);

        ulong done = 0;
        while (done < count)
        {
            long n = t.MM.Translate(addr + done, count - done, AccessType.Read, out byte* p, out MemoryManager.Pinned pin);
            if (n < 0)
            {
                return done > 0 ? (long)done : n;
            }

            long w;
            using (pin)
            {
                w = f.Write(offset + (long)done, new ReadOnlySpan<byte>(p, (int)Math.Min(n, int.MaxValue)));
            }

            if (w < 0)
            {
                return done > 0 ? (long)done : w;
            }

            done += (ulong)w;
            if (w < n)
            {
                break;
            }
        }

        return (long)done;
    }

    public override long Seek(long offset, int whence)
    {
        lock (Fs.Mu)
        {
            long next = whence switch
            {
                0 => offset,
                1 => _offset + offset,
                2 => _node.Size + offset,
                3 => offset < _node.Size ? offset : -Errno.ENXIO.Value, // SEEK_DATA: no holes reported
                4 => offset < _node.Size ? _node.Size : -Errno.ENXIO.Value, // SEEK_HOLE
                _ => -Errno.EINVAL.Value,
            };
            if (whence is 3 or 4 && next < 0)
            {
                return next;
            }

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
        lock (Fs.Mu)
        {
            st = _node.ToStat();
            return 0;
        }
    }

    // A write or truncate by someone without CAP_FSETID takes set-user-id (and set-group-id) off the file.
    private static void DropSetIdLocked(Credentials c, TmpfsRegular f)
    {
        if ((f.Mode & (Abi.Stat.S_ISUID | Abi.Stat.S_ISGID)) != 0)
        {
            f.Mode = Permissions.ModeAfterWrite(c, f.Mode, f.Gid);
        }
    }

    /// <summary>Implements ftruncate(2) by a task of credentials <paramref name="c"/>.</summary>
    /// <summary>
    /// ftruncate(2) and truncate(2) on this file; growing it past <paramref name="sizeLimit"/> (RLIMIT_FSIZE)
    /// is -EFBIG, whose SIGXFSZ the caller sends.
    /// </summary>
    public long Truncate(long size, Credentials c, long sizeLimit)
    {
        lock (Fs.Mu)
        {
            if (_node is not TmpfsRegular f)
            {
                return -Errno.EINVAL.Value;
            }

            if ((StatusFlags & OpenFlags.O_ACCMODE) == OpenFlags.O_RDONLY)
            {
                return -Errno.EINVAL.Value;
            }

            long r = FileSizeLimit.CheckNewSize(sizeLimit, f.Size, size);
            r = r < 0 ? r : FileSeals.CheckTruncate(f, size);
            if (r < 0)
            {
                return r;
            }

            DropSetIdLocked(c, f);
            f.Truncate(size);
            return 0;
        }
    }

    /// <summary>Implements F_ADD_SEALS (<paramref name="add"/>) and F_GET_SEALS.</summary>
    /// <remarks><paramref name="writablyMapped"/>: whether some address space maps the file shared and writable.</remarks>
    public long Seals(bool add, uint seals, bool writablyMapped = false)
    {
        lock (Fs.Mu)
        {
            if (_node is not TmpfsRegular f)
            {
                return -Errno.EINVAL.Value;
            }

            return add ? FileSeals.Add(f, (StatusFlags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY, seals, writablyMapped) : f.Seals;
        }
    }

    /// <summary>Implements getdents64(2): ".", "..", then the entries in name order; the offset is an index.</summary>
    public long Getdents64(Task t, ulong addr, int count)
    {
        lock (Fs.Mu)
        {
            if (_node is not TmpfsDirectory dir)
            {
                return -Errno.ENOTDIR.Value;
            }

            byte[] buf = new byte[Math.Min(count, 1 << 16)];
            int used = 0;
            long index = 0;
            foreach ((string name, TmpfsNode child, byte type) in Entries(dir))
            {
                if (index++ < _offset)
                {
                    continue;
                }

                if (!Dirent.TryAppend(buf, ref used, child.Ino, index, type, name))
                {
                    if (used == 0)
                    {
                        return -Errno.EINVAL.Value;
                    }

                    break;
                }

                _offset = index;
            }

            long r = t.MM.CopyOut(addr, buf.AsSpan(0, used));
            return r < 0 ? r : used;
        }
    }

    private static System.Collections.Generic.IEnumerable<(string, TmpfsNode, byte)> Entries(TmpfsDirectory dir)
    {
        yield return (".", dir, 4);
        yield return ("..", dir.Parent, 4);
        foreach ((string name, TmpfsNode child) in dir.Children)
        {
            byte type = child switch
            {
                TmpfsDirectory => 4, // DT_DIR
                TmpfsSymlink => 10, // DT_LNK
                TmpfsSocketNode => 12, // DT_SOCK
                TmpfsDeviceNode => 2, // DT_CHR
                _ => 8, // DT_REG
            };
            yield return (name, child, type);
        }
    }

    protected override void Release()
    {
        lock (Fs.Mu)
        {
            if (_node is TmpfsRegular f)
            {
                f.OpenCount--;
                if (f.OpenCount == 0 && f.Nlink == 0)
                {
                    f.ReleaseData();
                }
            }
        }
    }
}
