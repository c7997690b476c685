using System;
using Moat.Bench.Running;

namespace Moat.Tests.Bench;

public sealed class CommandRunnerTests
{
    [Fact]
    public void Probe_SeesTheFirstLine_WhileTheCommandStillRuns()
    {
        bool sawLine = false;
        bool stillRunning = false;
        CommandResult r = CommandRunner.Run(["/bin/sh", "-c", "echo ready; sleep 1; echo done"], "/", TimeSpan.FromMinutes(1), c =>
        {
            sawLine = c.WaitForFirstLine(TimeSpan.FromSeconds(30));
            stillRunning = !c.Process.HasExited;
        });

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
