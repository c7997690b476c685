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
/// would read or write that process's memory. So <see cref="Translate"/> pins the address space when it
/// hands out a pointer (a count, taken under <c>_mu</c>), the caller unpins it by disposing the
/// <see cref="Pinned"/> it got once the copy ends, and every operation that drops a PMA's reference to its
/// pages (or makes private pages shared under a copy: fork) takes <c>_mu</c> exclusively: it waits, holding
/// <c>_mu</c>, until no pin is left, so no new copy starts and none is in flight while it runs. Copies of
/// one address space run in parallel; they only wait for (and hold up) the few operations that free pages.
/// This is the role gVisor's <c>mm.activeMu</c>, held as a reader during copies, plays for its internal
/// mappings; here the reader side costs two atomic operations and no lock of its own.
///
/// Rules for a pin holder: it must not sleep (a read from a pipe, a terminal or a socket waits for data first
/// and then copies; a host fd that might block, anything but a regular file or a directory, is copied through
/// a bounce buffer: <c>HostFileDescription</c>), and must not call into this MemoryManager (another Translate,
/// a fault, munmap) before it unpins: an exclusive operation waiting for the pin would hold <c>_mu</c> against it.
/// </summary>
internal sealed partial class MemoryManager
{
    // Copies in flight through Translate's pointers. Incremented under _mu, decremented without it.
    private int _pins;

    // Set while an exclusive operation waits for _pins to drain; the last unpin then sets _drained.
    private int _drainWaiting;
    private readonly ManualResetEventSlim _drained = new(false, spinCount: 0);

#if DEBUG
    // Pins the current thread holds (of any address space): Translate must not be called while holding one.
    [ThreadStatic]
    private static int t_pinsHeld;
#endif

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

        public void Dispose() => _mm?.Unpin();
    }

    // Pins the pages a pointer is about to be handed out for.
    // Preconditions: _mu is held.
    private Pinned PinLocked()
    {
        AssertLocked();
        Interlocked.Increment(ref _pins);
#if DEBUG
        t_pinsHeld++;
#endif
        return new Pinned(this);
    }

    private void Unpin()
    {
#if DEBUG
        t_pinsHeld--;
#endif
        if (Interlocked.Decrement(ref _pins) == 0 && Volatile.Read(ref _drainWaiting) != 0)
        {
            _drained.Set();
        }
    }

    [Conditional("DEBUG")]
    private static void AssertNoPinHeld()
    {
#if DEBUG
        Debug.Assert(t_pinsHeld == 0, "a thread holding a pin must not translate, fault or change the address space");
#endif
    }

    // Waits, holding _mu, until no copy is in flight. New ones cannot start: they need _mu.
    // Preconditions: _mu is held.
    private void DrainPinsLocked()
    {
        AssertLocked();
        if (Volatile.Read(ref _pins) == 0)
        {
            return;
        }

        // Copies are short (nothing sleeps under a pin): spin a little before sleeping.
        var spin = default(SpinWait);
        while (!spin.NextSpinWillYield)
        {
            spin.SpinOnce();
            if (Volatile.Read(ref _pins) == 0)
            {
                return;
            }
        }

        Interlocked.Exchange(ref _drainWaiting, 1);
        while (true)
        {
            _drained.Reset();
            if (Volatile.Read(ref _pins) == 0)
            {
                break;
            }

            _drained.Wait();
        }

        Volatile.Write(ref _drainWaiting, 0);
    }

    // Holds _mu with no copy in flight (if exclusive), released on Dispose.
    private readonly ref struct MuScope
    {
        private readonly MemoryManager _mm;
        private readonly bool _exclusive;

        public MuScope(MemoryManager mm, bool exclusive)
        {
            AssertNoPinHeld();
            _mm = mm;
            _exclusive = exclusive;
            mm._mu.Enter();
            if (exclusive)
            {
                mm.DrainPinsLocked();
                mm._exclusiveDepth++;
            }
        }

        public void Dispose()
        {
            if (_exclusive)
            {
                _mm._exclusiveDepth--;
            }

            _mm._mu.Exit();
            if (_mm._filesToRelease != null && !_mm._mu.IsHeldByCurrentThread)
            {
                _mm.ReleaseSweptFiles(); // closing a file takes locks above _mu
            }
        }
    }

    // How many exclusive scopes the thread holding _mu has open (for assertions). Protected by _mu.
    private int _exclusiveDepth;

    // Takes _mu with no copy in flight and none starting: for changes that free or move PMA pages.
    private MuScope LockExclusive() => new(this, exclusive: true);

    // Takes _mu, waiting for copies in flight too if exclusive.
    private MuScope LockFor(bool exclusive) => new(this, exclusive);

    [Conditional("DEBUG")]
    private void AssertLocked() => Debug.Assert(_mu.IsHeldByCurrentThread, "MemoryManager._mu must be held");

    [Conditional("DEBUG")]
    private void AssertExclusive()
    {
        Debug.Assert(_mu.IsHeldByCurrentThread, "MemoryManager._mu must be held");
        Debug.Assert(_exclusiveDepth > 0 && _pins == 0, "MemoryManager._mu must be held exclusively: pages may be freed");
    }
}
