using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// reboot(2) as Linux answers it inside a PID namespace of its own, which the sandbox is (kernel/reboot.c,
/// reboot_pid_ns): the sandbox's init is killed for a restart, halt or power-off, and the host is never touched.
/// </summary>
internal static class SysReboot
{
    private const int CAP_SYS_BOOT = 22;
    private const uint LINUX_REBOOT_MAGIC1 = 0xfee1dead;
    private const uint LINUX_REBOOT_MAGIC2 = 672274793;
    private const uint LINUX_REBOOT_MAGIC2A = 85072278;
    private const uint LINUX_REBOOT_MAGIC2B = 369367448;
    private const uint LINUX_REBOOT_MAGIC2C = 537993216;
    private const uint LINUX_REBOOT_CMD_RESTART = 0x01234567;
    private const uint LINUX_REBOOT_CMD_HALT = 0xCDEF0123;
    private const uint LINUX_REBOOT_CMD_POWER_OFF = 0x4321FEDC;
    private const uint LINUX_REBOOT_CMD_RESTART2 = 0xA1B2C3D4;

    /// <summary>
    /// Implements reboot(2): EPERM without CAP_SYS_BOOT, EINVAL for wrong magic numbers and for every command but
    /// restart, halt and power-off (ctrl-alt-del, kexec, suspend belong to the host); those kill the sandbox's
    /// init (SIGKILL) and end the caller, as reboot_pid_ns does.
    /// </summary>
    public static long Reboot(Task t, in SyscallArgs a)
    {
        if (!t.Credentials.HasCapability(CAP_SYS_BOOT))
        {
            return -Errno.EPERM.Value;
        }

        uint magic1 = (uint)a.Int(0);
        uint magic2 = (uint)a.Int(1);
        if (magic1 != LINUX_REBOOT_MAGIC1 ||
            magic2 is not (LINUX_REBOOT_MAGIC2 or LINUX_REBOOT_MAGIC2A or LINUX_REBOOT_MAGIC2B or LINUX_REBOOT_MAGIC2C))
        {
            return -Errno.EINVAL.Value;
        }

        if ((uint)a.Int(2) is not (LINUX_REBOOT_CMD_RESTART or LINUX_REBOOT_CMD_RESTART2 or LINUX_REBOOT_CMD_HALT or LINUX_REBOOT_CMD_POWER_OFF))
        {
            return -Errno.EINVAL.Value;
        }

        if (t.Kernel.FindGroup(t.PidNs, 1) is ThreadGroup init)
        {
            Task? target;
            lock (t.Kernel.TreeMu)
            {
                target = init.Zombie ? null : init.SignalTarget(Signal.SIGKILL);
            }

            // From the kernel (send_sig with priv): SI_KERNEL, which init cannot ignore or block.
            target?.SendSignal(Signal.SIGKILL, new SigInfo { si_signo = Signal.SIGKILL, si_code = SigInfo.SI_KERNEL });
        }

        t.RequestExit(ExitStatus.Exited(0));
        return 0;
    }
}
