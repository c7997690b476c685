using System.Collections.Generic;
using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>
/// The tracee's side of ptrace(2): the stops it sleeps in on its own host thread (signal-delivery, syscall
/// enter/exit, events, group stop, PTRACE_INTERRUPT), woken by its tracer's resume, detach or a SIGKILL.
/// The tracer reads and writes the registers, FP state and siginfo only while the tracee is stopped.
/// </summary>
internal sealed partial class Task
{
    private const int FxStateSize = 512;

    // Link and stop state. Protected by Kernel.TreeMu (Tracer also read without it as a "maybe traced" hint).
    private Task? _tracer;
    private List<Task>? _tracees;
    private bool _ptraceStopped;
    private bool _ptraceListening;
    private PtraceResume _resume;
    private int _resumeSignal;
    private bool _groupStopTaken;

    // Owned by the task's thread while it runs; by the tracer while the task is stopped.
    private byte[]? _ptraceFx;
    private bool _ptraceFxDirty;
    private bool _syscallTracing;
    private bool _singleStepping;
    private bool _startStopPending;

    // A POKETEXT/POKEDATA the stopped task does on its own thread for its tracer: breaking copy-on-write
    // drops the old page's host mapping, which only a thread of the address space can do. Protected by
    // Kernel.TreeMu; the result is published by _pokeDone.
    private bool _pokePending;
    private ulong _pokeAddr;
    private ulong _pokeValue;
    private long _pokeResult;
    private readonly ManualResetEventSlim _pokeDone = new(false);

    // Set by the tracer (PTRACE_INTERRUPT), read on the task's way back to the app.
    private volatile bool _ptraceInterrupt;

    private enum PtraceResume : byte
    {
        None,
        Continue,
        Syscall,
        SingleStep,
        Listen,
        Detach,
    }

    /// <summary>The tracing task, or null. Protected by Kernel.TreeMu.</summary>
    public Task? Tracer => Volatile.Read(ref _tracer);

    /// <summary>The tasks this task traces. Protected by Kernel.TreeMu.</summary>
    public List<Task>? TraceesLocked => _tracees;

    /// <summary>PTRACE_SETOPTIONS' options. Protected by Kernel.TreeMu.</summary>
    public int PtraceOptions { get; set; }

    /// <summary>Whether the tracer attached with PTRACE_SEIZE. Protected by Kernel.TreeMu.</summary>
    public bool PtraceSeized { get; private set; }

    /// <summary>The wait status a stop has for its tracer (sig | event &lt;&lt; 8), or 0 when reported. Protected by Kernel.TreeMu.</summary>
    public int PtraceReport { get; set; }

    /// <summary>The code of the current stop (kept after wait reports it), for LISTEN and syscall info. Protected by Kernel.TreeMu.</summary>
    public int PtraceStopCode { get; private set; }

    /// <summary>A traced task that exited and whose tracer (not its parent) has yet to hear of it. Protected by Kernel.TreeMu.</summary>
    public ExitStatus? PtraceExitReport { get; set; }

    /// <summary>Whether the task sits in a ptrace stop, where its tracer may inspect it. Protected by Kernel.TreeMu.</summary>
    public bool PtraceStoppedLocked => _ptraceStopped;

    /// <summary>The siginfo of the current stop (PTRACE_GETSIGINFO), or null in a group stop. Owned by the tracer while stopped.</summary>
    public SigInfo? PtraceSigInfo { get; set; }

    /// <summary>PTRACE_GETEVENTMSG's value. Owned by the tracer while stopped.</summary>
    public ulong PtraceEventMessage { get; private set; }

    /// <summary>Which syscall stop the task is in (PTRACE_GET_SYSCALL_INFO), or NONE.</summary>
    public byte PtraceSyscallOp { get; private set; }

    /// <summary>The FP state of a stopped tracee (FXSAVE layout), loaded when the stop began.</summary>
    public System.Span<byte> PtraceFpState => _ptraceFx;

    /// <summary>Marks <see cref="PtraceFpState"/> as changed: the task loads it back when it resumes.</summary>
    public void PtraceFpStateChanged() => _ptraceFxDirty = true;

    /// <summary>Links this task to <paramref name="tracer"/>. Preconditions: Kernel.TreeMu is held; not traced.</summary>
    public void PtraceLinkLocked(Task tracer, bool seized, int options)
    {
        _tracer = tracer;
        PtraceSeized = seized;
        PtraceOptions = options;
        (tracer._tracees ??= []).Add(this);
    }

