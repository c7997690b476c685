using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;
using Moat.Sentry.Net;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Syscalls.Linux;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>What a /proc path names.</summary>
internal enum ProcKind
{
    Directory,
    File,
    Link,
}

/// <summary>
/// A /proc or /sys node, resolved at lookup: a directory's entries, a file's content, or a link's target;
/// <paramref name="Attr"/> is its stat when the node has its own (sysfs, /proc's process entries), null for
/// /proc's 0444 root-owned default; <paramref name="Write"/> takes one write(2) of a writable file (the caller and
/// the bytes) and answers the count or -errno; <paramref name="MayOpen"/>, when given, is a check beyond the mode
/// bits that opening makes (a process's memory-derived files: Linux's ptrace access check); <paramref name="Open"/>,
/// when given, makes the description of a file that is not generated content (/proc/PID/mem), from the open flags.
/// </summary>
internal sealed record ProcNode(ProcKind Kind, string Path, Func<List<(string Name, byte Type)>>? Entries = null, Func<byte[]>? Content = null, string? Target = null, FileDescription? Fd = null, Stat? Attr = null, Func<Task, byte[], long>? Write = null, Func<Task, bool>? MayOpen = null, Func<int, FileDescription>? Open = null, ThreadGroup? Process = null);

/// <summary>
/// The Sentry's /proc: process directories generated from the kernel's own state (never the host's
/// processes), and the system files a program expects, answered from the sandbox's view.
/// </summary>
internal static class ProcFs
{
    public const ulong Device = 0x16;
    private const byte DtDir = 4;
    private const byte DtReg = 8;
    private const byte DtLnk = 10;

    private static readonly string[] s_systemFiles = ["cgroups", "cpuinfo", "filesystems", "loadavg", "meminfo", "mounts", "stat", "uptime", "version", "vmstat"];

    /// <summary>
    /// Looks up a normalised path under /proc, in the instance of pid namespace <paramref name="pidNs"/> (the
    /// mount's; null for the sandbox's root namespace): its process directories are that namespace's. Returns 0
    /// with the node, or -errno.
    /// </summary>
    public static long Lookup(Task t, string norm, bool followLast, out ProcNode? node, PidNamespace? pidNs = null)
    {
        node = null;
        PidNamespace ns = pidNs ?? t.Kernel.RootPidNs;
        string[] parts = norm == "/proc" ? [] : norm["/proc/".Length..].Split('/');

        long boot = t.Kernel.BootRealtimeNs;

        // /proc/net is a link to self/net, as in Linux since network namespaces: the caller's network's files.
        if (parts.Length > 0 && parts[0] == "net")
        {
            if (parts.Length == 1 && !followLast)
            {
                node = new ProcNode(ProcKind.Link, norm, Target: "self/net", Attr: NodeAttr(norm, ProcKind.Link, boot, size: "self/net".Length));
                return 0;
            }

            parts = ["self", .. parts];
        }

        // Follow self and thread-self (always when not last; when last, only if asked).
        if (parts.Length > 0 && (parts[0] == "self" || parts[0] == "thread-self"))
        {
            int self = t.Group.Pid.In(ns);
            if (self == 0)
            {
                return -Errno.ENOENT.Value; // the caller is not in this instance's namespace
            }

            string target = parts[0] == "self" ? Num(self) : Num(self) + "/task/" + Num(t.Pid.In(ns));
            if (parts.Length == 1 && !followLast)
            {
                node = new ProcNode(ProcKind.Link, norm, Target: target, Attr: NodeAttr(norm, ProcKind.Link, boot));
                return 0;
            }

            var rest = new List<string>(target.Split('/'));
            rest.AddRange(parts[1..]);
            parts = [.. rest];
        }

        if (parts.Length == 0)
        {
            node = new ProcNode(ProcKind.Directory, "/proc", Entries: () => RootEntries(t, ns), Attr: NodeAttr("/proc", ProcKind.Directory, boot));
            return 0;
        }

        if (int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            ThreadGroup? g = t.Kernel.FindGroup(ns, pid);
            Task? leader = g == null ? null : Leader(t.Kernel, g);
            if (g == null || leader == null)
            {
                return -Errno.ENOENT.Value;
            }

            string dir = "/proc/" + Num(pid);
            if (parts.Length >= 3 && parts[1] == "task")
            {
                // /proc/pid/task/tid/...: the same files, for one thread.
                if (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int tid) || t.Kernel.FindTask(ns, tid) is not Task task || task.Group != g)
                {
                    return -Errno.ENOENT.Value;
                }

                return ProcessNode(t, ns, g, task, dir + "/task/" + Num(tid), parts[3..], followLast, out node);
            }

            if (parts.Length == 2 && parts[1] == "task")
            {
                Stat taskAttr = ProcPid.Attr(g, leader, dir + "/task", Abi.Stat.S_IFDIR | 0x16d);
                lock (t.Kernel.TreeMu)
                {
                    taskAttr.st_nlink += (ulong)g.Tasks.Count; // proc_task_getattr: a link per thread
                }

                node = new ProcNode(ProcKind.Directory, dir + "/task", Entries: () => TaskEntries(t.Kernel, ns, g), Attr: taskAttr);
                return 0;
            }

            return ProcessNode(t, ns, g, leader, dir, parts[1..], followLast, out node);
        }

