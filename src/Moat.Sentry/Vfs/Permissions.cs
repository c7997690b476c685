using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// Linux's discretionary access rules in one place: <c>generic_permission</c> (owner, group, other bits and
/// the DAC capabilities), the sticky bit, and the owner and set-id rules of chmod, chown, utimes, write and
/// creation (fs/namei.c, fs/attr.c, fs/inode.c). Every file system's checks come here, so tmpfs, the
/// overlay and volumes answer alike; the host never decides for the sandbox (the gofer acts as root).
/// Ids are the task's effective ids (the sandbox has no setfsuid).
/// </summary>
internal static class Permissions
{
    public const int MayExec = 1;
    public const int MayWrite = 2;
    public const int MayRead = 4;

    private const uint S_IXUGO = 0x49;

    /// <summary>
    /// Whether <paramref name="c"/> may access a file of <paramref name="st"/>'s mode and owners as
    /// <paramref name="may"/> (MayRead | MayWrite | MayExec) asks. Returns None or EACCES.
    /// </summary>
    public static Errno Check(Credentials c, in Stat st, int may)
    {
        uint mode = st.st_mode;
        uint bits = c.EffectiveUid == st.st_uid ? (mode >> 6) & 7 : c.InGroup(st.st_gid) ? (mode >> 3) & 7 : mode & 7;
        if (((uint)may & ~bits) == 0)
        {
            return Errno.None;
        }

        if ((mode & Stat.S_IFMT) == Stat.S_IFDIR)
        {
            // Reading and searching a directory: CAP_DAC_READ_SEARCH; anything: CAP_DAC_OVERRIDE.
            if ((may & MayWrite) == 0 && c.HasCapability(Credentials.CAP_DAC_READ_SEARCH))
            {
                return Errno.None;
            }

            return c.HasCapability(Credentials.CAP_DAC_OVERRIDE) ? Errno.None : Errno.EACCES;
        }

        if (may == MayRead && c.HasCapability(Credentials.CAP_DAC_READ_SEARCH))
        {
            return Errno.None;
        }

        // Even CAP_DAC_OVERRIDE executes only a file that someone may execute.
        if (((may & MayExec) == 0 || (mode & S_IXUGO) != 0) && c.HasCapability(Credentials.CAP_DAC_OVERRIDE))
        {
            return Errno.None;
        }

        return Errno.EACCES;
    }

    /// <summary>Whether every check of <see cref="Check"/> on a directory passes without looking (search and read).</summary>
    public static bool BypassesSearch(Credentials c) =>
        c.HasCapability(Credentials.CAP_DAC_READ_SEARCH) || c.HasCapability(Credentials.CAP_DAC_OVERRIDE);

    /// <summary>Whether <paramref name="c"/> passes every read/write check without looking (CAP_DAC_OVERRIDE).</summary>
    public static bool BypassesAccess(Credentials c) => c.HasCapability(Credentials.CAP_DAC_OVERRIDE);

    /// <summary>Linux's inode_owner_or_capable: the file's owner, or CAP_FOWNER.</summary>
    public static bool IsOwnerOrCapable(Credentials c, uint uid) => c.EffectiveUid == uid || c.HasCapability(Credentials.CAP_FOWNER);

    /// <summary>
    /// The sticky-bit rule of unlink, rmdir and rename (check_sticky): in a sticky directory only the file's
    /// owner, the directory's owner or CAP_FOWNER may remove a name. Returns None or EPERM.
    /// </summary>
    public static Errno CheckSticky(Credentials c, in Stat dir, in Stat victim)
    {
        if ((dir.st_mode & Stat.S_ISVTX) == 0 || c.EffectiveUid == victim.st_uid || c.EffectiveUid == dir.st_uid)
        {
            return Errno.None;
        }

        return c.HasCapability(Credentials.CAP_FOWNER) ? Errno.None : Errno.EPERM;
    }

    /// <summary>
    /// Linux's may_delete for a name whose parent is <paramref name="dir"/>: write and search on the parent
    /// (EACCES), then the sticky bit (EPERM).
    /// </summary>
    public static Errno MayDelete(Credentials c, in Stat dir, in Stat victim)
    {
        Errno e = Check(c, dir, MayWrite | MayExec);
        return e != Errno.None ? e : CheckSticky(c, dir, victim);
    }

