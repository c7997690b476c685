using System;
using System.Collections.Generic;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Syscalls.Linux;

namespace Moat.Sentry.Strace;

/// <summary>How strace shows each argument of a syscall.</summary>
internal enum ArgKind : byte
{
    Hex,
    Int,
    Fd,
    Path,

    /// <summary>A buffer the app passes in; its length is the next argument.</summary>
    InBuf,

    /// <summary>A buffer the kernel fills; shown on exit, as long as the result says.</summary>
    OutBuf,
    Oct,
}

/// <summary>The argument layouts of the syscalls strace decodes; the rest are shown as hex.</summary>
internal static class SyscallFormats
{
    private const int MaxShown = 32;

    private static readonly Dictionary<int, ArgKind[]> s_formats = new()
    {
        [Sysno.read] = [ArgKind.Fd, ArgKind.OutBuf, ArgKind.Int],
        [Sysno.write] = [ArgKind.Fd, ArgKind.InBuf, ArgKind.Int],
        [Sysno.pread64] = [ArgKind.Fd, ArgKind.OutBuf, ArgKind.Int, ArgKind.Int],
        [Sysno.pwrite64] = [ArgKind.Fd, ArgKind.InBuf, ArgKind.Int, ArgKind.Int],
        [Sysno.readv] = [ArgKind.Fd, ArgKind.Hex, ArgKind.Int],
        [Sysno.writev] = [ArgKind.Fd, ArgKind.Hex, ArgKind.Int],
        [Sysno.close] = [ArgKind.Fd],
        [Sysno.fstat] = [ArgKind.Fd, ArgKind.Hex],
        [Sysno.lseek] = [ArgKind.Fd, ArgKind.Int, ArgKind.Int],
        [Sysno.preadv] = [ArgKind.Fd, ArgKind.Hex, ArgKind.Int, ArgKind.Int],
        [Sysno.pwritev] = [ArgKind.Fd, ArgKind.Hex, ArgKind.Int, ArgKind.Int],
        [Sysno.preadv2] = [ArgKind.Fd, ArgKind.Hex, ArgKind.Int, ArgKind.Int, ArgKind.Int, ArgKind.Hex],
        [Sysno.pwritev2] = [ArgKind.Fd, ArgKind.Hex, ArgKind.Int, ArgKind.Int, ArgKind.Int, ArgKind.Hex],
        [Sysno.sendfile] = [ArgKind.Fd, ArgKind.Fd, ArgKind.Hex, ArgKind.Int],
        [Sysno.splice] = [ArgKind.Fd, ArgKind.Hex, ArgKind.Fd, ArgKind.Hex, ArgKind.Int, ArgKind.Hex],
        [Sysno.tee] = [ArgKind.Fd, ArgKind.Fd, ArgKind.Int, ArgKind.Hex],
        [Sysno.copy_file_range] = [ArgKind.Fd, ArgKind.Hex, ArgKind.Fd, ArgKind.Hex, ArgKind.Int, ArgKind.Hex],
        [Sysno.flock] = [ArgKind.Fd, ArgKind.Int],
        [Sysno.open] = [ArgKind.Path, ArgKind.Hex, ArgKind.Oct],
        [Sysno.openat] = [ArgKind.Fd, ArgKind.Path, ArgKind.Hex, ArgKind.Oct],
        [Sysno.newfstatat] = [ArgKind.Fd, ArgKind.Path, ArgKind.Hex, ArgKind.Hex],
        [Sysno.stat] = [ArgKind.Path, ArgKind.Hex],
        [Sysno.lstat] = [ArgKind.Path, ArgKind.Hex],
        [Sysno.access] = [ArgKind.Path, ArgKind.Oct],
        [Sysno.faccessat] = [ArgKind.Fd, ArgKind.Path, ArgKind.Oct],
        [Sysno.faccessat2] = [ArgKind.Fd, ArgKind.Path, ArgKind.Oct, ArgKind.Hex],
        [Sysno.readlink] = [ArgKind.Path, ArgKind.OutBuf, ArgKind.Int],
        [Sysno.readlinkat] = [ArgKind.Fd, ArgKind.Path, ArgKind.OutBuf, ArgKind.Int],
        [Sysno.ioctl] = [ArgKind.Fd, ArgKind.Hex, ArgKind.Hex],
        [Sysno.fcntl] = [ArgKind.Fd, ArgKind.Int, ArgKind.Hex],
        [Sysno.dup] = [ArgKind.Fd],
        [Sysno.dup2] = [ArgKind.Fd, ArgKind.Fd],
        [Sysno.dup3] = [ArgKind.Fd, ArgKind.Fd, ArgKind.Hex],
        [Sysno.mmap] = [ArgKind.Hex, ArgKind.Hex, ArgKind.Hex, ArgKind.Hex, ArgKind.Fd, ArgKind.Hex],
        [Sysno.munmap] = [ArgKind.Hex, ArgKind.Hex],
        [Sysno.mremap] = [ArgKind.Hex, ArgKind.Hex, ArgKind.Hex, ArgKind.Hex, ArgKind.Hex],
        [Sysno.mprotect] = [ArgKind.Hex, ArgKind.Hex, ArgKind.Hex],
        [Sysno.brk] = [ArgKind.Hex],
        [Sysno.madvise] = [ArgKind.Hex, ArgKind.Hex, ArgKind.Int],
        [Sysno.exit] = [ArgKind.Int],
        [Sysno.exit_group] = [ArgKind.Int],
        [Sysno.getpid] = [],
        [Sysno.gettid] = [],
        [Sysno.getppid] = [],
        [Sysno.getuid] = [],
        [Sysno.geteuid] = [],
        [Sysno.getgid] = [],
        [Sysno.getegid] = [],
        [Sysno.sched_yield] = [],
        [Sysno.arch_prctl] = [ArgKind.Hex, ArgKind.Hex],
        [Sysno.set_tid_address] = [ArgKind.Hex],
        [Sysno.set_robust_list] = [ArgKind.Hex, ArgKind.Int],
        [Sysno.rseq] = [ArgKind.Hex, ArgKind.Int, ArgKind.Hex, ArgKind.Hex],
        [Sysno.uname] = [ArgKind.Hex],
        [Sysno.clock_gettime] = [ArgKind.Int, ArgKind.Hex],
        [Sysno.getrandom] = [ArgKind.Hex, ArgKind.Int, ArgKind.Hex],
        [Sysno.prlimit64] = [ArgKind.Int, ArgKind.Int, ArgKind.Hex, ArgKind.Hex],
        [Sysno.rt_sigaction] = [ArgKind.Int, ArgKind.Hex, ArgKind.Hex, ArgKind.Int],
        [Sysno.rt_sigprocmask] = [ArgKind.Int, ArgKind.Hex, ArgKind.Hex, ArgKind.Int],
    };

