using System;
using System.Diagnostics;
using System.Threading;

namespace Moat.Sentry.Mm;

/// <summary>
/// Keeping the MemoryFile pages a copy touches alive until the copy ends.
///
/// The Sentry copies app memory through its own mapping of the MemoryFile, outside <c>_mu</c>. If the pages
/// behind the copied range could be freed meanwhile (a sibling thread's munmap, mremap, MADV_DONTNEED,
/// MAP_FIXED over it, a copy-on-write break), the allocator could hand them to another process, and the copy
/// would read or write that process's memory. So every copy holds <c>_activeMu</c> as a reader from the
/// moment <see cref="Translate"/> hands out a pointer until the caller disposes the <see cref="Pinned"/> it
/// got with it, and every operation that drops a PMA's reference to its pages (or moves private pages out
/// from under a copy: fork, copy-on-write) holds it as a writer. Copies of one address space run in
/// parallel; they only wait for (and hold up) the few operations that free pages. This is the role gVisor's
/// <c>mm.activeMu</c> plays for its internal mappings.
///
/// Lock order: _activeMu &gt; _mu. A copy must not sleep while it holds a pin: a read from a pipe, a
/// terminal or a socket waits for data first and then copies; a host fd that might block (anything but a
/// regular file or a directory) is copied through a bounce buffer instead (<c>HostFileDescription</c>).
/// </summary>
internal sealed partial class MemoryManager
{
    // Readers: copies through Translate's pointers. Writers: everything that frees or replaces PMA pages.
    // Not recursive: a thread holds at most one pin of one address space at a time, and never pins while it
    // holds the writer side.
    private readonly ReaderWriterLockSlim _activeMu = new(LockRecursionPolicy.NoRecursion);

    /// <summary>
    /// Proof that the pages behind a pointer from <see cref="Translate"/> stay allocated to this address space:
    /// dispose it as soon as the copy through the pointer ends, before the next Translate.
    /// </summary>
    public readonly struct Pinned : IDisposable
    {
        private readonly MemoryManager? _mm;

        internal Pinned(MemoryManager mm) => _mm = mm;

        /// <summary>Whether this holds pages (false for the default value a failed Translate returns).</summary>
        public bool IsHeld => _mm != null;

        public void Dispose() => _mm?._activeMu.ExitReadLock();
    }

    // Holds _activeMu as a writer (if exclusive) and _mu, released together on Dispose.
    private readonly ref struct MuScope
    {
        private readonly MemoryManager _mm;
        private readonly bool _exclusive;

        public MuScope(MemoryManager mm, bool exclusive)
        {
            _mm = mm;
            _exclusive = exclusive;
            if (exclusive)
            {
                mm._activeMu.EnterWriteLock();
            }

            mm._mu.Enter();
        }

        public void Dispose()
        {
            _mm._mu.Exit();
            if (_exclusive)
            {
                _mm._activeMu.ExitWriteLock();
            }
        }
    }

    // Takes _mu with no copy in flight and none starting: for changes that free or move PMA pages.
    private MuScope LockExclusive() => new(this, exclusive: true);

    // Takes _mu, and _activeMu as a writer too if exclusive.
    private MuScope LockFor(bool exclusive) => new(this, exclusive);

    [Conditional("DEBUG")]
    private void AssertLocked() => Debug.Assert(_mu.IsHeldByCurrentThread, "MemoryManager._mu must be held");

    [Conditional("DEBUG")]
    private void AssertExclusive()
    {
        Debug.Assert(_mu.IsHeldByCurrentThread, "MemoryManager._mu must be held");
        Debug.Assert(_activeMu.IsWriteLockHeld, "MemoryManager._activeMu must be held as a writer: pages may be freed");
    }
}
