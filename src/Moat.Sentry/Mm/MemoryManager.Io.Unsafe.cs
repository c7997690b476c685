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
    /// if the range is not yet backed.
    /// </summary>
    /// <returns>The number of contiguous bytes at <paramref name="ptr"/> (at most length), or -EFAULT.</returns>
    public long Translate(ulong addr, ulong length, AccessType access, out byte* ptr)
    {
        ptr = null;
        if (addr + length < addr)
        {
            return -Errno.EFAULT.Value;
        }

        lock (_mu)
        {
            int i = _vmas.IndexOf(addr);
            if (i < 0)
            {
                return -Errno.EFAULT.Value;
            }

            Vma v = _vmas[i];
            if (access == AccessType.Read && v.Prot == Mman.PROT_NONE ||
                access == AccessType.Write && (v.Prot & Mman.PROT_WRITE) == 0)
            {
                return -Errno.EFAULT.Value;
            }

            int p = EnsurePmaLocked(v, PageDown(addr), out _);
            if (p < 0)
            {
                return -Errno.EFAULT.Value;
            }

            Pma pma = _pmas[p];
            if (pma.Cow && access != AccessType.Read)
            {
                // The Sentry writes on the app's behalf: copy first, and drop the stale host mapping.
                if (BreakCowLocked(v, PageDown(addr), out ulong cs, out ulong ce, out _) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                UnmapHostLocked(cs, ce - cs);
                pma = _pmas[_pmas.IndexOf(PageDown(addr))];
            }

            ulong end = Math.Min(Math.Min(addr + length, v.End), pma.End);
            ptr = MemoryFile.PointerAt(pma.FileOffset + (long)(addr - pma.Start));
            return (long)(end - addr);
        }
    }

    /// <summary>Copies app memory into <paramref name="dst"/>. Returns 0, or -EFAULT if any byte is unreadable.</summary>
    public long CopyIn(ulong addr, Span<byte> dst)
    {
        int done = 0;
        while (done < dst.Length)
        {
            long n = Translate(addr + (ulong)done, (ulong)(dst.Length - done), AccessType.Read, out byte* p);
            if (n < 0)
            {
                return n;
            }

            new ReadOnlySpan<byte>(p, (int)n).CopyTo(dst[done..]);
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
            long n = Translate(addr + (ulong)done, (ulong)(src.Length - done), access, out byte* p);
            if (n < 0)
            {
                return n;
            }

            src[done..(done + (int)n)].CopyTo(new Span<byte>(p, (int)n));
            done += (int)n;
        }

        return 0;
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
            long n = Translate(cur, want, AccessType.Read, out byte* p);
            if (n < 0)
            {
                return n;
            }

            var chunk = new ReadOnlySpan<byte>(p, (int)n);
            int nul = chunk.IndexOf((byte)0);
            if (nul >= 0)
            {
                chunk[..nul].CopyTo(buf[done..]);
                value = LinuxString.Encoding.GetString(buf[..(done + nul)]);
                return 0;
            }

            chunk.CopyTo(buf[done..]);
            done += (int)n;
        }

        return -Errno.ENAMETOOLONG.Value;
    }
}
