using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Vfs.HostCache;

/// <summary>
/// One copy, in the MemoryFile, of the pages of the host files the sandbox maps privately (libc and every
/// library ld.so maps): each process's mapping shares those pages copy-on-write instead of holding a copy of
/// its own, as Linux's page cache serves every mapping of a file. A file's pages are read from the host on
/// the first mapping that needs them.
///
/// Coherence: only files the sandbox cannot write are cached (the root's host files, whose changes go to the
/// overlay's upper layer, and files of read-only volumes). A file changed on the host behind the sandbox is
/// noticed at its next mapping by its size and its modification and change times, and read again; mappings
/// made before keep the pages they had (Linux would show them the new bytes where they did not write).
///
/// Memory: cached pages count as the sandbox's memory, as the page cache counts in a memory cgroup. Pages no
/// mapping holds any more are given back under pressure (<see cref="Trim"/>: an allocation under the
/// sandbox's limit failed) and when more than <see cref="MaxFiles"/> files are cached (the least recently
/// mapped go first).
///
/// Lock order: MemoryManager._mu > _mu > MemoryFile._mu; host reads are made under _mu (regular files).
/// </summary>
internal sealed unsafe class HostPageCache
{
    /// <summary>Files larger than this are copied into each mapping as before, not cached.</summary>
    public const long MaxFileSize = 64L << 20;

    /// <summary>The most files cached at once.</summary>
    public const int MaxFiles = 512;

    // Pages are read in runs of at most this many (a library's pages are mostly read in one or two runs).
    private const int ReadRunPages = 64;

    private readonly MemoryFile _memoryFile;
    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly Dictionary<(ulong Dev, ulong Ino), CachedFile> _files = [];
    private long _clock;

    public HostPageCache(MemoryFile memoryFile)
    {
        _memoryFile = memoryFile;
    }

    /// <summary>How many files are cached (for tests).</summary>
    public int Count
    {
        get
        {
            lock (_mu)
            {
                return _files.Count;
            }
        }
    }

    private sealed class CachedFile(Stat st)
    {
        public readonly long Size = st.st_size;
        public readonly long Mtime = (st.st_mtime * 1_000_000_000) + st.st_mtime_nsec;
        public readonly long Ctime = (st.st_ctime * 1_000_000_000) + st.st_ctime_nsec;

        // The MemoryFile offset of each page of the file, -1 where it was not read (or was given back).
        public readonly long[] Pages = NewPages(st.st_size);
        public long LastUse;

        public bool Matches(in Stat st) =>
            st.st_size == Size && (st.st_mtime * 1_000_000_000) + st.st_mtime_nsec == Mtime && (st.st_ctime * 1_000_000_000) + st.st_ctime_nsec == Ctime;

        private static long[] NewPages(long size)
        {
            var pages = new long[(size + (long)Mman.PageSize - 1) / (long)Mman.PageSize];
            Array.Fill(pages, -1L);
            return pages;
        }
    }

    /// <summary>
    /// Puts into <paramref name="pages"/> the MemoryFile offsets of the file's pages from
    /// <paramref name="firstIndex"/> on (all of them inside the file), reading those not cached yet from
    /// <paramref name="hostFd"/>, each with one reference for the caller. Returns 0, or -errno (ENOMEM, the
    /// host read's error) with no reference taken.
    /// </summary>
    public long Reference(int hostFd, in Stat st, long firstIndex, Span<long> pages)
    {
        lock (_mu)
        {
            var key = (st.st_dev, st.st_ino);
            if (!_files.TryGetValue(key, out CachedFile? file) || !file.Matches(st))
            {
                if (file != null)
                {
                    DropLocked(key, file); // changed on the host: read again
                }

                if (_files.Count >= MaxFiles)
                {
                    EvictOldestLocked();
                }

                file = new CachedFile(st);
                _files[key] = file;
            }

            file.LastUse = ++_clock;
            if (firstIndex < 0 || firstIndex + pages.Length > file.Pages.Length)
            {
                return -Errno.EINVAL.Value;
            }

            long r = ReadMissingLocked(hostFd, file, firstIndex, pages.Length);
            if (r < 0)
            {
                return r;
            }

            for (int i = 0; i < pages.Length; i++)
            {
                pages[i] = file.Pages[firstIndex + i];
                _memoryFile.IncRef(pages[i], Mman.PageSize);
            }

            return 0;
        }
    }

