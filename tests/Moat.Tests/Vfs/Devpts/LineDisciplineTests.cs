using System;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Vfs.Devpts;

namespace Moat.Tests.Vfs.Devpts;

public class LineDisciplineTests
{
    private static string Take(LineDiscipline ld, int max = 4096)
    {
        int n = ld.Available(max, out bool line);
        (ReadOnlyMemory<byte> a, ReadOnlyMemory<byte> b) = ld.PeekInput(n);
        string s = Encoding.Latin1.GetString(a.Span) + Encoding.Latin1.GetString(b.Span);
        ld.Consume(n, line);
        return s;
    }

    private static string Echo(LineDiscipline ld)
    {
        (ReadOnlyMemory<byte> a, ReadOnlyMemory<byte> b) = ld.Output.Peek(ld.Output.Count);
        string s = Encoding.Latin1.GetString(a.Span) + Encoding.Latin1.GetString(b.Span);
        ld.Output.Drop(ld.Output.Count);
        return s;
    }

    private static ulong Type(LineDiscipline ld, string input)
    {
        ulong signals = 0;
        Assert.Equal(input.Length, ld.Receive(Encoding.Latin1.GetBytes(input), ref signals));
        return signals;
    }

    [Fact]
    public void Canonical_PartialLine_IsNotReadable_UntilNewline()
    {
        var ld = new LineDiscipline();
        Type(ld, "ab");
        Assert.False(ld.PollReadable);
        Assert.Equal(0, ld.ReadableCount);
        Type(ld, "\n");
        Assert.True(ld.PollReadable);
        Assert.Equal("ab\n", Take(ld));
        Assert.Equal("ab\r\n", Echo(ld));
    }

    [Fact]
    public void Canonical_EraseAndKill_EditTheLineAndEchoTheirUndoing()
    {
        var ld = new LineDiscipline();
        Type(ld, "abc\x7f" + "d\n");
        Assert.Equal("abd\n", Take(ld));
        Assert.Equal("abc\b \bd\r\n", Echo(ld));
        Type(ld, "hello big world\x17there\n");
        Assert.Equal("hello big there\n", Take(ld));
        Echo(ld);
        Type(ld, "junk\x15ok\n");
        Assert.Equal("ok\n", Take(ld));
    }

    [Fact]
    public void Canonical_Eof_EndsTheLineWithoutItself_AndAloneReadsAsEndOfFile()
    {
        var ld = new LineDiscipline();
        Type(ld, "xy\x04\x04");
        Assert.Equal("xy", Take(ld));
        Assert.True(ld.HasLine);
        Assert.Equal(string.Empty, Take(ld));
        Assert.False(ld.HasLine);
    }

    [Fact]
    public void Canonical_ShortReads_ContinueTheSameLine()
    {
        var ld = new LineDiscipline();
        Type(ld, "abcdef\nxy\n");
        Assert.Equal("abc", Take(ld, 3));
        Assert.Equal("def\n", Take(ld));
        Assert.Equal("xy\n", Take(ld));
    }

    [Fact]
    public void Isig_Intr_SignalsAndFlushesTheLine()
    {
        var ld = new LineDiscipline();
        ulong signals = Type(ld, "partial\x03");
        Assert.Equal(1UL << (Signal.SIGINT - 1), signals);
        Assert.Equal("partial^C", Echo(ld));
        Type(ld, "\n");
        Assert.Equal("\n", Take(ld));
        Assert.Equal(1UL << (Signal.SIGTSTP - 1), Type(ld, "\x1a"));
        Assert.Equal(1UL << (Signal.SIGQUIT - 1), Type(ld, "\x1c"));
    }

    [Fact]
    public void Raw_PassesBytesAsTheyCome_AndSwitchingBackMakesThemOneLine()
    {
        var ld = new LineDiscipline();
        KernelTermios t = ld.Termios;
        t.LFlag &= ~(Tio.ICANON | Tio.ECHO | Tio.ISIG);
        ld.SetTermios(t);
        Assert.Equal(0UL, Type(ld, "\x03q"));
        Assert.Equal(string.Empty, Echo(ld));
        Assert.Equal("\x03q", Take(ld));
        Type(ld, "pq");
        t.LFlag |= Tio.ICANON;
        ld.SetTermios(t);
        Assert.True(ld.HasLine);
        Assert.Equal("pq", Take(ld));
    }

    [Fact]
    public void Output_Onlcr_AndWithoutOpostUnchanged()
    {
        var ld = new LineDiscipline();
        Assert.Equal(4, ld.Write("a\nb\n"u8));
        Assert.Equal("a\r\nb\r\n", Echo(ld));
        KernelTermios t = ld.Termios;
        t.OFlag &= ~Tio.OPOST;
        ld.SetTermios(t);
        ld.Write("a\nb\r"u8);
        Assert.Equal("a\nb\r", Echo(ld));
    }

    [Fact]
    public void Output_StopsTakingBytesWhenTheMastersQueueIsFull()
    {
        var ld = new LineDiscipline();
        byte[] big = new byte[LineDiscipline.QueueCapacity * 2];
        big.AsSpan().Fill((byte)'x');
        int took = ld.Write(big);
        Assert.True(took > 0 && took < big.Length);
        Assert.True(ld.Output.Room < 8);
    }
}
