using Moat.Host;

namespace Moat.Sentry.Kernel;

/// <summary>Opens and reads links of host files, on the Sentry's behalf, inside the sandbox's roots.</summary>
internal interface IFileOpener
{
    /// <summary>
    /// Opens <paramref name="path"/> (absolute, in the sandbox). <paramref name="flags"/> may hold O_PATH,
    /// O_DIRECTORY, O_NOFOLLOW and O_NONBLOCK; the access mode is always read-only.
    /// </summary>
    /// <returns>The host fd, or null with -errno in <paramref name="error"/>.</returns>
    SafeFdHandle? Open(string path, int flags, out long error);

    /// <summary>
    /// <see cref="Open(string, int, out long)"/>, saying where a symlink on the way led, found or not (null when
    /// the path held none; an opener that cannot tell says null).
    /// </summary>
    SafeFdHandle? Open(string path, int flags, out string? resolved, out long error)
    {
        resolved = null;
        return Open(path, flags, out error);
    }

    /// <summary>Reads the symbolic link at <paramref name="path"/>. Returns the target, or null with -errno.</summary>
    string? ReadLink(string path, out long error);
}
