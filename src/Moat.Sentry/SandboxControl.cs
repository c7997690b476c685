using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;

namespace Moat.Sentry;

/// <summary>
/// The outside world's handle on a booted sandbox (an OCI runtime's control socket talks to it): signals
/// to its processes and new process trees beside init. Safe to call from any thread.
/// </summary>
public sealed class SandboxControl
{
    private readonly Kernel.Kernel _kernel;

    internal SandboxControl(Kernel.Kernel kernel)
    {
        _kernel = kernel;
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to init, or with <paramref name="all"/> to every process of the
    /// sandbox's first container (not those of a pod's further containers), as a process outside its pid namespace would: init gets only SIGKILL, SIGSTOP and the
    /// signals it handles or ignores itself (the default action of any other is not taken on a namespace's init).
    /// </summary>
    public void Signal(int signal, bool all)
    {
        if (signal < 1 || signal > Abi.Signal.SIGRTMAX)
        {
            return;
        }

        List<Task> targets = [];
        lock (_kernel.TreeMu)
        {
            IEnumerable<ThreadGroup> groups = all ? _kernel.AllGroupsLocked() : _kernel.Init != null ? [_kernel.Init] : [];
            foreach (ThreadGroup g in groups)
            {
                // A pod's further containers are signalled by their own requests (SignalContainer).
                if (g.Zombie || g.Container != null || (g == _kernel.Init && !ReachesInit(g, signal)))
                {
                    continue;
                }

                if (g.SignalTarget(signal) is Task t)
                {
                    targets.Add(t);
                }
            }
        }

        foreach (Task t in targets)
        {
            t.SendSignal(signal);
        }
    }

    private static bool ReachesInit(ThreadGroup init, int signal) =>
        signal is Abi.Signal.SIGKILL or Abi.Signal.SIGSTOP || init.SignalActions[signal].Handler != SignalAction.SIG_DFL;

    /// <summary>Sends <paramref name="signal"/> to the process <paramref name="pid"/> of the sandbox; false if it is gone.</summary>
    public bool SignalProcess(int pid, int signal)
    {
        if (signal < 1 || signal > Abi.Signal.SIGRTMAX)
        {
            return false;
        }

        Task? t;
        lock (_kernel.TreeMu)
        {
            t = _kernel.FindGroupLocked(pid) is ThreadGroup g && !g.Zombie ? g.SignalTarget(signal) : null;
        }

        t?.SendSignal(signal);
        return t != null;
    }

    /// <summary>The pids of the sandbox's live processes, in its own pid namespace.</summary>
    public List<int> Pids()
    {
        List<int> pids = [];
        foreach (ThreadGroup g in _kernel.LiveGroups())
        {
            pids.Add(g.Tgid);
        }

        pids.Sort();
        return pids;
    }

    /// <summary>
    /// Freezes the sandbox (an OCI pause): every task parks at its next stop point, without a signal, and waits
    /// up to <paramref name="timeoutMs"/> for all of them. False if some did not park in time (the sandbox stays
    /// frozen until <see cref="Resume"/>, as a cgroup left FREEZING).
    /// </summary>
    public bool Pause(int timeoutMs) => _kernel.Freeze(timeoutMs);

    /// <summary>Thaws the sandbox: every task goes on where it parked.</summary>
    public void Resume() => _kernel.Thaw();

    /// <summary>Whether the sandbox is frozen.</summary>
    public bool Paused => _kernel.Frozen;

    /// <summary>The sandbox's counters as a cgroup would give them, for an OCI runtime's <c>events</c>.</summary>
    public SandboxUsage Usage()
    {
        (long user, long system) = _kernel.CpuUsage();
        Pgalloc.MemoryFile mf = _kernel.MemoryFile;
        return new SandboxUsage(
            CpuUserNs: user,
            CpuSystemNs: system,
            MemoryBytes: mf.UsageBytes,
            MemoryMaxBytes: mf.PeakUsageBytes,
            MemoryLimit: mf.Limit,
            MemoryFailures: mf.LimitFailures,
            OomKills: mf.OomKills,
            Tasks: _kernel.LiveTaskCount,
            TaskLimit: _kernel.MaxTasks);
    }

    /// <summary>Changes the memory cap in bytes (0: none), when given; as <c>moat do --memory</c>.</summary>
    public void SetMemoryLimit(ulong bytes) => _kernel.MemoryFile.Limit = bytes;

    /// <summary>The memory limit in force, 0 for none.</summary>
    public ulong MemoryLimit => _kernel.MemoryFile.Limit;

    /// <summary>Changes the most tasks at once (0: no limit); as <c>moat do --pids</c>.</summary>
    public void SetTaskLimit(int tasks) => _kernel.MaxTasks = tasks;

    /// <summary>The memory+swap limit cgroupfs shows (0 unset, -1 unlimited); the memory limit is what is enforced.</summary>
    public long MemorySwapLimit
    {
        get => _kernel.MemorySwapLimit;
        set => _kernel.MemorySwapLimit = value;
    }

    /// <summary>
    /// Starts <paramref name="spec"/> as a new process (no parent in the sandbox) with fds 0-2 from
    /// <paramref name="stdio"/>, which it then owns. <paramref name="onExit"/> gets its shell-style status
    /// when it ends. Returns its pid, or -1 with <paramref name="error"/>.
    /// </summary>
    public int Exec(SandboxProcessSpec spec, SafeFdHandle?[] stdio, Action<int> onExit, out string? error) => Exec(null, spec, stdio, onExit, out error);

    /// <summary>As <see cref="Exec(SandboxProcessSpec, SafeFdHandle?[], Action{int}, out string?)"/>, in the pod container <paramref name="container"/> (null: the first).</summary>
    public int Exec(SandboxContainer? container, SandboxProcessSpec spec, SafeFdHandle?[] stdio, Action<int> onExit, out string? error)
    {
        lock (_kernel.TreeMu)
        {
            // Before start, init is declared and has no tasks yet; once it has exited, the container is over.
            if (_kernel.Init == null || _kernel.Init.ExitStatus != null)
            {
                error = "the container is not running";
                return -1;
            }
        }

        if (container != null && (container.Init == null || container.Init.ExitStatus != null))
        {
            error = "the container is not running";
            return -1;
        }

        Task? task = SandboxLauncher.Load(_kernel, spec, stdio, out _, out error, container);
        if (task == null)
        {
            return -1;
        }

        task.Group.OnExit = status => onExit(status.ShellStatus);
        _kernel.StartTask(task, newAddressSpace: true);
        return task.Group.Tgid;
    }

    /// <summary>
    /// Makes the pod container <paramref name="spec"/> in the running sandbox: its rootfs and binds served by the
    /// gofer at the other end of <paramref name="gofer"/> (which it then owns), its init loaded with fds 0-2 from
    /// <paramref name="stdio"/> and held until <see cref="StartContainer"/>. <paramref name="onExit"/> gets init's
    /// shell-style status; the container's other processes are killed then, as a PID namespace's are when its
    /// init dies. Returns null with <paramref name="error"/>.
    /// </summary>
    public SandboxContainer? CreateContainer(SandboxContainerSpec spec, SafeFdHandle gofer, SafeFdHandle?[] stdio, Action<int> onExit, out string? error)
    {
        lock (_kernel.TreeMu)
        {
            if (_kernel.Init == null || _kernel.Init.ExitStatus != null)
            {
                gofer.Dispose();
                error = "the pod's sandbox is not running";
                return null;
            }
        }

        var client = new Moat.Gofer.GoferClient(gofer);
        PidNamespace? pidNs = spec.SharesPodPidNamespace ? null : new PidNamespace(_kernel.RootPidNs);
        var container = new SandboxContainer(spec.Id, Vfs.Mounts.ContainerRoot.Build(_kernel, new GoferFileOpener(client), spec, pidNs), client) { PidNs = pidNs };
        Task? task = SandboxLauncher.Load(_kernel, spec.Process, stdio, out _, out error, container);
        if (task == null)
        {
            client.Dispose();
            return null;
        }

        if (Vfs.Mounts.ProtectedPaths.Apply(task, spec.MaskedPaths, spec.ReadonlyPaths) is string pathsError)
        {
            task.MM.Dispose();
            client.Dispose();
            error = pathsError;
            return null;
        }

        container.Init = task.Group;
        container.Held = task;
        task.Group.OnExit = status =>
        {
            SignalContainer(container, Abi.Signal.SIGKILL, all: true);
            onExit(status.ShellStatus);
        };
        return container;
    }

    /// <summary>Starts a container's held init; false if it was started or removed already.</summary>
    public bool StartContainer(SandboxContainer container)
    {
        Task? task;
        lock (_kernel.TreeMu)
        {
            task = container.Held;
            container.Held = null;
        }

        if (task == null)
        {
            return false;
        }

        _kernel.StartTask(task, newAddressSpace: true);
        return true;
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to a pod container's init, or with <paramref name="all"/> to each of its
    /// processes, from outside (init gets only SIGKILL, SIGSTOP and what it handles, as <see cref="Signal"/>).
    /// </summary>
    public void SignalContainer(SandboxContainer container, int signal, bool all)
    {
        if (signal < 1 || signal > Abi.Signal.SIGRTMAX)
        {
            return;
        }

        List<Task> targets = [];
        lock (_kernel.TreeMu)
        {
            IEnumerable<ThreadGroup> groups = all ? container.GroupsLocked(_kernel) : container.Init is { Zombie: false } i ? [i] : [];
            foreach (ThreadGroup g in groups)
            {
                if (g == container.Init && !ReachesInit(g, signal))
                {
                    continue;
                }

                if (g.SignalTarget(signal) is Task t)
                {
                    targets.Add(t);
                }
            }
        }

        foreach (Task t in targets)
        {
            t.SendSignal(signal);
        }
    }

    /// <summary>
    /// Ends a pod container: kills its processes, or drops its init when it never started (then returns true:
    /// no exit is reported).
    /// </summary>
    public bool RemoveContainer(SandboxContainer container)
    {
        Task? held;
        lock (_kernel.TreeMu)
        {
            held = container.Held;
            container.Held = null;
        }

        if (held != null)
        {
            held.MM.Dispose();
            held.Fds.DecUsers();
            container.Gofer.Dispose();
            return true;
        }

        SignalContainer(container, Abi.Signal.SIGKILL, all: true);
        return false;
    }
}
