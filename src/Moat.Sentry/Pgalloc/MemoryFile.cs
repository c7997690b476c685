using System;
using System.Globalization;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Sentry.Pgalloc;

/// <summary>
/// The one memfd that holds all application memory, and its allocator.
///
/// Two levels, after gVisor's pgalloc: the file grows in chunks of <see cref="ChunkSize"/> (level one), and
/// pages are sub-allocated from the free ranges of the grown file (level two). Allocations of a huge page or
/// more are huge-page aligned so the host can back them with transparent huge pages. Freed ranges are
/// decommitted (hole-punched) so they read back as zeros and return their memory to the host.
///
/// The Sentry maps the whole file once, into a large reservation of its own address space, and reads and
/// writes application memory through that mapping (never through the stub).
///
/// Lock order: _mu is a leaf.
/// </summary>
public sealed unsafe class MemoryFile : IDisposable
{
    /// <summary>The file grows in steps of this many bytes.</summary>
    public const ulong ChunkSize = 1UL << 30;

    /// <summary>The largest the file may grow: the size of the Sentry's reservation.</summary>
    public const ulong MaxSize = 1UL << 40;

    private readonly SafeFdHandle _fd;
    private readonly byte* _base;

    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly FreeRangeSet _free = new();
    private ulong _fileSize;
    private ulong _usage;
    private ulong _peakUsage;

    // References beyond the first, by page offset: only pages shared copy-on-write appear here.
    private readonly System.Collections.Generic.Dictionary<long, int> _extraRefs = [];

    public MemoryFile()
    {
        _fd = HostFile.MemfdCreate("moat-memory", out long err);
        if (err < 0)
        {
            throw new InvalidOperationException("memfd_create failed: " + Errno.FromValue((int)-err).Name);
        }

        long addr = HostMemory.Mmap(0, MaxSize, Mman.PROT_NONE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_NORESERVE, -1, 0);
        if (addr < 0)
        {
            throw new InvalidOperationException("reserving the MemoryFile mapping failed: " + Errno.FromValue((int)-addr).Name);
        }

        _base = (byte*)addr;
    }

    /// <summary>The memfd, for platforms that map it into stubs.</summary>
    public SafeFdHandle Handle => _fd;

    /// <summary>
    /// Bytes of application memory the host holds now: the pages touched, not the ranges handed out (a private
    /// mapping gets up to 2 MiB around its first fault, of which a process may touch one page). This is what
    /// the memory cgroup counts, so limits, memory.current and /proc/meminfo mean what they mean under Linux.
    /// </summary>
    public ulong UsageBytes
    {
        get
        {
            lock (_mu)
            {
                return ResidentLocked();
            }
        }
    }

    /// <summary>The most bytes held at once so far, as sampled at allocations and reads of the usage.</summary>
    public ulong PeakUsageBytes
    {
        get
        {
            lock (_mu)
            {
                ResidentLocked();
                return _peakUsage;
            }
        }
    }

    /// <summary>Bytes handed out by the allocator (touched or not).</summary>
    public ulong AllocatedBytes
    {
        get
        {
            lock (_mu)
            {
                return _usage;
            }
        }
    }

    // The memfd's pages the host holds (st_blocks counts shmem pages), remembered as the peak if higher.
    // Preconditions: _mu is held.
    private ulong ResidentLocked()
    {
        ulong resident = HostFile.Fstat(_fd.Fd, out Stat st) == 0 ? (ulong)st.st_blocks * 512 : _usage;
        resident = System.Math.Min(resident, _usage);
        _peakUsage = System.Math.Max(_peakUsage, resident);
        return resident;
    }

    /// <summary>The current size of the file.</summary>
    public ulong FileSize
    {
        get
        {
            lock (_mu)
            {
                return _fileSize;
            }
        }
    }

    /// <summary>
    /// The most bytes the sandbox's memory may hold at once (<c>moat do --memory</c>), 0 for no limit.
    /// An allocation that would take the resident bytes (<see cref="UsageBytes"/>) beyond it fails with ENOMEM;
    /// a fault that needs memory then kills the process, as the memory cgroup's OOM killer would. Pages of an
    /// earlier allocation touched later are counted from then on, so usage can pass the limit by what was
    /// handed out untouched until the next allocation refuses.
    /// </summary>
    /// <remarks><c>moat update</c> changes it at run time; lowering it below the usage frees nothing (the next
    /// allocation fails), where the memory cgroup would reclaim first.</remarks>
    public ulong Limit
    {
        get => Volatile.Read(ref _limit);
        set => Volatile.Write(ref _limit, value);
    }

    private ulong _limit;

    /// <summary>
    /// Gives back memory the sandbox can do without (the host page cache's unmapped pages), called with no
    /// MemoryFile lock held when an allocation under <see cref="Limit"/> failed; true when something went back.
    /// </summary>
    public Func<bool>? ReclaimUnderPressure { get; set; }

    /// <summary>How many allocations the limit refused: the memory cgroup's failcnt.</summary>
    public long LimitFailures => Interlocked.Read(ref _limitFailures);

    private long _limitFailures;

    /// <summary>How many processes the limit killed as the OOM killer would (<see cref="NoteOomKill"/>).</summary>
    public long OomKills => Interlocked.Read(ref _oomKills);

    private long _oomKills;

    /// <summary>Counts a process killed because the limit refused the memory it faulted for.</summary>
    public void NoteOomKill() => Interlocked.Increment(ref _oomKills);