    /// <summary>
    /// Unlinks this task from its tracer and lets it run, delivering <paramref name="signal"/> if it was
    /// stopped for one. Preconditions: Kernel.TreeMu is held.
    /// </summary>
    public void PtraceUnlinkLocked(int signal)
    {
        _tracer?._tracees?.Remove(this);
        _tracer = null;
        PtraceOptions = 0;
        PtraceSeized = false;
        PtraceReport = 0;
        _ptraceInterrupt = false;
        _syscallTracing = false;
        _ptraceListening = false;
        if (_ptraceStopped)
        {
            _ptraceStopped = false;
            _resume = PtraceResume.Detach;
            _resumeSignal = signal;
            Wake();
        }
    }

    /// <summary>
    /// The tracer's PTRACE_CONT, SYSCALL, SINGLESTEP or LISTEN. Preconditions: Kernel.TreeMu is held; the
    /// task is stopped and traced by the caller.
    /// </summary>
    public void PtraceResumeLocked(int request, int signal)
    {
        _resume = request switch
        {
            PtraceAbi.PTRACE_SYSCALL => PtraceResume.Syscall,
            PtraceAbi.PTRACE_SINGLESTEP => PtraceResume.SingleStep,
            PtraceAbi.PTRACE_LISTEN => PtraceResume.Listen,
            _ => PtraceResume.Continue,
        };
        _resumeSignal = signal;
        _ptraceStopped = false;
        PtraceReport = 0;
        Wake();
    }

    /// <summary>PTRACE_INTERRUPT: the task stops at its next chance, out of a blocking syscall too.</summary>
    public void PtraceInterrupt()
    {
        _ptraceInterrupt = true;
        Kick();
    }

    /// <summary>Whether the task is in a group stop's ptrace stop (PTRACE_LISTEN's precondition). Preconditions: Kernel.TreeMu is held.</summary>
    public bool InGroupStopLocked => _ptraceStopped && PtraceSigInfo == null;

    /// <summary>A new task created traced: it stops before running (SIGSTOP, or PTRACE_EVENT_STOP when seized).</summary>
    public void PtraceStartStopped() => _startStopPending = true;

    /// <summary>The tracer's exit, or its PTRACE_O_EXITKILL: detaches every tracee. Called by the exiting tracer.</summary>
    public void PtraceReleaseTracees()
    {
        List<Task>? kill = null;
        lock (Kernel.TreeMu)
        {
            if (_tracees == null)
            {
                return;
            }

            foreach (Task tracee in _tracees.ToArray())
            {
                if ((tracee.PtraceOptions & PtraceAbi.PTRACE_O_EXITKILL) != 0)
                {
                    (kill ??= []).Add(tracee);
                }

                tracee.PtraceExitReport = null;
                tracee.PtraceUnlinkLocked(0);
            }

            _tracees = null;
        }

        if (kill != null)
        {
            foreach (Task tracee in kill)
            {
                tracee.SendSignal(Signal.SIGKILL);
            }
        }
    }

    /// <summary>
    /// PTRACE_POKETEXT/POKEDATA: writes a word into the stopped task's memory as Linux's FOLL_FORCE does
    /// (protection ignored, a private page copied first), done by the task's own thread. Returns 0, -EIO, or
    /// -ESRCH when the task is no longer stopped. Called by the tracer.
    /// </summary>
    public long PtracePoke(ulong addr, ulong value)
    {
        lock (Kernel.TreeMu)
        {
            if (!_ptraceStopped)
            {
                return -Errno.ESRCH.Value;
            }

            _pokeAddr = addr;
            _pokeValue = value;
            _pokeDone.Reset();
            _pokePending = true;
        }

        Wake();
        _pokeDone.Wait();
        return _pokeResult;
    }

    // Serves a pending poke of the tracer's. Runs on the task's own thread.
    private void ServePoke()
    {
        ulong addr;
        ulong value;
        lock (Kernel.TreeMu)
        {
            if (!_pokePending)
            {
                return;
            }

            _pokePending = false;
            addr = _pokeAddr;
            value = _pokeValue;
        }

        System.Span<byte> bytes = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        _pokeResult = MM.CopyOut(addr, bytes, Mm.AccessType.ForceWrite) < 0 ? -Errno.EIO.Value : 0;
        _pokeDone.Set();
    }

