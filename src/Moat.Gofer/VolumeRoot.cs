using Moat.Abi;
using Moat.Host;

namespace Moat.Gofer;

/// <summary>
/// A host directory, or a single host file, the gofer serves as a volume: its O_PATH fd, and whether
/// writes are refused. A file volume has one name, the empty path: its mount point is that file.
/// </summary>
public sealed class VolumeRoot
{
    public VolumeRoot(SafeFdHandle fd, bool readOnly)
    {
        Fd = fd;
        ReadOnly = readOnly;
        IsFile = HostFile.Fstat(fd.Fd, out Stat st) == 0 && (st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR;
    }

    public SafeFdHandle Fd { get; }

    /// <summary>A read-only volume answers EROFS to every change, where Linux's read-only bind mount does.</summary>
    public bool ReadOnly { get; }

    /// <summary>Whether the volume is one file (a single-file bind mount) rather than a directory.</summary>
    public bool IsFile { get; }
}
