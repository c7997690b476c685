using System;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel.Aio;

/// <summary>io_setup's and io_destroy's work on an address space (Linux's ioctx_alloc, aio_setup_ring, kill_ioctx).</summary>
internal static class AioSetup
{
    private const uint EventSize = 32;

    /// <summary>
    /// Creates a context for <paramref name="nrEvents"/> requests: sizes the ring as Linux does (at least four
    /// per CPU, doubled, plus two, rounded up to whole pages), maps it shared into <paramref name="mm"/>, counts
    /// it in aio-nr and enters it in the address space's table. Returns the context or -errno (EINVAL when the
    /// ring would be too large, EAGAIN above aio-max-nr, ENOMEM).
    /// </summary>
    public static long Create(AioAccounting accounting, MemoryManager mm, uint nrEvents, out AioContext? ctx)
    {
        ctx = null;
        uint maxReqs = nrEvents;
        uint n = Math.Max(nrEvents, (uint)Environment.ProcessorCount * 4);
        n = unchecked(n * 2);
        if (n > 0x10000000u / EventSize)
        {
            return -Errno.EINVAL.Value;
        }

        if (n == 0 || maxReqs > accounting.MaxNr)
        {
            return -Errno.EAGAIN.Value;
        }

        ulong size = AioConst.AioRingHeaderSize + ((ulong)(n + 2) * EventSize);
        ulong length = MemoryManager.PageUp(size);
        uint ringEvents = (uint)((length - AioConst.AioRingHeaderSize) / EventSize);
        long pages = mm.MemoryFile.Allocate(length);
        if (pages < 0)
        {
            return -Errno.ENOMEM.Value;
        }

        long addr = mm.MmapAnonymous(0, length, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, "/[aio] (deleted)");
        if (addr < 0)
        {
            mm.MemoryFile.Free(pages, length);
            return -Errno.ENOMEM.Value;
        }

        long[] offsets = new long[length / Mman.PageSize];
        for (int i = 0; i < offsets.Length; i++)
        {
            offsets[i] = pages + (i * (long)Mman.PageSize);
        }

        mm.InstallSharedPages((ulong)addr, offsets);
        var c = new AioContext(mm.MemoryFile, pages, length, (ulong)addr, ringEvents, maxReqs);
        if (!accounting.TryAdd(maxReqs))
        {
            c.Kill();
            mm.Munmap((ulong)addr, length);
            return -Errno.EAGAIN.Value;
        }

        var table = (AioTable)mm.GetOrAddAio(new AioTable(accounting));
        table.Add(c);
        ctx = c;
        return 0;
    }

    /// <summary>Implements io_destroy's kill_ioctx: EINVAL when another thread killed it first; unmaps the ring.</summary>
    public static long Destroy(MemoryManager mm, AioContext ctx)
    {
        if (mm.Aio is not AioTable table || !table.Kill(ctx))
        {
            return -Errno.EINVAL.Value;
        }

        mm.Munmap(ctx.UserId, ctx.RingLength);
        return 0;
    }

    /// <summary>The live context <paramref name="ctxId"/> names in <paramref name="mm"/>, or null.</summary>
    public static AioContext? Lookup(MemoryManager mm, ulong ctxId) => (mm.Aio as AioTable)?.Lookup(mm, ctxId);
}
