using System.IO;
using Moat.Cli.Oci;

namespace Moat.Tests.Oci;

/// <summary>linux.resources as the Sentry's limits, and the HOME default from the rootfs's /etc/passwd.</summary>
public sealed class OciResourceAndHomeTests
{
    private static string NewBundle(string resources, string? passwd)
    {
        string dir = Path.Combine(Path.GetTempPath(), "moat-oci-" + System.Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "rootfs", "etc"));
        if (passwd != null)
        {
            File.WriteAllText(Path.Combine(dir, "rootfs", "etc", "passwd"), passwd);
        }

        File.WriteAllText(Path.Combine(dir, "config.json"), """
            {"process": {"args": ["true"], "env": ["PATH=/bin"], "user": {"uid": 7, "gid": 7}}, "root": {"path": "rootfs"},
             "linux": {"resources": 
            """ + resources + "}}");
        return dir;
    }

    private static SandboxPlan? Plan(string resources, out string error, string? passwd = null)
    {
        string bundle = NewBundle(resources, passwd);
        try
        {
            OciSpec? spec = OciBundle.Load(bundle, out error);
            return spec == null ? null : OciBundle.Plan(spec, bundle, out error);
        }
        finally
        {
            Directory.Delete(bundle, recursive: true);
        }
    }

    [Fact]
    public void Plan_MemoryAndPidsLimits_BecomeTheSentrysLimits_CpuIsTheCgroupsAndShown()
    {
        SandboxPlan? plan = Plan("""{"memory": {"limit": 33554432, "swap": 67108864}, "pids": {"limit": 5}, "cpu": {"shares": 512, "quota": 50000, "period": 100000}}""", out string error);
        Assert.True(plan != null, error);
        Assert.Equal(32UL << 20, plan.MemoryLimit);
        Assert.Equal(5, plan.MaxTasks);
        Assert.Equal(64L << 20, plan.MemorySwap); // shown in the cgroup, not a warning any more
        // The CPU settings are the host cgroup's (create writes them) and shown in the sandbox's: no warning.
        Assert.Empty(plan.Ignored);
        Assert.Equal((50000L, 100000UL), plan.CpuQuota);
        Assert.Equal(20UL, plan.CpuWeight);
    }

    [Theory]
    [InlineData("""{"memory": {"swap": 67108864}}""", "unable to set swap limit without memory limit")]
    [InlineData("""{"memory": {"limit": 67108864, "swap": 33554432}}""", "memory+swap limit should be >= memory limit")]
    public void Plan_ASwapLimitRuncRefuses_IsRefused(string resources, string message)
    {
        Assert.Null(Plan(resources, out string error));
        Assert.Equal(message, error);
    }

    [Theory]
    [InlineData("""{"memory": {"limit": -1}, "pids": {"limit": -1}}""")]
    [InlineData("""{"memory": {"limit": 0}, "pids": {"limit": 0}}""")]
    [InlineData("""{}""")]
    public void Plan_UnlimitedResources_SetNoLimit(string resources)
    {
        SandboxPlan? plan = Plan(resources, out string error);
        Assert.True(plan != null, error);
        Assert.Equal(0UL, plan.MemoryLimit);
        Assert.Equal(0, plan.MaxTasks);
        Assert.Empty(plan.Ignored);
    }

    [Fact]
    public void Plan_NetworkNamespacePath_IsJoined_OtherPathsAreLogged()
    {
        string bundle = NewBundle("{}", null);
        try
        {
            string path = Path.Combine(bundle, "config.json");
            File.WriteAllText(path, File.ReadAllText(path).Replace("\"resources\": {}", "\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", \"path\": \"/var/run/netns/cni-1\"}, {\"type\": \"ipc\", \"path\": \"/proc/1/ns/ipc\"}]", System.StringComparison.Ordinal));
            OciSpec? spec = OciBundle.Load(bundle, out string error);
            SandboxPlan? plan = spec == null ? null : OciBundle.Plan(spec, bundle, out error);
            Assert.True(plan != null, error);
            Assert.Equal("/var/run/netns/cni-1", plan.NetworkNamespace);
            Assert.Contains(plan.Ignored, l => l.Contains("ipc namespace at /proc/1/ns/ipc", System.StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(bundle, recursive: true);
        }
    }

    [Fact]
    public void Plan_ApparmorProfileAndSelinuxLabel_AreAcceptedAndLogged()
    {
        string bundle = NewBundle("{}", null);
        try
        {
            string path = Path.Combine(bundle, "config.json");
            File.WriteAllText(path, File.ReadAllText(path).Replace("\"args\": [\"true\"]", "\"args\": [\"true\"], \"apparmorProfile\": \"docker-default\", \"selinuxLabel\": \"system_u:system_r:container_t:s0\"", System.StringComparison.Ordinal));
            OciSpec? spec = OciBundle.Load(bundle, out string error);
            SandboxPlan? plan = spec == null ? null : OciBundle.Plan(spec, bundle, out error);
            Assert.True(plan != null, error);
            Assert.Contains(plan.Ignored, l => l.StartsWith("process.apparmorProfile docker-default:", System.StringComparison.Ordinal));
            Assert.Contains(plan.Ignored, l => l.StartsWith("process.selinuxLabel system_u:system_r:container_t:s0:", System.StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(bundle, recursive: true);
        }
    }

    [Fact]
    public void Plan_NegativeMemoryLimit_FailsCreate()
    {
        Assert.Null(Plan("""{"memory": {"limit": -2}}""", out string error));
        Assert.Equal("invalid memory limit -2", error);
    }

    [Theory]
    [InlineData("root:x:0:0::/root:/bin/sh\nseven:x:7:7::/home/seven:/bin/sh\n", "HOME=/home/seven")]
    [InlineData("# comment\n\nroot:x:0:0::/root:/bin/sh\nseven:x:07:7::/home/07:/bin/sh\n", "HOME=/home/07")]
    [InlineData("root:x:0:0::/root:/bin/sh\nshort:x:7:7\n", "HOME=/")]
    [InlineData("", "HOME=/")]
    [InlineData(null, "HOME=/")]
    public void Plan_EnvWithoutHome_GetsThePasswdHomeOfTheUid(string? passwd, string home)
    {
        SandboxPlan? plan = Plan("{}", out string error, passwd);
        Assert.True(plan != null, error);
        Assert.Equal(["PATH=/bin", home], plan.Process.Environment);
    }

    [Fact]
    public void WithDefault_KeepsAGivenHome_ReplacesAnEmptyOne()
    {
        Assert.Equal(["HOME=/mine"], PasswdHome.WithDefault(["HOME=/mine"], "/nonexistent", 0));
        Assert.Equal(["HOME=/", "A=b"], PasswdHome.WithDefault(["HOME=", "A=b"], "/nonexistent", 0));
    }

    [Fact]
    public void HomeOf_ASymlinkOutOfTheRootfs_ResolvesBeneathIt()
    {
        string root = Path.Combine(Path.GetTempPath(), "moat-root-" + System.Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Directory.CreateDirectory(Path.Combine(root, "inner"));
        try
        {
            // ../../.. and an absolute target both stay beneath the root: they reach root/inner/passwd, not the host's.
            File.WriteAllText(Path.Combine(root, "inner", "passwd"), "root:x:0:0::/inside:/bin/sh\n");
            File.CreateSymbolicLink(Path.Combine(root, "etc", "passwd"), "../../../../inner/passwd");
            Assert.Equal("/inside", PasswdHome.HomeOf(root, 0));
            File.Delete(Path.Combine(root, "etc", "passwd"));
            File.CreateSymbolicLink(Path.Combine(root, "etc", "passwd"), "/inner/passwd");
            Assert.Equal("/inside", PasswdHome.HomeOf(root, 0));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
