using System.Linq;
using System.Collections.Generic;
using System.IO;
using Moat.Cli.Oci;
using Moat.Sentry;

namespace Moat.Tests.Oci;

public sealed class OciBundleTests
{
    private static string NewBundle(string config)
    {
        string dir = Path.Combine(Path.GetTempPath(), "moat-oci-" + System.Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "rootfs"));
        File.WriteAllText(Path.Combine(dir, "config.json"), config);
        return dir;
    }

    private static SandboxPlan? Plan(string config, out string error)
    {
        string bundle = NewBundle(config);
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
    public void Plan_FullSpec_TranslatesProcessIdentityAndMounts()
    {
        SandboxPlan? plan = Plan("""
            {
              "ociVersion": "1.0.2", "unknownField": {"x": 1},
              "process": {
                "args": ["sh", "-c", "true"], "env": ["PATH=/bin"], "cwd": "/work",
                "user": {"uid": 1000, "gid": 100, "additionalGids": [5, 6]},
                "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}],
                "noNewPrivileges": true
              },
              "root": {"path": "rootfs", "readonly": true},
              "hostname": "box",
              "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
                {"destination": "/run", "type": "tmpfs", "source": "tmpfs"},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs"},
                {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue"},
                {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup"},
                {"destination": "/mnt/cg", "type": "cgroup2", "source": "cgroup"}
              ]
            }
            """, out string error);
        Assert.True(plan != null, error);
        Assert.EndsWith("/rootfs", plan.Rootfs);
        Assert.True(plan.RootReadonly);
        Assert.Equal("box", plan.Hostname);
        Assert.Equal(["sh", "-c", "true"], plan.Process.Argv);
        Assert.Equal("/work", plan.Process.WorkingDirectory);
        Assert.True(plan.Process.NoNewPrivileges);
        SandboxIdentity id = plan.Process.Identity!;
        Assert.Equal(1000u, id.Uid);
        Assert.Equal(100u, id.Gid);
        Assert.Equal([5u, 6u], id.AdditionalGids);
        Assert.Equal(1UL << 5, id.CapEffective);
        Assert.Equal((1UL << 5) | 1UL, id.CapBounding);
        Assert.Equal([new SandboxRlimit(7, 1024, 2048)], plan.Process.Rlimits);
        Assert.Equal(["/run"], plan.Tmpfs.Select(t => t.SandboxPath));
        Assert.Equal(["cgroup2 on /mnt/cg"], plan.Unprovided); // sysfs, devpts, mqueue and the cgroup at /sys/fs/cgroup are the Sentry's own
    }

    [Theory]
    [InlineData("{ not json", "invalid config.json")]
    [InlineData("""{"root": {"path": "rootfs"}}""", "process must be set")]
    [InlineData("""{"process": {"args": ["sh"]}}""", "root.path must be set")]
    [InlineData("""{"process": {"args": ["sh"]}, "root": {"path": "missing"}}""", "does not exist")]
    [InlineData("""{"process": {"args": []}, "root": {"path": "rootfs"}}""", "args must not be empty")]
    [InlineData("""{"process": {"args": ["sh"], "cwd": "rel"}, "root": {"path": "rootfs"}}""", "absolute")]
    [InlineData("""{"process": {"args": ["sh"], "capabilities": {"effective": ["CAP_NOPE"]}}, "root": {"path": "rootfs"}}""", "CAP_NOPE")]
    [InlineData("""{"process": {"args": ["sh"], "rlimits": [{"type": "RLIMIT_NOPE"}]}, "root": {"path": "rootfs"}}""", "RLIMIT_NOPE")]
    [InlineData("""{"process": {"args": ["sh"]}, "root": {"path": "rootfs"}, "mounts": [{"destination": "/x", "type": "nfs"}]}""", "mount type nfs")]
    [InlineData("""{"process": {"args": ["sh"]}, "root": {"path": "rootfs"}, "mounts": [{"destination": "rel", "type": "tmpfs"}]}""", "absolute")]
    public void Plan_InvalidBundle_SaysWhy(string config, string expected)
    {
        Assert.Null(Plan(config, out string error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Plan_Terminal_AsksTheSentryForOne()
    {
        SandboxPlan? plan = Plan("""{"process": {"args": ["sh"], "terminal": true}, "root": {"path": "rootfs"}}""", out string error);
        Assert.True(plan != null, error);
        Assert.True(plan.Process.Terminal);
    }

    [Fact]
    public void Plan_BindMount_BecomesAVolume()
    {
        SandboxPlan? plan = Plan("""{"process": {"args": ["sh"]}, "root": {"path": "rootfs"}, "mounts": [{"destination": "/data/", "type": "bind", "source": "/etc", "options": ["rbind", "ro"]}, {"destination": "/w", "type": "none", "source": "/tmp", "options": ["bind"]}]}""", out string error);
        Assert.True(plan != null, error);
        Assert.Equal([("/etc", "/data", true), ("/tmp", "/w", false)], plan.Binds.Select(b => (b.Source, b.Destination, b.ReadOnly)));
        Assert.Equal(["rbind", "ro"], plan.Binds[0].Options);
    }

    [Theory]
    [InlineData("9", 9)]
    [InlineData("KILL", 9)]
    [InlineData("SIGTERM", 15)]
    [InlineData("sigusr1", 10)]
    [InlineData("0", -1)]
    [InlineData("65", -1)]
    [InlineData("NOPE", -1)]
    public void Signal_NumberOrName(string text, int expected) => Assert.Equal(expected, OciNames.Signal(text));

    [Theory]
    [InlineData("abc-1.2_x+y", true)]
    [InlineData("", false)]
    [InlineData("..", false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    public void ValidId_RuncRule(string id, bool valid) => Assert.Equal(valid, ContainerStore.ValidId(id));

    [Fact]
    public void HostPid_SelfIsAliveWithItsStartTime()
    {
        int self = System.Environment.ProcessId;
        ulong start = HostPid.StartTime(self);
        Assert.NotEqual(0UL, start);
        Assert.True(HostPid.IsAlive(self, start));
        Assert.False(HostPid.IsAlive(self, start + 1));
        Assert.False(HostPid.IsAlive(int.MaxValue, 0));
    }
}
