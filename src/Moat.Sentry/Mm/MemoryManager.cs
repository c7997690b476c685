using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Platform;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Mm;

/// <summary>
/// An application address space as the Sentry sees it: VMAs (what may be mapped), PMAs (which MemoryFile
/// pages back them), and the platform address space that mirrors the PMAs lazily, on faults.
///
/// Lock order: _mu &gt; MemoryFile._mu; copies pin pages without a lock (MemoryManager.Active.cs). The platform address space
/// is only touched with _mu held.
/// </summary>
internal sealed partial class MemoryManager : IDisposable
{
    /// <summary>Private anonymous memory is allocated in aligned units of this size around a fault.</summary>
    public const ulong PrivateAllocUnit = Mman.HugePageSize;

    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly SegmentSet<Vma> _vmas = new();
    private readonly SegmentSet<Pma> _pmas = new();
    private readonly List<Pma> _scratchPmas = [];

    // The VMAs an unmap removes (reused: munmap allocates nothing). Protected by _mu.
    private readonly List<Vma> _scratchVmas = [];
    private ulong _mappedBytes;
    private ulong _brkStart;
    private ulong _brk;

    // Null until the task that runs this memory attaches its platform address space (after fork the child's
    // thread creates it). Protected by _mu.
    private IAddressSpace? _addressSpace;

    /// <summary>Where the platform's vDSO sits in this address space (AT_SYSINFO_EHDR), or 0.</summary>
    public ulong VdsoAddress { get; init; }

    public MemoryManager(MemoryFile memoryFile, IAddressSpace? addressSpace, ulong minAddress, ulong maxAddress)
    {
        MemoryFile = memoryFile;
        _addressSpace = addressSpace;
        MinAddress = minAddress;
        MaxAddress = maxAddress;
        MmapBase = maxAddress;
    }

    public MemoryFile MemoryFile { get; }

    /// <summary>The platform address space mirroring this memory.</summary>
    public IAddressSpace AddressSpace => _addressSpace ?? throw new InvalidOperationException("no address space attached");

    /// <summary>Whether a platform address space is attached.</summary>
    public bool HasAddressSpace => _addressSpace != null;

    /// <summary>Attaches the platform address space; it starts empty and fills on faults.</summary>
    public void AttachAddressSpace(IAddressSpace addressSpace)
    {
        lock (_mu)
        {
            if (_addressSpace != null)
            {
                throw new InvalidOperationException("an address space is already attached");
            }

            _addressSpace = addressSpace;
        }
    }

    /// <summary>Linux's TASK_SIZE on x86-64 (4-level paging): the end of the user range, which munmap checks against.</summary>
    public const ulong TaskSize = 0x7fff_ffff_f000;

    public ulong MinAddress { get; }

    /// <summary>The end of what the app may map here; above it (up to <see cref="TaskSize"/>) are the stub's own pages.</summary>
    public ulong MaxAddress { get; }

    /// <summary>Top-down mmap allocations start below this address. Set by the loader.</summary>
    public ulong MmapBase { get; set; }

    /// <summary>Where argv strings start and end in the app's memory (for /proc/pid/cmdline).</summary>
    public ulong ArgStart { get; set; }

    public ulong ArgEnd { get; set; }

    /// <summary>Where environment strings start and end in the app's memory (for /proc/pid/environ).</summary>
    public ulong EnvStart { get; set; }

    public ulong EnvEnd { get; set; }

    /// <summary>The auxiliary vector the loader gave the program, as (key, value) words up to AT_NULL (/proc/pid/auxv; Linux's saved_auxv).</summary>
    public byte[] SavedAuxv { get; set; } = [];

    /// <summary>
    /// prctl(PR_SET_THP_DISABLE)'s flags for this memory (MMF_DISABLE_THP and, as Linux 6.18 has it,
    /// PR_THP_DISABLE_EXCEPT_ADVISED): 0, 1 or 3. Inherited by fork and kept by execve. The Sentry's memory has
    /// no huge pages either way; the flag is what the process asked, as /proc/PID/status's THP_enabled shows.
    /// </summary>
    public int ThpDisable { get; set; }

