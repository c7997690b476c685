using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Platform.Systrap;

/// <summary>
/// Runs a task on its app thread. A switch writes the task's registers into the signal frame the thread
/// is parked in, flips the region's state to RESUME, and waits for the next trap: spinning first (the
/// answer to a syscall usually comes within microseconds), then sleeping on the state futex.
/// Invariants: Attach, Switch, Detach and the FP-state calls run on the task's host thread.
/// </summary>
internal sealed unsafe class SystrapContext : IContext
{
    // struct ucontext and struct sigcontext offsets (x86-64).
    private const int UcMcontext = 40;
    private const int UcSigmask = UcMcontext + 256;
    private const int UcSize = UcSigmask + 8;
    private const int McErr = 152;
    private const int McFpstate = 184;
    private const int FxsaveSize = 512;

    // si_code of a seccomp trap, and of a tgkill.
    private const int SysSeccomp = 1;
    private const int SiTkill = -6;

    // siginfo's _sigsys.si_arch, and the architecture of an x86-64 syscall instruction.
    private const int SiArch = 28;
    private const uint AuditArchX8664 = 0xC000003E;
    private const ulong VsyscallPage = 0xFFFF_FFFF_FF60_0000;

    private const int SpinMissesBeforeBackoff = 4;
    private const int MaxSpinSkip = 4096;

    private readonly SpinPolicy _spin;

    // Syscall-site patching: %gs is the app thread's region while the app's own gs base is 0.
    private static readonly bool Patching = SystrapSyscallPatching.Enabled;

    // The last Syscall event trapped at a real syscall instruction. Task thread only.
    private bool _sitePatchable;

    // Spins that ended without a trap, in a row, and how many waits go without spinning. Task thread only.
    private int _spinMisses;
    private int _spinSkip;
    private bool _lastWaitSpun;
    private uint _lastTrapCount;
    private RunDelayProbe _load;
    private AppCpuFollower _follower;
    private bool _keepTogether;
    private SystrapAddressSpace? _space;
    private AppThread? _thread;

    // Read by Interrupt() from other threads.
    private volatile AppThread? _kickThread;
    private volatile int _kickPid;
    private volatile bool _interruptPending;

    // The app thread's CPU clock; frozen at Detach. Read from any thread.
    private volatile StubCpuClock? _cpu;

    public SystrapContext(SpinPolicy spin)
    {
        _spin = spin;
    }

    public long Attach(IAddressSpace addressSpace, object? token)
    {
        var space = (SystrapAddressSpace)addressSpace;
        long r = space.Attach(token, out AppThread? app, out int injectorTid);
        if (r < 0)
        {
            return r;
        }

        // Not pinned as on the ptrace platform: spinning needs the task's host thread and its app thread on
        // different CPUs (measured: pinning the host thread with its injector made ping-pong 5x slower).
        _ = injectorTid;

        // The new thread reports itself from app_init's int3 once its signal stack and filter are in place.
        if (!WaitTrapped(app!, space.Pid) || !IsFirstTrap(app!))
        {
            space.Detach(app!);
            return -Errno.EIO.Value;
        }

        _space = space;
        _thread = app;
        _lastTrapCount = app!.TrapCount;
        _kickPid = space.Pid;
        _kickThread = app;
        _cpu = StubCpuClock.ForThread(space.Pid, app.Tid);
        return 0;
    }

    public void Detach(IAddressSpace addressSpace)
    {
        if (_space == addressSpace && _thread != null)
        {
            _kickThread = null;
            _cpu?.Dispose();
            _space.Detach(_thread);
            _space = null;
            _thread = null;
        }
    }

    public long ThreadCpuRuntimeNs() => _cpu?.RuntimeNs() ?? 0;

    public (long User, long System) ThreadCpuTime() => _cpu?.Times() ?? (0, 0);

