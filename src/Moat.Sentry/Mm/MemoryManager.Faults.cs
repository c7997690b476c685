using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using Moat.Abi;
using Moat.Platform;

namespace Moat.Sentry.Mm;

/// <summary>Page faults: allocating memory behind VMAs, copy-on-write, and mapping into the platform address space.</summary>
internal sealed partial class MemoryManager
{
    /// <summary>A write to copy-on-write memory copies this much (aligned) around the faulting page.</summary>
    public const ulong CowUnit = 16 * Mman.PageSize;

    /// <summary>
    /// Handles an application page fault at <paramref name="addr"/>. The host says whether the page was
    /// mapped but the access not allowed (<paramref name="hostSaysAccessError"/>). Returns 0 if the app may
    /// retry the access, the si_code of the SIGSEGV it must get, or -SIGBUS.
    /// </summary>
    public int HandleFault(ulong addr, bool hostSaysAccessError, ulong ip = 0) => HandleFault(addr, hostSaysAccessError, ip, out _);

    /// <summary>
    /// <see cref="HandleFault(ulong, bool, ulong)"/>, which also reports a page of a range registered with a
    /// userfaultfd that the range lacks: then it returns 0 with <paramref name="userfault"/> set, and the caller
    /// waits for the page (<see cref="IUserfaultHandler.WaitForPage"/>) before the app retries the access.
    /// </summary>
    public int HandleFault(ulong addr, bool hostSaysAccessError, ulong ip, out IUserfaultHandler? userfault)
    {
        int r;
        ISharedFilePages? file;
        long index;
        using (LockFor(exclusive: hostSaysAccessError))
        {
            r = HandleFaultLocked(addr, hostSaysAccessError, ip, out file, out index, out userfault);
        }

        // A page past the end of a shared file when it was mapped: the file decides, without our lock
        // (its lock ranks above ours).
        return file == null ? r : FaultInFilePage(PageDown(addr), file, index);
    }

    // HandleFault under _mu; a page of a shared file's mapping that the mapping lacks is left to the
    // caller through file and index.
    // Preconditions: _mu is held (exclusively when hostSaysAccessError).
    private int HandleFaultLocked(ulong addr, bool hostSaysAccessError, ulong ip, out ISharedFilePages? file, out long index, out IUserfaultHandler? userfault)
    {
        userfault = null;
        if (hostSaysAccessError)
        {
            AssertExclusive();
        }
        else
        {
            AssertLocked();
        }

        file = null;
        index = 0;
        int i = _vmas.IndexOf(addr);
        if (i < 0)
        {
            return SigInfo.SEGV_MAPERR;
        }

        Vma v = _vmas[i];
        if (v.Prot == Mman.PROT_NONE)
        {
            return SigInfo.SEGV_ACCERR;
        }

        ulong page = PageDown(addr);
        if (v.Kind == VmaKind.BeyondEof && _pmas.IndexOf(page) < 0)
        {
            if (v.File != null && !hostSaysAccessError)
            {
                file = v.File;
                index = (long)((v.FileOffset + (page - v.Start)) / Mman.PageSize);
                return 0;
            }

            return -Signal.SIGBUS;
        }

        if (v.Userfault != null && !hostSaysAccessError && _pmas.IndexOf(page) < 0)
        {
            // A missing page of a registered range: the userfaultfd's handler fills it, not us.
            userfault = v.Userfault;
            return 0;
        }

        if (hostSaysAccessError)
        {
            // Host mappings carry the VMA's protection, except copy-on-write memory, which is mapped
            // read-only: a protection fault there in a writable VMA is a write to copy.
            int c = _pmas.IndexOf(page);
            if (c >= 0 && _pmas[c].Cow && (v.Prot & Mman.PROT_WRITE) != 0)
            {
                long err = BreakCowLocked(v, page, out ulong start, out ulong end, out long fileOffset, out long oldOffset);
                if (err < 0)
                {
                    return -Signal.SIGBUS;
                }

                // The copy replaces the shared block in the host before our reference to that block goes.
                long mapped = _addressSpace!.MapFile(start, end - start, fileOffset, v.Prot);
                ReleaseCowSourceLocked(oldOffset, end - start, mapped);
                return mapped < 0 ? -Signal.SIGBUS : 0;
            }

            // Another thread may have resolved this very fault (copied the block) between the host's
            // fault and our look: the access is allowed now, so map again and retry, a few times at most.
            // A write to a read-only VMA, or a jump into a non-executable one, is the app's own fault.
            bool allowed = c >= 0 && (v.Prot & Mman.PROT_WRITE) != 0 && (addr != ip || (v.Prot & Mman.PROT_EXEC) != 0);
            if (!allowed || !NoteStaleFaultLocked(addr))
            {
                return SigInfo.SEGV_ACCERR;
            }
        }
        else
        {
            _staleFaultAddr = 0;
        }

        int p = EnsurePmaLocked(v, page, out long allocErr);
        if (p < 0)
        {
            if (allocErr == -Errno.ENOMEM.Value)
            {
                // Out of the sandbox's memory: under a --memory limit the process is OOM-killed.
                if (MemoryFile.Limit != 0)
                {
                    MemoryFile.NoteOomKill();
                    return -Signal.SIGKILL;
                }

                return -Signal.SIGBUS;
            }

            return SigInfo.SEGV_MAPERR;
        }

        // Map the whole PMA as far as this VMA reaches: one trip for up to PrivateAllocUnit bytes.
        Pma pma = _pmas[p];
        ulong mapStart = Math.Max(pma.Start, v.Start);
        ulong mapEnd = Math.Min(pma.End, v.End);
        int prot = pma.Cow ? v.Prot & ~Mman.PROT_WRITE : v.Prot;
        long r = _addressSpace!.MapFile(mapStart, mapEnd - mapStart, pma.FileOffset + (long)(mapStart - pma.Start), prot);
        return r < 0 ? -Signal.SIGBUS : 0;
    }

