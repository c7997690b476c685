using Moat.Abi;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>
/// What every SysV IPC object has (Linux's kern_ipc_perm): its key, id, owner and creator, mode and the
/// times and checks common to shm segments, semaphore sets and message queues.
/// Fields are protected by the lock of the registry that holds the object.
/// </summary>
internal abstract class IpcObject
{
    protected IpcObject(int key, Credentials creator, int mode)
    {
        Key = key;
        Uid = Cuid = creator.EffectiveUid;
        Gid = Cgid = creator.EffectiveGid;
        Mode = mode & 0x1ff;
        ChangeTime = IpcNamespace.Now();
    }

    /// <summary>The key, or IPC_PRIVATE (also once a segment is marked for destruction).</summary>
    public int Key { get; set; }

    /// <summary>index + seq * 32768, set when the object enters its registry.</summary>
    public int Id { get; set; }

    public int Index { get; set; }

    public ushort Seq { get; set; }

    public uint Uid { get; set; }

    public uint Gid { get; set; }

    public uint Cuid { get; }

    public uint Cgid { get; }

    /// <summary>The nine permission bits, plus SHM_DEST / SHM_LOCKED for segments.</summary>
    public int Mode { get; set; }

    /// <summary>Last change by IPC_SET (or creation), in seconds since the epoch.</summary>
    public long ChangeTime { get; set; }

    /// <summary>Set when the object has left its registry: sleepers on it answer EIDRM.</summary>
    public bool Removed { get; set; }

    /// <summary>
    /// Linux's ipcperms: whether <paramref name="c"/> may access the object as the rwx bits of
    /// <paramref name="flag"/> (any of its three triplets) ask. CAP_IPC_OWNER passes every check.
    /// </summary>
    public bool MayAccess(Credentials c, int flag)
    {
        int requested = (short)flag;
        requested = (requested >> 6) | (requested >> 3) | requested;
        int granted = Mode;
        if (c.EffectiveUid == Cuid || c.EffectiveUid == Uid)
        {
            granted >>= 6;
        }
        else if (InGroup(c, Cgid) || InGroup(c, Gid))
        {
            granted >>= 3;
        }

        return (requested & ~granted & 7) == 0 || c.HasCapability(IpcNamespace.CAP_IPC_OWNER);
    }

    /// <summary>Whether <paramref name="c"/> may IPC_SET or IPC_RMID the object: owner, creator or CAP_SYS_ADMIN.</summary>
    public bool MayControl(Credentials c) =>
        c.EffectiveUid == Cuid || c.EffectiveUid == Uid || c.HasCapability(IpcNamespace.CAP_SYS_ADMIN);

    /// <summary>Applies IPC_SET's owner and mode (ipc_update_perm) and its change time. Returns EINVAL for an invalid id.</summary>
    public Errno SetPerm(in IpcPerm64 p)
    {
        if (p.uid == uint.MaxValue || p.gid == uint.MaxValue)
        {
            return Errno.EINVAL;
        }

        Uid = p.uid;
        Gid = p.gid;
        Mode = (Mode & ~0x1ff) | (int)(p.mode & 0x1ff);
        ChangeTime = IpcNamespace.Now();
        return Errno.None;
    }

    /// <summary>The ipc64_perm a *_STAT reports.</summary>
    public IpcPerm64 ToPerm() => new()
    {
        key = Key,
        uid = Uid,
        gid = Gid,
        cuid = Cuid,
        cgid = Cgid,
        mode = (uint)Mode,
        seq = Seq,
    };

    private static bool InGroup(Credentials c, uint gid)
    {
        if (c.EffectiveGid == gid)
        {
            return true;
        }

        foreach (uint g in c.Groups)
        {
            if (g == gid)
            {
                return true;
            }
        }

        return false;
    }
}
