using Moat.Abi;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>
/// The shm segments of an <see cref="IpcNamespace"/>: shmget, shmat, shmdt and shmctl with Linux's checks in
/// Linux's order. Lock order: MemoryManager._mu &gt; <see cref="Mu"/> &gt; MemoryFile._mu (a VMA change reports to
/// its segment with the memory lock held), so nothing here calls into a MemoryManager with Mu held.
/// </summary>
internal sealed class ShmRegistry
{
    /// <summary>SHMMAX and SHMALL: Linux's defaults, ULONG_MAX - 2^24 (bytes and pages).</summary>
    public const ulong MaxSize = ulong.MaxValue - (1UL << 24);

    public const ulong MaxPages = ulong.MaxValue - (1UL << 24);

    /// <summary>SHMMNI.</summary>
    public const int MaxSegments = 4096;

    private const int CAP_IPC_LOCK = 14;

    private readonly MemoryFile _memoryFile;

    // Protected by Mu.
    private ulong _totalPages;

    public ShmRegistry(MemoryFile memoryFile) => _memoryFile = memoryFile;

    /// <summary>Protects the table and every segment's fields.</summary>
    public System.Threading.Lock Mu { get; } = new();

    /// <summary>The segments by id. Protected by Mu.</summary>
    public IpcIdTable<ShmSegment> Table { get; } = new();

    /// <summary>Implements shmget(2). Returns the id or -errno.</summary>
    public long Get(Credentials c, Pid pid, int key, ulong size, int flags)
    {
        lock (Mu)
        {
            return IpcNamespace.Get(
                Table,
                key,
                flags,
                c,
                s => s.Size < size ? Errno.EINVAL : Errno.None,
                (out Errno err) => Create(c, pid, key, size, flags, out err));
        }
    }

    // Linux's newseg. Preconditions: Mu is held.
    private ShmSegment? Create(Credentials c, Pid pid, int key, ulong size, int flags, out Errno err)
    {
        err = Errno.EINVAL;
        if (size < 1 || size > MaxSize)
        {
            return null;
        }

        ulong pages = MemoryManager.PageUp(size) / Mman.PageSize;
        err = Errno.ENOSPC;
        if (pages == 0 || _totalPages + pages < _totalPages || _totalPages + pages > MaxPages)
        {
            return null;
        }

        if (Table.InUse >= MaxSegments)
        {
            return null;
        }

        err = Errno.ENOMEM;
        if (pages > MemoryFile.MaxSize / Mman.PageSize)
        {
            return null;
        }

        long offset = _memoryFile.Allocate(pages * Mman.PageSize);
        if (offset < 0)
        {
            return null;
        }

        var s = new ShmSegment(this, key, c, flags, size, offset, pid);
        if (!Table.Add(s, MaxSegments))
        {
            _memoryFile.Free(offset, pages * Mman.PageSize);
            err = Errno.ENOSPC;
            return null;
        }

        _totalPages += pages;
        err = Errno.None;
        return s;
    }

