using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>A system call implementation: returns a non-negative result or -errno.</summary>
internal delegate long SyscallHandler(Task t, in SyscallArgs a);

/// <summary>How completely Moat implements a system call.</summary>
internal enum SupportLevel : byte
{
    Unimplemented,

    /// <summary>Answered with a fixed error on purpose (<see cref="SyscallEntry.Refusal"/>), for the reason in the note.</summary>
    Refused,
    Partial,
    Full,
}

/// <summary>One row of the syscall table.</summary>
/// <remarks>A refused row has no handler: its <paramref name="Refusal"/> errno is the answer, its note the reason.</remarks>
internal sealed record SyscallEntry(int Number, string Name, SyscallHandler? Handler, SupportLevel Support, string? Note, Errno Refusal = default);

/// <summary>
/// The x86-64 system call table: one entry by number. Numbers without an implementation answer ENOSYS and
/// are logged once by name.
/// </summary>
internal static partial class SyscallTable
{
    private static readonly SyscallEntry?[] s_entries = Build();
    private static readonly bool[] s_loggedMissing = new bool[Sysno.MaxSyscall];
    private static bool s_logged32;

    public static IReadOnlyList<SyscallEntry?> Entries => s_entries;

    /// <summary>Called once per unimplemented syscall number with its name.</summary>
    public static Action<string>? UnimplementedLogger { get; set; }

    public static long Invoke(Task t, int nr, in SyscallArgs args)
    {
        SyscallEntry? e = (uint)nr < (uint)s_entries.Length ? s_entries[nr] : null;
        if (e?.Handler != null)
        {
            return e.Handler(t, args);
        }

        if ((uint)nr < (uint)s_loggedMissing.Length)
        {
            if (!s_loggedMissing[nr])
            {
                s_loggedMissing[nr] = true;
                UnimplementedLogger?.Invoke(Sysno.Name(nr));
            }
        }

        return e?.Support == SupportLevel.Refused ? -e.Refusal.Value : -Errno.ENOSYS.Value;
    }

    /// <summary>
    /// Answers a 32-bit system call (int 0x80 or sysenter from 64-bit code) of i386 number <paramref name="nr"/>:
    /// ENOSYS, logged once, as gVisor's amd64 Sentry answers it. The call is never run as an x86-64 one.
    /// </summary>
    public static long Invoke32(int nr)
    {
        if (!s_logged32)
        {
            s_logged32 = true;
            UnimplementedLogger?.Invoke("i386 #" + nr.ToString(System.Globalization.CultureInfo.InvariantCulture) + " (int 0x80; 32-bit calls are not served, this is logged once)");
        }

        return -Errno.ENOSYS.Value;
    }

    private static SyscallEntry?[] Build()
    {
        var table = new SyscallEntry?[Sysno.MaxSyscall];
        void Add(int nr, SyscallHandler h, SupportLevel level = SupportLevel.Full, string? note = null)
        {
            if (table[nr] != null)
            {
                throw new InvalidOperationException("duplicate syscall " + Sysno.Name(nr));
            }

            table[nr] = new SyscallEntry(nr, Sysno.Name(nr), h, level, note);
        }

        RegisterAll(Add);
        RegisterRefused((nr, errno, reason) =>
        {
            if (table[nr] != null)
            {
                throw new InvalidOperationException("duplicate syscall " + Sysno.Name(nr));
            }

            table[nr] = new SyscallEntry(nr, Sysno.Name(nr), null, SupportLevel.Refused, reason, errno);
        });
        return table;
    }
}
