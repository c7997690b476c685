using System;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Syscalls.Linux;

namespace Moat.Sentry.Strace;

/// <summary>
/// --strace: logs each syscall with decoded arguments on entry and its result on exit, like runsc --strace.
/// Only runs when enabled; the formatting allocates freely.
/// </summary>
internal static class StraceLog
{
    public static void Enter(Task t, int nr, in SyscallArgs a)
    {
        var sb = new StringBuilder();
        sb.Append('[').Append(t.Tid).Append("] ").Append(Sysno.Name(nr)).Append('(');
        SyscallFormats.AppendArgs(sb, t, nr, a, entry: true);
        sb.Append(')');
        (t.Kernel.StraceOutput ?? t.Kernel.Log).WriteLine(sb.Append(" ...").ToString());
    }

    public static void Exit(Task t, int nr, in SyscallArgs a, long result)
    {
        var sb = new StringBuilder();
        sb.Append('[').Append(t.Tid).Append("] ").Append(Sysno.Name(nr)).Append('(');
        SyscallFormats.AppendArgs(sb, t, nr, a, entry: false);
        sb.Append(") = ");
        if (result < 0 && result >= -4095)
        {
            Errno e = Errno.FromValue((int)-result);
            sb.Append("-1 ").Append(e.Name);
        }
        else if (SyscallFormats.ReturnsAddress(nr))
        {
            sb.Append("0x").Append(result.ToString("x"));
        }
        else
        {
            sb.Append(result);
        }

        if (t.Exit != null)
        {
            sb.Append(" (exiting)");
        }

        (t.Kernel.StraceOutput ?? t.Kernel.Log).WriteLine(sb.ToString());
    }
}