    /// <summary>
    /// Allocates <paramref name="length"/> bytes (a multiple of the page size) of zeroed memory.
    /// </summary>
    /// <returns>The file offset, or -ENOMEM.</returns>
    public long Allocate(ulong length)
    {
        if (length == 0 || (length & (Mman.PageSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        ulong alignment = length >= Mman.HugePageSize ? Mman.HugePageSize : Mman.PageSize;
        lock (_mu)
        {
            ulong limit = Limit;
            if (limit != 0 && ResidentLocked() + length > limit)
            {
                Interlocked.Increment(ref _limitFailures);
                return -Errno.ENOMEM.Value;
            }

            ulong start;
            while (!_free.TryTake(length, alignment, out start))
            {
                if (!GrowLocked(length + alignment))
                {
                    return -Errno.ENOMEM.Value;
                }
            }

            _usage += length;
            return (long)start;
        }
    }

    /// <summary>
    /// Drops one reference on every page of [offset, offset+length). Pages left with no reference return to
    /// the allocator and release their host memory. A freshly allocated page has one reference.
    /// </summary>
    public void Free(long offset, ulong length)
    {
        if (length == 0)
        {
            return;
        }

        lock (_mu)
        {
            if (_extraRefs.Count == 0)
            {
                ReleaseLocked(offset, length);
                return;
            }

            // Release the runs of pages whose last reference this was.
            long runStart = -1;
            long end = offset + (long)length;
            for (long page = offset; page < end; page += (long)Mman.PageSize)
            {
                bool stillShared = _extraRefs.TryGetValue(page, out int extra);
                if (stillShared)
                {
                    if (extra == 1)
                    {
                        _extraRefs.Remove(page);
                    }
                    else
                    {
                        _extraRefs[page] = extra - 1;
                    }

                    if (runStart >= 0)
                    {
                        ReleaseLocked(runStart, (ulong)(page - runStart));
                        runStart = -1;
                    }
                }
                else if (runStart < 0)
                {
                    runStart = page;
                }
            }

            if (runStart >= 0)
            {
                ReleaseLocked(runStart, (ulong)(end - runStart));
            }
        }
    }

    /// <summary>Adds a reference to every page of [offset, offset+length) (a copy-on-write share after fork).</summary>
    public void IncRef(long offset, ulong length)
    {
        lock (_mu)
        {
            long end = offset + (long)length;
            for (long page = offset; page < end; page += (long)Mman.PageSize)
            {
                _extraRefs[page] = _extraRefs.TryGetValue(page, out int extra) ? extra + 1 : 1;
            }
        }
    }

    /// <summary>Whether any page of [offset, offset+length) has more than one reference.</summary>
    public bool IsShared(long offset, ulong length)
    {
        lock (_mu)
        {
            if (_extraRefs.Count == 0)
            {
                return false;
            }

            long end = offset + (long)length;
            for (long page = offset; page < end; page += (long)Mman.PageSize)
            {
                if (_extraRefs.ContainsKey(page))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Lets go of bookkeeping a burst grew and no longer needs (the copy-on-write reference table keeps its
    /// size after the forks that filled it are gone). Called when the sandbox is idle, never on a fault.
    /// </summary>
    public void TrimExcess()
    {
        lock (_mu)
        {
            if (_extraRefs.Capacity > 4 * _extraRefs.Count + 64)
            {
                _extraRefs.TrimExcess();
            }

            _free.TrimExcess();
        }
    }

    // Preconditions: _mu is held; no page of the range has another reference.
    private void ReleaseLocked(long offset, ulong length)
    {
        // Decommit before the range can be handed out again, so new allocations always read as zeros.
        long r = HostFile.PunchHole(_fd.Fd, offset, (long)length);
        if (r < 0)
        {
            // Without hole punching the range cannot be reused safely: zero it by hand.
            new Span<byte>(_base + offset, checked((int)Math.Min(length, int.MaxValue))).Clear();
        }

        _free.Add((ulong)offset, (ulong)offset + length);
        _usage -= length;
    }

    /// <summary>A pointer into the Sentry's mapping of the file at <paramref name="offset"/>.</summary>
    /// <remarks>Preconditions: [offset, offset+length) was allocated and not yet freed.</remarks>
    public byte* PointerAt(long offset) => _base + offset;

    /// <summary>A span over allocated file bytes, through the Sentry's mapping.</summary>
    public Span<byte> SpanAt(long offset, int length) => new(_base + offset, length);

    // Preconditions: _mu is held.
    private bool GrowLocked(ulong atLeast)
    {
        ulong grow = (atLeast + ChunkSize - 1) & ~(ChunkSize - 1);
        ulong newSize = _fileSize + grow;
        if (newSize > MaxSize)
        {
            return false;
        }

        if (HostFile.Ftruncate(_fd.Fd, (long)newSize) < 0)
        {
            return false;
        }

        long m = HostMemory.Mmap((nint)(_base + _fileSize), grow, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED | Mman.MAP_FIXED, _fd.Fd, (long)_fileSize);
        if (m < 0)
        {
            throw new InvalidOperationException("mapping MemoryFile chunk failed: " + Errno.FromValue((int)-m).Name + " at " + _fileSize.ToString("x", CultureInfo.InvariantCulture));
        }

        _free.Add(_fileSize, newSize);
        _fileSize = newSize;
        return true;
    }

    public void Dispose()
    {
        HostMemory.Munmap((nint)_base, MaxSize);
        _fd.Dispose();
    }
}
