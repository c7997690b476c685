using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// membarrier(2) with Linux 6.x's commands and checks. A barrier the app asks for must reach its threads that run
/// in stubs on other CPUs, which the Sentry cannot interrupt cheaply: when the caller's memory has other users the
/// Sentry issues the host's MEMBARRIER_CMD_GLOBAL (every CPU passes a barrier; milliseconds), and when the caller
/// is alone its own switch into the Sentry was the barrier.
/// </summary>
internal static class SysMembarrier
{
    private const int MEMBARRIER_CMD_QUERY = 0;
    private const int MEMBARRIER_CMD_GLOBAL = 1 << 0;
    private const int MEMBARRIER_CMD_GLOBAL_EXPEDITED = 1 << 1;
    private const int MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED = 1 << 2;
    private const int MEMBARRIER_CMD_PRIVATE_EXPEDITED = 1 << 3;
    private const int MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 1 << 4;
    private const int MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE = 1 << 5;
    private const int MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 1 << 6;
    private const int MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ = 1 << 7;
    private const int MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ = 1 << 8;
    private const int MEMBARRIER_CMD_GET_REGISTRATIONS = 1 << 9;
    private const uint MEMBARRIER_CMD_FLAG_CPU = 1;

    // Every command above: what QUERY answers (no nohz_full CPUs in the sandbox).
    private const int AllCommands = (1 << 10) - 1;

    /// <summary>Implements membarrier(2).</summary>
    public static long Membarrier(Task t, in SyscallArgs a)
    {
        int cmd = a.Int(0);
        uint flags = a.UInt(1);
        if (cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ ? flags != 0 && flags != MEMBARRIER_CMD_FLAG_CPU : flags != 0)
        {
            return -Errno.EINVAL.Value;
        }

        switch (cmd)
        {
            case MEMBARRIER_CMD_QUERY:
                return AllCommands;
            case MEMBARRIER_CMD_GLOBAL:
                HostBarrier();
                return 0;
            case MEMBARRIER_CMD_GLOBAL_EXPEDITED:
                // Reaches the processes registered for it; any process of the sandbox may be one.
                HostBarrier();
                return 0;
            case MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
            case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
            case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:
            case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ:
                t.MM.AddMembarrierRegistration(cmd);
                return 0;
            case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
            case MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE:
            case MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ:
                // Each needs its own registration (cmd << 1 is its REGISTER_ command).
                if ((t.MM.MembarrierRegistrations & (cmd << 1)) == 0)
                {
                    return -Errno.EPERM.Value;
                }

                if (t.MM.Users > 1)
                {
                    HostBarrier();
                }

                return 0;
            case MEMBARRIER_CMD_GET_REGISTRATIONS:
                return t.MM.MembarrierRegistrations;
            default:
                return -Errno.EINVAL.Value;
        }
    }

    // A full barrier on every host CPU, hence in every stub thread of the sandbox.
    private static void HostBarrier() => HostProcess.Syscall(Sysno.membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
}
