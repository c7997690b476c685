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

    public long MapFile(ulong addr, ulong length, long fileOffset, int prot)
    {
        Maps.Add((addr, length, fileOffset, prot));
        return MapResult;
    }

    public long Unmap(ulong addr, ulong length)
    {
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
