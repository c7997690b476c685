using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace Moat.Platform.Ptrace;

/// <summary>
/// Builds the stub program: a one-page static ELF that the host does execve (it is Moat's code, never the
/// application's). The stub arms PR_SET_PDEATHSIG, sets no_new_privs, installs a seccomp filter that allows
/// only the calls the Sentry injects, then idles in pause(). Once seized, the Sentry unmaps everything but
/// this page and runs application code in the empty address space under PTRACE_SYSEMU.
/// </summary>
internal static class StubImage
{
    /// <summary>Where the stub page lives; application mappings stay below it.</summary>
    public const ulong StubBase = 0x7f00_0000_0000;

    public const int PageSize = 4096;

    private const int CodeOffset = 0x100;
    private const int FilterOffset = 0x300;
    private const int FprogOffset = 0x3f0;

    /// <summary>The clone flags of the one clone the filter allows: a new stub thread in the same process.</summary>
    public const uint ThreadCloneFlags = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000; // VM|FS|FILES|SIGHAND|THREAD

    /// <summary>Builds the ELF file image.</summary>
    /// <param name="pauseReturn">The address a stub idling in pause() reports as its rip.</param>
    /// <param name="injectSyscall">The address of a "syscall; int3" pair used to inject host syscalls.</param>
    /// <param name="injectClone">
    /// The address of "syscall; test rax,rax; jz loop; int3": the injected clone's child falls into the
    /// pause loop (it needs no stack) while the parent traps back to its tracer.
    /// </param>
    /// <param name="sentryPid">The Sentry's host pid, which must be the stub's parent when it starts (0: no check).</param>
    public static byte[] Build(out ulong pauseReturn, out ulong injectSyscall, out ulong injectClone, int sentryPid = 0)
    {
        byte[] image = new byte[PageSize];
        Moat.Host.OnePageElf.WriteHeaders(image, StubBase, StubBase + CodeOffset);

        var code = new List<byte>();

        // prctl(PR_SET_PDEATHSIG, SIGKILL): die with the thread that spawned us.
        MovEax(code, 157);
        MovEdi(code, 1);
        MovEsi(code, 9);
        Syscall(code);

        // If the Sentry died before the line above ran, no signal will ever come: getppid() is then no
        // longer the Sentry, and the stub exits instead of idling forever as an orphan.
        int parentCheck = -1;
        if (sentryPid != 0)
        {
            MovEax(code, 110); // getppid
            Syscall(code);
            code.Add(0x3D); // cmp eax, imm32
            AddU32(code, (uint)sentryPid);
            code.AddRange([0x0F, 0x85, 0, 0, 0, 0]); // jne fail (patched below)
            parentCheck = code.Count;
        }

        // prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0): required to install a filter without CAP_SYS_ADMIN.
        MovEax(code, 157);
        MovEdi(code, 38);
        MovEsi(code, 1);
        code.AddRange([0x31, 0xD2]); // xor edx, edx
        code.AddRange([0x4D, 0x31, 0xD2]); // xor r10, r10
        code.AddRange([0x4D, 0x31, 0xC0]); // xor r8, r8
        Syscall(code);

        // seccomp(SECCOMP_SET_MODE_FILTER, 0, &fprog).
        MovEax(code, 317);
        MovEdi(code, 1);
        code.AddRange([0x31, 0xF6]); // xor esi, esi
        code.AddRange([0x48, 0xBA]); // mov rdx, imm64
        AddU64(code, StubBase + FprogOffset);
        Syscall(code);

        // test rax, rax; jnz fail
        code.AddRange([0x48, 0x85, 0xC0]);
        code.AddRange([0x75, 0x09]);

        // loop: pause(); jmp loop
        int loop = code.Count;
        MovEax(code, 34);
        Syscall(code);
        int afterPause = code.Count;
        code.AddRange([0xEB, (byte)(sbyte)(loop - (code.Count + 2))]);

        // fail: exit_group(1)
        if (parentCheck >= 0)
        {
            BinaryPrimitives.WriteInt32LittleEndian(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(code).Slice(parentCheck - 4, 4), code.Count - parentCheck);
        }

        MovEax(code, 231);
        MovEdi(code, 1);
        Syscall(code);

        // inject: syscall; int3
        int inject = code.Count;
        Syscall(code);
        code.Add(0xCC);

        // clone: syscall; test rax, rax; jz loop; int3
        int clone = code.Count;
        Syscall(code);
        code.AddRange([0x48, 0x85, 0xC0]);
        code.AddRange([0x74, (byte)(sbyte)(loop - (code.Count + 2))]);
        code.Add(0xCC);

        code.CopyTo(image, CodeOffset);
        pauseReturn = StubBase + CodeOffset + (ulong)afterPause;
        injectSyscall = StubBase + CodeOffset + (ulong)inject;
        injectClone = StubBase + CodeOffset + (ulong)clone;

        int filterLen = WriteFilter(image.AsSpan(FilterOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(FprogOffset), (ushort)filterLen);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(FprogOffset + 8), StubBase + FilterOffset);
        return image;
    }

