using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// The entries of a /proc/PID (and /proc/PID/task/TID) directory as Linux's tgid_base_stuff lists them, each with
/// its mode and, for the writable ones, what a write does. A process's entries belong to its effective uid and gid
/// while it is dumpable, to root otherwise (task_dump_owner), so the mode bits decide who may open them.
/// </summary>
internal static class ProcPid
{
    private const byte DtDir = 4;
    private const byte DtReg = 8;
    private const byte DtLnk = 10;

    /// <summary>Name, directory-entry type and permission bits, in Linux's order.</summary>
    private static readonly (string Name, byte Type, uint Mode)[] s_entries =
    [
        ("task", DtDir, 0x16d /* 0555 */), ("fd", DtDir, 0x140 /* 0500 */), ("fdinfo", DtDir, 0x16d), ("ns", DtDir, 0x149 /* 0511 */),
        ("environ", DtReg, 0x100 /* 0400 */), ("auxv", DtReg, 0x100), ("status", DtReg, 0x124 /* 0444 */),
        ("personality", DtReg, 0x100), ("limits", DtReg, 0x124), ("comm", DtReg, 0x1a4 /* 0644 */), ("cmdline", DtReg, 0x124),
        ("stat", DtReg, 0x124), ("statm", DtReg, 0x124), ("maps", DtReg, 0x124), ("mem", DtReg, 0x180 /* 0600 */), ("cwd", DtLnk, 0x1ff),
        ("root", DtLnk, 0x1ff), ("exe", DtLnk, 0x1ff), ("mounts", DtReg, 0x124), ("mountinfo", DtReg, 0x124), ("smaps", DtReg, 0x124),
        ("smaps_rollup", DtReg, 0x124), ("wchan", DtReg, 0x124),
        ("schedstat", DtReg, 0x124), ("cpuset", DtReg, 0x124), ("cgroup", DtReg, 0x124), ("oom_score", DtReg, 0x124),
        ("oom_adj", DtReg, 0x1a4), ("oom_score_adj", DtReg, 0x1a4), ("loginuid", DtReg, 0x1a4), ("sessionid", DtReg, 0x124),
        ("coredump_filter", DtReg, 0x1a4), ("io", DtReg, 0x100), ("uid_map", DtReg, 0x1a4), ("gid_map", DtReg, 0x1a4),
        ("setgroups", DtReg, 0x1a4), ("timerslack_ns", DtReg, 0x1b6 /* 0666 */),
        ("net", DtDir, 0x16d), ("attr", DtDir, 0x16d), ("syscall", DtReg, 0x100), ("mountstats", DtReg, 0x100),
        ("timers", DtReg, 0x124), ("timens_offsets", DtReg, 0x1a4), ("projid_map", DtReg, 0x1a4), ("ksm_merging_pages", DtReg, 0x100),
    ];

    /// <summary>The files of a /proc/PID/attr directory and their modes (a kernel without an LSM lists only these).</summary>
    private static readonly (string Name, uint Mode)[] s_attrEntries =
    [
        ("current", 0x1b6), ("prev", 0x124), ("exec", 0x1b6), ("fscreate", 0x1b6), ("keycreate", 0x1b6), ("sockcreate", 0x1b6),
    ];

    /// <summary>Whether entry <paramref name="name"/> is a process's only: a thread's directory (tid_base_stuff) lacks it.</summary>
    public static bool ProcessOnly(string name) =>
        name is "task" or "coredump_filter" or "mountstats" or "timers" or "timens_offsets" or "timerslack_ns";

    /// <summary>The directory's entries; a thread's directory lacks the process-wide ones (<see cref="ProcessOnly"/>).</summary>
    public static List<(string Name, byte Type)> Entries(bool thread)
    {
        var e = new List<(string, byte)>(s_entries.Length);
        foreach ((string name, byte type, _) in s_entries)
        {
            if (!(thread && ProcessOnly(name)))
            {
                e.Add((name, type));
            }
        }

        return e;
    }

