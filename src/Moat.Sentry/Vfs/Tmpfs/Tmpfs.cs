using System;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Vfs.Tmpfs;

/// <summary>
/// A memory file system inside the Sentry (/tmp, /dev/shm): directories, regular files whose data lives in
/// the MemoryFile, and symlinks. Paths given here are relative to the mount point and already lexically
/// normalised; a symlink is answered with a restart path for the caller's resolver to walk again.
/// Lock order: Mu is taken before MemoryFile._mu.
/// </summary>
internal sealed class Tmpfs
{
    private static long s_nextDevice = 0x100;
    private long _nextIno = 1;
    private long _usedPages;

    public Tmpfs(MemoryFile memoryFile, string mountPoint, uint rootPerm, ulong firstIno = 1)
    {
        _nextIno = (long)firstIno;
        MemoryFile = memoryFile;
        MountPoint = mountPoint;
        Device = (ulong)Interlocked.Increment(ref s_nextDevice);
        Root = new TmpfsDirectory(this, null, rootPerm, 0, 0);
    }

    public Lock Mu { get; } = new();

    public MemoryFile MemoryFile { get; }

    /// <summary>Where the file system is mounted, e.g. "/tmp".</summary>
    public string MountPoint { get; set; }

    public ulong Device { get; }

    public TmpfsDirectory Root { get; }

    /// <summary>The most pages the file system's files may hold (mount's <c>size=</c>), 0 for no limit beyond memory.</summary>
    public long MaxPages { get; set; }

    /// <summary>The root's mode as the mount asked for it (mode=, 01777 by default): what mountinfo shows, whatever chmod did since.</summary>
    public uint OptionMode { get; init; } = 0x3FF;

    /// <summary>Pages its files hold now.</summary>
    public long UsedPages => Interlocked.Read(ref _usedPages);

    /// <summary>Whether the file system itself is read-only (mount -o remount,ro of the tmpfs): every mount of it refuses changes.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>A zeroed page for a file's data, counted against <see cref="MaxPages"/>. Returns its MemoryFile offset or -ENOSPC/-ENOMEM.</summary>
    public long AllocatePage()
    {
        if (Interlocked.Increment(ref _usedPages) > MaxPages && MaxPages > 0)
        {
            Interlocked.Decrement(ref _usedPages);
            return -Errno.ENOSPC.Value;
        }

        long fo = MemoryFile.Allocate(4096);
        if (fo < 0)
        {
            Interlocked.Decrement(ref _usedPages);
        }

        return fo;
    }

    /// <summary>Gives back a page of <see cref="AllocatePage"/>.</summary>
    public void FreePage(long fo)
    {
        MemoryFile.Free(fo, 4096);
        Interlocked.Decrement(ref _usedPages);
    }

    public ulong NextIno() => (ulong)Interlocked.Increment(ref _nextIno);

    /// <summary>
    /// Walks <paramref name="rel"/> (no leading slash; "" is the root): done with the node, failed, or
    /// continuing at a symlink's target, which is followed through the whole VFS. <paramref name="via"/> is the
    /// mount the walk came in by (rel starts with its root): a relative link's ".." climbs from where the link is
    /// seen through that mount, as Linux follows it from the path walked, not from the file system's own tree.
    /// </summary>
    /// <remarks>Preconditions: Mu is held.</remarks>
    public PathStep WalkLocked(string rel, bool followLast, out TmpfsNode? node, Mounts.Mount? via = null)
    {
        node = Root;
        if (rel.Length == 0)
        {
            return PathStep.Ok;
        }

        string[] parts = rel.Split('/');
        TmpfsNode cur = Root;
        for (int i = 0; i < parts.Length; i++)
        {
            if (cur is not TmpfsDirectory dir)
            {
                node = null;
                return PathStep.Fail(Errno.ENOTDIR);
            }

            if (!dir.Children.TryGetValue(parts[i], out TmpfsNode? next))
            {
                node = null;
                return PathStep.Fail(Errno.ENOENT);
            }

            bool last = i == parts.Length - 1;
            if (next is TmpfsSymlink link && (!last || followLast))
            {
                // Resolve the target against the link's directory, then the rest of the path after it.
                string dirPath = SeenAt(parts, i, via);
                string target = PathStep.LinkTarget(dirPath, link.Target);
                node = null;
                return PathStep.ContinueAt(last ? target : target + "/" + string.Join('/', parts, i + 1, parts.Length - i - 1));
            }

            cur = next;
        }

        node = cur;
        return PathStep.Ok;
    }

    // The namespace path of the directory parts[0..count) of a walk that came in by via (the file system's own
    // mount point when null).
    private string SeenAt(string[] parts, int count, Mounts.Mount? via)
    {
        int skip = via == null || via.Tmpfs != this ? -1 : via.Root.Length == 0 ? 0 : via.Root.Split('/').Length;
        return skip < 0 || count < skip
            ? MountPoint + "/" + string.Join('/', parts, 0, count)
            : via!.MountPoint + "/" + string.Join('/', parts, skip, count - skip);
    }

    /// <summary>Splits <paramref name="rel"/> into its parent directory (walked) and its last name.</summary>
    /// <remarks>Preconditions: Mu is held.</remarks>
    public PathStep WalkParentLocked(string rel, out TmpfsDirectory? parent, out string name, Mounts.Mount? via = null)
    {
        parent = null;
        int slash = rel.LastIndexOf('/');
        name = slash < 0 ? rel : rel[(slash + 1)..];
        if (name.Length == 0)
        {
            return PathStep.Fail(Errno.EEXIST); // the mount root itself
        }

        if (Moat.Abi.LinuxString.Encoding.GetByteCount(name) > 255)
        {
            return PathStep.Fail(Errno.ENAMETOOLONG);
        }

        PathStep r = WalkLocked(slash < 0 ? string.Empty : rel[..slash], followLast: true, out TmpfsNode? dir, via);
        if (r.Continues || r.Failed)
        {
            return r;
        }

        if (dir is not TmpfsDirectory d)
        {
            return PathStep.Fail(Errno.ENOTDIR);
        }

        parent = d;
        return PathStep.Ok;
    }

    /// <summary>
    /// Makes what is missing of a volume's mount point <paramref name="rel"/>: its directories, and the last
    /// one as an empty file for a single-file volume; stops at anything else in the way.
    /// </summary>
    public void MakeMountPoint(string rel, bool isFile)
    {
        lock (Mu)
        {
            TmpfsDirectory dir = Root;
            string[] parts = rel.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i < parts.Length; i++)
            {
                string part = parts[i];
                if (!dir.Children.TryGetValue(part, out TmpfsNode? child))
                {
                    if (isFile && i == parts.Length - 1)
                    {
                        dir.Children[part] = new TmpfsRegular(this, 0x1A4, 0, 0); // 0644, as a runtime makes it
                        return;
                    }

                    child = new TmpfsDirectory(this, dir, 0x1ED, 0, 0);
                    dir.Children[part] = child;
                    dir.Nlink++;
                }

                if (child is not TmpfsDirectory d)
                {
                    return;
                }

                dir = d;
            }
        }
    }

    /// <summary>Drops one link to <paramref name="node"/>; file data goes when nothing holds it.</summary>
    /// <remarks>Preconditions: Mu is held.</remarks>
    public static void Unlinked(TmpfsNode node)
    {
        node.Nlink = node.Nlink > 0 ? node.Nlink - 1 : 0;
        node.Touch(modified: false);
        if (node is TmpfsRegular f && f.Nlink == 0 && f.OpenCount == 0)
        {
            f.ReleaseData();
        }
    }
}
