using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// The sandbox is one cgroup v2 at /sys/fs/cgroup (<c>Vfs/CgroupFs.cs</c>): its limits are the sandbox's own
/// (<c>--memory</c>, <c>--pids</c>), found the way runtimes find them (/proc/self/cgroup and mountinfo), and a
/// memory limit is also the machine's size in /proc/meminfo and sysinfo(2). No native comparison: the host's
/// cgroup is not the sandbox's.
/// </summary>
public sealed class CgroupTests
{
    private const string Java = "/usr/bin/java";

    [Fact]
    public void Limits_AreTheSandboxes_AndFoundAsRuntimesFindThem()
    {
        RunResult r = MoatCli.Do(
            ["/bin/sh", "-c", """
                cat /proc/self/cgroup
                grep ' /sys/fs/cgroup ' /proc/self/mountinfo | cut -d' ' -f5-
                cd /sys/fs/cgroup
                for f in cgroup.controllers memory.max memory.swap.max pids.max cpu.max cgroup.type; do echo "$f=$(cat $f)"; done
                grep -qx 1 cgroup.procs && echo "pid 1 listed"
                [ "$(cat pids.current)" -ge 2 ] && echo "pids.current counts"
                [ "$(cat memory.current)" -gt 0 ] && echo "memory.current counts"
                stat -f -c %T .
                grep MemTotal /proc/meminfo
                echo 1 > memory.max || echo "write refused"
                mkdir child || echo "mkdir refused"
                """],
            "/",
            null,
            "--memory", "256M", "--pids", "50");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(
            """
            0::/
            /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw
            cgroup.controllers=cpuset cpu memory pids
            memory.max=268435456
            memory.swap.max=0
            pids.max=50
            cpu.max=max 100000
            cgroup.type=domain
            pid 1 listed
            pids.current counts
            memory.current counts
            cgroup2fs
            MemTotal:         262144 kB
            write refused
            mkdir refused

            """,
            r.StdoutText);
        Assert.Contains("Read-only file system", r.Stderr);
    }

    [Fact]
    public void NoLimits_ReadMax_AndCgroup2MountsAgain()
    {
        RunResult r = MoatCli.Do(
            ["/bin/sh", "-c", """
                cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max
                mkdir -p /tmp/cg && mount -t cgroup2 none /tmp/cg && cat /tmp/cg/cgroup.controllers
                grep ' /tmp/cg ' /proc/self/mountinfo | cut -d' ' -f5-
                mount -t cgroup -o memory none /tmp/cg 2>/dev/null || echo "cgroup v1 refused"
                grep -c cgroup2 /proc/filesystems
                """],
            "/",
            null);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("max\nmax\ncpuset cpu memory pids\n/tmp/cg rw,relatime - cgroup2 none rw\ncgroup v1 refused\n1\n", r.StdoutText);
    }

    [JavaFact]
    public void Java_SizesItsHeapFromTheMemoryLimit()
    {
        // The JVM's default maximum heap is a quarter of the memory it finds: 128 MiB of a 512 MiB sandbox.
        RunResult r = MoatCli.Do([Java, "-XX:+PrintFlagsFinal", "-version"], "/", null, "--memory", "512M");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Matches(@"size_t MaxHeapSize\s+= 134217728\s", r.StdoutText);
    }

    private sealed class JavaFactAttribute : FactAttribute
    {
        public JavaFactAttribute()
        {
            if (!File.Exists(Java))
            {
                Skip = Java + " is not installed (Debian's default-jre-headless package)";
            }
        }
    }
}