    /// <summary>The entries of a /proc/PID/attr directory.</summary>
    public static List<(string Name, byte Type)> AttrEntries()
    {
        var e = new List<(string, byte)>(s_attrEntries.Length);
        foreach ((string name, _) in s_attrEntries)
        {
            e.Add((name, DtReg));
        }

        return e;
    }

    /// <summary>The permission bits of /proc/PID/attr/<paramref name="name"/>, or -1 when there is no such file.</summary>
    public static int AttrMode(string name)
    {
        foreach ((string n, uint mode) in s_attrEntries)
        {
            if (n == name)
            {
                return (int)mode;
            }
        }

        return -1;
    }

    /// <summary>The permission bits of entry <paramref name="name"/>, or -1 when the directory has no such entry.</summary>
    public static int Mode(string name)
    {
        foreach ((string n, _, uint mode) in s_entries)
        {
            if (n == name)
            {
                return (int)mode;
            }
        }

        return -1;
    }

    /// <summary>The stat of a process's node at <paramref name="path"/>: its type and mode, owned as task_dump_owner says.</summary>
    public static Stat Attr(ThreadGroup g, Task task, string path, uint typeAndMode)
    {
        // A 0555 directory keeps the effective ids even when the process is not dumpable: tools stat /proc/PID
        // for its owner (task_dump_owner).
        Credentials c = task.Credentials;
        bool dumpable = g.Dumpable || typeAndMode == (Stat.S_IFDIR | 0x16d);
        bool dir = (typeAndMode & Stat.S_IFMT) == Stat.S_IFDIR;
        return ProcFs.Times(new Stat
        {
            st_mode = typeAndMode,
            st_nlink = dir ? 2UL : 1UL,
            st_uid = dumpable ? c.EffectiveUid : 0,
            st_gid = dumpable ? c.EffectiveGid : 0,
            st_ino = (ulong)(uint)path.GetHashCode(StringComparison.Ordinal) | 1,
            st_dev = ProcFs.Device,
            st_blksize = 1024,
        }, StartedAt(task));
    }

    /// <summary>
    /// The time a process's /proc entries show (ns since the epoch): Linux stamps a proc inode when it is made, at
    /// the first look, which for a process is close to its start; the Sentry uses the task's start, so two stats agree.
    /// </summary>
    public static long StartedAt(Task task) => task.Kernel.RealtimeNsAt(task.StartTicks);

    /// <summary>Whether opening entry <paramref name="name"/> also needs ptrace read access to the process (mm_access).</summary>
    public static bool NeedsPtraceAccess(string name) => name is "environ" or "auxv" or "maps" or "io" or "personality" or "mem" or "smaps" or "smaps_rollup" or "timers";

    /// <summary>The content of the files this class adds; null for the others (ProcFs serves them).</summary>
    public static string? Content(Kernel.Kernel k, ThreadGroup g, Task task, bool thread, string name) => name switch
    {
        "personality" => task.Personality.ToString("x8", CultureInfo.InvariantCulture) + "\n",
        "wchan" => "0", // no kernel symbol to name: what Linux shows without kallsyms access
        "schedstat" => $"{CpuClocks.ThreadRuntimeNs(task)} 0 0\n",
        "cpuset" => "/\n",
        "oom_score" => OomScore(k, g, task).ToString(CultureInfo.InvariantCulture) + "\n",
        "oom_adj" => OomAdj(k, g).ToString(CultureInfo.InvariantCulture) + "\n",
        "oom_score_adj" => OomScoreAdj(k, g).ToString(CultureInfo.InvariantCulture) + "\n",
        "loginuid" => "4294967295", // AUDIT_UID_UNSET: nobody logged in to the sandbox
        "sessionid" => "4294967295",
        "coredump_filter" => task.MM.CoredumpFilter.ToString("x8", CultureInfo.InvariantCulture) + "\n",
        "io" => Io(k, g, task, thread),
        "uid_map" or "gid_map" or "projid_map" => "         0          0 4294967295\n", // the sandbox's ids are its own, all of them
        "timens_offsets" => "monotonic           0         0\nboottime            0         0\n", // no time namespace but the first
        "ksm_merging_pages" => "0\n", // the Sentry never merges pages (nor does Linux while ksmd is off, its default)
        "setgroups" => "allow\n",
        "timerslack_ns" => task.Prctl.TimerSlackNs.ToString(CultureInfo.InvariantCulture) + "\n",
        _ => null,
    };

