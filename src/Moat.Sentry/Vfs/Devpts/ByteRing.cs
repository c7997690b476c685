using System;

namespace Moat.Sentry.Vfs.Devpts;

/// <summary>A bounded FIFO of bytes, allocated once. Not thread-safe: the terminal's lock guards it.</summary>
internal sealed class ByteRing(int capacity)
{
    private readonly byte[] _buf = new byte[capacity];
    private int _head;

    public int Count { get; private set; }

    public int Capacity => _buf.Length;

    public int Room => _buf.Length - Count;

    public bool TryAdd(byte b)
    {
        if (Count == _buf.Length)
        {
            return false;
        }

        _buf[(_head + Count) % _buf.Length] = b;
        Count++;
        return true;
    }

    /// <summary>The oldest <paramref name="n"/> bytes as up to two spans (the ring may wrap).</summary>
    public (ReadOnlyMemory<byte> First, ReadOnlyMemory<byte> Second) Peek(int n)
    {
        n = Math.Min(n, Count);
        int first = Math.Min(n, _buf.Length - _head);
        return (_buf.AsMemory(_head, first), _buf.AsMemory(0, n - first));
    }

    public void Drop(int n)
    {
        n = Math.Min(n, Count);
        _head = (_head + n) % _buf.Length;
        Count -= n;
    }

    /// <summary>Removes the newest byte (the end of a line being edited).</summary>
    public void DropLast() => Count--;

    public byte this[int i] => _buf[(_head + i) % _buf.Length];

    public void Clear()
    {
        _head = 0;
        Count = 0;
    }
}
