using System.Linq;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Vfs.Proc;
using Moat.Sentry.Vfs.Sys;

namespace Moat.Tests.Vfs.Sys;

public sealed class SysFsTests
{
    private static string Read(SysTree root, string path)
    {
        Assert.Equal(0, SysFs.Lookup(root, path, followLast: true, out ProcNode? node));
        Assert.Equal(ProcKind.File, node!.Kind);
        return Encoding.ASCII.GetString(node.Content!());
    }

    private static string[] List(SysTree root, string path)
    {
        Assert.Equal(0, SysFs.Lookup(root, path, followLast: true, out ProcNode? node));
        Assert.Equal(ProcKind.Directory, node!.Kind);
        return [.. node.Entries!().Select(e => e.Name)];
    }

    [Theory]
    [InlineData(1, "0\n")]
    [InlineData(2, "0-1\n")]
    [InlineData(64, "0-63\n")]
    public void CpuFiles_ListEveryCpu_InLinuxListFormat(int cpus, string list)
    {
        SysTree root = SysFs.Build(cpus);
        Assert.Equal(list, Read(root, "/sys/devices/system/cpu/online"));
        Assert.Equal(list, Read(root, "/sys/devices/system/cpu/possible"));
        Assert.Equal(list, Read(root, "/sys/devices/system/cpu/present"));
        Assert.Equal("\n", Read(root, "/sys/devices/system/cpu/offline"));
        Assert.Equal(list, Read(root, "/sys/devices/system/node/node0/cpulist"));
        Assert.Equal(cpus, List(root, "/sys/devices/system/cpu").Count(n => n.StartsWith("cpu", System.StringComparison.Ordinal) && n.Length > 3));
    }

    [Theory]
    [InlineData(1, 0, 0, "1\n")]
    [InlineData(2, 0, 1, "3\n")]
    [InlineData(2, 1, 1, "2\n")]
    [InlineData(6, 0, 5, "3f\n")]
    [InlineData(32, 0, 31, "ffffffff\n")]
    [InlineData(36, 33, 33, "2,00000000\n")]
    [InlineData(40, 0, 39, "ff,ffffffff\n")]
    [InlineData(64, 5, 5, "00000000,00000020\n")]
    public void Mask_IsHexWordsMostSignificantFirst_AsLinuxPrintsACpumap(int cpus, int first, int last, string expected) =>
        Assert.Equal(expected, SysFs.Mask(cpus, first, last));

    [Fact]
    public void Topology_OnePackage_EachCpuItsOwnCore()
    {
        SysTree root = SysFs.Build(4);
        Assert.Equal("4\n", Read(root, "/sys/devices/system/cpu/cpu2/topology/core_cpus"));
        Assert.Equal("2\n", Read(root, "/sys/devices/system/cpu/cpu2/topology/thread_siblings_list"));
        Assert.Equal("f\n", Read(root, "/sys/devices/system/cpu/cpu2/topology/package_cpus"));
        Assert.Equal("0-3\n", Read(root, "/sys/devices/system/cpu/cpu2/topology/core_siblings_list"));
        Assert.Equal("0\n", Read(root, "/sys/devices/system/cpu/cpu2/topology/physical_package_id"));
    }

    [Fact]
    public void Links_AreFollowedInside_AndReadAsWritten()
    {
        SysTree root = SysFs.Build(2);
        Assert.Equal(0, SysFs.Lookup(root, "/sys/class/net/lo", followLast: false, out ProcNode? link));
        Assert.Equal(ProcKind.Link, link!.Kind);
        Assert.Equal("../../devices/virtual/net/lo", link.Target);
        Assert.Equal(Stat.S_IFLNK | 0x1FFu, link.Attr!.Value.st_mode);

        Assert.Equal(0, SysFs.Lookup(root, "/sys/class/net/lo/mtu", followLast: false, out ProcNode? mtu));
        Assert.Equal("/sys/devices/virtual/net/lo/mtu", mtu!.Path);
        Assert.Equal("65536\n", Read(root, "/sys/class/net/lo/mtu"));
        Assert.Equal("772\n", Read(root, "/sys/class/net/lo/type"));
        Assert.Equal(["lo"], List(root, "/sys/class/net"));
        Assert.Equal("0-1\n", Read(root, "/sys/devices/system/cpu/cpu1/node0/cpulist"));
        Assert.Equal("0\n", Read(root, "/sys/bus/cpu/devices/cpu0/topology/core_id"));
    }

