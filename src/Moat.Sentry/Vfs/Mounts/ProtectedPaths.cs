using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Mounts;

/// <summary>
/// OCI linux.readonlyPaths and linux.maskedPaths, applied to a container's init's mount namespace before its
/// program runs, with the mount(2) calls runc's init makes (readonlyPath, maskPath): a read-only path is bound
/// onto itself (recursively) and remounted read-only, keeping its nosuid, nodev and noexec; a masked path gets
/// /dev/null bound over it, or for a directory (the bind fails ENOTDIR) an empty read-only tmpfs. A path that does
/// not exist is skipped; any other failure fails the container, as it fails runc's init. Read-only paths first.
/// </summary>
internal static class ProtectedPaths
{
    /// <summary>Applies both lists in <paramref name="init"/>'s mount namespace; null, or what failed.</summary>
    public static string? Apply(Task init, IReadOnlyList<string> masked, IReadOnlyList<string> readOnly)
    {
        foreach (string path in readOnly)
        {
            long r = Mounting.Mount(init, path, path, null, MountOptions.MS_BIND | MountOptions.MS_REC, null, asContainerRoot: true);
            if (r == -Errno.ENOENT.Value)
            {
                continue;
            }

            if (r >= 0 && init.Group.Mounts.MountedAt(PathOps.ResolveLinks(init, path)) is Mount m)
            {
                ulong keep = ((m.Flags & MountFlags.NoSuid) != 0 ? MountOptions.MS_NOSUID : 0) |
                    ((m.Flags & MountFlags.NoDev) != 0 ? MountOptions.MS_NODEV : 0) |
                    ((m.Flags & MountFlags.NoExec) != 0 ? MountOptions.MS_NOEXEC : 0);
                r = Mounting.Mount(init, path, path, null, keep | MountOptions.MS_BIND | MountOptions.MS_REMOUNT | MountOptions.MS_RDONLY | MountOptions.MS_REC, null, asContainerRoot: true);
            }

            if (r < 0)
            {
                return $"readonly path {path}: {Errno.FromValue((int)-r).Name}";
            }
        }

        foreach (string path in masked)
        {
            long r = Mounting.Mount(init, "/dev/null", path, null, MountOptions.MS_BIND, null, asContainerRoot: true);
            if (r == -Errno.ENOTDIR.Value)
            {
                r = Mounting.Mount(init, "tmpfs", path, "tmpfs", MountOptions.MS_RDONLY, null, asContainerRoot: true);
            }

            if (r < 0 && r != -Errno.ENOENT.Value)
            {
                return $"masked path {path}: {Errno.FromValue((int)-r).Name}";
            }
        }

        return null;
    }
}
