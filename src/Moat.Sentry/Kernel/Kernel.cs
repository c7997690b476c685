using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using Moat.Abi;
using Moat.Platform;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Sandbox-wide state: the MemoryFile, the platform, the gofer, and the process tree (pids, parents,
/// zombies). Lock order: TreeMu &gt; Task._sigMu &gt; WaitQueue._mu.
/// </summary>
internal sealed partial class Kernel
{
    private readonly ManualResetEventSlim _allExited = new(false);
    private int _lastPid;

    // Protected by TreeMu.
    private readonly Dictionary<int, ThreadGroup> _groups = [];
    private readonly Dictionary<int, Task> _tasks = [];
    private int _liveTasks;

    public Kernel(MemoryFile memoryFile, IPlatform platform, IFileOpener files, TextWriter log)
    {
        MemoryFile = memoryFile;
        Platform = platform;
        // The root overlay's directories share its device with the host root's (Overlay.AsSeen): its own
        // inode numbers start far above any the host file system hands out.
        Upper = new Vfs.Tmpfs.Tmpfs(memoryFile, string.Empty, 0x1ED /* 0755 */, firstIno: 1UL << 48);
        Dev = Vfs.DevFs.Create(memoryFile);
        Mounts = new Vfs.Mounts.MountNamespace(new Vfs.Mounts.Mount
        {
            Id = Vfs.Mounts.MountNamespace.NextId(), ParentId = 0, MountPoint = "/", Kind = Vfs.Mounts.MountKind.Overlay, Root = "/",
            Source = "none", FsType = "overlay", OverlayDevice = Upper.Device,
        });
        Mounts.Add(new Vfs.Mounts.Mount
        {
            Id = Vfs.Mounts.MountNamespace.NextId(), ParentId = 0, MountPoint = "/proc", Kind = Vfs.Mounts.MountKind.Proc, Root = "/proc",
            Source = "proc", FsType = "proc", Flags = Vfs.Mounts.MountFlags.NoSuid | Vfs.Mounts.MountFlags.NoDev | Vfs.Mounts.MountFlags.NoExec,
        });
        // The sandbox's own sysfs, read-only as container runtimes mount it (never the host's /sys).
        Mounts.Add(new Vfs.Mounts.Mount
        {
            Id = Vfs.Mounts.MountNamespace.NextId(), ParentId = 0, MountPoint = "/sys", Kind = Vfs.Mounts.MountKind.Sysfs, Root = "/sys",
            Source = "sysfs", FsType = "sysfs",
            Flags = Vfs.Mounts.MountFlags.ReadOnly | Vfs.Mounts.MountFlags.NoSuid | Vfs.Mounts.MountFlags.NoDev | Vfs.Mounts.MountFlags.NoExec,
        });
        // The sandbox's cgroup, read-only as container runtimes mount it for an unprivileged container.
        Mounts.Add(Vfs.Mounts.Mounting.CgroupMount(
            "/sys/fs/cgroup", Vfs.Mounts.MountFlags.ReadOnly | Vfs.Mounts.MountFlags.NoSuid | Vfs.Mounts.MountFlags.NoDev | Vfs.Mounts.MountFlags.NoExec, "cgroup"));
        AddTmpfs(Dev, Vfs.Mounts.MountFlags.NoSuid, "mode=755");
        AddTmpfs(new Vfs.Tmpfs.Tmpfs(memoryFile, "/tmp", 0x3FF /* 01777 */), Vfs.Mounts.MountFlags.None, string.Empty);
        AddTmpfs(new Vfs.Tmpfs.Tmpfs(memoryFile, "/dev/shm", 0x3FF), Vfs.Mounts.MountFlags.NoSuid | Vfs.Mounts.MountFlags.NoDev, string.Empty);
        Devpts = new Vfs.Devpts.Devpts(this, Dev);
        Mounts.Add(Vfs.Devpts.Devpts.NewMount(Dev, "/dev/pts", Vfs.Mounts.MountFlags.NoSuid | Vfs.Mounts.MountFlags.NoExec, "devpts"));
        Dev.MakeMountPoint("mqueue", isFile: false);
        Mounts.Add(Vfs.Mounts.Mounting.MqueueMount("/dev/mqueue", Vfs.Mounts.MountFlags.NoSuid | Vfs.Mounts.MountFlags.NoDev | Vfs.Mounts.MountFlags.NoExec, "mqueue"));
        MemfdFs = new Vfs.Tmpfs.Tmpfs(memoryFile, "/memfd:", 0x1FF);
        Files = files;
        HostCache = new Vfs.HostCache.HostDentryCache(files, Environment.GetEnvironmentVariable("MOAT_DENTRY_CACHE") == "0" ? 0 : Vfs.HostCache.HostDentryCache.DefaultCapacity);
        if (Environment.GetEnvironmentVariable("MOAT_PAGE_CACHE") != "0")
        {
            HostPages = new Vfs.HostCache.HostPageCache(memoryFile);
            memoryFile.ReclaimUnderPressure = HostPages.Trim;
        }

        Log = log;
        Ipc = new Ipc.IpcNamespace(memoryFile);
    }

    public MemoryFile MemoryFile { get; }

    /// <summary>The SysV IPC namespace of the sandbox (shared memory, semaphores, message queues).</summary>
    public Ipc.IpcNamespace Ipc { get; }

    /// <summary>The sandbox's count of AIO requests (aio-nr) against aio-max-nr.</summary>
    public Aio.AioAccounting Aio { get; } = new();

    /// <summary>The unmounted tmpfs that holds memfd_create(2) files.</summary>
    public Vfs.Tmpfs.Tmpfs MemfdFs { get; }

    public IPlatform Platform { get; }

    /// <summary>Opens host files through the gofer.</summary>
    public IFileOpener Files { get; }

    /// <summary>Host lookups already answered by the gofer (MOAT_DENTRY_CACHE=0 turns it off).</summary>
    public Vfs.HostCache.HostDentryCache HostCache { get; }

    /// <summary>One copy of the pages of host files mapped privately (MOAT_PAGE_CACHE=0 turns it off: each mapping copies).</summary>
    public Vfs.HostCache.HostPageCache? HostPages { get; }

    /// <summary>The Sentry's notices (unimplemented syscalls, tasks killed by faults): the debug log, never the program's stderr.</summary>
    public TextWriter Log { get; }

    /// <summary>Whether every syscall is logged with decoded arguments and result.</summary>
    public bool Strace { get; init; }

    /// <summary>Where --strace writes (the debug log when there is one, else moat's stderr); null: <see cref="Log"/>.</summary>
    public TextWriter? StraceOutput { get; init; }

    /// <summary>--strace-syscalls: the numbers traced (indexed by syscall number); null: all of them.</summary>
    public bool[]? StraceOnly { get; init; }

    /// <summary>--metrics: the sandbox's counters; null (the default) counts nothing.</summary>
    public Metrics.SandboxMetrics? Metrics { get; init; }

    /// <summary>Whether syscall <paramref name="nr"/> is traced: one flag test and one array read, no allocation.</summary>
    public bool Traces(int nr) => Strace && (StraceOnly == null || ((uint)nr < (uint)StraceOnly.Length && StraceOnly[nr]));

    /// <summary>
    /// The most tasks (threads of every process) the sandbox may hold at once, 0 for no limit
    /// (<c>moat do --pids</c>, an OCI pids limit; <c>moat update</c> changes it at run time). Checked before
    /// each clone; concurrent clones may overshoot by one each. Lowering it below the tasks alive kills none.
    /// </summary>
    public int MaxTasks
    {
        get => Volatile.Read(ref _maxTasks);
        set => Volatile.Write(ref _maxTasks, value);
    }

    private int _maxTasks;

    /// <summary>The CPU quota and period (microseconds) the sandbox's cgroup shows in cpu.max; quota 0 for "max". Not enforced.</summary>
    public (long Quota, ulong Period) CpuQuota { get; init; }

    /// <summary>
    /// The memory+swap limit (bytes; 0 unset, -1 unlimited) the sandbox's cgroup shows as memory.swap.max
    /// (its excess over the memory limit); <c>moat update --memory-swap</c> changes it. The sandbox never swaps, so
    /// the memory it may use is the memory limit (which a memory+swap limit is never below).
    /// </summary>
    public long MemorySwapLimit
    {
        get => Volatile.Read(ref _memorySwapLimit);
        set => Volatile.Write(ref _memorySwapLimit, value);
    }

    private long _memorySwapLimit;

    /// <summary>The cpu.weight the sandbox's cgroup shows, 0 for the default 100. Not enforced.</summary>
    public ulong CpuWeight { get; init; }

    /// <summary>
    /// Whether <see cref="Init"/> is protected as a PID namespace's init from signals sent inside the sandbox
    /// (<see cref="InitSignals"/>): an OCI container's init. Off for <c>moat do</c>, whose program keeps the
    /// signal behaviour it has when run directly.
    /// </summary>
    public bool ProtectsInit { get; init; }

    /// <summary>Whether a new task would exceed <see cref="MaxTasks"/>.</summary>
    public bool TaskLimitReached => MaxTasks > 0 && Volatile.Read(ref _liveTasks) >= MaxTasks;

    /// <summary>When set, every task records its syscalls and faults here (<c>moat do --profile</c>).</summary>
    public Profiling.SyscallProfile? Profile { get; init; }

    /// <summary>The UTS namespace's host name.</summary>
    /// <summary>The root file system is read-only (an OCI root.readonly): changes to it fail with EROFS.</summary>
    public bool RootReadOnly { get; init; }

    public string Hostname { get; set; } = "moat";

    /// <summary>The NIS domain name uname reports (setdomainname).</summary>
    public string Domainname { get; set; } = "(none)";

    /// <summary>The upper layer of the root overlay: every change to the host's root lands here.</summary>
    public Vfs.Tmpfs.Tmpfs Upper { get; private set; } = null!;

    /// <summary>The host root's st_dev, as the gofer serves it (0 until first asked; <see cref="Vfs.Overlay.AsSeen"/>).</summary>
    public ulong HostRootDevice
    {
        get
        {
            if (_hostRootDevice == 0 && HostCache.Stat("/", follow: true, out Stat st) == 0)
            {
                _hostRootDevice = st.st_dev;
            }

            return _hostRootDevice;
        }
    }

    private ulong _hostRootDevice;

    /// <summary>The sandbox's /dev (<see cref="Vfs.DevFs"/>): where devpts and further devices are added.</summary>
    public Vfs.Tmpfs.Tmpfs Dev { get; }

    /// <summary>The ptys of /dev/ptmx and /dev/pts.</summary>
    public Vfs.Devpts.Devpts Devpts { get; }

    /// <summary>
    /// The sandbox's first mount namespace: the root overlay, /proc, the Sentry's tmpfs mounts and the volumes.
    /// Each process has its own reference (<see cref="ThreadGroup.Mounts"/>); unshare(CLONE_NEWNS) copies it.
    /// </summary>
    public Vfs.Mounts.MountNamespace Mounts { get; }

    /// <summary>Mounts a Sentry tmpfs at its mount point in the first namespace.</summary>
    public Vfs.Mounts.Mount AddTmpfs(Vfs.Tmpfs.Tmpfs fs, Vfs.Mounts.MountFlags flags, string options) => Mounts.Add(new Vfs.Mounts.Mount
    {
        Id = Vfs.Mounts.MountNamespace.NextId(), ParentId = 0, MountPoint = fs.MountPoint, Kind = Vfs.Mounts.MountKind.Tmpfs, Tmpfs = fs, Root = string.Empty,
        Source = "tmpfs", FsType = "tmpfs", Flags = flags, SuperOptions = options,
    });

    /// <summary>Bound AF_UNIX names ("@x" for abstract ones, absolute paths otherwise). Locked on itself.</summary>
    public System.Collections.Generic.Dictionary<string, Vfs.UnixSocket> UnixNames { get; } = [];

    /// <summary>With --network=host, internet sockets are host sockets watched by this; null with the netstack.</summary>
    public Net.HostNotifier? HostNetwork { get; init; }

    /// <summary>The Sentry's TCP/IP stack serving AF_INET and AF_INET6 sockets (--network=none and sandbox); null for host sockets.</summary>
    public Net.SandboxNetwork? Netstack { get; init; }

    /// <summary>The sandbox's /sys, built at the first look (the network's interfaces are fixed by then).</summary>
    internal Vfs.Sys.SysTree SysRoot => System.Threading.LazyInitializer.EnsureInitialized(ref _sysRoot, () => Vfs.Sys.SysFs.For(this));

    private Vfs.Sys.SysTree? _sysRoot;

    /// <summary>The futex wait queues.</summary>
    public Futex Futexes { get; } = new();

    /// <summary>When the sandbox started (Environment.TickCount64), for its uptime.</summary>
    public long BootTicks { get; } = Environment.TickCount64;

    /// <summary>The wall-clock time of <see cref="BootTicks"/> in ns since the epoch: /proc/stat's btime, /proc's inode times.</summary>
    public long BootRealtimeNs { get; } = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>The wall-clock time (ns since the epoch) of a moment given as Environment.TickCount64.</summary>
    public long RealtimeNsAt(long ticks) => BootRealtimeNs + ((ticks - BootTicks) * 1_000_000);

    /// <summary>Guards the process tree: groups, parents, children, zombies.</summary>
    public Lock TreeMu { get; } = new();

    /// <summary>The sandbox's first process (pid 1). Set once.</summary>
    public ThreadGroup? Init { get; private set; }

    /// <summary>The last pid handed out.</summary>
    public int LastPid => Volatile.Read(ref _lastPid);

    /// <summary>A random id for this sandbox's boot (/proc/sys/kernel/random/boot_id).</summary>
    public string BootId { get; } = Guid.NewGuid().ToString();

    /// <summary>The sandbox's root PID namespace: its ids are the global ones the kernel's tables use.</summary>
    public PidNamespace RootPidNs { get; } = new();

    /// <summary>Allocates the next pid in the sandbox's root pid namespace: the first task is pid 1.</summary>
    public int AllocatePid() => Interlocked.Increment(ref _lastPid);

    /// <summary>
    /// Allocates the ids of a new task in <paramref name="ns"/> and each of its ancestors (the first in a
    /// namespace is its pid 1); null when the namespace's init has died (fork's ENOMEM, as Linux's alloc_pid).
    /// </summary>
    public Pid? AllocatePid(PidNamespace ns)
    {
        if (ns.Level == 0)
        {
            return new Pid(ns, AllocatePid());
        }

        lock (TreeMu)
        {
            if (ns.Dead)
            {
                return null;
            }

            var numbers = new int[ns.Level + 1];
            numbers[0] = AllocatePid();
            for (int level = 1; level <= ns.Level; level++)
            {
                numbers[level] = ns.AncestorAt(level).NextId();
            }

            var pid = new Pid(ns, numbers);
            for (int level = 0; level <= ns.Level; level++)
            {
                ns.AncestorAt(level).RegisterLocked(numbers[level], pid);
            }

            return pid;
        }
    }

    /// <summary>
    /// What <paramref name="ns"/> calls the task, process, group or session whose global id is
    /// <paramref name="global"/>: 0 when it is not visible there. Preconditions: TreeMu is held.
    /// </summary>
    public int IdInLocked(PidNamespace ns, int global)
    {
        if (ns.Level == 0 || global <= 0)
        {
            return global;
        }

        // Only tasks below the root are registered: one of the root's alone is invisible below it.
        return RootPidNs.LookupLocked(global)?.In(ns) ?? 0;
    }

    /// <summary>The global id of what <paramref name="ns"/> calls <paramref name="id"/>, 0 for nothing.</summary>
    public int GlobalOf(PidNamespace ns, int id)
    {
        if (ns.Level == 0)
        {
            return id;
        }

        lock (TreeMu)
        {
            return ns.GlobalOfLocked(id);
        }
    }

    /// <summary><see cref="IdInLocked"/>, taking TreeMu.</summary>
    public int IdIn(PidNamespace ns, int global)
    {
        if (ns.Level == 0 || global <= 0)
        {
            return global;
        }

        lock (TreeMu)
        {
            return IdInLocked(ns, global);
        }
    }

    // Forgets the ids of a global pid nothing names any more: no task, no process (zombies included), no
    // process group or session. Only pids below the root are registered. Preconditions: TreeMu is held.
    private void ReleasePidLocked(int global)
    {
        if (RootPidNs.LookupLocked(global) is not Pid pid || _tasks.ContainsKey(global) || _groups.ContainsKey(global))
        {
            return;
        }

        foreach (ThreadGroup g in _groups.Values)
        {
            if (g.ProcessGroup == global || g.Session == global)
            {
                return;
            }
        }

        for (int level = 0; level <= pid.Namespace.Level; level++)
        {
            pid.Namespace.AncestorAt(level).UnregisterLocked(pid.AtLevel(level));
        }
    }

    /// <summary>Drops a process from the table (reaped) and the ids only it held. Preconditions: TreeMu is held.</summary>
    private void RemoveGroupLocked(ThreadGroup g)
    {
        _groups.Remove(g.Tgid);
        ReleasePidLocked(g.Tgid);
        ReleasePidLocked(g.ProcessGroup);
        ReleasePidLocked(g.Session);
    }

    /// <summary>A process left process group or session <paramref name="global"/>: forget its ids if nothing names it. Preconditions: TreeMu is held.</summary>
    public void GroupIdDroppedLocked(int global) => ReleasePidLocked(global);

    /// <summary>Finds a live task by its id in <paramref name="ns"/>.</summary>
    public Task? FindTask(PidNamespace ns, int id)
    {
        lock (TreeMu)
        {
            return _tasks.GetValueOrDefault(ns.GlobalOfLocked(id));
        }
    }

    /// <summary>Finds a live or zombie process by its id in <paramref name="ns"/>.</summary>
    public ThreadGroup? FindGroup(PidNamespace ns, int id)
    {
        lock (TreeMu)
        {
            return FindGroupLocked(ns, id);
        }
    }

    /// <summary>Finds a live or zombie process by its id in <paramref name="ns"/>. Preconditions: TreeMu is held.</summary>
    public ThreadGroup? FindGroupLocked(PidNamespace ns, int id) => _groups.GetValueOrDefault(ns.GlobalOfLocked(id));

    /// <summary>Finds a live or zombie process by pid.</summary>
    public ThreadGroup? FindGroup(int pid)
    {
        lock (TreeMu)
        {
            return _groups.GetValueOrDefault(pid);
        }
    }

    /// <summary>Finds a live or zombie process by pid. Preconditions: TreeMu is held.</summary>
    public ThreadGroup? FindGroupLocked(int pid) => _groups.GetValueOrDefault(pid);

    /// <summary>Every process, zombies included (they keep their group and session). Preconditions: TreeMu is held.</summary>
    public Dictionary<int, ThreadGroup>.ValueCollection AllGroupsLocked() => _groups.Values;

    /// <summary>Finds a live task by tid.</summary>
    public Task? FindTask(int tid)
    {
        lock (TreeMu)
        {
            return _tasks.GetValueOrDefault(tid);
        }
    }

    /// <summary>Every live process, for kill(-1) and process-group signals.</summary>
    public List<ThreadGroup> LiveGroups()
    {
        lock (TreeMu)
        {
            var list = new List<ThreadGroup>();
            foreach (ThreadGroup g in _groups.Values)
            {
                if (!g.Zombie && g.Tasks.Count > 0)
                {
                    list.Add(g);
                }
            }

            return list;
        }
    }

    /// <summary>
    /// Registers a new task (and its group, if new) and starts its host thread. With
    /// <paramref name="newAddressSpace"/>, the thread first creates the platform address space for the
    /// task's memory: on ptrace that thread must be the stub's tracer.
    /// </summary>
    public void StartTask(Task t, bool newAddressSpace, object? threadToken = null, Task? creator = null)
    {
        lock (TreeMu)
        {
            if (creator != null)
            {
                // Under the lock that also orders TSYNC: the new thread cannot miss a filter synced meanwhile.
                t.InheritSeccompLocked(creator);
            }

            if (!_groups.ContainsKey(t.Group.Tgid))
            {
                _groups[t.Group.Tgid] = t.Group;
                t.Group.Parent?.Children.Add(t.Group);
                Init ??= t.Group;
                PidNamespace ns = t.Group.PidNs;
                if (ns.Level > 0 && t.Group.Pid.AtLevel(ns.Level) == 1)
                {
                    ns.Init = t.Group; // the namespace's first process is its init
                }
            }

            t.Group.Tasks.Add(t);
            _tasks[t.Tid] = t;
            _liveTasks++;
            Metrics?.TaskStarted(_liveTasks);
        }

        var thread = new Thread(() => RunTask(t, newAddressSpace, threadToken), 8 << 20)
        {
            Name = "moat-task-" + t.Tid,
            IsBackground = true,
        };
        thread.Start();
    }

    /// <summary>Makes <paramref name="group"/> the sandbox's init before it starts, so processes started first do not become init.</summary>
    public void DeclareInit(ThreadGroup group)
    {
        lock (TreeMu)
        {
            Init ??= group;
        }
    }

    /// <summary>Blocks until every task has exited; returns init's exit status.</summary>
    public ExitStatus WaitForAll()
    {
        _allExited.Wait();
        lock (TreeMu)
        {
            return Init?.ExitStatus ?? ExitStatus.Killed(Signal.SIGKILL);
        }
    }

    private void RunTask(Task t, bool newAddressSpace, object? threadToken)
    {
        ExitStatus status = ExitStatus.Killed(Signal.SIGKILL);
        Task.Current = t;
        try
        {
            long err = 0;
            if (newAddressSpace)
            {
                IAddressSpace? space = Platform.NewAddressSpace(out err);
                if (space != null)
                {
                    WatchAddressSpace(space);
                    t.MM.AttachAddressSpace(space);
                    t.NoteCreatedAddressSpace(t.MM);
                    t.MM.PopulateAll(); // a forked child's or a first image's pages, in one batch rather than a fault each
                    err = t.Context.Attach(space, null);
                }
            }
            else
            {
                err = t.Context.Attach(t.MM.AddressSpace, threadToken);
            }

            if (err < 0)
            {
                Log.WriteLine($"moat: cannot run pid {t.Tid} on the {Platform.Name} platform: {Errno.FromValue((int)-err).Name}");
                return;
            }

            status = t.Run();
        }
        catch (Exception e)
        {
            // A Sentry bug outside any syscall: end this task cleanly and say so.
            Log.WriteLine($"moat: internal error running pid {t.Tid}: {e}");
        }
        finally
        {
            t.PtraceExitEvent(status);
            t.PtraceReleaseTracees();
            t.ExitThread();
            if (t.Tid == t.Group.Tgid)
            {
                // The leader's host thread created the stub: it must outlive every other thread of the
                // process (as a Linux group leader lingers as a zombie until its threads are gone).
                WaitForOtherTasks(t);
            }

            TaskExited(t, status);

            // A process that shared this thread's stub (CLONE_VM) may still run there: the stub lives as long
            // as the thread that created it.
            t.OutliveCreatedAddressSpaces();
        }
    }

    private void WaitForOtherTasks(Task leader)
    {
        ThreadGroup g = leader.Group;
        lock (g.TasksChanged)
        {
            while (true)
            {
                lock (TreeMu)
                {
                    if (g.Tasks.Count <= 1)
                    {
                        return;
                    }
                }

                Monitor.Wait(g.TasksChanged, 100);
            }
        }
    }

    /// <summary>
    /// Interrupts every task running app code in a memory that another process left with stale host mappings
    /// (a truncated shared file, process_vm_writev): each drops them before it runs app code again.
    /// </summary>
    public void InterruptStaleMemoryUsers()
    {
        lock (TreeMu)
        {
            foreach (Task t in _tasks.Values)
            {
                if (t.MM.HasStaleHostMappings)
                {
                    t.Context.Interrupt();
                }
            }
        }
    }

    /// <summary>Kills, as SIGKILL would, every task running in <paramref name="space"/> if its host side dies.</summary>
    public void WatchAddressSpace(IAddressSpace space)
    {
        space.OnLost(() =>
        {
            List<Task> users = [];
            lock (TreeMu)
            {
                foreach (Task t in _tasks.Values)
                {
                    // A process already on its way out loses its stub as part of exiting: that is not news.
                    if (t.MM.HasAddressSpace && t.MM.AddressSpace == space && t.Group.ExitStatus == null && t.Exit == null)
                    {
                        users.Add(t);
                    }
                }
            }

            if (users.Count > 0)
            {
                Log.WriteLine($"moat: the host process running pid {users[0].Group.Tgid} died; killing its tasks");
            }

            foreach (Task t in users)
            {
                ExitGroup(t, ExitStatus.Killed(Signal.SIGKILL));
            }
        });
    }

    /// <summary>
    /// Kills, as SIGKILL would, every process that runs in <paramref name="t"/>'s memory: its own and those
    /// sharing it (CLONE_VM), as the OOM killer kills all users of the victim's mm.
    /// </summary>
    public void KillMemoryUsers(Task t)
    {
        List<Task> users = [];
        lock (TreeMu)
        {
            foreach (Task o in _tasks.Values)
            {
                if (o.MM == t.MM && o.Group != t.Group && o.Group.ExitStatus == null)
                {
                    users.Add(o);
                }
            }
        }

        if (users.Count > 0)
        {
            lock (TreeMu)
            {
                t.Group.KilledWithMemory = true;
                foreach (Task o in users)
                {
                    o.Group.KilledWithMemory = true;
                }
            }
        }

        foreach (Task o in users)
        {
            ExitGroup(o, ExitStatus.Killed(Signal.SIGKILL));
        }

        ExitGroup(t, ExitStatus.Killed(Signal.SIGKILL));
    }

    /// <summary>Ends every task of <paramref name="t"/>'s process with <paramref name="status"/> (exit_group, fatal signal).</summary>
    public void ExitGroup(Task t, ExitStatus status)
    {
        List<Task> others;
        lock (TreeMu)
        {
            t.Group.ExitStatus ??= status;
            others = [.. t.Group.Tasks];
        }

        foreach (Task o in others)
        {
            if (o != t)
            {
                o.Terminate();
            }
        }

        t.RequestExit(status);
    }

    // Whether a task of namespace ns (or one below it) is still alive. Preconditions: TreeMu is held.
    private bool AnyTaskInLocked(PidNamespace ns)
    {
        foreach (Task o in _tasks.Values)
        {
            if (ns.Contains(o.PidNs))
            {
                return true;
            }
        }

        return false;
    }

    // A process has exited (its last task is gone): it becomes a zombie for its parent (or is reaped at once
    // when the parent ignores SIGCHLD), which gets its exit signal; with no parent it is forgotten.
    // Preconditions: TreeMu is held.
    private void NotifyParentOfExitLocked(ThreadGroup g, ExitStatus status)
    {
        ThreadGroup? parent = g.Parent;
        if (parent == null)
        {
            RemoveGroupLocked(g);
            return;
        }

        SignalAction chld = parent.SignalActions[Signal.SIGCHLD];
        bool autoReap = g.ExitSignal == Signal.SIGCHLD &&
            (chld.Handler == SignalAction.SIG_IGN || (chld.Flags & SignalAction.SA_NOCLDWAIT) != 0);
        if (autoReap)
        {
            parent.Children.Remove(g);
            RemoveGroupLocked(g);
        }
        else
        {
            g.Zombie = true;
        }

        // The signal is queued before waiters wake, so a wait(2) that reaps the child finds it
        // pending, as on Linux.
        if (g.ExitSignal > 0)
        {
            var ev = ChildEvent.Exited(g, g.ExitStatus ?? status);
            parent.SignalTarget(g.ExitSignal)?.SendSignal(
                g.ExitSignal, new SigInfo { si_signo = g.ExitSignal, si_code = ev.Code, si_pid = g.Pid.In(parent.PidNs), si_status = ev.Status });
        }

        parent.ChildEvents.Notify();
    }

    private void TaskExited(Task t, ExitStatus status)
    {
        bool last;
        bool killedWithMemory;
        lock (TreeMu)
        {
            last = t.Group.Tasks.Count == 1;
            killedWithMemory = t.Group.KilledWithMemory;
        }

        if (t.Group.CpuByThreads)
        {
            // Its threads' clocks, frozen when they left the stub; the stub's own counts other processes too.
            (long tu, long ts) = CpuClocks.ThreadTimes(t);
            lock (TreeMu)
            {
                ThreadGroup g0 = t.Group;
                g0.CpuExitedThreads = (g0.CpuExitedThreads.User + tu, g0.CpuExitedThreads.System + ts);
                if (last)
                {
                    g0.CpuFinal = g0.CpuExitedThreads;
                    _cpuExited = (_cpuExited.User + g0.CpuFinal.User, _cpuExited.System + g0.CpuFinal.System);
                }
            }
        }
        else if (last && t.MM.HasAddressSpace)
        {
            // The stub is about to go: take the process's CPU time while the host still has it.
            (long u, long s) = t.MM.AddressSpace.CpuTime();
            lock (TreeMu)
            {
                t.Group.CpuFinal = (t.Group.CpuBefore.User + u, t.Group.CpuBefore.System + s);
                _cpuExited = (_cpuExited.User + t.Group.CpuFinal.User, _cpuExited.System + t.Group.CpuFinal.System);
            }
        }

        if (last)
        {
            // exit_sem: SEM_UNDO adjustments are applied before the parent can see the exit.
            Ipc.Sem.ExitProcess(t.Group);
        }

        t.ReleaseResources();
        if (last && killedWithMemory)
        {
            // Its memory's pages are free before its parent can see the exit, as for a process killed alone: the
            // parent's next allocation must not find the sandbox's memory still full of them (Linux's memcg
            // charge waits for the OOM victims to go). The other users are dying too.
            t.MM.WaitUntilReleased();
        }

        if (last)
        {
            // A session leader's exit hangs up its controlling terminal's foreground group.
            Vfs.Devpts.Terminal.Disassociate(this, t.Group, exiting: true);
        }

        List<Task>? orphansToKill = null;
        List<(Task Task, int Signal)>? pdeath = null;
        ThreadGroup g = t.Group;
        Action<ExitStatus>? onExit = null;
        lock (g.TasksChanged)
        {
            Monitor.PulseAll(g.TasksChanged);
        }

        lock (TreeMu)
        {
            PtraceTaskExitingLocked(t, g.Tasks.Count == 1, g.Tasks.Count == 1 ? g.ExitStatus ?? status : status);
            g.Tasks.Remove(t);
            g.ExitedIo.Add(t.Io);
            _tasks.Remove(t.Tid);
            if (t.Tid != g.Tgid)
            {
                ReleasePidLocked(t.Tid); // a thread's id names nothing else
            }

            if (g.Tasks.Count == 0)
            {
                g.ExitStatus ??= status;
                g.ExitCredentials = t.Credentials;
                g.ExitEvents.Notify(); // pidfds: woken waiters re-check once TreeMu is free
                g.DisposeTimers();
                onExit = g.OnExit;
                g.OnExit = null;
                PidNamespace ns = g.PidNs;
                bool nsInit = ns.Level > 0 && ns.Init == g;
                if (g == Init)
                {
                    // When init dies, the pid namespace dies with it.
                    orphansToKill = [.. _tasks.Values];
                }
                else if (nsInit)
                {
                    // The init of a namespace below the root: every task of it (and of those below) is killed,
                    // and no new one can be made there.
                    ns.Dead = true;
                    orphansToKill = [];
                    foreach (Task o in _tasks.Values)
                    {
                        if (ns.Contains(o.PidNs))
                        {
                            orphansToKill.Add(o);
                        }
                    }
                }

                // Orphans go to the init of the namespace their parent lived in (Linux's find_child_reaper);
                // an init's own children to nobody, as they are being killed.
                ThreadGroup? reaper = g == Init || nsInit ? null : ns.Level > 0 ? ns.Init : Init;
                if (reaper != null && reaper.Tasks.Count == 0)
                {
                    reaper = null;
                }

                if (reaper != null)
                {
                    reaper = NearestSubreaperLocked(g, ns) ?? reaper;
                }

                foreach (ThreadGroup child in g.Children)
                {
                    foreach (Task ct in child.Tasks)
                    {
                        if (ct.ParentDeathSignal != 0)
                        {
                            (pdeath ??= []).Add((ct, ct.ParentDeathSignal));
                        }
                    }

                    child.Parent = reaper;
                    if (child.Parent != null)
                    {
                        child.Parent.Children.Add(child);
                        if (child.Zombie)
                        {
                            child.Parent.ChildEvents.Notify();
                        }
                    }
                    else if (child.Zombie)
                    {
                        RemoveGroupLocked(child);
                    }
                }

                g.Children.Clear();
                if (nsInit && orphansToKill!.Count > 0)
                {
                    // Linux's zap_pid_ns_processes: init's parent sees it exit only once the namespace is empty.
                    ns.InitExitPending = true;
                }
                else
                {
                    NotifyParentOfExitLocked(g, status);
                }
            }

            // The last task of a namespace whose init has died lets that init's exit be seen.
            for (PidNamespace? n = t.PidNs; n != null && n.Level > 0; n = n.Parent)
            {
                if (n.InitExitPending && !AnyTaskInLocked(n))
                {
                    n.InitExitPending = false;
                    NotifyParentOfExitLocked(n.Init!, n.Init!.ExitStatus ?? status);
                }
            }

            if (g.Tasks.Count > 0 && g.StopSignal != 0)
            {
                // The exited task may have been the last one a stop was waiting for.
                CheckGroupStopped(g);
            }

            _liveTasks--;
            // An init declared but not started yet (an OCI container before start) keeps the sandbox alive
            // while processes exec'd beside it come and go.
            if (_liveTasks == 0 && Init?.ExitStatus != null)
            {
                _allExited.Set();
            }
        }

        onExit?.Invoke(g.ExitStatus ?? status);
        if (pdeath != null)
        {
            foreach ((Task ct, int sig) in pdeath)
            {
                ct.SendSignal(sig);
            }
        }

        if (orphansToKill != null)
        {
            foreach (Task o in orphansToKill)
            {
                o.SendSignal(Signal.SIGKILL);
            }
        }
    }

    // Linux's find_new_reaper: the closest ancestor in the exiting process's own pid namespace that asked to be a
    // child subreaper and still has a live task. Preconditions: TreeMu is held.
    private static ThreadGroup? NearestSubreaperLocked(ThreadGroup exiting, PidNamespace ns)
    {
        for (ThreadGroup? a = exiting.Parent; a != null && a.PidNs == ns; a = a.Parent)
        {
            if (a.ChildSubreaper && a.Tasks.Count > 0 && !a.Zombie)
            {
                return a;
            }
        }

        return null;
    }
}
