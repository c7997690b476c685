using System;
using System.Globalization;
using System.IO;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Platform.Ptrace;

/// <summary>
/// An address space backed by one stub process. Mapping changes are made by injecting mmap/munmap into the
/// stub; the stub's seccomp filter allows nothing else.
/// Invariants: every method runs on <see cref="TracerThreadId"/>, the thread that seized the stub.
/// </summary>
internal sealed class PtraceAddressSpace : IAddressSpace
{
    /// <summary>The fd number at which every stub holds the MemoryFile.</summary>
    public const int StubMemoryFileFd = 3;

    private readonly StubTemplate _template;

    // Registers of the stub idling in pause(); injection starts from a copy of them. Immutable after Init.
    private PtraceRegs _initRegs;
    private bool _disposed;

    private PtraceAddressSpace(StubTemplate template, int pid)
    {
        _template = template;
        Pid = pid;
        TracerThreadId = HostProcess.GetTid();
    }

    /// <summary>The stub's host pid; its only thread runs application code.</summary>
    public int Pid { get; }

    public int TracerThreadId { get; }

    /// <summary>The stub's idle register state: segment selectors and flags valid for SETREGS.</summary>
    public ref readonly PtraceRegs InitialRegisters => ref _initRegs;

    /// <summary>Spawns a stub, seizes it from the calling thread, and empties its address space.</summary>
    public static PtraceAddressSpace? Create(StubTemplate template, SafeFdHandle memoryFile, out long error)
    {
        int pid = HostSpawn.Spawn(
            template.Path,
            ["moat-stub"],
            [],
            [(memoryFile.Fd, StubMemoryFileFd)],
            [0, 1, 2]);
        if (pid < 0)
        {
            error = pid;
            return null;
        }

        var space = new PtraceAddressSpace(template, pid);
        error = space.Init();
        if (error < 0)
        {
            space.Dispose();
            return null;
        }

        return space;
    }

    private long Init()
    {
        // EPERM while another tracer (strace -f -b execve, a debugger) is still letting go of the new stub.
        long r;
        for (int attempt = 0; (r = HostPtrace.Seize(Pid, HostPtrace.PTRACE_O_EXITKILL | HostPtrace.PTRACE_O_TRACESYSGOOD)) == -Errno.EPERM.Value && attempt < 200; attempt++)
        {
            Thread.Sleep(5);
        }

        if (r < 0)
        {
            return r;
        }

        // The stub may still be setting up its filter: stop it, and let it run on until it idles in pause().
        for (int attempt = 0; ; attempt++)
        {
            r = HostPtrace.Interrupt(Pid);
            if (r < 0)
            {
                return r;
            }

            int w = HostProcess.WaitPid(Pid, out int status, HostProcess.__WALL);
            if (w < 0)
            {
                return w;
            }

            if (!HostProcess.WIfStopped(status))
            {
                return -Errno.ECHILD.Value;
            }

            r = HostPtrace.GetRegs(Pid, out _initRegs);
            if (r < 0)
            {
                return r;
            }

            if (_initRegs.rip == _template.PauseReturn)
            {
                break;
            }

            if (attempt > 10000)
            {
                return -Errno.ETIMEDOUT.Value;
            }

            HostPtrace.Cont(Pid, 0);
            Thread.Sleep(0);
        }

        // Never restart the interrupted pause() when we resume the stub with registers of our own.
        _initRegs.orig_rax = ulong.MaxValue;
        return EmptyAddressSpace();
    }

    // Unmaps everything the host's execve left in the stub (stack, vDSO, vvar) except the stub page.
    private long EmptyAddressSpace()
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

            long r = Unmap(start, end - start);
            if (r < 0)
            {
                return r;
            }
        }

        return 0;
    }

    public long MapFile(ulong addr, ulong length, long fileOffset, int prot)
    {
        long r = Inject(Sysno.mmap, (long)addr, (long)length, prot, Mman.MAP_SHARED | Mman.MAP_FIXED, StubMemoryFileFd, fileOffset);
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

    /// <summary>Runs one host syscall inside the stub and returns its result (or -errno).</summary>
    private long Inject(int nr, long a1, long a2, long a3, long a4, long a5, long a6)
    {
        PtraceRegs regs = _initRegs;
        regs.rip = _template.InjectSyscall;
        regs.rax = (ulong)nr;
        regs.rdi = (ulong)a1;
        regs.rsi = (ulong)a2;
        regs.rdx = (ulong)a3;
        regs.r10 = (ulong)a4;
        regs.r8 = (ulong)a5;
        regs.r9 = (ulong)a6;
        long r = HostPtrace.SetRegs(Pid, regs);
        if (r < 0)
        {
            return r;
        }

        r = HostPtrace.Cont(Pid, 0);
        if (r < 0)
        {
            return r;
        }

        while (true)
        {
            int w = HostProcess.WaitPid(Pid, out int status, HostProcess.__WALL);
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
            r = HostPtrace.Cont(Pid, 0);
            if (r < 0)
            {
                return r;
            }
        }

        r = HostPtrace.GetRegs(Pid, out regs);
        return r < 0 ? r : (long)regs.rax;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        HostProcess.Kill(Pid, Signal.SIGKILL);
        HostProcess.WaitPid(Pid, out _, HostProcess.__WALL);
    }
}