    // Sleeps in a ptrace stop reported as code (sig | event << 8) until the tracer resumes it, detaches, or
    // the task is killed. Returns the signal the tracer passed, or 0. Runs on the task's own thread.
    private int PtraceStop(int code, in SigInfo? info, bool exitStop = false)
    {
        if (Tracer == null)
        {
            return 0;
        }

        _ptraceFx ??= new byte[FxStateSize];
        if (MM.HasAddressSpace)
        {
            Context.GetFpState(MM.AddressSpace, _ptraceFx);
        }

        _ptraceFxDirty = false;
        PtraceSigInfo = info;
        Task? tracer;
        lock (Kernel.TreeMu)
        {
            tracer = _tracer;
            if (tracer == null || KillPending() || (Exit != null && !exitStop))
            {
                return 0;
            }

            _ptraceStopped = true;
            _resume = PtraceResume.None;
            _resumeSignal = 0;
            PtraceStopCode = code;
            PtraceReport = code;
            Kernel.NotifyTracerLocked(this, tracer, ChildEvent.CLD_TRAPPED, code & 0x7f);
        }

        Interlocked.Exchange(ref _jobState, 2);
        if (Group.StopSignal != 0)
        {
            Kernel.CheckGroupStopped(Group);
        }

        PtraceResume how;
        int sig;
        try
        {
            while (true)
            {
                _wake.Reset();
                ServePoke();
                lock (Kernel.TreeMu)
                {
                    if (!_ptraceStopped)
                    {
                        break;
                    }

                    if (KillPending() || (Exit != null && !exitStop))
                    {
                        _ptraceStopped = false;
                        PtraceReport = 0;
                        _resume = PtraceResume.None;
                        break;
                    }
                }

                _wake.Wait();
            }
        }
        finally
        {
            Interlocked.Exchange(ref _jobState, 0);
        }

        // A poke asked for just before the stop ended is still answered.
        ServePoke();

        lock (Kernel.TreeMu)
        {
            how = _resume;
            sig = _resumeSignal;
            PtraceStopCode = 0;
        }

        if (_ptraceFxDirty && MM.HasAddressSpace)
        {
            Context.SetFpState(MM.AddressSpace, _ptraceFx);
        }

        PtraceSigInfo = null;
        _syscallTracing = how == PtraceResume.Syscall;
        bool step = how == PtraceResume.SingleStep;
        if (step && !_singleStepping)
        {
            // The trap flag is the tracer's, not the app's: taken off again at the trap (Linux's TIF_FORCED_TF).
            _forcedTrapFlag = (_regs.eflags & PtraceAbi.EflagsTF) == 0;
            _regs.eflags |= PtraceAbi.EflagsTF;
        }
        else if (!step && _singleStepping && _forcedTrapFlag)
        {
            _regs.eflags &= ~PtraceAbi.EflagsTF;
        }

        _singleStepping = step;
        _ptraceListening = how == PtraceResume.Listen;
        return sig;
    }

    private bool _forcedTrapFlag;

    // A signal-delivery stop: the tracer sees sig and may suppress it (0) or replace it. Returns the signal to
    // deliver with its info, or 0.
    private int PtraceSignalStop(int sig, ref SigInfo info)
    {
        info.si_signo = sig;
        PtraceSigInfo = info;
        int newSig = PtraceStop(sig, info);
        if (newSig == 0 || Exit != null)
        {
            return 0;
        }

        // SETSIGINFO may have changed it; a different signal is the tracer's own (SI_USER from the tracer).
        SigInfo chosen = PtraceSigInfoAfterStop ?? info;
        PtraceSigInfoAfterStop = null;
        if (newSig != chosen.si_signo)
        {
            Task? tracer = Tracer;
            chosen = new SigInfo { si_signo = newSig, si_code = SigInfo.SI_USER, si_pid = tracer?.Group.Tgid ?? 0, si_uid = (int)(tracer?.Credentials.RealUid ?? 0) };
        }

        info = chosen;
        if ((SignalMask & (1UL << (newSig - 1))) != 0)
        {
            // Blocked now: it waits in the queue, as Linux requeues it.
            SendSignal(newSig, chosen);
            return 0;
        }

        return newSig;
    }

    /// <summary>The siginfo PTRACE_SETSIGINFO left for a signal-delivery stop. Owned by the tracer while stopped.</summary>
    public SigInfo? PtraceSigInfoAfterStop { get; set; }

    // A non-signal stop (syscall, event, interrupt): the tracer sees SIGTRAP with the code in si_code.
    private int PtraceTrapStop(int code, ulong message, bool exitStop = false)
    {
        PtraceEventMessage = message;
        // si_pid is the tracee's id in its own namespace (ptrace_do_notify's task_pid_vnr).
        var info = new SigInfo { si_signo = Signal.SIGTRAP, si_code = code, si_pid = Pid.In(PidNs), si_uid = (int)Credentials.RealUid };
        return PtraceStop(code, info, exitStop);
    }