    /// <summary>
    /// chmod's rules: only the owner or CAP_FOWNER (EPERM); the set-group-id bit is dropped for a caller
    /// outside the file's group without CAP_FSETID. Returns the mode bits to set.
    /// </summary>
    public static Errno Chmod(Credentials c, in Stat st, ref uint mode)
    {
        if (!IsOwnerOrCapable(c, st.st_uid))
        {
            return Errno.EPERM;
        }

        if ((mode & Stat.S_ISGID) != 0 && !c.InGroup(st.st_gid) && !c.HasCapability(Credentials.CAP_FSETID))
        {
            mode &= ~Stat.S_ISGID;
        }

        return Errno.None;
    }

    /// <summary>
    /// chown's rules (chown_ok, chgrp_ok): the owner may give the file to a group of its own; anything else
    /// needs CAP_CHOWN (EPERM). <paramref name="uid"/> and <paramref name="gid"/> are uint.MaxValue for "no
    /// change". On success <paramref name="newMode"/> is the mode after the change: a non-directory loses
    /// set-user-id, and set-group-id where group execute is set, even when root changes it.
    /// </summary>
    public static Errno Chown(Credentials c, in Stat st, uint uid, uint gid, out uint newMode)
    {
        newMode = st.st_mode;
        bool capable = c.HasCapability(Credentials.CAP_CHOWN);
        if (uid != uint.MaxValue && !capable && !(c.EffectiveUid == st.st_uid && uid == st.st_uid))
        {
            return Errno.EPERM;
        }

        if (gid != uint.MaxValue && !capable && !(c.EffectiveUid == st.st_uid && (c.InGroup(gid) || gid == st.st_gid)))
        {
            return Errno.EPERM;
        }

        if ((st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
        {
            newMode &= ~Stat.S_ISUID;
            if ((newMode & (Stat.S_ISGID | Stat.S_IXGRP)) == (Stat.S_ISGID | Stat.S_IXGRP))
            {
                newMode &= ~Stat.S_ISGID;
            }
        }

        return Errno.None;
    }

    /// <summary>
    /// utimensat's rules: explicit times need the owner or CAP_FOWNER (EPERM); "now" also lets anyone
    /// with write permission (EACCES otherwise).
    /// </summary>
    public static Errno Utimes(Credentials c, in Stat st, bool explicitTimes)
    {
        if (IsOwnerOrCapable(c, st.st_uid))
        {
            return Errno.None;
        }

        if (explicitTimes)
        {
            return Errno.EPERM;
        }

        return Check(c, st, MayWrite);
    }

    /// <summary>
    /// The set-id bits a write or truncate by <paramref name="c"/> removes from a regular file
    /// (setattr_should_drop_suidgid): set-user-id always, set-group-id when group execute is set or the
    /// writer is outside the group; nothing for a writer with CAP_FSETID. Returns the new mode, or the same.
    /// </summary>
    public static uint ModeAfterWrite(Credentials c, uint mode, uint gid)
    {
        if ((mode & Stat.S_IFMT) != Stat.S_IFREG || (mode & (Stat.S_ISUID | Stat.S_ISGID)) == 0)
        {
            return mode;
        }

        return ModeAfterWriteSlow(c, mode, gid);
    }

    // Separate so that the common case (no set-id bit) stays two tests.
    private static uint ModeAfterWriteSlow(Credentials c, uint mode, uint gid)
    {
        if (c.HasCapability(Credentials.CAP_FSETID))
        {
            return mode;
        }

        mode &= ~Stat.S_ISUID;
        if ((mode & Stat.S_ISGID) != 0 && ((mode & Stat.S_IXGRP) != 0 || !c.InGroup(gid)))
        {
            mode &= ~Stat.S_ISGID;
        }

        return mode;
    }

    /// <summary>
    /// The owner and mode of a new node in a directory of <paramref name="dir"/>'s attributes
    /// (inode_init_owner): the creator's uid; the directory's group and, for a directory, its set-group-id
    /// bit where the parent has one; otherwise the creator's gid. A new file keeps set-group-id with group
    /// execute only for a member of its group or CAP_FSETID.
    /// </summary>
    public static (uint Uid, uint Gid, uint Mode) NewNode(Credentials c, in Stat dir, uint mode, bool isDir)
    {
        uint gid = c.EffectiveGid;
        if ((dir.st_mode & Stat.S_ISGID) != 0)
        {
            gid = dir.st_gid;
            if (isDir)
            {
                mode |= Stat.S_ISGID;
            }
        }

        if (!isDir && (mode & (Stat.S_ISGID | Stat.S_IXGRP)) == (Stat.S_ISGID | Stat.S_IXGRP) &&
            !c.InGroup(gid) && !c.HasCapability(Credentials.CAP_FSETID))
        {
            mode &= ~Stat.S_ISGID;
        }

        return (c.EffectiveUid, gid, mode);
    }
}
