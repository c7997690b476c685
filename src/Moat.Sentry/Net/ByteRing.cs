using System;
using System.Buffers;
using Moat.Sentry.Mm;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// The receive buffer of a stream socket: a ring of bytes copied straight from the sender's memory and
/// straight to the reader's, so a transfer costs two copies and no allocation. Not thread-safe: the owner's
/// lock guards it.
/// </summary>
internal sealed class ByteRing
{
    private byte[] _data;
    private int _head;

    public ByteRing(int capacity)
    {
        _data = ArrayPool<byte>.Shared.Rent(capacity);
        Capacity = capacity;
    }

    public int Capacity { get; }

    public int Count { get; private set; }

    public int Free => Capacity - Count;

    /// <summary>Appends <paramref name="n"/> bytes from <paramref name="src"/> at <paramref name="srcOffset"/>; nothing is appended on -EFAULT.</summary>
    public long Append(MemoryManager mm, in AppBuffers src, ulong srcOffset, int n)
    {
        int tail = (_head + Count) % Capacity;
        int first = Math.Min(n, Capacity - tail);
        if (src.CopyIn(mm, srcOffset, _data.AsSpan(tail, first)) < 0
            || (n > first && src.CopyIn(mm, srcOffset + (ulong)first, _data.AsSpan(0, n - first)) < 0))
        {
            return -Moat.Abi.Errno.EFAULT.Value;
        }

        Count += n;
        return 0;
    }

    /// <summary>Copies the first <paramref name="n"/> bytes to <paramref name="dst"/> at <paramref name="dstOffset"/>, consuming them unless <paramref name="peek"/>.</summary>
    public long Take(MemoryManager mm, in AppBuffers dst, ulong dstOffset, int n, bool peek)
    {
        int first = Math.Min(n, Capacity - _head);
        if (dst.CopyOut(mm, dstOffset, _data.AsSpan(_head, first)) < 0
            || (n > first && dst.CopyOut(mm, dstOffset + (ulong)first, _data.AsSpan(0, n - first)) < 0))
        {
            return -Moat.Abi.Errno.EFAULT.Value;
        }

        if (!peek)
        {
            _head = (_head + n) % Capacity;
            Count -= n;
            if (Count == 0)
            {
                _head = 0;
            }
        }

        return 0;
    }

    /// <summary>Drops the first <paramref name="n"/> bytes unread (recv with MSG_TRUNC on a stream).</summary>
    public void Skip(int n)
    {
        _head = (_head + n) % Capacity;
        Count -= n;
        if (Count == 0)
        {
            _head = 0;
        }
    }

    /// <summary>Drops every byte and gives the memory back.</summary>
    public void Dispose()
    {
        Count = 0;
        _head = 0;
        if (_data.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_data);
            _data = [];
        }
    }
}
