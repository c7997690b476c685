using System.Runtime.InteropServices;

namespace Moat.Abi;

/// <summary>struct timespec (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Timespec
{
    public long tv_sec;
    public long tv_nsec;
}

/// <summary>struct timeval (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Timeval
{
    public long tv_sec;
    public long tv_usec;
}

/// <summary>struct rlimit64 (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Rlimit
{
    public ulong rlim_cur;
    public ulong rlim_max;

    public const ulong RLIM_INFINITY = ulong.MaxValue;
}
