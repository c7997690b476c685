namespace Moat.Sentry.Kernel;

/// <summary>
/// Linux's ptrace_may_access as the sandbox has it (no LSM, no Yama, so READ and ATTACH ask the same): a thread
/// of the same process; CAP_SYS_PTRACE; or the caller's ids equal to all of the target's real, effective and saved
/// ids, and the target dumpable.
/// </summary>
internal static class PtraceAccess
{
    /// <summary>
    /// Whether <paramref name="caller"/> may read <paramref name="target"/>: with <paramref name="fsCreds"/> the
    /// caller's file-system ids are compared (PTRACE_MODE_FSCREDS: /proc files; the effective ids in the sandbox),
    /// else its real ids (PTRACE_MODE_REALCREDS: ptrace, process_vm_*, pidfd_getfd).
    /// </summary>
    public static bool MayRead(Task caller, Task target, bool fsCreds = false)
    {
        if (caller.Group == target.Group)
        {
            return true;
        }

        Credentials c = caller.Credentials;
        if (c.HasCapability(Credentials.CAP_SYS_PTRACE))
        {
            return true;
        }

        uint uid = fsCreds ? c.EffectiveUid : c.RealUid;
        uint gid = fsCreds ? c.EffectiveGid : c.RealGid;
        Credentials o = target.Credentials;
        bool sameIds = uid == o.RealUid && uid == o.EffectiveUid && uid == o.SavedUid &&
            gid == o.RealGid && gid == o.EffectiveGid && gid == o.SavedGid;
        return sameIds && target.Group.Dumpable;
    }
}
