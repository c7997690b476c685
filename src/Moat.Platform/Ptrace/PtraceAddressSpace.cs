using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Platform.Ptrace;

/// <summary>
/// An address space backed by one stub process. Each context that runs in it owns one stub thread, traced
/// by the context's host thread; mapping changes are injected (mmap/munmap) into the caller's own stub
/// thread. The stub's seccomp filter allows nothing else but a new stub thread and exit.
/// </summary>
internal sealed class PtraceAddressSpace : IAddressSpace
{
    /// <summary>The fd number at which every stub holds the MemoryFile.</summary>
    public const int StubMemoryFileFd = 3;

    /// <summary>The fd number at which a systrap stub holds its sysmsg file.</summary>
    public const int StubSysmsgFileFd = 4;

    private readonly StubTemplate _template;
    private readonly Lock _mu = new();

    // Stub threads by the host thread that traces them. Protected by _mu.
    private readonly Dictionary<int, StubThread> _threads = [];
    private bool _disposed;

    // The stub's CPU clock; set once the stub is ready for the app, frozen when it is killed.
    private StubCpuClock? _cpu;

    private PtraceAddressSpace(StubTemplate template, int pid)
    {
        _template = template;
        Pid = pid;
        CreatorHostThread = HostProcess.GetTid();
    }

    /// <summary>A stub thread and the register state it idles with (the base for injections).</summary>
    internal sealed class StubThread
    {
        public required int Tid { get; init; }

        /// <summary>The CPU this thread was last moved to by <see cref="PtraceAddressSpace.FollowCpu"/>, or -1.</summary>
        public int Cpu = -1;

        public PtraceRegs InitRegs;
    }

    /// <summary>The stub's host pid; its main thread serves the first context.</summary>
    public int Pid { get; }

    /// <summary>The host thread that created (or claimed) the stub: it traces the main stub thread.</summary>
    public int CreatorHostThread { get; private set; }

    /// <summary>Spawns a stub, seizes it from the calling thread, and empties its address space.</summary>
    /// <param name="sysmsgFile">The systrap platform's shared-memory file, held at fd 4; null on ptrace.</param>
    /// <param name="moreFds">Further (Sentry fd, stub fd) pairs the stub gets (systrap's mapper channel).</param>
    public static PtraceAddressSpace? Create(StubTemplate template, SafeFdHandle memoryFile, ulong vdso, out long error, SafeFdHandle? sysmsgFile = null, (int From, int To)[]? moreFds = null)
    {
        StubVdso.FixLayoutForChildren();
        (int From, int To)[] fds = sysmsgFile == null ? [(memoryFile.Fd, StubMemoryFileFd)] : [(memoryFile.Fd, StubMemoryFileFd), (sysmsgFile.Fd, StubSysmsgFileFd), .. moreFds ?? []];
        int pid = HostSpawn.Spawn(
            template.Path,
            ["moat-stub"],
            [],
            fds,
            [0, 1, 2],
            newSession: true);
        if (pid < 0)
        {
            error = pid;
            return null;
        }

        var space = new PtraceAddressSpace(template, pid);
        error = space.Adopt(pid, out StubThread? main);
        if (error >= 0)
        {
            lock (space._mu)
            {
                space._threads[space.CreatorHostThread] = main!;
            }

            error = space.EmptyAddressSpace(vdso);
        }

        if (error >= 0)
        {
            // From here on the stub's CPU time is the app's.
            space._cpu = StubCpuClock.ForProcess(pid);
        }

        if (error < 0)
        {
            space.Dispose();
            return null;
        }

        return space;
    }

    /// <summary>
    /// Lets go of the main stub thread, back in its pause loop, so that another host thread can <see cref="Claim"/>
    /// it (a stub made ahead of time). Preconditions: called by the creator, which traces no other thread of it.
    /// </summary>
    public long Release()
    {
        StubThread? main;
        lock (_mu)
        {
            _threads.Remove(CreatorHostThread, out main);
        }

        if (main == null)
        {
            return -Errno.EPERM.Value;
        }

        // The thread sits at the int3 of its last injection: resume it in the pause loop, untraced.
        long r = HostPtrace.SetRegs(main.Tid, main.InitRegs);
        return r < 0 ? r : HostPtrace.Detach(main.Tid);
    }

