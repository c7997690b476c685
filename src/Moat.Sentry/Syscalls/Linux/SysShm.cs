using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Kernel.Ipc;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>shmget(2), shmat(2), shmdt(2), shmctl(2): SysV shared memory over the MemoryFile.</summary>
internal static class SysShm
{
    /// <summary>Implements shmget(2).</summary>
    public static long Shmget(Task t, in SyscallArgs a) =>
        t.Kernel.Ipc.Shm.Get(t.Credentials, t.Group.Pid, a.Int(0), a.SizeT(1), a.Int(2));

    /// <summary>Implements shmat(2).</summary>
    public static long Shmat(Task t, in SyscallArgs a) =>
        t.Kernel.Ipc.Shm.Attach(t.Credentials, t.Group.Pid, t.MM, a.Int(0), a.Pointer(1), a.Int(2));

    /// <summary>Implements shmdt(2).</summary>
    public static long Shmdt(Task t, in SyscallArgs a) => t.Kernel.Ipc.Shm.Detach(t.Group.Pid, t.MM, a.Pointer(0));

    /// <summary>Implements shmctl(2), in Linux's order of checks.</summary>
    public static long Shmctl(Task t, in SyscallArgs a)
    {
        int id = a.Int(0);
        int cmd = a.Int(1);
        ulong buf = a.Pointer(2);
        if (cmd < 0 || id < 0)
        {
            return -Errno.EINVAL.Value;
        }

        ShmRegistry shm = t.Kernel.Ipc.Shm;
        switch (cmd)
        {
            case IpcConst.IPC_INFO:
            {
                long r = shm.Info(out ShmInfo64 info);
                return t.MM.CopyOut(buf, info) < 0 ? -Errno.EFAULT.Value : r;
            }

            case IpcConst.SHM_INFO:
            {
                long r = shm.Usage(out ShmInfoUsage info);
                return t.MM.CopyOut(buf, info) < 0 ? -Errno.EFAULT.Value : r;
            }

            case IpcConst.IPC_STAT:
            case IpcConst.SHM_STAT:
            case IpcConst.SHM_STAT_ANY:
            {
                long r = shm.Stat(t.Credentials, t.PidNs, id, cmd != IpcConst.IPC_STAT, cmd != IpcConst.SHM_STAT_ANY, out ShmidDs ds);
                if (r < 0)
                {
                    return r;
                }

                return t.MM.CopyOut(buf, ds) < 0 ? -Errno.EFAULT.Value : r;
            }

            case IpcConst.IPC_SET:
            {
                if (t.MM.CopyIn(buf, out ShmidDs ds) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                return shm.Set(t.Credentials, id, ds);
            }

            case IpcConst.IPC_RMID:
                return shm.Remove(t.Credentials, id);

            case IpcConst.SHM_LOCK:
            case IpcConst.SHM_UNLOCK:
                return shm.Lock(t.Credentials, id, cmd == IpcConst.SHM_LOCK);

            default:
                return -Errno.EINVAL.Value;
        }
    }
}
