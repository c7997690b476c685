using System;
using System.Diagnostics;
using System.IO;
using Moat.Bench.Running;

namespace Moat.Tests.Bench;

/// <summary>A server workload that prints where it listens, measured by a command on the host (redis-get-outside's shape).</summary>
public sealed class HostClientProbeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("moat-hostclient-").FullName;

    // Says "h 7", then runs until the file "stop" appears (the host command's shutdown).
    private static readonly string[] s_server = ["/bin/sh", "-c", "echo 'h 7'; i=0; while [ ! -e stop ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done"];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Value_FromTheHostCommandsLastLine_WithTheServersAddressAndPort()
    {
        double v = double.NaN;
        string? error = "unset";
        string[] host = ["/bin/sh", "-c", "[ \"$1 $2 $3\" = 'h 7 n' ] || exit 5; touch stop; echo progress; echo 1234.5", "x", "{inside}", "{inside-port}", "{n}"];
        CommandResult r = CommandRunner.Run(s_server, _dir, TimeSpan.FromMinutes(1), c =>
            v = HostClientProbe.Run(c, host, a => a == "{n}" ? "n" : a, _dir, TimeSpan.FromMinutes(1), out error));

        Assert.Null(error);
        Assert.Equal(1234.5, v);
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void FailedHostCommand_IsTheError_AndTheServerIsStopped()
    {
        double v = 0;
        string? error = null;
        var clock = Stopwatch.StartNew();
        CommandResult r = CommandRunner.Run(s_server, _dir, TimeSpan.FromMinutes(1), c =>
            v = HostClientProbe.Run(c, ["/bin/sh", "-c", "echo refused >&2; exit 3"], a => a, _dir, TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(200), out error));

        Assert.True(double.IsNaN(v));
        Assert.Equal("the host client ended with status 3: refused", error);
        Assert.NotEqual(0, r.ExitCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the server ran on for {clock.Elapsed}");
    }

    [Fact]
    public void ServerLineNotAddressAndPort_IsTheError()
    {
        string? error = null;
        CommandRunner.Run(["/bin/sh", "-c", "echo ready"], _dir, TimeSpan.FromMinutes(1), c =>
            HostClientProbe.Run(c, ["/bin/true"], a => a, _dir, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5), out error));

        Assert.Equal("its first line is not 'ADDRESS PORT': 'ready'", error);
    }
}
