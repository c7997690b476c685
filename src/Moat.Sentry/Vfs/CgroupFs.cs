using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Proc;

namespace Moat.Sentry.Vfs;

/// <summary>
/// The sandbox as one cgroup v2 (after gVisor's pkg/sentry/fsimpl/cgroupfs): what a container's own cgroup
/// namespace shows at /sys/fs/cgroup, generated from the Sentry's accounting. Runtimes (the JVM, .NET, Go)
/// size their heaps and thread pools from memory.max, cpu.max and cpuset.cpus.effective, found through
/// /proc/self/cgroup ("0::/") and mountinfo. The limits are the sandbox's own (<c>--memory</c>, <c>--pids</c>,
/// an OCI spec's resources: its CPU quota and shares are shown in cpu.max and cpu.weight, not enforced); the
/// counters are the ones <c>moat events --stats</c> reports. A single cgroup
/// with no children: the interface is read-only (every file 0444; writing is EACCES, or EROFS on a read-only
/// mount; mkdir EPERM), where Linux would let root write limits and make child groups.
/// Addressed from its own root "/cgroup", as <see cref="MqueueFs"/> is from "/mqueue".
/// </summary>
internal static class CgroupFs
{
    /// <summary>The address of the file system's root inside the Sentry.</summary>
    public const string Root = "/cgroup";

    /// <summary>statfs(2)'s f_type: CGROUP2_SUPER_MAGIC.</summary>
    public const long Magic = 0x63677270;

    /// <summary>The st_dev of its files.</summary>
    public const ulong Device = 0x1A;

    private const uint FileMode = 0x124; // 0444
    private const uint DirMode = 0x1ED; // 0755
    private const byte DtReg = 8;

    /// <summary>What cgroup.controllers lists: the controllers whose files are served.</summary>
    public const string Controllers = "cpuset cpu memory pids";

    private static readonly long s_madeAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static readonly string[] s_files =
    [
        "cgroup.controllers", "cgroup.events", "cgroup.freeze", "cgroup.max.depth", "cgroup.max.descendants",
        "cgroup.procs", "cgroup.stat", "cgroup.subtree_control", "cgroup.threads", "cgroup.type",
        "cpu.max", "cpu.stat", "cpu.weight", "cpuset.cpus", "cpuset.cpus.effective", "cpuset.mems",
        "cpuset.mems.effective", "memory.current", "memory.events", "memory.high", "memory.low", "memory.max",
        "memory.min", "memory.peak", "memory.stat", "memory.swap.current", "memory.swap.max", "pids.current",
        "pids.max",
    ];

    /// <summary>Looks up a normalised path under <see cref="Root"/>. Returns 0 with the node, or -errno.</summary>
    public static long Lookup(Task t, string norm, out ProcNode? node)
    {
        node = null;
        if (norm == Root)
        {
            node = new ProcNode(ProcKind.Directory, Root, Entries: Entries, Attr: Attr(Stat.S_IFDIR | DirMode, Root));
            return 0;
        }

        string name = norm[(Root.Length + 1)..];
        if (name.Contains('/'))
        {
            // Below a file, or below a child group that cannot exist.
            return Array.IndexOf(s_files, name[..name.IndexOf('/')]) >= 0 ? -Errno.ENOTDIR.Value : -Errno.ENOENT.Value;
        }

        if (Array.IndexOf(s_files, name) < 0)
        {
            return -Errno.ENOENT.Value;
        }

        node = new ProcNode(ProcKind.File, norm, Content: () => LinuxString.Encoding.GetBytes(Content(t, name)), Attr: Attr(Stat.S_IFREG | FileMode, norm));
        return 0;
    }

