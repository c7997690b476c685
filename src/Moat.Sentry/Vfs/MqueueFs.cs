using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Kernel.Ipc;
using Moat.Sentry.Vfs.Proc;

namespace Moat.Sentry.Vfs;

/// <summary>
/// The mqueue file system (ipc/mqueue.c): the IPC namespace's POSIX message queues as the files of one sticky
/// directory open to all (mode 1777). Listing shows the queues; stat shows each queue's mode, owner and inode;
/// reading one shows its "QSIZE:... NOTIFY:..." line; unlink is mq_unlink (the sticky rule: the owner or
/// CAP_FOWNER, else EPERM). Mounted at /dev/mqueue from the start, as in a container, and by mount -t mqueue.
/// Creating a queue by open(O_CREAT) or mknod here is not provided (EPERM, as the other generated file
/// systems answer): queues are made with mq_open.
/// </summary>
internal static class MqueueFs
{
    /// <summary>How the file system's paths are addressed (its mounts' inner paths start with it).</summary>
    public const string Root = "/mqueue";

    /// <summary>MQUEUE_MAGIC, what statfs answers.</summary>
    public const long Magic = 0x19800202;

    /// <summary>The file system's st_dev (its own: /proc has 0x16, so `df /proc` and `find -xdev` tell them apart).</summary>
    public const ulong Device = 0x17;

    private const byte DtReg = 8;

    /// <summary>Looks up "/mqueue" or "/mqueue/NAME". Returns 0 with the node, or -errno.</summary>
    public static long Lookup(Task t, string inner, out ProcNode? node)
    {
        node = null;
        MqRegistry mq = t.Kernel.Ipc.Mq;
        string name = inner.Length == Root.Length ? string.Empty : inner[(Root.Length + 1)..];
        if (name.Length == 0)
        {
            var dir = new Stat { st_mode = Stat.S_IFDIR | 0x3FF /* 01777 */, st_nlink = 2, st_ino = 1, st_dev = Device, st_blksize = 4096 };
            node = new ProcNode(ProcKind.Directory, inner, Entries: () =>
            {
                var entries = new List<(string, byte)>();
                foreach (string n in mq.Names())
                {
                    entries.Add((n, DtReg));
                }

                return entries;
            }, Attr: dir);
            return 0;
        }

        if (name.Contains('/'))
        {
            return -Errno.ENOTDIR.Value; // a queue is not a directory
        }

        if (mq.Find(name) is not PosixMessageQueue q)
        {
            return -Errno.ENOENT.Value;
        }

        Stat st = q.FileStat();
        st.st_dev = Device;
        node = new ProcNode(ProcKind.File, inner, Content: () => LinuxString.Encoding.GetBytes(q.Describe(t.PidNs)), Attr: st);
        return 0;
    }

    /// <summary>unlink(2) and rmdir(2) of a path of the file system: mq_unlink's rules.</summary>
    public static long Remove(Task t, string inner, bool directory)
    {
        string name = inner.Length == Root.Length ? string.Empty : inner[(Root.Length + 1)..];
        if (name.Length == 0)
        {
            return -Errno.EBUSY.Value; // the mount's root
        }

        if (name.Contains('/'))
        {
            return -Errno.ENOTDIR.Value;
        }

        MqRegistry mq = t.Kernel.Ipc.Mq;
        if (mq.Find(name) == null)
        {
            return -Errno.ENOENT.Value;
        }

        return directory ? -Errno.ENOTDIR.Value : mq.Unlink(t.Credentials, name);
    }
}
