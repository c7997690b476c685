using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// An epoll instance: an interest list of (fd, file) pairs with event masks and user data. Readiness is
/// computed by asking each file when epoll_wait looks; edge-triggered entries report only new events.
/// </summary>
internal sealed class EpollInstance : FileDescription
{
    private const int EPOLL_CTL_ADD = 1;
    private const int EPOLL_CTL_DEL = 2;
    private const int EPOLL_CTL_MOD = 3;

    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly Dictionary<(int Fd, FileDescription File), Entry> _interest = [];

    public EpollInstance()
    {
        StatusFlags = OpenFlags.O_RDWR;
    }

    private sealed class Entry
    {
        public uint Events;
        public ulong Data;
        public int LastReported;
        public bool Disabled;
    }

    public override int Readiness(int events)
    {
        lock (_mu)
        {
            foreach (((int _, FileDescription f), Entry e) in _interest)
            {
                if (!e.Disabled && (f.Readiness((int)e.Events | PollEvents.POLLERR | PollEvents.POLLHUP) & ((int)e.Events | PollEvents.POLLERR | PollEvents.POLLHUP)) != 0)
                {
                    return events & PollEvents.POLLIN;
                }
            }
        }

        return 0;
    }

    /// <summary>Implements epoll_ctl(2). The caller holds a reference on <paramref name="file"/>.</summary>
    public long Control(int op, int fd, FileDescription file, uint events, ulong data)
    {
        if (file == this)
        {
            return -Errno.EINVAL.Value;
        }

        lock (_mu)
        {
            var key = (fd, file);
            switch (op)
            {
                case EPOLL_CTL_ADD:
                    if (_interest.ContainsKey(key))
                    {
                        return -Errno.EEXIST.Value;
                    }

                    file.IncRef();
                    _interest[key] = new Entry { Events = events, Data = data };
                    return 0;
                case EPOLL_CTL_MOD:
                    if (!_interest.TryGetValue(key, out Entry? e))
                    {
                        return -Errno.ENOENT.Value;
                    }

                    e.Events = events;
                    e.Data = data;
                    e.Disabled = false;
                    e.LastReported = 0;
                    return 0;
                case EPOLL_CTL_DEL:
                    if (!_interest.Remove(key))
                    {
                        return -Errno.ENOENT.Value;
                    }

                    file.DecRef();
                    return 0;
                default:
                    return -Errno.EINVAL.Value;
            }
        }
    }

    /// <summary>Collects up to <paramref name="max"/> ready events as (events, data) pairs.</summary>
    public int Collect(Span<(uint Events, ulong Data)> output, Task t)
    {
        int n = 0;
        lock (_mu)
        {
            List<(int, FileDescription)>? stale = null;
            foreach (((int fd, FileDescription f) key, Entry e) in _interest)
            {
                if (n == output.Length)
                {
                    break;
                }

                // An entry whose fd was closed (or now names another file) is gone from the list, as Linux
                // drops it when its file is released.
                FileDescription? current = t.Fds.Get(key.fd);
                current?.DecRef();
                if (current != key.f)
                {
                    (stale ??= []).Add(key);
                    continue;
                }

                if (e.Disabled)
                {
                    continue;
                }

                int want = (int)e.Events | PollEvents.POLLERR | PollEvents.POLLHUP;
                int rev = key.f.Readiness(want) & want;
                bool edge = (e.Events & PollEvents.EPOLLET) != 0;
                if (rev == 0)
                {
                    e.LastReported = 0;
                    continue;
                }

                if (edge && (rev & ~e.LastReported) == 0)
                {
                    continue;
                }

                e.LastReported = rev;
                output[n++] = ((uint)rev, e.Data);
                if ((e.Events & PollEvents.EPOLLONESHOT) != 0)
                {
                    e.Disabled = true;
                }
            }

            if (stale != null)
            {
                foreach ((int, FileDescription) k in stale)
                {
                    _interest.Remove(k);
                    k.Item2.DecRef();
                }
            }
        }

        return n;
    }

    /// <summary>The files of the interest list, for the wait.</summary>
    public List<FileDescription> Files()
    {
        lock (_mu)
        {
            var list = new List<FileDescription>(_interest.Count);
            foreach ((int _, FileDescription f) in _interest.Keys)
            {
                list.Add(f);
            }

            return list;
        }
    }

    public override long Stat(out Stat st)
    {
        st = default;
        st.st_mode = 0x180;
        st.st_nlink = 1;
        st.st_blksize = 4096;
        return 0;
    }

    protected override void Release()
    {
        lock (_mu)
        {
            foreach ((int _, FileDescription f) in _interest.Keys)
            {
                f.DecRef();
            }

            _interest.Clear();
        }
    }
}
