using Moat.Cli.Oci;
using Xunit;

namespace Moat.Tests.Oci;

/// <summary>Where the sandbox's host cgroup is: linux.cgroupsPath read as runc reads it, the hierarchies found in /proc.</summary>
public sealed class HostCgroupTests
{
    [Theory]
    [InlineData("/sys/fs/cgroup/cpu", "/", "/", "/default/c1", "/sys/fs/cgroup/cpu/default/c1")] // absolute: below the root
    [InlineData("/sys/fs/cgroup/cpu", "/", "/user/a", "/default/c1", "/sys/fs/cgroup/cpu/default/c1")]
    [InlineData("/sys/fs/cgroup/cpu", "/", "/user/a", "c1", "/sys/fs/cgroup/cpu/user/a/c1")] // relative: below the runtime's
    [InlineData("/sys/fs/cgroup/cpu", "/", "/", "c1", "/sys/fs/cgroup/cpu/c1")]
    [InlineData("/sys/fs/cgroup", "/", "/a/b", "../c1", "/sys/fs/cgroup/a/c1")]
    [InlineData("/sys/fs/cgroup/cpu", "/docker/x", "/docker/x", "c1", "/sys/fs/cgroup/cpu/c1")] // a mount of part of the hierarchy
    [InlineData("/sys/fs/cgroup/cpu", "/", "/", "/../../etc", "/sys/fs/cgroup/cpu/etc")] // never above the mount
    public void Under_ReadsThePathAsRuncDoes(string mountPoint, string mountRoot, string own, string inner, string expected) =>
        Assert.Equal(expected, HostCgroup.Under(mountPoint, mountRoot, own, inner));

    [Fact]
    public void OwnCgroup_PicksTheControllersLine_OrTheV2One()
    {
        const string procCgroup = "9:name=systemd:/\n4:memory:/m\n2:cpu,cpuacct:/user/a\n0::/unified/b\n";
        Assert.Equal("/user/a", HostCgroup.OwnCgroup(procCgroup, "cpu"));
        Assert.Equal("/unified/b", HostCgroup.OwnCgroup(procCgroup, null));
        Assert.Null(HostCgroup.OwnCgroup("4:memory:/m\n", "cpu"));
    }

    [Fact]
    public void FindV1Mount_IsTheCgroupMountWithTheCpuController()
    {
        const string mountinfo = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
            + "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
            + "32 31 0:29 /x /sys/fs/cgroup/cpu\\040here rw,relatime shared:5 - cgroup cgroup rw,cpu\n"
            + "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        Assert.Equal(("/sys/fs/cgroup/cpu here", "/x"), HostCgroup.FindV1Mount(mountinfo));
        Assert.Null(HostCgroup.FindV1Mount("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"));
    }

    [Theory]
    [InlineData(2UL, 1UL)]
    [InlineData(1024UL, 39UL)]
    [InlineData(262144UL, 10000UL)]
    [InlineData(1UL, 1UL)]
    public void Weight_IsRuncsConversionOfShares(ulong shares, ulong weight) => Assert.Equal(weight, HostCgroup.Weight(shares));
}
