using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>
/// A process: the tasks that share a pid, its place in the process tree, signal actions, resource limits
/// and an executable. Tree fields (Parent, Children, Zombie, ExitStatus) are protected by Kernel.TreeMu.
/// </summary>
internal sealed partial class ThreadGroup
{
    private readonly Rlimit[] _limits;

    /// <summary>SEM_UNDO records (not inherited by fork, kept across execve). Protected by SemRegistry.Mu.</summary>
    public Ipc.SemUndoList? SemUndo { get; set; }

    public ThreadGroup(int tgid, ThreadGroup? parent, string executablePath, Rlimit[]? limits = null)
        : this(new Pid(PidNamespace.Detached, tgid), parent, executablePath, limits)
    {
    }

    /// <summary>A process whose leader has the ids <paramref name="pid"/>.</summary>
    public ThreadGroup(Pid pid, ThreadGroup? parent, string executablePath, Rlimit[]? limits = null)
    {
        Pid = pid;
        Tgid = pid.Global;
        Parent = parent;
        ExecutablePath = executablePath;
        ProcessGroup = parent?.ProcessGroup ?? pid.Global;
        Session = parent?.Session ?? pid.Global;
        ControllingTerminal = parent?.ControllingTerminal;
        _limits = limits != null ? (Rlimit[])limits.Clone() : DefaultLimits();
    }

    /// <summary>The process id, in the sandbox's root pid namespace (the kernel's tables' key).</summary>
    public int Tgid { get; }

    /// <summary>The process's ids in its pid namespace and the ones above (its leader's).</summary>
    public Pid Pid { get; }

    /// <summary>The pid namespace the process lives in.</summary>
    public PidNamespace PidNs => Pid.Namespace;

    /// <summary>The pid <paramref name="viewer"/>'s namespace gives this process, 0 when it is not visible there.</summary>
    public int PidSeenBy(Task viewer) => Pid.In(viewer.PidNs);

    /// <summary>Whether this process is the init of a pid namespace below the sandbox's root. Preconditions: Kernel.TreeMu is held, or the answer may be stale.</summary>
    public bool IsNamespaceInit => PidNs.Level > 0 && PidNs.Init == this;

    /// <summary>The parent process; null for the sandbox's init. Protected by Kernel.TreeMu.</summary>
    public ThreadGroup? Parent { get; set; }

    /// <summary>Protected by Kernel.TreeMu.</summary>
    public List<ThreadGroup> Children { get; } = [];

    /// <summary>Live tasks of the group. Protected by Kernel.TreeMu.</summary>
    public List<Task> Tasks { get; } = [];

    /// <summary>Called once, outside the tree lock, when the last task of the group has exited (an OCI exec's proxy waits on it).</summary>
    public System.Action<ExitStatus>? OnExit { get; set; }

    /// <summary>Pulsed when a task of the group exits (the leader's host thread waits on it).</summary>
    public object TasksChanged { get; } = new();

    /// <summary>A live task to deliver a process-directed signal to: one that does not block it, if any.</summary>
    public Task? SignalTarget(int sig)
    {
        Task? any = null;
        foreach (Task t in Tasks)
        {
            if (t.Exit != null)
            {
                continue;
            }

            if ((t.SignalMask & (1UL << (sig - 1))) == 0)
            {
                return t;
            }

            any ??= t;
        }

        return any;
    }

    /// <summary>Set when the last task has exited and the parent has not reaped it yet. Protected by Kernel.TreeMu.</summary>
    public bool Zombie { get; set; }

    /// <summary>How the group exited (exit_group or the last thread). Protected by Kernel.TreeMu.</summary>
    public ExitStatus? ExitStatus { get; set; }

    /// <summary>The credentials of the group's last task, kept for permission checks against a zombie. Protected by Kernel.TreeMu.</summary>
    public Credentials? ExitCredentials { get; set; }

    /// <summary>Notified when the group's last task exits and when the group is reaped (pidfd readiness).</summary>
    public WaitQueue ExitEvents { get; } = new();

    /// <summary>Parents sleeping in wait4/waitid for this group's children.</summary>
    public WaitQueue ChildEvents { get; } = new();

    /// <summary>The signal sent to the parent when this group exits (SIGCHLD for fork).</summary>
    public int ExitSignal { get; set; } = Signal.SIGCHLD;

    /// <summary>CPU time (ns) used in address spaces this process has left (execve). Owned by the exec-ing task.</summary>
    public (long User, long System) CpuBefore { get; set; }

    /// <summary>
    /// Whether the process began in memory it shares with another process (CLONE_VM, vfork): the stub's clock
    /// counts every process that runs in it, so this one's CPU time is its own threads', for its whole life.
    /// </summary>
    public bool CpuByThreads { get; init; }

    /// <summary>
    /// Set when the OOM kill took this process with the others sharing its memory: its exit reaches its parent
    /// only once that memory is freed. Protected by Kernel.TreeMu.
    /// </summary>
    public bool KilledWithMemory { get; set; }

    /// <summary>With <see cref="CpuByThreads"/>: CPU time (ns) of the process's exited threads. Protected by Kernel.TreeMu.</summary>
    public (long User, long System) CpuExitedThreads { get; set; }

    /// <summary>The process's total CPU time (ns), fixed when its last task exits. Protected by Kernel.TreeMu.</summary>
    public (long User, long System) CpuFinal { get; set; }

    /// <summary>CPU time (ns) of reaped children and their reaped descendants. Protected by Kernel.TreeMu.</summary>
    public (long User, long System) CpuChildren { get; set; }

    /// <summary>Guards the group's timers.</summary>
    public System.Threading.Lock TimersMu { get; } = new();