    // Stops for PTRACE_EVENT_x when the tracer asked for it. Returns whether it stopped.
    private bool PtraceEvent(int ev, ulong message, bool exitStop = false)
    {
        int option = ev switch
        {
            PtraceAbi.PTRACE_EVENT_FORK => PtraceAbi.PTRACE_O_TRACEFORK,
            PtraceAbi.PTRACE_EVENT_VFORK => PtraceAbi.PTRACE_O_TRACEVFORK,
            PtraceAbi.PTRACE_EVENT_CLONE => PtraceAbi.PTRACE_O_TRACECLONE,
            PtraceAbi.PTRACE_EVENT_EXEC => PtraceAbi.PTRACE_O_TRACEEXEC,
            PtraceAbi.PTRACE_EVENT_VFORK_DONE => PtraceAbi.PTRACE_O_TRACEVFORKDONE,
            _ => PtraceAbi.PTRACE_O_TRACEEXIT,
        };
        if (Tracer == null || (PtraceOptions & option) == 0)
        {
            return false;
        }

        PtraceTrapStop(Signal.SIGTRAP | (ev << 8), message, exitStop);
        return true;
    }

    /// <summary>
    /// After fork, vfork or clone made <paramref name="child"/> (not started yet): the child is traced too when
    /// the tracer asked for that kind of event (or CLONE_PTRACE), and this task reports the event. Returns the
    /// event to report with <see cref="PtraceCloneEvent"/>, or 0.
    /// </summary>
    public int PtraceInheritToChild(Task child, bool vfork, bool thread, int exitSignal, bool clonePtrace, bool untraced)
    {
        if (Tracer == null || untraced)
        {
            return 0;
        }

        int ev = vfork ? PtraceAbi.PTRACE_EVENT_VFORK : !thread && exitSignal == Signal.SIGCHLD ? PtraceAbi.PTRACE_EVENT_FORK : PtraceAbi.PTRACE_EVENT_CLONE;
        int option = ev switch
        {
            PtraceAbi.PTRACE_EVENT_VFORK => PtraceAbi.PTRACE_O_TRACEVFORK,
            PtraceAbi.PTRACE_EVENT_FORK => PtraceAbi.PTRACE_O_TRACEFORK,
            _ => PtraceAbi.PTRACE_O_TRACECLONE,
        };
        lock (Kernel.TreeMu)
        {
            Task? tracer = _tracer;
            if (tracer == null || ((PtraceOptions & option) == 0 && !clonePtrace))
            {
                return 0;
            }

            child.PtraceLinkLocked(tracer, PtraceSeized, PtraceOptions);
            child.PtraceStartStopped();
            return (PtraceOptions & option) != 0 ? ev : 0;
        }
    }

    /// <summary>
    /// The parent's PTRACE_EVENT_FORK/VFORK/CLONE stop, once the child runs. The message is the child's id in
    /// the tracer's pid namespace (0 where the tracer cannot see it), as Linux's ptrace_event_pid.
    /// </summary>
    public void PtraceCloneEvent(int ev, Pid child)
    {
        if (ev != 0)
        {
            PtraceEvent(ev, (ulong)child.In(TracerPidNs()));
        }
    }

    /// <summary>PTRACE_EVENT_VFORK_DONE, when the vfork child has exec'd or exited.</summary>
    public void PtraceVforkDone(Pid child) => PtraceEvent(PtraceAbi.PTRACE_EVENT_VFORK_DONE, (ulong)child.In(TracerPidNs()));

    // The namespace event messages name tasks in: the tracer's (its task_active_pid_ns).
    private PidNamespace TracerPidNs() => Tracer?.PidNs ?? PidNs;

    /// <summary>
    /// A traced execve has succeeded: PTRACE_EVENT_EXEC (message: the former thread id) when asked for, else a
    /// SIGTRAP for a tracee not seized, as Linux sends.
    /// </summary>
    public void PtraceExec(Pid former)
    {
        if (Tracer == null)
        {
            return;
        }

        if (!PtraceEvent(PtraceAbi.PTRACE_EVENT_EXEC, (ulong)former.In(TracerPidNs())) && !PtraceSeized)
        {
            SendSignal(Signal.SIGTRAP, new SigInfo { si_signo = Signal.SIGTRAP, si_code = SigInfo.SI_USER });
        }
    }