    /// <summary>What a write to entry <paramref name="name"/> of <paramref name="task"/> does; null where it is refused at open.</summary>
    public static Func<Task, byte[], long>? Writer(ThreadGroup g, Task task, string name) => name switch
    {
        "comm" => (caller, b) => WriteComm(caller, task, b),
        "oom_score_adj" => (caller, b) => WriteOomScoreAdj(caller, g, b, legacy: false),
        "oom_adj" => (caller, b) => WriteOomScoreAdj(caller, g, b, legacy: true),
        "coredump_filter" => (_, b) => WriteCoredumpFilter(task, b),
        "timerslack_ns" => (caller, b) => WriteTimerSlack(caller, task, b),
        // The map is written (the sandbox's user namespace is set up), so uid_map, gid_map and setgroups are EPERM
        // as in Linux; loginuid needs CAP_AUDIT_CONTROL in the initial user namespace, which the sandbox never has.
        "uid_map" or "gid_map" or "projid_map" or "setgroups" or "loginuid" => (_, _) => -Errno.EPERM.Value,
        "timens_offsets" => (caller, b) => WriteTimensOffsets(caller, b),
        _ => null,
    };

    /// <summary>
    /// /proc/PID/syscall as proc_pid_syscall writes it: "running" while the task runs application code, else the
    /// number of the call it is in, its six arguments, its stack pointer and its instruction pointer. A task reading
    /// its own file is in that read.
    /// </summary>
    public static string Syscall(Task task)
    {
        int nr = task.SyscallInProgress;
        if (nr < 0)
        {
            return "running\n";
        }

        // The registers of a task in a call stay as they were at its entry until it returns.
        PtraceRegs r = task.Registers;
        return string.Create(CultureInfo.InvariantCulture,
            $"{nr} 0x{r.rdi:x} 0x{r.rsi:x} 0x{r.rdx:x} 0x{r.r10:x} 0x{r.r8:x} 0x{r.r9:x} 0x{r.rsp:x} 0x{r.rip:x}\n");
    }

    /// <summary>
    /// /proc/PID/timers (show_timer): each POSIX timer of the process, the newest first: its id, signal and
    /// sigev_value, how it notifies (signal or none, to the process or a thread, by id in the reader's namespace)
    /// and its clock.
    /// </summary>
    public static string Timers(Kernel.Kernel k, PidNamespace ns, ThreadGroup g)
    {
        var timers = new List<(int Id, int Clock, TimerNotify Notify)>();
        lock (g.TimersMu)
        {
            foreach (KeyValuePair<int, (IArmedTimer Timer, int Clock, TimerNotify Notify)> e in g.PosixTimers)
            {
                timers.Add((e.Key, e.Value.Clock, e.Value.Notify));
            }
        }

        timers.Sort((a, b) => b.Id.CompareTo(a.Id));
        var sb = new StringBuilder();
        foreach ((int id, int clock, TimerNotify n) in timers)
        {
            const int SigevThreadId = 4;
            int target;
            lock (k.TreeMu)
            {
                target = k.IdInLocked(ns, n.Target);
            }

            string how = (n.Notify & ~SigevThreadId) == 1 ? "none" : "signal";
            sb.Append(CultureInfo.InvariantCulture, $"ID: {id}\nsignal: {n.Signo}/{n.Value:x16}\nnotify: {how}/{((n.Notify & SigevThreadId) != 0 ? "tid" : "pid")}.{target}\nClockID: {clock}\n");
        }

        return sb.ToString();
    }

