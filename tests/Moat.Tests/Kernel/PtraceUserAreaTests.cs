using System;
using System.IO;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Vfs;
using Moat.Tests.Mm;

namespace Moat.Tests.Kernel;

/// <summary>PTRACE_PEEKUSER/POKEUSER/SETREGS on a task's registers, with Linux's putreg checks.</summary>
public sealed class PtraceUserAreaTests : IDisposable
{
    private const int RaxOffset = 10 * 8;
    private const int RipOffset = 16 * 8;
    private const int CsOffset = 17 * 8;
    private const int EflagsOffset = 18 * 8;
    private const int FsBaseOffset = 21 * 8;
    private const int UTsizeOffset = 736;

    private readonly MemoryFile _mf = new();
    private readonly MemoryManager _mm;
    private readonly Task _task;

    public PtraceUserAreaTests()
    {
        _mm = new MemoryManager(_mf, new FakeAddressSpace(), 0x10000, 0x7f00_0000_0000);
        var kernel = new Moat.Sentry.Kernel.Kernel(_mf, new NullPlatform(), new NoFiles(), TextWriter.Null);
        var group = new ThreadGroup(1, null, "/test") { Mounts = kernel.Mounts };
        _task = new Task(kernel, group, 1, _mm, new FdTable(), Credentials.Root);
        _task.Registers.rip = 0x401000;
        _task.Registers.cs = 0x33;
        _task.Registers.eflags = 0x202;
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    [Fact]
    public void Peek_Rip_ReadsTheRegister() => Assert.Equal(0x401000UL, PtraceUserArea.Peek(_task, RipOffset));

    [Fact]
    public void Peek_DebugRegister_IsZero() => Assert.Equal(0UL, PtraceUserArea.Peek(_task, PtraceAbi.UserDebugRegOffset + (7 * 8)));

    [Fact]
    public void Poke_Eflags_ChangesOnlyTheUserBits()
    {
        Assert.Equal(Errno.None, PtraceUserArea.Poke(_task, EflagsOffset, 0xFFFF_FFFF));

        Assert.Equal((0x202UL & ~PtraceAbi.EflagsUserMask) | PtraceAbi.EflagsUserMask, _task.Registers.eflags);
    }

    [Fact]
    public void Poke_FsBaseAboveTaskSize_IsEIO()
    {
        Assert.Equal(Errno.EIO, PtraceUserArea.Poke(_task, FsBaseOffset, 0xffff_8000_0000_0000));
        Assert.Equal(0UL, _task.Registers.fs_base);
    }

    [Fact]
    public void Poke_AnotherCodeSelector_IsEIO()
    {
        Assert.Equal(Errno.EIO, PtraceUserArea.Poke(_task, CsOffset, 0x23));
        Assert.Equal(Errno.None, PtraceUserArea.Poke(_task, CsOffset, 0x33));
    }

    [Fact]
    public void Poke_DebugRegisters_TakeOnlyZero()
    {
        Assert.Equal(Errno.None, PtraceUserArea.Poke(_task, PtraceAbi.UserDebugRegOffset, 0));
        Assert.Equal(Errno.EIO, PtraceUserArea.Poke(_task, PtraceAbi.UserDebugRegOffset, 0x1000));
    }

    [Fact]
    public void Poke_OtherWordsOfStructUser_AreEIO() => Assert.Equal(Errno.EIO, PtraceUserArea.Poke(_task, UTsizeOffset, 5));

    [Fact]
    public void SetAll_StopsAtTheFirstRefusedRegister()
    {
        PtraceRegs regs = _task.Registers;
        regs.rax = 42;
        regs.fs_base = 0xffff_8000_0000_0000;
        regs.gs_base = 0x1234;

        Assert.Equal(Errno.EIO, PtraceUserArea.SetAll(_task, regs));
        Assert.Equal(42UL, _task.Registers.rax); // set before fs_base, as Linux's putreg loop does
        Assert.Equal(0UL, _task.Registers.gs_base);
        Assert.Equal(42UL, PtraceUserArea.Peek(_task, RaxOffset));
    }
}
