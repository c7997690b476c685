using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using Moat.Platform.Systrap;

namespace Moat.Tests.Platform;

/// <summary>
/// The systrap stub's two seccomp programs, run through a small classic-BPF interpreter, and its machine
/// code checked against stub.S.
/// </summary>
public class SystrapStubImageTests
{
    private const ulong Base = SystrapStubImage.StubBase;
    private const uint X86_64 = 0xC000003E;
    private const uint I386 = 0x40000003;
    private const uint Allow = 0x7FFF0000;
    private const uint Trap = 0x00030000;

    private static readonly byte[] s_image = SystrapStubImage.Build(4242);

    private readonly record struct Insn(ushort Code, byte Jt, byte Jf, uint K);

    private static List<Insn> Filter(int fprogOffset)
    {
        ushort len = BinaryPrimitives.ReadUInt16LittleEndian(s_image.AsSpan(fprogOffset));
        ulong addr = BinaryPrimitives.ReadUInt64LittleEndian(s_image.AsSpan(fprogOffset + 8));
        Assert.InRange(addr, Base, Base + 4095);
        int at = checked((int)(addr - Base));
        var insns = new List<Insn>();
        for (int i = 0; i < len; i++)
        {
            ReadOnlySpan<byte> s = s_image.AsSpan(at + i * 8, 8);
            insns.Add(new Insn(BinaryPrimitives.ReadUInt16LittleEndian(s), s[2], s[3], BinaryPrimitives.ReadUInt32LittleEndian(s[4..])));
        }

        return insns;
    }

    private static uint Run(List<Insn> prog, int nr, ulong ip, uint arch = X86_64, uint arg0 = 0)
    {
        uint a = 0;
        int pc = 0;
        for (int steps = 0; steps < 1000; steps++)
        {
            Insn i = prog[pc];
            switch (i.Code)
            {
                case 0x20:
                    a = i.K switch
                    {
                        0 => (uint)nr,
                        4 => arch,
                        8 => (uint)ip,
                        12 => (uint)(ip >> 32),
                        16 => arg0,
                        _ => throw new InvalidOperationException("unexpected load offset " + i.K),
                    };
                    pc++;
                    break;
                case 0x15:
                    pc += 1 + (a == i.K ? i.Jt : i.Jf);
                    break;
                case 0x25:
                    pc += 1 + (a > i.K ? i.Jt : i.Jf);
                    break;
                case 0x06:
                    return i.K;
                default:
                    throw new InvalidOperationException("unexpected BPF opcode " + i.Code);
            }
        }

        throw new InvalidOperationException("filter did not terminate");
    }

    private static List<Insn> F1 => Filter(SystrapStubImage.F1ProgOffset);

    private static List<Insn> F2 => Filter(SystrapStubImage.F2ProgOffset);

    private static readonly ulong s_stubIp = SystrapStubImage.Address(SystrapStubCode.Handler) + 0x40;
    private const ulong AppIp = 0x401000;

    // What an app thread gets: both filters apply and the stricter answer wins (TRAP over ALLOW).
    private static uint AppThread(int nr, ulong ip, uint arch = X86_64, uint arg0 = 0)
    {
        uint a = Run(F1, nr, ip, arch, arg0);
        uint b = Run(F2, nr, ip, arch, arg0);
        return a == Allow && b == Allow ? Allow : Trap;
    }

    [Theory]
    [InlineData(39)] // getpid
    [InlineData(9)] // mmap
    [InlineData(202)] // futex
    [InlineData(15)] // rt_sigreturn
    [InlineData(59)] // execve
    public void AppCode_TrapsEverySyscall(int nr)
    {
        Assert.Equal(Trap, AppThread(nr, AppIp));
    }

