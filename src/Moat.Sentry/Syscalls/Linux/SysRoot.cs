using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;
using Moat.Sentry.Vfs.Mounts;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>A process's root directory: chroot(2) and pivot_root(2).</summary>
internal static class SysRoot
{
    /// <summary>Implements chroot(2): the process (and the children it makes) resolves "/" at the directory.</summary>
    public static long Chroot(Task t, in SyscallArgs a)
    {
        long r = PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(0), followLast: true, out string absolute);
        if (r < 0)
        {
            return r;
        }

        r = Directory(t, absolute, out Stat st);
        if (r < 0)
        {
            return r;
        }

        // Linux's order: the walk's errors, then search permission on the directory itself, then the capability.
        if (Permissions.Check(t.Credentials, st, Permissions.MayExec) != Errno.None)
        {
            return -Errno.EACCES.Value;
        }

        if (!t.Credentials.HasCapability(Credentials.CAP_SYS_CHROOT))
        {
            return -Errno.EPERM.Value;
        }

        t.Group.Root = PathResolver.Normalize(PathOps.ResolveLinks(t, absolute));
        return 0;
    }

    /// <summary>
    /// Implements pivot_root(2): the mount at <c>new_root</c> becomes the root of the caller's mount namespace
    /// and the old root moves to <c>put_old</c>. Processes whose root or working directory was the old root get
    /// the new one, as Linux does.
    /// </summary>
    public static long PivotRoot(Task t, in SyscallArgs a)
    {
        if (!t.Credentials.HasCapability(Credentials.CAP_SYS_ADMIN))
        {
            return -Errno.EPERM.Value;
        }

        long r = PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(0), followLast: true, out string newAbsolute);
        r = r < 0 ? r : Directory(t, newAbsolute, out _);
        string oldAbsolute = string.Empty;
        r = r < 0 ? r : PathResolver.CopyInAndResolve(t, OpenFlags.AT_FDCWD, a.Pointer(1), followLast: true, out oldAbsolute);
        r = r < 0 ? r : Directory(t, oldAbsolute, out _);
        if (r < 0)
        {
            return r;
        }

        MountNamespace ns = t.Group.Mounts;
        string root = t.Group.Root;
        string newPath = PathResolver.Normalize(PathOps.ResolveLinks(t, newAbsolute));
        string putOld = PathResolver.Normalize(PathOps.ResolveLinks(t, oldAbsolute));
        Mount rootMount = ns.Find(root, out _);
        Mount newMount = ns.Find(newPath, out _);
        Mount oldMount = ns.Find(putOld, out _);
        if (newMount == rootMount || oldMount == rootMount)
        {
            return -Errno.EBUSY.Value; // on the root's own mount (new_root "/" among them)
        }

        if (rootMount.MountPoint != root || newMount.MountPoint != newPath)
        {
            return -Errno.EINVAL.Value; // the root, or new_root, is not a mount point
        }

        if (!MountNamespace.Contains(newPath, putOld) || !MountNamespace.Contains(root, newPath))
        {
            return -Errno.EINVAL.Value; // put_old not at or below new_root, or new_root not below the root
        }

        if (ns.Pivot(newMount, root, newPath, putOld) is not { } moved)
        {
            return -Errno.EINVAL.Value;
        }

        // Names the processes of this namespace hold that moved: in Linux their dentries' paths are now the
        // moved ones, and chroot_fs_refs moves roots and working directories at the old root to the new one.
        LiveNames.Pivoted(t, root, moved);
        return 0;
    }

    // Stats a path that must be a directory (LOOKUP_DIRECTORY): the walk's errors, or ENOTDIR.
    private static long Directory(Task t, string absolute, out Stat st)
    {
        long r = PathOps.Stat(t, absolute, follow: true, out st);
        return r < 0 ? r : (st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR ? -Errno.ENOTDIR.Value : 0;
    }
}
