using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// linux.resources.cpu and linux.cgroupsPath: the sandbox's host processes run in a host cgroup carrying the
/// spec's quota, period and shares, as runc puts the container's init in one; update rewrites them; delete
/// removes it. Read on the host, never timed.
/// </summary>
public sealed partial class OciRuntimeTests
{
    private const string CgroupRoot = "/sys/fs/cgroup";

    // The directory of the cpu hierarchy's root: cgroup2 at /sys/fs/cgroup with the cpu controller, or the v1
    // mount with the cpu controller. Null when neither is there.
    private static string? CpuHierarchy()
    {
        if (File.Exists(CgroupRoot + "/cgroup.controllers"))
        {
            return File.ReadAllText(CgroupRoot + "/cgroup.controllers").Split(' ', '\n').Contains("cpu") ? CgroupRoot : null;
        }

        foreach (string line in File.ReadAllLines("/proc/self/mountinfo"))
        {
            string[] halves = line.Split(" - ", 2);
            string[] after = halves.Length == 2 ? halves[1].Split(' ') : [];
            if (after.Length >= 3 && after[0] == "cgroup" && after[2].Split(',').Contains("cpu"))
            {
                return halves[0].Split(' ')[4];
            }
        }

        return null;
    }

    // A process's cgroup in the cpu hierarchy, from /proc/PID/cgroup.
    private static string CpuCgroupOf(int pid)
    {
        bool v2 = File.Exists(CgroupRoot + "/cgroup.controllers");
        foreach (string line in File.ReadAllLines($"/proc/{pid}/cgroup"))
        {
            string[] f = line.Split(':', 3);
            if (v2 ? f[0] == "0" : f[1].Split(',').Contains("cpu"))
            {
                return f[2];
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/cgroup has no cpu line");
    }

    // The CPU settings of a cgroup as the kernel shows them: v2's cpu.max and cpu.weight, v1's quota, period, shares.
    private static string CpuSettings(string cgroup)
    {
        string dir = CpuHierarchy() + cgroup;
        string Read(string file) => File.ReadAllText(Path.Combine(dir, file)).Trim();
        return File.Exists(Path.Combine(dir, "cgroup.controllers"))
            ? $"cpu.max {Read("cpu.max")} cpu.weight {Read("cpu.weight")}"
            : $"quota {Read("cpu.cfs_quota_us")} period {Read("cpu.cfs_period_us")} shares {Read("cpu.shares")}";
    }

    private static int StatePid(string runtime, string state, string id)
    {
        RunResult r = Runtime(runtime, state, "state", id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return (int)JsonNode.Parse(r.StdoutText)!["pid"]!;
    }

    [CpuCgroupFact]
    public void Run_CpuQuotaAndShares_TheSandboxRunsInAHostCgroupWithThem_UpdateChangesThem_AsUnderRunc()
    {
        string bundle = Bundle("sleep 60");
        string parent = "/moat-test-" + Guid.NewGuid().ToString("N")[..8];
        EditConfig(bundle, c =>
        {
            c["linux"]!["resources"]!["cpu"] = new JsonObject { ["quota"] = 50000, ["period"] = 100000, ["shares"] = 512 };
            c["linux"]!["cgroupsPath"] = parent + "/c";
        });
        string resources = Path.Combine(bundle, "resources.json");
        File.WriteAllText(resources, """{"cpu": {"quota": -1, "shares": 1024}}""");
        try
        {
            string[] outputs = ExecUnderRuncAndMoat(bundle, (runtime, state, id) =>
            {
                int pid = StatePid(runtime, state, id);
                string cgroup = CpuCgroupOf(pid);
                // Every host process of the container is in it: runc's init, or moat's sandbox process, its gofer,
                // its Sentry and the stubs running the container's processes.
                var tree = HostProcesses.Descendants(pid);
                Assert.True(runtime == "runc" || tree.Count >= 3, $"{runtime}: {tree.Count} processes below the container's pid");
                foreach (int p in tree)
                {
                    Assert.Equal(cgroup, CpuCgroupOf(p));
                }

                string seen = cgroup + ": " + CpuSettings(cgroup);
                RunResult r = Runtime(runtime, state, "update", "--cpu-quota", "20000", "--cpu-period", "50000", "--cpu-share", "256", id);
                Assert.True(r.ExitCode == 0, r.Stderr);
                seen += " | " + CpuSettings(cgroup);
                r = Runtime(runtime, state, "update", "--resources", resources, id);
                Assert.True(r.ExitCode == 0, r.Stderr);
                return seen + " | " + CpuSettings(cgroup);
            });
            Assert.Equal(
                CpuHierarchy() == CgroupRoot
                    ? $"{parent}/c: cpu.max 50000 100000 cpu.weight 20 | cpu.max 20000 50000 cpu.weight 10 | cpu.max max 50000 cpu.weight 39"
                    : $"{parent}/c: quota 50000 period 100000 shares 512 | quota 20000 period 50000 shares 256 | quota -1 period 50000 shares 1024",
                outputs[1]);

            // Each runtime's delete removed the container's cgroup; the parent it made stays, under runc too.
            Assert.False(Directory.Exists(CpuHierarchy() + parent + "/c"));
        }
        finally
        {
            if (Directory.Exists(CpuHierarchy() + parent + "/c"))
            {
                Directory.Delete(CpuHierarchy() + parent + "/c");
            }

            if (Directory.Exists(CpuHierarchy() + parent))
            {
                Directory.Delete(CpuHierarchy() + parent);
            }
        }
    }

    [CpuCgroupTheory]
    [InlineData("runc")]
    [InlineData("moat")]
    public void Run_WithoutACgroupsPath_TheCgroupIsTheIdBelowTheRuntimes_RemovedAtDelete(string runtime)
    {
        string bundle = Bundle("sleep 60");
        EditConfig(bundle, c => c["linux"]!["resources"]!["cpu"] = new JsonObject { ["quota"] = 30000 });
        string state = HostScratch.NewDirectory("state");
        string id = runtime + "-" + Guid.NewGuid().ToString("N")[..8];
        string own = CpuCgroupOf(Environment.ProcessId);
        string expected = own.TrimEnd('/') + "/" + id;
        RunResult r = Runtime(runtime, state, "run", "--detach", "--bundle", bundle, id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        try
        {
            Assert.Equal(expected, CpuCgroupOf(StatePid(runtime, state, id)));
            Assert.StartsWith(File.Exists(CgroupRoot + "/cgroup.controllers") ? "cpu.max 30000 100000" : "quota 30000 period 100000", CpuSettings(expected), StringComparison.Ordinal);

            // A value the kernel refuses fails the update, as runc's write fails (a quota under 1 ms).
            r = Runtime(runtime, state, "update", "--cpu-quota", "10", id);
            Assert.Equal(1, r.ExitCode);
            Assert.StartsWith(File.Exists(CgroupRoot + "/cgroup.controllers") ? "cpu.max 30000 100000" : "quota 30000 period 100000", CpuSettings(expected), StringComparison.Ordinal);
        }
        finally
        {
            r = Runtime(runtime, state, "delete", "--force", id);
        }

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.False(Directory.Exists(CpuHierarchy() + expected), expected + " is left after delete");

        // run in the foreground deletes the container when it ends: its cgroup goes too.
        EditConfig(bundle, c => c["process"]!["args"] = new JsonArray("true"));
        r = Runtime(runtime, state, "run", "--bundle", bundle, id + "f");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.False(Directory.Exists(CpuHierarchy() + expected + "f"), expected + "f is left after run");
    }

    // Skipped where the host has no cpu cgroup hierarchy this test may write (a container without cgroup access).
    private static string? CpuCgroupSkip()
    {
        string? root = CpuHierarchy();
        if (root == null)
        {
            return "no cgroup hierarchy with the cpu controller is mounted";
        }

        string probe = Path.Combine(root, "moat-probe-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"the cpu cgroup hierarchy at {root} is not writable here: {e.Message}";
        }
    }

    private sealed class CpuCgroupFactAttribute : FactAttribute
    {
        public CpuCgroupFactAttribute()
        {
            Skip = CpuCgroupSkip();
        }
    }

    private sealed class CpuCgroupTheoryAttribute : TheoryAttribute
    {
        public CpuCgroupTheoryAttribute()
        {
            Skip = CpuCgroupSkip();
        }
    }
}
