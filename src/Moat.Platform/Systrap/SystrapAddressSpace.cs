using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Host;
using Moat.Platform.Ptrace;

namespace Moat.Platform.Systrap;

/// <summary>
/// A systrap address space: one stub process whose mapper thread makes the Sentry's mapping changes (see
/// <see cref="MapperChannel"/>), whose traced injector threads clone and end its other threads exactly as on
/// the ptrace platform (see <see cref="PtraceAddressSpace"/>), and whose untraced app threads run the
/// application, trapping into the Sentry through their sysmsg regions.
/// </summary>
/// <remarks>
/// Each task has two stub threads: its injector, traced by the task's host thread, and its app thread. The
/// app never runs on an injector or the mapper; an injector only ever runs the calls the Sentry puts in its
/// registers, and the mapper only the calls the Sentry writes in its read-only request page.
/// </remarks>
internal sealed unsafe class SystrapAddressSpace : IAddressSpace
{
    private readonly PtraceAddressSpace _injectors;
    private readonly MapperChannel? _mapper;
    private readonly SysmsgArea _area;
    private readonly Lock _mu = new();

    // App threads alive in this stub, so that their slots are freed when it dies. Protected by _mu.
    private readonly HashSet<AppThread> _threads = [];
    private bool _disposed;

    private SystrapAddressSpace(PtraceAddressSpace injectors, MapperChannel? mapper, SysmsgArea area)
    {
        _injectors = injectors;
        _mapper = mapper;
        _area = area;
    }

    /// <summary>What <see cref="PrepareThread"/> hands to the new task's <see cref="IContext.Attach"/>.</summary>
    internal sealed class ThreadToken
    {
        public required object? Injector { get; init; }

        public required AppThread App { get; init; }
    }

    public int Pid => _injectors.Pid;

    /// <summary>
    /// Whether stubs get a mapper thread: yes unless MOAT_SYSTRAP_MAPPER=0, which makes every mapping change go
    /// through the traced injector instead (docs/systrap-platform.md).
    /// </summary>
    internal static readonly bool MapperEnabled = Environment.GetEnvironmentVariable("MOAT_SYSTRAP_MAPPER") != "0";

    public static SystrapAddressSpace? Create(StubTemplate template, SafeFdHandle memoryFile, SysmsgArea area, ulong vdso, out long error)
    {
        if (!MapperEnabled)
        {
            PtraceAddressSpace? plain = PtraceAddressSpace.Create(template, memoryFile, vdso, out error, area.File);
            return plain == null ? null : new SystrapAddressSpace(plain, null, area);
        }

        MapperChannel? mapper = MapperChannel.Create(out error);
        if (mapper == null)
        {
            return null;
        }

        PtraceAddressSpace? injectors = PtraceAddressSpace.Create(template, memoryFile, vdso, out error, area.File, mapper.SpawnFds());
        mapper.Spawned();
        if (injectors == null)
        {
            mapper.Dispose();
            return null;
        }

        error = StartMapper(injectors, mapper);
        if (error < 0)
        {
            injectors.Dispose();
            mapper.Dispose();
            return null;
        }

        return new SystrapAddressSpace(injectors, mapper, area);
    }

    // Maps the request page read-only and clones the mapper from the main injector (the calling thread's).
    private static long StartMapper(PtraceAddressSpace injectors, MapperChannel mapper)
    {
        long r = injectors.MapFd(MapperChannel.StubRequestFd, MapperChannel.RequestAddress, 4096, 0, Mman.PROT_READ);
        if (r < 0)
        {
            return r;
        }

        if (!mapper.IsRequestPageOf(injectors.Pid))
        {
            return -Errno.EIO.Value;
        }

        long tid = injectors.InjectAtSite(SystrapStubImage.Address(SystrapStubCode.MapperClone), Sysno.clone, StubImage.ThreadCloneFlags, 0, 0, 0, 0, 0);
        if (tid <= 0)
        {
            return tid < 0 ? tid : -Errno.EAGAIN.Value;
        }

        mapper.Started((int)tid);
        return 0;
    }

    public long MapFile(ulong addr, ulong length, long fileOffset, int prot)
    {
        if (_mapper == null)
        {
            return _injectors.MapFile(addr, length, fileOffset, prot);
        }

        MappingChange c = MappingChange.Map(addr, length, fileOffset, prot);
        return _mapper.Run(new ReadOnlySpan<MappingChange>(in c));
    }

    public long Unmap(ulong addr, ulong length)
    {
        if (_mapper == null)
        {
            return _injectors.Unmap(addr, length);
        }

        MappingChange c = MappingChange.Remove(addr, length);
        return _mapper.Run(new ReadOnlySpan<MappingChange>(in c));
    }

    /// <summary>Lets go of the stub so that another host thread can claim it (<see cref="StubPool"/>).</summary>
    public long Release() => _injectors.Release();

