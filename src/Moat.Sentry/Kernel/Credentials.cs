namespace Moat.Sentry.Kernel;

/// <summary>
/// A task's user and group identities and capability sets. Immutable; set*id and capset replace the object.
/// The sandbox is a user namespace of its own: uid 0 starts with every capability, and capabilities count
/// only inside it.
/// </summary>
internal sealed record Credentials(uint RealUid, uint EffectiveUid, uint SavedUid, uint RealGid, uint EffectiveGid, uint SavedGid)
{
    public const int CAP_CHOWN = 0;
    public const int CAP_DAC_OVERRIDE = 1;
    public const int CAP_DAC_READ_SEARCH = 2;
    public const int CAP_FOWNER = 3;
    public const int CAP_FSETID = 4;
    public const int CAP_KILL = 5;
    public const int CAP_SETGID = 6;
    public const int CAP_SETUID = 7;
    public const int CAP_SETPCAP = 8;
    public const int CAP_NET_ADMIN = 12;
    public const int CAP_NET_RAW = 13;
    public const int CAP_IPC_LOCK = 14;
    public const int CAP_SYS_CHROOT = 18;
    public const int CAP_SYS_PTRACE = 19;
    public const int CAP_SYS_ADMIN = 21;
    public const int CAP_SYS_NICE = 23;
    public const int CAP_SYS_RESOURCE = 24;
    public const int CAP_SYS_TIME = 25;
    public const int CAP_MKNOD = 27;

    /// <summary>Every capability Linux defines (CAP_LAST_CAP is 40, CAP_CHECKPOINT_RESTORE).</summary>
    public const ulong AllCapabilities = (1UL << 41) - 1;

    public static Credentials Root { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>Supplementary group ids (setgroups).</summary>
    public uint[] Groups { get; init; } = [];

    /// <summary>The permitted set: what the task may make effective. Full for root, as after execve.</summary>
    public ulong CapPermitted { get; init; } = RealUid == 0 || EffectiveUid == 0 ? AllCapabilities : 0;

    /// <summary>The effective set: what permission checks look at.</summary>
    public ulong CapEffective { get; init; } = EffectiveUid == 0 ? AllCapabilities : 0;

    /// <summary>The inheritable set.</summary>
    public ulong CapInheritable { get; init; }

    /// <summary>The bounding set: the most an execve can grant (an OCI runtime narrows it; full otherwise).</summary>
    public ulong CapBounding { get; init; } = AllCapabilities;

    /// <summary>
    /// The ambient set (prctl PR_CAP_AMBIENT): kept across an execve of a file without set-id bits, and added to
    /// the permitted and effective sets there, so a non-root program keeps them. Always within permitted and
    /// inheritable.
    /// </summary>
    public ulong CapAmbient { get; init; }

    /// <summary>The highest capability number (CAP_CHECKPOINT_RESTORE): cap_valid's bound.</summary>
    public const int LastCapability = 40;

    /// <summary>
    /// The securebits (prctl PR_SET_SECUREBITS, linux/securebits.h): each bit with its lock bit above it. The
    /// kernel acts on NOROOT (execve as root grants no capabilities), NO_SETUID_FIXUP (uid changes leave the
    /// capability sets alone), KEEP_CAPS (PR_SET_KEEPCAPS; cleared by execve) and NO_CAP_AMBIENT_RAISE; the
    /// EXEC_RESTRICT_FILE and EXEC_DENY_INTERACTIVE bits are kept for interpreters to read.
    /// </summary>
    public uint SecureBits { get; init; }

    public const uint SECBIT_NOROOT = 1 << 0;
    public const uint SECBIT_NO_SETUID_FIXUP = 1 << 2;
    public const uint SECBIT_KEEP_CAPS = 1 << 4;
    public const uint SECBIT_KEEP_CAPS_LOCKED = 1 << 5;
    public const uint SECBIT_NO_CAP_AMBIENT_RAISE = 1 << 6;

    /// <summary>Every settable bit: the six flags (0x555) and their locks (0xAAA), as Linux 6.14 and later know them.</summary>
    public const uint SecureAllBits = 0x555;

    /// <summary>prctl(PR_SET_KEEPCAPS) (SECBIT_KEEP_CAPS): a uid change away from root keeps the permitted set. Cleared by execve.</summary>
    public bool KeepCaps => (SecureBits & SECBIT_KEEP_CAPS) != 0;

    /// <summary>Whether the task acts as root (effective uid 0). Permission checks use <see cref="HasCapability"/>.</summary>
    public bool IsRoot => EffectiveUid == 0;

    /// <summary>Whether the task is in group <paramref name="gid"/>: its effective gid or a supplementary one (in_group_p).</summary>
    public bool InGroup(uint gid)
    {
        if (EffectiveGid == gid)
        {
            return true;
        }

        foreach (uint g in Groups)
        {
            if (g == gid)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether <paramref name="cap"/> is in the effective set.</summary>
    public bool HasCapability(int cap) => (CapEffective & (1UL << cap)) != 0;

    /// <summary>
    /// These credentials after a uid change from <paramref name="old"/> (Linux's cap_emulate_setxuid): leaving
    /// uid 0 everywhere drops the permitted and effective sets (unless <see cref="KeepCaps"/>); an effective uid
    /// leaving 0 drops the effective set, and one becoming 0 makes it the permitted set again.
    /// </summary>
    public Credentials AfterUidChange(Credentials old)
    {
        if ((SecureBits & SECBIT_NO_SETUID_FIXUP) != 0)
        {
            return this;
        }

        ulong permitted = CapPermitted;
        ulong effective = CapEffective;
        bool hadRoot = old.RealUid == 0 || old.EffectiveUid == 0 || old.SavedUid == 0;
        bool hasRoot = RealUid == 0 || EffectiveUid == 0 || SavedUid == 0;
        ulong ambient = CapAmbient;
        if (hadRoot && !hasRoot)
        {
            // Even with KEEPCAPS: programs from before ambient capabilities expect setresuid to a non-root uid
            // and execve to drop them.
            ambient = 0;
            if (!KeepCaps)
            {
                permitted = 0;
                effective = 0;
            }
        }

        if (old.EffectiveUid == 0 && EffectiveUid != 0)
        {
            effective = 0;
        }

        if (old.EffectiveUid != 0 && EffectiveUid == 0)
        {
            effective = permitted;
        }

        return this with { CapPermitted = permitted, CapEffective = effective, CapAmbient = ambient };
    }

    /// <summary>
    /// These credentials after execve of a file without file capabilities (Linux's cap_bprm_creds_from_file):
    /// root gets the bounding and inheritable sets as permitted (effective too if the effective uid is 0);
    /// the ambient set survives unless the exec changed ids (<paramref name="setid"/>) and is added to the
    /// permitted set, and is the effective set of a non-root program.
    /// </summary>
    public Credentials AfterExec(bool setid = false)
    {
        // SECBIT_NOROOT: uid 0 is not special to execve (handle_privileged_root).
        bool rootPrivileged = (SecureBits & SECBIT_NOROOT) == 0;
        bool root = rootPrivileged && (RealUid == 0 || EffectiveUid == 0);
        ulong ambient = setid ? 0 : CapAmbient;
        ulong permitted = (root ? CapBounding | CapInheritable : 0) | ambient;
        ulong effective = rootPrivileged && EffectiveUid == 0 ? permitted : ambient;
        return this with { CapPermitted = permitted, CapEffective = effective, CapAmbient = ambient, SecureBits = SecureBits & ~SECBIT_KEEP_CAPS };
    }
}