    /// <summary>Seizes a released stub's main thread from the calling host thread, which becomes its creator.</summary>
    public long Claim()
    {
        long r = Adopt(Pid, out StubThread? main);
        if (r < 0)
        {
            return r;
        }

        int host = HostProcess.GetTid();
        lock (_mu)
        {
            CreatorHostThread = host;
            _threads[host] = main!;
        }

        return 0;
    }

    /// <summary>The stub thread traced by the calling host thread, or null.</summary>
    public StubThread? CurrentThread()
    {
        lock (_mu)
        {
            return _threads.GetValueOrDefault(HostProcess.GetTid());
        }
    }

    /// <summary>Binds the calling host thread to a stub thread: the main one (token null) or a prepared one.</summary>
    public long Attach(object? token, out StubThread? thread)
    {
        thread = null;
        int host = HostProcess.GetTid();
        if (token == null)
        {
            lock (_mu)
            {
                thread = _threads.GetValueOrDefault(host);
            }

            return thread == null ? -Errno.EPERM.Value : 0;
        }

        long r = Adopt((int)token, out thread);
        if (r < 0)
        {
            return r;
        }

        lock (_mu)
        {
            _threads[host] = thread!;
        }

        return 0;
    }

    /// <summary>Ends the calling host thread's stub thread (unless it is the main one) and forgets it.</summary>
    public void Detach()
    {
        int host = HostProcess.GetTid();
        StubThread? t;
        lock (_mu)
        {
            if (!_threads.Remove(host, out t))
            {
                return;
            }
        }

        if (t.Tid != Pid)
        {
            // A traced thread must be gone before its tracer thread ends: PTRACE_O_EXITKILL would
            // otherwise SIGKILL the whole stub.
            InjectOn(t, Sysno.exit, 0, 0, 0, 0, 0, 0, expectReturn: false);
            HostProcess.WaitPid(t.Tid, out _, HostProcess.__WALL);
        }
        else
        {
            // The main stub thread stays (it keeps the process alive); put it back for its creator.
            lock (_mu)
            {
                _threads[host] = t;
            }
        }
    }

    public long CpuRuntimeNs() => _cpu?.RuntimeNs() ?? 0;

    public (long User, long System) CpuTime() => _cpu?.Times() ?? (0, 0);

    public long PrepareThread(out object? token)
    {
        token = null;
        StubThread? self = CurrentThread();
        if (self == null)
        {
            return -Errno.EPERM.Value;
        }

        long tid = InjectAt(self, _template.InjectClone, Sysno.clone, StubImage.ThreadCloneFlags, 0, 0, 0, 0, 0);
        if (tid <= 0)
        {
            return tid < 0 ? tid : -Errno.EAGAIN.Value;
        }

        token = (int)tid;
        return 0;
    }

