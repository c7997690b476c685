using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text.Json.Nodes;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>events and update, compared with runc's cgroup counters and limits.</summary>
public sealed partial class OciRuntimeTests
{
    private const string Grow64MiB = "busybox awk 'BEGIN { s = \"x\"; while (length(s) < 67108864) s = s s; print length(s) }'";

    private static JsonNode Stats(string runtime, string state, string id)
    {
        RunResult r = Runtime(runtime, state, "events", "--stats", id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        JsonNode e = JsonNode.Parse(r.StdoutText)!;
        Assert.Equal("stats", (string?)e["type"]);
        Assert.Equal(id, (string?)e["id"]);
        Assert.True((long?)e["data"]!["cpu"]!["usage"]!["total"] >= 0);
        Assert.True((long?)e["data"]!["memory"]!["usage"]!["usage"] > 0);
        return e["data"]!;
    }

    // The limits, and whether tasks are counted (not how many: right after start, runc's Go init may still be
    // leaving, its threads in the pids cgroup).
    private static (ulong MemoryLimit, long? PidsLimit, bool Pids) Limits(JsonNode data) =>
        ((ulong)data["memory"]!["usage"]!["limit"]!, (long?)data["pids"]!["limit"], (long)data["pids"]!["current"]! >= 1);

    [Fact]
    public void EventsAndUpdate_LimitsChangeAtRunTime_AndAreEnforced_AsUnderRunc()
    {
        string bundle = Bundle("sleep 60");
        EditConfig(bundle, c =>
        {
            c["linux"]!["resources"]!["memory"] = new JsonObject { ["limit"] = 64L << 20 };
            c["linux"]!["resources"]!["pids"] = new JsonObject { ["limit"] = 20 };
        });
        string resources = Path.Combine(bundle, "resources.json");
        File.WriteAllText(resources, """{"memory": {"limit": 50000000}, "pids": {"limit": 7}}""");
        string[] outputs = ExecUnderRuncAndMoat(bundle, (runtime, state, id) =>
        {
            var seen = new List<string>();
            Assert.Equal((64UL << 20, 20L, true), Limits(Stats(runtime, state, id)));

            RunResult r = Runtime(runtime, state, "update", "--memory", "32m", "--pids-limit", "5", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal((32UL << 20, 5L, true), Limits(Stats(runtime, state, id)));

            r = Runtime(runtime, state, "update", "--resources", resources, id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal((49999872UL, 7L, true), Limits(Stats(runtime, state, id)));

            r = Runtime(runtime, state, "update", "--pids-limit", "-1", "--memory", "-1", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal((9223372036854771712UL, (long?)null, true), Limits(Stats(runtime, state, id)));

            r = Runtime(runtime, state, "update", "--memory", "12x", id);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("invalid value for memory: invalid size: '12x'", r.Stderr);

            // The new limits hold: a process growing beyond the new cap is killed as the OOM killer kills it; three
            // tasks run (init, two shells), nine sleeps more, then fork fails. (Not fewer pids:
            // runc's exec starts a Go process in the container's pids cgroup, whose threads count too.)
            r = Runtime(runtime, state, "update", "--memory", "32m", "--pids-limit", "12", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            r = Runtime(runtime, state, "exec", id, "sh", "-c", Grow64MiB);
            seen.Add("grow " + r.ExitCode);

            // The killed process's memory may still be going back when its exit is reported; the forks below are
            // about the pids limit, so let it go first (once, an exec under the nearly full cap failed EFAULT).
            for (int i = 0; i < 100 && (long)Stats(runtime, state, id)["memory"]!["usage"]!["usage"]! > 16L << 20; i++)
            {
                System.Threading.Thread.Sleep(100);
            }
            r = Runtime(runtime, state, "exec", id, "sh", "-c", "sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do sleep 1 & done' 2>&1; echo \"status $?\"");
            Assert.True(r.ExitCode == 0, r.Stderr);
            seen.Add(r.StdoutText);
            return string.Join("|", seen);
        });
        Assert.Equal("grow 137|sh: can't fork: Resource temporarily unavailable\nstatus 2\n", outputs[1]);
    }

    [Fact]
    public void MemorySwap_ShownInTheCgroup_CheckedAgainstTheMemoryLimit_AsRuncChecksIt()
    {
        // memory+swap of 64 MiB over a 32 MiB limit: memory.swap.max is the difference, as runc writes it for
        // cgroup v2; the sandbox never swaps, so what it may use stays the 32 MiB limit.
        string bundle = Bundle("sleep 60");
        EditConfig(bundle, c => c["linux"]!["resources"]!["memory"] = new JsonObject { ["limit"] = 32L << 20, ["swap"] = 64L << 20 });
        string state = HostScratch.NewDirectory("state");
        string id = "m" + Guid.NewGuid().ToString("N")[..8];
        RunResult r = Runtime("moat", state, "run", "--detach", "--bundle", bundle, id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        try
        {
            string Cgroup() => Runtime("moat", state, "exec", id, "sh", "-c", "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.swap.max /sys/fs/cgroup/memory.swap.current").StdoutText;
            Assert.Equal("33554432\n33554432\n0\n", Cgroup());

            r = Runtime("moat", state, "update", "--memory-swap", "48m", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("33554432\n16777216\n0\n", Cgroup());

            // Below the memory limit: refused with runc's message, nothing changed.
            r = Runtime("moat", state, "update", "--memory-swap", "16m", id);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("memory+swap limit should be >= memory limit", r.Stderr);
            r = Runtime("moat", state, "update", "--memory", "64m", id);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("memory+swap limit should be >= memory limit", r.Stderr);
            Assert.Equal("33554432\n16777216\n0\n", Cgroup());

            r = Runtime("moat", state, "update", "--memory", "64m", "--memory-swap", "-1", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("67108864\nmax\n0\n", Cgroup());
        }
        finally
        {
            Runtime("moat", state, "delete", "--force", id);
        }

        // A memory+swap limit without a memory limit: create fails as runc's does.
        string noLimit = Bundle("true");
        EditConfig(noLimit, c => c["linux"]!["resources"]!["memory"] = new JsonObject { ["swap"] = 64L << 20 });
        r = Runtime("moat", state, "create", "--bundle", noLimit, "n" + id);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("unable to set swap limit without memory limit", r.Stderr);
        Runtime("moat", state, "delete", "--force", "n" + id);
    }

    [Fact]
    public void Update_AControlMoatDoesNotEnforce_IsRefusedByName()
    {
        string bundle = Bundle("sleep 60");
        string state = HostScratch.NewDirectory("state");
        string id = "m" + Guid.NewGuid().ToString("N")[..8];
        RunResult r = Runtime("moat", state, "run", "--detach", "--bundle", bundle, id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        try
        {
            r = Runtime("moat", state, "update", "--blkio-weight", "500", id);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("--blkio-weight is not supported by moat", r.Stderr);
        }
        finally
        {
            Runtime("moat", state, "delete", "--force", id);
        }
    }

    [Theory]
    [InlineData("runc")]
    [InlineData("moat")]
    public void Events_TheMemoryCapKillsAProcess_AnOomEventIsPrinted_AsUnderRunc(string runtime)
    {
        string bundle = Bundle("sleep 60");
        EditConfig(bundle, c => c["linux"]!["resources"]!["memory"] = new JsonObject { ["limit"] = 32L << 20 });
        string state = HostScratch.NewDirectory("state");
        string id = runtime + "-" + Guid.NewGuid().ToString("N")[..8];
        RunResult r = Runtime(runtime, state, "run", "--detach", "--bundle", bundle, id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string events = Path.Combine(HostScratch.NewDirectory("events"), "out");
        var args = new List<string> { "-c", "exec \"$@\" </dev/null >'" + events + "' 2>/dev/null", "sh", Binary(runtime) };
        args.AddRange(Prefix(runtime));
        args.AddRange(["--root", state, "events", "--interval", "1h", id]);
        using var stream = Process.Start("/bin/sh", args)!;
        try
        {
            // The stream is up once it has read the counters once; a kill before that would be missed by nobody
            // else either, so give it a moment by waiting on a harmless exec first.
            Assert.Equal(0, Runtime(runtime, state, "exec", id, "true").ExitCode);
            System.Threading.Thread.Sleep(1000);
            r = Runtime(runtime, state, "exec", id, "sh", "-c", Grow64MiB);
            Assert.Equal(137, r.ExitCode);
            WaitFor(() => File.ReadAllText(events).Contains("\"type\":\"oom\"", StringComparison.Ordinal), "the oom event");
            Assert.Contains("{\"type\":\"oom\",\"id\":\"" + id + "\"}", File.ReadAllText(events));
        }
        finally
        {
            stream.Kill();
            stream.WaitForExit();
            Runtime(runtime, state, "delete", "--force", id);
        }
    }
}
