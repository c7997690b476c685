using System.Runtime.InteropServices;
using Moat.Abi;

namespace Moat.Host;

/// <summary>Installs a seccomp filter on every thread of this process, and the no_new_privs it needs.</summary>
public static unsafe class HostSeccomp
{
    private const int PR_SET_NO_NEW_PRIVS = 38;
    private const int SECCOMP_SET_MODE_FILTER = 1;
    private const int SECCOMP_FILTER_FLAG_TSYNC = 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct SockFprog
    {
        public ushort Len;
        public byte* Filter;
    }

    /// <summary>
    /// Sets no_new_privs and installs <paramref name="program"/> (from <see cref="SeccompProgram.Compile"/>)
    /// on all threads (TSYNC also gives each thread no_new_privs). Returns 0, -errno, or the id of a thread
    /// that could not be synchronised.
    /// </summary>
    public static long Install(byte[] program)
    {
        long r = SetNoNewPrivs();
        if (r < 0)
        {
            return r;
        }

        fixed (byte* p = program)
        {
            var fprog = new SockFprog { Len = (ushort)(program.Length / 8), Filter = p };
            return HostProcess.Syscall(Sysno.seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, (long)&fprog);
        }
    }

    /// <summary>prctl(PR_SET_NO_NEW_PRIVS): execve never grants privileges again (this thread and its children).</summary>
    public static long SetNoNewPrivs() => HostProcess.Syscall(Sysno.prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}
