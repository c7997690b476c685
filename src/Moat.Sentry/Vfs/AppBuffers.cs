using System;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs;

/// <summary>
/// Where the bytes of one socket call come from or go to: one application buffer (read, write, send, recv:
/// no allocation), an iovec list (sendmsg, recvmsg), or a Sentry buffer (sendfile, splice).
/// </summary>
internal readonly struct AppBuffers
{
    private readonly ulong _addr;
    private readonly ulong[]? _pairs;
    private readonly byte[]? _buffer;

    private AppBuffers(ulong addr, ulong total, ulong[]? pairs, byte[]? buffer)
    {
        _addr = addr;
        Total = total;
        _pairs = pairs;
        _buffer = buffer;
    }

    public static AppBuffers Single(ulong addr, ulong len) => new(addr, len, null, null);

    /// <param name="pairs">base, length, base, length, ... with lengths already capped.</param>
    public static AppBuffers Vector(ulong[] pairs)
    {
        ulong total = 0;
        for (int i = 1; i < pairs.Length; i += 2)
        {
            total += pairs[i];
        }

        return new(0, total, pairs, null);
    }

    public static AppBuffers Sentry(byte[] buffer, int length) => new(0, (ulong)length, null, buffer);

    public ulong Total { get; }

    /// <summary>Copies bytes [offset, offset + dst.Length) into dst. Returns 0 or -EFAULT.</summary>
    public long CopyIn(MemoryManager mm, ulong offset, Span<byte> dst)
    {
        if (_buffer != null)
        {
            _buffer.AsSpan((int)offset, dst.Length).CopyTo(dst);
            return 0;
        }

        if (_pairs == null)
        {
            return dst.IsEmpty || mm.CopyIn(_addr + offset, dst) >= 0 ? 0 : -Errno.EFAULT.Value;
        }

        int done = 0;
        for (int i = 0; i < _pairs.Length && done < dst.Length; i += 2)
        {
            if (!Seek(i, ref offset, dst.Length - done, out int n))
            {
                continue;
            }

            if (mm.CopyIn(_pairs[i] + offset, dst.Slice(done, n)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            done += n;
            offset = 0;
        }

        return 0;
    }

    /// <summary>Copies src into bytes [offset, offset + src.Length). Returns 0 or -EFAULT.</summary>
    public long CopyOut(MemoryManager mm, ulong offset, ReadOnlySpan<byte> src)
    {
        if (_buffer != null)
        {
            src.CopyTo(_buffer.AsSpan((int)offset));
            return 0;
        }

        if (_pairs == null)
        {
            return src.IsEmpty || mm.CopyOut(_addr + offset, src) >= 0 ? 0 : -Errno.EFAULT.Value;
        }

        int done = 0;
        for (int i = 0; i < _pairs.Length && done < src.Length; i += 2)
        {
            if (!Seek(i, ref offset, src.Length - done, out int n))
            {
                continue;
            }

            if (mm.CopyOut(_pairs[i] + offset, src.Slice(done, n)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            done += n;
            offset = 0;
        }

        return 0;
    }

    // Whether buffer i holds bytes at offset; if not, offset moves past it.
    private bool Seek(int i, ref ulong offset, int left, out int n)
    {
        ulong len = _pairs![i + 1];
        if (offset >= len)
        {
            offset -= len;
            n = 0;
            return false;
        }

        n = (int)Math.Min(len - offset, (ulong)left);
        return true;
    }
}
