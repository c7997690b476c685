using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Proc;

namespace Moat.Sentry.Vfs.Sys;

/// <summary>
/// The Sentry's sysfs: the sandbox's own view of /sys (never the host's devices), with what programs read
/// from it: the CPUs (as many as sched_getaffinity(2) and /proc/stat report), one NUMA node, transparent
/// huge pages, the sandbox's network interfaces (lo, and eth0 of --network=sandbox) and empty device classes, after gVisor's
/// pkg/sentry/fsimpl/sys. Read-only: every file is 0444 and kernfs-like (4096 bytes long), every directory 0755.
/// </summary>
internal static class SysFs
{
    /// <summary>The st_dev of sysfs's files.</summary>
    public const ulong Device = 0x15;

    /// <summary>statfs(2)'s f_type for sysfs.</summary>
    public const long Magic = 0x62656572;

    /// <summary>Linux's NR_CPUS - 1 in Debian's kernel configuration, as /sys/devices/system/cpu/kernel_max shows it.</summary>
    private const int KernelMax = 8191;

    private const uint FileMode = 0x124; // 0444
    private const uint DirMode = 0x1ED; // 0755
    private const uint RootMode = 0x16D; // 0555, as Linux's sysfs root
    private const int MaxHops = 40;

    private static readonly long s_madeAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>
    /// Looks up a normalised path under /sys of <paramref name="k"/>'s sysfs (its interfaces are the sandbox's
    /// network's). Links met on the way (and the last one, when <paramref name="followLast"/>) are followed
    /// inside sysfs. Returns 0 with the node, or -errno.
    /// </summary>
    public static long Lookup(Kernel.Kernel k, string norm, bool followLast, out ProcNode? node) => Lookup(k.SysRoot, norm, followLast, out node);

    /// <summary>The sysfs of <paramref name="k"/>: its CPUs and the interfaces its network has (fixed for its life).</summary>
    internal static SysTree For(Kernel.Kernel k) => Build(Environment.ProcessorCount, () => Net.NetInterfaces.Of(k));

    /// <summary>Looks up <paramref name="norm"/> in the tree rooted at <paramref name="root"/> (for tests of other CPU counts).</summary>
    internal static long Lookup(SysTree root, string norm, bool followLast, out ProcNode? node)
    {
        node = null;
        var parts = new List<string>(norm == "/sys" ? [] : norm["/sys/".Length..].Split('/'));
        int hops = 0;
        SysTree at = root;
        int i = 0;
        while (i < parts.Count)
        {
            if (at.Kind != ProcKind.Directory)
            {
                return -Errno.ENOTDIR.Value;
            }

            SysTree? next = at.Child(parts[i]);
            if (next == null)
            {
                return -Errno.ENOENT.Value;
            }

            bool last = i == parts.Count - 1;
            if (next.Kind == ProcKind.Link && (!last || followLast))
            {
                if (++hops > MaxHops)
                {
                    return -Errno.ELOOP.Value;
                }

                // Relative to the link's directory; sysfs's links never leave it.
                var resolved = new List<string>(parts.GetRange(0, i));
                foreach (string c in next.Target!.Split('/'))
                {
                    if (c == "..")
                    {
                        if (resolved.Count > 0)
                        {
                            resolved.RemoveAt(resolved.Count - 1);
                        }
                    }
                    else if (c.Length > 0 && c != ".")
                    {
                        resolved.Add(c);
                    }
                }

                resolved.AddRange(parts.GetRange(i + 1, parts.Count - i - 1));
                parts = resolved;
                at = root;
                i = 0;
                continue;
            }

            at = next;
            i++;
        }

        string path = parts.Count == 0 ? "/sys" : "/sys/" + string.Join('/', parts);
        SysTree found = at;
        ulong ino = Ino(path);
        node = found.Kind switch
        {
            ProcKind.Directory => new ProcNode(ProcKind.Directory, path, Entries: () => Entries(found), Attr: DirStat(ino, parts.Count == 0 ? RootMode : DirMode, found.Subdirectories)),
            ProcKind.File => new ProcNode(ProcKind.File, path, Content: () => LinuxString.Encoding.GetBytes(found.Content!()), Attr: FileStat(ino)),
            _ => new ProcNode(ProcKind.Link, path, Target: found.Target, Attr: LinkStat(ino)),
        };
        return 0;
    }

