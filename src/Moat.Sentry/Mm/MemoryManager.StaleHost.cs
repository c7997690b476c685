using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>
/// Copy-on-write broken from outside: process_vm_writev writes into another process's memory on the writer's
/// thread, which runs no context of the target's platform address space and so cannot unmap the old block
/// there (only the target's own task threads can change its host mappings). The target's PMA moves to the
/// copy at once; the host keeps mapping the old block until one of the target's threads unmaps it, before it
/// runs app code again. Meanwhile the old block stays referenced, so it is never reused (by the other sharer
/// writing it in place, or by another process) while the target can still read it.
/// </summary>
internal sealed partial class MemoryManager
{
    private readonly record struct StaleHostBlock(ulong Start, ulong End, long OldFileOffset);

    // Blocks whose host mapping here is stale, each holding one MemoryFile reference on the old block.
    // Protected by _mu; _staleHostPending says (without the lock) whether the list is non-empty.
    private List<StaleHostBlock>? _staleHost;
    private volatile bool _staleHostPending;

    /// <summary>Whether a foreign write left host mappings here that a task thread of this memory must drop.</summary>
    public bool HasStaleHostMappings => _staleHostPending;

    /// <summary>
    /// Drops the host mappings of blocks another process's write copied (see the class remarks), and the
    /// references that kept the old blocks alive. Cheap when there are none: one volatile read.
    /// Preconditions: the caller is a task thread attached to this memory's platform address space.
    /// </summary>
    public void UnmapStaleHostMappings()
    {
        if (!_staleHostPending)
        {
            return;
        }

        lock (_mu)
        {
            if (_staleHost == null)
            {
                return;
            }

            foreach (StaleHostBlock b in _staleHost)
            {
                // Whatever is mapped there now is only a cache of the PMAs: a later access faults it back in.
                UnmapHostLocked(b.Start, b.End - b.Start);
                MemoryFile.Free(b.OldFileOffset, b.End - b.Start);
            }

            _staleHost.Clear();
            _staleHostPending = false;
        }
    }

    // Breaks copy-on-write of the block around page for the Sentry and drops its host mapping; from a thread
    // that cannot reach the host address space, records the block as stale instead, keeping the old block.
    // Returns 0 or -EFAULT.
    // Preconditions: _mu is held exclusively; the page's PMA is copy-on-write.
    private long BreakCowAndUnmapHostLocked(in Vma v, ulong page)
    {
        // Unmapping first: while _mu is held, an access of another thread of this memory waits in its fault.
        CowBlock(v, _pmas[_pmas.IndexOf(page)], page, out ulong start, out ulong end);
        long r = UnmapHostLocked(start, end - start);
        if (BreakCowLocked(v, page, out _, out _, out _, out long oldOffset) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (oldOffset >= 0 && r == -Errno.EPERM.Value)
        {
            // Our reference to the old block now belongs to the stale block.
            (_staleHost ??= []).Add(new StaleHostBlock(start, end, oldOffset));
            _staleHostPending = true;
            return 0;
        }

        ReleaseCowSourceLocked(oldOffset, end - start, r);
        return 0;
    }

    // Drops the references stale blocks hold (the memory is going away with its host address space).
    // Preconditions: _mu is held exclusively.
    private void ForgetStaleHostLocked()
    {
        if (_staleHost == null)
        {
            return;
        }

        foreach (StaleHostBlock b in _staleHost)
        {
            MemoryFile.Free(b.OldFileOffset, b.End - b.Start);
        }

        _staleHost.Clear();
        _staleHostPending = false;
    }
}