    /// <summary>ITIMER_REAL and alarm(2). Protected by TimersMu.</summary>
    public IntervalTimer? RealTimer { get; set; }

    /// <summary>ITIMER_VIRTUAL (index 0) and ITIMER_PROF (index 1). Protected by TimersMu.</summary>
    public CpuTimer?[] CpuTimers { get; } = new CpuTimer?[2];

    /// <summary>POSIX timers by id, with their clock and how they notify (/proc/PID/timers). Protected by TimersMu.</summary>
    public Dictionary<int, (IArmedTimer Timer, int Clock, TimerNotify Notify)> PosixTimers { get; } = [];

    /// <summary>The next POSIX timer id. Protected by TimersMu.</summary>
    public int NextTimerId { get; set; }

    /// <summary>Stops every timer (the process has exited or exec'd).</summary>
    public void DisposeTimers()
    {
        lock (TimersMu)
        {
            RealTimer?.Dispose();
            RealTimer = null;
            for (int i = 0; i < CpuTimers.Length; i++)
            {
                CpuTimers[i]?.Dispose();
                CpuTimers[i] = null;
            }

            foreach ((IArmedTimer timer, int _, TimerNotify _) in PosixTimers.Values)
            {
                timer.Dispose();
            }

            PosixTimers.Clear();
        }
    }

    /// <summary>The file mode creation mask.</summary>
    public int Umask { get; set; } = 0x12; // 022

    /// <summary>prctl(PR_SET_DUMPABLE).</summary>
    public bool Dumpable { get; set; } = true;

    /// <summary>
    /// prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are given to this process rather than to its pid
    /// namespace's init. Not inherited by fork; kept by execve. Protected by Kernel.TreeMu.
    /// </summary>
    public bool ChildSubreaper { get; set; }

    /// <summary>The I/O counters of the process's threads that have exited (signal->ioac). Protected by Kernel.TreeMu.</summary>
    public IoAccounting ExitedIo;

    /// <summary>
    /// /proc/PID/oom_score_adj (-1000..1000), inherited by fork; and the floor below which only CAP_SYS_RESOURCE may
    /// lower it, set by a privileged write (signal->oom_score_adj_min). Protected by Kernel.TreeMu.
    /// </summary>
    public short OomScoreAdj { get; set; }

    /// <summary>See <see cref="OomScoreAdj"/>.</summary>
    public short OomScoreAdjMin { get; set; }

    /// <summary>The process group id.</summary>
    public int ProcessGroup { get; set; }

    /// <summary>The session id.</summary>
    public int Session { get; set; }

    /// <summary>Set by execve: after it, the parent may no longer change this process's group (setpgid's EACCES).</summary>
    public bool HasExeced { get; set; }

    /// <summary>How many times the process has exec'd (Linux's self_exec_id): a message queue notification
    /// registered before an exec is not sent after it.</summary>
    public int ExecCount { get; set; }

    /// <summary>The sandbox path of the running executable (what /proc/self/exe names).</summary>
    public string ExecutablePath { get; set; }

    /// <summary>The working directory, as an absolute sandbox path.</summary>
    public string Cwd { get; set; } = "/";

    /// <summary>
    /// The process's root directory (chroot(2)), a clean path of its mount namespace: "/" unless changed. Paths
    /// the process names are resolved below it and paths it is shown are relative to it (<see cref="Vfs.RootedPath"/>).
    /// </summary>
    public string Root { get; set; } = "/";

    /// <summary>The mount namespace the process resolves paths in (shared with its parent unless unshared).</summary>
    public required Vfs.Mounts.MountNamespace Mounts { get; set; }

    /// <summary>
    /// The pod container the process belongs to (<see cref="Moat.Sentry.SandboxContainer"/>), inherited by its
    /// children; null for the sandbox's first container. Set before the process starts, never changed.
    /// </summary>
    public Moat.Sentry.SandboxContainer? Container { get; init; }

    /// <summary>Actions by signal number (index 0 unused).</summary>
    public SignalAction[] SignalActions { get; set; } = new SignalAction[Signal.SIGRTMAX + 1];

    public Rlimit[] Limits => _limits;

    public ref Rlimit Limit(int resource) => ref _limits[resource];

    private static Rlimit[] DefaultLimits()
    {
        var l = new Rlimit[RlimitResource.RLIM_NLIMITS];
        for (int i = 0; i < l.Length; i++)
        {
            l[i] = new Rlimit { rlim_cur = Rlimit.RLIM_INFINITY, rlim_max = Rlimit.RLIM_INFINITY };
        }

        // Linux's defaults for a process started by init (include/asm-generic/resource.h).
        l[RlimitResource.RLIMIT_STACK].rlim_cur = Loader.ElfLoader.DefaultStackSize;
        l[RlimitResource.RLIMIT_CORE].rlim_cur = 0;
        l[RlimitResource.RLIMIT_NOFILE] = new Rlimit { rlim_cur = 1024, rlim_max = 524288 };
        l[RlimitResource.RLIMIT_MEMLOCK] = new Rlimit { rlim_cur = 8UL << 20, rlim_max = 8UL << 20 };
        l[RlimitResource.RLIMIT_MSGQUEUE] = new Rlimit { rlim_cur = 819200, rlim_max = 819200 };
        l[RlimitResource.RLIMIT_NICE] = default;
        l[RlimitResource.RLIMIT_RTPRIO] = default;
        l[RlimitResource.RLIMIT_NPROC] = new Rlimit { rlim_cur = 63704, rlim_max = 63704 };
        l[RlimitResource.RLIMIT_SIGPENDING] = new Rlimit { rlim_cur = 63704, rlim_max = 63704 };
        return l;
    }
}
