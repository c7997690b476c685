using System;
using System.Buffers.Binary;
using Moat.Platform.Ptrace;

namespace Moat.Platform.Systrap;

/// <summary>
/// Builds the systrap stub page: ELF headers, the code of stub.S at <see cref="CodeOffset"/>, and the data
/// that code reads: the sigaction for its handler, two seccomp programs and the Sentry's pid.
/// </summary>
/// <remarks>
/// Filter F1 is installed by the main thread and inherited by every thread: it allows the calls the
/// injector threads and the mapper run for the Sentry (mmap, munmap, a thread clone, the mapper's reply, ...)
/// and traps the rest. Filter F2 is
/// installed by each app thread on top: it traps every syscall but futex, rt_sigreturn and exit made from
/// the stub page (the handler's own calls). Both must allow a call for it to run, so application code can
/// run nothing on the host but futex, rt_sigreturn and exit, and those only by jumping into stub code,
/// where they only wait, return to the app or end the thread.
/// </remarks>
internal static class SystrapStubImage
{
    public const ulong StubBase = StubImage.StubBase;
    public const int CodeOffset = 0x100;
    private const int SigactionOffset = 0x7a0;
    private const int F1Offset = 0x800;
    private const int F2Offset = 0x900;
    private const int F2End = 0xa00;
    internal const int F1ProgOffset = 0x7c0;
    internal const int F2ProgOffset = 0x7d0;
    private const int SentryPidOffset = 0x7f0;

    /// <summary>Each app thread's sysmsg region: a header page, then its signal stack. Aligned to its size.</summary>
    public const int RegionSize = 0x8000;

    public const int HeaderSize = 0x1000;

    public static ulong Address(int codeLabel) => StubBase + CodeOffset + (ulong)codeLabel;

    public static byte[] Build(int sentryPid)
    {
        if (CodeOffset + SystrapStubCode.Bytes.Length > SigactionOffset)
        {
            throw new InvalidOperationException("stub code overlaps its data");
        }

        byte[] image = new byte[StubImage.PageSize];
        Moat.Host.OnePageElf.WriteHeaders(image, StubBase, Address(SystrapStubCode.Start));
        SystrapStubCode.Bytes.CopyTo(image.AsSpan(CodeOffset));

        int f1 = WriteInjectorFilter(image.AsSpan(F1Offset, F2Offset - F1Offset));
        int f2 = WriteAppFilter(image.AsSpan(F2Offset, F2End - F2Offset));
        WriteFprog(image.AsSpan(F1ProgOffset), f1, StubBase + F1Offset);
        WriteFprog(image.AsSpan(F2ProgOffset), f2, StubBase + F2Offset);

        // struct kernel_sigaction: handler, flags, restorer, mask. Every signal is blocked while the
        // handler runs; the Sentry chooses the mask the app thread returns to.
        Span<byte> act = image.AsSpan(SigactionOffset, 32);
        const ulong SA_SIGINFO = 0x4, SA_ONSTACK = 0x08000000, SA_RESTORER = 0x04000000;
        BinaryPrimitives.WriteUInt64LittleEndian(act, Address(SystrapStubCode.Handler));
        BinaryPrimitives.WriteUInt64LittleEndian(act[8..], SA_SIGINFO | SA_ONSTACK | SA_RESTORER);
        BinaryPrimitives.WriteUInt64LittleEndian(act[16..], Address(SystrapStubCode.Restorer));
        BinaryPrimitives.WriteUInt64LittleEndian(act[24..], ulong.MaxValue);

        BinaryPrimitives.WriteInt32LittleEndian(image.AsSpan(SentryPidOffset), sentryPid);
        return image;
    }