    /// <summary>
    /// The tree for <paramref name="cpus"/> CPUs (0 to cpus-1, all online) and the interfaces <paramref name="net"/>
    /// lists (lo alone without it); their statistics are read from it at each read.
    /// </summary>
    internal static SysTree Build(int cpus, Func<Net.NetInterfaces>? net = null)
    {
        string list = CpuList(cpus);
        SysTree cpu = SysTree.Dir(
            "cpu",
            SysTree.File("kernel_max", KernelMax.ToString(CultureInfo.InvariantCulture) + "\n"),
            SysTree.File("offline", "\n"),
            SysTree.File("online", list),
            SysTree.File("possible", list),
            SysTree.File("present", list));
        for (int i = 0; i < cpus; i++)
        {
            // As gVisor does, and consistent with sched_getaffinity: one package, each CPU its own core.
            string one = Mask(cpus, i, i);
            string all = Mask(cpus, 0, cpus - 1);
            string n = Num(i);
            SysTree dir = cpu.Add(SysTree.Dir(
                "cpu" + n,
                SysTree.Link("node0", "../../node/node0"),
                SysTree.Dir(
                    "topology",
                    SysTree.File("core_cpus", one),
                    SysTree.File("core_cpus_list", n + "\n"),
                    SysTree.File("core_id", n + "\n"),
                    SysTree.File("core_siblings", all),
                    SysTree.File("core_siblings_list", list),
                    SysTree.File("die_id", "0\n"),
                    SysTree.File("package_cpus", all),
                    SysTree.File("package_cpus_list", list),
                    SysTree.File("physical_package_id", "0\n"),
                    SysTree.File("thread_siblings", one),
                    SysTree.File("thread_siblings_list", n + "\n")))).Children[^1];
            if (i > 0)
            {
                // As on x86: every CPU but the boot CPU can be taken offline, so it has an online file.
                dir.Add(SysTree.File("online", "1\n"));
            }
        }

        SysTree node0 = SysTree.Dir(
            "node0",
            SysTree.File("cpulist", list),
            SysTree.File("cpumap", Mask(cpus, 0, cpus - 1)),
            SysTree.File("distance", "10\n"),
            SysTree.File("meminfo", NodeMeminfo));
        for (int i = 0; i < cpus; i++)
        {
            node0.Add(SysTree.Link("cpu" + Num(i), "../../cpu/cpu" + Num(i)));
        }

        SysTree node = SysTree.Dir(
            "node",
            SysTree.File("has_cpu", "0\n"),
            SysTree.File("has_memory", "0\n"),
            SysTree.File("has_normal_memory", "0\n"),
            node0,
            SysTree.File("online", "0\n"),
            SysTree.File("possible", "0\n"));

        IReadOnlyList<Net.NetInterface> ifaces = net?.Invoke().Interfaces ?? [];
        if (ifaces.Count == 0)
        {
            ifaces = [new Net.NetInterface(Net.LoopbackInterface.Index, Net.LoopbackInterface.Name, true, Net.LoopbackInterface.Mtu, Net.Stack.MacAddress.Zero, Net.Stack.Ip4Address.Loopback, 8, 0, 0, 0, 0)];
        }

        SysTree classNet = SysTree.Dir("net");
        SysTree virtualNet = SysTree.Dir("net");
        foreach (Net.NetInterface i in ifaces)
        {
            classNet.Add(SysTree.Link(i.Name, "../../devices/virtual/net/" + i.Name));
            virtualNet.Add(Interface(i, net));
        }

        return SysTree.Dir(
            "sys",
            SysTree.Dir("block"),
            SysTree.Dir("bus", SysTree.Dir("cpu", SysTree.Dir("devices", CpuLinks(cpus)))),
            SysTree.Dir(
                "class",
                classNet,
                SysTree.Dir("power_supply")),
            SysTree.Dir("dev", SysTree.Dir("block"), SysTree.Dir("char")),
            SysTree.Dir(
                "devices",
                SysTree.Dir("system", cpu, node),
                SysTree.Dir("virtual", virtualNet)),
            SysTree.Dir("firmware"),
            SysTree.Dir("fs", SysTree.Dir("cgroup")),
            SysTree.Dir(
                "kernel",
                SysTree.Dir(
                    "mm",
                    SysTree.Dir(
                        "transparent_hugepage",
                        // The MemoryFile never backs application memory with huge pages.
                        SysTree.File("defrag", "always defer defer+madvise madvise [never]\n"),
                        SysTree.File("enabled", "always madvise [never]\n"),
                        SysTree.File("hpage_pmd_size", "2097152\n")))),
            SysTree.Dir("module"),
            SysTree.Dir("power"));
    }

