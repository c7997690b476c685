using System.Collections.Generic;
using Moat.Platform;

namespace Moat.Tests.Mm;

/// <summary>An IAddressSpace that only records what the MemoryManager asks of it.</summary>
internal sealed class FakeAddressSpace : IAddressSpace
{
    public List<(ulong Addr, ulong Length, long FileOffset, int Prot)> Maps { get; } = [];

    public List<(ulong Addr, ulong Length)> Unmaps { get; } = [];

    public long MapResult { get; set; }

    public long UnmapResult { get; set; }

    public bool Disposed { get; private set; }

    /// <summary>Runs at each Unmap, before it is recorded (to look at the MemoryFile at that moment).</summary>
    public System.Action? OnUnmap { get; set; }

    /// <summary>Whether the fake claims to batch changes (as systrap's mapper does).</summary>
    public bool Batches { get; set; }

    /// <summary>Each Apply call's changes.</summary>
    public List<MappingChange[]> Batched { get; } = [];

    public bool BatchesChanges => Batches;

    public long Apply(System.ReadOnlySpan<MappingChange> changes)
    {
        Batched.Add(changes.ToArray());
        foreach (MappingChange c in changes)
        {
            long r = c.Unmap ? Unmap(c.Addr, c.Length) : MapFile(c.Addr, c.Length, c.FileOffset, c.Prot);
            if (r < 0)
            {
                return r;
            }
        }

        return 0;
    }

    public long MapFile(ulong addr, ulong length, long fileOffset, int prot)
    {
        Maps.Add((addr, length, fileOffset, prot));
        return MapResult;
    }

    public long Unmap(ulong addr, ulong length)
    {
        OnUnmap?.Invoke();
        Unmaps.Add((addr, length));
        return UnmapResult;
    }

    /// <summary>True if some recorded Unmap covers all of [addr, addr+length).</summary>
    public bool UnmapCovers(ulong addr, ulong length)
    {
        foreach ((ulong a, ulong l) in Unmaps)
        {
            if (a <= addr && addr + length <= a + l)
            {
                return true;
            }
        }

        return false;
    }

    public void Dispose() => Disposed = true;

    public long PrepareThread(out object? token)
    {
        token = null;
        return -Moat.Abi.Errno.ENOSYS.Value;
    }

    public long CpuRuntimeNs() => 0;

    public (long User, long System) CpuTime() => (0, 0);
}