    // Seizes a stub thread from the calling thread and waits until it idles in pause().
    private long Adopt(int tid, out StubThread? thread)
    {
        thread = null;

        // EPERM while another tracer (strace -f -b execve, a debugger) is still letting go of a new stub.
        long r;
        for (int attempt = 0; (r = HostPtrace.Seize(tid, HostPtrace.PTRACE_O_EXITKILL | HostPtrace.PTRACE_O_TRACESYSGOOD)) == -Errno.EPERM.Value && attempt < 200; attempt++)
        {
            Thread.Sleep(5);
        }

        if (r < 0)
        {
            return r;
        }

        var t = new StubThread { Tid = tid };
        long deadline = Environment.TickCount64 + 10_000;
        for (int attempt = 0; ; attempt++)
        {
            r = HostPtrace.Interrupt(tid);
            if (r < 0)
            {
                return r;
            }

            int w = HostProcess.WaitPid(tid, out int status, HostProcess.__WALL);
            if (w < 0)
            {
                return w;
            }

            if (!HostProcess.WIfStopped(status))
            {
                return -Errno.ECHILD.Value;
            }

            r = HostPtrace.GetRegs(tid, out t.InitRegs);
            if (r < 0)
            {
                return r;
            }

            if (t.InitRegs.rip == _template.PauseReturn)
            {
                break;
            }

            if (Environment.TickCount64 > deadline)
            {
                return -Errno.ETIMEDOUT.Value;
            }

            // Still setting up (or just born from clone): let it run on into pause(), giving it the CPU.
            HostPtrace.Cont(tid, 0);
            if (attempt < 16)
            {
                Thread.Yield();
            }
            else
            {
                Thread.Sleep(1);
            }
        }

        // Never restart the interrupted pause() when we resume the stub with registers of our own.
        t.InitRegs.orig_rax = ulong.MaxValue;
        thread = t;
        return 0;
    }

    // Unmaps everything the host's execve left in the stub (stack, ...) except the stub page and, when the
    // platform uses it, the host's vDSO, which must then be exactly where the platform said it is.
    private long EmptyAddressSpace(ulong vdso)
    {
        string maps;
        try
        {
            maps = File.ReadAllText("/proc/" + Pid.ToString(CultureInfo.InvariantCulture) + "/maps");
        }
        catch (IOException)
        {
            return -Errno.EIO.Value;
        }

        foreach (string line in maps.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int dash = line.IndexOf('-', StringComparison.Ordinal);
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            ulong start = ulong.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            ulong end = ulong.Parse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (start == StubImage.StubBase || start >= 0x8000_0000_0000UL)
            {
                continue; // the stub itself, and [vsyscall], which cannot be unmapped
            }

            if (vdso != 0 && StubVdso.IsVdsoMapping(line))
            {
                if (line.EndsWith("[vdso]", StringComparison.Ordinal) && start != vdso)
                {
                    return -Errno.EIO.Value; // AT_SYSINFO_EHDR would point at nothing.
                }

                continue;
            }

            long r = Unmap(start, end - start);
            if (r < 0)
            {
                return r;
            }
        }

        return 0;
    }

    public long MapFile(ulong addr, ulong length, long fileOffset, int prot) => MapFd(StubMemoryFileFd, addr, length, fileOffset, prot);

    /// <summary>Maps bytes of the stub's fd <paramref name="fd"/> at <paramref name="addr"/>, from the calling host thread's stub thread.</summary>
    public long MapFd(int fd, ulong addr, ulong length, long fileOffset, int prot)
    {
        long r = Inject(Sysno.mmap, (long)addr, (long)length, prot, Mman.MAP_SHARED | Mman.MAP_FIXED, fd, fileOffset);
        if (r >= 0 && (ulong)r != addr)
        {
            return -Errno.EFAULT.Value;
        }

        return r < 0 ? r : 0;
    }

    public long Unmap(ulong addr, ulong length)
    {
        long r = Inject(Sysno.munmap, (long)addr, (long)length, 0, 0, 0, 0);
        return r < 0 ? r : 0;
    }

    /// <summary>Runs one host syscall inside the calling host thread's stub thread; returns its result (or -errno).</summary>
    private long Inject(int nr, long a1, long a2, long a3, long a4, long a5, long a6)
    {
        StubThread? t = CurrentThread();
        return t == null ? -Errno.EPERM.Value : InjectAt(t, _template.InjectSyscall, nr, a1, a2, a3, a4, a5, a6);
    }

