using System.Collections.Generic;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Mounts;

/// <summary>
/// The tmpfs mounts and volumes a configuration names (<c>moat do</c>'s options, an OCI container's mounts),
/// added to a mount namespace. Outer mount points are mounted first, so an inner one lands on the right file
/// system; each mount point is made where the file system below it can hold one (a tmpfs, the overlay's upper
/// layer; not inside a volume: that is the host's directory, which we don't change).
/// </summary>
internal static class ConfiguredMounts
{
    /// <summary>Adds <paramref name="tmpfs"/> and <paramref name="binds"/> to <paramref name="ns"/>; bind i is the gofer's root <paramref name="firstVolume"/> + i.</summary>
    public static void Add(Kernel.Kernel kernel, MountNamespace ns, IVolumeTree tree, IReadOnlyList<TmpfsMount> tmpfs, IReadOnlyList<BindMount> binds, int firstVolume, ulong memoryLimit)
    {
        var order = new List<(string Path, int Index)>();
        for (int i = 0; i < tmpfs.Count; i++)
        {
            order.Add((tmpfs[i].SandboxPath, -1 - i));
        }

        for (int i = 0; i < binds.Count; i++)
        {
            order.Add((binds[i].SandboxPath, i));
        }

        // By depth; at one path the tmpfs first, so the volume is what is seen there (as before mounts had an order).
        order.Sort((a, b) => a.Path.Length != b.Path.Length ? a.Path.Length.CompareTo(b.Path.Length) : a.Index.CompareTo(b.Index));
        foreach ((string path, int index) in order)
        {
            bool isFile = index >= 0 && binds[index].IsFile;
            string parent = path[..System.Math.Max(1, path.LastIndexOf('/'))];
            Mount under = ns.Find(parent, out _);
            bool onOverlayRoot = under.Kind == MountKind.Overlay && under == ns.Root;
            if (under.Kind == MountKind.Tmpfs && ns.Find(path, out string rel).Tmpfs is Tmpfs.Tmpfs fs)
            {
                fs.MakeMountPoint(rel, isFile);
            }
            else if (onOverlayRoot)
            {
                Overlay.MakeMountPoint(kernel, path, isFile);
            }

            if (index < 0)
            {
                TmpfsMount t = tmpfs[-1 - index];
                (ulong ms, List<string> data) = MountOptions.Parse(t.Options);
                MountOptions.TryParseTmpfs(data, TmpfsMounting.DefaultBytes(memoryLimit), out long maxPages, out uint? mode, out uint? uid, out uint? gid);

                Mount tm = TmpfsMounting.NewMount(kernel.MemoryFile, path, "tmpfs", MountOptions.FromMs(ms), maxPages, mode, uid ?? 0, gid ?? 0);
                if (onOverlayRoot && kernel.HostCache.Stat(path, follow: false, out Abi.Stat st) == 0 && (st.st_mode & Abi.Stat.S_IFMT) == Abi.Stat.S_IFDIR)
                {
                    // runc gives a tmpfs over a directory of the image that directory's mode, whatever mode= said
                    // (mountinfo still shows the option).
                    tm.Tmpfs!.Root.Mode = Abi.Stat.S_IFDIR | (st.st_mode & 0xFFF);
                }

                ns.Add(tm);
                continue;
            }

            BindMount b = binds[index];
            (ulong bindMs, _) = MountOptions.Parse(b.Options);
            MountFlags flags = MountOptions.FromMs(bindMs) | (b.ReadOnly ? MountFlags.ReadOnly : 0);
            ns.Add(new Mount
            {
                Id = MountNamespace.NextId(), ParentId = 0, MountPoint = path, Kind = MountKind.Volume,
                Volume = new Volume(tree, firstVolume + index, path, b.ReadOnly), Root = string.Empty, Flags = flags, Source = b.HostPath, FsType = "moat-volume",
            });
        }
    }
}
