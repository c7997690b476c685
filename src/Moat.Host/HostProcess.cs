using Moat.Abi;

namespace Moat.Host;

/// <summary>Process-level host calls: waiting, signals, identity, auxv.</summary>
public static unsafe class HostProcess
{
    public const int WNOHANG = 1;
    public const int WUNTRACED = 2;
    public const int __WALL = 0x40000000;

    /// <summary>waitpid(2), retried on EINTR. Returns the pid or -errno.</summary>
    public static int WaitPid(int pid, out int status, int options)
    {
        while (true)
        {
            int r = Interop.Libc.waitpid(pid, out status, options);
            if (r >= 0)
            {
                return r;
            }

            int err = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (err != 4 /* EINTR */)
            {
                return -err;
            }
        }
    }

    public static bool WIfExited(int status) => (status & 0x7f) == 0;

    public static int WExitStatus(int status) => (status >> 8) & 0xff;

    public static bool WIfSignaled(int status) => ((status & 0x7f) + 1) >> 1 > 0 && (status & 0x7f) != 0x7f;

    public static int WTermSig(int status) => status & 0x7f;

    public static bool WIfStopped(int status) => (status & 0xff) == 0x7f;

    public static int WStopSig(int status) => (status >> 8) & 0xff;

    public static long Kill(int pid, int signal) => HostResult.FromInt(Interop.Libc.kill(pid, signal));

    public static int GetPid() => Interop.Libc.getpid();

    public static int GetTid() => Interop.Libc.gettid();

    public static ulong GetAuxval(ulong type) => Interop.Libc.getauxval(type);

    public static long ClockGettime(int clock, out Timespec ts)
    {
        fixed (Timespec* p = &ts)
        {
            return HostResult.FromInt(Interop.Libc.clock_gettime(clock, p));
        }
    }

    public static long Syscall(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0) =>
        HostResult.FromLong(Interop.Libc.syscall(nr, a1, a2, a3, a4, a5, a6));
}
