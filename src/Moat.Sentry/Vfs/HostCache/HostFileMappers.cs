using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs.HostCache;

/// <summary>
/// The memories with private mappings of one host file the sandbox can truncate (a volume's), whatever
/// description each was made through, as Linux finds them through the inode's address_space: a truncate takes
/// the pages past the new end out of all of them, the mappings' own copies too (truncate_pagecache's
/// unmap_mapping_range with even_cows), so a later access is SIGBUS. Also the identity their VMAs' pages
/// objects share (<see cref="ISharedFilePages.Identity"/>).
/// </summary>
/// <remarks>
/// Keyed by the host's (st_dev, st_ino), process-wide like the lock table; an entry stays once made (one per
/// volume file ever mapped privately), its memories weakly held.
/// </remarks>
internal sealed class HostFileMappers
{
    private static readonly ConcurrentDictionary<(ulong Dev, ulong Ino), HostFileMappers> s_byInode = new();

    private readonly ConditionalWeakTable<MemoryManager, object?> _mappers = new();

    /// <summary>The entry of a host file, made at its first private mapping.</summary>
    public static HostFileMappers Of(ulong dev, ulong ino) => s_byInode.GetOrAdd((dev, ino), static _ => new HostFileMappers());

    /// <summary>The entry of a host file, or null when the sandbox never mapped it privately.</summary>
    public static HostFileMappers? Find(ulong dev, ulong ino) => s_byInode.TryGetValue((dev, ino), out HostFileMappers? m) ? m : null;

    /// <summary>Records a memory that maps the file (again after a fork).</summary>
    public void Add(MemoryManager mm) => _mappers.AddOrUpdate(mm, null);

    /// <summary>
    /// The file now ends before page <paramref name="firstIndex"/>: its pages from there leave every private
    /// mapping. Returns whether some were left in another process's host mappings (its tasks must come back
    /// before they run app code again).
    /// </summary>
    /// <remarks>Called with no lock held.</remarks>
    public bool Truncated(long firstIndex)
    {
        bool stale = false;
        foreach (var entry in _mappers)
        {
            stale |= entry.Key.InvalidateFilePages(this, firstIndex, long.MaxValue, evenPrivate: true);
        }

        return stale;
    }
}
