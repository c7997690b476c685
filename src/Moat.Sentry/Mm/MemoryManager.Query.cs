using System.Collections.Generic;
using System.Threading;

namespace Moat.Sentry.Mm;

/// <summary>Questions about the VMA set that calls without a VMA attribute of their own ask (mbind, get_mempolicy), and membarrier's registrations.</summary>
internal sealed partial class MemoryManager
{
    private int _membarrierRegistrations;

    /// <summary>membarrier(2)'s registrations (the REGISTER_* command bits) of this address space; a new one (execve) has none.</summary>
    public int MembarrierRegistrations => Volatile.Read(ref _membarrierRegistrations);

    /// <summary>Adds REGISTER_* command bits to <see cref="MembarrierRegistrations"/>.</summary>
    public void AddMembarrierRegistration(int command) => Interlocked.Or(ref _membarrierRegistrations, command);

    /// <summary>Whether a VMA contains <paramref name="addr"/>.</summary>
    public bool IsMapped(ulong addr)
    {
        lock (_mu)
        {
            return _vmas.IndexOf(addr) >= 0;
        }
    }

    /// <summary>Whether VMAs cover every byte of [start, end) without a hole.</summary>
    public bool IsRangeMapped(ulong start, ulong end)
    {
        lock (_mu)
        {
            ulong cursor = start;
            for (int i = _vmas.FirstEndingAfter(start); i < _vmas.Count && cursor < end; i++)
            {
                if (_vmas[i].Start > cursor)
                {
                    return false;
                }

                cursor = _vmas[i].End;
            }

            return cursor >= end;
        }
    }

    /// <summary>
    /// The VMAs in address order, each with the bytes of memory behind it (its PMAs: what /proc/PID/smaps calls
    /// resident), taken under one lock.
    /// </summary>
    public List<(Vma Vma, ulong Resident)> SnapshotVmaResidency()
    {
        lock (_mu)
        {
            var list = new List<(Vma, ulong)>(_vmas.Count);
            int p = 0;
            for (int i = 0; i < _vmas.Count; i++)
            {
                Vma v = _vmas[i];
                while (p < _pmas.Count && _pmas[p].End <= v.Start)
                {
                    p++;
                }

                ulong resident = 0;
                for (int q = p; q < _pmas.Count && _pmas[q].Start < v.End; q++)
                {
                    resident += System.Math.Min(_pmas[q].End, v.End) - System.Math.Max(_pmas[q].Start, v.Start);
                }

                list.Add((v, resident));
            }

            return list;
        }
    }
}