    /// <summary>/proc/PID/coredump_filter's mask (the MMF_DUMP_FILTER bits, 9 of them): inherited by fork, kept by execve.
    /// The sandbox writes no core dumps; the mask is what the process set.</summary>
    public uint CoredumpFilter { get; set; } = 0x33;

    /// <summary>RLIMIT_AS in bytes.</summary>
    public ulong AddressSpaceLimit { get; set; } = ulong.MaxValue;

    /// <summary>Sum of VMA lengths.</summary>
    public ulong MappedBytes
    {
        get
        {
            lock (_mu)
            {
                return _mappedBytes;
            }
        }
    }

    public static ulong PageDown(ulong a) => a & ~(Mman.PageSize - 1);

    public static ulong PageUp(ulong a) => (a + Mman.PageSize - 1) & ~(Mman.PageSize - 1);

    /// <summary>A snapshot of the VMAs, in address order (for /proc/pid/maps).</summary>
    public List<Vma> SnapshotVmas()
    {
        lock (_mu)
        {
            var list = new List<Vma>(_vmas.Count);
            for (int i = 0; i < _vmas.Count; i++)
            {
                list.Add(_vmas[i]);
            }

            return list;
        }
    }

    /// <summary>Bytes of memory allocated behind this address space (resident, as far as the sandbox knows).</summary>
    public ulong ResidentBytes()
    {
        lock (_mu)
        {
            ulong total = 0;
            for (int i = 0; i < _pmas.Count; i++)
            {
                total += _pmas[i].Length;
            }

            return total;
        }
    }

    /// <summary>The current program break.</summary>
    public ulong CurrentBrk
    {
        get
        {
            lock (_mu)
            {
                return _brk;
            }
        }
    }

    /// <summary>Sets where the heap starts (just above the program image, plus a random gap).</summary>
    public void SetBrkStart(ulong start)
    {
        lock (_mu)
        {
            _brkStart = start;
            _brk = start;
        }
    }

    private int _users = 1;

    // Set under _mu when the last user has left: a copy from outside (/proc/PID/mem, process_vm_*) that comes
    // later finds no memory, rather than giving pages to an address space nobody frees again.
    private bool _disposed;

    // Set once Dispose has let the platform address space go: the host thread that created it may end then.
    private readonly ManualResetEventSlim _released = new(false);

    /// <summary>How many tasks run in this memory: threads of one process, or of several (CLONE_VM, vfork).</summary>
    public int Users => System.Threading.Volatile.Read(ref _users);

    /// <summary>Adds a task that runs in this memory.</summary>
    public void IncUsers() => System.Threading.Interlocked.Increment(ref _users);

    /// <summary>Drops a task that ran in this memory; the last one frees it and its host address space.</summary>
    public void DecUsers()
    {
        if (System.Threading.Interlocked.Decrement(ref _users) == 0)
        {
            Dispose();
        }
    }

    public void Dispose()
    {
        DestroyAio();
        using (LockExclusive())
        {
            _disposed = true;
            DetachAllOwnersLocked();
            ReleaseAllHeldFilesLocked();
            ForgetStaleHostLocked();
            _scratchPmas.Clear();
            _pmas.Remove(0, ulong.MaxValue, _scratchPmas);
            foreach (Pma p in _scratchPmas)
            {
                MemoryFile.Free(p.FileOffset, p.End - p.Start);
            }

            _scratchPmas.Clear();
        }

        _addressSpace?.Dispose();
        _released.Set();
    }

    /// <summary>Blocks until <see cref="Dispose"/> has run (the last task has left this memory).</summary>
    public void WaitUntilReleased() => _released.Wait();

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool Released => _released.IsSet;

