using System;
using System.Diagnostics;
using System.Threading;
using Moat.Abi;
using Moat.Platform;
using Moat.Sentry.Kernel.Seccomp;
using Moat.Sentry.Mm;
using Moat.Sentry.Syscalls.Linux;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Kernel;

/// <summary>
/// A thread of the application: its registers, its memory, its files, and the loop that runs it on the
/// platform and serves what comes back (syscalls, faults, signals). Each task runs on a host thread of its
/// own, which is also the ptrace tracer of its stub.
/// Invariants: fields are owned by the task's own host thread unless they say otherwise.
/// </summary>
internal sealed partial class Task
{
    private readonly ManualResetEventSlim _wake = new(false);
    private PtraceRegs _regs;
    private SchedAttr _sched = SchedAttr.Default;
    private int _ioPriority;

    public Task(Kernel kernel, ThreadGroup group, int tid, MemoryManager mm, FdTable fds, Credentials creds)
        : this(kernel, group, tid == group.Tgid ? group.Pid : new Pid(group.PidNs, tid), mm, fds, creds)
    {
    }

    /// <summary>A task with the ids <paramref name="pid"/> (its process's for a leader).</summary>
    public Task(Kernel kernel, ThreadGroup group, Pid pid, MemoryManager mm, FdTable fds, Credentials creds)
    {
        Kernel = kernel;
        Group = group;
        Pid = pid;
        Tid = pid.Global;
        MM = mm;
        Fds = fds;
        Credentials = creds;
        Context = kernel.Platform.NewContext();
    }

    public Kernel Kernel { get; }

    /// <summary>When the task was made (Environment.TickCount64): /proc/PID/stat's starttime, its /proc entries' times.</summary>
    public long StartTicks { get; } = Environment.TickCount64;

    /// <summary>
    /// The number of the system call the task is serving, or -1 while it runs application code (/proc/PID/syscall).
    /// Written by the task's own thread only.
    /// </summary>
    public int SyscallInProgress => Volatile.Read(ref _syscallInProgress);

    private int _syscallInProgress = -1;

    /// <summary>
    /// The task whose host thread this is (every task runs on a thread of its own, exit included), or null on
    /// other Sentry threads. For code that acts "as current" below the syscall layer, as shm_nattch's pid.
    /// </summary>
    [ThreadStatic]
    public static Task? Current;

    public ThreadGroup Group { get; }

    /// <summary>The task id in the sandbox's root pid namespace (the kernel's tables' key).</summary>
    public int Tid { get; }

    /// <summary>The task's ids in its pid namespace and the ones above.</summary>
    public Pid Pid { get; }

    /// <summary>The pid namespace the task lives in: the one whose ids it sees (Linux's task_active_pid_ns).</summary>
    public PidNamespace PidNs => Pid.Namespace;

    /// <summary>
    /// Where the task's next children are made (/proc/PID/ns/pid_for_children): its own namespace unless
    /// unshare(CLONE_NEWPID) or setns named another. Owned by the task's own thread.
    /// </summary>
    public PidNamespace ChildPidNs
    {
        get => _childPidNs ?? PidNs;
        set => _childPidNs = value == PidNs ? null : value;
    }

    private PidNamespace? _childPidNs;

    /// <summary>The id <paramref name="viewer"/>'s namespace gives this task, 0 when it is not visible there.</summary>
    public int TidSeenBy(Task viewer) => Pid.In(viewer.PidNs);

    /// <summary>The task's memory; replaced by execve.</summary>
    public MemoryManager MM { get; private set; }

    public FdTable Fds { get; private set; }

    /// <summary>unshare(CLONE_FILES): a table of the task's own when it shares one (a copy, as fork makes).</summary>
    public void UnshareFds()
    {
        FdTable old = Fds;
        if (old.Shared)
        {
            Fds = old.Fork();
            old.DecUsers();
        }
    }

    public IContext Context { get; }

    /// <summary>
    /// The task's credentials. A change of the effective ids, or a gain of permitted capabilities, makes the
    /// process not dumpable (Linux's commit_creds with fs.suid_dumpable 0), which ptrace-style access checks read.
    /// </summary>
    public Credentials Credentials
    {
        get => _credentials;
        set
        {
            Credentials old = _credentials;
            _credentials = value;
            if (old != null && (old.EffectiveUid != value.EffectiveUid || old.EffectiveGid != value.EffectiveGid ||
                (value.CapPermitted & ~old.CapPermitted) != 0))
            {
                Group.Dumpable = false;
            }
        }
    }

    private Credentials _credentials = null!;

    /// <summary>The application's general registers while the Sentry serves it.</summary>
    public ref PtraceRegs Registers => ref _regs;

    /// <summary>CPU time (ns) this thread used in stubs it has left (execve). Owned by the task's own thread.</summary>
    public (long User, long System) CpuBefore { get; set; }