    private static string Io(Kernel.Kernel k, ThreadGroup g, Task task, bool thread)
    {
        IoAccounting io = task.Io;
        if (!thread)
        {
            lock (k.TreeMu)
            {
                io = g.ExitedIo;
                foreach (Task t in g.Tasks)
                {
                    io.Add(t.Io);
                }
            }
        }

        // Bytes fetched from or sent to a block device: the sandbox's files are not on one it sees.
        return $"rchar: {io.ReadChars}\nwchar: {io.WriteChars}\nsyscr: {io.ReadCalls}\nsyscw: {io.WriteCalls}\n" +
            "read_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n";
    }

    private static int OomScoreAdj(Kernel.Kernel k, ThreadGroup g)
    {
        lock (k.TreeMu)
        {
            return g.OomScoreAdj;
        }
    }

    // The legacy scale: -17..15, 15 for the maximum (proc_oom_adj_read).
    private static int OomAdj(Kernel.Kernel k, ThreadGroup g)
    {
        int adj = OomScoreAdj(k, g);
        return adj == 1000 ? 15 : adj * 17 / 1000;
    }

    // proc_oom_score: the badness (resident pages plus the adjustment scaled to the machine's pages) in [0, 2000]
    // scaled by 2/3; 0 for OOM_SCORE_ADJ_MIN.
    private static long OomScore(Kernel.Kernel k, ThreadGroup g, Task task)
    {
        int adj = OomScoreAdj(k, g);
        if (adj == -1000)
        {
            return 0;
        }

        long totalPages = Math.Max(1, HostMemoryPages());
        long badness = (long)(task.MM.ResidentBytes() / Mman.PageSize) + (adj * (totalPages / 1000));
        return (1000 + (badness * 1000 / totalPages)) * 2 / 3;
    }

    // The machine's pages (totalram; the sandbox has no swap of its own).
    private static long HostMemoryPages()
    {
        ProcFs.MemoryKb(out ulong totalKb, out _, out _);
        return (long)(totalKb * 1024 / Mman.PageSize);
    }

    // comm_write: only a thread of the same process; the first 15 bytes as they are (a newline included).
    private static long WriteComm(Task caller, Task task, byte[] b)
    {
        if (caller.Group != task.Group)
        {
            return -Errno.EINVAL.Value;
        }

        int len = Math.Min(b.Length, 15);
        int nul = Array.IndexOf(b, (byte)0, 0, len);
        task.Comm = LinuxString.Encoding.GetString(b, 0, nul < 0 ? len : nul);
        return 0;
    }

    // __set_oom_adj: -1000..1000 (oom_adj: -17..15, scaled); lowering below the floor (for oom_adj: below the
    // current value) needs CAP_SYS_RESOURCE, and a privileged oom_score_adj write sets the floor.
    private static long WriteOomScoreAdj(Task caller, ThreadGroup g, byte[] b, bool legacy)
    {
        if (!ParseInt(b, out long v))
        {
            return -Errno.EINVAL.Value;
        }

        if (legacy)
        {
            if (v < -17 || v > 15)
            {
                return -Errno.EINVAL.Value;
            }

            v = v == 15 ? 1000 : v * 1000 / 17;
        }
        else if (v < -1000 || v > 1000)
        {
            return -Errno.EINVAL.Value;
        }

        bool privileged = caller.Credentials.HasCapability(Credentials.CAP_SYS_RESOURCE);
        lock (caller.Kernel.TreeMu)
        {
            if (!privileged && v < (legacy ? g.OomScoreAdj : g.OomScoreAdjMin))
            {
                return -Errno.EACCES.Value;
            }

            g.OomScoreAdj = (short)v;
            if (!legacy && privileged)
            {
                g.OomScoreAdjMin = (short)v;
            }
        }

        return 0;
    }