    /// <summary>
    /// Gives the page at <paramref name="page"/> of a shared file's mapping the file's page
    /// <paramref name="index"/>, if the file reaches it now. Returns 0 (retry the access), or -SIGBUS past
    /// the end of the file (-SIGKILL when the sandbox's memory limit is reached).
    /// </summary>
    /// <remarks>Called with no lock held: the file takes its own lock, then this takes _mu.</remarks>
    private int FaultInFilePage(ulong page, ISharedFilePages file, long index)
    {
        long fo = file.ReferencePage(index);
        if (fo < 0)
        {
            if (fo == -Errno.ENOMEM.Value && MemoryFile.Limit != 0)
            {
                MemoryFile.NoteOomKill();
                return -Signal.SIGKILL;
            }

            return -Signal.SIGBUS;
        }

        using (LockExclusive())
        {
            int i = _vmas.IndexOf(page);
            Vma v = i >= 0 ? _vmas[i] : default;
            if (i < 0 || !ReferenceEquals(v.File, file) || (long)((v.FileOffset + (page - v.Start)) / Mman.PageSize) != index ||
                _pmas.IndexOf(page) >= 0)
            {
                // The mapping changed meanwhile (unmapped, replaced, or another thread filled the page):
                // drop the page and let the access fault again against what is there now.
                MemoryFile.Free(fo, Mman.PageSize);
                return 0;
            }

            // A private mapping shares the file's page until it writes it (then the copy-on-write fault copies).
            bool cow = !v.Shared;
            _pmas.Insert(new Pma(page, page + Mman.PageSize, fo, cow));
            int prot = cow ? v.Prot & ~Mman.PROT_WRITE : v.Prot;
            return _addressSpace!.MapFile(page, Mman.PageSize, fo, prot) < 0 ? -Signal.SIGBUS : 0;
        }
    }

    /// <summary>
    /// For the Sentry's own copies (<see cref="Translate"/>): if <paramref name="addr"/> lies in a page of a shared
    /// file's mapping that the mapping lacks but the file now reaches, brings it in. Returns whether it did.
    /// </summary>
    private bool FaultInFilePageForCopy(ulong addr)
    {
        ISharedFilePages? file;
        ulong page = PageDown(addr);
        long index;
        lock (_mu)
        {
            int i = _vmas.IndexOf(addr);
            if (i < 0 || _vmas[i].Kind != VmaKind.BeyondEof || _vmas[i].File == null || _pmas.IndexOf(page) >= 0)
            {
                return false;
            }

            file = _vmas[i].File;
            index = (long)((_vmas[i].FileOffset + (page - _vmas[i].Start)) / Mman.PageSize);
        }

        return FaultInFilePage(page, file!, index) == 0;
    }

    // The last address that took a stale protection fault, and how often in a row. Protected by _mu.
    private ulong _staleFaultAddr;

    // Set (under _mu) when a copy on the task's behalf found no memory under the sandbox's limit; read without
    // the lock after each system call (TakeOomKill), so a call that copied nothing pays one load.
    private volatile bool _oomKillPending;

    // A copy on the app's behalf found no memory for a page: ENOMEM for the call. Under a memory limit the
    // process is also OOM-killed once the call returns, as the memory cgroup's OOM killer would do with a
    // fault inside the kernel: never a page left zero-filled or an EFAULT the app did not cause.
    // Preconditions: _mu is held.
    private long OutOfMemoryForCopyLocked()
    {
        if (MemoryFile.Limit != 0 && !_oomKillPending)
        {
            _oomKillPending = true;
            MemoryFile.NoteOomKill();
        }

        return -Errno.ENOMEM.Value;
    }

