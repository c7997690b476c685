using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Linux's protection of a PID namespace's init (SIGNAL_UNKILLABLE in sig_task_ignored): a signal sent from
/// inside the namespace whose action in init is the default one is dropped, SIGKILL and SIGSTOP included
/// (their action is always the default). The sandbox is one PID namespace whose init is <see cref="Kernel.Init"/>;
/// when <see cref="Kernel.ProtectsInit"/> (an OCI container), every signal a task sends (kill, tkill, tgkill,
/// rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal) goes through this check. Signals from outside (moat
/// kill, the host's signals forwarded to the sandbox) do not, as a signal from an ancestor namespace is forced
/// on Linux; nor do the kernel's own (a fault's SIGSEGV). A pod container's init (<see cref="Moat.Sentry.SandboxContainer"/>)
/// is protected the same way, as the init of that container's namespace under runc.
/// </summary>
internal static class InitSignals
{
    /// <summary>Whether a signal <paramref name="sig"/> sent by <paramref name="sender"/> to <paramref name="target"/> is dropped.</summary>
    public static bool DropsFromInside(Task sender, ThreadGroup target, int sig) =>
        sig is > 0 and <= Signal.SIGRTMAX &&
        sender.Kernel.ProtectsInit &&
        (target == sender.Kernel.Init || target.Container?.Init == target) &&
        target.SignalActions[sig].Handler == SignalAction.SIG_DFL;
}
