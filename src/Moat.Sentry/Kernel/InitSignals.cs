using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Linux's protection of a PID namespace's init (SIGNAL_UNKILLABLE in sig_task_ignored): a signal whose action in
/// init is the default one is dropped when it comes from inside the namespace, SIGKILL and SIGSTOP included
/// (their action is always the default); from an ancestor namespace only SIGKILL and SIGSTOP get through. Every
/// signal a task sends (kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal) goes through
/// this check; the kernel's own (a fault's SIGSEGV, the runtime's moat kill, the host's signals forwarded to the
/// sandbox) do not. The inits of namespaces made inside the sandbox (clone or unshare with CLONE_NEWPID, a pod
/// container's own) are always protected; the sandbox's root init only when <see cref="Kernel.ProtectsInit"/>
/// (an OCI container), as is a pod container's init that shares the root namespace.
/// </summary>
internal static class InitSignals
{
    /// <summary>Whether a signal <paramref name="sig"/> sent by <paramref name="sender"/> to <paramref name="target"/> is dropped.</summary>
    public static bool DropsFromInside(Task sender, ThreadGroup target, int sig)
    {
        if (sig is <= 0 or > Signal.SIGRTMAX || target.SignalActions[sig].Handler != SignalAction.SIG_DFL)
        {
            return false;
        }

        PidNamespace ns = target.PidNs;
        if (ns.Level > 0 && ns.Init == target)
        {
            // From inside (the sender is visible in init's namespace) always; from above, all but the two
            // signals an ancestor forces.
            return ns.Contains(sender.PidNs) || (sig != Signal.SIGKILL && sig != Signal.SIGSTOP);
        }

        return sender.Kernel.ProtectsInit && (target == sender.Kernel.Init || target.Container?.Init == target);
    }
}