    /// <summary>The host syscalls the stub may make once its filter is installed.</summary>
    internal static ReadOnlySpan<int> AllowedSyscalls => [34 /* pause */, 9 /* mmap */, 11 /* munmap */, 231 /* exit_group */, 60 /* exit */];

    /// <summary>clone is allowed too, but only with <see cref="ThreadCloneFlags"/>.</summary>
    internal const int CloneSyscall = 56;

    // A classic-BPF seccomp program: x86-64 only, vsyscall emulation trapped, allow-list by number, clone only
    // with the thread flags, kill the process otherwise. Under PTRACE_SYSEMU the kernel skips seccomp for the app's syscalls
    // (ptrace runs first and the call is never executed), so the filter governs only what the Sentry injects.
    private static int WriteFilter(Span<byte> dst)
    {
        const ushort LdAbsW = 0x20;
        const ushort JeqK = 0x15;
        const ushort RetK = 0x06;
        const uint AuditArchX86_64 = 0xC000003E;
        const uint RetAllow = 0x7FFF0000;
        const uint RetKillProcess = 0x80000000;
        const uint RetTrap = 0x00030000;

        ReadOnlySpan<int> allowed = AllowedSyscalls;
        int n = allowed.Length;
        int i = 0;

        // Layout: 0 ld arch; 1 jeq arch; 2 ld ip (high word); 3 jeq vsyscall; 4 trap; 5 ld nr; 6..6+n-1 jeq
        // allowed; 6+n jeq clone; 7+n ld args[0]; 8+n jeq flags; 9+n kill; 10+n allow.
        Insn(dst, i++, LdAbsW, 0, 0, 4); // A = seccomp_data.arch
        Insn(dst, i++, JeqK, 0, (byte)(n + 7), AuditArchX86_64); // wrong arch: kill

        // A call into the vsyscall page is the one app call that reaches seccomp under PTRACE_SYSEMU: the host
        // emulates it (vsyscall=xonly or emulate) and asks seccomp with the page as the instruction pointer.
        // Trap it, so that the Sentry serves it (PtraceContext), instead of killing the stub. No code of the
        // stub or the app runs at an address whose high word is all ones.
        Insn(dst, i++, LdAbsW, 0, 0, 12); // A = high word of seccomp_data.instruction_pointer
        Insn(dst, i++, JeqK, 0, 1, 0xFFFF_FFFF);
        Insn(dst, i++, RetK, 0, 0, RetTrap);
        Insn(dst, i++, LdAbsW, 0, 0, 0); // A = seccomp_data.nr
        for (int k = 0; k < n; k++)
        {
            // Jump over the remaining compares to the allow return.
            Insn(dst, i++, JeqK, (byte)(n - k + 3), 0, (uint)allowed[k]);
        }

        Insn(dst, i++, JeqK, 0, 2, CloneSyscall); // not clone: kill
        Insn(dst, i++, LdAbsW, 0, 0, 16); // A = low word of seccomp_data.args[0]
        Insn(dst, i++, JeqK, 1, 0, ThreadCloneFlags); // the thread clone: allow
        Insn(dst, i++, RetK, 0, 0, RetKillProcess);
        Insn(dst, i++, RetK, 0, 0, RetAllow);
        return i;
    }

    internal static void Insn(Span<byte> dst, int index, ushort code, byte jt, byte jf, uint k)
    {
        Span<byte> s = dst.Slice(index * 8, 8);
        BinaryPrimitives.WriteUInt16LittleEndian(s, code);
        s[2] = jt;
        s[3] = jf;
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], k);
    }

    private static void MovEax(List<byte> c, uint imm)
    {
        c.Add(0xB8);
        AddU32(c, imm);
    }

    private static void MovEdi(List<byte> c, uint imm)
    {
        c.Add(0xBF);
        AddU32(c, imm);
    }

    private static void MovEsi(List<byte> c, uint imm)
    {
        c.Add(0xBE);
        AddU32(c, imm);
    }

    private static void Syscall(List<byte> c) => c.AddRange([0x0F, 0x05]);

    private static void AddU32(List<byte> c, uint v)
    {
        for (int i = 0; i < 4; i++)
        {
            c.Add((byte)(v >> (8 * i)));
        }
    }

    private static void AddU64(List<byte> c, ulong v)
    {
        for (int i = 0; i < 8; i++)
        {
            c.Add((byte)(v >> (8 * i)));
        }
    }
}
