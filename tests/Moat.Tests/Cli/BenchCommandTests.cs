using System;
using System.Linq;
using Moat.Bench.Running;
using Moat.Cli;
using Moat.Cli.CommandLine;

namespace Moat.Tests.Cli;

/// <summary>moat bench's flags, as they reach the bench session.</summary>
public sealed class BenchCommandTests
{
    private static BenchOptions Options(params string[] args) =>
        BenchCommand.Options(ArgParser.Parse(BenchCommand.Spec, args, out string error) ?? throw new ArgumentException(error));

    [Theory]
    [InlineData(new[] { "--load", "2" }, 2)]
    [InlineData(new[] { "--load=3" }, 3)]
    [InlineData(new[] { "--load", "0" }, 0)]
    [InlineData(new string[0], 0)]
    public void Load_ReachesTheOptions(string[] args, int expected)
    {
        Assert.Equal(expected, Options(args).Load);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("two")]
    [InlineData("")]
    public void Load_NotANumber_Fails(string value)
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => Options("--load", value));
        Assert.Contains("--load", e.Message);
    }

    [Fact]
    public void Options_OtherFlagsBesideLoad()
    {
        BenchOptions o = Options("--quick", "--load", "1", "--workloads", "getpid,shell-loop", "--compare", "x=env moat do");
        Assert.True(o.Quick);
        Assert.Equal(1, o.Load);
        Assert.Equal(3, o.Repetitions);
        Assert.Equal(new[] { "getpid", "shell-loop" }, o.Workloads.Select(w => w.Name));
        // moat-systrap only where the host can run it (FSGSBASE).
        string[] expected = Moat.Platform.Systrap.SystrapPlatform.IsSupported ? ["native", "moat-systrap", "moat-ptrace", "x"] : ["native", "moat-ptrace", "x"];
        Assert.Equal(expected, o.Runners.Select(r => r.Name));
    }

    [Fact]
    public void Help_ListsLoad()
    {
        var w = new System.IO.StringWriter();
        BenchCommand.Spec.WriteUsage(w);
        Assert.Contains("--load", w.ToString());
        Assert.Contains("CPU-bound host threads", w.ToString());
    }
}
