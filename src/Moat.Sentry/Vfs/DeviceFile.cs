using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs;

/// <summary>
/// The memory character devices the Sentry serves itself (/dev/null, zero, full, random, urandom): the
/// host's devices are never opened for the application.
/// </summary>
internal sealed class DeviceFile : FileDescription
{
    private readonly Kind _kind;

    // The /dev node this was opened through: fstat reports it, as Linux reports the device's inode.
    private readonly Tmpfs.TmpfsDeviceNode? _node;

    private DeviceFile(Kind kind, int flags, Tmpfs.TmpfsDeviceNode? node = null)
    {
        _kind = kind;
        StatusFlags = flags;
        _node = node;
    }

    /// <summary>
    /// Opens the device a /dev node stands for. Returns 0 with the file, or -ENXIO for a device with no
    /// driver here (/dev/tty too: no task of the sandbox has a controlling terminal).
    /// </summary>
    public static long Open(Tmpfs.TmpfsDeviceNode node, int flags, string path, out FileDescription? file)
    {
        file = null;
        if (node.Major != 1 || node.Minor is not ((uint)Kind.Null or (uint)Kind.Zero or (uint)Kind.Full or (uint)Kind.Random or (uint)Kind.Urandom))
        {
            return -Errno.ENXIO.Value;
        }

        file = new DeviceFile((Kind)node.Minor, (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_NONBLOCK | OpenFlags.O_APPEND)) | OpenFlags.O_LARGEFILE, node) { Path = path };
        return 0;
    }

    private enum Kind
    {
        Null = 3,
        Zero = 5,
        Full = 7,
        Random = 8,
        Urandom = 9,
    }

    /// <summary>Opens the device at a clean sandbox path, or returns null if the path is not one.</summary>
    public static DeviceFile? TryOpen(string cleanPath, int flags)
    {
        Kind? kind = cleanPath switch
        {
            "/dev/null" => Kind.Null,
            "/dev/zero" => Kind.Zero,
            "/dev/full" => Kind.Full,
            "/dev/random" => Kind.Random,
            "/dev/urandom" => Kind.Urandom,
            _ => null,
        };
        return kind == null ? null : new DeviceFile(kind.Value, (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_NONBLOCK | OpenFlags.O_APPEND)) | OpenFlags.O_LARGEFILE) { Path = cleanPath };
    }

    public override long Read(Task t, in IoSequence dst, long offset)
    {
        if (_kind == Kind.Null)
        {
            return 0;
        }

        var filler = new Filler(random: _kind is not (Kind.Zero or Kind.Full));
        return dst.CopyOutFrom(t.MM, 0, ref filler);
    }

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) =>
        _kind == Kind.Full ? -Errno.ENOSPC.Value : (long)src.Total;

    public override long Seek(long offset, int whence) => 0;

    public override bool Positional => true;

    public override bool CanSpliceRead => true;

    public override bool CanSpliceWrite => true;

    public override long Stat(out Stat st)
    {
        if (_node != null)
        {
            lock (_node.Fs.Mu)
            {
                st = _node.ToStat();
                return 0;
            }
        }

        st = default;
        st.st_mode = Abi.Stat.S_IFCHR | 0x1B6; // 0666
        st.st_nlink = 1;
        st.st_rdev = (1UL << 8) | (ulong)_kind; // major 1 (mem)
        st.st_ino = (ulong)_kind;
        st.st_dev = 5;
        st.st_blksize = 4096;
        return 0;
    }

    // Zeroes or random bytes, as many as asked.
    private readonly struct Filler(bool random) : IBlockReader
    {
        public long ReadToBlock(Span<byte> block)
        {
            if (random)
            {
                Moat.Host.HostRandom.Fill(block);
            }
            else
            {
                block.Clear();
            }

            return block.Length;
        }
    }
}
