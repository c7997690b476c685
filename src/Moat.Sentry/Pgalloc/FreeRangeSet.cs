using System;
using System.Collections.Generic;

namespace Moat.Sentry.Pgalloc;

/// <summary>
/// Disjoint, sorted, coalesced ranges [Start, End) of free MemoryFile offsets.
/// Invariants: ranges are non-empty, sorted by start, and never touch or overlap (adjacent ones are merged).
/// </summary>
internal sealed class FreeRangeSet
{
    private readonly List<(ulong Start, ulong End)> _ranges = [];

    public int Count => _ranges.Count;

    public ulong TotalBytes { get; private set; }

    public IEnumerable<(ulong Start, ulong End)> Ranges => _ranges;

    /// <summary>Adds [start, end), which must not overlap a free range.</summary>
    public void Add(ulong start, ulong end)
    {
        if (start >= end)
        {
            return;
        }

        int i = LowerBound(start);
        if (i > 0 && _ranges[i - 1].End > start || i < _ranges.Count && _ranges[i].Start < end)
        {
            throw new InvalidOperationException($"double free of MemoryFile range [{start:x}, {end:x})");
        }

        bool mergeLeft = i > 0 && _ranges[i - 1].End == start;
        bool mergeRight = i < _ranges.Count && _ranges[i].Start == end;
        if (mergeLeft && mergeRight)
        {
            _ranges[i - 1] = (_ranges[i - 1].Start, _ranges[i].End);
            _ranges.RemoveAt(i);
        }
        else if (mergeLeft)
        {
            _ranges[i - 1] = (_ranges[i - 1].Start, end);
        }
        else if (mergeRight)
        {
            _ranges[i] = (start, _ranges[i].End);
        }
        else
        {
            _ranges.Insert(i, (start, end));
        }

        TotalBytes += end - start;
    }

    /// <summary>
    /// Takes the lowest range of <paramref name="length"/> bytes whose start is a multiple of
    /// <paramref name="alignment"/> (a power of two). Returns false if none fits.
    /// </summary>
    public bool TryTake(ulong length, ulong alignment, out ulong start)
    {
        for (int i = 0; i < _ranges.Count; i++)
        {
            (ulong s, ulong e) = _ranges[i];
            ulong aligned = (s + alignment - 1) & ~(alignment - 1);
            if (aligned < s || aligned + length > e || aligned + length < aligned)
            {
                continue;
            }

            start = aligned;
            ulong end = aligned + length;
            if (aligned == s && end == e)
            {
                _ranges.RemoveAt(i);
            }
            else if (aligned == s)
            {
                _ranges[i] = (end, e);
            }
            else if (end == e)
            {
                _ranges[i] = (s, aligned);
            }
            else
            {
                _ranges[i] = (s, aligned);
                _ranges.Insert(i + 1, (end, e));
            }

            TotalBytes -= length;
            return true;
        }

        start = 0;
        return false;
    }

    /// <summary>Shrinks the storage to what the ranges need when a burst left much of it empty.</summary>
    public void TrimExcess()
    {
        if (_ranges.Capacity > 4 * _ranges.Count + 16)
        {
            _ranges.TrimExcess();
        }
    }

    // Index of the first range whose start is >= value.
    private int LowerBound(ulong value)
    {
        int lo = 0;
        int hi = _ranges.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_ranges[mid].Start < value)
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
}
