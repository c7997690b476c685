using System;
using System.Collections.Generic;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// A TCP send queue: the bytes from SND.UNA (not yet acknowledged) to the last byte the application queued,
/// in a ring that is allocated as it fills, up to <see cref="Limit"/> (which autotuning raises).
/// </summary>
internal sealed class TcpSendBuffer
{
    private byte[] _buf = [];
    private int _head;

    public TcpSendBuffer(int limit) => Limit = limit;

    public int Count { get; private set; }

    public int Limit { get; set; }

    public int Free => Math.Max(Limit - Count, 0);

    public int Append(ReadOnlySpan<byte> src)
    {
        int n = Math.Min(Free, src.Length);
        if (n == 0)
        {
            return 0;
        }
        Reserve(Count + n);
        int tail = (_head + Count) % _buf.Length;
        int first = Math.Min(n, _buf.Length - tail);
        src[..first].CopyTo(_buf.AsSpan(tail));
        src[first..n].CopyTo(_buf);
        Count += n;
        return n;
    }

    /// <summary>Copies <paramref name="dst"/>.Length bytes starting <paramref name="offset"/> bytes after SND.UNA.</summary>
    public void CopyOut(int offset, Span<byte> dst)
    {
        int start = (_head + offset) % _buf.Length;
        int first = Math.Min(dst.Length, _buf.Length - start);
        _buf.AsSpan(start, first).CopyTo(dst);
        _buf.AsSpan(0, dst.Length - first).CopyTo(dst[first..]);
    }

    /// <summary>The <paramref name="n"/> bytes from <paramref name="offset"/> after SND.UNA, in the ring's one or two pieces.</summary>
    public void Spans(int offset, int n, out ReadOnlySpan<byte> first, out ReadOnlySpan<byte> second)
    {
        int start = (_head + offset) % _buf.Length;
        int a = Math.Min(n, _buf.Length - start);
        first = _buf.AsSpan(start, a);
        second = _buf.AsSpan(0, n - a);
    }

    /// <summary>Drops <paramref name="n"/> acknowledged bytes.</summary>
    public void Consume(int n)
    {
        Count -= n;
        _head = Count == 0 ? 0 : (_head + n) % _buf.Length;
    }

    private void Reserve(int needed)
    {
        if (needed <= _buf.Length)
        {
            return;
        }
        int size = Math.Max(4096, _buf.Length);
        while (size < needed)
        {
            size *= 2;
        }
        var nb = new byte[size];
        if (Count > 0)
        {
            CopyOut(0, nb.AsSpan(0, Count));
        }
        _buf = nb;
        _head = 0;
    }
}

/// <summary>
/// A TCP receive queue: <see cref="Readable"/> in-order bytes waiting for the application, and after them room
/// up to <see cref="Limit"/> where out-of-order segments are written at their place, so that filling a hole
/// makes them readable without copying again. The ranges received beyond RCV.NXT are kept in sequence space.
/// </summary>
internal sealed class TcpReceiveBuffer
{
    private byte[] _buf = [];
    private int _head;

    // Out-of-order ranges [Start, End) beyond RCV.NXT, sorted and disjoint.
    private readonly List<(uint Start, uint End)> _ooo = [];

    public TcpReceiveBuffer(int limit) => Limit = limit;

    public int Readable { get; private set; }

    public int Limit { get; set; }

    /// <summary>Room after the readable bytes: the window this buffer can offer.</summary>
    public int Space => Math.Max(Limit - Readable, 0);

    public IReadOnlyList<(uint Start, uint End)> OutOfOrder => _ooo;

    /// <summary>
    /// Stores <paramref name="data"/> at sequence <paramref name="seq"/> given RCV.NXT <paramref name="rcvNxt"/>
    /// (the caller has trimmed it to the window); returns the new RCV.NXT.
    /// </summary>
    public uint Write(uint rcvNxt, uint seq, ReadOnlySpan<byte> data)
    {
        int offset = (int)(seq - rcvNxt);
        Reserve(Readable + offset + data.Length);
        int pos = (_head + Readable + offset) % _buf.Length;
        int first = Math.Min(data.Length, _buf.Length - pos);
        data[..first].CopyTo(_buf.AsSpan(pos));
        data[first..].CopyTo(_buf);
        AddRange(seq, seq + (uint)data.Length);
        // Everything from RCV.NXT on that is now contiguous becomes readable.
        while (_ooo.Count > 0 && Seq.Leq(_ooo[0].Start, rcvNxt))
        {
            (uint _, uint end) = _ooo[0];
            _ooo.RemoveAt(0);
            if (Seq.Gt(end, rcvNxt))
            {
                Readable += (int)(end - rcvNxt);
                rcvNxt = end;
            }
        }
        return rcvNxt;
    }

    private void AddRange(uint s, uint e)
    {
        int i = 0;
        while (i < _ooo.Count && Seq.Lt(_ooo[i].End, s))
        {
            i++;
        }
        // Merge every range that touches [s, e).
        while (i < _ooo.Count && Seq.Leq(_ooo[i].Start, e))
        {
            if (Seq.Lt(_ooo[i].Start, s))
            {
                s = _ooo[i].Start;
            }
            if (Seq.Gt(_ooo[i].End, e))
            {
                e = _ooo[i].End;
            }
            _ooo.RemoveAt(i);
        }
        _ooo.Insert(i, (s, e));
    }

    /// <summary>
    /// Copies up to dst.Length readable bytes; consumes them unless <paramref name="peek"/>, which may start
    /// <paramref name="skip"/> bytes in (a MSG_PEEK into several iovecs).
    /// </summary>
    public int Read(Span<byte> dst, bool peek, int skip = 0)
    {
        if (!peek)
        {
            skip = 0;
        }
        int n = Math.Min(dst.Length, Readable - skip);
        if (n <= 0)
        {
            return 0;
        }
        int start = (_head + skip) % _buf.Length;
        int first = Math.Min(n, _buf.Length - start);
        _buf.AsSpan(start, first).CopyTo(dst);
        _buf.AsSpan(0, n - first).CopyTo(dst[first..]);
        if (!peek)
        {
            Readable -= n;
            _head = (_head + n) % _buf.Length;
        }
        return n;
    }

    /// <summary>Forgets everything (an aborted connection).</summary>
    public void Clear()
    {
        Readable = 0;
        _head = 0;
        _ooo.Clear();
    }

    private void Reserve(int needed)
    {
        if (needed <= _buf.Length)
        {
            return;
        }
        // Straight to the limit's size once data needs a fourth of it (a bulk receiver), so the ring grows a few
        // times, not once per doubling up to 32 MiB; uninitialized: every byte is written before it is read.
        int size = Math.Max(4096, _buf.Length);
        while (size < needed || (size < Limit && needed > Limit / 4))
        {
            size *= 2;
        }
        byte[] nb = GC.AllocateUninitializedArray<byte>(size);
        // Unwrap the whole old ring from the head: readable bytes and out-of-order data keep their offsets.
        int first = _buf.Length - _head;
        _buf.AsSpan(_head, first).CopyTo(nb);
        _buf.AsSpan(0, _head).CopyTo(nb.AsSpan(first));
        _buf = nb;
        _head = 0;
    }
}
