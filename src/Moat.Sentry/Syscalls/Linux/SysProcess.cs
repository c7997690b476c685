using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Loader;
using Moat.Sentry.Mm;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>Process lifetime: fork, vfork, clone, clone3, execve, wait4, waitid.</summary>
internal static class SysProcess
{
    public const ulong CLONE_VM = 0x100;
    public const ulong CLONE_FS = 0x200;
    public const ulong CLONE_FILES = 0x400;
    public const ulong CLONE_SIGHAND = 0x800;
    public const ulong CLONE_PIDFD = 0x1000;
    public const ulong CLONE_PTRACE = 0x2000;
    public const ulong CLONE_VFORK = 0x4000;
    public const ulong CLONE_PARENT = 0x8000;
    public const ulong CLONE_THREAD = 0x10000;
    public const ulong CLONE_NEWNS = 0x20000;
    public const ulong CLONE_SYSVSEM = 0x40000;
    public const ulong CLONE_SETTLS = 0x80000;
    public const ulong CLONE_PARENT_SETTID = 0x100000;
    public const ulong CLONE_CHILD_CLEARTID = 0x200000;
    public const ulong CLONE_DETACHED = 0x400000;
    public const ulong CLONE_UNTRACED = 0x800000;
    public const ulong CLONE_CHILD_SETTID = 0x1000000;
    public const ulong CLONE_NEWCGROUP = 0x2000000;
    public const ulong CLONE_NEWUTS = 0x4000000;
    public const ulong CLONE_NEWIPC = 0x8000000;
    public const ulong CLONE_NEWUSER = 0x10000000;
    public const ulong CLONE_NEWPID = 0x20000000;
    public const ulong CLONE_NEWNET = 0x40000000;
    public const ulong CLONE_IO = 0x80000000;

    private const int WNOHANG = 1;
    private const int WUNTRACED = 2;
    private const int WEXITED = 4;
    private const int WCONTINUED = 8;
    private const int WNOWAIT = 0x01000000;
    private const int __WNOTHREAD = 0x20000000;
    private const int __WALL = 0x40000000;
    private const int __WCLONE = unchecked((int)0x80000000);
    private const int P_ALL = 0;
    private const int P_PID = 1;
    private const int P_PGID = 2;
    private const int P_PIDFD = 3;

    private const int MaxArgStrings = 0x7FFFFFFF / 8;

    /// <summary>Implements fork(2).</summary>
    public static long Fork(Task t, in SyscallArgs a) => Clone(t, (ulong)Signal.SIGCHLD, 0, 0, 0, 0);

    /// <summary>Implements vfork(2).</summary>
    public static long Vfork(Task t, in SyscallArgs a) => Clone(t, CLONE_VM | CLONE_VFORK | (ulong)Signal.SIGCHLD, 0, 0, 0, 0);

    /// <summary>Implements clone(2) (x86-64 order: flags, stack, parent_tid, child_tid, tls).</summary>
    public static long CloneSyscall(Task t, in SyscallArgs a)
    {
        // clone(2) returns the pidfd where the parent's tid would go, so the two cannot be asked for together.
        if ((a[0] & (CLONE_PIDFD | CLONE_PARENT_SETTID)) == (CLONE_PIDFD | CLONE_PARENT_SETTID))
        {
            return -Errno.EINVAL.Value;
        }

        return Clone(t, a[0], a.Pointer(1), a.Pointer(2), a.Pointer(3), a[4], a.Pointer(2));
    }

