using Moat.Gofer;
using Moat.Host;

namespace Moat.Sentry.Kernel;

/// <summary>The gofer's volumes (roots 1, 2, ...): opens, links read and changes, each by a path inside one volume.</summary>
internal interface IVolumeTree
{
    /// <summary>Opens <paramref name="rel"/> (relative to volume <paramref name="root"/>). Returns the fd, or null with -errno.</summary>
    SafeFdHandle? Open(int root, string rel, int flags, int mode, out long error);

    /// <summary>Reads a symlink of a volume. Returns the target, or null with -errno.</summary>
    string? ReadLink(int root, string rel, out long error);

    /// <summary>Asks for a change (mkdir, unlink, rename, chmod, ...). Returns 0 or -errno.</summary>
    long Change(in GoferRequest request);

    /// <summary>Asks for a change that takes an open file (linking an O_TMPFILE file). Returns 0 or -errno.</summary>
    long Change(in GoferRequest request, int fileFd);
}
