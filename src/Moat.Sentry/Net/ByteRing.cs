using System;
using System.Buffers;
using Moat.Sentry.Mm;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// The receive buffer of a stream socket: a ring of bytes copied straight from the sender's memory and
/// straight to the reader's, so a transfer costs two copies. Memory follows the data, as Linux charges
/// skbs to a socket only while they are queued: nothing is held while the ring is empty, and the array
/// (rented from the shared pool, so a steady stream allocates nothing) doubles as data queues, up to
/// <see cref="Limit"/>. Not thread-safe: the owner's lock guards it.
/// </summary>
internal sealed class ByteRing
{
    /// <summary>The first array a ring rents: one loopback segment's worth.</summary>
    public const int InitialSize = 16384;

    /// <summary>Above this an emptied ring gives its array back, so idle connections hold little memory.</summary>
    private const int KeepSize = 65536;

    private byte[] _data = [];
    private int _head;

    public ByteRing(int limit)
    {
        Limit = limit;
    }

    /// <summary>How many bytes may be queued; it may change (autotuning, SO_RCVBUF) while bytes are queued.</summary>
    public int Limit { get; set; }

    public int Count { get; private set; }

    /// <summary>Bytes of memory held now (for tests and /proc).</summary>
    public int Allocated => _data.Length;

    public int Free => Math.Max(Limit - Count, 0);

    /// <summary>Appends <paramref name="n"/> bytes (at most <see cref="Free"/>) from <paramref name="src"/> at <paramref name="srcOffset"/>; nothing is appended on -EFAULT.</summary>
    public long Append(MemoryManager mm, in IoSequence src, ulong srcOffset, int n)
    {
        Reserve(Count + n);
        int cap = _data.Length;
        int tail = (_head + Count) % cap;
        int first = Math.Min(n, cap - tail);
        if (src.CopyIn(mm, srcOffset, _data.AsSpan(tail, first)) < 0
            || (n > first && src.CopyIn(mm, srcOffset + (ulong)first, _data.AsSpan(0, n - first)) < 0))
        {
            ReleaseIfEmpty();
            return -Moat.Abi.Errno.EFAULT.Value;
        }

        Count += n;
        return 0;
    }

    /// <summary>Copies the first <paramref name="n"/> bytes to <paramref name="dst"/> at <paramref name="dstOffset"/>, consuming them unless <paramref name="peek"/>.</summary>
    public long Take(MemoryManager mm, in IoSequence dst, ulong dstOffset, int n, bool peek)
    {
        int first = Math.Min(n, _data.Length - _head);
        if (dst.CopyOut(mm, dstOffset, _data.AsSpan(_head, first)) < 0
            || (n > first && dst.CopyOut(mm, dstOffset + (ulong)first, _data.AsSpan(0, n - first)) < 0))
        {
            return -Moat.Abi.Errno.EFAULT.Value;
        }

        if (!peek)
        {
            Skip(n);
        }

        return 0;
    }

    /// <summary>Drops the first <paramref name="n"/> bytes unread (recv with MSG_TRUNC on a stream).</summary>
    public void Skip(int n)
    {
        if (n == 0)
        {
            return;
        }

        _head = (_head + n) % _data.Length;
        Count -= n;
        if (Count == 0)
        {
            _head = 0;
            ReleaseIfEmpty();
        }
    }

    /// <summary>Drops every byte and gives the memory back.</summary>
    public void Dispose()
    {
        Count = 0;
        _head = 0;
        Return();
    }

    // Makes room for `need` bytes: the array doubles (the queued bytes move to its start) until they fit.
    private void Reserve(int need)
    {
        if (need <= _data.Length)
        {
            return;
        }

        int size = Math.Max(_data.Length, InitialSize);
        while (size < need)
        {
            size *= 2;
        }

        byte[] bigger = ArrayPool<byte>.Shared.Rent(size);
        int first = Math.Min(Count, _data.Length - _head);
        _data.AsSpan(_head, first).CopyTo(bigger);
        _data.AsSpan(0, Count - first).CopyTo(bigger.AsSpan(first));
        Return();
        _data = bigger;
        _head = 0;
    }

    private void ReleaseIfEmpty()
    {
        if (Count == 0 && _data.Length > KeepSize)
        {
            Return();
        }
    }

    private void Return()
    {
        if (_data.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_data);
            _data = [];
        }
    }
}
