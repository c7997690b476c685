using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using Moat.Abi;
using Moat.Platform.Ptrace;
using Moat.Sentry.Loader;

namespace Moat.Tests.Platform;

public class StubImageTests
{
    private const ulong Base = StubImage.StubBase;

    // Documented layout of the image (see StubImage): the sock_fprog lives at this offset of the page.
    private const int FprogOffset = 0x3f0;

    private const uint AuditArchX86_64 = 0xC000003E;
    private const uint RetAllow = 0x7FFF0000;
    private const uint RetKillProcess = 0x80000000;

    private static byte[] Build(out ulong pauseReturn, out ulong inject) => StubImage.Build(out pauseReturn, out inject, out _);

    private static byte[] Build() => Build(out _, out _);

    private static int Off(ulong addr) => checked((int)(addr - Base));

    private const uint RetTrap = 0x00030000;

    private readonly record struct Insn(ushort Code, byte Jt, byte Jf, uint K);

    private static List<Insn> Filter(byte[] image)
    {
        ushort len = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(FprogOffset));
        ulong filterAddr = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(FprogOffset + 8));
        Assert.InRange(filterAddr, Base, Base + StubImage.PageSize - 1);
        int at = Off(filterAddr);
        Assert.True(at + len * 8 <= FprogOffset, "the filter overlaps the sock_fprog");
        var insns = new List<Insn>();
        for (int i = 0; i < len; i++)
        {
            ReadOnlySpan<byte> s = image.AsSpan(at + i * 8, 8);
            insns.Add(new Insn(BinaryPrimitives.ReadUInt16LittleEndian(s), s[2], s[3], BinaryPrimitives.ReadUInt32LittleEndian(s[4..])));
        }

        return insns;
    }

    // A tiny classic-BPF interpreter for the instructions a seccomp allow-list uses.
    private static uint Run(List<Insn> prog, int nr, uint arch, uint arg0 = 0, ulong ip = Base)
    {
        uint a = 0;
        int pc = 0;
        for (int steps = 0; steps < 1000; steps++)
        {
            Assert.InRange(pc, 0, prog.Count - 1);
            Insn i = prog[pc];
            switch (i.Code)
            {
                case 0x20: // BPF_LD | BPF_W | BPF_ABS
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
                case 0x15: // BPF_JMP | BPF_JEQ | BPF_K
                    pc += 1 + (a == i.K ? i.Jt : i.Jf);
                    break;
                case 0x06: // BPF_RET | BPF_K
                    return i.K;
                default:
                    throw new InvalidOperationException("unexpected BPF opcode " + i.Code);
            }
        }

        throw new InvalidOperationException("filter did not terminate");
    }

    [Fact]
    public void Build_IsOnePageElfExecutable()
    {
        byte[] image = Build();

        Assert.Equal(4096, image.Length);
        Assert.Equal(new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1 }, image.AsSpan(0, 7).ToArray());
        Assert.Equal(ElfFile.ET_EXEC, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(16)));
        Assert.Equal(ElfFile.EM_X86_64, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(18)));
        Assert.Equal(56, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(54)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(56)));
    }

    [Fact]
    public void Build_ParsesWithTheSentryLoader_OneLoadAtStubBase()
    {
        byte[] image = Build();

        ElfFile? elf = ElfFile.Parse(image.AsSpan(0, 64), image.Length, (off, len) => image.AsSpan((int)off, len).ToArray(), out string? error);

        Assert.Null(error);
        Assert.Equal(ElfFile.ET_EXEC, elf!.Type);
        Assert.Null(elf.Interpreter);
        ElfProgramHeader load = Assert.Single(elf.ProgramHeaders);
        Assert.Equal(ElfProgramHeader.PT_LOAD, load.Type);
        Assert.Equal(Base, load.Vaddr);
        Assert.Equal(0UL, load.Offset);
        Assert.Equal((ulong)StubImage.PageSize, load.Filesz);
        Assert.Equal((ulong)StubImage.PageSize, load.Memsz);
        Assert.Equal(Mman.PROT_READ | Mman.PROT_EXEC, load.Prot);
        Assert.InRange(elf.Entry, Base + 64 + 56, Base + StubImage.PageSize - 1);
    }

    [Fact]
    public void Build_InjectAndPauseAddresses_LieInsideCode()
    {
        byte[] image = Build(out ulong pauseReturn, out ulong inject);
        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(24));
        ushort len = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(FprogOffset));
        ulong filterAddr = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(FprogOffset + 8));

        Assert.InRange(pauseReturn, entry + 1, Base + StubImage.PageSize - 1);
        Assert.InRange(inject, entry, Base + StubImage.PageSize - 3);
        Assert.True(inject + 3 <= filterAddr, "code runs into the filter");
        Assert.True(filterAddr + (ulong)len * 8 <= Base + FprogOffset);
    }

    [Fact]
    public void Build_InjectSyscall_IsSyscallThenInt3()
    {
        byte[] image = Build(out _, out ulong inject);

        Assert.Equal(new byte[] { 0x0F, 0x05, 0xCC }, image.AsSpan(Off(inject), 3).ToArray());
    }

    [Fact]
    public void Build_PauseReturn_FollowsPauseSyscallAndLoopsBack()
    {
        byte[] image = Build(out ulong pauseReturn, out _);
        int p = Off(pauseReturn);

        // mov eax, 34 (pause); syscall; <pauseReturn>: jmp back to the mov.
        Assert.Equal(new byte[] { 0xB8, 34, 0, 0, 0, 0x0F, 0x05 }, image.AsSpan(p - 7, 7).ToArray());
        Assert.Equal(0xEB, image[p]);
        int target = p + 2 + (sbyte)image[p + 1];
        Assert.Equal(p - 7, target);
    }

    [Fact]
    public void Build_SeccompFailure_BranchesToExitGroup()
    {
        byte[] image = Build(out ulong pauseReturn, out _);
        int loop = Off(pauseReturn) - 7;

        // test rax, rax; jnz fail — just before the pause loop.
        Assert.Equal(new byte[] { 0x48, 0x85, 0xC0, 0x75 }, image.AsSpan(loop - 5, 4).ToArray());
        int fail = loop + (sbyte)image[loop - 1];
        Assert.Equal(new byte[] { 0xB8, 231, 0, 0, 0, 0xBF, 1, 0, 0, 0, 0x0F, 0x05 }, image.AsSpan(fail, 12).ToArray());
    }

    [Fact]
    public void Build_SeccompCall_PointsAtFprog()
    {
        byte[] image = Build();

        // mov eax, 317 (seccomp) ... mov rdx, imm64 (the sock_fprog address).
        int seccomp = image.AsSpan().IndexOf(new byte[] { 0xB8, 0x3D, 0x01, 0, 0 });
        Assert.True(seccomp > 0);
        int movRdx = image.AsSpan(seccomp).IndexOf(new byte[] { 0x48, 0xBA });
        Assert.True(movRdx > 0);
        ulong fprog = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(seccomp + movRdx + 2));
        Assert.Equal(Base + FprogOffset, fprog);
    }

    [Fact]
    public void Filter_EndsWithKillProcessThenAllow()
    {
        List<Insn> f = Filter(Build());

        Assert.Equal(new Insn(0x06, 0, 0, RetKillProcess), f[^2]);
        Assert.Equal(new Insn(0x06, 0, 0, RetAllow), f[^1]);
        Assert.Equal(new Insn(0x20, 0, 0, 4), f[0]);
        Assert.Equal(0x15, f[1].Code);
        Assert.Equal(AuditArchX86_64, f[1].K);
        Assert.Equal(6 + StubImage.AllowedSyscalls.Length + 5, f.Count);
    }

    [Fact]
    public void Filter_AllowsExactlyTheAllowedSyscalls()
    {
        List<Insn> f = Filter(Build());
        var allowed = new HashSet<int>(StubImage.AllowedSyscalls.ToArray());

        Assert.Equal(new HashSet<int> { Sysno.pause, Sysno.mmap, Sysno.munmap, Sysno.exit_group, Sysno.exit }, allowed);
        for (int nr = 0; nr < Sysno.MaxSyscall + 10; nr++)
        {
            uint expected = allowed.Contains(nr) ? RetAllow : RetKillProcess;
            Assert.True(expected == Run(f, nr, AuditArchX86_64), $"syscall {Sysno.Name(nr)}");
        }

        Assert.Equal(RetKillProcess, Run(f, -1, AuditArchX86_64));
        Assert.Equal(RetKillProcess, Run(f, 0x4000_0000 | Sysno.mmap, AuditArchX86_64)); // x32 ABI
    }

    [Theory]
    [InlineData(0xFFFF_FFFF_FF60_0000UL)]
    [InlineData(0xFFFF_FFFF_FF60_0400UL)]
    [InlineData(0xFFFF_FFFF_FF60_0800UL)]
    public void Filter_TrapsVsyscallEmulation(ulong ip)
    {
        List<Insn> f = Filter(Build());

        Assert.Equal(RetTrap, Run(f, Sysno.gettimeofday, AuditArchX86_64, 0, ip));
        Assert.Equal(RetTrap, Run(f, Sysno.time, AuditArchX86_64, 0, ip));
        Assert.Equal(RetTrap, Run(f, Sysno.getcpu, AuditArchX86_64, 0, ip));

        // From anywhere else the same calls still kill, and the wrong architecture kills first.
        Assert.Equal(RetKillProcess, Run(f, Sysno.gettimeofday, AuditArchX86_64, 0, 0x7f00_0000_0000));
        Assert.Equal(RetKillProcess, Run(f, Sysno.gettimeofday, 0x40000003u, 0, ip));
    }

    [Fact]
    public void Filter_AllowsCloneOnlyForANewStubThread()
    {
        List<Insn> f = Filter(Build());

        Assert.Equal(RetAllow, Run(f, Sysno.clone, AuditArchX86_64, StubImage.ThreadCloneFlags));
        Assert.Equal(RetKillProcess, Run(f, Sysno.clone, AuditArchX86_64, 17 /* SIGCHLD: a fork */));
        Assert.Equal(RetKillProcess, Run(f, Sysno.clone, AuditArchX86_64, StubImage.ThreadCloneFlags | 0x2000 /* CLONE_PTRACE */));
        Assert.Equal(RetKillProcess, Run(f, Sysno.clone3, AuditArchX86_64, StubImage.ThreadCloneFlags));
    }

    [Theory]
    [InlineData(0x40000003u)] // AUDIT_ARCH_I386
    [InlineData(0xC00000B7u)] // AUDIT_ARCH_AARCH64
    [InlineData(0u)]
    public void Filter_WrongArchitecture_Kills(uint arch)
    {
        List<Insn> f = Filter(Build());

        foreach (int nr in StubImage.AllowedSyscalls)
        {
            Assert.Equal(RetKillProcess, Run(f, nr, arch));
        }
    }

    [Fact]
    public void Build_IsDeterministic()
    {
        byte[] a = Build(out ulong pa, out ulong ia);
        byte[] b = Build(out ulong pb, out ulong ib);

        Assert.Equal(a, b);
        Assert.Equal(pa, pb);
        Assert.Equal(ia, ib);
    }

    [Fact]
    public void Build_WithSentryPid_ChecksParentRightAfterPdeathsig()
    {
        byte[] image = StubImage.Build(out _, out _, out _, 0x12345);
        byte[] pid = [0x45, 0x23, 0x01, 0x00];
        int at = image.AsSpan().IndexOf([(byte)0x3D, .. pid]); // cmp eax, 0x12345
        Assert.True(at > 0);
        Assert.Equal(new byte[] { 0x0F, 0x85 }, image[(at + 5)..(at + 7)]); // jne fail
        Assert.Equal(-1, StubImage.Build(out _, out _, out _).AsSpan().IndexOf([(byte)0x3D, .. pid]));
    }

    [Fact]
    public void StubTemplate_MemfdHoldsTheBuiltImage()
    {
        byte[] expected = StubImage.Build(out ulong pauseReturn, out ulong inject, out _, Moat.Host.HostProcess.GetPid());
        using var template = new StubTemplate();

        Assert.Equal(expected, File.ReadAllBytes(template.Path));
        Assert.Equal(pauseReturn, template.PauseReturn);
        Assert.Equal(inject, template.InjectSyscall);
    }
}