    /// <summary>
    /// Backs <paramref name="count"/> pages of the private mapping at <paramref name="start"/> with the file's
    /// pages from <paramref name="firstIndex"/> on, copy-on-write (<see cref="Reference"/>, then the mapping
    /// takes references of its own). False when they could not be had or installed: the caller copies.
    /// </summary>
    public bool MapPrivate(Mm.MemoryManager mm, int hostFd, in Stat st, ulong start, long firstIndex, int count)
    {
        long[] pages = System.Buffers.ArrayPool<long>.Shared.Rent(count);
        try
        {
            Span<long> span = pages.AsSpan(0, count);
            if (Reference(hostFd, st, firstIndex, span) < 0)
            {
                return false;
            }

            long r = mm.InstallPrivatePages(start, span);
            foreach (long page in span)
            {
                _memoryFile.Free(page, Mman.PageSize); // the mapping holds its own references now
            }

            return r == 0;
        }
        finally
        {
            System.Buffers.ArrayPool<long>.Shared.Return(pages);
        }
    }

    /// <summary>
    /// Gives back the cached pages no mapping holds (only the cache's reference is left). Returns whether any
    /// page went back.
    /// </summary>
    public bool Trim()
    {
        lock (_mu)
        {
            return TrimLocked();
        }
    }

    // Preconditions: _mu is held.
    private bool TrimLocked()
    {
        bool freed = false;
        var empty = new List<(ulong, ulong)>();
        foreach ((var key, CachedFile file) in _files)
        {
            bool any = false;
            for (int i = 0; i < file.Pages.Length; i++)
            {
                long page = file.Pages[i];
                if (page < 0)
                {
                    continue;
                }

                if (_memoryFile.IsShared(page, Mman.PageSize))
                {
                    any = true;
                    continue;
                }

                _memoryFile.Free(page, Mman.PageSize);
                file.Pages[i] = -1;
                freed = true;
            }

            if (!any)
            {
                empty.Add(key);
            }
        }

        foreach ((ulong, ulong) key in empty)
        {
            _files.Remove(key);
        }

        return freed;
    }

    // Reads the file's pages [first, first+count) that are not cached, in runs. Preconditions: _mu is held.
    private long ReadMissingLocked(int hostFd, CachedFile file, long first, int count)
    {
        long end = first + count;
        for (long i = first; i < end;)
        {
            if (file.Pages[i] >= 0)
            {
                i++;
                continue;
            }

            long run = 1;
            while (run < ReadRunPages && i + run < end && file.Pages[i + run] < 0)
            {
                run++;
            }

            long at = _memoryFile.Allocate((ulong)run * Mman.PageSize);
            if (at == -Errno.ENOMEM.Value && TrimLocked())
            {
                at = _memoryFile.Allocate((ulong)run * Mman.PageSize);
            }

            if (at < 0)
            {
                return at;
            }

            long r = ReadRun(hostFd, _memoryFile.PointerAt(at), run * (long)Mman.PageSize, i * (long)Mman.PageSize, file.Size);
            if (r < 0)
            {
                _memoryFile.Free(at, (ulong)run * Mman.PageSize);
                return r;
            }

            for (long k = 0; k < run; k++)
            {
                file.Pages[i + k] = at + (k * (long)Mman.PageSize);
            }

            i += run;
        }

        return 0;
    }

    // Reads a run of the file into fresh (zeroed) pages; past the end of the file they stay zero.
    private static long ReadRun(int hostFd, byte* dst, long length, long offset, long size)
    {
        long want = Math.Min(length, size - offset);
        long done = 0;
        while (done < want)
        {
            long n = HostFile.PRead(hostFd, dst + done, (ulong)(want - done), offset + done);
            if (n < 0)
            {
                return n;
            }

            if (n == 0)
            {
                break; // shorter than its size said: the rest reads as zeros
            }

            done += n;
        }

        return 0;
    }

    // Preconditions: _mu is held.
    private void EvictOldestLocked()
    {
        (ulong, ulong) oldest = default;
        CachedFile? victim = null;
        foreach ((var key, CachedFile file) in _files)
        {
            if (victim == null || file.LastUse < victim.LastUse)
            {
                victim = file;
                oldest = key;
            }
        }

        if (victim != null)
        {
            DropLocked(oldest, victim);
        }
    }

    // Drops the cache's references to a file's pages (mappings keep theirs). Preconditions: _mu is held.
    private void DropLocked((ulong, ulong) key, CachedFile file)
    {
        foreach (long page in file.Pages)
        {
            if (page >= 0)
            {
                _memoryFile.Free(page, Mman.PageSize);
            }
        }

        _files.Remove(key);
    }
}
