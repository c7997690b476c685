using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>memfd_create(2) and the seal commands of fcntl(2).</summary>
internal static class SysMemfd
{
    public const int F_ADD_SEALS = 1033;
    public const int F_GET_SEALS = 1034;

    private const uint MFD_CLOEXEC = 0x1;
    private const uint MFD_ALLOW_SEALING = 0x2;
    private const uint MFD_HUGETLB = 0x4;
    private const uint MFD_NOEXEC_SEAL = 0x8;
    private const uint MFD_EXEC = 0x10;
    private const uint MfdAll = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
    private const uint MfdHugeMask = 0x3Fu << 26; // the huge page size, with MFD_HUGETLB
    private const int NameMax = 249; // NAME_MAX less the "memfd:" prefix

    /// <summary>Implements memfd_create(2): an unlinked tmpfs file.</summary>
    public static long MemfdCreate(Task t, in SyscallArgs a)
    {
        uint flags = a.UInt(1);
        uint allowed = (flags & MFD_HUGETLB) != 0 ? MfdAll | MfdHugeMask : MfdAll;
        if ((flags & ~allowed) != 0 || ((flags & MFD_EXEC) != 0 && (flags & MFD_NOEXEC_SEAL) != 0))
        {
            return -Errno.EINVAL.Value;
        }

        long r = t.MM.CopyInString(a.Pointer(0), NameMax, out string name);
        if (r < 0)
        {
            return r == -Errno.ENAMETOOLONG.Value ? -Errno.EINVAL.Value : r;
        }

        Tmpfs fs = t.Kernel.MemfdFs;
        TmpfsFile file;
        lock (fs.Mu)
        {
            bool noExec = (flags & MFD_NOEXEC_SEAL) != 0;
            var node = new TmpfsRegular(fs, noExec ? 0x1B6u : 0x1FFu, t.Credentials.EffectiveUid, t.Credentials.EffectiveGid) { Nlink = 0 };
            node.Seals = noExec ? FileSeals.F_SEAL_EXEC : (flags & MFD_ALLOW_SEALING) != 0 ? 0 : FileSeals.F_SEAL_SEAL;
            file = new TmpfsFile(node, OpenFlags.O_RDWR | OpenFlags.O_LARGEFILE, "/memfd:" + name + " (deleted)");
        }

        int limit = (int)Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue);
        int fd = t.Fds.Add(file, (flags & MFD_CLOEXEC) != 0, 0, limit);
        file.DecRef();
        return fd;
    }

    /// <summary>F_ADD_SEALS and F_GET_SEALS: EINVAL for files that are not tmpfs files.</summary>
    public static long Fcntl(Task t, FileDescription f, int cmd, uint seals)
    {
        if (f is not TmpfsFile tf)
        {
            return -Errno.EINVAL.Value;
        }

        bool add = cmd == F_ADD_SEALS;
        bool mapped = add && (seals & FileSeals.F_SEAL_WRITE) != 0 && tf.Node is TmpfsRegular reg && WritablyMapped(t.Kernel, reg);
        return tf.Seals(add, seals, mapped);
    }

    // Whether any address space of the sandbox maps the file shared and may write it. The address spaces are
    // gathered under the tree lock and asked after it, so no MemoryManager lock nests inside it.
    private static bool WritablyMapped(Kernel.Kernel k, TmpfsRegular reg)
    {
        var spaces = new System.Collections.Generic.HashSet<Mm.MemoryManager>();
        lock (k.TreeMu)
        {
            foreach (ThreadGroup g in k.AllGroupsLocked())
            {
                foreach (Task task in g.Tasks)
                {
                    spaces.Add(task.MM);
                }
            }
        }

        foreach (Mm.MemoryManager mm in spaces)
        {
            if (mm.MapsMayWrite(reg))
            {
                return true;
            }
        }

        return false;
    }
}
