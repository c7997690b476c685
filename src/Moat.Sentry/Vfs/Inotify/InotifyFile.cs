using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Inotify;

/// <summary>
/// An inotify instance (inotify_init1): its watches, by descriptor, and the queue of events read(2)
/// returns as struct inotify_event records. Lock order: Fsnotify's registry lock, then _mu.
/// </summary>
internal sealed class InotifyFile : FileDescription
{
    private const int MaxQueued = 16384; // /proc/sys/fs/inotify/max_queued_events
    private const int EventHeader = 16;

    private readonly Lock _mu = new();
    private readonly WaitQueue _readers = new();

    // Protected by _mu.
    private readonly LinkedList<Event> _queue = new();
    private readonly Dictionary<int, Watch> _watches = [];
    private int _nextWd = 1;
    private long _queuedBytes;

    public InotifyFile(int flags)
    {
        StatusFlags = OpenFlags.O_RDONLY | (flags & OpenFlags.O_NONBLOCK);
    }

    /// <summary>One watch: the inode, what it wants, and whether it goes after its first event.</summary>
    internal sealed class Watch(InotifyFile owner, int wd, InodeKey inode, uint mask)
    {
        public InotifyFile Owner { get; } = owner;

        public int Wd { get; } = wd;

        public InodeKey Inode { get; } = inode;

        public uint Mask { get; set; } = mask;
    }

    private readonly record struct Event(int Wd, uint Mask, uint Cookie, string? Name)
    {
        // The name is NUL-padded to a multiple of the record header's size, as Linux pads it.
        public int NameLength => Name == null ? 0 : (LinuxString.Encoding.GetByteCount(Name) + EventHeader) / EventHeader * EventHeader;

        public int Size => EventHeader + NameLength;
    }

    /// <summary>Adds or updates the watch on <paramref name="inode"/>. Returns its descriptor or -errno.</summary>
    public long AddWatch(InodeKey inode, uint mask)
    {
        lock (Fsnotify.Mu)
        lock (_mu)
        {
            foreach (Watch w in _watches.Values)
            {
                if (w.Inode == inode)
                {
                    if ((mask & InotifyMask.IN_MASK_CREATE) != 0)
                    {
                        return -Errno.EEXIST.Value;
                    }

                    w.Mask = (mask & InotifyMask.IN_MASK_ADD) != 0 ? w.Mask | mask : mask;
                    w.Mask &= ~(InotifyMask.IN_MASK_ADD | InotifyMask.IN_MASK_CREATE);
                    return w.Wd;
                }
            }

            var watch = new Watch(this, _nextWd++, inode, mask & ~(InotifyMask.IN_MASK_ADD | InotifyMask.IN_MASK_CREATE));
            _watches[watch.Wd] = watch;
            Fsnotify.AddLocked(watch);
            return watch.Wd;
        }
    }

    /// <summary>Removes a watch (inotify_rm_watch): IN_IGNORED is queued. Returns 0 or -EINVAL.</summary>
    public long RemoveWatch(int wd)
    {
        lock (Fsnotify.Mu)
        {
            Watch? w;
            lock (_mu)
            {
                if (!_watches.Remove(wd, out w))
                {
                    return -Errno.EINVAL.Value;
                }
            }

            Fsnotify.RemoveLocked(w);
            Queue(wd, InotifyMask.IN_IGNORED, 0, null);
            return 0;
        }
    }

    /// <summary>Drops a watch whose inode is gone (or a one-shot watch that fired), queueing IN_IGNORED.</summary>
    /// <remarks>Preconditions: Fsnotify.Mu is held.</remarks>
    internal void DropLocked(Watch w)
    {
        lock (_mu)
        {
            if (!_watches.Remove(w.Wd))
            {
                return;
            }
        }

        Fsnotify.RemoveLocked(w);
        Queue(w.Wd, InotifyMask.IN_IGNORED, 0, null);
    }

    /// <summary>Queues an event, merging it with an identical last one, as Linux does.</summary>
    internal void Queue(int wd, uint mask, uint cookie, string? name)
    {
        lock (_mu)
        {
            var e = new Event(wd, mask, cookie, name);
            if (_queue.Last is { } last && last.Value == e)
            {
                return;
            }

            if (_queue.Count >= MaxQueued)
            {
                if (_queue.Count == MaxQueued)
                {
                    e = new Event(-1, InotifyMask.IN_Q_OVERFLOW, 0, null);
                }
                else
                {
                    return;
                }
            }

            _queue.AddLast(e);
            _queuedBytes += e.Size;
        }

        _readers.Notify();
    }

    public override WaitQueue? ReadinessQueue => _readers;

    public override int Readiness(int events)
    {
        lock (_mu)
        {
            return _queue.Count > 0 ? events & (PollEvents.POLLIN | PollEvents.POLLRDNORM) : 0;
        }
    }

    public override long Read(Task t, in IoSequence dst, long offset)
    {
        while (true)
        {
            lock (_mu)
            {
                if (_queue.Count > 0)
                {
                    return ReadLocked(t, dst);
                }

                if ((StatusFlags & OpenFlags.O_NONBLOCK) != 0)
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            long r = t.Block(_readers, () => Readiness(PollEvents.POLLIN) != 0);
            if (r < 0)
            {
                return r;
            }
        }
    }

    // Copies out as many whole events as fit; EINVAL when not even the first one does.
    private long ReadLocked(Task t, in IoSequence dst)
    {
        ulong count = dst.Total;
        long done = 0;
        Span<byte> header = stackalloc byte[EventHeader];
        while (_queue.First is { } node)
        {
            Event e = node.Value;
            if ((ulong)(done + e.Size) > count)
            {
                return done == 0 ? -Errno.EINVAL.Value : done;
            }

            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header, e.Wd);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header[4..], e.Mask);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header[8..], e.Cookie);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)e.NameLength);
            byte[] record = new byte[e.Size];
            header.CopyTo(record);
            if (e.Name != null)
            {
                LinuxString.Encoding.GetBytes(e.Name, record.AsSpan(EventHeader));
            }

            if (dst.CopyOut(t.MM, (ulong)done, record) < 0)
            {
                return done == 0 ? -Errno.EFAULT.Value : done;
            }

            done += e.Size;
            _queuedBytes -= e.Size;
            _queue.RemoveFirst();
        }

        return done;
    }

    public override long Ioctl(Task t, uint request, ulong arg)
    {
        const uint FIONREAD = 0x541B;
        if (request != FIONREAD)
        {
            return -Errno.ENOTTY.Value;
        }

        int n;
        lock (_mu)
        {
            n = (int)_queuedBytes;
        }

        return t.MM.CopyOut(arg, n) < 0 ? -Errno.EFAULT.Value : 0;
    }

    public override long Stat(out Stat st)
    {
        st = default;
        st.st_mode = 0x180; // anon inode: no file type bits, 0600
        st.st_nlink = 1;
        st.st_blksize = 4096;
        return 0;
    }

    protected override void Release()
    {
        lock (Fsnotify.Mu)
        {
            lock (_mu)
            {
                foreach (Watch w in _watches.Values)
                {
                    Fsnotify.RemoveLocked(w);
                }

                _watches.Clear();
            }
        }
    }
}
