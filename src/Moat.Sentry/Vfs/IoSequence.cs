using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs;

/// <summary>
/// Where the bytes of one read or write go to or come from (gVisor's usermem.IOSequence, Linux's iov_iter):
/// one application range (read, write, pread, pwrite, send, recv: no allocation), an iovec list (the vectored
/// calls and sendmsg/recvmsg, so that a readv is one call into the file, as in Linux), or a Sentry buffer
/// (sendfile, splice, copy_file_range, the exec loader).
/// </summary>
/// <remarks>
/// Every copy to or from application memory goes through the MemoryManager's pinned copies
/// (<see cref="MemoryManager.CopyOutFrom"/>, <see cref="MemoryManager.CopyInTo"/>): the pages a copy touches are
/// pinned for the copy, so a sibling thread's munmap cannot free or reuse them under it
/// (Mm/MemoryManager.Active.cs, docs/locking.md). A sequence borrows its iovec array: it lives only as long as
/// the call that made it.
/// </remarks>
internal readonly struct IoSequence
{
    private readonly ulong _addr;

    // base, length, base, length, ... (lengths already capped); the first _iovCount pairs are used.
    private readonly ulong[]? _pairs;
    private readonly int _iovCount;

    private readonly byte[]? _buffer;
    private readonly int _start;

    private IoSequence(ulong addr, ulong total, ulong[]? pairs, int iovCount, byte[]? buffer, int start)
    {
        _addr = addr;
        Total = total;
        _pairs = pairs;
        _iovCount = iovCount;
        _buffer = buffer;
        _start = start;
    }

    /// <summary>The application range [addr, addr+length).</summary>
    public static IoSequence App(ulong addr, ulong length) => new(addr, length, null, 0, null, 0);

    /// <summary>The iovecs in the first <paramref name="iovCount"/> (base, length) pairs of <paramref name="pairs"/>, lengths already capped.</summary>
    public static IoSequence Vector(ulong[] pairs, int iovCount)
    {
        ulong total = 0;
        for (int i = 0; i < iovCount; i++)
        {
            total += pairs[(i * 2) + 1];
        }

        return new(0, total, pairs, iovCount, null, 0);
    }

    /// <summary>Every (base, length) pair of <paramref name="pairs"/>.</summary>
    public static IoSequence Vector(ulong[] pairs) => Vector(pairs, pairs.Length / 2);

    /// <summary>The first <paramref name="length"/> bytes of a Sentry buffer.</summary>
    public static IoSequence Sentry(byte[] buffer, int length) => Sentry(buffer, 0, length);

    /// <summary>Bytes [start, start+length) of a Sentry buffer.</summary>
    public static IoSequence Sentry(byte[] buffer, int start, int length) => new(0, (ulong)length, null, 0, buffer, start);

    /// <summary>How many bytes the sequence holds.</summary>
    public ulong Total { get; }

    /// <summary>Whether the bytes are in a Sentry buffer (no application memory is touched).</summary>
    public bool IsSentry => _buffer != null;

    /// <summary>
    /// Lets <paramref name="reader"/> fill bytes [offset, Total), in order, until it leaves a block short.
    /// Returns the bytes filled, or -errno (-EFAULT or the reader's) if none were: a fault after some bytes
    /// ends the transfer with the count so far, as in Linux.
    /// </summary>
    public long CopyOutFrom<TReader>(MemoryManager mm, ulong offset, ref TReader reader)
        where TReader : IBlockReader, allows ref struct
    {
        if (offset >= Total)
        {
            return 0;
        }

        if (_buffer != null)
        {
            return reader.ReadToBlock(_buffer.AsSpan(_start + (int)offset, (int)(Total - offset)));
        }

        if (_pairs == null)
        {
            return mm.CopyOutFrom(_addr + offset, Total - offset, ref reader);
        }

        ulong done = 0;
        for (int i = 0; i < _iovCount; i++)
        {
            if (!Seek(i, ref offset, out ulong addr, out ulong len))
            {
                continue;
            }

            long r = mm.CopyOutFrom(addr, len, ref reader);
            if (r < 0)
            {
                return done > 0 ? (long)done : r;
            }

            done += (ulong)r;
            if ((ulong)r < len)
            {
                break;
            }
        }

        return (long)done;
    }

    /// <summary>Hands <paramref name="writer"/> bytes [offset, Total) in order, like <see cref="CopyOutFrom"/>.</summary>
    public long CopyInTo<TWriter>(MemoryManager mm, ulong offset, ref TWriter writer)
        where TWriter : IBlockWriter, allows ref struct
    {
        if (offset >= Total)
        {
            return 0;
        }

        if (_buffer != null)
        {
            return writer.WriteFromBlock(_buffer.AsSpan(_start + (int)offset, (int)(Total - offset)));
        }

        if (_pairs == null)
        {
            return mm.CopyInTo(_addr + offset, Total - offset, ref writer);
        }

        ulong done = 0;
        for (int i = 0; i < _iovCount; i++)
        {
            if (!Seek(i, ref offset, out ulong addr, out ulong len))
            {
                continue;
            }

            long w = mm.CopyInTo(addr, len, ref writer);
            if (w < 0)
            {
                return done > 0 ? (long)done : w;
            }

            done += (ulong)w;
            if ((ulong)w < len)
            {
                break;
            }
        }

        return (long)done;
    }

    /// <summary>Copies <paramref name="src"/> to bytes [offset, ...) up to the first fault. Returns the bytes copied, or -EFAULT if none.</summary>
    public long CopyOutPartial(MemoryManager mm, ulong offset, ReadOnlySpan<byte> src)
    {
        if (src.IsEmpty)
        {
            return 0;
        }

        var reader = new SpanBlockReader(src);
        return CopyOutFrom(mm, offset, ref reader);
    }

    /// <summary>Copies bytes [offset, ...) into <paramref name="dst"/> up to the first fault. Returns the bytes copied, or -EFAULT if none.</summary>
    public long CopyInPartial(MemoryManager mm, ulong offset, Span<byte> dst)
    {
        if (dst.IsEmpty)
        {
            return 0;
        }

        var writer = new SpanBlockWriter(dst);
        return CopyInTo(mm, offset, ref writer);
    }

    /// <summary>Copies all of <paramref name="src"/> into bytes [offset, offset + src.Length). Returns 0 or -EFAULT.</summary>
    public long CopyOut(MemoryManager mm, ulong offset, ReadOnlySpan<byte> src) =>
        src.IsEmpty || CopyOutPartial(mm, offset, src) == src.Length ? 0 : -Errno.EFAULT.Value;

    /// <summary>Fills all of <paramref name="dst"/> from bytes [offset, offset + dst.Length). Returns 0 or -EFAULT.</summary>
    public long CopyIn(MemoryManager mm, ulong offset, Span<byte> dst) =>
        dst.IsEmpty || CopyInPartial(mm, offset, dst) == dst.Length ? 0 : -Errno.EFAULT.Value;

    /// <summary>Copies an unmanaged value to bytes [offset, offset + its size). Returns 0 or -EFAULT.</summary>
    public long CopyOut<T>(MemoryManager mm, ulong offset, in T value)
        where T : unmanaged =>
        CopyOut(mm, offset, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    /// <summary>Copies an unmanaged value in from bytes [offset, offset + its size). Returns 0 or -EFAULT.</summary>
    public long CopyIn<T>(MemoryManager mm, ulong offset, out T value)
        where T : unmanaged
    {
        value = default;
        return CopyIn(mm, offset, MemoryMarshal.AsBytes(new Span<T>(ref value)));
    }

    /// <summary>
    /// How many of the first <paramref name="max"/> bytes can be written (app memory made writable on the way),
    /// for a source that cannot take bytes back once read. Returns the count, or -EFAULT if none.
    /// </summary>
    public long WritablePrefix(MemoryManager mm, ulong max)
    {
        ulong want = Math.Min(Total, max);
        if (_buffer != null)
        {
            return (long)want;
        }

        if (_pairs == null)
        {
            return want == 0 ? 0 : mm.ProbeWritable(_addr, want);
        }

        ulong ok = 0;
        for (int i = 0; i < _iovCount && ok < want; i++)
        {
            ulong len = Math.Min(_pairs[(i * 2) + 1], want - ok);
            if (len == 0)
            {
                continue;
            }

            long r = mm.ProbeWritable(_pairs[i * 2], len);
            if (r < 0)
            {
                return ok > 0 ? (long)ok : r;
            }

            ok += (ulong)r;
            if ((ulong)r < len)
            {
                break;
            }
        }

        return (long)ok;
    }

    // Whether iovec i holds bytes at offset: then its remaining range; if not, offset moves past it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Seek(int i, ref ulong offset, out ulong addr, out ulong len)
    {
        ulong size = _pairs![(i * 2) + 1];
        if (offset >= size)
        {
            offset -= size;
            addr = 0;
            len = 0;
            return false;
        }

        addr = _pairs[i * 2] + offset;
        len = size - offset;
        offset = 0;
        return true;
    }
}