    /// <summary>Takes a released stub over from the calling host thread.</summary>
    public long Claim() => _injectors.Claim();

    public bool BatchesChanges => _mapper != null;

    public long Apply(ReadOnlySpan<MappingChange> changes) => _mapper != null ? _mapper.Run(changes) : ((IAddressSpace)_injectors).Apply(changes);

    public long CpuRuntimeNs() => _injectors.CpuRuntimeNs();

    public (long User, long System) CpuTime() => _injectors.CpuTime();

    public void OnLost(Action lost) => _injectors.OnLost(lost);

    public long PrepareThread(out object? token)
    {
        token = null;
        long r = _injectors.PrepareThread(out object? injector);
        if (r < 0)
        {
            return r;
        }

        r = NewAppThread(out AppThread? app);
        if (r < 0)
        {
            // The new injector idles in pause() until the stub dies; harmless, and rare (slots exhausted).
            return r;
        }

        token = new ThreadToken { Injector = injector, App = app! };
        return 0;
    }

    /// <summary>Binds the calling host thread to its injector (and, for the first context, makes its app thread).</summary>
    public long Attach(object? token, out AppThread? app, out int injectorTid)
    {
        app = null;
        injectorTid = 0;
        PtraceAddressSpace.StubThread? injector;
        if (token is ThreadToken t)
        {
            long r = _injectors.Attach(t.Injector, out injector);
            if (r < 0)
            {
                ReleaseApp(t.App, exited: false);
                return r;
            }

            app = t.App;
            injectorTid = injector!.Tid;
            return 0;
        }

        long a = _injectors.Attach(null, out injector);
        if (a < 0)
        {
            return a;
        }

        injectorTid = injector!.Tid;
        return NewAppThread(out app);
    }

    /// <summary>Ends the calling host thread's app thread and injector.</summary>
    public void Detach(AppThread app)
    {
        ReleaseApp(app, exited: false);
        _injectors.Detach();
    }

    // Clones an app thread from the calling host thread's injector; it starts in app_init on its region.
    private long NewAppThread(out AppThread? app)
    {
        app = null;
        int slot = _area.Allocate();
        if (slot < 0)
        {
            return -Errno.EAGAIN.Value;
        }

        var t = new AppThread(slot, _area.Region(slot));
        long r = _injectors.MapFd(PtraceAddressSpace.StubSysmsgFileFd, t.StubAddress, SysmsgArea.RegionSize, (long)slot * SysmsgArea.RegionSize, Mman.PROT_READ | Mman.PROT_WRITE);
        if (r < 0)
        {
            _area.Free(slot);
            return r;
        }

        long tid = _injectors.InjectAtSite(
            SystrapStubImage.Address(SystrapStubCode.AppClone),
            Sysno.clone,
            StubImage.ThreadCloneFlags,
            (long)(t.StubAddress + SysmsgArea.RegionSize),
            0,
            0,
            0,
            0);
        if (tid <= 0)
        {
            _injectors.Unmap(t.StubAddress, SysmsgArea.RegionSize);
            _area.Free(slot);
            return tid < 0 ? tid : -Errno.EAGAIN.Value;
        }

        t.Tid = (int)tid;
        lock (_mu)
        {
            _threads.Add(t);
        }

        app = t;
        return 0;
    }

    // Makes the app thread exit, waits until the host has it gone, unmaps its region from the stub and
    // frees the slot (another stub could otherwise still reach the region through a stale mapping).
    private void ReleaseApp(AppThread app, bool exited)
    {
        lock (_mu)
        {
            if (!_threads.Remove(app))
            {
                return;
            }
        }

        if (!exited)
        {
            Interlocked.Exchange(ref *app.State, AppThread.StateExit);
            HostFutex.WakeShared(app.State, int.MaxValue);

            // An app thread stuck in app code (it never traps again) is killed with the whole stub on
            // Dispose; here we give it a bounded while to leave on its own.
            for (int i = 0; i < 2000 && HostProcess.Syscall(Sysno.tgkill, Pid, app.Tid, 0) == 0; i++)
            {
                Thread.Sleep(i < 100 ? 0 : 1);
            }

            if (HostProcess.Syscall(Sysno.tgkill, Pid, app.Tid, 0) == 0)
            {
                return; // still alive: leave the slot taken rather than share it
            }
        }

        if (_injectors.Unmap(app.StubAddress, SysmsgArea.RegionSize) >= 0)
        {
            _area.Free(app.Slot);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _injectors.Dispose(); // SIGKILL and reap: no stub maps any region of ours any more
        _mapper?.Dispose();
        List<AppThread> left;
        lock (_mu)
        {
            left = [.. _threads];
            _threads.Clear();
        }

        foreach (AppThread t in left)
        {
            _area.Free(t.Slot);
        }
    }
}
