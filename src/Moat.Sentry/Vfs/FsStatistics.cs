using System;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Vfs;

/// <summary>
/// statfs(2) answered by the file system a path or file is on, as the sandbox sees it: the Sentry's tmpfs
/// mounts (their own size and use), /proc, devpts, the overlay root (overlayfs over the host root's
/// numbers), volumes (the host's), and the pseudo file systems of pipes, sockets and anonymous inodes.
/// </summary>
internal static class FsStatistics
{
    public const int Size = 120;

    private const long TmpfsMagic = 0x01021994;
    private const long ProcMagic = 0x9fa0;
    private const long DevptsMagic = 0x1cd1;
    private const long OverlayMagic = 0x794c7630;
    private const long PipefsMagic = 0x50495045;
    private const long SockfsMagic = 0x534F434B;
    private const long AnonInodeMagic = 0x09041934;

    private const long StRdonly = 0x1;
    private const long StNosuid = 0x2;
    private const long StNodev = 0x4;
    private const long StNoexec = 0x8;
    private const long StValid = 0x20;
    private const long StNoatime = 0x400;
    private const long StNodiratime = 0x800;
    private const long StRelatime = 0x1000;

    private const int Page = 4096;

    /// <summary>Fills <paramref name="buf"/> (struct statfs) for the file system <paramref name="absolute"/> is on. Returns 0 or -errno.</summary>
    public static long ForPath(Task t, string absolute, Span<byte> buf)
    {
        long r = PathOps.Stat(t, absolute, follow: true, out _);
        if (r < 0)
        {
            return r;
        }

        string real = PathOps.ResolveLinks(t, absolute);
        Mounts.Mount m = t.Group.Mounts.Find(real, out _);
        if (m.Kind == Mounts.MountKind.Volume)
        {
            r = PathOps.Open(t, real, OpenFlags.O_PATH, 0, out FileDescription? f);
            if (r < 0)
            {
                return r;
            }

            try
            {
                r = f is HostFileDescription h ? Host(h.HostFd, m.ReadOnly, buf) : Overlay(t, buf);
            }
            finally
            {
                f!.DecRef();
            }
        }
        else if (m.Kind == Mounts.MountKind.Proc)
        {
            r = Pseudo(ProcMagic, StNosuid | StNodev | StNoexec | StRelatime, buf);
        }
        else if (m.Kind == Mounts.MountKind.Sysfs)
        {
            r = Pseudo(Sys.SysFs.Magic, 0, buf);
        }
        else if (m.Kind == Mounts.MountKind.Mqueue)
        {
            r = Pseudo(MqueueFs.Magic, 0, buf);
        }
        else if (m.Kind == Mounts.MountKind.Cgroup)
        {
            r = Pseudo(CgroupFs.Magic, 0, buf);
        }
        else if (m.FsType == "devpts" || real == "/dev/pts" || real.StartsWith("/dev/pts/", StringComparison.Ordinal))
        {
            return Pseudo(DevptsMagic, StNosuid | StNoexec | StRelatime, buf);
        }
        else
        {
            r = m.Tmpfs is Tmpfs.Tmpfs fs ? OfTmpfs(t, fs, buf) : Overlay(t, buf);
        }

        if (r == 0)
        {
            // f_flags are the mount's own.
            BinaryPrimitives.WriteInt64LittleEndian(buf[80..], StValid | Flags(m));
        }

        return r;
    }

    // statfs's ST_* bits for a mount's flags.
    private static long Flags(Mounts.Mount m)
    {
        Mounts.MountFlags f = m.Flags;
        return ((f & Mounts.MountFlags.ReadOnly) != 0 ? StRdonly : 0) | ((f & Mounts.MountFlags.NoSuid) != 0 ? StNosuid : 0) |
            ((f & Mounts.MountFlags.NoDev) != 0 ? StNodev : 0) | ((f & Mounts.MountFlags.NoExec) != 0 ? StNoexec : 0) |
            ((f & Mounts.MountFlags.NoAtime) != 0 ? StNoatime : 0) | ((f & Mounts.MountFlags.NoDirAtime) != 0 ? StNodiratime : 0) |
            ((f & (Mounts.MountFlags.NoAtime | Mounts.MountFlags.StrictAtime)) == 0 ? StRelatime : 0);
    }

