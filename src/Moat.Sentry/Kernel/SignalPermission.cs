using Moat.Abi;
namespace Moat.Sentry.Kernel;

/// <summary>Who may send a signal to whom: Linux's check_kill_permission for signals a task sends (kill, tgkill, sigqueue, pidfd).</summary>
internal static class SignalPermission
{
    /// <summary>
    /// Whether <paramref name="sender"/> may send <paramref name="sig"/> (0 probes) to <paramref name="target"/>:
    /// always within a process; otherwise when the sender's real or effective uid is the target's real or saved
    /// uid (kill_ok_by_cred), with CAP_KILL, or for SIGCONT within the sender's session.
    /// </summary>
    public static bool MayKill(Task sender, Task target, int sig) => MayKill(sender, target.Group, target.Credentials, sig);

    /// <summary>
    /// As <see cref="MayKill(Task, Task, int)"/> for a process: its leader's credentials, or those it exited with
    /// (a zombie). Takes Kernel.TreeMu.
    /// </summary>
    public static bool MayKillProcess(Task sender, ThreadGroup g, int sig)
    {
        Credentials? o;
        lock (sender.Kernel.TreeMu)
        {
            o = CredentialTaskLocked(g)?.Credentials ?? g.ExitCredentials;
        }

        return o == null || MayKill(sender, g, o, sig);
    }

    private static bool MayKill(Task sender, ThreadGroup targetGroup, Credentials o, int sig)
    {
        if (sender.Group == targetGroup)
        {
            return true;
        }

        Credentials c = sender.Credentials;
        if (c.EffectiveUid == o.SavedUid || c.EffectiveUid == o.RealUid || c.RealUid == o.SavedUid || c.RealUid == o.RealUid ||
            c.HasCapability(Credentials.CAP_KILL))
        {
            return true;
        }

        return sig == Signal.SIGCONT && sender.Group.Session == targetGroup.Session;
    }

    /// <summary>
    /// The task whose credentials stand for a process in a permission check (Linux checks the group leader):
    /// the leader if it is alive, else any live task, else null (a zombie: see <see cref="ThreadGroup.ExitCredentials"/>).
    /// </summary>
    /// <remarks>Precondition: Kernel.TreeMu is held.</remarks>
    public static Task? CredentialTaskLocked(ThreadGroup g)
    {
        Task? any = null;
        foreach (Task t in g.Tasks)
        {
            if (t.Tid == g.Tgid)
            {
                return t;
            }

            any ??= t;
        }

        return any;
    }
}