    /// <summary>set_tid_address(2)'s pointer, cleared and futex-woken when the thread exits.</summary>
    public ulong ClearChildTid { get; set; }

    /// <summary>Scheduling policy, priority and nice value. Replaced whole (by any task, under SysSched's lock); read anywhere.</summary>
    public SchedAttr Sched
    {
        get => Volatile.Read(ref _sched);
        set => Volatile.Write(ref _sched, value);
    }

    /// <summary>ioprio_set(2)'s class and level (0, IOPRIO_CLASS_NONE, until set). Written by any task; read anywhere.</summary>
    public int IoPriority
    {
        get => Volatile.Read(ref _ioPriority);
        set => Volatile.Write(ref _ioPriority, value);
    }

    /// <summary>sigaltstack(2)'s stack, or 0 size when disabled.</summary>
    public ulong AltStackBase { get; set; }

    public ulong AltStackSize { get; set; }

    /// <summary>prctl(PR_SET_PDEATHSIG): sent to this task when its parent process exits.</summary>
    public int ParentDeathSignal { get; set; }

    /// <summary>When the task was created (Linux's start_time, on the real-time clock): taskstats' ac_btime.</summary>
    public DateTime StartedUtc { get; } = DateTime.UtcNow;

    /// <summary>The task's name (comm), at most 15 bytes: the executable's base name after execve.</summary>
    public string Comm { get; set; } = string.Empty;

    /// <summary>prctl(PR_SET_NO_NEW_PRIVS); inherited and never cleared.</summary>
    public bool NoNewPrivs { get; set; }

    /// <summary>personality(2)'s value: stored and reported, inherited by clone; the sandbox acts on none of its flags.</summary>
    public uint Personality { get; set; }

    /// <summary>The read and write family's counters (/proc/PID/task/TID/io); only this task adds to them.</summary>
    public IoAccounting Io;

    /// <summary>The per-task prctl(2) settings clone copies (timer slack, machine-check policy, I/O flusher).</summary>
    public TaskPrctl Prctl { get; set; } = TaskPrctl.Initial;

    /// <summary>
    /// sched_setaffinity(2)'s mask over the sandbox's CPUs (bit i is CPU i), or null for all of them. Replaced
    /// whole, by any task; inherited by clone. The host schedules every task on every CPU it allows.
    /// </summary>
    public ulong[]? CpuMask { get; set; }

    /// <summary>set_mempolicy(2)'s mode with its mode flags (MPOL_DEFAULT is 0); inherited by clone.</summary>
    public int MempolicyMode { get; set; }

    /// <summary>The policy's node mask as reported (nodes 0-63): the user's mask for static or relative policies.</summary>
    public ulong MempolicyNodes { get; set; }

    /// <summary>The registered rseq area, or 0.</summary>
    public ulong RseqAddress { get; set; }

    public uint RseqLength { get; set; }

    public uint RseqSignature { get; set; }

    /// <summary>Set when the task must stop running app code. Written under the signal lock.</summary>
    public ExitStatus? Exit { get; private set; }

    /// <summary>Set by a vfork child's exit or execve: its parent may go on. Null when not a vfork child.</summary>
    public ManualResetEventSlim? VforkDone { get; set; }