    /// <summary>Fills <paramref name="buf"/> for the file system of an open file (fstatfs). Returns 0 or -errno.</summary>
    public static long ForFile(Task t, FileDescription f, Span<byte> buf)
    {
        return f switch
        {
            HostFileDescription { Volume: { } v } h => Host(h.HostFd, v.ReadOnly, buf),
            HostFileDescription { Path: not null } => Overlay(t, buf),
            HostFileDescription h => Host(h.HostFd, false, buf),
            TmpfsFile tf when tf.Node.Fs == t.Kernel.Upper => Overlay(t, buf),
            TmpfsFile tf => OfTmpfs(t, tf.Node.Fs, buf),
            // sysfs's files: with the flags of the sandbox's own mount of it (read-only).
            Proc.ProcFile { Device: Sys.SysFs.Device } => Pseudo(Sys.SysFs.Magic, StRdonly | StNosuid | StNodev | StNoexec | StRelatime, buf),
            SnapshotDirectory d when d.Stat(out Stat ds) == 0 && ds.st_dev == Sys.SysFs.Device => Pseudo(Sys.SysFs.Magic, StRdonly | StNosuid | StNodev | StNoexec | StRelatime, buf),
            Proc.ProcFile => Pseudo(ProcMagic, StNosuid | StNodev | StNoexec | StRelatime, buf),
            SnapshotDirectory d when d.Path != null && PathOps.IsProc(t, d.Path, out _) => Pseudo(ProcMagic, StNosuid | StNodev | StNoexec | StRelatime, buf),
            SnapshotDirectory => Overlay(t, buf),
            Devpts.TerminalFile => Pseudo(DevptsMagic, StNosuid | StNoexec | StRelatime, buf),
            DeviceFile => OfTmpfs(t, t.Kernel.Dev, buf),
            PipeEnd => Pseudo(PipefsMagic, 0, buf),
            UnixSocket or Net.InetSocket or Net.NetlinkSocket => Pseudo(SockfsMagic, 0, buf),
            _ => Pseudo(AnonInodeMagic, 0, buf),
        };
    }

    // A Sentry tmpfs: sized as Linux sizes one by default (half the memory, or the sandbox's memory limit),
    // its use counted from its files.
    private static long OfTmpfs(Task t, Tmpfs.Tmpfs fs, Span<byte> buf)
    {
        long total = fs.MaxPages > 0 ? fs.MaxPages * Page : Math.Max(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2, Page);
        long usedPages;
        long inodes;
        lock (fs.Mu)
        {
            (usedPages, inodes) = Count(fs.Root);
        }

        long blocks = total / Page;
        long free = Math.Max(blocks - usedPages, 0);
        long files = Math.Max(blocks / 2, inodes);
        Write(buf, TmpfsMagic, blocks, free, files, files - inodes, (long)fs.Device, StNosuid | StNodev | StRelatime);
        return 0;
    }

    // Pages and inodes under a tmpfs directory (the directory itself included).
    private static (long Pages, long Inodes) Count(TmpfsDirectory dir)
    {
        long pages = 0;
        long inodes = 1;
        foreach (TmpfsNode child in dir.Children.Values)
        {
            if (child is TmpfsDirectory sub)
            {
                (long p, long n) = Count(sub);
                pages += p;
                inodes += n;
            }
            else if (child is not TmpfsWhiteout)
            {
                pages += (child.Size + Page - 1) / Page;
                inodes++;
            }
        }

        return (pages, inodes);
    }

    // The root: overlayfs over the host root, with the host file system's numbers.
    private static long Overlay(Task t, Span<byte> buf)
    {
        using Moat.Host.SafeFdHandle? fd = t.Kernel.Files.Open("/", OpenFlags.O_PATH | OpenFlags.O_DIRECTORY, out long r);
        if (fd == null)
        {
            return r;
        }

        r = Host(fd.Fd, t.Kernel.RootReadOnly, buf);
        if (r == 0)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buf, OverlayMagic);
            BinaryPrimitives.WriteInt64LittleEndian(buf[80..], StValid | StRelatime | (t.Kernel.RootReadOnly ? StRdonly : 0));
        }

        return r;
    }

    // The host's own statfs of a file the gofer opened; a read-only bind mount adds ST_RDONLY.
    private static long Host(int fd, bool readOnly, Span<byte> buf)
    {
        long r = Moat.Host.HostFile.Fstatfs(fd, buf);
        if (r == 0 && readOnly)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buf[80..], BinaryPrimitives.ReadInt64LittleEndian(buf[80..]) | StRdonly);
        }

        return r;
    }

    // A file system without blocks of its own: proc, devpts, pipefs, sockfs, anon_inodefs.
    private static long Pseudo(long magic, long flags, Span<byte> buf)
    {
        Write(buf, magic, 0, 0, 0, 0, 0, flags);
        return 0;
    }

    private static void Write(Span<byte> buf, long magic, long blocks, long free, long files, long freeFiles, long fsid, long flags)
    {
        buf[..Size].Clear();
        BinaryPrimitives.WriteInt64LittleEndian(buf, magic);
        BinaryPrimitives.WriteInt64LittleEndian(buf[8..], Page);
        BinaryPrimitives.WriteInt64LittleEndian(buf[16..], blocks);
        BinaryPrimitives.WriteInt64LittleEndian(buf[24..], free);
        BinaryPrimitives.WriteInt64LittleEndian(buf[32..], free);
        BinaryPrimitives.WriteInt64LittleEndian(buf[40..], files);
        BinaryPrimitives.WriteInt64LittleEndian(buf[48..], freeFiles);
        BinaryPrimitives.WriteInt32LittleEndian(buf[56..], (int)fsid);
        BinaryPrimitives.WriteInt64LittleEndian(buf[64..], 255);
        BinaryPrimitives.WriteInt64LittleEndian(buf[72..], Page);
        BinaryPrimitives.WriteInt64LittleEndian(buf[80..], StValid | flags);
    }
}