    /// <summary>
    /// Whether a copy into this address space ran out of memory under the sandbox's limit since the last look;
    /// clears it. The copy may have been partial (a short read) or made by another process (process_vm_writev):
    /// the owner of the memory is the one killed, at the end of its current or next call.
    /// </summary>
    public bool TakeOomKill()
    {
        if (!_oomKillPending)
        {
            return false;
        }

        lock (_mu)
        {
            bool pending = _oomKillPending;
            _oomKillPending = false;
            return pending;
        }
    }
    private int _staleFaultCount;

    // Counts a stale-looking protection fault; false once the same address keeps faulting (a real one).
    // Preconditions: _mu is held.
    private bool NoteStaleFaultLocked(ulong addr)
    {
        AssertLocked();
        if (addr != _staleFaultAddr)
        {
            _staleFaultAddr = addr;
            _staleFaultCount = 0;
        }

        return ++_staleFaultCount <= 3;
    }

    /// <summary>
    /// Returns the index of the PMA that backs <paramref name="page"/>, allocating one (up to
    /// <see cref="PrivateAllocUnit"/>, aligned, within the VMA and between neighbouring PMAs) if needed.
    /// </summary>
    /// <remarks>Preconditions: _mu is held; <paramref name="v"/> contains <paramref name="page"/>.</remarks>
    private int EnsurePmaLocked(in Vma v, ulong page, out long error)
    {
        AssertLocked();
        error = 0;
        int i = _pmas.IndexOf(page);
        if (i >= 0)
        {
            return i;
        }

        if (v.Kind == VmaKind.BeyondEof)
        {
            // Past the end of the file: there is nothing to allocate (SIGBUS for the app, EFAULT for a copy).
            error = -Errno.EFAULT.Value;
            return -1;
        }

        ulong lo = Math.Max(v.Start, page & ~(PrivateAllocUnit - 1));
        ulong hi = Math.Min(v.End, (page + PrivateAllocUnit) & ~(PrivateAllocUnit - 1));
        int next = _pmas.FirstEndingAfter(page);
        if (next < _pmas.Count)
        {
            hi = Math.Min(hi, _pmas[next].Start);
        }

        if (next > 0)
        {
            lo = Math.Max(lo, _pmas[next - 1].End);
        }

        long offset = MemoryFile.Allocate(hi - lo);
        if (offset == -Errno.ENOMEM.Value && MemoryFile.Limit != 0 && MemoryFile.ReclaimUnderPressure?.Invoke() == true)
        {
            offset = MemoryFile.Allocate(hi - lo); // cached file pages no mapping held went back
        }

        if (offset == -Errno.ENOMEM.Value && hi - lo > Mman.PageSize && MemoryFile.Limit != 0)
        {
            // Near the sandbox's memory limit: just the page the access needs, as Linux charges one page a fault.
            lo = page;
            hi = page + Mman.PageSize;
            offset = MemoryFile.Allocate(Mman.PageSize);
        }

        if (offset < 0)
        {
            error = offset;
            return -1;
        }

        _pmas.Insert(new Pma(lo, hi, offset));
        return _pmas.IndexOf(page);
    }

    /// <summary>
    /// Gives the copy-on-write block around <paramref name="page"/> private memory of its own: copies it,
    /// unless no other address space holds it any more. Returns 0 with the block's range and new offset, and
    /// the offset of the shared block our reference to which the caller drops (<see cref="ReleaseCowSourceLocked"/>)
    /// once the host maps the copy there instead (-1: nothing to drop).
    /// </summary>
    /// <remarks>
    /// Preconditions: _mu is held exclusively (no copy in flight: our reference to the shared page goes); a Cow
    /// PMA backs <paramref name="page"/> inside <paramref name="v"/>.
    /// </remarks>
    private long BreakCowLocked(in Vma v, ulong page, out ulong start, out ulong end, out long fileOffset, out long oldOffset)
    {
        oldOffset = -1;
        AssertExclusive();
        int i = _pmas.IndexOf(page);
        Pma p = _pmas[i];
        CowBlock(v, p, page, out start, out end);
        _pmas.SplitAt(start);
        _pmas.SplitAt(end);
        i = _pmas.IndexOf(page);
        p = _pmas[i];
        fileOffset = p.FileOffset;
        if (MemoryFile.IsShared(p.FileOffset, p.Length))
        {
            long copy = MemoryFile.Allocate(p.Length);
            if (copy < 0)
            {
                return copy;
            }

            unsafe
            {
                Buffer.MemoryCopy(MemoryFile.PointerAt(p.FileOffset), MemoryFile.PointerAt(copy), (long)p.Length, (long)p.Length);
            }

            oldOffset = p.FileOffset;
            fileOffset = copy;
        }

        _pmas.Replace(i, new Pma(p.Start, p.End, fileOffset, Cow: false));
        return 0;
    }