        long r = SystemNode(t, parts, out node);
        if (r == 0 && node!.Attr == null)
        {
            // The sandbox's own files, made when it booted.
            node = node with { Attr = NodeAttr(node.Path, node.Kind, boot) };
        }

        return r;
    }

    /// <summary>
    /// The stat of a /proc node that has no owner of its own: root's, 0555 for a directory, 0444 for a file, 0777 for
    /// a link (of <paramref name="size"/> bytes: a link made with a fixed target, as /proc/net, counts its target),
    /// with <paramref name="timeNs"/> as its times.
    /// </summary>
    internal static Stat NodeAttr(string path, ProcKind kind, long timeNs, long size = 0) => Times(new Stat
    {
        st_mode = kind switch
        {
            ProcKind.Directory => Abi.Stat.S_IFDIR | 0x16d,
            ProcKind.File => Abi.Stat.S_IFREG | 0x124,
            _ => Abi.Stat.S_IFLNK | 0x1ff,
        },
        st_nlink = kind == ProcKind.Directory ? 2UL : 1UL,
        st_ino = (ulong)(uint)path.GetHashCode(StringComparison.Ordinal) | 1,
        st_dev = Device,
        st_blksize = 1024,
        st_size = size,
    }, timeNs);

    /// <summary>Sets a stat's access, change and modification times to <paramref name="ns"/> (since the epoch).</summary>
    internal static Stat Times(Stat st, long ns)
    {
        st.st_atime = st.st_mtime = st.st_ctime = ns / 1_000_000_000;
        st.st_atime_nsec = st.st_mtime_nsec = st.st_ctime_nsec = ns % 1_000_000_000;
        return st;
    }

    private static long ProcessNode(Task caller, PidNamespace ns, ThreadGroup g, Task task, string dir, string[] parts, bool followLast, out ProcNode? node)
    {
        node = null;
        bool thread = dir.Contains("/task/", StringComparison.Ordinal);
        if (parts.Length == 0)
        {
            // A process's own directory (not a thread's) names the process, as a pidfd does for pidfd_send_signal.
            node = new ProcNode(ProcKind.Directory, dir, Entries: () => ProcPid.Entries(thread), Attr: ProcPid.Attr(g, task, dir, Abi.Stat.S_IFDIR | 0x16d),
                Process: thread ? null : g);
            return 0;
        }

        string path = dir + "/" + string.Join('/', parts);
        int mode = ProcPid.Mode(parts[0]);
        if (mode < 0 || (thread && ProcPid.ProcessOnly(parts[0])))
        {
            return -Errno.ENOENT.Value;
        }

        Stat Own(uint type) => ProcPid.Attr(g, task, path, type | (uint)mode);
        switch (parts[0])
        {
            case "fd" when parts.Length == 1:
            case "fdinfo" when parts.Length == 1:
            {
                byte type = parts[0] == "fd" ? DtLnk : DtReg;
                Stat dirAttr = Own(Abi.Stat.S_IFDIR);
                if (parts[0] == "fd")
                {
                    dirAttr.st_size = task.Fds.OpenFds().Count; // proc_fd_getattr: the number of open descriptors
                }

                node = new ProcNode(ProcKind.Directory, path, Attr: dirAttr, Entries: () =>
                {
                    var e = new List<(string, byte)>();
                    foreach (int fd in task.Fds.OpenFds())
                    {
                        e.Add((Num(fd), type));
                    }

                    return e;
                });
                return 0;
            }

            case "fd" when parts.Length == 2:
            case "fdinfo" when parts.Length == 2:
            {
                if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int fd) || task.Fds.Get(fd) is not FileDescription f)
                {
                    return -Errno.ENOENT.Value;
                }

                if (parts[0] == "fdinfo")
                {
                    long pos = f.Seek(0, 1);
                    string info = $"pos:\t{Math.Max(pos, 0)}\nflags:\t0{Convert.ToString(f.StatusFlags | (task.Fds.CloseOnExec(fd, null) == 1 ? OpenFlags.O_CLOEXEC : 0), 8)}\nmnt_id:\t0\n";
                    if (f is PidFd pidfd)
                    {
                        // As pidfd_show_fdinfo: the process's pid, -1 once it is reaped.
                        // In this instance's namespace (0 when the process is outside it); NSpid from there down.
                        int nr = pidfd.Pid < 0 ? -1 : pidfd.Group.Pid.In(ns);
                        info += $"Pid:\t{nr}\nNSpid:\t{(nr <= 0 ? Num(nr) : NsIds(ns, pidfd.Group.Pid))}\n";
                    }

                    if (f is Userfaultfd uffd)
                    {
                        info += uffd.FdInfo();
                    }

                    f.DecRef();
                    node = new ProcNode(ProcKind.File, path, Content: () => LinuxString.Encoding.GetBytes(info));
                    return 0;
                }

                // The link's mode tells how the file is open: r-x for reading, -wx for writing (proc_fd_instantiate);
                // its size is 64 so that readlink(1) and the like ask for enough.
                int acc = f.StatusFlags & (OpenFlags.O_ACCMODE | OpenFlags.O_PATH);
                uint linkMode = acc == OpenFlags.O_RDONLY ? 0x140u : acc == OpenFlags.O_WRONLY ? 0xc0u : acc == OpenFlags.O_RDWR ? 0x1c0u : 0;
                Stat linkAttr = Own(Abi.Stat.S_IFLNK) with { st_mode = Abi.Stat.S_IFLNK | linkMode, st_size = 64 };
                node = new ProcNode(ProcKind.Link, path, Target: FdTarget(caller, f), Fd: f, Attr: linkAttr);
                return 0;
            }

            case "ns" when parts.Length == 1:
                node = new ProcNode(ProcKind.Directory, path, Attr: Own(Abi.Stat.S_IFDIR), Entries: () =>
                {
                    var e = new List<(string, byte)>();
                    foreach (string n in ProcNamespaces.Names)
                    {
                        e.Add((n, DtLnk));
                    }

                    return e;
                });
                return 0;
            case "ns" when parts.Length == 2:
                if (ProcNamespaces.Target(g, task, parts[1], out ulong nsInode) is not string nsTarget)
                {
                    return -Errno.ENOENT.Value;
                }

                // A magic link, as fd links are: following it reaches the namespace's file itself.
                PidNamespace? pidNs = parts[1] switch { "pid" => task.PidNs, "pid_for_children" => task.ChildPidNs, _ => null };
                node = new ProcNode(ProcKind.Link, path, Target: nsTarget, Fd: new NamespaceFile(nsInode) { PidNamespace = pidNs }, Attr: Own(Abi.Stat.S_IFLNK | 0x1ff));
                return 0;
            case "exe" when parts.Length == 1:
                node = new ProcNode(ProcKind.Link, path, Target: g.ExecutablePath, Attr: Own(Abi.Stat.S_IFLNK));
                return 0;
            case "cwd" when parts.Length == 1:
                node = new ProcNode(ProcKind.Link, path, Target: g.Cwd, Attr: Own(Abi.Stat.S_IFLNK));
                return 0;
            case "root" when parts.Length == 1:
                node = new ProcNode(ProcKind.Link, path, Target: g.Root, Attr: Own(Abi.Stat.S_IFLNK));
                return 0;
            case "net":
            {
                // The caller's network's files (the sandbox has one network), owned by root but for the directory.
                long r = ProcNet.Lookup(caller, parts, path, out node);
                if (r == 0)
                {
                    node = node! with { Attr = parts.Length == 1 ? Own(Abi.Stat.S_IFDIR) : NodeAttr(path, node!.Kind, ProcPid.StartedAt(task)) };
                }

                return r;
            }

            case "attr" when parts.Length == 1:
                node = new ProcNode(ProcKind.Directory, path, Attr: Own(Abi.Stat.S_IFDIR), Entries: ProcPid.AttrEntries);
                return 0;
            case "attr" when parts.Length == 2:
            {
                int attrMode = ProcPid.AttrMode(parts[1]);
                if (attrMode < 0)
                {
                    return -Errno.ENOENT.Value;
                }

                Stat attrStat = ProcPid.Attr(g, task, path, Abi.Stat.S_IFREG | (uint)attrMode);
                node = new ProcNode(ProcKind.File, path, Attr: attrStat, Open: flags => new ProcAttrFile(task, path, attrStat, flags));
                return 0;
            }

            case "syscall" when parts.Length == 1:
            {
                // lock_trace: reading needs ptrace-attach access (EPERM), after the mode bits let the file open.
                Stat syscallStat = Own(Abi.Stat.S_IFREG);
                node = new ProcNode(ProcKind.File, path, Attr: syscallStat, Open: flags => new ProcCheckedFile(path, syscallStat, flags,
                    reader => PtraceAccess.MayRead(reader, task, fsCreds: true) ? Errno.None : Errno.EPERM,
                    () => Encoding.ASCII.GetBytes(ProcPid.Syscall(task))));
                return 0;
            }
        }

        if (parts.Length != 1 || (mode & 0xfff) == 0x1ff)
        {
            return -Errno.ENOENT.Value; // below a file, or a link handled above only in its own form
        }

        string name = parts[0];
        if (name is "task" or "fd" or "fdinfo" or "ns" or "net" or "attr")
        {
            return -Errno.ENOENT.Value;
        }

        Kernel.Kernel k = caller.Kernel;
        Func<Task, bool>? mayOpen = ProcPid.NeedsPtraceAccess(name) ? c => PtraceAccess.MayRead(c, task, fsCreds: true) : null;
        Mm.MemoryManager mm = task.MM;
        node = name == "auxv"
            ? new ProcNode(ProcKind.File, path, Content: () => task.MM.SavedAuxv, Attr: Own(Abi.Stat.S_IFREG), MayOpen: mayOpen)
            : name == "mem"
            ? new ProcNode(ProcKind.File, path, Attr: Own(Abi.Stat.S_IFREG), MayOpen: mayOpen, Open: flags => new ProcMem(k, mm, path, Own(Abi.Stat.S_IFREG), flags))
            : new ProcNode(ProcKind.File, path, Attr: Own(Abi.Stat.S_IFREG), Write: ProcPid.Writer(g, task, name), MayOpen: mayOpen, Content: () =>
                LinuxString.Encoding.GetBytes(ProcPid.Content(k, g, task, thread, name) ?? ProcessFile(caller, ns, g, task, name)));
        return 0;
    }

    // The kernel names a file by where it was reached (d_path): a path opened through a symlinked directory
    // (/lib -> usr/lib) shows the real one.
    private static string FdTarget(Task caller, FileDescription f) => f switch
    {
        PipeEnd p => $"pipe:[{p.Pipe.Inode}]",
        UnixSocket u => $"socket:[{u.Inode}]",
        EventFd => "anon_inode:[eventfd]",
        EpollInstance => "anon_inode:[eventpoll]",
        PidFd => "anon_inode:[pidfd]",
        Userfaultfd => "anon_inode:[userfaultfd]",
        HostFileDescription h when f.Path == null => Host.HostPath.FdPath(h.HostFd, out _) ?? "anon_inode:[unknown]",
        { Unlinked: true } => f.Path + " (deleted)",
        { Path: ['/', ..] } => ResolvedName(caller, f),
        _ => f.Path ?? "anon_inode:[unknown]",
    };

    // The description's name with the links on the way resolved; an O_PATH description of a symlink names the
    // link itself, not its target.
    private static string ResolvedName(Task caller, FileDescription f)
    {
        string path = f.Path!;
        int cut = path.LastIndexOf('/');
        if ((f.StatusFlags & OpenFlags.O_PATH) == 0 || cut <= 0 || f.Stat(out Abi.Stat st) < 0 || (st.st_mode & Abi.Stat.S_IFMT) != Abi.Stat.S_IFLNK)
        {
            return PathOps.ResolveLinks(caller, path);
        }

        string dir = PathOps.ResolveLinks(caller, path[..cut]);
        return (dir.Length == 1 ? string.Empty : dir) + path[cut..];
    }

    private static string ProcessFile(Task caller, PidNamespace ns, ThreadGroup g, Task task, string name)
    {
        MemoryManager mm = task.MM;
        switch (name)
        {
            case "cmdline":
                return ReadRange(mm, mm.ArgStart, mm.ArgEnd);
            case "environ":
                return ReadRange(mm, mm.EnvStart, mm.EnvEnd);
            case "comm":
                return task.Comm + "\n";
            case "maps":
                return ProcMaps.Maps(caller, mm);
            case "smaps":
                return ProcMaps.Smaps(caller, mm);
            case "smaps_rollup":
                return ProcMaps.SmapsRollup(mm);
            case "mounts":
                return ProcMounts.Mounts(g.Mounts, g.Root);
            case "mountinfo":
                return ProcMounts.MountInfo(g.Mounts, g.Root);
            case "mountstats":
                return ProcMounts.MountStats(g.Mounts, g.Root);
            case "timers":
                return ProcPid.Timers(caller.Kernel, ns, g);
            case "limits":
                return Limits(g);
            case "cgroup":
                return "0::/\n"; // the root of the sandbox's one cgroup v2, as in a container's cgroup namespace
            case "statm":
            {
                ulong pages = mm.MappedBytes / Mman.PageSize;
                ulong rss = mm.ResidentBytes() / Mman.PageSize;
                return $"{pages} {rss} 0 0 0 0 0\n";
            }

            case "stat":
                return Stat(caller.Kernel, ns, g, task);
            default:
                return Status(caller.Kernel, ns, g, task);
        }
    }

    private static string ReadRange(MemoryManager mm, ulong start, ulong end)
    {
        if (end <= start || end - start > 1 << 20)
        {
            return string.Empty;
        }

        byte[] b = new byte[end - start];
        return mm.CopyIn(start, b) < 0 ? string.Empty : LinuxString.Encoding.GetString(b);
    }

    private static string Limits(ThreadGroup g)
    {
        (string Name, string Unit)[] names =
        [
            ("Max cpu time", "seconds"), ("Max file size", "bytes"), ("Max data size", "bytes"), ("Max stack size", "bytes"),
            ("Max core file size", "bytes"), ("Max resident set", "bytes"), ("Max processes", "processes"), ("Max open files", "files"),
            ("Max locked memory", "bytes"), ("Max address space", "bytes"), ("Max file locks", "locks"), ("Max pending signals", "signals"),
            ("Max msgqueue size", "bytes"), ("Max nice priority", string.Empty), ("Max realtime priority", string.Empty), ("Max realtime timeout", "us"),
        ];
        var sb = new StringBuilder("Limit                     Soft Limit           Hard Limit           Units     \n");
        for (int i = 0; i < names.Length; i++)
        {
            Rlimit l = g.Limit(i);
            string V(ulong v) => v == Rlimit.RLIM_INFINITY ? "unlimited" : v.ToString(CultureInfo.InvariantCulture);
            sb.Append(names[i].Name.PadRight(26)).Append(V(l.rlim_cur).PadRight(21)).Append(V(l.rlim_max).PadRight(21)).Append(names[i].Unit.PadRight(10)).Append('\n');
        }

        return sb.ToString();
    }

    private static string Status(Kernel.Kernel k, PidNamespace ns, ThreadGroup g, Task task)
    {
        int ppid;
        int threads;
        int tracerPid;
        bool traced;
        string nsPgid, nsSid;
        lock (k.TreeMu)
        {
            ppid = g.Parent?.Pid.In(ns) ?? 0;
            threads = g.Tasks.Count;
            tracerPid = task.Tracer?.Group.Pid.In(ns) ?? 0;
            traced = task.PtraceStoppedLocked;
            nsPgid = NsGroupIds(k, ns, g.Pid, g.ProcessGroup);
            nsSid = NsGroupIds(k, ns, g.Pid, g.Session);
        }

        Credentials c = task.Credentials;
        ulong vm = task.MM.MappedBytes / 1024;
        ulong rss = task.MM.ResidentBytes() / 1024;
        ulong lck = task.MM.LockedBytes / 1024;
        ulong ignored = 0;
        ulong caught = 0;
        for (int s = 1; s < g.SignalActions.Length; s++)
        {
            ulong h = g.SignalActions[s].Handler;
            if (h == SignalAction.SIG_IGN)
            {
                ignored |= 1UL << (s - 1);
            }
            else if (h != SignalAction.SIG_DFL)
            {
                caught |= 1UL << (s - 1);
            }
        }

        return $"""
            Name:	{task.Comm}
            Umask:	{Convert.ToString(g.Umask, 8).PadLeft(4, '0')}
            State:	{(traced ? "t (tracing stop)" : g.StopSignal != 0 ? "T (stopped)" : "R (running)")}
            Tgid:	{g.Pid.In(ns)}
            Ngid:	0
            Pid:	{task.Pid.In(ns)}
            PPid:	{ppid}
            TracerPid:	{tracerPid}
            Uid:	{c.RealUid}	{c.EffectiveUid}	{c.SavedUid}	{c.EffectiveUid}
            Gid:	{c.RealGid}	{c.EffectiveGid}	{c.SavedGid}	{c.EffectiveGid}
            FDSize:	64
            Groups:	
            NStgid:	{NsIds(ns, g.Pid)}
            NSpid:	{NsIds(ns, task.Pid)}
            NSpgid:	{nsPgid}
            NSsid:	{nsSid}
            VmPeak:	{vm} kB
            VmSize:	{vm} kB
            VmLck:	{lck} kB
            VmRSS:	{rss} kB
            CoreDumping:	0
            THP_enabled:	{(task.MM.ThpDisable == 1 ? 0 : 1)}
            untag_mask:	0xffffffffffffffff
            Threads:	{threads}
            SigQ:	0/63704
            SigPnd:	{task.PendingSignals:x16}
            ShdPnd:	0000000000000000
            SigBlk:	{task.SignalMask:x16}
            SigIgn:	{ignored:x16}
            SigCgt:	{caught:x16}
            CapInh:	{c.CapInheritable:x16}
            CapPrm:	{c.CapPermitted:x16}
            CapEff:	{c.CapEffective:x16}
            CapBnd:	{c.CapBounding:x16}
            CapAmb:	{c.CapAmbient:x16}
            NoNewPrivs:	{(task.NoNewPrivs ? 1 : 0)}
            Seccomp:	{task.SeccompMode}
            Seccomp_filters:	{task.Seccomp?.Count ?? 0}
            Cpus_allowed:	{Sys.SysFs.Mask(Environment.ProcessorCount, 0, Environment.ProcessorCount - 1).TrimEnd('\n')}
            Cpus_allowed_list:	{Sys.SysFs.CpuList(Environment.ProcessorCount).TrimEnd('\n')}
            Mems_allowed:	{s_memsAllowed}
            Mems_allowed_list:	0

            """;
    }

    // One NUMA node, in a mask as wide as Debian's kernel has nodes (MAX_NUMNODES 1024: 32 words).
    private static readonly string s_memsAllowed = string.Concat(System.Linq.Enumerable.Repeat("00000000,", 31)) + "00000001";

    private static string Stat(Kernel.Kernel k, PidNamespace ns, ThreadGroup g, Task task)
    {
        int ppid;
        int threads;
        int tracerPid;
        bool traced;
        int pgrp, session;
        lock (k.TreeMu)
        {
            ppid = g.Parent?.Pid.In(ns) ?? 0;
            threads = g.Tasks.Count;
            tracerPid = task.Tracer?.Group.Pid.In(ns) ?? 0;
            traced = task.PtraceStoppedLocked;
            pgrp = k.IdInLocked(ns, g.ProcessGroup);
            session = k.IdInLocked(ns, g.Session);
        }

        ulong vsize = task.MM.MappedBytes;
        ulong rss = task.MM.ResidentBytes() / Mman.PageSize;
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime
        // cstime priority nice threads itreal starttime vsize rss rsslim ... (52 fields; unknown ones are 0).
        // priority is the kernel's prio - 100: 20 + nice for the fair policies, -1 - rt_priority for real time.
        SchedAttr sched = task.Sched;
        int priority = SchedAttr.IsRealTime(sched.Policy) ? -1 - sched.RtPriority : 20 + sched.Nice;
        var sb = new StringBuilder();
        sb.Append(task.Pid.In(ns)).Append(" (").Append(task.Comm).Append(g.StopSignal != 0 ? ") T " : ") R ").Append(ppid).Append(' ').Append(pgrp).Append(' ').Append(session);
        sb.Append(" 0 -1 4194560 0 0 0 0 0 0 0 0 ").Append(priority).Append(' ').Append(sched.Nice).Append(' ').Append(threads).Append(" 0 ").Append((task.StartTicks - k.BootTicks) / 10).Append(' ').Append(vsize).Append(' ').Append(rss);
        sb.Append(" 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 ").Append(sched.RtPriority).Append(' ').Append(sched.Policy);
        sb.Append(" 0 0 0 0 0 0 0 0 0 0 0\n");
        return sb.ToString();
    }

    private static long SystemNode(Task t, string[] parts, out ProcNode? node)
    {
        node = null;
        string path = "/proc/" + string.Join('/', parts);
        if (parts[0] == "sysvipc")
        {
            return ProcSysvipc.Lookup(t, parts, path, out node);
        }
        if (parts.Length == 1 && Array.IndexOf(s_systemFiles, parts[0]) >= 0)
        {
            string name = parts[0];
            node = new ProcNode(ProcKind.File, path, Content: () => LinuxString.Encoding.GetBytes(SystemFile(t, name)));
            return 0;
        }

        string? value = path switch
        {
            "/proc/sys/kernel/hostname" => t.Kernel.Hostname + "\n",
            "/proc/sys/kernel/domainname" => t.Kernel.Domainname + "\n",
            "/proc/sys/kernel/osrelease" => SysIdentity.Release + "\n",
            "/proc/sys/kernel/ostype" => "Linux\n",
            "/proc/sys/kernel/version" => SysIdentity.Version + "\n",
            "/proc/sys/kernel/pid_max" => "4194304\n",
            "/proc/sys/kernel/ngroups_max" => "65536\n",
            "/proc/sys/kernel/cap_last_cap" => "40\n",
            "/proc/sys/vm/overcommit_memory" => "0\n",
            "/proc/sys/vm/max_map_count" => "65530\n",
            "/proc/sys/vm/unprivileged_userfaultfd" => "0\n",
            "/proc/sys/fs/nr_open" => "1048576\n",
            "/proc/sys/fs/aio-nr" => t.Kernel.Aio.Nr + "\n",
            "/proc/sys/fs/aio-max-nr" => t.Kernel.Aio.MaxNr + "\n",
            "/proc/sys/fs/pipe-max-size" => "1048576\n",
            "/proc/sys/fs/mqueue/msg_max" => t.Kernel.Ipc.Mq.MsgMax + "\n",
            "/proc/sys/fs/mqueue/msgsize_max" => t.Kernel.Ipc.Mq.MsgSizeMax + "\n",
            "/proc/sys/fs/mqueue/msg_default" => t.Kernel.Ipc.Mq.MsgDefault + "\n",
            "/proc/sys/fs/mqueue/msgsize_default" => t.Kernel.Ipc.Mq.MsgSizeDefault + "\n",
            "/proc/sys/fs/mqueue/queues_max" => t.Kernel.Ipc.Mq.QueuesMax + "\n",
            "/proc/sys/kernel/random/boot_id" => t.Kernel.BootId + "\n",
            "/proc/sys/net/core/somaxconn" => TcpEndpoint.MaxBacklog + "\n",
            "/proc/sys/net/ipv4/tcp_rmem" => $"4096\t{TcpEndpoint.DefaultReceiveBuffer}\t{TcpEndpoint.MaxReceiveBuffer}\n",
            "/proc/sys/net/ipv4/tcp_wmem" => $"4096\t{TcpEndpoint.DefaultSendBuffer}\t{TcpEndpoint.MaxSendBuffer}\n",
            "/proc/sys/net/ipv4/ip_local_port_range" => $"{NetworkStack.EphemeralLow}\t{NetworkStack.EphemeralHigh}\n",
            _ => null,
        };
        if (value != null)
        {
            node = new ProcNode(ProcKind.File, path, Content: () => LinuxString.Encoding.GetBytes(value));
            return 0;
        }

        string[][] dirs = [["sys"], ["sys", "kernel"], ["sys", "vm"], ["sys", "fs"], ["sys", "fs", "mqueue"], ["sys", "kernel", "random"], ["sys", "net"], ["sys", "net", "core"], ["sys", "net", "ipv4"]];
        foreach (string[] d in dirs)
        {
            if (parts.AsSpan().SequenceEqual(d))
            {
                node = new ProcNode(ProcKind.Directory, path, Entries: () => SysEntries(path));
                return 0;
            }
        }

        return -Errno.ENOENT.Value;
    }

    private static List<(string, byte)> SysEntries(string path) => path switch
    {
        "/proc/sys" => [("fs", DtDir), ("kernel", DtDir), ("net", DtDir), ("vm", DtDir)],
        "/proc/sys/net" => [("core", DtDir), ("ipv4", DtDir)],
        "/proc/sys/net/core" => [("somaxconn", DtReg)],
        "/proc/sys/net/ipv4" => [("ip_local_port_range", DtReg), ("tcp_rmem", DtReg), ("tcp_wmem", DtReg)],
        "/proc/sys/kernel" => [("cap_last_cap", DtReg), ("domainname", DtReg), ("hostname", DtReg), ("ngroups_max", DtReg), ("osrelease", DtReg), ("ostype", DtReg), ("pid_max", DtReg), ("random", DtDir), ("version", DtReg)],
        "/proc/sys/vm" => [("max_map_count", DtReg), ("overcommit_memory", DtReg), ("unprivileged_userfaultfd", DtReg)],
        "/proc/sys/fs" => [("aio-max-nr", DtReg), ("aio-nr", DtReg), ("mqueue", DtDir), ("nr_open", DtReg), ("pipe-max-size", DtReg)],
        "/proc/sys/fs/mqueue" => [("msg_default", DtReg), ("msg_max", DtReg), ("msgsize_default", DtReg), ("msgsize_max", DtReg), ("queues_max", DtReg)],
        _ => [("boot_id", DtReg)],
    };

    private static unsafe string SystemFile(Task t, string name)
    {
        switch (name)
        {
            case "cpuinfo":
            {
                // The host's CPU description, read through the gofer like any host file.
                using Host.SafeFdHandle? fd = t.Kernel.Files.Open("/proc/cpuinfo", 0, out _);
                if (fd == null)
                {
                    return string.Empty;
                }

                var sb = new StringBuilder();
                byte[] buf = new byte[65536];
                long off = 0;
                while (true)
                {
                    long n;
                    fixed (byte* p = buf)
                    {
                        n = Host.HostFile.PRead(fd.Fd, p, (ulong)buf.Length, off);
                    }

                    if (n <= 0)
                    {
                        break;
                    }

                    sb.Append(LinuxString.Encoding.GetString(buf, 0, (int)n));
                    off += n;
                }

                return sb.ToString();
            }

            case "meminfo":
            {
                (ulong total, ulong free, ulong buffers) = SandboxMemoryKb(t);
                return $"MemTotal:       {total,8} kB\nMemFree:        {free,8} kB\nMemAvailable:   {free,8} kB\nBuffers:        {buffers,8} kB\nCached:                0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n";
            }

            case "vmstat":
            {
                // The counters the sandbox's kernel can tell: free pages as meminfo's MemFree; no block device and
                // no swap inside, so nothing was paged in or out. procps' vmstat needs the file to start.
                ulong freeKb = SandboxMemoryKb(t).Free;
                return $"nr_free_pages {freeKb / 4}\npgpgin 0\npgpgout 0\npswpin 0\npswpout 0\n";
            }

            case "uptime":
            {
                double up = (Environment.TickCount64 - t.Kernel.BootTicks) / 1000.0;
                return string.Create(CultureInfo.InvariantCulture, $"{up:F2} {up * Environment.ProcessorCount:F2}\n");
            }

            case "loadavg":
                return $"0.00 0.00 0.00 1/{t.Kernel.LiveGroups().Count} {t.Kernel.LastPid}\n";
            case "stat":
            {
                var sb = new StringBuilder("cpu  0 0 0 0 0 0 0 0 0 0\n");
                for (int i = 0; i < Environment.ProcessorCount; i++)
                {
                    sb.Append("cpu").Append(i).Append(" 0 0 0 0 0 0 0 0 0 0\n");
                }

                long boot = t.Kernel.BootRealtimeNs / 1_000_000_000;
                sb.Append("ctxt 0\nbtime ").Append(boot).Append("\nprocesses ").Append(t.Kernel.LastPid).Append("\nprocs_running 1\nprocs_blocked 0\n");
                return sb.ToString();
            }

            case "version":
                return $"Linux version {SysIdentity.Release} (moat) {SysIdentity.Version}\n";
            case "filesystems":
                return "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tcgroup2\nnodev\tdevpts\nnodev\tmqueue\nnodev\toverlay\n";
            case "cgroups":
                // cgroup v2 only: every controller on hierarchy 0, one group (CgroupFs.Controllers).
                return "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t0\t1\t1\ncpu\t0\t1\t1\nmemory\t0\t1\t1\npids\t0\t1\t1\n";
            default:
                return ProcMounts.Mounts(t.Group.Mounts, t.Group.Root);
        }
    }

    // The memory the sandbox shows in KiB: the machine's, or with a memory limit a machine of that size (as gVisor
    // and LXCFS show it).
    private static (ulong Total, ulong Free, ulong Buffers) SandboxMemoryKb(Task t)
    {
        MemoryKb(out ulong total, out ulong free, out ulong buffers);
        ulong limitKb = t.Kernel.MemoryFile.Limit / 1024;
        if (limitKb != 0 && limitKb < total)
        {
            ulong usedKb = t.Kernel.MemoryFile.UsageBytes / 1024;
            return (limitKb, usedKb < limitKb ? limitKb - usedKb : 0, 0);
        }

        return (total, free, buffers);
    }

    /// <summary>The machine's memory in KiB, as sysinfo(2) reports it: total, free and buffers.</summary>
    internal static unsafe void MemoryKb(out ulong total, out ulong free, out ulong buffers)
    {
        Span<byte> info = stackalloc byte[112];
        fixed (byte* p = info)
        {
            Host.HostProcess.Syscall(Sysno.sysinfo, (long)p);
        }

        ulong unit = BitConverter.ToUInt32(info[104..]);
        total = BitConverter.ToUInt64(info[32..]) * unit / 1024;
        free = BitConverter.ToUInt64(info[40..]) * unit / 1024;
        buffers = BitConverter.ToUInt64(info[56..]) * unit / 1024;
    }

    // The ids of a task from the instance's namespace down to the task's own (/proc/PID/status's NSpid), tab-separated.
    private static string NsIds(PidNamespace ns, Pid pid)
    {
        var sb = new StringBuilder();
        for (int level = ns.Level; level <= pid.Namespace.Level; level++)
        {
            sb.Append(level == ns.Level ? string.Empty : "\t").Append(pid.AtLevel(level));
        }

        return sb.ToString();
    }

    // A process group's or session's id in each namespace of the task's chain from the instance's down (NSpgid,
    // NSsid): 0 where it is not visible. Preconditions: TreeMu is held.
    private static string NsGroupIds(Kernel.Kernel k, PidNamespace ns, Pid task, int global)
    {
        var sb = new StringBuilder();
        for (int level = ns.Level; level <= task.Namespace.Level; level++)
        {
            sb.Append(level == ns.Level ? string.Empty : "\t").Append(k.IdInLocked(task.Namespace.AncestorAt(level), global));
        }

        return sb.ToString();
    }

    private static List<(string, byte)> RootEntries(Task t, PidNamespace ns)
    {
        var e = new List<(string, byte)> { ("self", DtLnk), ("thread-self", DtLnk), ("sys", DtDir), ("net", DtLnk), ("sysvipc", DtDir) };
        foreach (string f in s_systemFiles)
        {
            e.Add((f, DtReg));
        }

        foreach (ThreadGroup g in t.Kernel.LiveGroups())
        {
            int pid = g.Pid.In(ns);
            if (pid != 0)
            {
                e.Add((Num(pid), DtDir));
            }
        }

        return e;
    }

    private static List<(string, byte)> TaskEntries(Kernel.Kernel k, PidNamespace ns, ThreadGroup g)
    {
        var e = new List<(string, byte)>();
        lock (k.TreeMu)
        {
            foreach (Task t in g.Tasks)
            {
                e.Add((Num(t.Pid.In(ns)), DtDir));
            }
        }

        return e;
    }

    private static Task? Leader(Kernel.Kernel k, ThreadGroup g)
    {
        lock (k.TreeMu)
        {
            if (g.Zombie || g.Tasks.Count == 0)
            {
                return null;
            }

            foreach (Task t in g.Tasks)
            {
                if (t.Tid == g.Tgid)
                {
                    return t;
                }
            }

            return g.Tasks[0];
        }
    }

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}
