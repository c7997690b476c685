using System;
using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>Page faults: allocating memory behind VMAs and mapping it into the platform address space.</summary>
internal sealed partial class MemoryManager
{
    /// <summary>
    /// Handles an application page fault at <paramref name="addr"/> that the host reported as a missing
    /// mapping. Returns 0 if the app may retry the access, or the si_code of the SIGSEGV it must get.
    /// </summary>
    public int HandleFault(ulong addr, bool hostSaysAccessError)
    {
        lock (_mu)
        {
            int i = _vmas.IndexOf(addr);
            if (i < 0)
            {
                return SigInfo.SEGV_MAPERR;
            }

            Vma v = _vmas[i];
            if (hostSaysAccessError || v.Prot == Mman.PROT_NONE)
            {
                // Host mappings always carry the VMA's protection, so a protection fault is the app's own.
                return SigInfo.SEGV_ACCERR;
            }

            int p = EnsurePmaLocked(v, PageDown(addr), out long err);
            if (p < 0)
            {
                return err == -Errno.ENOMEM.Value ? -Signal.SIGBUS : SigInfo.SEGV_MAPERR;
            }

            // Map the whole PMA as far as this VMA reaches: one trip for up to PrivateAllocUnit bytes.
            Pma pma = _pmas[p];
            ulong start = Math.Max(pma.Start, v.Start);
            ulong end = Math.Min(pma.End, v.End);
            long r = AddressSpace.MapFile(start, end - start, pma.FileOffset + (long)(start - pma.Start), v.Prot);
            return r < 0 ? -Signal.SIGBUS : 0;
        }
    }

    /// <summary>
    /// Returns the index of the PMA that backs <paramref name="page"/>, allocating one (up to
    /// <see cref="PrivateAllocUnit"/>, aligned, within the VMA and between neighbouring PMAs) if needed.
    /// </summary>
    /// <remarks>Preconditions: _mu is held; <paramref name="v"/> contains <paramref name="page"/>.</remarks>
    private int EnsurePmaLocked(in Vma v, ulong page, out long error)
    {
        error = 0;
        int i = _pmas.IndexOf(page);
        if (i >= 0)
        {
            return i;
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
        if (offset < 0)
        {
            error = offset;
            return -1;
        }

        _pmas.Insert(new Pma(lo, hi, offset));
        return _pmas.IndexOf(page);
    }
}