    public SwitchEvent Switch(IAddressSpace addressSpace, ref PtraceRegs regs)
    {
        AppThread? t = _thread;
        if (_space != addressSpace || t == null)
        {
            return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
        }

        _sitePatchable = false;
        if (_interruptPending)
        {
            _interruptPending = false;
            return new SwitchEvent(SwitchEventKind.Interrupted, default);
        }

        byte* uc = t.Resolve(t.UcontextAddress, UcSize);
        if (uc == null)
        {
            return Scrambled();
        }

        StoreRegs(uc, in regs);
        t.SetBasesOut(regs.fs_base, Patching && regs.gs_base == 0 ? t.StubAddress : regs.gs_base);
        // The stub spins for the answer only while this task is in a spinning streak: otherwise the CPU it
        // would burn is likely the one the Sentry, or another task, needs.
        t.StubSpin = _spinMisses == 0 && _lastWaitSpun ? _spin.StubIterations : 0;
        if (_keepTogether)
        {
            _follower.Follow(t.Tid);
        }

        Interlocked.Exchange(ref *t.State, AppThread.StateResume);
        if (Volatile.Read(ref *t.StubWaiting) != 0)
        {
            _load.Woke(); // its scheduler delay may count a wake-up
            HostFutex.WakeShared(t.State, 1);
        }

        if (!WaitTrapped(t, _kickPid))
        {
            return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
        }

        // A real trap was counted by the handler; a state flipped by another thread of the app was not.
        uint count = t.TrapCount;
        ulong ucAddress = t.UcontextAddress;
        uc = t.Resolve(ucAddress, UcSize);
        byte* si = t.Resolve(t.SiginfoAddress, SigInfo.Size);
        if (uc == null || si == null || count == _lastTrapCount)
        {
            return Scrambled();
        }

        _lastTrapCount = count;

        LoadRegs(uc, ref regs);
        regs.fs_base = t.FsBase;
        regs.gs_base = t.GsBase;
        if (Patching && regs.gs_base == t.StubAddress)
        {
            regs.gs_base = 0; // the region, standing in for the app's own 0
        }

        SigInfo info = MemoryMarshal.Read<SigInfo>(new ReadOnlySpan<byte>(si, SigInfo.Size));
        if (info.si_signo == Signal.SIGSYS && info.si_code == SysSeccomp)
        {
            // The host rolled the call back: rax holds the number. Show it as a ptrace syscall stop would.
            regs.orig_rax = regs.rax;
            regs.rax = unchecked((ulong)-Errno.ENOSYS.Value);

            // si_arch says which entry the call took: int 0x80 and sysenter are AUDIT_ARCH_I386.
            uint arch = MemoryMarshal.Read<uint>(new ReadOnlySpan<byte>(si + SiArch, 4));
            if (info.si_addr - VsyscallPage < 0x1000)
            {
                // A call into the vsyscall page, trapped at the host's emulation of it after its ret (rip is
                // the caller). si_call_addr is the address called.
                return new SwitchEvent(SwitchEventKind.Vsyscall, info);
            }

            // A trap at a real syscall instruction (not through a patched site's frame) may be patched.
            _sitePatchable = Patching && arch == AuditArchX8664 && ucAddress != t.PatchFrameAddress;
            return new SwitchEvent(arch == AuditArchX8664 ? SwitchEventKind.Syscall : SwitchEventKind.Syscall32, default);
        }

        regs.orig_rax = ulong.MaxValue;
        if (Patching && (info.si_signo == Signal.SIGSEGV || info.si_signo == Signal.SIGBUS) &&
            regs.rip == SystrapStubImage.Address(SystrapStubCode.PatchedSelf))
        {
            // The patched path read its region through a %gs the app set to unmapped memory: make the call the
            // trapped way, from the entry's fallback (r11 is the entry; an app that forged it only jumps there).
            regs.rip = regs.r11 + SystrapSyscallPatching.FallbackOffset;
            return new SwitchEvent(SwitchEventKind.Interrupted, default);
        }

        if (info.si_signo == Signal.SIGCHLD && info.si_code == SiTkill && info.si_pid == HostProcess.GetPid())
        {
            _interruptPending = false;
            return new SwitchEvent(SwitchEventKind.Interrupted, default);
        }

        // The page-fault error code is in the signal frame only (sigcontext's err), not in the siginfo.
        long err = info.si_signo == Signal.SIGSEGV ? MemoryMarshal.Read<long>(new ReadOnlySpan<byte>(uc + UcMcontext + McErr, 8)) : -1;
        return new SwitchEvent(SwitchEventKind.Signal, info) { FaultErrorCode = err };
    }

