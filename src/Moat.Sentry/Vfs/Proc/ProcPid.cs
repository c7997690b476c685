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
    ];

    /// <summary>The directory's entries; a thread's directory has no task directory of its own.</summary>
    public static List<(string Name, byte Type)> Entries(bool thread)
    {
        var e = new List<(string, byte)>(s_entries.Length);
        foreach ((string name, byte type, _) in s_entries)
        {
            if (!(thread && name == "task"))
            {
                e.Add((name, type));
            }
        }

        return e;
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
        Credentials c = task.Credentials;
        bool dumpable = g.Dumpable;
        bool dir = (typeAndMode & Stat.S_IFMT) == Stat.S_IFDIR;
        return new Stat
        {
            st_mode = typeAndMode,
            st_nlink = dir ? 2UL : 1UL,
            st_uid = dumpable ? c.EffectiveUid : 0,
            st_gid = dumpable ? c.EffectiveGid : 0,
            st_ino = (ulong)(uint)path.GetHashCode(StringComparison.Ordinal) | 1,
            st_dev = ProcFs.Device,
            st_blksize = 1024,
        };
    }

    /// <summary>Whether opening entry <paramref name="name"/> also needs ptrace read access to the process (mm_access).</summary>
    public static bool NeedsPtraceAccess(string name) => name is "environ" or "auxv" or "maps" or "io" or "personality" or "mem" or "smaps" or "smaps_rollup";

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
        "uid_map" or "gid_map" => "         0          0 4294967295\n", // the sandbox's ids are its own, all of them
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
        "uid_map" or "gid_map" or "setgroups" or "loginuid" => (_, _) => -Errno.EPERM.Value,
        _ => null,
    };

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