    // The block a copy-on-write break around page copies: CowUnit-aligned, within the VMA and the PMA.
    private static void CowBlock(in Vma v, in Pma p, ulong page, out ulong start, out ulong end)
    {
        start = Math.Max(Math.Max(p.Start, v.Start), page & ~(CowUnit - 1));
        end = Math.Min(Math.Min(p.End, v.End), (page & ~(CowUnit - 1)) + CowUnit);
    }

    // Drops our reference to a copied copy-on-write block, after the host change that replaced it. If that
    // change failed, the block may still be mapped here: it is kept (leaked) rather than let its last holder
    // write to it in place while this app can still read it.
    // Preconditions: _mu is held.
    private void ReleaseCowSourceLocked(long oldOffset, ulong length, long hostResult)
    {
        if (oldOffset >= 0 && hostResult >= 0)
        {
            MemoryFile.Free(oldOffset, length);
        }
    }

    /// <summary>
    /// Implements the memory half of fork(2): a new MemoryManager with the same VMAs, whose private memory
    /// is shared copy-on-write with this one and whose shared memory is shared outright. The child has no
    /// platform address space until its task attaches one.
    /// </summary>
    public MemoryManager Fork()
    {
        lock (_patchMu)
        {
            MemoryManager child = ForkPatchLocked();
            CopyPatchStateLocked(child);
            return child;
        }
    }

    // Preconditions: _patchMu is held (no syscall site is half-patched).
    private MemoryManager ForkPatchLocked()
    {
        using (LockExclusive())
        {
            var child = new MemoryManager(MemoryFile, null, MinAddress, MaxAddress)
            {
                MmapBase = MmapBase,
                AddressSpaceLimit = AddressSpaceLimit,
                VdsoAddress = VdsoAddress,
            };
            using Lock.Scope childScope = child._mu.EnterScope(); // nobody else can reach the child yet
            child._brkStart = _brkStart;
            child._brk = _brk;
            child.ArgStart = ArgStart;
            child.ArgEnd = ArgEnd;
            child.EnvStart = EnvStart;
            child.EnvEnd = EnvEnd;
            child.SavedAuxv = SavedAuxv;
            child.ThpDisable = ThpDisable;
            child.CoredumpFilter = CoredumpFilter;
            child.HoldFilesOfParentLocked(this);
            for (int i = 0; i < _vmas.Count; i++)
            {
                child.InsertVmaLocked(_vmas[i] with { Locked = false, Userfault = null }); // mlock and userfaultfd registrations are not inherited (dup_mmap)
                _vmas[i].File?.AddMapper(child); // the file's shrinking reaches the child's mapping too
                if (_vmas[i].Shared)
                {
                    // Shared memory not touched yet must exist now: otherwise each process would later
                    // allocate pages of its own and the two would stop sharing.
                    AllocateAllLocked(_vmas[i]);
                }
            }

            for (int i = 0; i < _pmas.Count; i++)
            {
                Pma p = _pmas[i];
                int vi = _vmas.IndexOf(p.Start);
                bool shared = vi >= 0 && _vmas[vi].Shared;
                MemoryFile.IncRef(p.FileOffset, p.Length);
                Pma copy = shared ? p : p with { Cow = true };
                _pmas.Replace(i, copy);
                child._pmas.Insert(copy);
            }

            if (_ownerCounts != null)
            {
                // The child's copies of owned VMAs are attachments of its own (shm_nattch counts them).
                child._ownerCounts = [];
                child.SyncOwnersLocked();
            }

            // Our writable private memory must now fault on write: drop its host mappings, in one batch.
            var drops = new List<MappingChange>();
            for (int i = 0; i < _vmas.Count; i++)
            {
                Vma v = _vmas[i];
                if (!v.Shared && (v.Prot & Mman.PROT_WRITE) != 0 && _pmas.Overlaps(v.Start, v.End))
                {
                    drops.Add(MappingChange.Remove(v.Start, v.Length));
                }
            }

            _addressSpace?.Apply(CollectionsMarshal.AsSpan(drops));
            return child;
        }
    }

    // Backs every page of v with memory (best effort: stops if the MemoryFile is full).
    // Preconditions: _mu is held.
    private void AllocateAllLocked(in Vma v)
    {
        AssertLocked();
        ulong page = v.Start;
        while (page < v.End)
        {
            int p = EnsurePmaLocked(v, page, out _);
            if (p < 0)
            {
                return;
            }

            page = _pmas[p].End;
        }
    }
}
