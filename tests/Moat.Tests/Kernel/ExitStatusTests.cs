using System;
using Moat.Sentry.Kernel;

namespace Moat.Tests.Kernel;

public class ExitStatusTests
{
    [Fact]
    public void Exited_Code3_ReportsCodeInHighByte()
    {
        ExitStatus s = ExitStatus.Exited(3);

        Assert.False(s.Signaled);
        Assert.Equal(3, s.Code);
        Assert.Equal(0x300, s.WaitStatus);
        Assert.Equal(3, s.ShellStatus);
    }

    [Fact]
    public void Exited_Code0_IsAllZero()
    {
        ExitStatus s = ExitStatus.Exited(0);

        Assert.Equal(0, s.WaitStatus);
        Assert.Equal(0, s.ShellStatus);
    }

    [Theory]
    [InlineData(256, 0)]
    [InlineData(257, 1)]
    [InlineData(-1, 255)]
    [InlineData(255, 255)]
    public void Exited_CodeOutOfByteRange_KeepsLowByte(int code, int expected)
    {
        ExitStatus s = ExitStatus.Exited(code);

        Assert.Equal(expected, s.Code);
        Assert.Equal(expected << 8, s.WaitStatus);
        Assert.Equal(expected, s.ShellStatus);
        Assert.False(s.Signaled);
    }

    [Fact]
    public void Killed_Signal9_ReportsSignalAnd137()
    {
        ExitStatus s = ExitStatus.Killed(9);

        Assert.True(s.Signaled);
        Assert.Equal(9, s.WaitStatus);
        Assert.Equal(137, s.ShellStatus);
    }

    [Fact]
    public void Killed_WithCore_SetsCoreBit()
    {
        ExitStatus s = ExitStatus.Killed(11, core: true);

        Assert.True(s.CoreDumped);
        Assert.Equal(11 | 0x80, s.WaitStatus);
        Assert.Equal(139, s.ShellStatus);
    }

    [Fact]
    public void WaitStatus_Exited_MatchesLinuxMacros()
    {
        int ws = ExitStatus.Exited(42).WaitStatus;

        // WIFEXITED: (status & 0x7f) == 0; WEXITSTATUS: (status >> 8) & 0xff.
        Assert.Equal(0, ws & 0x7f);
        Assert.Equal(42, (ws >> 8) & 0xff);
    }

    [Fact]
    public void WaitStatus_Killed_MatchesLinuxMacros()
    {
        int ws = ExitStatus.Killed(15).WaitStatus;

        // WIFSIGNALED: ((status & 0x7f) + 1) >> 1 > 0 (and not stopped); WTERMSIG: status & 0x7f.
        Assert.True(((sbyte)((ws & 0x7f) + 1) >> 1) > 0);
        Assert.Equal(15, ws & 0x7f);
        Assert.Equal(0, ws & 0x80);
    }
}
