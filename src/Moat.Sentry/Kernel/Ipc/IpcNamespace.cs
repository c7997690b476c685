using System;
using Moat.Abi;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>
/// A SysV IPC namespace: the shm segments, semaphore sets and message queues that share one key space (Linux's
/// ipc_namespace). The kernel holds one per sandbox today; containers of a pod could be given the same one.
/// Each registry has a lock of its own and the three never nest. Lock order: MemoryManager._mu &gt;
/// ShmRegistry.Mu &gt; MemoryFile._mu; SemRegistry.Mu and MsgRegistry.Mu are leaves (app memory is copied
/// outside them).
/// </summary>
internal sealed class IpcNamespace
{
    public const int CAP_IPC_OWNER = 15;
    public const int CAP_SYS_ADMIN = 21;
    public const int CAP_SYS_RESOURCE = 24;

    public IpcNamespace(MemoryFile memoryFile)
    {
        Shm = new ShmRegistry(memoryFile);
    }

    public ShmRegistry Shm { get; }

    public SemRegistry Sem { get; } = new();

    public MsgRegistry Msg { get; } = new();

    /// <summary>The POSIX message queues (mq_open), which Linux also keeps per IPC namespace.</summary>
    public MqRegistry Mq { get; } = new();

    /// <summary>Wall-clock seconds, as IPC time stamps hold them.</summary>
    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>
    /// Linux's ipcget for a key: IPC_PRIVATE always creates; an absent key creates with IPC_CREAT or is ENOENT;
    /// an existing one is EEXIST under IPC_CREAT|IPC_EXCL, then <paramref name="moreChecks"/> (size, nsems), then
    /// the permission check of the flag's mode bits (EACCES). Returns the id or -errno.
    /// </summary>
    /// <remarks>Preconditions: the registry's lock is held. <paramref name="create"/> makes and enters the new
    /// object, or answers why not.</remarks>
    public static long Get<T>(IpcIdTable<T> table, int key, int flags, Credentials c, Func<T, Errno> moreChecks, IpcCreate<T> create)
        where T : IpcObject
    {
        T? o = table.FindKey(key);
        if (o == null)
        {
            if (key != IpcConst.IPC_PRIVATE && (flags & IpcConst.IPC_CREAT) == 0)
            {
                return -Errno.ENOENT.Value;
            }

            T? made = create(out Errno err);
            if (made == null)
            {
                return -err.Value;
            }

            return made.Id;
        }

        if ((flags & IpcConst.IPC_CREAT) != 0 && (flags & IpcConst.IPC_EXCL) != 0)
        {
            return -Errno.EEXIST.Value;
        }

        Errno e = moreChecks(o);
        if (!e.IsNone)
        {
            return -e.Value;
        }

        return o.MayAccess(c, flags) ? o.Id : -Errno.EACCES.Value;
    }
}

/// <summary>Makes a new IPC object and enters it in its table, or returns null and why.</summary>
internal delegate T? IpcCreate<T>(out Errno err)
    where T : IpcObject;