    /// <summary>Runs the task until it exits. Returns how it exited.</summary>
    public ExitStatus Run()
    {
        Profiling.SyscallProfile? profile = Kernel.Profile;
        Metrics.SandboxMetrics? metrics = Kernel.Metrics;
        ISyscallPatching? patching = Kernel.Platform.SyscallPatching;
        if (Kernel.Frozen)
        {
            // Started during a freeze (a clone, an exec from outside): it runs nothing before the thaw.
            WaitWhileFrozen();
        }

        if (_startStopPending)
        {
            PtraceStartStop();
        }

        while (Exit == null)
        {
            long switchStart = profile != null ? Stopwatch.GetTimestamp() : 0;
            MM.UnmapStaleHostMappings(); // another process's process_vm_writev copied pages we still map
            SwitchEvent ev = Context.Switch(MM.AddressSpace, ref _regs);
            if (patching != null)
            {
                ev = OnSyscallPatchingEvent(patching, ev);
            }

            if (ev.Kind == SwitchEventKind.Signal && ev.Info.si_signo == Signal.SIGSEGV && ev.Info.si_code == SigInfo.SI_KERNEL)
            {
                ev = OnGeneralProtectionFault(ev);
            }

            long sentryStart = profile != null ? Stopwatch.GetTimestamp() : 0;
            long allocStart = profile != null ? GC.GetAllocatedBytesForCurrentThread() : 0;
            int nr = (int)(long)_regs.orig_rax;
            long syscallResult = 0;
            switch (ev.Kind)
            {
                case SwitchEventKind.Syscall:
                    syscallResult = _syscallTracing && Tracer != null ? DoTracedSyscall() : DoSyscall();
                    break;
                case SwitchEventKind.Syscall32:
                    // 32-bit calls from 64-bit code are not served, as in gVisor's amd64 Sentry: ENOSYS. The
                    // filters still see them first, as i386 calls with their 32-bit argument registers.
                    if (_seccomp == null || SeccompAllows(_seccomp, nr, SeccompAbi.AUDIT_ARCH_I386, _regs.rip, new SyscallArgs((uint)_regs.rbx, (uint)_regs.rcx, (uint)_regs.rdx, (uint)_regs.rsi, (uint)_regs.rdi, (uint)_regs.rbp), out syscallResult))
                    {
                        syscallResult = SyscallTable.Invoke32(nr);
                        _regs.rax = (ulong)syscallResult;
                    }

                    break;
                case SwitchEventKind.Vsyscall:
                    syscallResult = DoVsyscall(ev.Info.si_addr);
                    break;
                case SwitchEventKind.Signal:
                    HandleHostSignal(ev.Info, ev.FaultErrorCode);
                    break;
                case SwitchEventKind.Interrupted:
                    break;
                case SwitchEventKind.AddressSpaceLost:
                    if (Group.ExitStatus == null)
                    {
                        // Not news when the process is already going: its stub dies under other threads too.
                        Kernel.Log.WriteLine($"moat: the host process running pid {Tid} died; killing the task");
                    }
                    RequestExit(ExitStatus.Killed(Signal.SIGKILL));
                    break;
            }

            if (Exit == null)
            {
                HandleSignals(ev.Kind == SwitchEventKind.Syscall ? syscallResult : 0);
            }

            if (metrics != null)
            {
                RecordMetrics(metrics, ev, nr, syscallResult);
            }

            if (profile != null)
            {
                RecordProfile(profile, ev, nr, sentryStart - switchStart, Stopwatch.GetTimestamp() - sentryStart, GC.GetAllocatedBytesForCurrentThread() - allocStart);
            }
        }

        return Exit.Value;
    }

    private static void RecordMetrics(Metrics.SandboxMetrics metrics, in SwitchEvent ev, int nr, long result)
    {
        switch (ev.Kind)
        {
            case SwitchEventKind.Syscall:
                metrics.Syscall(nr);
                if (result > 0)
                {
                    metrics.Moved(nr, result);
                }

                break;
            case SwitchEventKind.Syscall32:
                metrics.Syscall32();
                break;
            case SwitchEventKind.Signal:
                metrics.HostSignal(ev.Info.si_signo);
                break;
        }
    }

    private static void RecordProfile(Profiling.SyscallProfile profile, in SwitchEvent ev, int nr, long switchTicks, long sentryTicks, long allocated)
    {
        switch (ev.Kind)
        {
            case SwitchEventKind.Syscall:
                profile.RecordSyscall(nr, switchTicks, sentryTicks, allocated);
                break;
            case SwitchEventKind.Signal:
                profile.RecordSignal(ev.Info.si_signo, switchTicks, sentryTicks, allocated);
                break;
            default:
                profile.RecordOther(switchTicks, sentryTicks, allocated);
                break;
        }
    }

    /// <summary>Ends the task (exit, exit_group, fatal signal) once the current syscall returns.</summary>
    public void RequestExit(ExitStatus status)
    {
        lock (_sigMu)
        {
            Exit ??= status;
        }

        Wake();
    }

    /// <summary>Ends this one task as SIGKILL would, from any thread (exit_group, execve's de_thread).</summary>
    public void Terminate()
    {
        RequestExit(ExitStatus.Killed(Signal.SIGKILL));
        Context.Interrupt();
    }

    /// <summary>Wakes the task from a blocking wait so it re-checks its condition and its signals.</summary>
    public void Wake() => _wake.Set();

