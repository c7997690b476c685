using System;
using System.Text;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Vfs.Mounts;

/// <summary>Makes the mount of a new tmpfs from its parsed options (mount(2) and the sandbox's configured mounts).</summary>
internal static class TmpfsMounting
{
    /// <summary>What size=N% is a percentage of: the sandbox's memory limit, or the memory the Sentry may use.</summary>
    public static long DefaultBytes(ulong memoryLimit) =>
        memoryLimit > 0 ? (long)Math.Min(memoryLimit, long.MaxValue) : Math.Max(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, 4096);

    /// <summary>A new tmpfs at <paramref name="mountPoint"/> (its root 01777 root:root unless told) and its mount.</summary>
    public static Mount NewMount(MemoryFile memoryFile, string mountPoint, string source, MountFlags flags, long maxPages, uint? mode, uint uid, uint gid)
    {
        var fs = new Tmpfs.Tmpfs(memoryFile, mountPoint, mode ?? 0x3FF /* 01777 */) { MaxPages = maxPages, OptionMode = mode ?? 0x3FF };
        fs.Root.Uid = uid;
        fs.Root.Gid = gid;
        return new Mount
        {
            Id = MountNamespace.NextId(), ParentId = 0, MountPoint = mountPoint, Kind = MountKind.Tmpfs, Tmpfs = fs, Root = string.Empty,
            Flags = flags, Source = source, FsType = "tmpfs", SuperOptions = SuperOptions(fs),
        };
    }

    /// <summary>tmpfs's options as /proc/mounts shows them: only those that differ from the defaults.</summary>
    public static string SuperOptions(Tmpfs.Tmpfs fs)
    {
        var sb = new StringBuilder();
        if (fs.MaxPages > 0)
        {
            sb.Append("size=").Append(fs.MaxPages * 4).Append('k');
        }

        uint mode = fs.OptionMode;
        if (mode != 0x3FF)
        {
            sb.Append(sb.Length > 0 ? "," : string.Empty).Append("mode=").Append(Convert.ToString(mode, 8).PadLeft(3, '0'));
        }

        if (fs.Root.Uid != 0)
        {
            sb.Append(sb.Length > 0 ? "," : string.Empty).Append("uid=").Append(fs.Root.Uid);
        }

        if (fs.Root.Gid != 0)
        {
            sb.Append(sb.Length > 0 ? "," : string.Empty).Append("gid=").Append(fs.Root.Gid);
        }

        return sb.ToString();
    }
}
