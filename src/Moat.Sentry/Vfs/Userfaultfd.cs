using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs;

/// <summary>
/// userfaultfd(2): a file through which a program handles the missing pages of ranges it registered (missing
/// mode, anonymous memory). A task that touches such a page, or a Sentry copy on its behalf, waits in
/// <see cref="WaitForPage"/> with a UFFD_EVENT_PAGEFAULT message queued; read(2) hands the messages out; the
/// handler fills pages (UFFDIO_COPY, UFFDIO_ZEROPAGE) and wakes the waiters of a range (or UFFDIO_WAKE does).
/// The last close drops the registrations and wakes every waiter: their accesses then fault in zero pages.
/// No event but page faults is offered (no EVENT_FORK, REMAP, REMOVE or UNMAP), and no write-protect or
/// minor mode: UFFDIO_API refuses those features as a kernel without them does.
/// </summary>
internal sealed class Userfaultfd : FileDescription, IUserfaultHandler
{
    /// <summary>The features UFFDIO_API reports and accepts.</summary>
    public const ulong SupportedFeatures = Uffd.UFFD_FEATURE_SIGBUS | Uffd.UFFD_FEATURE_THREAD_ID | Uffd.UFFD_FEATURE_EXACT_ADDRESS;

    /// <summary>The ioctls UFFDIO_API reports (on the file).</summary>
    public const ulong ApiIoctls = 1UL << Uffd._UFFDIO_REGISTER | 1UL << Uffd._UFFDIO_UNREGISTER | 1UL << Uffd._UFFDIO_API;

    /// <summary>The ioctls UFFDIO_REGISTER reports for a registered range.</summary>
    public const ulong RangeIoctls = 1UL << Uffd._UFFDIO_WAKE | 1UL << Uffd._UFFDIO_COPY | 1UL << Uffd._UFFDIO_ZEROPAGE;

    private const int MsgSize = 32;

    // The address space the registrations, copies and wakes act on: the creator's (ctx->mm). Immutable.
    // An exited address space (no users left) is kept only as a reference: ioctls on it answer ESRCH or ENOMEM.
    private readonly MemoryManager _mm;
    private readonly int _flags;
    private readonly WaitQueue _readers = new();

    // A task held on a missing page. Woken is set (then the task woken) by a wake of its range or the release.
    private sealed class Fault(Task task, UffdMsg msg)
    {
        public Task Task { get; } = task;

        public UffdMsg Msg { get; } = msg;

        public volatile bool Woken;
    }

    // A leaf: tasks are woken and readers notified after it is released.
    private readonly Lock _mu = new();

    // Protected by _mu. Faults not read yet (oldest first), and faults read and still waiting.
    private readonly List<Fault> _pending = [];
    private readonly List<Fault> _read = [];
    private bool _apiDone;
    private ulong _features;

    // Set once at the last close; read without the lock by waiters.
    private volatile bool _released;

