using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Kernel.Ipc;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>msgget(2), msgsnd(2), msgrcv(2), msgctl(2): SysV message queues.</summary>
internal static class SysMsg
{
    /// <summary>Implements msgget(2).</summary>
    public static long Msgget(Task t, in SyscallArgs a) => t.Kernel.Ipc.Msg.Get(t.Credentials, a.Int(0), a.Int(1));

    /// <summary>Implements msgsnd(2): the type is read first (EFAULT), then the size and type are checked.</summary>
    public static long Msgsnd(Task t, in SyscallArgs a)
    {
        int id = a.Int(0);
        ulong msgp = a.Pointer(1);
        long size = a.Long(2);
        int flags = a.Int(3);
        if (t.MM.CopyIn(msgp, out long type) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (size > MsgRegistry.MaxMessage || size < 0 || id < 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (type < 1)
        {
            return -Errno.EINVAL.Value;
        }

        byte[] data = size == 0 ? [] : new byte[size];
        if (size > 0 && t.MM.CopyIn(msgp + 8, data) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return t.Kernel.Ipc.Msg.Send(t, id, new Message(type, data), flags);
    }

    /// <summary>Implements msgrcv(2), MSG_COPY included (CONFIG_CHECKPOINT_RESTORE kernels have it).</summary>
    public static long Msgrcv(Task t, in SyscallArgs a)
    {
        int id = a.Int(0);
        ulong msgp = a.Pointer(1);
        long size = a.Long(2);
        long type = a.Long(3);
        int flags = a.Int(4);
        if (id < 0 || size < 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((flags & IpcConst.MSG_COPY) != 0 && ((flags & IpcConst.MSG_EXCEPT) != 0 || (flags & IpcConst.IPC_NOWAIT) == 0))
        {
            return -Errno.EINVAL.Value;
        }

        long r = t.Kernel.Ipc.Msg.Receive(t, id, size, type, flags, out Message? m);
        if (r < 0 || m == null)
        {
            return r;
        }

        if (t.MM.CopyOut(msgp, m.Type) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        int n = (int)Math.Min(size, m.Data.Length);
        if (n > 0 && t.MM.CopyOut(msgp + 8, m.Data.AsSpan(0, n)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return n;
    }

    /// <summary>Implements msgctl(2), in Linux's order of checks.</summary>
    public static long Msgctl(Task t, in SyscallArgs a)
    {
        int id = a.Int(0);
        int cmd = a.Int(1);
        ulong buf = a.Pointer(2);
        if (id < 0 || cmd < 0)
        {
            return -Errno.EINVAL.Value;
        }

        MsgRegistry msg = t.Kernel.Ipc.Msg;
        switch (cmd)
        {
            case IpcConst.IPC_INFO:
            case IpcConst.MSG_INFO:
            {
                long r = msg.Info(cmd == IpcConst.MSG_INFO, out MsgInfo info);
                return t.MM.CopyOut(buf, info) < 0 ? -Errno.EFAULT.Value : r;
            }

            case IpcConst.IPC_STAT:
            case IpcConst.MSG_STAT:
            case IpcConst.MSG_STAT_ANY:
            {
                long r = msg.Stat(t.Credentials, t.PidNs, id, cmd != IpcConst.IPC_STAT, cmd != IpcConst.MSG_STAT_ANY, out MsqidDs ds);
                if (r < 0)
                {
                    return r;
                }

                return t.MM.CopyOut(buf, ds) < 0 ? -Errno.EFAULT.Value : r;
            }

            case IpcConst.IPC_SET:
            {
                if (t.MM.CopyIn(buf, out MsqidDs ds) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                return msg.Set(t.Credentials, id, ds);
            }

            case IpcConst.IPC_RMID:
                return msg.Remove(t.Credentials, id);

            default:
                return -Errno.EINVAL.Value;
        }
    }
}
