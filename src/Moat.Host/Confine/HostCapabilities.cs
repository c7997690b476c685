using System.Runtime.InteropServices;
using Moat.Abi;

namespace Moat.Host;

/// <summary>Linux capabilities of the calling thread: keep a given set, drop the rest for good.</summary>
public static unsafe class HostCapabilities
{
    public const int CAP_CHOWN = 0;
    public const int CAP_DAC_OVERRIDE = 1;
    public const int CAP_DAC_READ_SEARCH = 2;
    public const int CAP_FOWNER = 3;
    public const int CAP_FSETID = 4;

    private const uint LinuxCapabilityVersion3 = 0x20080522;
    private const int PR_CAPBSET_DROP = 24;
    private const int PR_CAP_AMBIENT = 47;
    private const int PR_CAP_AMBIENT_CLEAR_ALL = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }

    /// <summary>The bit of capability <paramref name="cap"/> in a set.</summary>
    public static ulong Bit(int cap) => 1UL << cap;

    /// <summary>
    /// Empties the bounding and ambient sets but for <paramref name="keep"/>, then sets the permitted and
    /// effective sets to <paramref name="keep"/> (only what this thread already holds) and the inheritable set
    /// to nothing. Capabilities are per thread: call it on the thread that needs them, and back it with a
    /// seccomp filter (which covers every thread) for the rest. Returns 0 or -errno.
    /// </summary>
    public static long Limit(ulong keep)
    {
        for (int cap = 0; cap < 64; cap++)
        {
            if ((keep & Bit(cap)) == 0 && HostProcess.Syscall(Sysno.prctl, PR_CAPBSET_DROP, cap, 0, 0, 0) == -Errno.EINVAL.Value)
            {
                break; // past the last capability this kernel knows
            }
        }

        long r = HostProcess.Syscall(Sysno.prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        if (r < 0)
        {
            return r;
        }

        var header = new CapHeader { Version = LinuxCapabilityVersion3 };
        CapData* data = stackalloc CapData[2];
        r = HostProcess.Syscall(Sysno.capget, (long)&header, (long)data);
        if (r < 0)
        {
            return r;
        }

        for (int i = 0; i < 2; i++)
        {
            uint k = (uint)(keep >> (32 * i));
            data[i].Permitted &= k;
            data[i].Effective = data[i].Permitted;
            data[i].Inheritable = 0;
        }

        return HostProcess.Syscall(Sysno.capset, (long)&header, (long)data);
    }

    /// <summary>The permitted set of the calling thread, or 0 if it cannot be read.</summary>
    public static ulong Permitted()
    {
        var header = new CapHeader { Version = LinuxCapabilityVersion3 };
        CapData* data = stackalloc CapData[2];
        return HostProcess.Syscall(Sysno.capget, (long)&header, (long)data) < 0 ? 0 : data[0].Permitted | ((ulong)data[1].Permitted << 32);
    }
}
