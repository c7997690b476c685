using System;
using Moat.Abi;

namespace Moat.Sentry.Mm;

/// <summary>
/// Copies between the Sentry and application memory through the Sentry's mapping of the MemoryFile:
/// translate app address → VMA → PMA → file offset. Never through the stub.
/// </summary>
internal sealed unsafe partial class MemoryManager
{
    /// <summary>
    /// Translates the start of [addr, addr+length) to a pointer into the MemoryFile mapping, allocating memory
    /// if the range is not yet backed (and giving a copy-on-write page a copy of its own if
    /// <paramref name="access"/> writes). On success the pages behind the pointer are pinned: they stay this
    /// address space's until <paramref name="pin"/> is disposed, whatever a sibling thread unmaps meanwhile.
    /// Dispose it as soon as the copy ends, and before the next Translate; never sleep while holding it.
    /// </summary>
    /// <returns>The number of contiguous bytes at <paramref name="ptr"/> (at most length), or -EFAULT.</returns>
    public long Translate(ulong addr, ulong length, AccessType access, out byte* ptr, out Pinned pin)
    {
        while (true)
        {
            long n = TranslateOnce(addr, length, access, out ptr, out pin, out IUserfaultHandler? userfault);
            if (userfault != null)
            {
                // A missing page of a range registered with a userfaultfd: the copy waits for it as Linux's
                // copy_to_user does in handle_userfault, then looks again.
                long w = userfault.WaitForPage(addr, access is AccessType.Write or AccessType.Force or AccessType.ForceWrite, user: false);
                if (w < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                continue;
            }

            if (n == -Errno.EFAULT.Value && FaultInFilePageForCopy(addr))
            {
                // A page a shared file gained after it was mapped, now in the mapping.
                n = TranslateOnce(addr, length, access, out ptr, out pin, out _);
            }

            return n;
        }
    }

    private long TranslateOnce(ulong addr, ulong length, AccessType access, out byte* ptr, out Pinned pin, out IUserfaultHandler? userfault)
    {
        ptr = null;
        pin = default;
        userfault = null;
        if (addr + length < addr)
        {
            return -Errno.EFAULT.Value;
        }

        AssertNoPinHeld();
        lock (_mu)
        {
            long n = TranslateLocked(addr, length, access, out ptr, out bool mustBreakCow, out userfault);
            if (userfault != null)
            {
                return 0;
            }
            if (n >= 0 && mustBreakCow)
            {
                // Breaking copy-on-write frees our reference to the shared page, which a sibling's copy may
                // be reading: wait for copies in flight first.
                DrainPinsLocked();
                _exclusiveDepth++;
                try
                {
                    n = BreakCowForSentryLocked(addr);
                }
                finally
                {
                    _exclusiveDepth--;
                }

                n = n < 0 ? n : TranslateLocked(addr, length, access, out ptr, out mustBreakCow, out _);
            }

            if (n < 0 || mustBreakCow)
            {
                ptr = null;
                return n < 0 ? n : -Errno.EFAULT.Value;
            }

            pin = PinLocked();
            return n;
        }
    }

    // Finds the bytes behind addr, or reports that the page is copy-on-write and must be copied first.
    // Preconditions: _mu is held.
    private long TranslateLocked(ulong addr, ulong length, AccessType access, out byte* ptr, out bool mustBreakCow, out IUserfaultHandler? userfault)
    {
        AssertLocked();
        ptr = null;
        mustBreakCow = false;
        userfault = null;
        int i = _vmas.IndexOf(addr);
        if (i < 0)
        {
            return -Errno.EFAULT.Value;
        }

        Vma v = _vmas[i];
        bool refused = access switch
        {
            AccessType.Read => v.Prot == Mman.PROT_NONE,
            AccessType.Write => (v.Prot & Mman.PROT_WRITE) == 0,
            AccessType.Force => false,
            AccessType.ForceWrite => !v.MayWrite,
            _ => ((v.Prot | v.MaxProt) & Mman.PROT_READ) == 0,
        };
        if (refused || _disposed)
        {
            return -Errno.EFAULT.Value;
        }

        if (v.Userfault != null && _pmas.IndexOf(PageDown(addr)) < 0)
        {
            userfault = v.Userfault;
            return 0;
        }

        int p = EnsurePmaLocked(v, PageDown(addr), out long allocErr);
        if (p < 0)
        {
            return allocErr == -Errno.ENOMEM.Value ? OutOfMemoryForCopyLocked() : -Errno.EFAULT.Value;
        }

        Pma pma = _pmas[p];
        if (pma.Cow && access is AccessType.Write or AccessType.Force or AccessType.ForceWrite)
        {
            mustBreakCow = true;
            return 0;
        }

        ulong end = Math.Min(Math.Min(addr + length, v.End), pma.End);
        ptr = MemoryFile.PointerAt(pma.FileOffset + (long)(addr - pma.Start));
        return (long)(end - addr);
    }

    // The Sentry writes on the app's behalf into copy-on-write memory (or into another process's, for
    // process_vm_writev): copy the block first, and drop the stale host mapping. Returns 0 or -EFAULT.
    // Preconditions: _mu is held exclusively (no copy in flight).
    private long BreakCowForSentryLocked(ulong addr)
    {
        AssertExclusive();
        int i = _vmas.IndexOf(addr);
        if (i < 0)
        {
            return -Errno.EFAULT.Value;
        }

        int p = _pmas.IndexOf(PageDown(addr));
        if (p < 0 || !_pmas[p].Cow)
        {
            return 0;
        }

        return BreakCowAndUnmapHostLocked(_vmas[i], PageDown(addr));
    }

    // Gives memory to [addr, addr+length) as an access would, copying nothing: the bytes made ready from addr on
    // (up to a PMA's end), or -errno.
    private long Touch(ulong addr, ulong length, AccessType access)
    {
        long n = Translate(addr, length, access, out _, out Pinned pin);
        pin.Dispose();
        return n;
    }

    /// <summary>Copies app memory into <paramref name="dst"/>. Returns 0, or -EFAULT if any byte is unreadable.</summary>
    public long CopyIn(ulong addr, Span<byte> dst, AccessType access = AccessType.Read)
    {
        int done = 0;
        while (done < dst.Length)
        {
            long n = Translate(addr + (ulong)done, (ulong)(dst.Length - done), access, out byte* p, out Pinned pin);
            if (n < 0)
            {
                return n;
            }

            using (pin)
            {
                new ReadOnlySpan<byte>(p, (int)n).CopyTo(dst[done..]);
            }

            done += (int)n;
        }

        return 0;
    }

    /// <summary>Copies <paramref name="src"/> to app memory. Returns 0, or -EFAULT if any byte is unwritable.</summary>
    public long CopyOut(ulong addr, ReadOnlySpan<byte> src, AccessType access = AccessType.Write)
    {
        int done = 0;
        while (done < src.Length)
        {
            long n = Translate(addr + (ulong)done, (ulong)(src.Length - done), access, out byte* p, out Pinned pin);
            if (n < 0)
            {
                return n;
            }

            using (pin)
            {
                src[done..(done + (int)n)].CopyTo(new Span<byte>(p, (int)n));
            }

            done += (int)n;
        }

        return 0;
    }

    /// <summary>
    /// Copies as much of <paramref name="src"/> to app memory as is writable from <paramref name="addr"/> on.
    /// Returns the bytes copied, or -EFAULT if not even the first one was (Linux's copy_to_iter: a fault after
    /// some bytes ends the copy with the count so far).
    /// </summary>
    public long CopyOutPartial(ulong addr, ReadOnlySpan<byte> src)
    {
        var reader = new SpanBlockReader(src);
        return CopyOutFrom(addr, (ulong)src.Length, ref reader);
    }

    /// <summary>Copies app memory into <paramref name="dst"/> up to the first unreadable byte, like <see cref="CopyOutPartial"/>.</summary>
    public long CopyInPartial(ulong addr, Span<byte> dst)
    {
        var writer = new SpanBlockWriter(dst);
        return CopyInTo(addr, (ulong)dst.Length, ref writer);
    }

    /// <summary>
    /// Lets <paramref name="reader"/> fill app memory [addr, addr+length) one contiguous MemoryFile block at a
    /// time. Each block is pinned (<see cref="Translate"/>) for exactly as long as the reader writes into it, so
    /// a sibling thread's munmap, mremap or copy-on-write break cannot free or reuse its pages mid-copy: they
    /// wait for the pin (MemoryManager.Active.cs). Stops at the first block the reader leaves short.
    /// Returns the bytes filled, or -errno (-EFAULT, or the reader's) if none were.
    /// </summary>
    public long CopyOutFrom<TReader>(ulong addr, ulong length, ref TReader reader)
        where TReader : IBlockReader, allows ref struct
    {
        ulong done = 0;
        while (done < length)
        {
            long n = Translate(addr + done, length - done, AccessType.Write, out byte* p, out Pinned pin);
            if (n < 0)
            {
                return done > 0 ? (long)done : n;
            }

            int block = (int)Math.Min(n, int.MaxValue);
            long r;
            using (pin)
            {
                r = reader.ReadToBlock(new Span<byte>(p, block));
            }

            if (r < 0)
            {
                return done > 0 ? (long)done : r;
            }

            done += (ulong)r;
            if (r < block)
            {
                break;
            }
        }

        return (long)done;
    }

    /// <summary>
    /// Hands <paramref name="writer"/> app memory [addr, addr+length) one pinned block at a time, as
    /// <see cref="CopyOutFrom"/> does for reads. Returns the bytes taken, or -errno if none were.
    /// </summary>
    public long CopyInTo<TWriter>(ulong addr, ulong length, ref TWriter writer)
        where TWriter : IBlockWriter, allows ref struct
    {
        ulong done = 0;
        while (done < length)
        {
            long n = Translate(addr + done, length - done, AccessType.Read, out byte* p, out Pinned pin);
            if (n < 0)
            {
                return done > 0 ? (long)done : n;
            }

            int block = (int)Math.Min(n, int.MaxValue);
            long w;
            using (pin)
            {
                w = writer.WriteFromBlock(new ReadOnlySpan<byte>(p, block));
            }

            if (w < 0)
            {
                return done > 0 ? (long)done : w;
            }

            done += (ulong)w;
            if (w < block)
            {
                break;
            }
        }

        return (long)done;
    }

    /// <summary>
    /// How many bytes from <paramref name="addr"/> (up to <paramref name="length"/>) the app's memory can take,
    /// made writable (allocated, copy-on-write broken) on the way: for a read that cannot give bytes back once
    /// it has them (a host pipe). Returns the count, or -EFAULT if not even the first byte is writable.
    /// </summary>
    public long ProbeWritable(ulong addr, ulong length)
    {
        ulong ok = 0;
        while (ok < length)
        {
            long n = Translate(addr + ok, length - ok, AccessType.Write, out _, out Pinned pin);
            pin.Dispose();
            if (n < 0)
            {
                return ok > 0 ? (long)ok : n;
            }

            ok += (ulong)n;
        }

        return (long)ok;
    }

    /// <summary>Copies an unmanaged value in from app memory.</summary>
    public long CopyIn<T>(ulong addr, out T value)
        where T : unmanaged
    {
        T v = default;
        long r = CopyIn(addr, new Span<byte>(&v, sizeof(T)));
        value = v;
        return r;
    }

    /// <summary>Copies an unmanaged value out to app memory.</summary>
    public long CopyOut<T>(ulong addr, in T value)
        where T : unmanaged
    {
        fixed (T* p = &value)
        {
            return CopyOut(addr, new ReadOnlySpan<byte>(p, sizeof(T)));
        }
    }

    /// <summary>
    /// Reads a NUL-terminated string of at most <paramref name="maxLength"/> bytes (excluding the NUL).
    /// Returns 0 with the string, -EFAULT, or -ENAMETOOLONG.
    /// </summary>
    public long CopyInString(ulong addr, int maxLength, out string value)
    {
        value = string.Empty;
        Span<byte> buf = maxLength <= 4096 ? stackalloc byte[maxLength + 1] : new byte[maxLength + 1];
        int done = 0;
        while (done <= maxLength)
        {
            // Never read past the current page: the next one may be unmapped while the string ends here.
            ulong cur = addr + (ulong)done;
            ulong pageLeft = Mman.PageSize - (cur & (Mman.PageSize - 1));
            ulong want = Math.Min(pageLeft, (ulong)(maxLength + 1 - done));
            long n = Translate(cur, want, AccessType.Read, out byte* p, out Pinned pin);
            if (n < 0)
            {
                return n;
            }

            int nul;
            using (pin)
            {
                var chunk = new ReadOnlySpan<byte>(p, (int)n);
                nul = chunk.IndexOf((byte)0);
                (nul >= 0 ? chunk[..nul] : chunk).CopyTo(buf[done..]);
            }

            if (nul >= 0)
            {
                value = LinuxString.Encoding.GetString(buf[..(done + nul)]);
                return 0;
            }

            done += (int)n;
        }

        return -Errno.ENAMETOOLONG.Value;
    }
}