    public static bool ReturnsAddress(int nr) => nr is Sysno.mmap or Sysno.brk or Sysno.mremap;

    public static void AppendArgs(StringBuilder sb, Task t, int nr, in SyscallArgs a, bool entry)
    {
        if (!s_formats.TryGetValue(nr, out ArgKind[]? kinds))
        {
            kinds = [ArgKind.Hex, ArgKind.Hex, ArgKind.Hex, ArgKind.Hex, ArgKind.Hex, ArgKind.Hex];
        }

        for (int i = 0; i < kinds.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            ulong v = a[i];
            switch (kinds[i])
            {
                case ArgKind.Int:
                    sb.Append((long)v);
                    break;
                case ArgKind.Fd:
                    sb.Append((int)v == OpenFlags.AT_FDCWD ? "AT_FDCWD" : ((int)v).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case ArgKind.Oct:
                    sb.Append("0o").Append(Convert.ToString((long)v, 8));
                    break;
                case ArgKind.Path:
                    if (t.MM.CopyInString(v, 4095, out string s) == 0)
                    {
                        sb.Append('"').Append(s).Append('"');
                    }
                    else
                    {
                        sb.Append("0x").Append(v.ToString("x"));
                    }

                    break;
                case ArgKind.InBuf:
                case ArgKind.OutBuf:
                    AppendBuffer(sb, t, v, i + 1 < 6 ? a[i + 1] : 0, kinds[i] == ArgKind.InBuf || !entry);
                    break;
                default:
                    sb.Append("0x").Append(v.ToString("x"));
                    break;
            }
        }
    }

    private static void AppendBuffer(StringBuilder sb, Task t, ulong addr, ulong len, bool show)
    {
        sb.Append("0x").Append(addr.ToString("x"));
        if (!show || len == 0)
        {
            return;
        }

        int n = (int)Math.Min(len, MaxShown);
        Span<byte> buf = stackalloc byte[MaxShown];
        if (t.MM.CopyIn(addr, buf[..n]) < 0)
        {
            return;
        }

        sb.Append(" \"");
        foreach (byte b in buf[..n])
        {
            sb.Append(b switch
            {
                (byte)'\n' => "\\n",
                (byte)'\t' => "\\t",
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => "\\x" + b.ToString("x2"),
            });
        }

        sb.Append('"');
        if (len > MaxShown)
        {
            sb.Append("...");
        }
    }
}
