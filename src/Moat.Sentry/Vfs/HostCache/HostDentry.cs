using Moat.Host;

namespace Moat.Sentry.Vfs.HostCache;

/// <summary>
/// What the Sentry knows about one host path, looked up with or without following a final symlink: that it
/// does not exist, or its file type with the host fds the gofer donated for it. Guarded by the cache's lock.
/// </summary>
internal sealed class HostDentry
{
    public HostDentry(string path, bool follow, long error, uint type, SafeFdHandle? pathFd, string? resolved = null)
    {
        Path = path;
        Follow = follow;
        Error = error;
        Type = type;
        PathFd = pathFd;
        Resolved = resolved;
    }

    public string Path { get; }

    public bool Follow { get; }

    /// <summary>0 for a file that exists; -ENOENT for a negative entry.</summary>
    public long Error { get; }

    /// <summary>The S_IFMT bits of the file (0 for a negative entry).</summary>
    public uint Type { get; }

    /// <summary>An O_PATH fd of the file: fstat reads fresh attributes through it. Null for a negative entry.</summary>
    public SafeFdHandle? PathFd { get; }

    /// <summary>A read-only fd of a regular file, fetched on the first read-only open and shared after.</summary>
    public SafeFdHandle? ReadFd { get; set; }

    /// <summary>Where a symlink on the way led on the host, as the gofer found it (null when the path holds none).</summary>
    public string? Resolved { get; }

    /// <summary>A symlink's target, once read.</summary>
    public string? LinkTarget { get; set; }

    // LRU links: towards the most and the least recently used entry.
    public HostDentry? Newer { get; set; }

    public HostDentry? Older { get; set; }

    /// <summary>
    /// Gives up the cache's own reference to the fds. Open files sharing them keep them open (SafeHandle
    /// reference counts) until they close.
    /// </summary>
    public void Release()
    {
        PathFd?.Dispose();
        ReadFd?.Dispose();
    }
}