    // Removes host mappings of [start, start+length), if there is a host address space yet.
    // Preconditions: _mu is held.
    private long UnmapHostLocked(ulong start, ulong length)
    {
        AssertLocked();
        return _addressSpace == null ? 0 : _addressSpace.Unmap(start, length);
    }

    // Whether the host may map something in [start, end): the host only ever maps PMAs (on faults and
    // populates), and the platform's vDSO near VdsoAddress. Elsewhere a host unmap would be a wasted trip.
    // Preconditions: _mu is held; the PMAs of [start, end) are still in _pmas.
    private bool HostMayMapLocked(ulong start, ulong end)
    {
        const ulong VdsoWindow = 0x10000; // the vDSO and the vvar pages before it
        return _pmas.Overlaps(start, end) || (VdsoAddress != 0 && start < VdsoAddress + VdsoWindow && end > VdsoAddress - VdsoWindow);
    }

    // Removes VMAs, PMAs and host mappings of [start, end).
    // Preconditions: _mu is held exclusively (no copy in flight); start and end are page-aligned.
    private long UnmapLocked(ulong start, ulong end)
    {
        AssertExclusive();
        if (!_vmas.Overlaps(start, end))
        {
            return 0;
        }

        List<Vma> removedVmas = _scratchVmas;
        removedVmas.Clear();
        _vmas.Remove(start, end, removedVmas);
        foreach (Vma v in removedVmas)
        {
            _mappedBytes -= v.Length;
            NoteRemovedVmaLocked(v);
        }

        removedVmas.Clear();

        // The host lets go of the pages before they are freed: freed pages may go to another process at once.
        long r = HostMayMapLocked(start, end) ? UnmapHostLocked(start, end - start) : 0;
        _scratchPmas.Clear();
        _pmas.Remove(start, end, _scratchPmas);
        if (r >= 0)
        {
            foreach (Pma p in _scratchPmas)
            {
                MemoryFile.Free(p.FileOffset, p.End - p.Start);
            }
        }

        _scratchPmas.Clear();
        return r;
    }

    // Finds a free range of length bytes, trying the hint first, then top-down from MmapBase.
    // Preconditions: _mu is held; length is page-aligned and non-zero.
    private ulong FindUnmappedLocked(ulong hint, ulong length)
    {
        AssertLocked();
        if (hint != 0)
        {
            ulong h = PageDown(hint);
            if (h >= MinAddress && h + length <= MaxAddress && h + length > h && !_vmas.Overlaps(h, h + length))
            {
                return h;
            }
        }

        ulong top = Math.Min(MmapBase, MaxAddress);
        int i = _vmas.FirstEndingAfter(top) - 1;
        if (i + 1 < _vmas.Count && _vmas[i + 1].Start < top)
        {
            top = _vmas[i + 1].Start;
        }

        for (; i >= 0; i--)
        {
            Vma v = _vmas[i];
            if (top >= v.End && top - v.End >= length)
            {
                return top - length;
            }

            top = Math.Min(top, v.Start);
        }

        if (top >= MinAddress && top - MinAddress >= length)
        {
            return top - length;
        }

        // Nothing below the base: try above it, bottom-up.
        ulong bottom = MmapBase;
        for (int j = _vmas.FirstEndingAfter(bottom); j < _vmas.Count; j++)
        {
            Vma v = _vmas[j];
            if (v.Start >= bottom && v.Start - bottom >= length)
            {
                return bottom;
            }

            bottom = Math.Max(bottom, v.End);
        }

        return MaxAddress >= bottom && MaxAddress - bottom >= length ? bottom : 0;
    }

    // Inserts a VMA into a hole.
    // Preconditions: _mu is held; [v.Start, v.End) is free.
    private void InsertVmaLocked(Vma v)
    {
        AssertLocked();
        if (_lockFuture)
        {
            v = v with { Locked = true };
        }

        _vmas.Insert(v);
        _mappedBytes += v.Length;
    }
}