    /// <summary>Implements shmat(2) for a task of process <paramref name="pid"/> in <paramref name="mm"/>.</summary>
    public long Attach(Credentials c, Pid pid, MemoryManager mm, int id, ulong addr, int flags)
    {
        const ulong Shmlba = Mman.PageSize;
        bool fixedAddr = addr != 0;
        if (id < 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (addr != 0)
        {
            if ((addr & (Shmlba - 1)) != 0)
            {
                if ((flags & IpcConst.SHM_RND) == 0)
                {
                    return -Errno.EINVAL.Value;
                }

                addr &= ~(Shmlba - 1);
                if (addr == 0 && (flags & IpcConst.SHM_REMAP) != 0)
                {
                    return -Errno.EINVAL.Value;
                }
            }
        }
        else if ((flags & IpcConst.SHM_REMAP) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        int prot = Mman.PROT_READ;
        int maxProt = Mman.PROT_READ | Mman.PROT_EXEC;
        int access = 0x124; // S_IRUGO
        if ((flags & IpcConst.SHM_RDONLY) == 0)
        {
            prot |= Mman.PROT_WRITE;
            maxProt |= Mman.PROT_WRITE;
            access |= 0x92; // S_IWUGO
        }

        if ((flags & IpcConst.SHM_EXEC) != 0)
        {
            prot |= Mman.PROT_EXEC;
            access |= 0x49; // S_IXUGO
        }

        ShmSegment? s;
        lock (Mu)
        {
            s = Table.Find(id);
            if (s == null)
            {
                return -Errno.EINVAL.Value;
            }

            if (!s.MayAccess(c, access))
            {
                return -Errno.EACCES.Value;
            }

            // Counted while the mapping is made, so that an IPC_RMID meanwhile cannot destroy the pages.
            s.Attachments++;
        }

        long r;
        if (fixedAddr && addr == 0)
        {
            r = -Errno.EPERM.Value; // a fixed mapping at 0 (SHM_RND below SHMLBA)
        }
        else
        {
            string name = "/SYSV" + ((uint)s.Key).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
            r = mm.MapOwned(addr, s.Length, prot, maxProt, (flags & IpcConst.SHM_REMAP) != 0, s.FileOffset, s, name);
        }

        lock (Mu)
        {
            s.Attachments--;
            if (r >= 0)
            {
                s.LastPid = pid;
            }

            DestroyIfUnusedLocked(s);
        }

        return r;
    }

    /// <summary>Implements shmdt(2).</summary>
    public long Detach(Pid pid, MemoryManager mm, ulong addr)
    {
        if ((addr & (Mman.PageSize - 1)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        IMappingOwner? detached = null;
        long r = mm.UnmapOwned(addr, o =>
        {
            detached = o;
            return o is ShmSegment s ? s.Size : 0;
        });
        if (r == 0 && detached is ShmSegment seg)
        {
            lock (Mu)
            {
                seg.LastPid = pid;
            }
        }

        return r;
    }

    /// <summary>Implements IPC_RMID: marks the segment for destruction, which happens once nothing maps it.</summary>
    public long Remove(Credentials c, int id)
    {
        lock (Mu)
        {
            ShmSegment? s = Table.FindForControl(c, id, out long r);
            if (s == null)
            {
                return r;
            }

            Table.MakePrivate(s);
            s.Mode |= IpcConst.SHM_DEST;
            DestroyIfUnusedLocked(s);
            return 0;
        }
    }

    /// <summary>Implements IPC_SET.</summary>
    public long Set(Credentials c, int id, in ShmidDs ds)
    {
        lock (Mu)
        {
            ShmSegment? s = Table.FindForControl(c, id, out long r);
            return s == null ? r : -s.SetPerm(ds.shm_perm).Value;
        }
    }

    /// <summary>Implements SHM_LOCK and SHM_UNLOCK: only the SHM_LOCKED mode bit (nothing here is ever swapped).</summary>
    public long Lock(Credentials c, int id, bool lockIt)
    {
        lock (Mu)
        {
            ShmSegment? s = Table.Find(id);
            if (s == null)
            {
                return -Errno.EINVAL.Value;
            }

            if (!c.HasCapability(CAP_IPC_LOCK) && c.EffectiveUid != s.Uid && c.EffectiveUid != s.Cuid)
            {
                return -Errno.EPERM.Value;
            }

            s.Mode = lockIt ? s.Mode | IpcConst.SHM_LOCKED : s.Mode & ~IpcConst.SHM_LOCKED;
            return 0;
        }
    }

    /// <summary>
    /// Implements IPC_STAT (<paramref name="byIndex"/> false) and SHM_STAT / SHM_STAT_ANY (an index; the answer
    /// is the id). <paramref name="check"/> asks for read permission.
    /// </summary>
    public long Stat(Credentials c, PidNamespace ns, int idOrIndex, bool byIndex, bool check, out ShmidDs ds)
    {
        ds = default;
        lock (Mu)
        {
            ShmSegment? s = Table.FindForStat(c, idOrIndex, byIndex, check, out long r);
            if (s == null)
            {
                return r;
            }

            ds = s.ToDs(ns);
            return byIndex ? s.Id : 0;
        }
    }

    /// <summary>IPC_INFO's limits; returns the highest index in use (or 0).</summary>
    public long Info(out ShmInfo64 info)
    {
        info = new ShmInfo64
        {
            shmmax = MaxSize,
            shmmin = 1,
            shmmni = MaxSegments,
            shmseg = MaxSegments,
            shmall = MaxPages,
        };
        lock (Mu)
        {
            return System.Math.Max(Table.MaxIndex, 0);
        }
    }

    /// <summary>SHM_INFO's usage; returns the highest index in use (or 0).</summary>
    public long Usage(out ShmInfoUsage info)
    {
        lock (Mu)
        {
            info = new ShmInfoUsage { used_ids = Table.InUse, shm_tot = _totalPages, shm_rss = _totalPages };
            return System.Math.Max(Table.MaxIndex, 0);
        }
    }

    /// <summary>Destroys a segment marked for destruction once nothing maps it. Preconditions: Mu is held.</summary>
    internal void DestroyIfUnusedLocked(ShmSegment s)
    {
        if (!s.MarkedForDestruction || s.Attachments > 0 || s.Removed)
        {
            return;
        }

        Table.Remove(s);
        _totalPages -= s.Length / Mman.PageSize;
        _memoryFile.Free(s.FileOffset, s.Length);
    }
}
