using System;
using System.Buffers;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Kernel.Aio;
using Moat.Sentry.Mm;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// Linux native AIO: io_setup(2), io_destroy(2), io_submit(2), io_cancel(2), io_getevents(2),
/// io_pgetevents(2). Reads, writes and syncs run inside io_submit, as Linux runs buffered I/O (a blocking pipe
/// or socket blocks io_submit there too, and a non-blocking one completes with -EAGAIN); IOCB_CMD_POLL waits
/// for its file without blocking and completes when the file is ready.
/// </summary>
internal static class SysAio
{
    private const int IocbKeyOffset = 8;
    private const int EventSize = 32;
    private const int UioMaxIov = 1024;

    /// <summary>Implements io_setup(2).</summary>
    public static long IoSetup(Task t, in SyscallArgs a)
    {
        uint nrEvents = (uint)a.Int(0);
        ulong ctxp = a.Pointer(1);
        if (t.MM.CopyIn(ctxp, out ulong old) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (old != 0 || nrEvents == 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = AioSetup.Create(t.Kernel.Aio, t.MM, nrEvents, out AioContext? ctx);
        if (r < 0)
        {
            return r;
        }

        if (t.MM.CopyOut(ctxp, ctx!.UserId) < 0)
        {
            AioSetup.Destroy(t.MM, ctx);
            return -Errno.EFAULT.Value;
        }

        return 0;
    }

    /// <summary>Implements io_destroy(2): the ring is unmapped and requests still waiting complete as cancelled.</summary>
    public static long IoDestroy(Task t, in SyscallArgs a)
    {
        AioContext? ctx = AioSetup.Lookup(t.MM, a.Pointer(0));
        return ctx == null ? -Errno.EINVAL.Value : AioSetup.Destroy(t.MM, ctx);
    }

    /// <summary>Implements io_submit(2): the number of iocbs taken, or the first one's error.</summary>
    public static long IoSubmit(Task t, in SyscallArgs a)
    {
        long nr = a.Long(1);
        ulong iocbpp = a.Pointer(2);
        if (nr < 0)
        {
            return -Errno.EINVAL.Value;
        }

        AioContext? ctx = AioSetup.Lookup(t.MM, a.Pointer(0));
        if (ctx == null)
        {
            return -Errno.EINVAL.Value;
        }

        nr = Math.Min(nr, ctx.NrEvents);
        long i = 0;
        long ret = 0;
        for (; i < nr; i++)
        {
            if (t.MM.CopyIn(iocbpp + ((ulong)i * 8), out ulong user) < 0)
            {
                ret = -Errno.EFAULT.Value;
                break;
            }

            ret = SubmitOne(t, ctx, user);
            if (ret < 0)
            {
                break;
            }
        }

        return i > 0 ? i : ret;
    }

    /// <summary>Implements io_cancel(2): only a waiting IOCB_CMD_POLL can be cancelled; its event (res 0) goes to the ring.</summary>
    public static long IoCancel(Task t, in SyscallArgs a)
    {
        ulong iocb = a.Pointer(1);
        if (t.MM.CopyIn(iocb + IocbKeyOffset, out uint key) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (key != AioConst.KIOCB_KEY)
        {
            return -Errno.EINVAL.Value;
        }

        AioContext? ctx = AioSetup.Lookup(t.MM, a.Pointer(0));
        if (ctx == null)
        {
            return -Errno.EINVAL.Value;
        }

        // The result argument is unused: the event always goes through the ring.
        return ctx.Cancel(iocb) ? -Errno.EINPROGRESS.Value : -Errno.EINVAL.Value;
    }

    /// <summary>Implements io_getevents(2).</summary>
    public static long IoGetevents(Task t, in SyscallArgs a)
    {
        ulong timeout = a.Pointer(4);
        Timespec ts = default;
        if (timeout != 0 && t.MM.CopyIn(timeout, out ts) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = GetEvents(t, a.Pointer(0), a.Long(1), a.Long(2), a.Pointer(3), timeout != 0, ts, out bool interrupted);
        return r == 0 && interrupted ? -Errno.EINTR.Value : r;
    }

    /// <summary>Implements io_pgetevents(2): io_getevents with a signal mask for the wait.</summary>
    public static long IoPgetevents(Task t, in SyscallArgs a)
    {
        ulong timeout = a.Pointer(4);
        ulong usig = a.Pointer(5);
        Timespec ts = default;
        if (timeout != 0 && t.MM.CopyIn(timeout, out ts) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        Span<ulong> sig = stackalloc ulong[2]; // struct __aio_sigset { sigmask pointer, sigsetsize }
        if (usig != 0 && t.MM.CopyIn(usig, MemoryMarshal.AsBytes(sig)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (usig != 0 && sig[0] != 0)
        {
            if (sig[1] != 8)
            {
                return -Errno.EINVAL.Value;
            }

            if (t.MM.CopyIn(sig[0], out ulong mask) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            t.SavedMaskForSigsuspend = t.SignalMask;
            t.SignalMask = mask;
        }

        long r = GetEvents(t, a.Pointer(0), a.Long(1), a.Long(2), a.Pointer(3), timeout != 0, ts, out bool interrupted);
        return r == 0 && interrupted ? -Errno.ERESTARTNOHAND.Value : r;
    }

    // io_submit_one: the iocb's own checks, a ring slot, then the command. A refused submission gives its slot back.
    private static long SubmitOne(Task t, AioContext ctx, ulong user)
    {
        if (t.MM.CopyIn(user, out Iocb cb) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (cb.aio_reserved2 != 0 || (long)cb.aio_nbytes < 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (!ctx.TryReserve())
        {
            return -Errno.EAGAIN.Value;
        }

        long r = Submit(t, ctx, user, cb);
        if (r < 0)
        {
            ctx.Unreserve();
        }

        return r;
    }

    // __io_submit_one: the file, the eventfd, the key, then the command. Returns 0 once the request is
    // completed or waits; the references on the file and eventfd go to the request then.
    private static long Submit(Task t, AioContext ctx, ulong user, in Iocb cb)
    {
        FileDescription? f = t.Fds.Get((int)cb.aio_fildes);
        if (f != null && (f.StatusFlags & OpenFlags.O_PATH) != 0)
        {
            f.DecRef();
            f = null;
        }

        if (f == null)
        {
            return -Errno.EBADF.Value;
        }

        EventFd? efd = null;
        bool handedOff = false;
        try
        {
            if ((cb.aio_flags & AioConst.IOCB_FLAG_RESFD) != 0)
            {
                FileDescription? e = t.Fds.Get((int)cb.aio_resfd);
                if (e == null)
                {
                    return -Errno.EBADF.Value;
                }

                efd = e as EventFd;
                if (efd == null)
                {
                    e.DecRef();
                    return -Errno.EINVAL.Value;
                }
            }

            if (t.MM.CopyOut(user + IocbKeyOffset, AioConst.KIOCB_KEY) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            switch (cb.aio_lio_opcode)
            {
                case AioConst.IOCB_CMD_PREAD:
                case AioConst.IOCB_CMD_PREADV:
                case AioConst.IOCB_CMD_PWRITE:
                case AioConst.IOCB_CMD_PWRITEV:
                    return ReadWrite(t, ctx, f, efd, user, cb);
                case AioConst.IOCB_CMD_FSYNC:
                case AioConst.IOCB_CMD_FDSYNC:
                    return Fsync(ctx, f, efd, user, cb);
                case AioConst.IOCB_CMD_POLL:
                {
                    if ((ushort)cb.aio_buf != cb.aio_buf || cb.aio_offset != 0 || cb.aio_nbytes != 0 || cb.aio_rw_flags != 0)
                    {
                        return -Errno.EINVAL.Value;
                    }

                    handedOff = true;
                    new AioPollRequest(ctx, f, efd, user, cb.aio_data, (int)cb.aio_buf).Start();
                    return 0;
                }

                default:
                    // IOCB_CMD_NOOP included: Linux has no handler for it.
                    return -Errno.EINVAL.Value;
            }
        }
        finally
        {
            if (!handedOff)
            {
                f.DecRef();
                efd?.DecRef();
            }
        }
    }

    // aio_fsync: nothing the sandbox writes needs flushing; the checks are Linux's (files without fsync: EINVAL).
    private static long Fsync(AioContext ctx, FileDescription f, EventFd? efd, ulong user, in Iocb cb)
    {
        if (cb.aio_buf != 0 || cb.aio_offset != 0 || cb.aio_nbytes != 0 || cb.aio_rw_flags != 0)
        {
            return -Errno.EINVAL.Value;
        }

        long r = f.Stat(out Stat st);
        if (r < 0)
        {
            return r;
        }

        if ((st.st_mode & Stat.S_IFMT) is not (Stat.S_IFREG or Stat.S_IFDIR or Stat.S_IFLNK or Stat.S_IFBLK))
        {
            return -Errno.EINVAL.Value;
        }

        ctx.Complete(user, cb.aio_data, 0, efd);
        return 0;
    }

    // aio_read/aio_write: aio_prep_rw (priority, RWF flags), the mode, the buffers and the range are checked
    // at submission; the transfer's own result (an error included) is the event.
    private static long ReadWrite(Task t, AioContext ctx, FileDescription f, EventFd? efd, ulong user, in Iocb cb)
    {
        bool write = cb.aio_lio_opcode is AioConst.IOCB_CMD_PWRITE or AioConst.IOCB_CMD_PWRITEV;
        bool vectored = cb.aio_lio_opcode is AioConst.IOCB_CMD_PREADV or AioConst.IOCB_CMD_PWRITEV;
        if ((cb.aio_flags & AioConst.IOCB_FLAG_IOPRIO) != 0)
        {
            long pr = SysIoprio.CheckCap(t, cb.aio_reqprio);
            if (pr < 0)
            {
                return pr;
            }
        }

        if (cb.aio_rw_flags != 0)
        {
            long fr = RwFlags.Check(cb.aio_rw_flags, write);
            if (fr < 0)
            {
                return fr;
            }
        }

        if (write ? !SpliceIo.Writable(f) : !SpliceIo.Readable(f))
        {
            return -Errno.EBADF.Value;
        }

        // A directory has no read_iter or write_iter.
        if (f.Stat(out Stat st) >= 0 && (st.st_mode & Stat.S_IFMT) == Stat.S_IFDIR)
        {
            return -Errno.EINVAL.Value;
        }

        if (!vectored)
        {
            ulong len = Math.Min(cb.aio_nbytes, SysReadWrite.MaxRwCount);
            if (!AccessOk(cb.aio_buf, len))
            {
                return -Errno.EFAULT.Value;
            }

            long vr = VerifyArea(cb.aio_offset, len);
            if (vr < 0)
            {
                return vr;
            }

            long res = SysReadWrite.Transfer(t, f, IoSequence.App(cb.aio_buf, len), f.Positional ? cb.aio_offset : -1, cb.aio_rw_flags, write, notify: false);
            ctx.Complete(user, cb.aio_data, Restarted(res), efd);
            return 0;
        }

        if (cb.aio_nbytes > UioMaxIov)
        {
            return -Errno.EINVAL.Value;
        }

        int count = (int)cb.aio_nbytes;
        ulong[] iov = ArrayPool<ulong>.Shared.Rent(Math.Max(count * 2, 2));
        try
        {
            if (count > 0 && t.MM.CopyIn(cb.aio_buf, MemoryMarshal.AsBytes(iov.AsSpan(0, count * 2))) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            // __import_iovec: each segment must be in the user range; the total is capped at MAX_RW_COUNT.
            ulong total = 0;
            for (int i = 0; i < count; i++)
            {
                ulong len = iov[(i * 2) + 1];
                if (!AccessOk(iov[i * 2], len))
                {
                    return -Errno.EFAULT.Value;
                }

                len = Math.Min(len, SysReadWrite.MaxRwCount - total);
                iov[(i * 2) + 1] = len;
                total += len;
            }

            long vr = VerifyArea(cb.aio_offset, total);
            if (vr < 0)
            {
                return vr;
            }

            long res = total == 0 ? 0 : SysReadWrite.Transfer(t, f, IoSequence.Vector(iov, count), f.Positional ? cb.aio_offset : -1, cb.aio_rw_flags, write, notify: false);
            ctx.Complete(user, cb.aio_data, Restarted(res), efd);
            return 0;
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(iov);
        }
    }

    // access_ok: the range lies below the top of the user address space.
    private static bool AccessOk(ulong addr, ulong length) =>
        length <= MemoryManager.TaskSize + Mman.PageSize && addr <= MemoryManager.TaskSize + Mman.PageSize - length;

    // rw_verify_area with the request's position: negative or overflowing ranges are EINVAL.
    private static long VerifyArea(long pos, ulong count) =>
        pos < 0 || pos + (long)count < 0 ? -Errno.EINVAL.Value : 0;

    // aio_rw_done: an interrupted transfer completes with -EINTR; nothing restarts.
    private static long Restarted(long res) =>
        res == -Errno.ERESTARTSYS.Value || res == -Errno.ERESTARTNOINTR.Value || res == -Errno.ERESTARTNOHAND.Value || res == -Errno.ERESTART_RESTARTBLOCK.Value
            ? -Errno.EINTR.Value
            : res;

    // do_io_getevents and read_events: EINVAL for an unknown context or min_nr outside [0, nr]; then events are
    // taken until min_nr are had, the timeout passes (a zero or negative one: no wait), a signal comes, or the
    // context dies. interrupted says a signal ended the wait.
    private static long GetEvents(Task t, ulong ctxId, long minNr, long nr, ulong events, bool hasTimeout, in Timespec ts, out bool interrupted)
    {
        interrupted = false;
        AioContext? ctx = AioSetup.Lookup(t.MM, ctxId);
        if (ctx == null || minNr > nr || minNr < 0)
        {
            return -Errno.EINVAL.Value;
        }

        long waitNs = long.MaxValue;
        if (hasTimeout)
        {
            waitNs = ts.tv_sec > long.MaxValue / 1_000_000_000 ? long.MaxValue
                : ts.tv_sec < long.MinValue / 1_000_000_000 ? long.MinValue
                : (ts.tv_sec * 1_000_000_000) + ts.tv_nsec;
        }

        long deadline = !hasTimeout || waitNs > (long)int.MaxValue * 1_000_000 ? long.MaxValue : Environment.TickCount64 + ((waitNs + 999_999) / 1_000_000);
        long got = 0;
        while (true)
        {
            long ret = ctx.ReadEvents(t.MM, events + ((ulong)got * EventSize), nr - got);
            if (ret > 0)
            {
                got += ret;
            }

            if (ctx.Dead)
            {
                ret = -Errno.EINVAL.Value;
            }

            if (ret < 0 || got >= minNr)
            {
                return got > 0 ? got : ret;
            }

            if (hasTimeout && waitNs <= 0)
            {
                return got;
            }

            long left = deadline == long.MaxValue ? -1 : deadline - Environment.TickCount64;
            if (left == 0 || left < -1)
            {
                // The timer fired: the condition is looked at once more.
                ret = ctx.ReadEvents(t.MM, events + ((ulong)got * EventSize), nr - got);
                return ret > 0 ? got + ret : got > 0 ? got : ret;
            }

            long r = t.Block(ctx.Queue, () => ctx.HasEvents || ctx.Dead, (int)Math.Min(left, int.MaxValue));
            if (r == -Errno.ERESTARTSYS.Value)
            {
                interrupted = true;
                return got;
            }
        }
    }
}