    public Userfaultfd(MemoryManager mm, int flags)
    {
        _mm = mm;
        _flags = flags;
        StatusFlags = OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK);
    }

    public override WaitQueue? ReadinessQueue => _readers;

    /// <summary>
    /// Linux's userfaultfd_poll: POLLERR before UFFDIO_API and on a blocking file (poll cannot promise that a
    /// read will not block: a fault may be woken before it is read); otherwise POLLIN while a fault is unread.
    /// </summary>
    public override int Readiness(int events)
    {
        lock (_mu)
        {
            if (!_apiDone || (StatusFlags & OpenFlags.O_NONBLOCK) == 0)
            {
                return PollEvents.POLLERR;
            }

            return _pending.Count > 0 ? events & PollEvents.POLLIN : 0;
        }
    }

    /// <summary>/proc/PID/fdinfo's lines (userfaultfd_show_fdinfo): faults unread, faults waiting, the API.</summary>
    public string FdInfo()
    {
        lock (_mu)
        {
            return $"pending:\t{_pending.Count}\ntotal:\t{_pending.Count + _read.Count}\nAPI:\t{Uffd.UFFD_API:x}:{_features:x}:{ApiIoctls | RangeIoctls:x}\n";
        }
    }

    /// <inheritdoc/>
    public long WaitForPage(ulong address, bool write, bool user)
    {
        Task? t = Task.Current;
        long refused = user ? -Signal.SIGBUS : -Errno.EFAULT.Value;
        if (!user && (_flags & Uffd.UFFD_USER_MODE_ONLY) != 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (t == null || t.Exit != null)
        {
            return refused; // an exiting task does not wait (PF_EXITING), nor does a Sentry thread
        }

        if (_released)
        {
            return 0; // the registrations are going: the access retries and finds none
        }

        Fault f;
        lock (_mu)
        {
            if ((_features & Uffd.UFFD_FEATURE_SIGBUS) != 0)
            {
                return refused;
            }

            var msg = new UffdMsg
            {
                @event = Uffd.UFFD_EVENT_PAGEFAULT,
                flags = write ? Uffd.UFFD_PAGEFAULT_FLAG_WRITE : 0,
                address = (_features & Uffd.UFFD_FEATURE_EXACT_ADDRESS) != 0 ? address : MemoryManager.PageDown(address),
                ptid = (_features & Uffd.UFFD_FEATURE_THREAD_ID) != 0 ? (uint)t.Pid.In(t.PidNs) : 0,
            };
            f = new Fault(t, msg);
            _pending.Add(f);
        }

        long r = 0;
        // Looked at once queued, so a fill racing with this fault either is seen here or wakes us.
        if (_mm.UserfaultMustWait(this, address) && !_released)
        {
            _readers.Notify();
            r = t.Block(null, () => f.Woken || _released);
        }

        lock (_mu)
        {
            // Not read yet: the message goes with the fault (an interrupted fault queues a new one at its retry).
            _pending.Remove(f);
            _read.Remove(f);
        }

        // A user fault retries the access (the signal is delivered first); a copy interrupted by a signal fails.
        return r < 0 && !user ? -Errno.EFAULT.Value : 0;
    }

    /// <summary>Implements read(2): as many whole messages as fit, waiting (unless O_NONBLOCK) only for the first.</summary>
    public override long Read(Task t, in IoSequence dst, long offset)
    {
        lock (_mu)
        {
            if (!_apiDone)
            {
                return -Errno.EINVAL.Value;
            }
        }

        if (dst.Total < MsgSize)
        {
            return -Errno.EINVAL.Value;
        }

        ulong done = 0;
        bool noWait = (StatusFlags & OpenFlags.O_NONBLOCK) != 0;
        while (dst.Total - done >= MsgSize)
        {
            UffdMsg msg = default;
            bool found = false;
            lock (_mu)
            {
                if (_pending.Count > 0)
                {
                    Fault f = _pending[0];
                    _pending.RemoveAt(0);
                    _read.Add(f);
                    msg = f.Msg;
                    found = true;
                }
            }

            if (!found)
            {
                if (done > 0)
                {
                    return (long)done;
                }

                if (noWait)
                {
                    return -Errno.EAGAIN.Value;
                }

                long r = t.Block(_readers, HasPending);
                if (r < 0)
                {
                    return r;
                }

                continue;
            }

            if (dst.CopyOut(t.MM, done, in msg) < 0)
            {
                return done > 0 ? (long)done : -Errno.EFAULT.Value;
            }

            done += MsgSize;
            noWait = true;
        }

        return (long)done;
    }

    private bool HasPending()
    {
        lock (_mu)
        {
            return _pending.Count > 0;
        }
    }

    public override long Ioctl(Task t, uint request, ulong arg)
    {
        bool apiDone;
        lock (_mu)
        {
            apiDone = _apiDone;
        }

        if (request != Uffd.UFFDIO_API && !apiDone)
        {
            return -Errno.EINVAL.Value;
        }

        return request switch
        {
            Uffd.UFFDIO_API => Api(t, arg),
            Uffd.UFFDIO_REGISTER => Register(t, arg),
            Uffd.UFFDIO_UNREGISTER => Unregister(t, arg),
            Uffd.UFFDIO_WAKE => WakeIoctl(t, arg),
            Uffd.UFFDIO_COPY => Copy(t, arg),
            Uffd.UFFDIO_ZEROPAGE => Zeropage(t, arg),
            _ => -Errno.EINVAL.Value,
        };
    }

    // UFFDIO_API: the API number and the features to enable; answers every feature and ioctl there is. A
    // feature this kernel lacks is EINVAL (the struct is zeroed), as is a second call.
    private long Api(Task t, ulong arg)
    {
        lock (_mu)
        {
            if (_apiDone)
            {
                return -Errno.EINVAL.Value;
            }
        }

        if (t.MM.CopyIn(arg, out UffdioApi api) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        ulong features = api.features;
        if (api.api != Uffd.UFFD_API || (features & ~SupportedFeatures) != 0)
        {
            UffdioApi zero = default;
            return t.MM.CopyOut(arg, in zero) < 0 ? -Errno.EFAULT.Value : -Errno.EINVAL.Value;
        }

        api.features = SupportedFeatures;
        api.ioctls = ApiIoctls;
        if (t.MM.CopyOut(arg, in api) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        lock (_mu)
        {
            if (_apiDone)
            {
                return -Errno.EINVAL.Value;
            }

            _apiDone = true;
            _features = features;
        }

        _readers.Notify(); // POLLERR is over
        return 0;
    }

    // Linux's validate_range: page-aligned, non-empty, above mmap_min_addr and below TASK_SIZE.
    private static long ValidateRange(ulong start, ulong len)
    {
        const ulong MmapMinAddr = 65536;
        if ((start & (Mman.PageSize - 1)) != 0 || (len & (Mman.PageSize - 1)) != 0 || len == 0 ||
            start < MmapMinAddr || start >= MemoryManager.TaskSize || len > MemoryManager.TaskSize - start)
        {
            return -Errno.EINVAL.Value;
        }

        return 0;
    }

    // Copies in the first length bytes of a T (the kernel leaves the fields it writes back unread).
    private static long CopyInPrefix<T>(Task t, ulong arg, int length, out T value)
        where T : unmanaged
    {
        value = default;
        return t.MM.CopyIn(arg, MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value, 1))[..length]);
    }

    private long Register(Task t, ulong arg)
    {
        if (CopyInPrefix(t, arg, 24, out UffdioRegister reg) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        // Write-protect and minor modes are not offered: EINVAL, as a kernel built without them answers.
        if (reg.mode != Uffd.UFFDIO_REGISTER_MODE_MISSING)
        {
            return -Errno.EINVAL.Value;
        }

        long r = ValidateRange(reg.range.start, reg.range.len);
        if (r < 0)
        {
            return r;
        }

        if (_mm.Users == 0)
        {
            return -Errno.ENOMEM.Value;
        }

        r = _mm.UserfaultRegister(this, reg.range.start, reg.range.start + reg.range.len);
        if (r < 0)
        {
            return r;
        }

        return t.MM.CopyOut(arg + 24, RangeIoctls) < 0 ? -Errno.EFAULT.Value : 0;
    }

    private long Unregister(Task t, ulong arg)
    {
        if (t.MM.CopyIn(arg, out UffdioRange range) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = ValidateRange(range.start, range.len);
        if (r < 0)
        {
            return r;
        }

        if (_mm.Users == 0)
        {
            return -Errno.ENOMEM.Value;
        }

        r = _mm.UserfaultUnregister(range.start, range.start + range.len);
        if (r == 0)
        {
            // Waiters of the range would otherwise wait for ever: they retry and fault in zero pages.
            Wake(range.start, range.len);
        }

        return r;
    }

    private long WakeIoctl(Task t, ulong arg)
    {
        if (t.MM.CopyIn(arg, out UffdioRange range) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = ValidateRange(range.start, range.len);
        if (r < 0)
        {
            return r;
        }

        Wake(range.start, range.len);
        return 0;
    }

    // UFFDIO_COPY: copies the caller's [src, src+len) into the missing pages of [dst, dst+len), page by page;
    // writes back the bytes copied (or the error), and answers EAGAIN if it stopped part way.
    private long Copy(Task t, ulong arg)
    {
        if (CopyInPrefix(t, arg, 32, out UffdioCopy copy) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = ValidateRange(copy.dst, copy.len);
        if (r < 0)
        {
            return r;
        }

        if (copy.src + copy.len <= copy.src || (copy.mode & ~(Uffd.UFFDIO_COPY_MODE_DONTWAKE | Uffd.UFFDIO_COPY_MODE_WP)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((copy.mode & Uffd.UFFDIO_COPY_MODE_WP) != 0)
        {
            return -Errno.EINVAL.Value; // no range here is registered for write-protection
        }

        if (_mm.Users == 0)
        {
            return -Errno.ESRCH.Value;
        }

        long n = Fill(t, copy.dst, copy.len, copy.src);
        if (t.MM.CopyOut(arg + 32, n) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return Filled(n, copy.dst, copy.len, (copy.mode & Uffd.UFFDIO_COPY_MODE_DONTWAKE) == 0);
    }

    private long Zeropage(Task t, ulong arg)
    {
        if (CopyInPrefix(t, arg, 24, out UffdioZeropage zero) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = ValidateRange(zero.range.start, zero.range.len);
        if (r < 0)
        {
            return r;
        }

        if ((zero.mode & ~Uffd.UFFDIO_ZEROPAGE_MODE_DONTWAKE) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (_mm.Users == 0)
        {
            return -Errno.ESRCH.Value;
        }

        long n = Fill(t, zero.range.start, zero.range.len, src: 0);
        if (t.MM.CopyOut(arg + 24, n) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return Filled(n, zero.range.start, zero.range.len, (zero.mode & Uffd.UFFDIO_ZEROPAGE_MODE_DONTWAKE) == 0);
    }

    // After a fill of n bytes (or an error): wakes the range filled unless told not to; EAGAIN if short.
    private long Filled(long n, ulong start, ulong len, bool wake)
    {
        if (n < 0)
        {
            return n;
        }

        if (wake)
        {
            Wake(start, (ulong)n);
        }

        return (ulong)n == len ? 0 : -Errno.EAGAIN.Value;
    }

    // Fills the pages of [dst, dst+len) with the caller's memory at src (zeros when src is 0): the bytes
    // filled, or the error of the first page (EEXIST, ENOENT, EFAULT, ENOMEM).
    private long Fill(Task t, ulong dst, ulong len, ulong src)
    {
        byte[]? page = src == 0 ? null : ArrayPool<byte>.Shared.Rent((int)Mman.PageSize);
        try
        {
            ulong done = 0;
            while (done < len)
            {
                if (page != null && t.MM.CopyIn(src + done, page.AsSpan(0, (int)Mman.PageSize)) < 0)
                {
                    return done > 0 ? (long)done : -Errno.EFAULT.Value;
                }

                long r = _mm.UserfaultFill(dst + done, dst + len, page == null ? default : page.AsSpan(0, (int)Mman.PageSize));
                if (r < 0)
                {
                    return done > 0 ? (long)done : r;
                }

                done += Mman.PageSize;
            }

            return (long)done;
        }
        finally
        {
            if (page != null)
            {
                ArrayPool<byte>.Shared.Return(page);
            }
        }
    }

    // Wakes the faults of [start, start+len) (all of them when len is 0), read or not.
    private void Wake(ulong start, ulong len)
    {
        List<Fault>? woken = null;
        lock (_mu)
        {
            TakeInRange(_pending, start, len, ref woken);
            TakeInRange(_read, start, len, ref woken);
        }

        if (woken != null)
        {
            foreach (Fault f in woken)
            {
                f.Woken = true;
                f.Task.Wake();
            }
        }
    }

    // Preconditions: _mu is held.
    private static void TakeInRange(List<Fault> faults, ulong start, ulong len, ref List<Fault>? taken)
    {
        for (int i = faults.Count - 1; i >= 0; i--)
        {
            ulong a = faults[i].Msg.address;
            if (len == 0 || (a >= start && a - start < len))
            {
                (taken ??= []).Add(faults[i]);
                faults.RemoveAt(i);
            }
        }
    }

    public override long Stat(out Stat st)
    {
        st = default;
        st.st_mode = 0x180; // anon inode: no file type bits, 0600
        st.st_nlink = 1;
        st.st_blksize = 4096;
        return 0;
    }

    /// <summary>The last close (userfaultfd_release): the registrations go, then every waiter is woken.</summary>
    protected override void Release()
    {
        _released = true;
        if (_mm.Users > 0)
        {
            _mm.UserfaultRelease(this);
        }

        Wake(0, 0);
        _readers.Notify();
    }
}