    /// <summary>Implements clone3(2).</summary>
    public static long Clone3(Task t, in SyscallArgs a)
    {
        ulong size = a.SizeT(1);
        if (size < 64 || size > 4096)
        {
            return -Errno.EINVAL.Value;
        }

        Span<ulong> args = stackalloc ulong[11];
        args.Clear();
        int bytes = (int)Math.Min(size, 88);
        if (t.MM.CopyIn(a.Pointer(0), System.Runtime.InteropServices.MemoryMarshal.AsBytes(args)[..bytes]) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup.
        ulong flags = args[0];
        ulong exitSignal = args[4];
        if ((flags & 0xff) != 0 || exitSignal > Signal.SIGRTMAX || args[9] != 0)
        {
            return -Errno.EINVAL.Value;
        }

        ulong stack = args[5] == 0 ? 0 : args[5] + args[6];
        return Clone(t, flags | exitSignal, stack, args[3], args[2], args[7], args[1]);
    }

    private static long Clone(Task t, ulong flags, ulong stack, ulong parentTid, ulong childTid, ulong tls, ulong pidfdAddr = 0)
    {
        ulong unsupported = CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWNET;
        if ((flags & unsupported) != 0)
        {
            return -Errno.EINVAL.Value; // new namespaces inside the sandbox are not supported, but for mount and pid namespaces
        }

        if ((flags & CLONE_THREAD) != 0 && ((flags & CLONE_NEWPID) != 0 || t.ChildPidNs != t.PidNs))
        {
            return -Errno.EINVAL.Value; // a thread lives in its process's pid namespace
        }

        if ((flags & CLONE_PARENT) != 0 && t.Group.IsNamespaceInit)
        {
            return -Errno.EINVAL.Value; // an init's siblings would be outside its namespace
        }

        if ((flags & CLONE_NEWPID) != 0 && !t.Credentials.HasCapability(Credentials.CAP_SYS_ADMIN))
        {
            return -Errno.EPERM.Value;
        }

        if ((flags & CLONE_NEWNS) != 0)
        {
            // A new mount namespace: not shared with a thread or a filesystem context; CAP_SYS_ADMIN.
            if ((flags & (CLONE_FS | CLONE_THREAD)) != 0)
            {
                return -Errno.EINVAL.Value;
            }

            if (!t.Credentials.HasCapability(Credentials.CAP_SYS_ADMIN))
            {
                return -Errno.EPERM.Value;
            }
        }

        if ((flags & CLONE_PIDFD) != 0)
        {
            // A pidfd names a process: not with CLONE_THREAD (PIDFD_THREAD is not supported) or CLONE_DETACHED.
            if ((flags & (CLONE_THREAD | CLONE_DETACHED)) != 0)
            {
                return -Errno.EINVAL.Value;
            }

            // Where the fd goes must be writable before anything is created (Linux fails the clone with EFAULT).
            if (t.MM.CopyOut(pidfdAddr, -1) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        if (t.Kernel.TaskLimitReached)
        {
            return -Errno.EAGAIN.Value; // --pids: as the pids cgroup answers fork
        }

        if ((flags & CLONE_THREAD) != 0)
        {
            if ((flags & (CLONE_SIGHAND | CLONE_VM)) != (CLONE_SIGHAND | CLONE_VM))
            {
                return -Errno.EINVAL.Value;
            }

            return (flags & CLONE_SETTLS) != 0 && !SysThread.IsCanonical(tls) ? -Errno.EPERM.Value : CloneThread(t, flags, stack, parentTid, childTid, tls);
        }

        if ((flags & CLONE_SIGHAND) != 0 && (flags & CLONE_VM) == 0)
        {
            return -Errno.EINVAL.Value;
        }

        int exitSignal = (int)(flags & 0xff);
        if (exitSignal > Signal.SIGRTMAX)
        {
            return -Errno.EINVAL.Value;
        }

        if ((flags & CLONE_SETTLS) != 0 && !SysThread.IsCanonical(tls))
        {
            return -Errno.EPERM.Value; // copy_thread's set_new_tls: a TLS base the CPU could not load
        }

        Kernel.Kernel k = t.Kernel;
        PidNamespace pidNs = t.ChildPidNs;
        if ((flags & CLONE_NEWPID) != 0)
        {
            if (pidNs.Level >= PidNamespace.MaxLevel)
            {
                return -Errno.ENOSPC.Value;
            }

            pidNs = new PidNamespace(pidNs);
        }

        // CLONE_VM (vfork, posix_spawn): a process of its own in the caller's memory, run by one more context in
        // the same platform address space, as a thread would be.
        bool sharedVm = (flags & CLONE_VM) != 0;
        object? token = null;
        if (sharedVm)
        {
            long r = t.MM.AddressSpace.PrepareThread(out token);
            if (r < 0)
            {
                return r == -Errno.EPERM.Value ? -Errno.EAGAIN.Value : r;
            }
        }

        Pid? ids = k.AllocatePid(pidNs);
        if (ids == null)
        {
            return -Errno.ENOMEM.Value; // the namespace's init has died
        }

        int pid = ids.Global;

        MemoryManager mm;
        if (sharedVm)
        {
            t.MM.IncUsers();
            mm = t.MM;
        }
        else
        {
            mm = t.MM.Fork();
        }

        FdTable fds;
        if ((flags & CLONE_FILES) != 0)
        {
            t.Fds.IncUsers();
            fds = t.Fds;
        }
        else
        {
            fds = t.Fds.Fork();
        }

        ThreadGroup parentGroup = (flags & CLONE_PARENT) != 0 && t.Group.Parent != null ? t.Group.Parent : t.Group;
        var group = new ThreadGroup(ids, parentGroup, t.Group.ExecutablePath, t.Group.Limits)
        {
            Cwd = t.Group.Cwd,
            Root = t.Group.Root,
            Mounts = (flags & CLONE_NEWNS) != 0 ? t.Group.Mounts.Clone() : t.Group.Mounts,
            Container = t.Group.Container,
            Umask = t.Group.Umask,
            ExitSignal = exitSignal,
            ProcessGroup = t.Group.ProcessGroup,
            Session = t.Group.Session,
            ControllingTerminal = t.Group.ControllingTerminal,
            // CLONE_SIGHAND (with CLONE_VM) shares the table of actions itself, as Linux shares the sighand_struct.
            SignalActions = (flags & CLONE_SIGHAND) != 0 ? t.Group.SignalActions : (SignalAction[])t.Group.SignalActions.Clone(),
            Dumpable = t.Group.Dumpable,
            OomScoreAdj = t.Group.OomScoreAdj,
            OomScoreAdjMin = t.Group.OomScoreAdjMin,
            CpuByThreads = sharedVm,
        };

        // A CLONE_VM child (not a vfork one) would share the parent's alternate signal stack: Linux clears it.
        bool keepAltStack = (flags & (CLONE_VM | CLONE_VFORK)) != CLONE_VM;
        var child = new Task(k, group, ids, mm, fds, t.Credentials)
        {
            SignalMask = t.SignalMask,
            AltStackBase = keepAltStack ? t.AltStackBase : 0,
            AltStackSize = keepAltStack ? t.AltStackSize : 0,
            Comm = t.Comm,
            NoNewPrivs = t.NoNewPrivs,
        };
        SetUpChild(t, child, flags, stack, parentTid, childTid, tls);
        if ((flags & CLONE_PIDFD) != 0)
        {
            int pidfd = SysPidfd.Install(t, group, 0);
            t.MM.CopyOut(pidfdAddr, pidfd);
        }

        ManualResetEventSlim? vforkDone = null;
        if ((flags & CLONE_VFORK) != 0)
        {
            vforkDone = new ManualResetEventSlim(false);
            child.VforkDone = vforkDone;
        }

        int ev = t.PtraceInheritToChild(child, (flags & CLONE_VFORK) != 0, thread: false, exitSignal, (flags & CLONE_PTRACE) != 0, (flags & CLONE_UNTRACED) != 0);
        k.StartTask(child, newAddressSpace: !sharedVm, token, creator: t);
        t.PtraceCloneEvent(ev, ids);
        if (vforkDone != null)
        {
            // The parent sleeps until the child execs or exits (uninterruptibly, as in Linux).
            t.WaitUninterruptibly(vforkDone);
            vforkDone.Dispose();
            t.PtraceVforkDone(ids);
        }

        return ids.In(t.PidNs);
    }

    // A new thread in the caller's process: same memory, signal actions and (with CLONE_FILES) fd table.
    private static long CloneThread(Task t, ulong flags, ulong stack, ulong parentTid, ulong childTid, ulong tls)
    {
        long r = t.MM.AddressSpace.PrepareThread(out object? token);
        if (r < 0)
        {
            return r == -Errno.EPERM.Value ? -Errno.EAGAIN.Value : r;
        }

        Kernel.Kernel k = t.Kernel;
        Pid? ids = k.AllocatePid(t.PidNs);
        if (ids == null)
        {
            return -Errno.ENOMEM.Value; // the namespace's init has died
        }

        int tid = ids.Global;
        t.MM.IncUsers();
        FdTable fds;
        if ((flags & CLONE_FILES) != 0)
        {
            t.Fds.IncUsers();
            fds = t.Fds;
        }
        else
        {
            fds = t.Fds.Fork();
        }

        var child = new Task(k, t.Group, ids, t.MM, fds, t.Credentials)
        {
            SignalMask = t.SignalMask,
            Comm = t.Comm,
            NoNewPrivs = t.NoNewPrivs,
        };
        SetUpChild(t, child, flags, stack, parentTid, childTid, tls);

        int ev = t.PtraceInheritToChild(child, vfork: false, thread: true, 0, (flags & CLONE_PTRACE) != 0, (flags & CLONE_UNTRACED) != 0);
        k.StartTask(child, newAddressSpace: false, token, creator: t);
        t.PtraceCloneEvent(ev, ids);
        return ids.In(t.PidNs);
    }

    // The child's registers (the parent's, returning 0 from clone, on its own stack and TLS if given) and
    // the tid words clone writes: the parent's copy in the parent's memory, the child's in the child's.
    private static void SetUpChild(Task parent, Task child, ulong flags, ulong stack, ulong parentTid, ulong childTid, ulong tls)
    {
        child.Sched = parent.Sched.ForChild();
        child.IoPriority = parent.IoPriority; // copy_io: a new io context with the parent's priority
        child.Personality = parent.Personality;
        child.CpuMask = parent.CpuMask;
        child.MempolicyMode = parent.MempolicyMode;
        child.MempolicyNodes = parent.MempolicyNodes;
        child.Prctl = parent.Prctl.ForChild();
        ref PtraceRegs regs = ref child.Registers;
        regs = parent.Registers;
        regs.rax = 0;
        regs.orig_rax = ulong.MaxValue;
        if (stack != 0)
        {
            regs.rsp = stack;
        }

        if ((flags & CLONE_SETTLS) != 0)
        {
            regs.fs_base = tls;
        }

        if ((flags & CLONE_PARENT_SETTID) != 0)
        {
            parent.MM.CopyOut(parentTid, child.Pid.In(parent.PidNs));
        }

        if ((flags & CLONE_CHILD_SETTID) != 0)
        {
            child.MM.CopyOut(childTid, child.Pid.In(child.PidNs));
        }

        if ((flags & CLONE_CHILD_CLEARTID) != 0)
        {
            child.ClearChildTid = childTid;
        }
    }

    /// <summary>Implements execve(2).</summary>
    public static long Execve(Task t, in SyscallArgs a) => ExecveAt(t, OpenFlags.AT_FDCWD, a.Pointer(0), a.Pointer(1), a.Pointer(2), 0);

    /// <summary>Implements execveat(2).</summary>
    public static long Execveat(Task t, in SyscallArgs a) => ExecveAt(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Pointer(3), a.Int(4));

    private static long ExecveAt(Task t, int dirfd, ulong pathAddr, ulong argvAddr, ulong envpAddr, int flags)
    {
        if ((flags & ~(OpenFlags.AT_EMPTY_PATH | OpenFlags.AT_SYMLINK_NOFOLLOW)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = PathResolver.CopyInPath(t, pathAddr, out string path);
        if (r < 0)
        {
            return r;
        }

        // The name as asked for (bprm->filename): a path relative to a directory descriptor, or the descriptor
        // itself, is named through /dev/fd as Linux names it.
        string filename = path.Length == 0 ? $"/dev/fd/{dirfd}" : path[0] != '/' && dirfd != OpenFlags.AT_FDCWD ? $"/dev/fd/{dirfd}/{path}" : path;
        if (path.Length == 0)
        {
            // execveat(fd, "", AT_EMPTY_PATH) runs the file behind fd.
            FileDescription? f = (flags & OpenFlags.AT_EMPTY_PATH) != 0 ? t.Fds.Get(dirfd) : null;
            if (f?.Path == null)
            {
                f?.DecRef();
                return (flags & OpenFlags.AT_EMPTY_PATH) != 0 ? -Errno.EBADF.Value : -Errno.ENOENT.Value;
            }

            path = f.Path;
            f.DecRef();
        }
        else
        {
            r = PathResolver.Resolve(t, dirfd, path, followLast: true, out path);
            if (r < 0)
            {
                return r;
            }
        }

        path = PathResolver.Normalize(path);
        r = PathOps.ResolveProcLinks(t, ref path);
        r = r < 0 ? r : PathAccess.MayWalk(t, path, followLast: true);
        if (r < 0)
        {
            return r;
        }

        r = CopyInStringArray(t, argvAddr, out List<string> argv);
        if (r < 0)
        {
            return r;
        }

        r = CopyInStringArray(t, envpAddr, out List<string> envp);
        if (r < 0)
        {
            return r;
        }

        if (argv.Count == 0)
        {
            argv.Add(string.Empty); // Linux passes an empty argv[0] rather than none
        }

        // The new image gets a new host address space, created by this (tracer) thread.
        Platform.IAddressSpace? space = t.Kernel.Platform.NewAddressSpace(out long err);
        if (space == null)
        {
            return err < 0 ? err : -Errno.ENOMEM.Value;
        }

        t.Kernel.WatchAddressSpace(space);

        var mm = new MemoryManager(t.Kernel.MemoryFile, space, t.Kernel.Platform.MinUserAddress, t.Kernel.Platform.MaxUserAddress)
        {
            VdsoAddress = t.Kernel.Platform.VdsoAddress,
            AddressSpaceLimit = t.Group.Limit(RlimitResource.RLIMIT_AS).rlim_cur,
            ThpDisable = t.MM.ThpDisable, // MMF_INIT_MASK: kept by execve's new mm
            CoredumpFilter = t.MM.CoredumpFilter,
        };
        Credentials c = t.Credentials;
        // A process with a root of its own, or a namespace with binds whose links the Sentry walks: the paths the
        // program names (and, for the latter, its own path: a link met later in it may lead into such a bind) are
        // walked here, in the mount tree.
        // Elsewhere they are resolved to link-free paths (PathOps.ResolveLinks) before the loader's own walk, which
        // cancels a ".." met in a link's target lexically: /tmp/e -> k/../prog with k -> /v/d/a/b runs /v/d/a/prog.
        bool rooted = RootedPath.IsRooted(t);
        bool walked = rooted || t.Group.Mounts.HasWalkedBinds;
        Func<string, string> inRoot = walked
            ? p => RootedPath.Resolve(t, "/", p, followLast: true, out string q) < 0 ? p : q
            : p => p.Length > 0 && p[0] == '/' ? PathOps.ResolveLinks(t, p) : p;
        if (!rooted)
        {
            path = inRoot(path);
        }

        // Set-id bits raise nothing under no_new_privs, nor for a traced task whose tracer lacks CAP_SYS_PTRACE
        // (LSM_UNSAFE_PTRACE).
        bool noElevation = t.NoNewPrivs || (t.Tracer is Task tracer && !tracer.Credentials.HasCapability(Credentials.CAP_SYS_PTRACE));
        r = ProgramImage.Load(t.Kernel, t.Group.Mounts, mm, path, argv, envp, c, noElevation, out LoadedImage image, out string executable, out Credentials execCreds, out _, inRoot, t.Group.Root, filename);
        if (r < 0)
        {
            mm.Dispose();
            return r;
        }

        mm.PopulateAll(); // the new image's pages in one batch, not a fault each

        // Past the point of no return. Other threads of the process die first (de_thread in Linux).
        KillOtherThreads(t);

        // The robust list and clear_child_tid belong to the old memory (Linux's exec_mm_release).
        t.ReleaseFutexes();
        t.Credentials = execCreds;

        // begin_new_exec: dumpable again unless the ids differ (a set-id program).
        t.Group.Dumpable = t.Credentials.EffectiveUid == t.Credentials.RealUid && t.Credentials.EffectiveGid == t.Credentials.RealGid;
        mm.ArgStart = image.ArgStart;
        mm.ArgEnd = image.ArgEnd;
        mm.EnvStart = image.EnvStart;
        mm.EnvEnd = image.EnvEnd;
        (long cu, long cs) = t.MM.HasAddressSpace ? t.MM.AddressSpace.CpuTime() : (0, 0);
        t.Group.CpuBefore = (t.Group.CpuBefore.User + cu, t.Group.CpuBefore.System + cs);
        (long tu, long ts) = t.Context.ThreadCpuTime();
        t.CpuBefore = (t.CpuBefore.User + tu, t.CpuBefore.System + ts);
        t.Context.Detach(t.MM.AddressSpace);
        t.ReplaceMemory(mm); // a vfork or CLONE_VM parent keeps the old memory
        t.NoteCreatedAddressSpace(mm);
        r = t.Context.Attach(space, null);
        if (r < 0)
        {
            t.Kernel.ExitGroup(t, ExitStatus.Killed(Signal.SIGKILL));
            return r;
        }

        t.Fds.CloseOnExec();

        // POSIX timers do not survive execve; the ITIMER_REAL timer does.
        lock (t.Group.TimersMu)
        {
            foreach ((IArmedTimer timer, int _, TimerNotify _) in t.Group.PosixTimers.Values)
            {
                timer.Dispose();
            }

            t.Group.PosixTimers.Clear();
        }

        t.Group.ExecutablePath = walked ? PathOps.ResolveLinks(t, executable) : executable; // else resolved above
        t.Group.HasExeced = true;
        t.Group.ExecCount++;
        // The new image has a table of its own (unshare_sighand): another process sharing it keeps its handlers.
        SignalAction[] actions = (SignalAction[])t.Group.SignalActions.Clone();
        t.Group.SignalActions = actions;
        for (int i = 1; i < actions.Length; i++)
        {
            if (actions[i].Handler != SignalAction.SIG_IGN)
            {
                actions[i] = default;
            }
        }

        t.AltStackBase = 0;
        t.AltStackSize = 0;
        t.Comm = System.IO.Path.GetFileName(path);
        if (t.Comm.Length > 15)
        {
            t.Comm = t.Comm[..15];
        }

        t.RseqAddress = 0;
        ref PtraceRegs regs = ref t.Registers;
        regs = default;
        regs.rip = image.Entry;
        regs.rsp = image.StackPointer;
        regs.cs = 0x33;
        regs.ss = 0x2b;
        regs.eflags = 0x202;
        regs.orig_rax = ulong.MaxValue;
        t.VforkDone?.Set();
        t.VforkDone = null;
        t.PtraceExec(t.Pid);
        return 0;
    }

    private static void KillOtherThreads(Task t)
    {
        List<Task> others;
        lock (t.Kernel.TreeMu)
        {
            others = t.Group.Tasks.FindAll(o => o != t);
        }

        foreach (Task o in others)
        {
            o.Terminate();
        }

        // Wait until they have left the group (their host threads are gone with their stub threads).
        while (true)
        {
            lock (t.Kernel.TreeMu)
            {
                if (t.Group.Tasks.Count <= 1)
                {
                    return;
                }
            }

            Thread.Sleep(1);
        }
    }

    private static long CopyInStringArray(Task t, ulong addr, out List<string> list)
    {
        list = [];
        if (addr == 0)
        {
            return 0;
        }

        long total = 0;
        for (int i = 0; i < MaxArgStrings; i++)
        {
            if (t.MM.CopyIn(addr + ((ulong)i * 8), out ulong p) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            if (p == 0)
            {
                return 0;
            }

            long r = t.MM.CopyInString(p, 128 * 1024, out string s);
            if (r < 0)
            {
                return r == -Errno.ENAMETOOLONG.Value ? -Errno.E2BIG.Value : r;
            }

            total += s.Length + 1 + 8;
            if (total > (long)(ElfLoader.DefaultStackSize / 4))
            {
                return -Errno.E2BIG.Value;
            }

            list.Add(s);
        }

        return -Errno.E2BIG.Value;
    }

    /// <summary>Implements wait4(2).</summary>
    public static long Wait4(Task t, in SyscallArgs a)
    {
        int pid = a.Int(0);
        int options = a.Int(2);
        if ((options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE)) != 0 || pid == int.MinValue)
        {
            return -Errno.EINVAL.Value;
        }

        long r = WaitFor(t, Selector(t, pid), pid > 0 ? t.Kernel.GlobalOf(t.PidNs, pid) : 0, options | WEXITED, out ChildEvent ev);
        if (r <= 0)
        {
            return r;
        }

        ThreadGroup child = ev.Child;
        if (a.Pointer(1) != 0 && t.MM.CopyOut(a.Pointer(1), ev.WaitStatus) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (a.Pointer(3) != 0)
        {
            (long User, long System) cpu;
            lock (t.Kernel.TreeMu)
            {
                cpu = (child.CpuFinal.User + child.CpuChildren.User, child.CpuFinal.System + child.CpuChildren.System);
            }

            if (SysResource.CopyOutRusage(t, a.Pointer(3), cpu, 0) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        return r;
    }

    /// <summary>Implements waitid(2).</summary>
    public static long Waitid(Task t, in SyscallArgs a)
    {
        int idtype = a.Int(0);
        int id = a.Int(1);
        ulong infop = a.Pointer(2);
        int options = a.Int(3);
        if ((options & ~(WNOHANG | WEXITED | WUNTRACED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WALL | __WCLONE)) != 0 ||
            (options & (WEXITED | WUNTRACED | WCONTINUED)) == 0)
        {
            return -Errno.EINVAL.Value;
        }

        Func<ThreadGroup, bool> match;
        switch (idtype)
        {
            case P_ALL:
                match = static _ => true;
                break;
            case P_PID:
                if (id <= 0)
                {
                    return -Errno.EINVAL.Value;
                }

                int global = t.Kernel.GlobalOf(t.PidNs, id);
                match = g => g.Tgid == global;
                id = global;
                break;
            case P_PGID:
                if (id < 0)
                {
                    return -Errno.EINVAL.Value;
                }

                int pgid = id == 0 ? t.Group.ProcessGroup : t.Kernel.GlobalOf(t.PidNs, id);
                match = g => pgid != 0 && g.ProcessGroup == pgid;
                break;
            case P_PIDFD:
            {
                if (id < 0)
                {
                    return -Errno.EINVAL.Value;
                }

                long pr = SysPidfd.Resolve(t, id, out ThreadGroup? named, out bool nonBlocking);
                if (pr < 0)
                {
                    return pr;
                }

                match = g => g == named;
                if (nonBlocking && (options & WNOHANG) == 0)
                {
                    // A non-blocking pidfd: nothing to report yet is EAGAIN rather than a wait.
                    long nr = WaitFor(t, match, named!.Tgid, options | WNOHANG, out ChildEvent nev);
                    return nr == 0 ? -Errno.EAGAIN.Value : WaitidResult(t, infop, nr, nev);
                }

                break;
            }

            default:
                return -Errno.EINVAL.Value;
        }

        long r = WaitFor(t, match, idtype == P_PID ? id : 0, options, out ChildEvent ev);
        return WaitidResult(t, infop, r, ev);
    }

    // waitid's answer: the siginfo of the event found (zeros for WNOHANG with none), or the error.
    private static long WaitidResult(Task t, ulong infop, long r, in ChildEvent ev)
    {
        if (r < 0)
        {
            return r;
        }

        var info = default(SigInfo);
        if (r > 0)
        {
            info.si_signo = Signal.SIGCHLD;
            info.si_code = ev.Code;
            info.si_pid = (int)r;
            info.si_status = ev.Status;
        }

        return infop != 0 && t.MM.CopyOut(infop, info) < 0 ? -Errno.EFAULT.Value : 0;
    }

    private static Func<ThreadGroup, bool> Selector(Task t, int pid)
    {
        if (pid > 0)
        {
            int global = t.Kernel.GlobalOf(t.PidNs, pid);
            return g => g.Tgid == global;
        }

        if (pid == -1)
        {
            return static _ => true;
        }

        int pgid = pid == 0 ? t.Group.ProcessGroup : t.Kernel.GlobalOf(t.PidNs, -pid);
        return g => pgid != 0 && g.ProcessGroup == pgid;
    }

    // Returns the child's pid with its event (consumed unless WNOWAIT), 0 for WNOHANG with nothing ready, or -errno.
    private static long WaitFor(Task t, Func<ThreadGroup, bool> match, int pid, int options, out ChildEvent found)
    {
        bool wClone = (options & __WCLONE) != 0;
        bool wAll = (options & __WALL) != 0;
        ChildEvent? ev = null;
        bool any = false;
        bool noHang = (options & WNOHANG) != 0;
        bool exited = (options & WEXITED) != 0;
        bool stopped = (options & WUNTRACED) != 0;
        bool continued = (options & WCONTINUED) != 0;
        bool consume = (options & WNOWAIT) == 0;
        long r = t.Block(t.Group.ChildEvents, () =>
        {
            ev = t.Kernel.TryWait(t.Group, match, pid, wClone, wAll, exited, stopped, continued, consume, out any);
            return ev != null || !any || noHang;
        });
        found = ev.GetValueOrDefault();
        if (r < 0)
        {
            return r;
        }

        if (ev is ChildEvent e)
        {
            // The child may be reaped already: its ids are its own, not looked up.
            return e.Pid != 0 ? t.Kernel.IdIn(t.PidNs, e.Pid) : e.Child.Pid.In(t.PidNs);
        }

        return any ? 0 : -Errno.ECHILD.Value;
    }
}