    // Waits until the app thread has trapped. False if it died (or its stub did).
    private bool WaitTrapped(AppThread t, int pid)
    {
        int* state = t.State;
        if (Volatile.Read(ref *state) == AppThread.StateTrapped)
        {
            return true;
        }

        _lastWaitSpun = false;
        bool loadAllows = LoadAllowsSpin(out long spinStart);
        if (_spinSkip > 0)
        {
            _spinSkip--;
        }
        else if (loadAllows && _spin.TryBeginSpin())
        {
            int spun = Spin(state, spinStart);
            _spin.EndSpin();
            if (spun > 0)
            {
                _spinMisses = 0;
                _lastWaitSpun = true;
                return true;
            }

            // The app runs longer than a spin between traps: stop burning a CPU on it for a while. (A spin
            // cut short because this thread lost its CPU says nothing about the app: the host is loaded.)
            if (spun == 0 && ++_spinMisses >= SpinMissesBeforeBackoff)
            {
                _spinSkip = Math.Min(MaxSpinSkip, 16 << Math.Min(_spinMisses - SpinMissesBeforeBackoff, 8));
            }
        }

        long kickedAt = 0;
        while (true)
        {
            Interlocked.Exchange(ref *t.SentryWaiting, 1);
            int s = Volatile.Read(ref *state);
            if (s == AppThread.StateTrapped)
            {
                Volatile.Write(ref *t.SentryWaiting, 0);
                return true;
            }

            if ((uint)s > AppThread.StateExit)
            {
                // Only the app writes such a value: it is scrambling its own region. Its process goes.
                return GiveUp(pid);
            }

            long r = HostFutex.WaitShared(state, s, 200_000_000);
            Volatile.Write(ref *t.SentryWaiting, 0);
            if (Volatile.Read(ref *state) == AppThread.StateTrapped || (r != -Errno.ETIMEDOUT.Value && !_interruptPending))
            {
                continue;
            }

            // Quiet for a while, or the Sentry wants this thread back: is it still there?
            if (HostProcess.Syscall(Sysno.tgkill, pid, t.Tid, 0) < 0)
            {
                return false;
            }

            if (!_interruptPending)
            {
                continue;
            }

            long now = Environment.TickCount64;
            if (kickedAt == 0)
            {
                kickedAt = now;
            }
            else if (now - kickedAt > UnansweredKickMs)
            {
                // Kicked for seconds and never trapped: the app has made this thread deaf (a forged
                // sigreturn frame can block the kick; a scrambled region can stall the hand-off).
                return GiveUp(pid);
            }

            if (r == -Errno.ETIMEDOUT.Value)
            {
                HostProcess.Syscall(Sysno.tgkill, pid, t.Tid, Signal.SIGCHLD);
            }
        }
    }

    // The app has scrambled this thread's region: its process goes, as for any other sign of that.
    private SwitchEvent Scrambled()
    {
        GiveUp(_kickPid);
        return new SwitchEvent(SwitchEventKind.AddressSpaceLost, default);
    }

    // How long a kicked thread may go without trapping before its process is killed.
    private const long UnansweredKickMs = 3000;

    // Kills the stub process: every task in it sees its address space lost, as when a stub is killed from outside.
    private static bool GiveUp(int pid)
    {
        HostProcess.Kill(pid, Signal.SIGKILL);
        return false;
    }

    // Whether this wait may spin, given the host's load: not while the CPUs are oversubscribed
    // (CpuContention), which this task checks every few milliseconds from its app thread's scheduler delay.
    // Between those checks it costs a clock read (the vDSO) and a compare.
    private bool LoadAllowsSpin(out long now)
    {
        now = Stopwatch.GetTimestamp();
        if (!_spin.LoadAware)
        {
            return true;
        }

        if (_spin.Contention.IsContended(now))
        {
            _load.Spoil(); // the app thread is kept on this thread's CPU: it waits for this one to sleep
            _keepTogether = true;
            return false;
        }

        if (_load.Due(now) && _load.Sample(now, _cpu?.RunDelayNs() ?? -1))
        {
            _spin.Contention.Mark(now);
            _keepTogether = true;
            return false;
        }

        // Spinning again: the app thread must not share the spinner's CPU.
        _keepTogether = false;
        if (_follower.Bound && _thread != null)
        {
            _follower.Release(_thread.Tid);
        }

        return true;
    }

    // A gap this long between two looks at the clock means the spinning thread lost its CPU to another
    // (a competitor's time slice, at least ~0.75 ms; a short interrupt or wake-up of another thread is less).
    private static readonly long s_preemptedTicks = Stopwatch.Frequency / 2000;

    // Spins for the trap: 1 when it came, 0 when the budget ran out, -1 when this thread was preempted
    // while spinning (the host is loaded: CpuContention is told, and the wait sleeps).
    private int Spin(int* state, long start)
    {
        long until = start + _spin.SentryTicksBudget;
        long last = start;
        for (int n = 1; ; n++)
        {
            if (Volatile.Read(ref *state) == AppThread.StateTrapped)
            {
                return 1;
            }

            System.Runtime.Intrinsics.X86.X86Base.Pause();
            if ((n & 31) == 0)
            {
                long now = Stopwatch.GetTimestamp();
                if (now - last > s_preemptedTicks && _spin.LoadAware)
                {
                    _spin.Contention.Mark(now);
                    return -1;
                }

                if (now >= until)
                {
                    return 0;
                }

                last = now;
            }
        }
    }

