using Moat.Host;

namespace Moat.Gofer;

/// <summary>A host directory the gofer serves as a volume: its O_PATH fd, and whether writes are refused.</summary>
public sealed class VolumeRoot(SafeFdHandle fd, bool readOnly)
{
    public SafeFdHandle Fd { get; } = fd;

    /// <summary>A read-only volume answers EROFS to every change, where Linux's read-only bind mount does.</summary>
    public bool ReadOnly { get; } = readOnly;
}
