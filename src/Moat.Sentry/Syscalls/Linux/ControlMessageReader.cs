using System;
using System.Buffers.Binary;
using Moat.Abi;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// Walks the control messages (struct cmsghdr: u64 length, i32 level, i32 type, data) of a sendmsg, as
/// Linux's __sock_cmsg_send does: each length covers at least its header and stays inside the buffer (else
/// EINVAL), the next header starts at the length aligned to 8, and a tail shorter than a header is ignored.
/// Every socket family reads its messages through it.
/// </summary>
internal ref struct ControlMessageReader
{
    /// <summary>sizeof(struct cmsghdr).</summary>
    public const int HeaderSize = 16;

    private readonly ReadOnlySpan<byte> _buffer;
    private int _offset;

    public ControlMessageReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _offset = 0;
    }

    /// <summary>The next message; false at the end (<paramref name="error"/> 0) or on a bad length (-EINVAL).</summary>
    public bool Next(out int level, out int type, out ReadOnlySpan<byte> data, out long error)
    {
        level = type = 0;
        data = default;
        error = 0;
        if (_offset + HeaderSize > _buffer.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> header = _buffer[_offset..];
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header);
        if (length < HeaderSize || length > (ulong)header.Length)
        {
            error = -Errno.EINVAL.Value;
            return false;
        }

        level = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        type = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        data = header[HeaderSize..(int)length];
        _offset += Align((int)length);
        return true;
    }

    /// <summary>CMSG_ALIGN.</summary>
    public static int Align(int n) => (n + 7) & ~7;
}