    /// <summary>
    /// Blocks until <paramref name="ready"/> holds, a signal needs the task, or the timeout passes. The task
    /// is registered on <paramref name="queue"/> (if any) while it sleeps.
    /// </summary>
    /// <returns>0 when ready, -ETIMEDOUT, or -ERESTARTSYS when interrupted.</returns>
    public long Block(WaitQueue? queue, Func<bool> ready, int timeoutMs = -1)
    {
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        queue?.Add(this);
        try
        {
            while (true)
            {
                _wake.Reset();
                if (Kernel.Frozen && Exit == null && !KillPending())
                {
                    // Frozen: the wait goes on without looking at its condition (nothing is consumed while the
                    // sandbox is paused); the deadline is seen after the thaw.
                    EnterSleep();
                    _wake.Wait();
                    LeaveSleep();
                    continue;
                }

                if (ready())
                {
                    return 0;
                }

                if (Exit != null || HasDeliverableSignal() || _ptraceInterrupt)
                {
                    return -Errno.ERESTARTSYS.Value;
                }

                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return -Errno.ETIMEDOUT.Value;
                }

                EnterSleep();
                _wake.Wait(deadline == long.MaxValue ? -1 : (int)Math.Min(left, int.MaxValue));
                LeaveSleep();
            }
        }
        finally
        {
            queue?.Remove(this);
        }
    }

    /// <summary>Replaces the task's memory (execve) and releases the old one.</summary>
    public void ReplaceMemory(MemoryManager mm)
    {
        MemoryManager old = MM;
        MM = mm;
        old.DecUsers();
    }

    /// <summary>
    /// The thread part of exit: releases robust futexes and clear_child_tid (pthread_join waits on it) and
    /// gives the platform thread back, on the task's own host thread.
    /// </summary>
    public void ExitThread()
    {
        ReleaseFutexes();
        if (MM.HasAddressSpace)
        {
            Context.Detach(MM.AddressSpace);
        }
    }

    /// <summary>Lets go of memory and files when the task has exited, and releases a vfork parent.</summary>
    public void ReleaseResources()
    {
        MM.DecUsers();
        Fds.DecUsers();
        VforkDone?.Set();
        Context.Dispose();
    }

    private long DoSyscall()
    {
        int nr = (int)(long)_regs.orig_rax;
        var args = new SyscallArgs(_regs);

        // Filters decide before the table is consulted, so calls Moat answers ENOSYS are filtered too.
        SeccompFilter? filter = _seccomp;
        if (filter != null && !SeccompAllows(filter, nr, SeccompAbi.AUDIT_ARCH_X86_64, _regs.rip, args, out long denied))
        {
            if (Kernel.Strace)
            {
                // Shown as a call that returned what the filter answered: the handler never ran.
                Strace.StraceLog.Enter(this, nr, args);
                Strace.StraceLog.Exit(this, nr, args, denied);
            }

            return denied;
        }

        return RunSyscall(nr, args);
    }

    // Serves a call the filters let through and sets the return register.
    private long RunSyscall(int nr, in SyscallArgs args)
    {
        long result;
        Volatile.Write(ref _syscallInProgress, nr);
        if (Kernel.Traces(nr))
        {
            Strace.StraceLog.Enter(this, nr, args);
            result = InvokeSyscall(nr, args);
            Strace.StraceLog.Exit(this, nr, args, result);
        }
        else
        {
            result = InvokeSyscall(nr, args);
        }

        Volatile.Write(ref _syscallInProgress, -1);

        if (Exit == null && MM.TakeOomKill())
        {
            Kernel.Log.WriteLine($"moat: pid {Tid} ({Group.ExecutablePath}) killed in {Sysno.Name(nr)}: the sandbox's memory limit (--memory) is reached");
            Kernel.KillMemoryUsers(this);
        }

        if (Exit == null && nr != Sysno.rt_sigreturn)
        {
            _regs.rax = (ulong)result;
        }

        return result;
    }

    // A call into the vsyscall page, served as the syscall it stands for (gettimeofday, time, getcpu), as
    // Linux's vsyscall emulation does: a bad pointer is not EFAULT but SIGSEGV, with the call undone (rip in
    // the page, the return address back on the stack).
    private long DoVsyscall(ulong address)
    {
        int nr = (int)(long)_regs.orig_rax;
        if (nr is not (Sysno.gettimeofday or Sysno.time or Sysno.getcpu))
        {
            _regs.rip = address;
            _regs.rsp -= 8;
            ForceSignal(Signal.SIGSEGV, SigInfo.SI_KERNEL, 0);
            return 0;
        }

        // Filters see the call with the page's address as its instruction pointer, as Linux's emulation
        // shows them; an answer of theirs returns to the caller as it is (EFAULT too), never as SIGSEGV.
        var args = new SyscallArgs(_regs);
        SeccompFilter? filter = _seccomp;
        if (filter != null && !SeccompAllows(filter, nr, SeccompAbi.AUDIT_ARCH_X86_64, address, args, out long denied))
        {
            return denied;
        }

        long result = RunSyscall(nr, args);
        if (result == -Errno.EFAULT.Value)
        {
            _regs.rip = address;
            _regs.rsp -= 8;
            ForceSignal(Signal.SIGSEGV, SigInfo.SI_KERNEL, 0);
        }

        return result;
    }

    private long InvokeSyscall(int nr, in SyscallArgs args)
    {
        try
        {
            return SyscallTable.Invoke(this, nr, args);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A Sentry bug: fail this call cleanly and say which syscall caused it.
            Kernel.Log.WriteLine($"moat: internal error in {Sysno.Name(nr)} (pid {Tid}): {e}");
            return -Errno.EFAULT.Value;
        }
    }
}