    private static void WriteFprog(Span<byte> dst, int length, ulong filter)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(dst, (ushort)length);
        BinaryPrimitives.WriteUInt64LittleEndian(dst[8..], filter);
    }

    private const ushort LdAbsW = 0x20;
    private const ushort JeqK = 0x15;
    private const ushort JgtK = 0x25;
    private const ushort RetK = 0x06;
    private const uint AuditArchX86_64 = 0xC000003E;
    private const uint RetAllow = 0x7FFF0000;
    private const uint RetTrap = 0x00030000;

    // seccomp_data: nr at 0, arch at 4, instruction_pointer at 8, args at 16.
    private const uint DataNr = 0, DataArch = 4, DataIpLow = 8, DataIpHigh = 12, DataArg0 = 16;

    /// <summary>Host syscalls F1 allows (to the injectors and the mapper, and to app threads before they install F2).</summary>
    internal static ReadOnlySpan<int> InjectorSyscalls =>
    [
        34, // pause: the injector's idle loop
        9, // mmap: MapFile, and sysmsg regions
        11, // munmap: Unmap
        60, // exit: a thread that is done
        231, // exit_group: a stub that cannot start
        202, // futex: the handler's hand-off
        15, // rt_sigreturn: back to the app
        131, // sigaltstack: an app thread's signal stack (app_init)
        317, // seccomp: an app thread installs F2 (app_init)
        14, // rt_sigprocmask: the mapper blocks every signal
        1, // write: the mapper's answer on the reply pipe
    ];

    /// <summary>Host syscalls F2 allows, and only from the stub page.</summary>
    internal static ReadOnlySpan<int> AppSyscalls => [202 /* futex */, 15 /* rt_sigreturn */, 60 /* exit */];

    // F1: allow-list by number, clone only with the thread flags; anything else traps (SIGSYS reaches the
    // Sentry as a signal stop on an injector, or as an app syscall on an app thread).
    private static int WriteInjectorFilter(Span<byte> dst)
    {
        ReadOnlySpan<int> allowed = InjectorSyscalls;
        int n = allowed.Length;
        int i = 0;

        // 0 ld arch; 1 jeq arch; 2 ld nr; 3.. jeq allowed; jeq clone; ld arg0; jeq flags; trap; allow.
        int trap = 3 + n + 3;
        int allow = trap + 1;
        Insn(dst, ref i, LdAbsW, 0, 0, DataArch);
        Insn(dst, ref i, JeqK, 0, (byte)(trap - i - 1), AuditArchX86_64);
        Insn(dst, ref i, LdAbsW, 0, 0, DataNr);
        for (int k = 0; k < n; k++)
        {
            Insn(dst, ref i, JeqK, (byte)(allow - i - 1), 0, (uint)allowed[k]);
        }

        Insn(dst, ref i, JeqK, 0, (byte)(trap - i - 1), StubImage.CloneSyscall);
        Insn(dst, ref i, LdAbsW, 0, 0, DataArg0);
        Insn(dst, ref i, JeqK, (byte)(allow - i - 1), 0, StubImage.ThreadCloneFlags);
        Insn(dst, ref i, RetK, 0, 0, RetTrap);
        Insn(dst, ref i, RetK, 0, 0, RetAllow);
        return i;
    }

    // F2: trap everything except AppSyscalls from an instruction inside the stub page.
    private static int WriteAppFilter(Span<byte> dst)
    {
        ReadOnlySpan<int> allowed = AppSyscalls;
        int n = allowed.Length;
        int i = 0;

        // 0 ld arch; 1 jeq arch; 2 ld ip_hi; 3 jeq hi; 4 ld ip_lo; 5 jgt page end; 6 ld nr; 7.. jeq allowed; trap; allow.
        int trap = 7 + n;
        int allow = trap + 1;
        Insn(dst, ref i, LdAbsW, 0, 0, DataArch);
        Insn(dst, ref i, JeqK, 0, (byte)(trap - i - 1), AuditArchX86_64);
        Insn(dst, ref i, LdAbsW, 0, 0, DataIpHigh);
        Insn(dst, ref i, JeqK, 0, (byte)(trap - i - 1), (uint)(StubBase >> 32));
        Insn(dst, ref i, LdAbsW, 0, 0, DataIpLow);
        Insn(dst, ref i, JgtK, (byte)(trap - i - 1), 0, unchecked((uint)StubBase) + StubImage.PageSize - 1);
        Insn(dst, ref i, LdAbsW, 0, 0, DataNr);
        for (int k = 0; k < n; k++)
        {
            Insn(dst, ref i, JeqK, (byte)(allow - i - 1), 0, (uint)allowed[k]);
        }

        Insn(dst, ref i, RetK, 0, 0, RetTrap);
        Insn(dst, ref i, RetK, 0, 0, RetAllow);
        return i;
    }

    private static void Insn(Span<byte> dst, ref int index, ushort code, byte jt, byte jf, uint k) =>
        StubImage.Insn(dst, index++, code, jt, jf, k);
}