    [Fact]
    public void Stat_FilesAre0444Of4096Bytes_DirectoriesCountTheirSubdirectories()
    {
        SysTree root = SysFs.Build(2);
        Assert.Equal(0, SysFs.Lookup(root, "/sys/kernel/mm/transparent_hugepage/enabled", followLast: true, out ProcNode? file));
        Stat fs = file!.Attr!.Value;
        Assert.Equal(Stat.S_IFREG | 0x124u, fs.st_mode);
        Assert.Equal(4096, fs.st_size);
        Assert.Equal(0u, fs.st_uid);
        Assert.Equal(SysFs.Device, fs.st_dev);

        Assert.Equal(0, SysFs.Lookup(root, "/sys", followLast: true, out ProcNode? top));
        Assert.Equal(Stat.S_IFDIR | 0x16Du, top!.Attr!.Value.st_mode); // the root is 0555
        Assert.Equal(12UL, top.Attr!.Value.st_nlink); // 10 subdirectories
        Assert.Equal(0, SysFs.Lookup(root, "/sys/devices/system", followLast: true, out ProcNode? sys));
        Assert.Equal(Stat.S_IFDIR | 0x1EDu, sys!.Attr!.Value.st_mode);
    }

    [Fact]
    public void Lookup_Errors_AsAPathWalkAnswers()
    {
        SysTree root = SysFs.Build(2);
        Assert.Equal(-Errno.ENOENT.Value, SysFs.Lookup(root, "/sys/devices/system/cpu/cpu2", followLast: true, out _));
        Assert.Equal(-Errno.ENOTDIR.Value, SysFs.Lookup(root, "/sys/devices/system/cpu/online/x", followLast: true, out _));
        Assert.Empty(List(root, "/sys/block"));
        Assert.Empty(List(root, "/sys/fs/cgroup"));
        Assert.Equal("always madvise [never]\n", Read(root, "/sys/kernel/mm/transparent_hugepage/enabled"));
        Assert.Equal("2097152\n", Read(root, "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"));
        Assert.StartsWith("Node 0 MemTotal:", Read(root, "/sys/devices/system/node/node0/meminfo"), System.StringComparison.Ordinal);
    }

    // The sandbox's interfaces (--network=sandbox's eth0 beside lo) are listed as net-sysfs lists a veth or a tap,
    // and their statistics are read at each read.
    [Fact]
    public void NetworkInterfaces_AreTheSandboxs_WithLiveStatistics()
    {
        long rx = 7;
        Moat.Sentry.Net.NetInterfaces Now() => new(
            [
                new(1, "lo", true, 65536, Moat.Sentry.Net.Stack.MacAddress.Zero, Moat.Sentry.Net.Stack.Ip4Address.Loopback, 8, rx, rx * 100, 0, 0),
                new(2, "eth0", false, 1500, new Moat.Sentry.Net.Stack.MacAddress(0x02004d000102), new Moat.Sentry.Net.Stack.Ip4Address(0x0AC80002), 30, 0, 0, 3, 300),
            ],
            new Moat.Sentry.Net.Stack.Ip4Address(0x0AC80001),
            2);
        SysTree root = SysFs.Build(2, Now);
        Assert.Equal(["lo", "eth0"], List(root, "/sys/class/net"));
        Assert.Equal("02:00:4d:00:01:02\n", Read(root, "/sys/class/net/eth0/address"));
        Assert.Equal("0x1003\n", Read(root, "/sys/class/net/eth0/flags"));
        Assert.Equal("up\n", Read(root, "/sys/class/net/eth0/operstate"));
        Assert.Equal("1\n", Read(root, "/sys/class/net/eth0/type"));
        Assert.Equal("2\n", Read(root, "/sys/class/net/eth0/ifindex"));
        Assert.Equal("0x9\n", Read(root, "/sys/class/net/lo/flags"));
        Assert.Equal("7\n", Read(root, "/sys/class/net/lo/statistics/rx_packets"));
        rx = 9;
        Assert.Equal("9\n", Read(root, "/sys/class/net/lo/statistics/rx_packets"));
        Assert.Equal("300\n", Read(root, "/sys/class/net/eth0/statistics/tx_bytes"));
        Assert.Equal(24, List(root, "/sys/class/net/eth0/statistics").Length);
    }
}
