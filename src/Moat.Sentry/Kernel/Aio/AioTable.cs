using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel.Aio;

/// <summary>
/// The AIO contexts of one address space (Linux's mm->ioctx_table): a slot array whose index each ring
/// carries in its id word, so that a context is found by reading the ring through the process's memory, as
/// Linux's lookup_ioctx does. <see cref="_mu"/> is taken before a context's lock.
/// </summary>
internal sealed class AioTable : IAioContexts
{
    private readonly Lock _mu = new();
    private readonly AioAccounting _accounting;

    // Protected by _mu. Grows 4, 16, 64, ... slots, as Linux's table.
    private AioContext?[] _slots = [];

    public AioTable(AioAccounting accounting) => _accounting = accounting;

    /// <summary>Puts <paramref name="ctx"/> in the first free slot and writes that index into its ring.</summary>
    public void Add(AioContext ctx)
    {
        lock (_mu)
        {
            int i = Array.IndexOf(_slots, null);
            if (i < 0)
            {
                i = _slots.Length;
                Array.Resize(ref _slots, Math.Max(4, _slots.Length * 4));
            }

            _slots[i] = ctx;
            ctx.SetId((uint)i);
        }
    }

    /// <summary>Linux's lookup_ioctx: the live context whose ring <paramref name="ctxId"/> names, or null (EINVAL).</summary>
    public AioContext? Lookup(MemoryManager mm, ulong ctxId)
    {
        if (mm.CopyIn(ctxId, out uint id) < 0)
        {
            return null;
        }

        lock (_mu)
        {
            AioContext? ctx = id < (uint)_slots.Length ? _slots[id] : null;
            return ctx != null && ctx.UserId == ctxId && !ctx.Dead ? ctx : null;
        }
    }

    /// <summary>
    /// Linux's kill_ioctx: takes <paramref name="ctx"/> out of the table, cancels what waits and uncounts its
    /// requests. False when another thread killed it first. The caller unmaps the ring.
    /// </summary>
    public bool Kill(AioContext ctx)
    {
        lock (_mu)
        {
            int i = Array.IndexOf(_slots, ctx);
            if (i >= 0)
            {
                _slots[i] = null;
            }
        }

        if (!ctx.Kill())
        {
            return false;
        }

        _accounting.Sub(ctx.MaxReqs);
        return true;
    }

    /// <inheritdoc/>
    public void DestroyAll()
    {
        var all = new List<AioContext>();
        lock (_mu)
        {
            foreach (AioContext? c in _slots)
            {
                if (c != null)
                {
                    all.Add(c);
                }
            }
        }

        // exit_aio: the mappings go with the address space, so nothing is unmapped here.
        foreach (AioContext c in all)
        {
            Kill(c);
        }
    }
}
