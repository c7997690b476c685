using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Platform;

namespace Moat.Sentry.Mm;

/// <summary>
/// Populate: mapping into the host, in one batch, memory that already has pages behind it and that the app
/// is about to touch (a forked child's image, a fresh exec's, a file just copied in by mmap), so that it does
/// not take one fault per range. The host mappings are exactly those faults would make.
/// </summary>
internal sealed partial class MemoryManager
{
    /// <summary>Host ranges one populate maps at most (one request of systrap's mapper): beyond, the app faults the rest in.</summary>
    public const int MaxPopulateRanges = 63;

    // Reused by populates. Protected by _mu.
    private readonly List<MappingChange> _populate = [];

    /// <summary>
    /// Maps the PMAs of [start, end) into the host (at most <see cref="MaxPopulateRanges"/> ranges, lowest
    /// first); a no-op without a host address space that batches changes (on ptrace each range would cost what
    /// a fault costs). Best effort: a failure leaves the rest to faults.
    /// </summary>
    public void Populate(ulong start, ulong end)
    {
        using (LockFor(exclusive: false))
        {
            if (_addressSpace == null || !_addressSpace.BatchesChanges)
            {
                return;
            }

            _populate.Clear();
            for (int i = _vmas.FirstEndingAfter(start); i < _vmas.Count && _vmas[i].Start < end && _populate.Count < MaxPopulateRanges; i++)
            {
                AddPopulateLocked(_vmas[i], Math.Max(start, _vmas[i].Start), Math.Min(end, _vmas[i].End));
            }

            if (_populate.Count > 0)
            {
                _addressSpace.Apply(CollectionsMarshal.AsSpan(_populate));
            }

            _populate.Clear();
        }
    }

    /// <summary>Populates the whole address space (a forked child's, or a new image's, first run).</summary>
    public void PopulateAll() => Populate(MinAddress, MaxAddress);

    // Adds the host mappings a fault in each PMA of [start, end) of v would make.
    // Preconditions: _mu is held; [start, end) lies in v.
    private void AddPopulateLocked(in Vma v, ulong start, ulong end)
    {
        AssertLocked();
        if (v.Prot == Mman.PROT_NONE)
        {
            return;
        }

        for (int p = _pmas.FirstEndingAfter(start); p < _pmas.Count && _pmas[p].Start < end && _populate.Count < MaxPopulateRanges; p++)
        {
            Pma pma = _pmas[p];
            ulong s = Math.Max(pma.Start, start);
            ulong e = Math.Min(pma.End, end);
            int prot = pma.Cow ? v.Prot & ~Mman.PROT_WRITE : v.Prot;
            _populate.Add(MappingChange.Map(s, e - s, pma.FileOffset + (long)(s - pma.Start), prot));
        }
    }
}
