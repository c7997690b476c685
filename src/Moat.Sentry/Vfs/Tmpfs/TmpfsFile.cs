using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs.Tmpfs;

/// <summary>An open tmpfs file or directory: the node, the offset and the open flags.</summary>
internal sealed class TmpfsFile : FileDescription
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

    public override long Read(Task t, in IoSequence dst, long offset)
    {
        lock (Fs.Mu)
        {
            if (_node is not TmpfsRegular f)
            {
                return _node is TmpfsDirectory ? -Errno.EISDIR.Value : -Errno.EINVAL.Value;
            }

            // The file's pages are copied straight into the pinned app pages, block by block.
            var reader = new Reader(f, offset < 0 ? _offset : offset);
            long r = dst.CopyOutFrom(t.MM, 0, ref reader);
            if (r > 0 && offset < 0)
            {
                _offset += r;
            }

            _node.Atime = TmpfsNode.Now();
            return r;
        }
    }

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None)
    {
        long r;
        lock (Fs.Mu)
        {
            r = WriteLocked(t, src, offset, flags);
        }

        // The only EFBIG a tmpfs write answers is RLIMIT_FSIZE's: its SIGXFSZ goes out after the file system's lock.
        if (r == -Errno.EFBIG.Value)
        {
            FileSizeLimit.Raise(t);
        }

        return r;
    }

    private long WriteLocked(Task t, in IoSequence src, long offset, WriteFlags flags)
    {
        if (_node is not TmpfsRegular f)
        {
            return -Errno.EISDIR.Value;
        }

        // Like Linux, O_APPEND makes pwrite append too (not pwritev2's RWF_NOAPPEND).
        bool append = (StatusFlags & OpenFlags.O_APPEND) != 0 && (flags & WriteFlags.NoAppend) == 0;
        long at = append ? _node.Size : offset < 0 ? _offset : offset;
        long end = long.MaxValue;
        if (src.Total > 0 && FileSizeLimit.IsSet(t))
        {
            // RLIMIT_FSIZE trims the whole write (a vectored one too) once, as generic_write_check_limits does.
            long room = FileSizeLimit.Trim(FileSizeLimit.Of(t), at, src.Total);
            if (room < 0)
            {
                return room;
            }

            end = at + room;
        }

        long r = FileSeals.CheckWrite(f, at, Math.Min((long)Math.Min(src.Total, long.MaxValue >> 1), end - at));
        if (r < 0)
        {
            return r;
        }

        DropSetIdLocked(t.Credentials, f);

        var writer = new Writer(f, at, end);
        r = src.CopyInTo(t.MM, 0, ref writer);
        if (r > 0 && offset < 0)
        {
            _offset = at + r;
        }

        return r;
    }

    public override bool Positional => true;

    public override bool CanSpliceRead => true;

    public override bool CanSpliceWrite => true;

    // Reads the file into blocks from an offset on. Runs under the file system's Mu.
    private struct Reader(TmpfsRegular file, long offset) : IBlockReader
    {
        private long _at = offset;

        public long ReadToBlock(Span<byte> block)
        {
            int n = file.Read(_at, block);
            _at += n;
            return n;
        }
    }

    // Writes blocks into the file from an offset on, up to end (RLIMIT_FSIZE: a short block ends the copy).
    // Runs under the file system's Mu.
    private struct Writer(TmpfsRegular file, long offset, long end) : IBlockWriter
    {
        private long _at = offset;

        public long WriteFromBlock(ReadOnlySpan<byte> block)
        {
            if (block.Length > end - _at)
            {
                block = block[..(int)(end - _at)];
            }

            long w = file.Write(_at, block);
            if (w > 0)
            {
                _at += w;
            }

            return w;
        }
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