    // Only the 9 MMF_DUMP_FILTER bits are kept; the number is read in any base kstrtouint takes (0x.., 0..).
    private static long WriteCoredumpFilter(Task task, byte[] b)
    {
        string s = Trimmed(b);
        uint v;
        bool ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v)
            : s.Length > 1 && s[0] == '0' ? TryOctal(s, out v) : uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        if (!ok)
        {
            return -Errno.EINVAL.Value;
        }

        task.MM.CoredumpFilter = v & 0x1ff;
        return 0;
    }

    // timerslack_ns_write: a decimal count; another task's needs CAP_SYS_NICE; 0 restores the default.
    private static long WriteTimerSlack(Task caller, Task task, byte[] b)
    {
        if (!ulong.TryParse(Trimmed(b), NumberStyles.None, CultureInfo.InvariantCulture, out ulong ns))
        {
            return -Errno.EINVAL.Value;
        }

        if (caller != task && !caller.Credentials.HasCapability(Credentials.CAP_SYS_NICE))
        {
            return -Errno.EPERM.Value;
        }

        if (SchedAttr.IsRealTime(task.Sched.Policy) || task.Sched.Policy == SchedAttr.SCHED_DEADLINE)
        {
            return 0;
        }

        TaskPrctl p = task.Prctl;
        task.Prctl = p with { TimerSlackNs = ns == 0 ? p.DefaultTimerSlackNs : ns };
        return 0;
    }

    // proc_timens_offsets_write: up to two lines "clock seconds nanoseconds" (clock monotonic, boottime, 1 or 7), then
    // proc_timens_set_offset for the time namespace the process's children get: CAP_SYS_TIME over it, offsets in
    // range, and a namespace no task has entered yet. The sandbox has only its first time namespace (unshare of
    // CLONE_NEWTIME is EINVAL), whose offsets are frozen: EACCES once the rest is valid.
    private static long WriteTimensOffsets(Task caller, byte[] b)
    {
        const long KtimeSecMax = long.MaxValue / 1_000_000_000;
        int nul = Array.IndexOf(b, (byte)0);
        string text = Encoding.ASCII.GetString(b, 0, nul < 0 ? b.Length : nul);
        var seconds = new List<long>(2);
        foreach (string line in (text.EndsWith('\n') ? text[..^1] : text).Split('\n'))
        {
            if (seconds.Count == 2)
            {
                break;
            }

            string[] f = line.Split([' ', '\t', '\v', '\f', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 3 || f[0].Length > 9 || !long.TryParse(f[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long sec) ||
                !ulong.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out ulong nsec) || nsec >= 1_000_000_000 ||
                f[0] is not ("monotonic" or "1" or "boottime" or "7"))
            {
                return -Errno.EINVAL.Value;
            }

            seconds.Add(sec);
        }

        if (!caller.Credentials.HasCapability(Credentials.CAP_SYS_TIME))
        {
            return -Errno.EPERM.Value;
        }

        long uptime = (Environment.TickCount64 - caller.Kernel.BootTicks) / 1000;
        foreach (long sec in seconds)
        {
            if (sec > KtimeSecMax || sec < -KtimeSecMax || uptime + sec < 0 || uptime + sec > KtimeSecMax / 2)
            {
                return -Errno.ERANGE.Value;
            }
        }

        return -Errno.EACCES.Value;
    }

    // kstrtoint base 10 after the kernel's strstrip: an optional sign, digits, nothing else.
    private static bool ParseInt(byte[] b, out long v) =>
        long.TryParse(Trimmed(b), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out v) && v is >= int.MinValue and <= int.MaxValue;

    private static bool TryOctal(string s, out uint v)
    {
        v = 0;
        foreach (char ch in s)
        {
            if (ch is < '0' or > '7' || v > uint.MaxValue / 8)
            {
                return false;
            }

            v = (v * 8) + (uint)(ch - '0');
        }

        return true;
    }

    private static string Trimmed(byte[] b)
    {
        int n = Array.IndexOf(b, (byte)0);
        return Encoding.ASCII.GetString(b, 0, n < 0 ? b.Length : n).Trim(' ', '\n', '\t', '\r', '\v', '\f');
    }
}