    /// <summary>A CPU list as Linux prints one (cpulist_parse's format): "0" or "0-N", then a newline.</summary>
    internal static string CpuList(int cpus) => cpus == 1 ? "0\n" : "0-" + Num(cpus - 1) + "\n";

    /// <summary>
    /// A CPU mask as Linux prints one for <paramref name="cpus"/> possible CPUs with <paramref name="first"/> to
    /// <paramref name="last"/> set: 32-bit words in hex, most significant first, separated by commas; the first
    /// word only as wide as the CPUs it holds need.
    /// </summary>
    internal static string Mask(int cpus, int first, int last)
    {
        var sb = new StringBuilder();
        int words = (cpus + 31) / 32;
        for (int w = words - 1; w >= 0; w--)
        {
            uint bits = 0;
            for (int b = 0; b < 32; b++)
            {
                int c = (w * 32) + b;
                if (c >= first && c <= last)
                {
                    bits |= 1U << b;
                }
            }

            if (w == words - 1)
            {
                int width = ((cpus - (w * 32)) + 3) / 4;
                sb.Append(bits.ToString("x" + Num(width), CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(',').Append(bits.ToString("x8", CultureInfo.InvariantCulture));
            }
        }

        return sb.Append('\n').ToString();
    }

    private static SysTree[] CpuLinks(int cpus)
    {
        var links = new SysTree[cpus];
        for (int i = 0; i < cpus; i++)
        {
            links[i] = SysTree.Link("cpu" + Num(i), "../../../devices/system/cpu/cpu" + Num(i));
        }

        return links;
    }

    // An interface's directory (/sys/devices/virtual/net/NAME), as Linux's net-sysfs shows a loopback or a veth/tap:
    // flags are dev->flags (no IFF_RUNNING or IFF_LOWER_UP), lo's operstate "unknown", an Ethernet's "up".
    private static SysTree Interface(Net.NetInterface i, Func<Net.NetInterfaces>? net)
    {
        int index = i.Index;
        string mac = i.Loopback ? "00:00:00:00:00:00" : i.Mac.ToString();
        int flags = i.Loopback ? Net.NetInterface.IFF_UP | Net.NetInterface.IFF_LOOPBACK : Net.NetInterface.IFF_UP | Net.NetInterface.IFF_BROADCAST | Net.NetInterface.IFF_MULTICAST;
        Func<Net.NetInterface, long> zero = _ => 0;
        (string Name, Func<Net.NetInterface, long> Value)[] counters =
        [
            ("collisions", zero), ("multicast", zero), ("rx_bytes", x => x.RxBytes), ("rx_compressed", zero), ("rx_crc_errors", zero),
            ("rx_dropped", zero), ("rx_errors", zero), ("rx_fifo_errors", zero), ("rx_frame_errors", zero), ("rx_length_errors", zero),
            ("rx_missed_errors", zero), ("rx_nohandler", zero), ("rx_over_errors", zero), ("rx_packets", x => x.RxPackets),
            ("tx_aborted_errors", zero), ("tx_bytes", x => x.TxBytes), ("tx_carrier_errors", zero), ("tx_compressed", zero),
            ("tx_dropped", zero), ("tx_errors", zero), ("tx_fifo_errors", zero), ("tx_heartbeat_errors", zero), ("tx_packets", x => x.TxPackets),
            ("tx_window_errors", zero),
        ];
        SysTree statistics = SysTree.Dir("statistics");
        foreach ((string name, Func<Net.NetInterface, long> value) in counters)
        {
            statistics.Add(SysTree.File(name, () => (net?.Invoke().ByIndex(index) is Net.NetInterface now ? value(now) : 0).ToString(CultureInfo.InvariantCulture) + "\n"));
        }

        return SysTree.Dir(
            i.Name,
            SysTree.File("addr_len", "6\n"),
            SysTree.File("address", mac + "\n"),
            SysTree.File("broadcast", (i.Loopback ? "00:00:00:00:00:00" : "ff:ff:ff:ff:ff:ff") + "\n"),
            SysTree.File("carrier", "1\n"),
            SysTree.File("dev_id", "0x0\n"),
            SysTree.File("flags", "0x" + flags.ToString("x", CultureInfo.InvariantCulture) + "\n"),
            SysTree.File("ifindex", Num(index) + "\n"),
            SysTree.File("iflink", Num(index) + "\n"),
            SysTree.File("mtu", Num(i.Mtu) + "\n"),
            SysTree.File("operstate", i.Loopback ? "unknown\n" : "up\n"),
            statistics,
            SysTree.File("tx_queue_len", Num(Net.NetInterface.TxQueueLength) + "\n"),
            SysTree.File("type", Num(i.HardwareType) + "\n"));
    }

    // node0's memory is the sandbox's, as /proc/meminfo reports it.
    private static string NodeMeminfo()
    {
        ProcFs.MemoryKb(out ulong total, out ulong free, out _);
        return $"Node 0 MemTotal:       {total,8} kB\nNode 0 MemFree:        {free,8} kB\nNode 0 MemUsed:        {total - free,8} kB\n";
    }

    private static List<(string, byte)> Entries(SysTree dir)
    {
        var e = new List<(string, byte)>(dir.Children.Count);
        foreach (SysTree c in dir.Children)
        {
            e.Add((c.Name, c.Kind switch { ProcKind.Directory => (byte)4, ProcKind.File => (byte)8, _ => (byte)10 }));
        }

        return e;
    }

    private static Stat DirStat(ulong ino, uint mode, int subdirectories) => Timed(
        new() { st_mode = Stat.S_IFDIR | mode, st_nlink = 2 + (ulong)subdirectories, st_ino = ino, st_dev = Device, st_blksize = 4096 });

    private static Stat FileStat(ulong ino) => Timed(
        new() { st_mode = Stat.S_IFREG | FileMode, st_nlink = 1, st_ino = ino, st_dev = Device, st_size = 4096, st_blksize = 4096 });

    // kernfs's links report size 0, not their target's length.
    private static Stat LinkStat(ulong ino) => Timed(
        new() { st_mode = Stat.S_IFLNK | 0x1FF, st_nlink = 1, st_ino = ino, st_dev = Device, st_blksize = 4096 });

    // Every node was made when the Sentry started, as Linux's were at boot.
    private static Stat Timed(Stat st)
    {
        st.st_atime = st.st_mtime = st.st_ctime = s_madeAt;
        return st;
    }

    private static ulong Ino(string path) => (ulong)(uint)path.GetHashCode(StringComparison.Ordinal) | 1;

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}