    private static bool IsFirstTrap(AppThread t)
    {
        byte* uc = t.Resolve(t.UcontextAddress, UcSize);
        return uc != null && Gregs(uc)[16] == SystrapStubImage.Address(SystrapStubCode.FirstTrap) + 1;
    }

    private static ulong* Gregs(byte* uc) => (ulong*)(uc + UcMcontext);

    // sigcontext order: r8 r9 r10 r11 r12 r13 r14 r15 rdi rsi rbp rbx rdx rax rcx rsp rip eflags csgsfs.
    private static void LoadRegs(byte* uc, ref PtraceRegs regs)
    {
        ulong* g = Gregs(uc);
        regs.r8 = g[0];
        regs.r9 = g[1];
        regs.r10 = g[2];
        regs.r11 = g[3];
        regs.r12 = g[4];
        regs.r13 = g[5];
        regs.r14 = g[6];
        regs.r15 = g[7];
        regs.rdi = g[8];
        regs.rsi = g[9];
        regs.rbp = g[10];
        regs.rbx = g[11];
        regs.rdx = g[12];
        regs.rax = g[13];
        regs.rcx = g[14];
        regs.rsp = g[15];
        regs.rip = g[16];
        regs.eflags = g[17];
        ushort* seg = (ushort*)&g[18];
        regs.cs = seg[0];
        regs.ss = seg[3];
    }

    private static void StoreRegs(byte* uc, in PtraceRegs regs)
    {
        ulong* g = Gregs(uc);
        g[0] = regs.r8;
        g[1] = regs.r9;
        g[2] = regs.r10;
        g[3] = regs.r11;
        g[4] = regs.r12;
        g[5] = regs.r13;
        g[6] = regs.r14;
        g[7] = regs.r15;
        g[8] = regs.rdi;
        g[9] = regs.rsi;
        g[10] = regs.rbp;
        g[11] = regs.rbx;
        g[12] = regs.rdx;
        g[13] = regs.rax;
        g[14] = regs.rcx;
        g[15] = regs.rsp;
        g[16] = regs.rip;
        g[17] = regs.eflags;

        // User code and stack segments always: the kernel would refuse anything else on sigreturn anyway.
        ushort* seg = (ushort*)&g[18];
        seg[0] = 0x33;
        seg[3] = 0x2b;

        // Nothing blocked in the host thread: the app's signal mask is the Sentry's business.
        *(ulong*)(uc + UcSigmask) = 0;
    }

    private byte* FpState(int length)
    {
        AppThread? t = _thread;
        if (t == null)
        {
            return null;
        }

        byte* uc = t.Resolve(t.UcontextAddress, UcSize);
        return uc == null ? null : t.Resolve(*(ulong*)(uc + UcMcontext + McFpstate), length);
    }

    public long GetFpState(IAddressSpace addressSpace, Span<byte> fxsave)
    {
        byte* fp = FpState(FxsaveSize);
        if (fp == null)
        {
            return -Errno.ESRCH.Value;
        }

        new ReadOnlySpan<byte>(fp, FxsaveSize).CopyTo(fxsave);
        return 0;
    }

    public long SetFpState(IAddressSpace addressSpace, ReadOnlySpan<byte> fxsave)
    {
        // Bytes 464..511 of the frame's FXSAVE area hold the kernel's xsave descriptor (fx_sw_reserved):
        // keep it, so that sigreturn still restores the extended state from the frame.
        const int Architectural = 464;
        byte* fp = FpState(FxsaveSize + 64);
        if (fp == null || fxsave.Length < Architectural)
        {
            return -Errno.ESRCH.Value;
        }

        fxsave[..Architectural].CopyTo(new Span<byte>(fp, Architectural));
        _thread!.MarkFpStateChanged();

        // XSTATE_BV bits 0 (x87) and 1 (SSE) say the frame holds that state; cleared, sigreturn would reset it.
        const uint FpXstateMagic1 = 0x46505853;
        if (*(uint*)(fp + Architectural) == FpXstateMagic1)
        {
            *(ulong*)(fp + FxsaveSize) |= 0x3;
        }
        return 0;
    }

    public bool SyscallSitePatchable => _sitePatchable;

    public void Interrupt()
    {
        _interruptPending = true;
        AppThread? t = _kickThread;
        int pid = _kickPid;
        if (t != null)
        {
            // Kick exactly our app thread; wake our own wait too, in case the thread is gone.
            HostProcess.Syscall(Sysno.tgkill, pid, t.Tid, Signal.SIGCHLD);
            HostFutex.WakeShared(t.State, int.MaxValue);
        }
    }

    public void Dispose()
    {
        _cpu?.Dispose();
    }
}
