using System;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>User and group ids, and uname(2).</summary>
internal static class SysIdentity
{
    /// <summary>The kernel release the sandbox reports: the Linux ABI Moat implements, not the host's.</summary>
    public const string Release = "6.1.0";

    public const string Version = "#1 SMP PREEMPT_DYNAMIC Moat";

    private const int UtsFieldLength = 65;

    /// <summary>Implements getuid(2).</summary>
    public static long Getuid(Task t, in SyscallArgs a) => t.Credentials.RealUid;

    /// <summary>Implements geteuid(2).</summary>
    public static long Geteuid(Task t, in SyscallArgs a) => t.Credentials.EffectiveUid;

    /// <summary>Implements getgid(2).</summary>
    public static long Getgid(Task t, in SyscallArgs a) => t.Credentials.RealGid;

    /// <summary>Implements getegid(2).</summary>
    public static long Getegid(Task t, in SyscallArgs a) => t.Credentials.EffectiveGid;

    /// <summary>Implements getresuid(2).</summary>
    public static long Getresuid(Task t, in SyscallArgs a)
    {
        Credentials c = t.Credentials;
        return CopyOutIds(t, a, c.RealUid, c.EffectiveUid, c.SavedUid);
    }

    /// <summary>Implements getresgid(2).</summary>
    public static long Getresgid(Task t, in SyscallArgs a)
    {
        Credentials c = t.Credentials;
        return CopyOutIds(t, a, c.RealGid, c.EffectiveGid, c.SavedGid);
    }

    private static long CopyOutIds(Task t, in SyscallArgs a, uint r, uint e, uint s)
    {
        if (t.MM.CopyOut(a.Pointer(0), r) < 0 || t.MM.CopyOut(a.Pointer(1), e) < 0 || t.MM.CopyOut(a.Pointer(2), s) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return 0;
    }

    /// <summary>Implements sysinfo(2): the host's memory (or the sandbox's memory limit) and load, the sandbox's process count and uptime.</summary>
    public static unsafe long Sysinfo(Task t, in SyscallArgs a)
    {
        Span<byte> info = stackalloc byte[112];
        long r;
        fixed (byte* p = info)
        {
            r = Moat.Host.HostProcess.Syscall(Sysno.sysinfo, (long)p);
        }

        if (r < 0)
        {
            return r;
        }

        // struct sysinfo: uptime (long) at 0; totalram, freeram, sharedram, bufferram, totalswap, freeswap at 32
        // to 72; procs (u16) at 80; mem_unit (u32) at 104.
        BitConverter.TryWriteBytes(info, (Environment.TickCount64 - t.Kernel.BootTicks) / 1000);
        ulong unit = Math.Max(BitConverter.ToUInt32(info[104..]), 1u);
        ulong limit = t.Kernel.MemoryFile.Limit / unit;
        if (limit != 0 && limit < BitConverter.ToUInt64(info[32..]))
        {
            // A sandbox with a memory limit is a machine of that size, without swap (as /proc/meminfo says).
            ulong used = t.Kernel.MemoryFile.UsageBytes / unit;
            BitConverter.TryWriteBytes(info[32..], limit);
            BitConverter.TryWriteBytes(info[40..], used < limit ? limit - used : 0);
            info[48..80].Clear();
        }

        BitConverter.TryWriteBytes(info[80..], (ushort)Math.Min(t.Kernel.LiveGroups().Count, ushort.MaxValue));
        return t.MM.CopyOut(a.Pointer(0), info);
    }

    /// <summary>Implements uname(2).</summary>
    public static long Uname(Task t, in SyscallArgs a)
    {
        Span<byte> u = stackalloc byte[UtsFieldLength * 6];
        u.Clear();
        Put(u, 0, "Linux");
        Put(u, 1, t.Kernel.Hostname);
        Put(u, 2, Release);
        Put(u, 3, Version);
        Put(u, 4, "x86_64");
        Put(u, 5, t.Kernel.Domainname);
        return t.MM.CopyOut(a.Pointer(0), u);
    }

    private static void Put(Span<byte> u, int field, string value)
    {
        Span<byte> dst = u.Slice(field * UtsFieldLength, UtsFieldLength - 1);
        int n = LinuxString.Encoding.GetBytes(value.AsSpan(0, Math.Min(value.Length, UtsFieldLength - 1)), dst);
        dst[n..].Clear();
    }
}
