using System;
using System.Collections.Generic;

namespace Moat.Sentry.Mm;

/// <summary>A half-open address range [Start, End) with a payload that can be cut.</summary>
internal interface ISegment<T>
    where T : struct, ISegment<T>
{
    ulong Start { get; }

    ulong End { get; }

    /// <summary>The same segment restricted to [start, end), which lies within it.</summary>
    T Slice(ulong start, ulong end);
}

/// <summary>
/// Non-overlapping segments sorted by address: the container behind the VMA set and the PMA set.
/// Invariants: segments are non-empty and sorted by Start; no two overlap.
/// </summary>
internal sealed class SegmentSet<T>
    where T : struct, ISegment<T>
{
    private readonly List<T> _items = [];

    public int Count => _items.Count;

    public T this[int index] => _items[index];

    /// <summary>Index of the first segment whose End is above <paramref name="addr"/>, or Count.</summary>
    public int FirstEndingAfter(ulong addr)
    {
        int lo = 0;
        int hi = _items.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_items[mid].End <= addr)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Index of the segment containing <paramref name="addr"/>, or -1.</summary>
    public int IndexOf(ulong addr)
    {
        int i = FirstEndingAfter(addr);
        return i < _items.Count && _items[i].Start <= addr ? i : -1;
    }

    /// <summary>True if any segment overlaps [start, end).</summary>
    public bool Overlaps(ulong start, ulong end)
    {
        int i = FirstEndingAfter(start);
        return i < _items.Count && _items[i].Start < end;
    }

    /// <summary>Inserts a segment that overlaps none.</summary>
    public void Insert(T segment)
    {
        int i = FirstEndingAfter(segment.Start);
        if (i < _items.Count && _items[i].Start < segment.End)
        {
            throw new InvalidOperationException($"segment [{segment.Start:x}, {segment.End:x}) overlaps [{_items[i].Start:x}, {_items[i].End:x})");
        }

        _items.Insert(i, segment);
    }

    /// <summary>Replaces the segment at <paramref name="index"/> with one covering the same range.</summary>
    public void Replace(int index, T segment) => _items[index] = segment;

    /// <summary>
    /// Splits segments so that <paramref name="addr"/> is a boundary (no segment strictly contains it).
    /// </summary>
    public void SplitAt(ulong addr)
    {
        int i = IndexOf(addr);
        if (i < 0 || _items[i].Start == addr)
        {
            return;
        }

        T s = _items[i];
        _items[i] = s.Slice(s.Start, addr);
        _items.Insert(i + 1, s.Slice(addr, s.End));
    }

    /// <summary>Removes every part of every segment in [start, end), adding the removed pieces to <paramref name="removed"/>.</summary>
    public void Remove(ulong start, ulong end, List<T>? removed)
    {
        SplitAt(start);
        SplitAt(end);
        int i = FirstEndingAfter(start);
        int first = i;
        while (i < _items.Count && _items[i].Start < end)
        {
            removed?.Add(_items[i]);
            i++;
        }

        _items.RemoveRange(first, i - first);
    }
}
