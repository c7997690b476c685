using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// /proc/PID/mem: the process's memory at file offsets equal to addresses, as Linux's mem_rw serves it. The
/// memory is the one the process had at open (an exec later leaves this file on the old one, which reads as
/// empty once nobody runs in it). Reads and writes ignore the pages' protection as FOLL_FORCE does: a write to
/// a private read-only page (code) copies it first, and only memory that could never be readable or writable
/// (a shared mapping of a file open read-only) refuses. A transfer stops at the first page that is not there:
/// EIO if that was the first, else the count so far.
/// </summary>
internal sealed class ProcMem : FileDescription
{
    private readonly MemoryManager _mm;
    private readonly Kernel.Kernel _kernel;
    private readonly Stat _stat;
    private readonly System.Threading.Lock _mu = new();

    // The file position: an address, so unsigned (FMODE_UNSIGNED_OFFSET); kept as the bits of a long.
    private long _offset;

    public ProcMem(Kernel.Kernel kernel, MemoryManager mm, string path, Stat stat, int flags)
    {
        _kernel = kernel;
        _mm = mm;
        _stat = stat;
        Path = path;
        StatusFlags = (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_PATH)) | OpenFlags.O_LARGEFILE;
    }

    public override bool Positional => true;

    public override long Read(Task t, in IoSequence dst, long offset) => Transfer(t, dst, offset, write: false);

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) => Transfer(t, src, offset, write: true);

    public override long Seek(long offset, int whence)
    {
        lock (_mu)
        {
            // mem_lseek: any position, negative as a signed number included (high addresses); no SEEK_END.
            switch (whence)
            {
                case 0:
                    _offset = offset;
                    return offset;
                case 1:
                    _offset = unchecked(_offset + offset);
                    return _offset;
                default:
                    return -Errno.EINVAL.Value;
            }
        }
    }

    public override long Stat(out Stat st)
    {
        st = _stat;
        return 0;
    }

    private long Transfer(Task t, in IoSequence io, long offset, bool write)
    {
        long at;
        lock (_mu)
        {
            at = offset < 0 ? _offset : offset;
        }

        // The memory's last user has gone (the process exited or exec'd): nothing to move, as mmget_not_zero fails.
        if (_mm.Released || _mm.Users == 0 || io.Total == 0)
        {
            return 0;
        }

        Span<byte> bounce = stackalloc byte[(int)Mman.PageSize];
        ulong addr = (ulong)at;
        ulong done = 0;
        while (done < io.Total)
        {
            ulong n = Math.Min(io.Total - done, Mman.PageSize - ((addr + done) & (Mman.PageSize - 1)));
            Span<byte> chunk = bounce[..(int)n];
            if (write)
            {
                if (io.CopyIn(t.MM, done, chunk) < 0)
                {
                    return Fault(offset, done);
                }

                if (_mm.CopyOut(addr + done, chunk, AccessType.ForceWrite) < 0)
                {
                    break;
                }
            }
            else
            {
                if (_mm.CopyIn(addr + done, chunk, AccessType.ForceRead) < 0)
                {
                    break;
                }

                if (io.CopyOut(t.MM, done, chunk) < 0)
                {
                    return Fault(offset, done);
                }
            }

            done += n;
        }

        if (write && _mm.HasStaleHostMappings)
        {
            // A copy-on-write page copied from another process's thread: its tasks drop the old host mapping.
            _kernel.InterruptStaleMemoryUsers();
        }

        Advance(offset, done);
        return done == 0 ? -Errno.EIO.Value : (long)done;
    }

    // The caller's buffer faulted: EFAULT whatever was moved before, the position past it (as mem_rw leaves them).
    private long Fault(long offset, ulong done)
    {
        Advance(offset, done);
        return -Errno.EFAULT.Value;
    }

    private void Advance(long offset, ulong moved)
    {
        if (offset < 0 && moved > 0)
        {
            lock (_mu)
            {
                _offset = unchecked(_offset + (long)moved);
            }
        }
    }
}