    /// <summary>The text of one interface file, made when it is opened.</summary>
    internal static string Content(Task t, string name)
    {
        Kernel.Kernel k = t.Kernel;
        Pgalloc.MemoryFile mf = k.MemoryFile;
        switch (name)
        {
            case "cgroup.controllers":
                return Controllers + "\n";
            case "cgroup.subtree_control":
            case "cpuset.cpus":
            case "cpuset.mems":
                return "\n"; // nothing delegated below, nothing set here: the parent's (all) apply
            case "cgroup.events":
                return "populated 1\nfrozen 0\n";
            case "cgroup.freeze":
                return "0\n";
            case "cgroup.max.depth":
            case "cgroup.max.descendants":
            case "memory.high":
                return "max\n";
            case "cgroup.stat":
                return "nr_descendants 0\nnr_dying_descendants 0\n";
            case "cgroup.type":
                return "domain\n";
            case "cgroup.procs":
                return Ids(k, threads: false);
            case "cgroup.threads":
                return Ids(k, threads: true);
            case "cpu.max":
                return k.CpuQuota.Quota > 0
                    ? string.Create(CultureInfo.InvariantCulture, $"{k.CpuQuota.Quota} {k.CpuQuota.Period}\n")
                    : "max 100000\n";
            case "cpu.weight":
                return k.CpuWeight > 0 ? Num(k.CpuWeight) : "100\n";
            case "cpu.stat":
            {
                (long user, long system) = k.CpuUsage();
                return string.Create(CultureInfo.InvariantCulture, $"usage_usec {(user + system) / 1000}\nuser_usec {user / 1000}\nsystem_usec {system / 1000}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
            }

            case "cpuset.cpus.effective":
                return Sys.SysFs.CpuList(Environment.ProcessorCount);
            case "cpuset.mems.effective":
                return "0\n";
            case "memory.current":
                return Num(mf.UsageBytes);
            case "memory.peak":
                return Num(mf.PeakUsageBytes);
            case "memory.max":
                return mf.Limit == 0 ? "max\n" : Num(mf.Limit);
            case "memory.low":
            case "memory.min":
            case "memory.swap.current":
                return "0\n"; // the sandbox's memory never goes to swap
            case "memory.swap.max":
                // A memory+swap limit as runc writes it for cgroup v2 (its excess over the memory limit; "max" for
                // -1 or no memory limit); none set: 0, as the sandbox's memory never goes to swap.
                return k.MemorySwapLimit == 0 ? "0\n"
                    : k.MemorySwapLimit > 0 && mf.Limit > 0 ? Num((ulong)Math.Max(0L, k.MemorySwapLimit - (long)mf.Limit)) : "max\n";
            case "memory.events":
                return string.Create(CultureInfo.InvariantCulture, $"low 0\nhigh 0\nmax {mf.LimitFailures}\noom {mf.OomKills}\noom_kill {mf.OomKills}\noom_group_kill 0\n");
            case "memory.stat":
                return MemoryStat(mf.UsageBytes);
            case "pids.current":
                return Num((ulong)k.LiveTaskCount);
            default: // pids.max
                return k.MaxTasks > 0 ? Num((ulong)k.MaxTasks) : "max\n";
        }
    }

    // The memory the sandbox holds is all in the MemoryFile and counted as anonymous: the Sentry does not tell
    // file pages from anonymous ones.
    private static string MemoryStat(ulong used)
    {
        var sb = new StringBuilder();
        foreach (string key in new[] { "anon", "file", "kernel", "kernel_stack", "pagetables", "sock", "shmem", "file_mapped", "file_dirty", "file_writeback", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable" })
        {
            ulong v = key is "anon" or "active_anon" ? used : 0;
            sb.Append(key).Append(' ').Append(v.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return sb.ToString();
    }

    // The processes (thread-group ids) or threads of the sandbox, as cgroup.procs and cgroup.threads list them.
    private static string Ids(Kernel.Kernel k, bool threads)
    {
        var sb = new StringBuilder();
        foreach (ThreadGroup g in k.LiveGroups())
        {
            if (!threads)
            {
                sb.Append(g.Tgid.ToString(CultureInfo.InvariantCulture)).Append('\n');
                continue;
            }

            lock (k.TreeMu)
            {
                foreach (Task task in g.Tasks)
                {
                    sb.Append(task.Tid.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }

        return sb.ToString();
    }

    private static List<(string Name, byte Type)> Entries()
    {
        var list = new List<(string, byte)>(s_files.Length);
        foreach (string f in s_files)
        {
            list.Add((f, DtReg));
        }

        return list;
    }

    private static string Num(ulong v) => v.ToString(CultureInfo.InvariantCulture) + "\n";

    // cgroup files report size 0 (kernfs); the directory has no child groups.
    private static Stat Attr(uint mode, string path) => new()
    {
        st_mode = mode,
        st_nlink = (mode & Stat.S_IFMT) == Stat.S_IFDIR ? 2UL : 1UL,
        st_ino = (ulong)(uint)path.GetHashCode(StringComparison.Ordinal) | 1,
        st_dev = Device,
        st_blksize = 4096,
        st_atime = s_madeAt,
        st_mtime = s_madeAt,
        st_ctime = s_madeAt,
    };
}