    /// <summary>PTRACE_EVENT_EXIT: the tracer sees the exit status before the task goes.</summary>
    public void PtraceExitEvent(ExitStatus status)
    {
        if (Tracer != null)
        {
            PtraceEvent(PtraceAbi.PTRACE_EVENT_EXIT, (ulong)status.WaitStatus, exitStop: true);
        }
    }

    // The first act of a task created traced.
    private void PtraceStartStop()
    {
        _startStopPending = false;
        if (Tracer == null)
        {
            return;
        }

        if (PtraceSeized)
        {
            PtraceTrapStop(Signal.SIGTRAP | (PtraceAbi.PTRACE_EVENT_STOP << 8), 0);
        }
        else
        {
            Enqueue(Signal.SIGSTOP, new SigInfo { si_signo = Signal.SIGSTOP, si_code = SigInfo.SI_USER }, out _);
            HandleSignals(0);
        }
    }

    // Serves a syscall with syscall-enter and syscall-exit stops around it (PTRACE_SYSCALL). At entry rax reads
    // -ENOSYS, as on x86 Linux; the tracer may change the number and arguments, or skip the call with -1.
    private long DoTracedSyscall()
    {
        int code = Signal.SIGTRAP | ((PtraceOptions & PtraceAbi.PTRACE_O_TRACESYSGOOD) != 0 ? 0x80 : 0);
        _regs.rax = unchecked((ulong)-Errno.ENOSYS.Value);
        PtraceSyscallOp = PtraceAbi.PTRACE_SYSCALL_INFO_ENTRY;
        int sig = PtraceTrapStop(code, PtraceAbi.PTRACE_EVENTMSG_SYSCALL_ENTRY);
        PtraceSyscallOp = PtraceAbi.PTRACE_SYSCALL_INFO_NONE;
        PtraceSendResumeSignal(sig);
        if (Exit != null)
        {
            return 0;
        }

        long result = (long)_regs.orig_rax == -1 ? (long)_regs.rax : DoSyscall();
        if (Exit == null && _syscallTracing)
        {
            PtraceSyscallOp = PtraceAbi.PTRACE_SYSCALL_INFO_EXIT;
            sig = PtraceTrapStop(code, PtraceAbi.PTRACE_EVENTMSG_SYSCALL_EXIT);
            PtraceSyscallOp = PtraceAbi.PTRACE_SYSCALL_INFO_NONE;
            PtraceSendResumeSignal(sig);
            result = (long)_regs.rax;
        }

        return result;
    }

    // A signal passed on a resume from a stop that is not a signal-delivery stop is sent to the tracee.
    private void PtraceSendResumeSignal(int sig)
    {
        if (sig != 0 && Exit == null)
        {
            SendSignal(sig, new SigInfo { si_signo = sig, si_code = SigInfo.SI_USER, si_pid = Tracer?.Group.Tgid ?? 0 });
        }
    }

    // Called on the way back to the app: PTRACE_INTERRUPT's stop, and a listening tracee's return to a stop
    // when its group stop ends. Returns whether it stopped.
    private bool PtraceCheckInterrupt()
    {
        if (_ptraceListening)
        {
            // PTRACE_LISTEN: stopped, but not for the tracer, until the group stop ends or it is interrupted.
            while (Group.StopSignal != 0 && !_ptraceInterrupt && Exit == null && !KillPending())
            {
                WaitWhileStopped();
            }

            _ptraceListening = false;
            _ptraceInterrupt = false;
            PtraceTrapStop(Signal.SIGTRAP | (PtraceAbi.PTRACE_EVENT_STOP << 8), 0);
            return true;
        }

        if (!_ptraceInterrupt)
        {
            return false;
        }

        _ptraceInterrupt = false;
        PtraceTrapStop(Signal.SIGTRAP | (PtraceAbi.PTRACE_EVENT_STOP << 8), 0);
        return true;
    }

    // A traced task's part in a group stop: a ptrace stop its tracer sees (with PTRACE_EVENT_STOP when
    // seized) and that the tracer may end with PTRACE_CONT, as Linux lets it.
    private void PtraceGroupStop()
    {
        _groupStopTaken = true;
        int sig = Group.StopSignal;
        int code = PtraceSeized ? sig | (PtraceAbi.PTRACE_EVENT_STOP << 8) : sig;
        PtraceStop(code, null);
    }

    // A host SIGTRAP after a PTRACE_SINGLESTEP resume: the trap flag the tracer set comes off again.
    private void PtraceSingleStepTrapped()
    {
        if (_singleStepping && _forcedTrapFlag)
        {
            _regs.eflags &= ~PtraceAbi.EflagsTF;
        }

        _singleStepping = false;
    }
}
