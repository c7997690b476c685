using System;
using Moat.Bench.Running;

namespace Moat.Tests.Bench;

public sealed class CommandRunnerTests
{
    [Fact]
    public void Probe_SeesTheFirstLine_WhileTheCommandStillRuns()
    {
        // The command runs on until the probe lets it go (a file), so the order holds on a busy machine too.
        string dir = System.IO.Directory.CreateTempSubdirectory("moat-runner-").FullName;
        bool sawLine = false;
        bool stillRunning = false;
        CommandResult r = CommandRunner.Run(["/bin/sh", "-c", "echo ready; while [ ! -e go ]; do sleep 0.02; done; echo done"], dir, TimeSpan.FromMinutes(1), c =>
        {
            sawLine = c.WaitForFirstLine(TimeSpan.FromSeconds(30));
            stillRunning = !c.Process.HasExited;
            System.IO.File.WriteAllText(System.IO.Path.Combine(dir, "go"), "");
        });
        System.IO.Directory.Delete(dir, recursive: true);

        Assert.True(sawLine);
        Assert.True(stillRunning);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("ready\ndone\n", r.Stdout);
    }

    [Fact]
    public void Probe_StopsWaiting_WhenTheCommandEndsWithoutALine()
    {
        bool sawLine = true;
        CommandResult r = CommandRunner.Run(["/bin/sh", "-c", "exit 3"], "/", TimeSpan.FromMinutes(1), c => sawLine = c.WaitForFirstLine(TimeSpan.FromMinutes(1)));

        Assert.False(sawLine);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("", r.Stdout);
    }
}
