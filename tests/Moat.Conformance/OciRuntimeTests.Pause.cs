using System;
using System.IO;
using System.Text.Json.Nodes;
using System.Threading;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>pause and resume, compared with runc's freezer cgroup.</summary>
public sealed partial class OciRuntimeTests
{
    // Adds a read-write bind of a fresh host directory at /out; returns the bundle's config edit and the directory.
    private static string BindOut(string bundle)
    {
        string dir = HostScratch.NewDirectory("out");
        EditConfig(bundle, c => c["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/out",
            ["type"] = "bind",
            ["source"] = dir,
            ["options"] = new JsonArray("rbind", "rw"),
        }));
        return dir;
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        for (int i = 0; i < 400 && !condition(); i++)
        {
            Thread.Sleep(50);
        }

        Assert.True(condition(), "timed out waiting for " + what);
    }

    [Theory]
    [InlineData("runc")]
    [InlineData("moat")]
    public void PauseResume_EveryTaskStopsWithoutASignal_ATimerDueMeanwhileEndsAfterResume_AsUnderRunc(string runtime)
    {
        // A handler for each signal a stop or a continue would bring, a sleep the pause outlasts, and a child that
        // ticks: while paused nothing ticks and the sleep does not end; after resume it ends, no handler ran, and
        // the container's status is its own.
        string bundle = Bundle("""
            trap 'echo got CONT' CONT; trap 'echo got TSTP' TSTP; trap 'echo got USR1' USR1
            (while :; do echo t >> /out/ticks; busybox usleep 20000; done) &
            echo ready > /out/ready
            sleep 3
            echo woke > /out/woke
            echo woke
            exit 7
            """);
        string outDir = BindOut(bundle);
        string state = HostScratch.NewDirectory("state");
        string id = runtime + "-" + Guid.NewGuid().ToString("N")[..8];
        RunResult? ran = null;
        var run = new Thread(() => ran = Runtime(runtime, state, "run", "--bundle", bundle, id));
        run.Start();
        try
        {
            WaitFor(() => File.Exists(Path.Combine(outDir, "ready")) && File.Exists(Path.Combine(outDir, "ticks")), "the container to start");
            RunResult r = Runtime(runtime, state, "pause", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("paused", (string?)State(runtime, state, id)["status"]);
            Assert.False(File.Exists(Path.Combine(outDir, "woke")), "the sleep ended before the pause (the machine is too slow for this test)");

            r = Runtime(runtime, state, "pause", id);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("container not running", r.Stderr);
            r = Runtime(runtime, state, "exec", id, "echo", "in");
            Assert.Equal(255, r.ExitCode);
            Assert.Contains("cannot exec in a paused container", r.Stderr);

            // The sleep's time passes while paused: it neither ends nor ticks meanwhile.
            long ticks = new FileInfo(Path.Combine(outDir, "ticks")).Length;
            Thread.Sleep(4000);
            Assert.False(File.Exists(Path.Combine(outDir, "woke")), "the sleep ended while paused");
            Assert.Equal(ticks, new FileInfo(Path.Combine(outDir, "ticks")).Length);
            Assert.Equal("paused", (string?)State(runtime, state, id)["status"]);

            // (The foreground run deletes the container as soon as it ends, so its state is not read again.)
            r = Runtime(runtime, state, "resume", id);
            Assert.True(r.ExitCode == 0, r.Stderr);

            Assert.True(run.Join(60_000), "the container did not end after resume");
            Assert.Equal(7, ran!.ExitCode);
            Assert.Equal("woke\n", ran.StdoutText);
        }
        finally
        {
            Runtime(runtime, state, "delete", "--force", id);
            run.Join(60_000);
        }
    }

    [Theory]
    [InlineData("runc")]
    [InlineData("moat")]
    public void Pause_ThenDeleteForce_EndsTheContainer_AsUnderRunc(string runtime)
    {
        string bundle = Bundle("sleep 60");
        string state = HostScratch.NewDirectory("state");
        string id = runtime + "-" + Guid.NewGuid().ToString("N")[..8];
        RunResult r = Runtime(runtime, state, "run", "--detach", "--bundle", bundle, id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = Runtime(runtime, state, "resume", id);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("container not paused", r.Stderr);
        r = Runtime(runtime, state, "pause", id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = Runtime(runtime, state, "delete", id);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("paused", r.Stderr);
        r = Runtime(runtime, state, "delete", "--force", id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = Runtime(runtime, state, "state", id);
        Assert.Contains("does not exist", r.Stderr);
    }
}