    /// <summary>
    /// Moves the calling host thread's stub thread to the CPU the caller runs on, so that the ptrace
    /// hand-offs of the next injections are same-CPU wake-ups (on this kind of VM ~6 µs instead of ~45 µs).
    /// For platforms that do not pin the pair for good.
    /// </summary>
    public unsafe void FollowCpu()
    {
        StubThread? t = CurrentThread();
        int cpu = CurrentCpu();
        if (t == null || cpu < 0 || cpu == t.Cpu || cpu >= 1024)
        {
            return;
        }

        ulong* mask = stackalloc ulong[16];
        new Span<ulong>(mask, 16).Clear();
        mask[cpu / 64] = 1UL << (cpu % 64);
        if (HostProcess.Syscall(Sysno.sched_setaffinity, t.Tid, 128, (long)mask) == 0)
        {
            t.Cpu = cpu;
        }
    }

    private static unsafe int CurrentCpu()
    {
        uint cpu;
        return HostProcess.Syscall(Sysno.getcpu, (long)&cpu, 0, 0) < 0 ? -1 : (int)cpu;
    }

    /// <summary>Runs one host syscall at <paramref name="site"/> in the calling host thread's stub thread.</summary>
    public long InjectAtSite(ulong site, int nr, long a1, long a2, long a3, long a4, long a5, long a6)
    {
        StubThread? t = CurrentThread();
        return t == null ? -Errno.EPERM.Value : InjectAt(t, site, nr, a1, a2, a3, a4, a5, a6);
    }

    private long InjectOn(StubThread t, int nr, long a1, long a2, long a3, long a4, long a5, long a6, bool expectReturn)
    {
        if (expectReturn)
        {
            return InjectAt(t, _template.InjectSyscall, nr, a1, a2, a3, a4, a5, a6);
        }

        PtraceRegs regs = t.InitRegs;
        regs.rip = _template.InjectSyscall;
        regs.rax = (ulong)nr;
        regs.rdi = (ulong)a1;
        long r = HostPtrace.SetRegs(t.Tid, regs);
        return r < 0 ? r : HostPtrace.Cont(t.Tid, 0);
    }

    private static long InjectAt(StubThread t, ulong site, long nr, long a1, long a2, long a3, long a4, long a5, long a6)
    {
        PtraceRegs regs = t.InitRegs;
        regs.rip = site;
        regs.rax = (ulong)nr;
        regs.rdi = (ulong)a1;
        regs.rsi = (ulong)a2;
        regs.rdx = (ulong)a3;
        regs.r10 = (ulong)a4;
        regs.r8 = (ulong)a5;
        regs.r9 = (ulong)a6;
        long r = HostPtrace.SetRegs(t.Tid, regs);
        if (r < 0)
        {
            return r;
        }

        r = HostPtrace.Cont(t.Tid, 0);
        if (r < 0)
        {
            return r;
        }

        while (true)
        {
            int w = HostProcess.WaitPid(t.Tid, out int status, HostProcess.__WALL);
            if (w < 0)
            {
                return w;
            }

            if (!HostProcess.WIfStopped(status))
            {
                return -Errno.EIO.Value;
            }

            if (HostProcess.WStopSig(status) == Signal.SIGTRAP)
            {
                break;
            }

            // Another signal reached the stub first (the context's interrupt kick, or a stray one from
            // the host): the context remembers its kicks, so drop it and let the injected call finish.
            r = HostPtrace.Cont(t.Tid, 0);
            if (r < 0)
            {
                return r;
            }
        }

        r = HostPtrace.GetRegs(t.Tid, out regs);
        return r < 0 ? r : (long)regs.rax;
    }

    public void OnLost(Action lost)
    {
        long r = StubDeathWatcher.Watch(Pid, lost);
        if (r < 0)
        {
            // Without a watcher the tasks still notice the death when they next run app code.
            System.Diagnostics.Debug.WriteLine($"moat: cannot watch stub {Pid}: {r}");
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        StubDeathWatcher.Unwatch(Pid);

        // Last reading while the pid is still the stub's (it may be reused once reaped).
        _cpu?.Times();
        _cpu?.Dispose();
        HostProcess.Kill(Pid, Signal.SIGKILL);
        HostProcess.WaitPid(Pid, out _, HostProcess.__WALL);
    }
}
