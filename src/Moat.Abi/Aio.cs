using System.Runtime.InteropServices;

namespace Moat.Abi;

/// <summary>Linux native AIO (include/uapi/linux/aio_abi.h, fs/aio.c), as x86-64 sees it.</summary>
public static class AioConst
{
    public const ushort IOCB_CMD_PREAD = 0;
    public const ushort IOCB_CMD_PWRITE = 1;
    public const ushort IOCB_CMD_FSYNC = 2;
    public const ushort IOCB_CMD_FDSYNC = 3;
    public const ushort IOCB_CMD_POLL = 5;
    public const ushort IOCB_CMD_NOOP = 6;
    public const ushort IOCB_CMD_PREADV = 7;
    public const ushort IOCB_CMD_PWRITEV = 8;

    /// <summary>aio_resfd names an eventfd signalled once per completion.</summary>
    public const uint IOCB_FLAG_RESFD = 1;

    /// <summary>aio_reqprio is an I/O priority (ioprio_set's encoding).</summary>
    public const uint IOCB_FLAG_IOPRIO = 2;

    /// <summary>What the kernel writes into aio_key on submission, and io_cancel expects there.</summary>
    public const uint KIOCB_KEY = 0;

    /// <summary>The aio_ring header: magic, feature words and its own length.</summary>
    public const uint AIO_RING_MAGIC = 0xa10a10a1;
    public const uint AIO_RING_COMPAT_FEATURES = 1;
    public const uint AIO_RING_INCOMPAT_FEATURES = 0;
    public const int AioRingHeaderSize = 32;

    /// <summary>/proc/sys/fs/aio-max-nr's default: the system-wide sum of io_setup's nr_events.</summary>
    public const uint DefaultAioMaxNr = 0x10000;
}

/// <summary>struct iocb (64 bytes; aio_key comes before aio_rw_flags on little-endian machines).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Iocb
{
    public ulong aio_data;
    public uint aio_key;
    public int aio_rw_flags;
    public ushort aio_lio_opcode;
    public short aio_reqprio;
    public uint aio_fildes;
    public ulong aio_buf;
    public ulong aio_nbytes;
    public long aio_offset;
    public ulong aio_reserved2;
    public uint aio_flags;
    public uint aio_resfd;
}

/// <summary>struct io_event (32 bytes): what a completion leaves in the ring.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoEvent
{
    public ulong data;
    public ulong obj;
    public long res;
    public long res2;
}
