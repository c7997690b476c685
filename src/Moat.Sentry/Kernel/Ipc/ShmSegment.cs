using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>
/// A SysV shared memory segment: MemoryFile pages that every attachment maps (Linux's shmid_kernel). The
/// segment holds one reference on its pages until it is destroyed; each attached VMA holds one more, so pages
/// outlive a destroyed segment while still mapped. Fields are protected by <see cref="ShmRegistry.Mu"/>.
/// </summary>
internal sealed class ShmSegment : IpcObject, IMappingOwner
{
    private readonly ShmRegistry _registry;

    public ShmSegment(ShmRegistry registry, int key, Credentials creator, int mode, ulong size, long fileOffset, Pid pid)
        : base(key, creator, mode)
    {
        _registry = registry;
        Size = size;
        FileOffset = fileOffset;
        CreatorPid = pid;
    }

    /// <summary>The size asked for (shm_segsz); the pages cover it rounded up.</summary>
    public ulong Size { get; }

    public ulong Length => MemoryManager.PageUp(Size);

    public long FileOffset { get; }

    /// <summary>The creator (shm_cpid), shown in each reader's pid namespace.</summary>
    public Pid CreatorPid { get; }

    /// <summary>The process that last added or dropped an attachment (shm_lpid): shmat, shmdt, munmap, fork, exit.</summary>
    public Pid? LastPid { get; set; }

    /// <summary>shm_nattch: how many VMAs map the segment, plus shmat calls in progress.</summary>
    public long Attachments { get; set; }

    public long AttachTime { get; set; }

    public long DetachTime { get; set; }

    public bool MarkedForDestruction => (Mode & IpcConst.SHM_DEST) != 0;

    /// <inheritdoc/>
    public void Attached(int count)
    {
        lock (_registry.Mu)
        {
            Attachments += count;
            AttachTime = IpcNamespace.Now();
            LastPid = Task.Current?.Group.Pid ?? LastPid;
        }
    }

    /// <inheritdoc/>
    public void Detached(int count)
    {
        lock (_registry.Mu)
        {
            Attachments -= count;
            DetachTime = IpcNamespace.Now();
            LastPid = Task.Current?.Group.Pid ?? LastPid;
            _registry.DestroyIfUnusedLocked(this);
        }
    }

    /// <summary>shmid_ds as a reader in <paramref name="ns"/> sees it: pids there, 0 for a process it cannot see.</summary>
    public ShmidDs ToDs(PidNamespace ns) => new()
    {
        shm_perm = ToPerm(),
        shm_segsz = Size,
        shm_atime = AttachTime,
        shm_dtime = DetachTime,
        shm_ctime = ChangeTime,
        shm_cpid = CreatorPid.In(ns),
        shm_lpid = LastPid?.In(ns) ?? 0,
        shm_nattch = (ulong)Attachments,
    };
}