    [Theory]
    [InlineData(202, Allow)] // futex: the hand-off
    [InlineData(15, Allow)] // rt_sigreturn: back to the app
    [InlineData(60, Allow)] // exit: a thread told to go
    [InlineData(9, Trap)] // mmap: only injectors map
    [InlineData(11, Trap)]
    [InlineData(56, Trap)]
    [InlineData(317, Trap)]
    [InlineData(131, Trap)]
    [InlineData(59, Trap)]
    [InlineData(1, Trap)] // write: only the mapper answers on its pipe
    [InlineData(14, Trap)] // rt_sigprocmask: only the mapper blocks its signals
    public void StubCode_OnAnAppThread_MayOnlyWaitReturnOrExit(int nr, uint expected)
    {
        Assert.Equal(expected, AppThread(nr, s_stubIp));
    }

    [Fact]
    public void JustPastTheStubPage_IsAppCode()
    {
        Assert.Equal(Trap, AppThread(202, Base + 4096));
        Assert.Equal(Trap, AppThread(202, Base - 2));
        Assert.Equal(Trap, AppThread(202, (s_stubIp & 0xffffffff) | 0x7e00_0000_0000));
    }

    [Fact]
    public void OtherArchitectures_Trap()
    {
        Assert.Equal(Trap, Run(F1, 20, s_stubIp, I386));
        Assert.Equal(Trap, AppThread(1, s_stubIp, I386)); // int 0x80 exit
    }

    [Fact]
    public void Injectors_MayMapAndCloneThreadsOnly()
    {
        Assert.Equal(Allow, Run(F1, 9, s_stubIp));
        Assert.Equal(Allow, Run(F1, 11, s_stubIp));
        Assert.Equal(Allow, Run(F1, 56, s_stubIp, arg0: 0x10F00));
        Assert.Equal(Trap, Run(F1, 56, s_stubIp, arg0: 0x11)); // fork-style clone
        Assert.Equal(Allow, Run(F1, 1, s_stubIp)); // write: the mapper's answer
        Assert.Equal(Trap, Run(F1, 0, s_stubIp)); // read
        Assert.Equal(Trap, Run(F1, 2, s_stubIp)); // open
        Assert.Equal(Trap, Run(F1, 59, s_stubIp)); // execve
    }

    [Fact]
    public void SignalHandler_PointsAtTheStubsHandlerAndRestorer()
    {
        ReadOnlySpan<byte> act = s_image.AsSpan(0x7a0, 32);
        Assert.Equal(SystrapStubImage.Address(SystrapStubCode.Handler), BinaryPrimitives.ReadUInt64LittleEndian(act));
        Assert.Equal(SystrapStubImage.Address(SystrapStubCode.Restorer), BinaryPrimitives.ReadUInt64LittleEndian(act[16..]));
        Assert.Equal(4242, BinaryPrimitives.ReadInt32LittleEndian(s_image.AsSpan(0x7f0)));
    }

    [Fact]
    public void MachineCode_MatchesStubSource()
    {
        string? src = FindUp(Path.Combine("src", "Moat.Platform", "Systrap", "stub.S"));
        if (src == null || !OnPath("as") || !OnPath("objcopy"))
        {
            return; // the check needs the sources and binutils
        }

        string dir = Directory.CreateTempSubdirectory("moat-stub-").FullName;
        try
        {
            Exec("as", "-o", Path.Combine(dir, "stub.o"), src);
            Exec("objcopy", "-O", "binary", "-j", ".text", Path.Combine(dir, "stub.o"), Path.Combine(dir, "stub.bin"));
            Assert.True(
                File.ReadAllBytes(Path.Combine(dir, "stub.bin")).AsSpan().SequenceEqual(SystrapStubCode.Bytes),
                "SystrapStubCode.cs is stale: run tools/gen-systrap-stub.py");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static string? FindUp(string relative)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            string p = Path.Combine(d.FullName, relative);
            if (File.Exists(p))
            {
                return p;
            }
        }

        return null;
    }

    private static bool OnPath(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':'))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, tool)))
            {
                return true;
            }
        }

        return false;
    }

    private static void Exec(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, file + ": " + err);
    }
}
