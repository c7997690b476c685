using System;
using System.Collections.Generic;
using Moat.Cli.Oci;

namespace Moat.Tests.Oci;

/// <summary>runc's value syntaxes (Go durations, docker sizes), update's reading of linux.resources, and namespace paths.</summary>
public sealed class OciUnitsTests
{
    [Theory]
    [InlineData("5s", 5_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("100ms", 100)]
    [InlineData("1m30s", 90_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("0", 0)]
    public void TryParseDuration_GoSpellings(string text, long ms)
    {
        Assert.True(OciUnits.TryParseDuration(text, out TimeSpan value));
        Assert.Equal(ms, (long)value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("5x")]
    [InlineData("s")]
    public void TryParseDuration_Invalid(string text) => Assert.False(OciUnits.TryParseDuration(text, out _));

    [Theory]
    [InlineData("100", 100L)]
    [InlineData("64m", 64L << 20)]
    [InlineData("64M", 64L << 20)]
    [InlineData("1g", 1L << 30)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("2 kb", 2048L)]
    [InlineData("1.5k", 1536L)]
    public void TryParseRamBytes_DockerSizes(string text, long bytes)
    {
        Assert.True(OciUnits.TryParseRamBytes(text, out long value));
        Assert.Equal(bytes, value);
    }

    [Theory]
    [InlineData("12x")]
    [InlineData("-1")]
    [InlineData("m")]
    [InlineData("1mm")]
    public void TryParseRamBytes_Invalid(string text) => Assert.False(OciUnits.TryParseRamBytes(text, out _));

    [Fact]
    public void Read_UpdateResources_ZeroLeavesALimitMinusOneRemovesIt()
    {
        var ignored = new List<string>();
        Assert.True(OciResourceLimits.Read(new OciResources { Memory = new OciMemory { Limit = 50_000_000 }, Pids = new OciPids { Limit = -1 } }, ignored, out long memory, out long pids, out _));
        Assert.Equal(50_000_000, memory);
        Assert.Equal(-1, pids);
        Assert.True(OciResourceLimits.Read(new OciResources { Cpu = new OciCpu { Shares = 512, Mems = "0" } }, ignored, out memory, out pids, out _));
        Assert.Equal(0, memory);
        Assert.Equal(0, pids);
        Assert.Single(ignored); // mems; the shares are the host cgroup's
        Assert.Contains("cpu.mems", ignored[0], System.StringComparison.Ordinal);
        Assert.False(OciResourceLimits.Read(new OciResources { Memory = new OciMemory { Limit = -2 } }, ignored, out _, out _, out _));
    }
}
